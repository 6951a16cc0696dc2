"""Supervisor actions that the call services do not already provide.

Hang up, hold, unhold and join go through `calls.services` exactly as the agents' buttons do.
Setting an agent's status is here: a supervisor frees an agent stuck in a state, or sends
one Away or Offline. The same rule decides which buttons the wallboard shows
(`settable_statuses`) and what the service refuses (`status_refusal`), so they never
disagree. Each change is written to the admin's history of that agent (LogEntry), the
audit trail supervisors already read.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from agents.models import Agent
from agents.permissions import is_supervisor
from agents.presence import CHOOSABLE, agent_set_status
from calls.models import Member
from calls.services.errors import InvalidInput, InvalidState, NotAllowed, NotFound

Status = Agent.Status
# The wallboard offers these, in this order.
SETTABLE_ORDER = (Status.AVAILABLE, Status.AWAY, Status.OFFLINE)


def agent_on_live_leg(*, agent_id: int) -> bool:
    return Member.objects.live_legs().filter(agent_id=agent_id).exists()


def status_refusal(*, agent: Agent, status: str, on_live_leg: bool) -> str | None:
    """Why a supervisor cannot set `agent` to `status` now, or None when they can."""
    if status not in CHOOSABLE:
        return "Choose Available, Away or Offline; the other statuses follow the agent's calls."
    if on_live_leg:
        return (
            f"{agent.display_name} is on a call, and their status follows it. Hang up their leg"
            " first if they are stuck on it."
        )
    if agent.status == status:
        return f"{agent.display_name} is already {Status(status).label}."
    return None


def settable_statuses(*, agent: Agent, on_live_leg: bool) -> tuple[str, ...]:
    """The statuses the wallboard offers for this agent now."""
    return tuple(
        s
        for s in SETTABLE_ORDER
        if status_refusal(agent=agent, status=s, on_live_leg=on_live_leg) is None
    )


def _actor_name(actor) -> str:
    return actor.get_full_name() or actor.get_username()


def agent_status_set(
    *, actor: AbstractBaseUser, agent_id: int, status: str, at: datetime | None = None
) -> Agent:
    """Set an agent's status on a supervisor's behalf. Raises a ServiceError (NotAllowed,
    InvalidInput, NotFound, InvalidState) whose message is shown as is."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAllowed("Sign in as a supervisor to change an agent's status.")
    if not is_supervisor(actor):
        raise NotAllowed("Only supervisors can change another agent's status.")
    if status not in CHOOSABLE:
        raise InvalidInput(
            "Choose Available, Away or Offline; the other statuses follow the agent's calls."
        )
    with transaction.atomic():
        agent = Agent.objects.select_for_update().select_related("user").filter(pk=agent_id).first()
        if agent is None:
            raise NotFound("That agent no longer exists.")
        refusal = status_refusal(
            agent=agent, status=status, on_live_leg=agent_on_live_leg(agent_id=agent.pk)
        )
        if refusal:
            raise InvalidState(refusal)
        previous = agent.get_status_display()
        # The agent sees on their own desktop who set it, whichever status: Available
        # without a click of theirs is as much a surprise as Away (their next change of
        # status, or a call, clears it).
        agent_set_status(agent=agent, status=status, reason=f"Set by {_actor_name(actor)}", at=at)
        LogEntry.objects.log_actions(
            user_id=actor.pk,
            queryset=[agent],
            action_flag=CHANGE,
            change_message=(
                f"Status changed from {previous} to {agent.get_status_display()} on the wallboard."
            ),
            single_object=True,
        )
    return agent
