"""What every live page's heartbeat does for the whole contact center, so that what falls
due happens on time without cron, as long as any desktop or wallboard is open on a process.

- Every few seconds per process (`DUE_EVERY_SECONDS`): wrap-ups whose countdown has run out
  end (the agent is Available and is offered a waiting caller), even when the agent's own
  desktop is closed; queued callers who have waited their queue's longest wait take its exit,
  and the process's `exit_timer` is set for the next one, so that it comes at its second
  rather than at the check after it.
- Every `CALL_HOUSEKEEPING_INTERVAL_SECONDS` per process: the calls' housekeeping, and
  callers left without an offer are offered again (`calls_housekeeping_when_due`).

Each is a conditional change under row locks, so any number of pages and processes may run
it at once and exactly one of them does each piece of work. Cron's `calls_housekeeping`
covers the hours when no page is open anywhere.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from channels.db import database_sync_to_async
from django.utils import timezone

from agents.live import Throttle
from agents.presence import agents_expire_wrap_ups
from agents.services.routing import (
    inbound_offers_stranded,
    queue_exit_next_due,
    queue_exits_due,
)
from calls.services.housekeeping import calls_housekeeping_when_due

logger = logging.getLogger(__name__)

# The pages ping every 4 s, so what falls due happens within a few seconds of it.
DUE_EVERY_SECONDS = 2.0
due_soon = Throttle(DUE_EVERY_SECONDS)  # one per process: the event loop's
# After the due moment, so that the check's "waited at least the longest wait" holds.
EXIT_SLACK_SECONDS = 0.01


class ExitTimer:
    """When the next queued caller reaches their queue's longest wait, give the exits due
    then, and set itself for the one after: so each caller of a burst leaves at their own
    second, not at the next heartbeat's check (up to a ping and a check later). One per
    process; every process with a page open has one, and the exit itself is a change under
    the call's lock, so only one of them gives it."""

    def __init__(self) -> None:
        self._at: datetime | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None  # held: the loop keeps only a weak reference

    def set(self, at: datetime | None) -> None:
        """Fire at `at` (replacing an earlier setting); None or a moment gone: unset. A due
        moment already gone is the check's to retry (it could not be given just now)."""
        loop = asyncio.get_running_loop()
        if self._handle is not None and self._at == at and self._loop is loop:
            return
        self.cancel()
        delay = None if at is None else (at - timezone.now()).total_seconds()
        if delay is None or delay < 0:
            return
        self._at, self._loop = at, loop
        self._handle = loop.call_later(delay + EXIT_SLACK_SECONDS, self._start)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._at = self._handle = self._loop = None

    def _start(self) -> None:
        loop = self._loop
        self._at = self._handle = None
        if loop is not None:
            self._task = loop.create_task(self._fire())

    async def _fire(self) -> None:
        try:
            await database_sync_to_async(queue_exits_due)()
            self.set(await database_sync_to_async(queue_exit_next_due)())
        except Exception:
            logger.exception("queue exit timer failed; the next heartbeat's check retries")


exit_timer = ExitTimer()


async def heartbeat_work() -> None:
    """Run what is due. Never raises: it must not break the socket that happened to run it."""
    await calls_housekeeping_when_due(also=(inbound_offers_stranded,))
    if not due_soon.due():
        return
    for job in (agents_expire_wrap_ups, queue_exits_due):
        try:
            await database_sync_to_async(job)()
        except Exception:
            logger.exception("heartbeat job %s failed; it runs again shortly", job.__name__)
    try:
        exit_timer.set(await database_sync_to_async(queue_exit_next_due)())
    except Exception:
        logger.exception("could not set the queue exit timer; the next check retries")
