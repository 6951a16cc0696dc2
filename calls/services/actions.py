"""One service per agent-desktop button.

Each service checks that the user may act and that the call's state allows it
(`calls.services.rules`), records an `Action` and claims the call (`claims`), asks PHLO with
no transaction open, then applies the change the action implies through `calls.state` in a
short transaction with the call locked. PHLO sends no callback for hold, transfer starts
and the like, so our own successful action is a source of truth. On any failure nothing
else changes and a `ServiceError` says why.

When PHLO's answer is unknown (a timeout, or a connection dropped after sending) the action
may still have happened: `PhloOutcomeUnknown` is raised and nothing changes, except that a
new call stays dialling, so the provider's callbacks find it if PHLO did place it (and
`calls.services.housekeeping` ends it if none ever come).

The buttons' services also take what their caller already looked up in this request, to save
asking the database again before PHLO: `actor_agent`, the acting user's agent, and for a
member's button `call_id`, that member's call. Both are checked against what they belong to.
Placing a call also takes the `customer` picked or found by name, and a transfer the
`to_agent` picked by name (used only when it is the agent at `to`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.models import Agent
from calls import selectors
from calls.addresses import display_address
from calls.models import Action, Call, Customer, Member
from calls.phlo_client import ErrorKind, PhloError, PhloRequest, get_phlo_client
from calls.services import rules
from calls.services.errors import InvalidInput, InvalidState, NotAllowed, PhloOutcomeUnknown
from calls.services.execution import (
    Actor,
    actor_for,
    agent_busy_elsewhere,
    authorize,
    claimed,
    guarded,
    load_call,
    load_member,
    new_action,
    normalize,
    record_failure,
    refuse_if,
    send,
    succeed,
)
from calls.services.housekeeping import stale_call_cleared_within
from calls.state import (
    call_changed,
    customers_hold,
    customers_unhold,
    lock_call,
    member_set_state,
    on_member_gone,
    transfer_clear,
)

Kind = Action.Kind
State = Member.State
Role = Member.Role


# --- Call ----------------------------------------------------------------------------------


def call_start(
    *,
    actor: AbstractBaseUser,
    to: str,
    customer_id: int | None = None,
    actor_agent: Agent | None = None,
    customer: Customer | None = None,
) -> Call:
    """Ring the actor's own endpoint and `to`, and put them in one conference.

    `to` is what the user typed (or, when blank, the phone of `customer_id`). `customer`,
    when the caller already fetched it, stands for `customer_id` and saves looking it up.
    The call and both legs exist before PHLO is asked, so its first callbacks find them."""
    who = actor_for(actor, agent=actor_agent)
    if who.agent is None:
        raise NotAllowed("You need an agent profile with a phone endpoint to place calls.")
    if customer is not None:
        if customer_id is not None and customer_id != customer.pk:
            raise ValueError(f"customer {customer.pk} is not customer_id {customer_id}")
    elif customer_id is not None:
        customer = Customer.objects.filter(pk=customer_id).first()
        if customer is None:
            raise InvalidInput("That customer does not exist (any more).")
    address = normalize(to if (to or "").strip() or customer is None else customer.phone)
    if address == who.agent.endpoint:
        raise InvalidInput("That is your own endpoint; enter the number you want to call.")
    callee_agent = Agent.objects.select_related("user").filter(endpoint=address).first()
    if callee_agent is None and customer is None:
        customer = Customer.objects.filter(phone=address).first()
    if callee_agent is not None:
        customer = None

    client = get_phlo_client()
    request = client.prepare_node_action(
        action="call",
        trigger_source=who.agent.endpoint,
        to=address,
        role="agent" if callee_agent else "customer",
    )
    call, members, action = _create_outbound_call(
        who=who, address=address, customer=customer, callee_agent=callee_agent, request=request
    )
    with guarded(action=action, call_id=call.pk):
        try:
            result = send(
                action=action,
                client=client,
                request=request,
                failed_to="Could not place the call",
                if_unknown=_call_may_connect,
            )
        except PhloOutcomeUnknown as error:
            # PHLO may have placed it: keep it dialling so that its callbacks find it.
            _keep_new_call(call_id=call.pk, action=action, error=error)
            raise
        except Exception:
            # PHLO certainly did not place it (it refused, or was never reached).
            _fail_new_call(call_id=call.pk, members=members)
            raise
        with transaction.atomic():
            locked = lock_call(call_id=call.pk)
            at = timezone.now()
            succeed(action=action, result=result, call=locked, at=at)
            call_changed(call=locked, at=at)
    return selectors.call_with_members(call_id=call.pk)


def _create_outbound_call(
    *,
    who: Actor,
    address: str,
    customer: Customer | None,
    callee_agent: Agent | None,
    request: PhloRequest,
) -> tuple[Call, list[Member], Action]:
    """The new call, its two legs (the agent's first) and the action placing it."""
    with transaction.atomic():
        # Lock the agent row so a double click cannot start two calls from one phone.
        Agent.objects.select_for_update().filter(pk=who.agent.pk).first()
        if agent_busy_elsewhere(agent=who.agent):
            raise InvalidState("You are already on a call; finish it before placing another.")
        if callee_agent is not None and agent_busy_elsewhere(agent=callee_agent):
            raise InvalidState(f"{callee_agent.display_name} is on another call.")
        call = Call.objects.create(
            status=Call.Status.DIALLING,
            direction=Call.Direction.OUTBOUND,
            owner=who.agent,
            customer=customer,
        )
        own = Member.objects.create(
            call=call, address=who.agent.endpoint, role=Role.AGENT, agent=who.agent
        )
        target = Member.objects.create(
            call=call,
            address=address,
            role=Role.AGENT if callee_agent else Role.CUSTOMER,
            agent=callee_agent,
            customer=customer,
        )
        action = new_action(
            call=call,
            member=target,
            actor=who.user,
            kind=Kind.CALL,
            target=address,
            request=request,
        )
        call.pending_action = action
        call.save(update_fields=["pending_action"])
    return call, [own, target], action


def _call_may_connect(error: PhloError) -> str:
    why = (
        "PHLO did not answer in time"
        if error.kind == ErrorKind.TIMEOUT
        else "The connection to PHLO dropped before it answered"
    )
    return (
        f"{why}; the call may still connect \N{EM DASH} watch your phone. If it does not ring,"
        f" the call is cleared by itself within about {stale_call_cleared_within()}."
    )


def _keep_new_call(*, call_id: int, action: Action, error: PhloOutcomeUnknown) -> None:
    """Record the unknown outcome and free the call, left dialling: the agent is shown on
    it, and its callbacks (or housekeeping, when none come) bring it to its true end."""
    with transaction.atomic():
        call = lock_call(call_id=call_id)
        record_failure(action=action, error=error)
        if call.pending_action_id == action.pk:
            call.pending_action = None
        call_changed(call=call, at=timezone.now())


def _fail_new_call(*, call_id: int, members: list[Member]) -> None:
    with transaction.atomic():
        call = lock_call(call_id=call_id)
        at = timezone.now()
        for member in Member.objects.filter(pk__in=[m.pk for m in members]):
            member_set_state(member=member, state=State.FAILED, at=at)
        call_changed(call=call, at=at)


# --- Member buttons ------------------------------------------------------------------------


def member_hold(
    *,
    actor: AbstractBaseUser,
    member_id: int,
    call_id: int | None = None,
    actor_agent: Agent | None = None,
) -> Member:
    """Put one leg on hold (PHLO plays hold music to it; the others keep talking)."""
    return _member_action(
        actor=actor,
        member_id=member_id,
        call_id=call_id,
        actor_agent=actor_agent,
        kind=Kind.HOLD,
        failed_to=lambda m: f"Could not put {rules.member_label(m)} on hold",
        apply=lambda *, call, member, at: member_set_state(
            member=member, state=State.ON_HOLD, at=at
        ),
    )


def member_unhold(
    *,
    actor: AbstractBaseUser,
    member_id: int,
    call_id: int | None = None,
    actor_agent: Agent | None = None,
) -> Member:
    return _member_action(
        actor=actor,
        member_id=member_id,
        call_id=call_id,
        actor_agent=actor_agent,
        kind=Kind.UNHOLD,
        failed_to=lambda m: f"Could not take {rules.member_label(m)} off hold",
        apply=lambda *, call, member, at: member_set_state(
            member=member, state=State.TALKING, at=at
        ),
    )


def member_hangup(
    *,
    actor: AbstractBaseUser,
    member_id: int,
    call_id: int | None = None,
    actor_agent: Agent | None = None,
) -> Member:
    """Drop one leg. The call ends when nobody is left; a transfer target hung up ends the
    transfer with the customer back with the first agent (`calls.state.on_member_gone`)."""
    return _member_action(
        actor=actor,
        member_id=member_id,
        call_id=call_id,
        actor_agent=actor_agent,
        kind=Kind.HANGUP,
        failed_to=lambda m: f"Could not hang up {rules.member_label(m)}",
        apply=_leg_gone,
    )


def member_voicemail_drop(
    *,
    actor: AbstractBaseUser,
    member_id: int,
    call_id: int | None = None,
    actor_agent: Agent | None = None,
) -> Member:
    """Play the configured message to a voicemail machine and drop that leg."""
    return _member_action(
        actor=actor,
        member_id=member_id,
        call_id=call_id,
        actor_agent=actor_agent,
        kind=Kind.VOICEMAIL_DROP,
        failed_to=lambda m: f"Could not drop the voicemail for {rules.member_label(m)}",
        apply=_leg_gone,
    )


def _leg_gone(*, call: Call, member: Member, at: datetime) -> None:
    if member_set_state(member=member, state=State.LEFT, at=at):
        on_member_gone(call=call, member=member, at=at)


def _member_action(
    *,
    actor: AbstractBaseUser,
    member_id: int,
    call_id: int | None,
    actor_agent: Agent | None,
    kind: str,
    failed_to: Callable[[Member], str],
    apply: Callable[..., object],
) -> Member:
    who = actor_for(actor, agent=actor_agent)
    call, members, member = load_member(member_id=member_id, call_id=call_id)
    authorize(actor=who, call=call, members=members)
    refuse_if(rules.member_action_refusal(kind=kind, call=call, member=member))
    client = get_phlo_client()
    with claimed(
        actor=who,
        call_id=call.pk,
        kind=kind,
        target=member.address,
        member=member,
        request=client.prepare_member_action(member_address=member.address, action=kind),
    ) as action:
        # The call is ours now: decide on fresh state, not on what was read before the claim.
        call, members, member = load_member(member_id=member_id, call_id=call.pk)
        refuse_if(rules.member_action_refusal(kind=kind, call=call, member=member))
        request = client.prepare_member_action(member_address=member.address, action=kind)
        result = send(action=action, client=client, request=request, failed_to=failed_to(member))
        with transaction.atomic():
            locked = lock_call(call_id=call.pk)
            fresh = Member.objects.get(pk=member_id)
            at = timezone.now()
            apply(call=locked, member=fresh, at=at)
            succeed(action=action, result=result, call=locked, at=at)
            call_changed(call=locked, at=at)
    return Member.objects.select_related("agent__user", "customer", "call").get(pk=member_id)


# --- Transfers -----------------------------------------------------------------------------


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
    address = normalize(to)
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
            locked.transfer_kind = (
                Call.TransferKind.WARM if kind == Kind.WARM_TRANSFER else Call.TransferKind.COLD
            )
            locked.transfer_from_id = source.agent_id
            locked.transfer_to_address = address
            locked.transfer_to_agent = target_agent
            locked.transfer_started_at = at
            customers_hold(call=locked, at=at)
            target = _ringing_leg(call=locked, address=address, role=Role.AGENT, agent=target_agent)
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


def _ringing_leg(*, call: Call, address: str, role: str, agent: Agent | None) -> Member:
    """The new leg being dialled. If a callback got here first and recorded it, use that."""
    existing = call.members.filter(address=address, state__in=Member.LIVE_STATES).first()
    if existing is not None:
        if agent is not None and existing.agent_id is None:
            existing.agent = agent
            existing.save(update_fields=["agent"])
        return existing
    try:
        with transaction.atomic():
            return Member.objects.create(call=call, address=address, role=role, agent=agent)
    except IntegrityError:
        return call.members.get(address=address, state__in=Member.LIVE_STATES)


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
                if member_set_state(member=gone, state=State.LEFT, at=at):
                    on_member_gone(call=locked, member=gone, at=at)
            customers_unhold(call=locked, at=at)
            transfer_clear(call=locked)
            action.member = initiator
            action.target = initiator.address
            succeed(action=action, result=result, call=locked, at=at)
            call_changed(call=locked, at=at)
    return selectors.call_with_members(call_id=call_id)


# --- Supervisor ----------------------------------------------------------------------------


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
            leg = _ringing_leg(
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
