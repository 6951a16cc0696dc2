"""The websocket both live pages (the desktop, the wallboard) are built on.

What they share: the page's messages (`{"type": "ping"}` answered with the heartbeat,
`{"type": "resync"}` with the full state, at most once a second), the full state sent in the
thread pool, the group joined before that render, and the close when the user's access is
revoked. Frames to the page are HTML that htmx swaps in, not JSON, so this stays on
`AsyncWebsocketConsumer`; what the page sends is read as untrusted JSON.
"""

from __future__ import annotations

from datetime import datetime

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from agents.live import ResyncThrottleMixin, WrapUpTimerMixin, heartbeat_html
from calls.untrusted_json import UnreadableJSON, load_json
from contactcenter.websocket_dispatch import DirectDispatchMixin
from contactcenter.websocket_sessions import SESSION_KEY_SCOPE

# Close code the pages understand as "signed out" (4000-4999 are free for applications).
CLOSE_SIGNED_OUT = 4401


class LiveConsumer(
    DirectDispatchMixin, ResyncThrottleMixin, WrapUpTimerMixin, AsyncWebsocketConsumer
):
    """Subclasses render the full state (`full_state`), say how a revoked user's socket
    closes (`close_code_after_revocation`) and may do more on a ping (`ping`). Their
    database work goes through `database_sync_to_async` only (`DirectDispatchMixin`)."""

    user_id: int | None = None
    session_key: str = ""
    group: str = ""

    def handshake_session_key(self) -> str:
        """The session cookie the handshake came with ("" without one); who it is signed in
        as is read in the connect's own thread hop (`agents.live.session_user`)."""
        return self.scope.get(SESSION_KEY_SCOPE) or ""

    async def join(self, *, group: str) -> None:
        # Before rendering, so no change between the render and the join is missed.
        await self.channel_layer.group_add(group, self.channel_name)
        self.group = group

    async def disconnect(self, code: int) -> None:
        self._cancel_expiry()
        self._cancel_resync()
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            # A page sends {"type": ...}; anything else, however deep, is ignored.
            message = load_json(text_data or "{}")
        except UnreadableJSON:
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "ping":
            await self.ping()
        elif kind == "resync":
            await self.resync()  # at most one full render a second (ResyncThrottleMixin)

    async def ping(self) -> None:
        await self.send(text_data=heartbeat_html())

    def full_state(self) -> tuple[str, datetime | None]:
        """The page's whole HTML and the next wrap-up end to flip on time. In a thread."""
        raise NotImplementedError

    async def send_full_state(self) -> None:
        # In the thread pool, not the one thread Channels shares per process: after a
        # restart every page reconnects at once, and their renders can overlap.
        html, next_end = await database_sync_to_async(self.full_state, thread_sensitive=False)()
        await self.send(text_data=html)
        self.full_state_sent()
        self._schedule_expiry(next_end)

    def close_code_after_revocation(self) -> int:
        """How this user's socket closes once their access was revoked. In a thread."""
        raise NotImplementedError

    async def access_revoked(self, event: dict) -> None:
        # A password change, deactivation or lost right (agents.signals): close at once. A
        # user who may still be let in (their own password change) reconnects and is.
        if self.user_id is None or event.get("user_id") != self.user_id:
            return
        code = await database_sync_to_async(self.close_code_after_revocation)()
        await self.close(code=code)
