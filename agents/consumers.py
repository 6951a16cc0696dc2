"""The desktop's websocket: pushes rendered fragments to every open tab of one agent.

Only logged-in agents connect (asgi.py checks the origin and passes the session cookie on;
the connect reads who it is signed in as). On connect, and whenever the page asks (at most
once a second), the complete current state is sent, so a page that was asleep or offline is
right again as soon as it reconnects. A logout, a password change or a deactivation closes
the socket at once (agents.signals); a session that expires, or whose row is deleted,
closes it at the next heartbeat that checks it (every `SESSION_RECHECK_SECONDS`).
Otherwise the consumer only forwards what `calls.publishing` rendered once for the agent's
group, and for the groups of the queues the agent serves (joined on connect, and again
whenever the agent's queues change).
"""

from __future__ import annotations

import logging
from datetime import datetime

from channels.db import database_sync_to_async
from django.utils.dateparse import parse_datetime

from agents.heartbeats import heartbeat_work
from agents.live import CLOSE_RECHECK, Throttle, active_user, session_user
from agents.live_socket import CLOSE_SIGNED_OUT, LiveConsumer
from agents.models import Agent
from agents.presence import agent_wrap_up_due, agent_wrap_up_expire
from agents.profiles import agent_for_user
from agents.pushes import agent_group, queue_group
from agents.rendering import render_full_state
from agents.selectors import agent_with_user

logger = logging.getLogger(__name__)

__all__ = ["CLOSE_NO_AGENT", "CLOSE_SIGNED_OUT", "DesktopConsumer"]

# Close code the page understands (4000-4999 are free for applications).
CLOSE_NO_AGENT = 4403
# How often a heartbeat renews the socket's group membership.
RENEW_GROUP_SECONDS = 60.0
# How often a heartbeat checks that the session is still signed in (it expired, or its row
# was deleted): the page then closes as at a logout. A logout, a password change or a
# deactivation closes it at once; this is for what ends without an event. Not every ping:
# each check is a hop to a thread, and a process holds thousands of desktops.
SESSION_RECHECK_SECONDS = 15.0


def _sign_in(*, session_key: str) -> tuple[int | None, int | None, list[int]]:
    """(user id, agent id, the agent's queue ids) of the session; no user: signed out."""
    user = session_user(session_key=session_key)
    if user is None:
        return None, None, []
    agent = agent_for_user(user=user)
    if agent is None:
        return user.pk, None, []
    return user.pk, agent.pk, _queue_ids(agent.pk)


def _queue_ids(agent_id: int) -> list[int]:
    return list(
        Agent.queues.through.objects.filter(agent_id=agent_id).values_list("queue_id", flat=True)
    )


class DesktopConsumer(LiveConsumer):
    agent_id: int | None = None
    queue_groups: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._renewal = Throttle(RENEW_GROUP_SECONDS)
        self._session_recheck = Throttle(SESSION_RECHECK_SECONDS)
        self._session_recheck.due()  # the connect has just checked it

    async def connect(self) -> None:
        # Who, which agent and which queues in one hop to the thread pool; the render in
        # the second, once the groups are joined.
        session_key = self.handshake_session_key()
        user_id, agent_id, queue_ids = await database_sync_to_async(
            _sign_in, thread_sensitive=False
        )(session_key=session_key)
        if user_id is None:
            await self.close(code=CLOSE_SIGNED_OUT)
            return
        if agent_id is None:
            await self.close(code=CLOSE_NO_AGENT)
            return
        self.user_id, self.agent_id, self.session_key = user_id, agent_id, session_key
        self.queue_groups = tuple(queue_group(q) for q in queue_ids)
        for group in self.queue_groups:  # before the render, as the agent's own group
            await self.channel_layer.group_add(group, self.channel_name)
        await self.join(group=agent_group(self.agent_id))
        await self.accept()
        await self.send_full_state()

    async def ping(self) -> None:
        if self.session_key and self._session_recheck.due():
            user = await database_sync_to_async(session_user)(session_key=self.session_key)
            if user is None or user.pk != self.user_id:
                # Expired, or ended without a logout: no more customer data to this page.
                await self.close(code=CLOSE_SIGNED_OUT)
                return
        await super().ping()
        # channels_redis forgets group members after a day (group_expiry); a desktop is
        # open all day, so its heartbeats renew its membership (once a minute is plenty).
        if self.group and self._renewal.due():
            for group in (self.group, *self.queue_groups):
                await self.channel_layer.group_add(group, self.channel_name)
        # What falls due for anyone (wrap-ups, queue exits, housekeeping), throttled per
        # process, happens on time even without cron.
        await heartbeat_work()

    def full_state(self) -> tuple[str, datetime | None]:
        # Flip an expired wrap-up first (its lock only when one is due), then render all.
        agent = agent_with_user(agent_id=self.agent_id)
        if agent_wrap_up_due(agent=agent):
            agent_wrap_up_expire(agent_id=self.agent_id)  # or another tab did: read it again
            agent = agent_with_user(agent_id=self.agent_id)
        return render_full_state(agent=agent), agent.wrap_up_until

    # --- group messages (see calls.publishing) --------------------------------------------

    async def call_changed(self, event: dict) -> None:
        html = event.get("html")
        if html:
            await self.send(text_data=html)
        else:
            # The publisher could not render this change: send the whole truth instead.
            await self.send_full_state()

    async def disconnect(self, code: int) -> None:
        for group in self.queue_groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        await super().disconnect(code)

    async def agent_queues_changed(self, event: dict) -> None:
        # The agent serves other queues now: follow those, then show them.
        queue_ids = await database_sync_to_async(_queue_ids)(self.agent_id)
        groups = tuple(queue_group(q) for q in queue_ids)
        for group in set(groups) - set(self.queue_groups):
            await self.channel_layer.group_add(group, self.channel_name)
        for group in set(self.queue_groups) - set(groups):
            await self.channel_layer.group_discard(group, self.channel_name)
        self.queue_groups = groups
        await self.resync()

    async def queue_changed(self, event: dict) -> None:
        html = event.get("html")
        if html:
            await self.send(text_data=html)
        else:
            await self.resync()  # throttled: a queue's row is not worth a render per change

    async def agent_changed(self, event: dict) -> None:
        html = event.get("html")
        if not html:
            await self.send_full_state()
            return
        await self.send(text_data=html)
        until = event.get("wrap_up_until") or ""
        self._schedule_expiry(parse_datetime(until) if until else None)

    async def session_signed_out(self, event: dict) -> None:
        # Only this agent's group hears it. A desktop with no session key cannot tell which
        # session it belongs to, so it closes and lets the reconnect check the sign-in.
        if not self.session_key or event.get("session_key") == self.session_key:
            await self.close(code=CLOSE_SIGNED_OUT)

    def close_code_after_revocation(self) -> int:
        # Deactivated or deleted: signed out; else the reconnect lets them in, or not.
        return CLOSE_SIGNED_OUT if active_user(user_id=self.user_id) is None else CLOSE_RECHECK

    # The message's name before any logout closed the wallboards too: a process not yet
    # upgraded in a rolling deploy may still send it.
    desktop_signed_out = session_signed_out

    # --- wrap-up expiry -------------------------------------------------------------------

    async def expire_wrap_up(self) -> None:
        try:
            await database_sync_to_async(agent_wrap_up_expire)(agent_id=self.agent_id)
        except Exception:
            # Another tab, the next connect or routing will flip it; keep this socket alive.
            logger.exception("could not end the wrap-up of agent %s", self.agent_id)
