"""How the desktop hears the core's events (registered in `AgentsConfig.ready`).

Each agent's view of a change is rendered here, once, and the same HTML goes to every tab
that agent has open (`html` in the message on `agent.<id>`); desktop consumers only forward
it. When a render fails the message goes without it, and the desktop re-syncs by itself.
"""

from __future__ import annotations

import logging

from agents import rendering, selectors
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

logger = logging.getLogger(__name__)

PAGE = "desktop"


def agent_group(agent_id: int) -> str:
    return f"agent.{agent_id}"


def _call_changed(event: CallChanged, bare: dict) -> list[Message]:
    agents = sorted(event.agent_ids)
    rendered = _render_calls(event.call_id, agents)
    messages = [
        (agent_group(a), bare | ({"html": rendered[a]} if rendered.get(a) else {})) for a in agents
    ]
    # A hold changes nothing another card's "Last calls" shows; a start, an end, a hand-over
    # or a wrap-up does.
    if event.legs_came_or_went:
        messages += _calls_beside(event.call_id)
    return messages


def _calls_beside(call_id: int) -> list[Message]:
    """The same customer's other cards on the desktops, redrawn with this call in their
    history. Only what rendered goes: a card left as it was is not worth a full resync."""
    try:
        beside = selectors.calls_beside(call_id=call_id)
    except Exception:
        logger.exception("could not find the calls beside call %s", call_id)
        return []
    messages = []
    for other, agents in beside.items():
        for agent_id, html in _render_calls(other, agents).items():
            if html:
                message = {"type": CallChanged.type, "call_id": other, "html": html}
                messages.append((agent_group(agent_id), message))
    return messages


def _render_calls(call_id: int, agent_ids: list[int]) -> dict[int, str]:
    if not agent_ids:
        return {}
    try:
        return rendering.render_call_for_agents(call_id=call_id, agent_ids=agent_ids)
    except Exception:
        logger.exception("could not render call %s for the desktops", call_id)
        return {}


def _agent_changed(event: AgentChanged, bare: dict) -> list[Message]:
    return [(agent_group(event.agent_id), bare | _render_status(event.agent_id))]


def _render_status(agent_id: int) -> dict:
    try:
        rendered = rendering.render_agent_status(agent_id=agent_id)
    except Exception:
        logger.exception("could not render the status of agent %s", agent_id)
        return {}
    if rendered is None:
        return {}
    html, wrap_up_until = rendered
    return {"html": html, "wrap_up_until": wrap_up_until}


def queue_group(queue_id: int) -> str:
    """The desktops of every agent who serves the queue."""
    return f"queue.{queue_id}"


def _queue_changed(event: QueueChanged, bare: dict) -> list[Message]:
    # One render for all the queue's agents: the row is the same for each of them.
    try:
        html = rendering.render_queue(queue_id=event.queue_id)
    except Exception:
        logger.exception("could not render queue %s for the desktops", event.queue_id)
        html = ""
    return [(queue_group(event.queue_id), bare | ({"html": html} if html else {}))]


def _queues_changed(event: AgentQueuesChanged, bare: dict) -> list[Message]:
    return [(agent_group(event.agent_id), bare)]  # each desktop rejoins and resyncs


def _signed_out(event: SessionSignedOut, bare: dict) -> list[Message]:
    return [] if event.agent_id is None else [(agent_group(event.agent_id), bare)]


def _access_revoked(event: AccessRevoked, bare: dict) -> list[Message]:
    return [] if event.agent_id is None else [(agent_group(event.agent_id), bare)]


def register() -> None:
    register_page(page=PAGE, event_type=CallChanged, render=_call_changed)
    register_page(page=PAGE, event_type=AgentChanged, render=_agent_changed)
    register_page(page=PAGE, event_type=QueueChanged, render=_queue_changed)
    register_page(page=PAGE, event_type=AgentQueuesChanged, render=_queues_changed)
    register_page(page=PAGE, event_type=SessionSignedOut, render=_signed_out)
    register_page(page=PAGE, event_type=AccessRevoked, render=_access_revoked)
