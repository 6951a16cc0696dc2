"""HTML for the desktop, rendered once per change and pushed to every open tab.

The same partial templates draw the page, answer htmx requests and make the websocket
pushes, so a button's response and a push can never disagree. Pushed fragments carry
`hx-swap-oob`; every call fragment carries the call's version so the page ignores a stale
one that arrives late.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html

from agents.models import Agent
from agents.presence import away_reasons
from agents.profiles import supervisors_among
from agents.selectors import (
    CallView,
    call_customer,
    call_for_desktop,
    call_view,
    customer_history,
    desktop_calls,
    queue_rows,
)
from agents.services.dialing import MAX_INPUT
from agents.services.wrap_up import dispositions, dispositions_owed
from calls.models import Call


def status_context(*, agent: Agent, at: datetime) -> dict:
    wrap_up = agent.status == Agent.Status.WRAP_UP
    return {
        "agent": agent,
        "now": at,
        "away_reasons": away_reasons(),
        "wrap_up": wrap_up,
        "owed": dispositions_owed(agent=agent) if wrap_up else 0,
    }


def render_status(
    *, agent: Agent, at: datetime | None = None, oob: bool = True, error: str = ""
) -> str:
    at = at or timezone.now()
    context = status_context(agent=agent, at=at) | {"oob": oob, "error": error}
    return render_to_string("desktop/_status.html", context)


def call_context(*, view: CallView, at: datetime) -> dict:
    return {"v": view, "now": at, "dispositions": dispositions()}


def render_call(
    *,
    view: CallView | None,
    call: Call,
    at: datetime | None = None,
    oob: bool = True,
    error: str = "",
) -> str:
    """One call as this agent sees it; a `delete` fragment when it has left their desktop."""
    at = at or timezone.now()
    if view is None:
        return format_html(
            '<article id="call-{}" class="call" data-version="{}" data-deleted'
            ' hx-swap-oob="delete"></article>',
            call.pk,
            call.version,
        )
    context = call_context(view=view, at=at) | {"oob": oob, "error": error}
    return render_to_string("desktop/_call.html", context)


def render_call_for_agents(*, call_id: int, agent_ids: list[int]) -> dict[int, str]:
    """Each agent's view of one call, from one fetch of the call: {agent_id: html}."""
    call = call_for_desktop(call_id=call_id)
    if call is None:
        return {}
    at = timezone.now()
    customer = call_customer(call=call)
    history = (
        customer_history(customer_id=customer.pk, exclude_call_id=call.pk) if customer else None
    )
    agents = _agents_of(call=call, agent_ids=agent_ids)
    supervisors = supervisors_among(agents=agents)  # cached: no query, most pushes
    rendered = {}
    for agent in agents:
        view = call_view(
            call=call,
            agent=agent,
            supervisor=agent.user_id in supervisors,
            history=history,
            at=at,
        )
        rendered[agent.pk] = render_call(view=view, call=call, at=at)
    return rendered


def _agents_of(*, call: Call, agent_ids: list[int]) -> list[Agent]:
    """These agents, taken from the call's members where they have a leg on it (the usual
    case: no query); any other is read."""
    on_call = {m.agent_id: m.agent for m in call.members.all() if m.agent_id}
    agents = [on_call[pk] for pk in dict.fromkeys(agent_ids) if pk in on_call]
    others = [pk for pk in agent_ids if pk not in on_call]
    if others:
        agents += Agent.objects.select_related("user").filter(pk__in=others)
    return agents


def render_agent_status(*, agent_id: int) -> tuple[str, str] | None:
    """(status html, wrap-up end as ISO text or "") for the agent's desktops."""
    agent = Agent.objects.select_related("user").filter(pk=agent_id).first()
    if agent is None:
        return None
    until = agent.wrap_up_until.isoformat() if agent.wrap_up_until else ""
    return render_status(agent=agent), until


def calls_context(*, agent: Agent, at: datetime) -> dict:
    # From the cached profile, which this fills when it is missing: the pushes to this
    # desktop then find it (a desktop connects before its first push).
    supervisor = agent.user_id in supervisors_among(agents=[agent])
    views = [
        v
        for v in (
            call_view(call=c, agent=agent, supervisor=supervisor, at=at)
            for c in desktop_calls(agent=agent, at=at)
        )
        if v is not None
    ]
    return {"views": views, "now": at, "dispositions": dispositions()}


def render_queue(*, queue_id: int) -> str:
    """One queue's row, the same for every agent who serves it; "" when it is gone."""
    rows = queue_rows(queue_id=queue_id)
    if not rows:
        return ""
    return render_to_string(
        "desktop/_queue.html", {"q": rows[0], "now": timezone.now(), "oob": True}
    )


def desktop_context(*, agent: Agent, at: datetime | None = None) -> dict:
    """Everything the full page shows."""
    at = at or timezone.now()
    return (
        status_context(agent=agent, at=at)
        | calls_context(agent=agent, at=at)
        | {"queues": queue_rows(agent_id=agent.pk)}
        | {
            "phones_url": phones_url(),
            "max_input": MAX_INPUT,
            "wrap_up_seconds": int(settings.AGENT_WRAP_UP_SECONDS),
        }
    )


def render_full_state(*, agent: Agent) -> str:
    """The complete current state as out-of-band fragments, sent when a desktop connects."""
    at = timezone.now()
    return render_to_string(
        "desktop/_full_state.html", desktop_context(agent=agent, at=at) | {"oob": True}
    )


def phones_url() -> str:
    """The simulator's phones page, linked in demo mode so agents can answer their calls."""
    if not settings.PHLO_SIMULATOR:
        return ""
    base = settings.PHLO_BASE_URL.rstrip("/")
    base = base[: -len("/v1")] if base.endswith("/v1") else base
    return f"{base}/phones/"
