"""The wallboard's websocket: forwards what was rendered once per change to every wallboard.

Only supervisors connect. On connect, and whenever the page asks (`resync`, at most once a
second), the complete current state is sent, so a wallboard that was asleep or offline is
right again as soon as it reconnects. Otherwise the consumer forwards the HTML
`calls.publishing` added to the `supervisors` message (`rendering.render_wallboard_update`:
only what the change touched); a message without it (the render failed, or the publisher
saw no wallboard open) is rendered here instead, so nothing is ever missed. A call change
also asks this process's `ticker.FiguresTicker` for the figures, which it renders at most
once a second.

An open wallboard counts itself in `watchers` (and renews that every
`watchers.KEEPALIVE_SECONDS`, re-joining the group too), which is how the publisher knows,
across processes, that a wallboard is open (`watchers.any_open`).

While open, a wallboard also makes sure a wrap-up that runs out is flipped on time (every
open wallboard schedules it; the first to run wins). A logout closes the wallboards of that
session at once (`session.signed_out`, from agents.signals), and a password change, a
deactivation or the loss of the supervisor permission closes that user's (`access.revoked`);
the heartbeat re-checks that the viewer is still signed in as a supervisor, for what ends a
session any other way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from channels.db import database_sync_to_async
from django.utils.dateparse import parse_datetime

from agents.heartbeats import heartbeat_work
from agents.live import CLOSE_RECHECK, active_user, session_user
from agents.live_socket import CLOSE_SIGNED_OUT, LiveConsumer
from agents.permissions import is_supervisor
from agents.presence import agents_expire_wrap_ups
from agents.profiles import acting_profile
from calls.wallboard import watchers
from calls.wallboard.pushes import SUPERVISORS_GROUP
from calls.wallboard.rendering import (
    HTML_KEY,
    WRAP_UP_KEY,
    render_full_state,
    render_wallboard_update,
)
from calls.wallboard.selectors import wallboard_board
from calls.wallboard.ticker import figures_ticker

logger = logging.getLogger(__name__)

__all__ = ["CLOSE_NOT_SUPERVISOR", "CLOSE_SIGNED_OUT", "WallboardConsumer"]

# Close code the page understands (4000-4999 are free for applications).
CLOSE_NOT_SUPERVISOR = 4403


def _supervisor_of(*, session_key: str) -> tuple[int | None, bool]:
    """(user id, is a supervisor) of the session; no user: signed out. At every heartbeat:
    who it is and the supervisor flag come from the cache (no query while cached)."""
    user = session_user(session_key=session_key)
    if user is None:
        return None, False
    return user.pk, acting_profile(user=user).supervisor


class WallboardConsumer(LiveConsumer):
    counted: bool = False
    _keepalive: asyncio.Task | None = None

    async def connect(self) -> None:
        session_key = self.handshake_session_key()
        user_id, supervisor = await database_sync_to_async(_supervisor_of, thread_sensitive=False)(
            session_key=session_key
        )
        if user_id is None:
            await self.close(code=CLOSE_SIGNED_OUT)
            return
        if not supervisor:
            await self.close(code=CLOSE_NOT_SUPERVISOR)
            return
        self.user_id, self.session_key = user_id, session_key
        await self.join(group=SUPERVISORS_GROUP)
        await watchers.opened()
        self.counted = True
        await self.accept()
        figures_ticker().add(self)
        self._keepalive = asyncio.ensure_future(self._keep_counted())
        await self.send_full_state()

    async def disconnect(self, code: int) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
        figures_ticker().discard(self)
        if self.counted:
            self.counted = False
            with contextlib.suppress(Exception):
                await watchers.closed()
        await super().disconnect(code)

    async def _keep_counted(self) -> None:
        # Renews the count the publisher reads, and the group membership (channels_redis
        # forgets members after a day; a wallboard stays open for weeks).
        while True:
            await asyncio.sleep(watchers.KEEPALIVE_SECONDS)
            with contextlib.suppress(Exception):
                await watchers.still_open()
                await self.channel_layer.group_add(SUPERVISORS_GROUP, self.channel_name)

    async def ping(self) -> None:
        # The heartbeat re-checks that the viewer is still signed in as a supervisor.
        user_id, supervisor = await database_sync_to_async(_supervisor_of)(
            session_key=self.session_key
        )
        if user_id != self.user_id or not supervisor:
            await self.close(code=CLOSE_SIGNED_OUT)
            return
        await super().ping()
        # An open wallboard keeps time for everyone too: with every desktop closed, wrap-ups
        # still end and queued callers still take their queue's exit on time.
        await heartbeat_work()

    def full_state(self) -> tuple[str, datetime | None]:
        agents_expire_wrap_ups()
        board = wallboard_board()
        return render_full_state(board=board), board.next_wrap_up_end

    # --- group messages (see calls.publishing) --------------------------------------------

    async def call_changed(self, event: dict) -> None:
        call_id = event.get("call_id")
        figures_ticker().request(key=f"call.{call_id}.{event.get('version')}")
        await self._forward(event, call_id=call_id)

    async def agent_changed(self, event: dict) -> None:
        # The figures count agents by status (the board lists only the first of each).
        agent_id = event.get("agent_id")
        figures_ticker().request(key=f"agent.{agent_id}.{event.get('status')}")
        await self._forward(event, agent_id=agent_id)

    async def queue_changed(self, event: dict) -> None:
        # Who waits, or a queue's settings: the figures show the queues.
        figures_ticker().request(key=f"queue.{event.get('queue_id')}.{event.get('change')}")

    async def agent_queues_changed(self, event: dict) -> None:
        # Agents available per queue count the agents each queue has now.
        figures_ticker().request(key=f"agent-queues.{event.get('change')}")

    async def _forward(
        self, event: dict, *, call_id: int | None = None, agent_id: int | None = None
    ) -> None:
        if HTML_KEY not in event:
            # The publisher did not render this change for the wallboards: do it here.
            event = await database_sync_to_async(render_wallboard_update)(
                call_id=call_id, agent_id=agent_id
            )
        if HTML_KEY not in event:
            # Not even this render worked: send everything.
            await self.send_full_state()
            return
        html = event[HTML_KEY]
        if html:
            await self.send(text_data=html)
        if WRAP_UP_KEY in event:
            until = event[WRAP_UP_KEY] or ""
            self._schedule_expiry(parse_datetime(until) if until else None)

    async def session_signed_out(self, event: dict) -> None:
        # Every wallboard hears every sign-out: close only the one opened in that session
        # (and never one without a session key, which would match nobody's logout).
        if self.session_key and event.get("session_key") == self.session_key:
            await self.close(code=CLOSE_SIGNED_OUT)

    def close_code_after_revocation(self) -> int:
        """Signed out for good (deactivated, deleted), no longer a supervisor, or let the
        page reconnect and the handshake decide (a password change: only other sessions
        end)."""
        user = active_user(user_id=self.user_id)
        if user is None:
            return CLOSE_SIGNED_OUT
        return CLOSE_RECHECK if is_supervisor(user) else CLOSE_NOT_SUPERVISOR

    # --- wrap-up expiry -------------------------------------------------------------------

    async def expire_wrap_up(self) -> None:
        # The flip publishes agent.changed, which brings the new state here and to every board.
        with contextlib.suppress(Exception):
            await database_sync_to_async(agents_expire_wrap_ups)()
