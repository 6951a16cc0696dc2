"""How the wallboards hear the core's events (registered in `WallboardConfig.ready`).

Every open wallboard is in the `supervisors` group. The wallboards' HTML is rendered once
per change, only what the change touched (`rendering.render_wallboard_update`), and rides on
the message; when no wallboard is open anywhere (`watchers.any_open`) it is not rendered at
all, and a wallboard that gets a message without it renders the change itself.
"""

from __future__ import annotations

import uuid

from calls.events import (
    AccessRevoked,
    AgentChanged,
    AgentQueuesChanged,
    CallChanged,
    QueueChanged,
    SessionSignedOut,
)
from calls.publisher import Message
from calls.publishing import register_page
from calls.wallboard import rendering, watchers

PAGE = "wallboard"
SUPERVISORS_GROUP = "supervisors"


def _render(*, call_id: int | None = None, agent_id: int | None = None) -> dict:
    if not watchers.any_open():
        return {}
    return rendering.render_wallboard_update(call_id=call_id, agent_id=agent_id)


def _call_changed(event: CallChanged, bare: dict) -> list[Message]:
    return [(SUPERVISORS_GROUP, bare | _render(call_id=event.call_id))]


def _agent_changed(event: AgentChanged, bare: dict) -> list[Message]:
    return [(SUPERVISORS_GROUP, bare | _render(agent_id=event.agent_id))]


def _queues_changed(event: AgentQueuesChanged | QueueChanged, bare: dict) -> list[Message]:
    # Only the figures show queues (how many wait, agents available per queue): each
    # process's ticker renders them once for all its wallboards, once per change (the key).
    return [(SUPERVISORS_GROUP, bare | {"change": uuid.uuid4().hex})]


def _signed_out(event: SessionSignedOut, bare: dict) -> list[Message]:
    # Any supervisor may have a wallboard open in this session; sign-outs are rare, so every
    # wallboard hears it and only the one opened in this session closes.
    return [(SUPERVISORS_GROUP, bare)]


def _access_revoked(event: AccessRevoked, bare: dict) -> list[Message]:
    # Like a sign-out: every wallboard hears it, and only that user's close.
    return [(SUPERVISORS_GROUP, bare)]


def register() -> None:
    register_page(page=PAGE, event_type=CallChanged, render=_call_changed)
    register_page(page=PAGE, event_type=AgentChanged, render=_agent_changed)
    register_page(page=PAGE, event_type=AgentQueuesChanged, render=_queues_changed)
    register_page(page=PAGE, event_type=QueueChanged, render=_queues_changed)
    register_page(page=PAGE, event_type=SessionSignedOut, render=_signed_out)
    register_page(page=PAGE, event_type=AccessRevoked, render=_access_revoked)
