"""What the desktop's and the wallboard's websockets share: who a handshake's session is
signed in as, the heartbeat they answer the page's pings with, a timer that ends a wrap-up
on time with nobody clicking, a limit on how often a page may ask for its whole state, and
who is still let in when a user's access is revoked."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from agents.signed_in import session_sign_in

logger = logging.getLogger(__name__)

# After a wrap-up ends, a moment's slack so the database agrees it has ended.
EXPIRY_SLACK = 0.05


# Close code of a socket whose user's access was revoked while they may still be let in (their
# own password change, a right they still have another way): the page reconnects, and the
# handshake lets them in, or not, by what they are now (4000-4999 are free for applications).
CLOSE_RECHECK = 4000


def active_user(*, user_id: int | None):
    """The user, if they still exist and are active; else None."""
    if user_id is None:
        return None
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


def session_user(*, session_key: str):
    """The active user the session with this key is signed in as, else None. In a thread.

    Django's rules for a request (`agents.signed_in`). Unlike a request, a socket cannot set
    a cookie, so it never writes the session: a session it refuses, or one signed under a
    fallback secret, is left for the next page load to flush or renew.
    """
    if not session_key:
        return None
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    user = session_sign_in(session=session).user
    if user is None or not user.is_active:
        return None
    return user


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


class ResyncThrottleMixin:
    """A page's `resync` asks for its whole state, and a full render is the dearest thing a
    socket does: each socket renders it at most once per `RESYNC_INTERVAL` seconds. A resync
    that comes sooner (or while one already waits) is not rendered at once: one render runs
    when the interval is over, however many came meanwhile, so the page still ends up with
    the full state, and 300 resyncs cost two renders instead of 300."""

    RESYNC_INTERVAL = 1.0
    _full_state_at: float = float("-inf")
    _resync_later: asyncio.Task | None = None

    async def send_full_state(self) -> None:
        raise NotImplementedError

    def full_state_sent(self) -> None:
        """Call after each full render: the interval runs from there."""
        self._full_state_at = time.monotonic()

    async def resync(self) -> None:
        if self._resync_later is not None:
            return  # the render already waiting will bring everything
        wait = self._full_state_at + self.RESYNC_INTERVAL - time.monotonic()
        if wait <= 0:
            await self.send_full_state()
            return
        self._resync_later = asyncio.ensure_future(self._resync_after(wait))

    def _cancel_resync(self) -> None:
        if self._resync_later is not None:
            self._resync_later.cancel()
            self._resync_later = None

    async def _resync_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._resync_later = None
        try:
            await self.send_full_state()
        except Exception:
            # Not in the receive loop, so nothing else would report it; the next resync or
            # reconnect brings the state.
            logger.exception("could not send the full state after a resync")
