"""What every live page's heartbeat does for the whole contact center, so that what falls
due happens on time without cron, as long as any desktop or wallboard is open on a process.

- Every few seconds per process (`DUE_EVERY_SECONDS`): wrap-ups whose countdown has run out
  end (the agent is Available and is offered a waiting caller), even when the agent's own
  desktop is closed; queued callers who have waited their queue's longest wait take its exit.
- Every `CALL_HOUSEKEEPING_INTERVAL_SECONDS` per process: the calls' housekeeping, and
  callers left without an offer are offered again (`calls_housekeeping_when_due`).

Each is a conditional change under row locks, so any number of pages and processes may run
it at once and exactly one of them does each piece of work. Cron's `calls_housekeeping`
covers the hours when no page is open anywhere.
"""

from __future__ import annotations

import logging

from channels.db import database_sync_to_async

from agents.live import Throttle
from agents.presence import agents_expire_wrap_ups
from agents.services.routing import inbound_offers_stranded, queue_exits_due
from calls.services.housekeeping import calls_housekeeping_when_due

logger = logging.getLogger(__name__)

# The pages ping every 4 s, so what falls due happens within a few seconds of it.
DUE_EVERY_SECONDS = 2.0
due_soon = Throttle(DUE_EVERY_SECONDS)  # one per process: the event loop's


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
