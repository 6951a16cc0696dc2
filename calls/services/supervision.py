"""A supervisor barging into a call."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from calls import selectors
from calls.models import Action, Call, Member
from calls.phlo_client import PhloRequest, get_phlo_client
from calls.services import rules
from calls.services.errors import InvalidState, NotAllowed
from calls.services.execution import (
    Actor,
    actor_for,
    agent_busy_elsewhere,
    claimed,
    load_call,
    refuse_if,
    ringing_leg,
    send,
    succeed,
)
from calls.state import (
    call_changed,
    lock_call,
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
    _check_join(who=who, call=call, members=members)
    client = get_phlo_client()

    def join_request(source: Member) -> PhloRequest:
        return client.prepare_node_action(
            action="call", trigger_source=source.address, to=who.agent.endpoint, role="agent"
        )

    source = rules.trigger_leg(call=call, members=members, actor_agent=who.agent)
    with claimed(
        actor=who,
        call_id=call_id,
        kind=Kind.CALL,
        target=who.agent.endpoint,
        request=join_request(source) if source is not None else None,
    ) as action:
        call, members = load_call(call_id=call_id)
        _check_join(who=who, call=call, members=members)
        source = rules.trigger_leg(call=call, members=members, actor_agent=who.agent)
        result = send(
            action=action,
            client=client,
            request=join_request(source),
            failed_to="Could not join the call",
        )
        with transaction.atomic():
            locked = lock_call(call_id=call_id)
            at = timezone.now()
            leg = ringing_leg(
                call=locked, address=who.agent.endpoint, role=Role.SUPERVISOR, agent=who.agent
            )
            action.member = leg
            succeed(action=action, result=result, call=locked, at=at)
            call_changed(call=locked, at=at)
    return selectors.call_with_members(call_id=call_id)


def _check_join(*, who: Actor, call: Call, members) -> None:
    refuse_if(
        rules.call_action_refusal(
            kind=rules.JOIN, call=call, members=members, actor_agent=who.agent, supervisor=True
        )
    )
    if agent_busy_elsewhere(agent=who.agent, call_id=call.pk):
        raise InvalidState("You are on another call; finish it before joining this one.")
