"""Middleware of our own."""

import logging

from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

logger = logging.getLogger(__name__)


class DatabaseUnavailableAnswer(MiddlewareMixin):
    """A view that met a database that is down or restarting answers 503 with Retry-After
    and a message (agents.views.errors), not a 500 page: the fault is passing, not a bug.
    Anything else goes on to Django's handling."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from agents.views.errors import database_unavailable
        from calls.services.errors import is_database_unavailable

        if not is_database_unavailable(exception):
            return None
        logger.warning("%s %s: database unavailable: %s", request.method, request.path, exception)
        return database_unavailable(request)


class MethodNotAllowedReason(MiddlewareMixin):
    """A 405 from `require_POST` and its kind says why in words, as every other refusal
    does, not with an empty body: "Use POST." (the methods from its Allow header)."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if response.status_code != 405 or response.content or not response.has_header("Allow"):
            return response
        allowed = " or ".join(m.strip() for m in response["Allow"].split(",") if m.strip())
        response.content = f"Use {allowed}.".encode()
        response["Content-Type"] = "text/plain; charset=utf-8"
        return response
