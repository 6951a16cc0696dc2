"""Error pages that fit the desktop."""

from django.http import HttpRequest, HttpResponse

from agents.views.common import is_htmx, plain_error


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A stale page (logged in again elsewhere, or a long sleep) gets a plain way out."""
    message = "This page is out of date (your session changed). Reload the page and try again."
    if is_htmx(request):
        return plain_error(message, status=403)
    return HttpResponse(message, status=403, content_type="text/plain; charset=utf-8")
