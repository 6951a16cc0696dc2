"""Members, actions and callbacks of calls (tests/factories.py's `make_call`), built with the
ORM for the admin tests."""

import hashlib
import itertools
from datetime import datetime, timedelta

from django.utils import timezone

from calls.models import Action, Call, CallbackEvent, CallTransfer, Member
from tests.factories import make_agent, make_call, make_customer

_seq = itertools.count(1)


def add_member(
    *, call: Call, role: str, address: str, state: str = Member.State.LEFT, **extra
) -> Member:
    return Member.objects.create(call=call, role=role, address=address, state=state, **extra)


def caller_sent_to_voicemail(*, voicemail: str) -> Call:
    """An ended inbound call nobody took: the caller was put through to `voicemail`."""
    call = make_call(direction=Call.Direction.INBOUND, outcome=Call.Outcome.NO_AGENT)
    add_member(call=call, role=Member.Role.CUSTOMER, address="14155550101")
    add_member(call=call, role=Member.Role.NO_AGENT, address=voicemail, answered_at=timezone.now())
    return call


def add_action(
    *,
    call: Call,
    kind: str,
    outcome: str = Action.Outcome.SUCCEEDED,
    actor=None,
    at: datetime | None = None,
    target: str = "",
    http_status: int | None = 201,
    error: str = "",
    error_kind: str = "",
    request: dict | None = None,
) -> Action:
    return Action.objects.create(
        call=call,
        kind=kind,
        outcome=outcome,
        actor=actor,
        created_at=at or timezone.now(),
        finished_at=(at or timezone.now()) + timedelta(milliseconds=120),
        target=target,
        http_status=http_status,
        error=error,
        error_kind=error_kind,
        request=request if request is not None else {"method": "POST", "path": "/v1/x"},
    )


def add_transfer(
    *,
    call: Call,
    kind: str,
    outcome: str = CallTransfer.Outcome.COMPLETED,
    to_address: str = "sip:carol@phones.test",
    at: datetime | None = None,
    **extra,
) -> CallTransfer:
    """A transfer as the call's rules record it (`calls.state`), ended unless in progress."""
    at = at or timezone.now()
    ended_at = None if outcome == CallTransfer.Outcome.IN_PROGRESS else at + timedelta(seconds=9)
    return CallTransfer.objects.create(
        call=call,
        kind=kind,
        outcome=outcome,
        to_address=to_address,
        started_at=at,
        ended_at=ended_at,
        **extra,
    )


def add_callback(
    *,
    call: Call | None,
    event: str = "ConferenceEnter",
    outcome: str = CallbackEvent.Outcome.APPLIED,
    at: datetime | None = None,
    member: Member | None = None,
    params: dict | None = None,
    note: str = "",
    error: str = "",
) -> CallbackEvent:
    params = params if params is not None else {"event": event, "call_uuid": f"u{next(_seq)}"}
    key = hashlib.sha256(f"{next(_seq)}{params}".encode()).hexdigest()
    return CallbackEvent.objects.create(
        call=call,
        member=member,
        event=event,
        vocabulary=CallbackEvent.Vocabulary.PHLO,
        params=params,
        outcome=outcome,
        note=note,
        error=error,
        received_at=at or timezone.now(),
        dedupe_key=key,
    )


def full_call(*, index: int) -> Call:
    """A finished call with an owner, a customer, two legs, a warm transfer and callbacks:
    everything a list row can show."""
    agent = make_agent()
    customer = make_customer(name=f"Customer {index}")
    call = make_call(owner=agent, customer=customer, disposition="Resolved")
    leg = add_member(call=call, role=Member.Role.AGENT, address=agent.endpoint, agent=agent)
    add_member(call=call, role=Member.Role.CUSTOMER, address=customer.phone, customer=customer)
    add_action(call=call, kind=Action.Kind.CALL, actor=agent.user, target=customer.phone)
    add_action(call=call, kind=Action.Kind.WARM_TRANSFER, actor=agent.user, target="sip:x@y.z")
    add_transfer(call=call, kind=Call.TransferKind.WARM, to_address="sip:x@y.z")
    add_transfer(call=call, kind=Call.TransferKind.COLD, outcome=CallTransfer.Outcome.FAILED)
    add_callback(call=call, member=leg)
    return call
