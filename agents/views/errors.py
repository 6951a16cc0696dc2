"""Error pages that fit the desktop."""

import sys

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.defaults import server_error as django_server_error
from django_htmx.middleware import HtmxDetails

from agents.views.common import SIGNED_OUT_MESSAGE, plain_error
from calls.services.errors import DatabaseUnavailable, is_database_unavailable

DATABASE_UNAVAILABLE_MESSAGE = (
    "The database is not answering right now, so your request could not be completed."
    " Wait a moment and reload the page to see the call as it stands, then try again if"
    " it is still needed."
)
# For machines (the PHLO HTTP Request node, scripts): nothing was done, ask again.
DATABASE_UNAVAILABLE_API_MESSAGE = (
    "The database is not answering, so nothing was done. Send the request again shortly."
)


def _from_htmx(request: HttpRequest) -> bool:
    # Error handlers may answer a request the middleware never saw (one that failed in an
    # earlier middleware), so they ask django-htmx directly rather than read `request.htmx`.
    return bool(HtmxDetails(request))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A stale page (logged in again elsewhere, or a long sleep) gets a plain way out. A
    button pressed by nobody signed in is told so (as the views would answer it), not that
    the page is out of date: only the login forms are for people not signed in."""
    if _signed_out(request):
        if _from_htmx(request):
            return plain_error(SIGNED_OUT_MESSAGE, status=401)
        return redirect_to_login(request.get_full_path())
    message = "This page is out of date (your session changed). Reload the page and try again."
    if _from_htmx(request):
        return plain_error(message, status=403)
    return render(request, "403_csrf.html", {"message": message}, status=403)


def _signed_out(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is None or user.is_authenticated:
        return False
    return request.path not in (reverse(settings.LOGIN_URL), reverse("admin:login"))


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After and a reason people can act on, for a button or a page; JSON
    for a client that did not ask for a page."""
    if _from_htmx(request):
        response = plain_error(DATABASE_UNAVAILABLE_MESSAGE, status=503)
    elif "text/html" not in request.headers.get("Accept", ""):
        response = JsonResponse({"error": DATABASE_UNAVAILABLE_API_MESSAGE}, status=503)
    else:
        response = HttpResponse(
            DATABASE_UNAVAILABLE_MESSAGE, status=503, content_type="text/plain; charset=utf-8"
        )
    response["Retry-After"] = str(DatabaseUnavailable.retry_after_seconds)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database that went away outside any view (a middleware, the session)
    is still a 503 that says so; anything else is Django's plain 500."""
    exc = sys.exc_info()[1]
    if exc is not None and is_database_unavailable(exc):
        return database_unavailable(request)
    return django_server_error(request)
