"""Warm and cold transfers, and resuming or aborting a warm one."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from calls import selectors
from calls.addresses import display_address
from calls.models import Action, Call, CallTransfer, Member
from calls.phlo_client import PhloRequest, get_phlo_client
from calls.services import rules
from calls.services.errors import InvalidInput, InvalidState
from calls.services.execution import (
    Actor,
    actor_for,
    agent_busy_elsewhere,
    authorize,
    claimed,
    dialable,
    load_call,
    refuse_if,
    ringing_leg,
    send,
    succeed,
)
from calls.state import (
    call_changed,
    customers_hold,
    customers_unhold,
    lock_call,
    member_set_state,
    on_member_gone,
    transfer_begin,
    transfer_clear,
)

Kind = Action.Kind
State = Member.State
Role = Member.Role


def transfer_warm_start(
    *,
    actor: AbstractBaseUser,
    call_id: int,
    to: str,
    actor_agent: Agent | None = None,
    to_agent: Agent | None = None,
) -> Call:
    """Hold the customer and ring `to`, who talks privately with the transferring agent."""
    return _transfer_start(
        actor=actor,
        actor_agent=actor_agent,
        call_id=call_id,
        to=to,
        to_agent=to_agent,
        kind=Kind.WARM_TRANSFER,
    )


def transfer_cold(
    *,
    actor: AbstractBaseUser,
    call_id: int,
    to: str,
    actor_agent: Agent | None = None,
    to_agent: Agent | None = None,
) -> Call:
    """Hold the customer and ring `to`; when `to` answers the customer is put through and the
    first agent dropped (completed by the answer callback, `calls.state.on_member_answered`)."""
    return _transfer_start(
        actor=actor,
        actor_agent=actor_agent,
        call_id=call_id,
        to=to,
        to_agent=to_agent,
        kind=Kind.COLD_TRANSFER,
    )


def _transfer_start(
    *,
    actor,
    actor_agent: Agent | None,
    call_id: int,
    to: str,
    to_agent: Agent | None,
    kind: str,
) -> Call:
    who = actor_for(actor, agent=actor_agent)
    address = dialable(to)
    call, members = load_call(call_id=call_id)
    authorize(actor=who, call=call, members=members)
    _check_transfer(who=who, call=call, members=members, kind=kind, address=address)
    target_agent = _agent_at(address=address, known=to_agent)
    _check_target_agent(target_agent=target_agent, call_id=call_id)
    client = get_phlo_client()

    def transfer_request(source: Member) -> PhloRequest:
        return client.prepare_node_action(
            action=kind, trigger_source=source.address, to=address, role="agent"
        )

    source = rules.trigger_leg(call=call, members=members, actor_agent=who.agent)
    expected = transfer_request(source) if source is not None else None
    with claimed(actor=who, call_id=call_id, kind=kind, target=address, request=expected) as (
        action
    ):
        call, members = load_call(call_id=call_id)
        _check_transfer(who=who, call=call, members=members, kind=kind, address=address)
        _check_target_agent(target_agent=target_agent, call_id=call_id)
        source = rules.trigger_leg(call=call, members=members, actor_agent=who.agent)
        name = target_agent.display_name if target_agent else display_address(address)
        verb = (
            "start the warm transfer to" if kind == Kind.WARM_TRANSFER else "transfer the call to"
        )
        result = send(
            action=action,
            client=client,
            request=transfer_request(source),
            failed_to=f"Could not {verb} {name}",
        )
        with transaction.atomic():
            locked = lock_call(call_id=call_id)
            at = timezone.now()
            transfer_begin(
                call=locked,
                kind=(
                    Call.TransferKind.WARM if kind == Kind.WARM_TRANSFER else Call.TransferKind.COLD
                ),
                from_agent_id=source.agent_id,
                to_address=address,
                to_agent=target_agent,
                at=at,
            )
            customers_hold(call=locked, at=at)
            target = ringing_leg(call=locked, address=address, role=Role.AGENT, agent=target_agent)
            action.member = target
            succeed(action=action, result=result, call=locked, at=at)
            call_changed(call=locked, at=at)
    return selectors.call_with_members(call_id=call_id)


def _check_transfer(*, who: Actor, call: Call, members, kind: str, address: str) -> None:
    refuse_if(
        rules.call_action_refusal(
            kind=kind,
            call=call,
            members=members,
            actor_agent=who.agent,
            supervisor=who.supervisor,
        )
    )
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
    if target_agent is not None and agent_busy_elsewhere(agent=target_agent, call_id=call_id):
        raise InvalidState(f"{target_agent.display_name} is on another call.")


def transfer_resume(
    *, actor: AbstractBaseUser, call_id: int, actor_agent: Agent | None = None
) -> Call:
    """End the consultation: the customer comes off hold and everyone talks together."""
    return _transfer_finish(
        actor=actor,
        actor_agent=actor_agent,
        call_id=call_id,
        kind=Kind.RESUME_CALL,
        failed_to="Could not resume the call",
    )


def transfer_abort(
    *, actor: AbstractBaseUser, call_id: int, actor_agent: Agent | None = None
) -> Call:
    """Drop the transfer target; the customer comes off hold with the first agent."""
    return _transfer_finish(
        actor=actor,
        actor_agent=actor_agent,
        call_id=call_id,
        kind=Kind.ABORT_TRANSFER,
        failed_to="Could not abort the transfer",
    )


def _transfer_finish(
    *, actor, actor_agent: Agent | None, call_id: int, kind: str, failed_to: str
) -> Call:
    who = actor_for(actor, agent=actor_agent)
    call, members = load_call(call_id=call_id)
    authorize(actor=who, call=call, members=members)
    refuse_if(
        rules.call_action_refusal(
            kind=kind, call=call, members=members, actor_agent=who.agent, supervisor=who.supervisor
        )
    )
    client = get_phlo_client()
    # PHLO addresses resume/abort to the agent who started the warm transfer.
    initiator = rules.transfer_initiator_leg(call=call, members=members)
    with claimed(
        actor=who,
        call_id=call_id,
        kind=kind,
        target=initiator.address if initiator else "",
        member=initiator,
        request=(
            client.prepare_member_action(member_address=initiator.address, action=kind)
            if initiator
            else None
        ),
    ) as action:
        call, members = load_call(call_id=call_id)
        refuse_if(
            rules.call_action_refusal(
                kind=kind,
                call=call,
                members=members,
                actor_agent=who.agent,
                supervisor=who.supervisor,
            )
        )
        initiator = rules.transfer_initiator_leg(call=call, members=members)
        target = rules.transfer_target_leg(call=call, members=members)
        if (action.member_id, action.target) != (initiator.pk, initiator.address):
            # The transfer changed hands while we claimed the call: record who it is now.
            Action.objects.filter(pk=action.pk).update(target=initiator.address, member=initiator)
        request = client.prepare_member_action(member_address=initiator.address, action=kind)
        result = send(action=action, client=client, request=request, failed_to=failed_to)
        with transaction.atomic():
            locked = lock_call(call_id=call_id)
            at = timezone.now()
            if kind == Kind.ABORT_TRANSFER and target is not None:
                gone = Member.objects.get(pk=target.pk)
                if member_set_state(
                    member=gone, state=State.LEFT, at=at, cause=Member.EndCause.HUNG_UP
                ):
                    on_member_gone(call=locked, member=gone, at=at)
            customers_unhold(call=locked, at=at)
            transfer_clear(
                call=locked,
                outcome=(
                    CallTransfer.Outcome.COMPLETED
                    if kind == Kind.RESUME_CALL
                    else CallTransfer.Outcome.ABORTED
                ),
                at=at,
            )
            action.member = initiator
            action.target = initiator.address
            succeed(action=action, result=result, call=locked, at=at)
            call_changed(call=locked, at=at)
    return selectors.call_with_members(call_id=call_id)
