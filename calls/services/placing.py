"""Placing a call: the agent's own phone and the number they dialled, in one conference.

The call and both legs exist before PHLO is asked, so its first callbacks find them. When
PHLO's answer is unknown (a timeout, or a connection dropped after sending) the new call
stays dialling, so the provider's callbacks find it if PHLO did place it (and
`calls.services.housekeeping` ends it if none ever come).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from calls import selectors
from calls.addresses import display_address
from calls.models import Action, Call, Customer, Member
from calls.phlo_client import ErrorKind, PhloError, PhloRequest, get_phlo_client
from calls.services.addressing import refuse_if_shared
from calls.services.errors import InvalidInput, InvalidState, NotAllowed, PhloOutcomeUnknown
from calls.services.execution import (
    Actor,
    actor_for,
    agent_busy_elsewhere,
    dialable,
    finish,
    guarded,
    new_action,
    record_failure,
    send,
)
from calls.services.housekeeping import stale_call_cleared_within
from calls.state import (
    call_changed,
    lock_call,
    member_set_state,
)

Kind = Action.Kind
State = Member.State
Role = Member.Role


def call_start(
    *,
    actor: AbstractBaseUser,
    to: str,
    customer_id: int | None = None,
    actor_agent: Agent | None = None,
    customer: Customer | None = None,
) -> Call:
    """Ring the actor's own endpoint and `to`, and put them in one conference.

    `to` is what the user typed (or, when blank, the phone of `customer_id`): a number without
    "+" is local to PHONE_DEFAULT_REGION, and nothing implausible is dialled. `customer`,
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
    address = _callee_address(to=to, customer=customer)
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
        # Its legs exist already: nothing to apply beyond the action's success.
        finish(action=action, result=result, call_id=call.pk, apply=_nothing, plan=None)
    return selectors.call_with_members(call_id=call.pk)


def _nothing(**_) -> None:
    return None


def _callee_address(*, to: str, customer: Customer | None) -> str:
    """`to`, else the customer's stored number, read back with its "+" so that the default
    region does not take it for a local number."""
    if (to or "").strip() or customer is None:
        return dialable(to)
    try:
        return dialable(display_address(customer.phone))
    except InvalidInput as exc:
        raise InvalidInput(
            f"{customer.name}'s number on record cannot be dialled: {exc.message}"
        ) from exc


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
        refuse_if_shared(request=request, call_id=None)
        call = Call.objects.create(
            status=Call.Status.DIALLING,
            direction=Call.Direction.OUTBOUND,
            owner=who.agent,
            customer=customer,
        )
        own = Member.objects.create(
            call=call, address=who.agent.endpoint, role=Role.AGENT, agent=who.agent
        )
        # It rings once the agent is on the call (calls.state).
        target = Member.objects.create(
            call=call,
            state=Member.State.PENDING,
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
