"""Warm and cold transfers, and resuming or aborting a warm one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from django.contrib.auth.models import AbstractBaseUser

from agents.models import Agent
from calls.addresses import display_address
from calls.models import Action, Call, CallTransfer, Member
from calls.phlo_client import get_phlo_client
from calls.services import rules
from calls.services.errors import InvalidInput, InvalidState
from calls.services.execution import (
    Actor,
    Plan,
    actor_for,
    agent_busy_elsewhere,
    authorize,
    dialable,
    load_call,
    perform_on_call,
    refuse_call_action,
    ringing_leg,
)
from calls.state import (
    customers_hold,
    customers_unhold,
    member_set_state,
    on_member_gone,
    transfer_begin,
    transfer_clear,
)

Kind = Action.Kind
State = Member.State
Role = Member.Role


def _start_button(*, kind: str, doc: str) -> Callable[..., Call]:
    button = partial(_transfer_start, kind=kind)
    button.__doc__ = doc
    return button


def _finish_button(*, kind: str, failed_to: str, doc: str) -> Callable[..., Call]:
    button = partial(_transfer_finish, kind=kind, failed_to=failed_to)
    button.__doc__ = doc
    return button


def _transfer_start(
    *,
    actor: AbstractBaseUser,
    call_id: int,
    to: str,
    actor_agent: Agent | None = None,
    to_agent: Agent | None = None,
    kind: str,
) -> Call:
    who = actor_for(actor, agent=actor_agent)
    address = dialable(to)
    call, members = load_call(call_id=call_id)
    authorize(actor=who, call=call, members=members)
    _check_transfer(who=who, call=call, members=members, kind=kind, address=address)
    target_agent = _agent_at(address=address, known=to_agent)
    client = get_phlo_client()
    name = target_agent.display_name if target_agent else display_address(address)
    verb = "start the warm transfer to" if kind == Kind.WARM_TRANSFER else "transfer the call to"

    def decide(call: Call, members: list[Member]) -> Plan:
        _check_transfer(who=who, call=call, members=members, kind=kind, address=address)
        _check_target_agent(target_agent=target_agent, call_id=call_id)
        source = rules.trigger_leg(call=call, members=members, actor_agent=who.agent)
        return Plan(
            request=client.prepare_node_action(
                action=kind, trigger_source=source.address, to=address, role="agent"
            ),
            failed_to=f"Could not {verb} {name}",
            target=address,
            leg=source,
        )

    def apply(*, call: Call, plan: Plan, action: Action, at: datetime) -> None:
        transfer_begin(
            call=call,
            kind=Call.TransferKind.WARM if kind == Kind.WARM_TRANSFER else Call.TransferKind.COLD,
            from_agent_id=plan.leg.agent_id,
            to_address=address,
            to_agent=target_agent,
            at=at,
        )
        customers_hold(call=call, at=at)
        action.member = ringing_leg(call=call, address=address, role=Role.AGENT, agent=target_agent)

    return perform_on_call(
        actor=who, kind=kind, call=call, members=members, decide=decide, apply=apply, client=client
    )


def _check_transfer(*, who: Actor, call: Call, members, kind: str, address: str) -> None:
    refuse_call_action(actor=who, kind=kind, call=call, members=members)
    for member in members:
        if member.is_live and member.address == address:
            raise InvalidInput(f"{rules.member_label(member)} is already on this call.")


def _agent_at(*, address: str, known: Agent | None) -> Agent | None:
    """The agent whose endpoint is `address`. `known`, the agent the caller already found
    (the transfer picker names one), is that agent when its endpoint is `address`, as
    endpoints are unique; anything else is looked up, as if `known` had not been given."""
    if known is not None and known.endpoint == address:
        return known
    return Agent.objects.select_related("user").filter(endpoint=address).first()


def _check_target_agent(*, target_agent: Agent | None, call_id: int) -> None:
    if target_agent is None:
        return
    if target_agent.status in (Agent.Status.AWAY, Agent.Status.OFFLINE):
        # Typed by name or number, not picked (the picker lists only who is free).
        status = target_agent.get_status_display().lower()
        raise InvalidState(f"{target_agent.display_name} is {status} and cannot take a transfer.")
    if agent_busy_elsewhere(agent=target_agent, call_id=call_id):
        raise InvalidState(f"{target_agent.display_name} is on another call.")


def _transfer_finish(
    *,
    actor: AbstractBaseUser,
    call_id: int,
    actor_agent: Agent | None = None,
    kind: str,
    failed_to: str,
) -> Call:
    who = actor_for(actor, agent=actor_agent)
    call, members = load_call(call_id=call_id)
    authorize(actor=who, call=call, members=members)
    client = get_phlo_client()

    def decide(call: Call, members: list[Member]) -> Plan:
        refuse_call_action(actor=who, kind=kind, call=call, members=members)
        # PHLO addresses resume/abort to the agent who started the warm transfer.
        initiator = rules.transfer_initiator_leg(call=call, members=members)
        return Plan(
            request=client.prepare_member_action(member_address=initiator.address, action=kind),
            failed_to=failed_to,
            target=initiator.address,
            member=initiator,
            leg=rules.transfer_target_leg(call=call, members=members),
        )

    def apply(*, call: Call, plan: Plan, action: Action, at: datetime) -> None:
        target = plan.leg
        if kind == Kind.ABORT_TRANSFER and target is not None:
            gone = Member.objects.get(pk=target.pk)
            if member_set_state(
                member=gone, state=State.LEFT, at=at, cause=Member.EndCause.HUNG_UP
            ):
                on_member_gone(call=call, member=gone, at=at)
        customers_unhold(call=call, at=at)
        transfer_clear(
            call=call,
            outcome=(
                CallTransfer.Outcome.COMPLETED
                if kind == Kind.RESUME_CALL
                else CallTransfer.Outcome.ABORTED
            ),
            at=at,
        )

    return perform_on_call(
        actor=who, kind=kind, call=call, members=members, decide=decide, apply=apply, client=client
    )


# Bound at the end: they name the functions above.
transfer_warm_start = _start_button(
    kind=Kind.WARM_TRANSFER,
    doc="Hold the customer and ring `to`, who talks privately with the transferring agent.",
)
transfer_cold = _start_button(
    kind=Kind.COLD_TRANSFER,
    doc="Hold the customer and ring `to`; when `to` answers the customer is put through and"
    " the first agent dropped (completed by the answer callback,"
    " `calls.state.on_member_answered`).",
)
transfer_resume = _finish_button(
    kind=Kind.RESUME_CALL,
    failed_to="Could not resume the call",
    doc="End the consultation: the customer comes off hold and everyone talks together.",
)
transfer_abort = _finish_button(
    kind=Kind.ABORT_TRANSFER,
    failed_to="Could not abort the transfer",
    doc="Drop the transfer target; the customer comes off hold with the first agent.",
)
