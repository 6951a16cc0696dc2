"""Send the live pages' pushes after the response, merging the ones that pile up.

Under the ASGI server, a committed change's push is handed to the server's event loop and
the request answers without waiting for the render or the channel layer. A few workers on
the loop render pushes in threads (several at once) and send them. A push for a call or an
agent that is still waiting when another one for the same call or agent arrives merges into
it: the render reads the state as it is then, so the pages get the latest truth once rather
than every step of a burst, and a busy process renders less instead of falling behind.
Pushes with the same key never run at the same time, and leave in the order they were made.
While the process answers a request someone waits on (a button, a page; not a callback), a
push waits for it to end, up to YIELD_TO_REQUESTS: with one GIL, a render beside the request
would slow it. PHLO's callbacks wait the same way before they are stored and applied
(`yield_to_people`, called by the webhook).

Without a server loop (management commands, cron, tests that call services directly) a
push is rendered and sent in place, as before. A push still waiting when its process stops
is dropped; the pages resync when they reconnect, as they do after any restart.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Awaitable, Callable, Hashable
from typing import Protocol, Self

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.urls import reverse

logger = logging.getLogger(__name__)

# Renders at once per process. Each holds a database connection while it renders; more than
# the cores buys little, since rendering is CPU work under one GIL.
WORKERS = 4
# While this process answers a request someone is waiting on (an agent's button, a page), a
# push, or a callback from PHLO, waits at most this long (seconds): the person waits on the
# answer, the pages only follow (pushes merge while they wait), and PHLO waits seconds for a
# callback's answer. In the queue bench (200 callers, 20 agents) each step cut the offers'
# median by a sixth to a quarter (bench/NOTES.md, 2026-12-07).
YIELD_TO_REQUESTS = 0.05

Message = tuple[str, dict]


class Push(Protocol):
    @property
    def key(self) -> Hashable:
        """Pushes with equal keys merge while they wait and never run at the same time."""

    def merged(self, later: Self) -> Self:
        """One push that does the work of this one and of `later`."""

    def messages(self) -> list[Message]:
        """(group, message) pairs to send, rendered now. Sync: it may read the database."""


class Publisher:
    """The queue and workers of one event loop. Use it from that loop's thread only."""

    def __init__(self, *, loop: asyncio.AbstractEventLoop, workers: int = WORKERS) -> None:
        self.loop = loop
        self.workers = workers
        self._waiting: dict[Hashable, Push] = {}  # in arrival order
        self._running: set[Hashable] = set()
        self._tasks: set[asyncio.Task] = set()
        self._since: dict[Hashable, float] = {}  # when each waiting key first waited
        self._answering = 0  # requests the pushes yield to, in progress
        # Set while there are none: other threads wait on it (`yield_to_people`).
        self.people_idle = threading.Event()
        self.people_idle.set()
        self._wake: asyncio.TimerHandle | None = None
        self.merges = 0  # pushes folded into one that was waiting (tests, debugging)

    def submit(self, push: Push) -> None:
        key = push.key
        waiting = self._waiting.get(key)
        if waiting is None:
            self._waiting[key] = push
            self._since[key] = self.loop.time()
        else:
            # Keeps its place in the queue: merging must not starve a busy call.
            self._waiting[key] = waiting.merged(push)
            self.merges += 1
        self._start_ready()

    def request_started(self) -> None:
        self._answering += 1
        self.people_idle.clear()

    def request_ended(self) -> None:
        self._answering -= 1
        if not self._answering:
            self.people_idle.set()
            self._start_ready()

    @property
    def pending(self) -> int:
        return len(self._waiting) + len(self._running)

    async def drain(self) -> None:
        """Wait until nothing is waiting or running (tests, orderly shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _start_ready(self) -> None:
        for key in list(self._waiting):
            if len(self._running) >= self.workers:
                return
            if key in self._running:
                continue
            if self._answering and self._yields(key):
                return
            push = self._waiting.pop(key)
            del self._since[key]
            self._running.add(key)
            task = self.loop.create_task(self._run(key, push))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _yields(self, key: Hashable) -> bool:
        """Whether the oldest startable push still waits for the requests in progress; if so,
        wake up when it has waited long enough."""
        due = self._since[key] + YIELD_TO_REQUESTS
        if self.loop.time() >= due:
            return False
        if self._wake is None or self._wake.when() > due:
            if self._wake is not None:
                self._wake.cancel()
            self._wake = self.loop.call_at(due, self._woken)
        return True

    def _woken(self) -> None:
        self._wake = None
        self._start_ready()

    async def _run(self, key: Hashable, push: Push) -> None:
        try:
            messages = await database_sync_to_async(push.messages, thread_sensitive=False)()
            await send_messages(messages)
        except Exception:
            logger.exception("could not publish %r", key)
        finally:
            self._running.discard(key)
        # Not when cancelled (the loop is shutting down): no new tasks to leave pending.
        self._start_ready()


async def send_messages(messages: list[Message]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group, message in messages:
        try:
            await layer.group_send(group, message)
        except Exception:
            # A push that fails must not undo a committed change; pages resync on reconnect.
            logger.exception("could not publish %s to %s", message.get("type"), group)


_current: Publisher | None = None


def bind(loop: asyncio.AbstractEventLoop) -> None:
    """Make `loop` (the ASGI server's) the one that publishes from now on."""
    global _current
    if _current is None or _current.loop is not loop:
        _current = Publisher(loop=loop)


def current() -> Publisher | None:
    """The bound publisher, while its loop runs."""
    publisher = _current
    if publisher is None or publisher.loop.is_closed() or not publisher.loop.is_running():
        return None
    return publisher


def publish(push: Push, *, send_now: Callable[[Push], None]) -> None:
    """Queue `push` on the server's loop; without one, `send_now(push)` here."""
    publisher = current()
    if publisher is not None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        try:
            if running is publisher.loop:
                publisher.submit(push)
            else:
                publisher.loop.call_soon_threadsafe(publisher.submit, push)
            return
        except RuntimeError:
            pass  # the loop closed between the check and the call: send it here instead
    send_now(push)


def bind_to_server(app: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Wrap an ASGI application so the loop serving it publishes the pushes."""

    async def application(scope: dict, receive: Callable, send: Callable) -> None:
        bind(asyncio.get_running_loop())
        publisher = _current
        if not a_person_waits(scope):
            await app(scope, receive, send)
            return
        publisher.request_started()
        try:
            await app(scope, receive, send)
        finally:
            publisher.request_ended()

    return application


def yield_to_people(*, at_most: float | None = None) -> None:
    """From a request's thread (PHLO's callback): wait while this process answers a request
    someone waits on, at most `at_most` seconds (YIELD_TO_REQUESTS). With one GIL, applying
    a callback beside an agent's press slows the press, and the provider waits seconds for
    its answer. Returns at once without a server loop (tests, commands)."""
    publisher = current()
    if publisher is not None:
        publisher.people_idle.wait(YIELD_TO_REQUESTS if at_most is None else at_most)


def a_person_waits(scope: dict) -> bool:
    """An HTTP request the pushes yield to: not the provider's callbacks, whose pushes are
    what the pages are waiting for."""
    return scope["type"] == "http" and scope["path"].rstrip("/") != _callback_path()


@functools.cache
def _callback_path() -> str:
    """The webhook's path, from the URL conf (with or without its trailing slash)."""
    return reverse("plivo-webhook").rstrip("/")
