"""Agent status follows their calls, so nobody is left stuck in a state.

An agent with a live leg in any call is "on a call". When their last leg ends they go to
wrap-up for AGENT_WRAP_UP_SECONDS, then back to Available. Away and Offline are the
agent's own choice and are left alone by calls ending.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from agents.models import Agent
from calls.models import Member
from calls.publishing import publish_agent_changed


def wrap_up_seconds() -> int:
    return int(getattr(settings, "AGENT_WRAP_UP_SECONDS", 60))


def agent_set_status(
    *, agent: Agent, status: str, reason: str = "", at: datetime | None = None
) -> bool:
    at = at or timezone.now()
    wrap_until = (
        at + timedelta(seconds=wrap_up_seconds()) if status == Agent.Status.WRAP_UP else None
    )
    if agent.status == status and agent.status_reason == reason and status != Agent.Status.WRAP_UP:
        return False
    if agent.status != status:
        agent.status_changed_at = at
    agent.status = status
    agent.status_reason = reason
    agent.wrap_up_until = wrap_until
    agent.save(update_fields=["status", "status_reason", "status_changed_at", "wrap_up_until"])
    publish_agent_changed(agent_id=agent.pk, status=status)
    return True


def agents_follow_calls(*, agent_ids: Iterable[int], at: datetime | None = None) -> None:
    """Re-derive 'on a call' / wrap-up for these agents from their live legs (two queries)."""
    ids = set(agent_ids)
    if not ids:
        return
    at = at or timezone.now()
    busy = set(
        Member.objects.filter(
            agent_id__in=ids, state__in=Member.LIVE_STATES, call__status__in=["dialling", "active"]
        ).values_list("agent_id", flat=True)
    )
    for agent in Agent.objects.filter(pk__in=ids).select_for_update():
        if agent.pk in busy and agent.status != Agent.Status.ON_CALL:
            agent_set_status(agent=agent, status=Agent.Status.ON_CALL, at=at)
        elif agent.pk not in busy and agent.status == Agent.Status.ON_CALL:
            agent_set_status(agent=agent, status=Agent.Status.WRAP_UP, at=at)
