"""Reuse the threads that run each HTTP request's sync code, instead of two new ones each.

Under ASGI, Django runs all of a request's sync code (middleware, view, ORM) in one thread
of its own: asgiref gives each request a new single-thread executor and, when the request
ends, starts another thread to shut it down (the pooling django/asgiref#306 proposes is not
in asgiref). Two threads started and stopped per request cost little by themselves; what
they lost matters more: whatever is kept per thread lives one request only. The PHLO client
is kept per thread so that its connection to Plivo, and its TLS session, serve the next
action; with a thread per request, every button opened a new connection.

asgiref's ThreadSensitiveContext also takes an executor that the caller owns, and Django's
own context then defers to it. So each request here gets a single-thread executor from a
small pool: it still has a thread to itself for its whole life, as before, and the thread
serves a later request afterwards, as a WSGI server's threads do (Django closes or returns
the request's database connection when it ends, as with any server).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext

# Idle threads kept for the next requests; more requests than this at once get new ones,
# which stop when they end.
KEEP = 32

App = Callable[[dict, Callable, Callable], Awaitable[None]]


class RequestThreads:
    """ASGI middleware for Django's HTTP application (not for websockets: Channels'
    consumers manage their own threads)."""

    def __init__(self, app: App, *, keep: int = KEEP) -> None:
        self.app = app
        self.keep = keep
        self._idle: list[ThreadPoolExecutor] = []  # touched from the event loop only

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        executor = self._idle.pop() if self._idle else self._new()
        finished = False
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.app(scope, receive, send)
            finished = True
        finally:
            # Only a request that ran to its end is sure to have left the thread idle; after
            # an error or a cancellation its sync code may still be running there.
            if finished and len(self._idle) < self.keep:
                self._idle.append(executor)
            else:
                executor.shutdown(wait=False)  # the thread stops once its work is done

    @staticmethod
    def _new() -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
