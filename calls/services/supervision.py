"""A supervisor barging into a call."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser

from agents.models import Agent
from calls.models import Action, Call, Member
from calls.phlo_client import get_phlo_client
from calls.services import rules
from calls.services.errors import InvalidState, NotAllowed
from calls.services.execution import (
    Actor,
    Plan,
    actor_for,
    agent_busy_elsewhere,
    load_call,
    perform_on_call,
    refuse_call_action,
    ringing_leg,
)

Kind = Action.Kind
State = Member.State
Role = Member.Role


def call_join(*, actor: AbstractBaseUser, call_id: int, actor_agent: Agent | None = None) -> Call:
    """A supervisor barges in: PHLO rings the supervisor's own endpoint into the conference,
    triggered from a talking agent on the call."""
    who = actor_for(actor, agent=actor_agent)
    call, members = load_call(call_id=call_id)
    if not who.supervisor:
        raise NotAllowed("Only supervisors can join a call.")
    if who.agent is None:
        raise NotAllowed("You need an agent profile with a phone endpoint to join a call.")
    client = get_phlo_client()

    def decide(call: Call, members: list[Member]) -> Plan:
        _check_join(who=who, call=call, members=members)
        source = rules.trigger_leg(call=call, members=members, actor_agent=who.agent)
        return Plan(
            request=client.prepare_node_action(
                action="call", trigger_source=source.address, to=who.agent.endpoint, role="agent"
            ),
            failed_to="Could not join the call",
            target=who.agent.endpoint,
        )

    def apply(*, call: Call, plan: Plan, action: Action, at: datetime) -> None:
        # The supervisor's leg is the action's subject once PHLO has accepted.
        action.member = ringing_leg(
            call=call, address=who.agent.endpoint, role=Role.SUPERVISOR, agent=who.agent
        )

    return perform_on_call(
        actor=who,
        kind=Kind.CALL,
        call=call,
        members=members,
        decide=decide,
        apply=apply,
        client=client,
    )


def _check_join(*, who: Actor, call: Call, members) -> None:
    # `who` is a supervisor: `call_join` refused anyone else.
    refuse_call_action(actor=who, kind=rules.JOIN, call=call, members=members)
    if agent_busy_elsewhere(agent=who.agent, call_id=call.pk):
        raise InvalidState("You are on another call; finish it before joining this one.")
