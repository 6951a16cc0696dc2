"""What the desktop's and the wallboard's websockets share: the heartbeat they answer the
page's pings with, and a timer that ends a wrap-up on time with nobody clicking."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from django.utils import timezone

# After a wrap-up ends, a moment's slack so the database agrees it has ended.
EXPIRY_SLACK = 0.05


def heartbeat_html() -> str:
    at = timezone.now().isoformat(timespec="milliseconds")
    return f'<div id="heartbeat" hidden hx-swap-oob="true" data-server-now="{at}"></div>'


class Throttle:
    """True at most once per `seconds`. The pages ping every few seconds to notice a dead
    connection quickly; the work some pings used to trigger need not run that often."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._next = 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.seconds
        return True


class WrapUpTimerMixin:
    """Schedules `expire_wrap_up()` for when a wrap-up runs out; a new deadline replaces the
    old one. Every open socket schedules it, and the first to run wins (the flip is a
    conditional UPDATE), so it happens even if one process dies."""

    _expiry: asyncio.Task | None = None

    async def expire_wrap_up(self) -> None:
        raise NotImplementedError

    def _schedule_expiry(self, until: datetime | None) -> None:
        self._cancel_expiry()
        if until is None:
            return
        delay = max(0.0, (until - timezone.now()).total_seconds()) + EXPIRY_SLACK
        self._expiry = asyncio.ensure_future(self._expire_after(delay))

    def _cancel_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None

    async def _expire_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.expire_wrap_up()
