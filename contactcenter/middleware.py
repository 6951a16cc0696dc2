"""Middleware of our own."""

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

logger = logging.getLogger(__name__)


class OneThreadChain:
    """Listed last, so Django runs the middleware chain and the view in one worker thread.

    Under ASGI, Django's own middleware runs its hooks through `sync_to_async`, one hop
    between the event loop and a thread per hook. A sync-only middleware at the end of the
    list makes Django build the chain sync instead: one hop into a thread per request, and
    the (sync) view runs in that same thread. Measured on this project's 2-core machine, in a
    bench run before it landed: a button's time before PHLO 33 -> 25 ms. Drop it if a view
    becomes async.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)


class DatabaseUnavailableAnswer(MiddlewareMixin):
    """A view that met a database that is down or restarting answers 503 with Retry-After
    and a message (agents.views.errors), not a 500 page: the fault is passing, not a bug.
    Anything else goes on to Django's handling. Both sync and async capable (the mixin), so
    it leaves the chain's mode to OneThreadChain."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from agents.views.errors import database_unavailable
        from calls.services.errors import is_database_unavailable

        if not is_database_unavailable(exception):
            return None
        logger.warning("%s %s: database unavailable: %s", request.method, request.path, exception)
        return database_unavailable(request)
