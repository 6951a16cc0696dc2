"""Tell live pages that something changed, once per change, after the change commits.

Groups are small on purpose (channels_redis's cost grows with group size):
`call.<id>` for everyone watching one call, `agent.<id>` for each agent's open desktops,
and `supervisors` for the wallboards. Messages are sent only after the transaction that
made the change commits, so a page never renders state that was rolled back.

Each agent's view of a change is rendered here, once, and the same HTML goes to every tab
that agent has open (`html` in the message); desktop consumers only forward it. The
wallboards' HTML is rendered once too, only what the change touched, and rides on the
`supervisors` message (`calls.wallboard.rendering.render_wallboard_update`); when no
wallboard is open anywhere (`calls.wallboard.watchers.any_open`) it is not rendered at all.
When a render fails or is skipped the message goes without it, and the pages render or
re-sync by themselves.

Under the ASGI server the render and the sends happen after the response, on the server's
loop, and pushes for the same call or agent that pile up merge into one
(`calls.publisher`); elsewhere they happen in place, right after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from calls import publisher
from calls.publisher import Message

logger = logging.getLogger(__name__)

SUPERVISORS_GROUP = "supervisors"


def call_group(call_id: int) -> str:
    return f"call.{call_id}"


def agent_group(agent_id: int) -> str:
    return f"agent.{agent_id}"


def _send(groups: Iterable[str], message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:
            # A push that fails must not undo a committed change; pages resync on reconnect.
            logger.exception("could not publish %s to %s", message.get("type"), group)


def _render_calls(call_id: int, agent_ids: list[int]) -> dict[int, str]:
    if not agent_ids:
        return {}
    try:
        from agents.rendering import render_call_for_agents

        return render_call_for_agents(call_id=call_id, agent_ids=agent_ids)
    except Exception:
        logger.exception("could not render call %s for the desktops", call_id)
        return {}


def _render_status(agent_id: int) -> dict:
    try:
        from agents.rendering import render_agent_status

        rendered = render_agent_status(agent_id=agent_id)
    except Exception:
        logger.exception("could not render the status of agent %s", agent_id)
        return {}
    if rendered is None:
        return {}
    html, wrap_up_until = rendered
    return {"html": html, "wrap_up_until": wrap_up_until}


def _render_wallboard(*, call_id: int | None = None, agent_id: int | None = None) -> dict:
    try:
        from calls.wallboard.rendering import render_wallboard_update
        from calls.wallboard.watchers import any_open
    except ImportError:  # a build without the wallboard
        return {}
    if not any_open(group=SUPERVISORS_GROUP):
        return {}
    return render_wallboard_update(call_id=call_id, agent_id=agent_id)


@dataclass(frozen=True)
class CallPush:
    """`call.changed` to the call's watchers, each agent on it (rendered) and supervisors."""

    call_id: int
    version: int
    agent_ids: frozenset[int]

    @property
    def key(self) -> tuple[str, int]:
        return ("call", self.call_id)

    def merged(self, later: CallPush) -> CallPush:
        # Everyone either change concerned hears of it: an agent who left is told too.
        return CallPush(
            call_id=self.call_id,
            version=max(self.version, later.version),
            agent_ids=self.agent_ids | later.agent_ids,
        )

    def messages(self) -> list[Message]:
        message = {"type": "call.changed", "call_id": self.call_id, "version": self.version}
        agents = sorted(self.agent_ids)
        rendered = _render_calls(self.call_id, agents)
        return [
            (call_group(self.call_id), message),
            *(
                (agent_group(a), message | ({"html": rendered[a]} if rendered.get(a) else {}))
                for a in agents
            ),
            (SUPERVISORS_GROUP, message | _render_wallboard(call_id=self.call_id)),
        ]


@dataclass(frozen=True)
class AgentPush:
    """`agent.changed` to the agent's own desktops (rendered) and the supervisors."""

    agent_id: int
    status: str

    @property
    def key(self) -> tuple[str, int]:
        return ("agent", self.agent_id)

    def merged(self, later: AgentPush) -> AgentPush:
        return later  # the render reads the current status anyway

    def messages(self) -> list[Message]:
        message = {"type": "agent.changed", "agent_id": self.agent_id, "status": self.status}
        return [
            (agent_group(self.agent_id), message | _render_status(self.agent_id)),
            (SUPERVISORS_GROUP, message | _render_wallboard(agent_id=self.agent_id)),
        ]


@dataclass(frozen=True)
class SignOutPush:
    """`session.signed_out`: close the desktops and the wallboards open in one session."""

    session_key: str
    agent_id: int | None = None  # whose desktops; None for a user without an agent profile

    @property
    def key(self) -> tuple[str, str, int | None]:
        return ("signed-out", self.session_key, self.agent_id)

    def merged(self, later: SignOutPush) -> SignOutPush:
        return self

    def messages(self) -> list[Message]:
        message = {"type": "session.signed_out", "session_key": self.session_key}
        # Any supervisor may have a wallboard open in this session; sign-outs are rare, so
        # every wallboard hears it and only the one opened in this session closes.
        agent = [(agent_group(self.agent_id), message)] if self.agent_id is not None else []
        return [*agent, (SUPERVISORS_GROUP, message)]


def _send_now(push: CallPush | AgentPush | SignOutPush) -> None:
    for group, message in push.messages():
        _send([group], message)


def _after_commit(push: CallPush | AgentPush | SignOutPush) -> None:
    transaction.on_commit(lambda: publisher.publish(push, send_now=_send_now))


def publish_call_changed(*, call_id: int, version: int, agent_ids: Iterable[int]) -> None:
    """After commit, send one `call.changed` to the call, each agent on it, and supervisors."""
    _after_commit(CallPush(call_id=call_id, version=version, agent_ids=frozenset(agent_ids)))


def publish_agent_changed(*, agent_id: int, status: str) -> None:
    """After commit, tell the agent's own desktops and the supervisors of a status change."""
    _after_commit(AgentPush(agent_id=agent_id, status=status))


def publish_session_signed_out(*, session_key: str, agent_id: int | None) -> None:
    """After commit, close the desktops (of `agent_id`) and the wallboards open in a session
    that has just logged out."""
    if not session_key:
        return  # no session to name: an empty key must not close sockets of other sessions
    _after_commit(SignOutPush(session_key=session_key, agent_id=agent_id))
