"""Middleware of our own."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


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
