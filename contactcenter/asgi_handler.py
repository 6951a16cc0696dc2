"""Django's ASGI handler, with a request's middleware and view run in one thread hop.

Under ASGI, Django builds the middleware chain async and ends it with its async
`_get_response_async`, which calls a sync view through `sync_to_async`. A chain of sync
middleware (ours, django-axes, whitenoise, django-htmx) then runs in a thread, hops back to
the event loop for the URL resolution, and into the thread again for the view: three
crossings each way per request, each a future, a context copy and a wake-up of the loop.
Every view of this project is sync, so this handler builds the chain as WSGI does (sync,
down to Django's sync `_get_response`) and runs it, with the view, in one `sync_to_async`
call: the thread the request already has (`contactcenter.request_threads`). An async view,
should one come, still works: Django runs it through `async_to_sync` inside the chain.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponse


class SyncChainASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponse:
        # BaseHandler.get_response: the URL conf, the chain, the closers and the 4xx/5xx log,
        # all in the request's thread.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> SyncChainASGIHandler:
    """`django.core.asgi.get_asgi_application`, with this handler."""
    import django

    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
