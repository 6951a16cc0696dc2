"""Error pages that fit the desktop."""

import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.defaults import server_error as django_server_error
from django_htmx.middleware import HtmxDetails

from agents.views.common import plain_error
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
    """A stale page (logged in again elsewhere, or a long sleep) gets a plain way out."""
    message = "This page is out of date (your session changed). Reload the page and try again."
    if _from_htmx(request):
        return plain_error(message, status=403)
    return render(request, "403_csrf.html", {"message": message}, status=403)


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
