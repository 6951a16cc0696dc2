"""Calls, legs and actions built with the ORM at fixed times, for hand-computed scenarios."""

from __future__ import annotations

from datetime import datetime

from agents.models import Agent
from calls.models import Action, Call, CallTransfer, Customer, Member

LIVE = ("dialling", "talking", "on_hold", "voicemail")


def make_call(
    *,
    created_at: datetime,
    status: str = "completed",
    owner: Agent | None = None,
    customer: Customer | None = None,
    direction: str = "inbound",
    answered_at: datetime | None = None,
    ended_at: datetime | None = None,
) -> Call:
    return Call.objects.create(
        created_at=created_at,
        status=status,
        owner=owner,
        customer=customer,
        direction=direction,
        answered_at=answered_at,
        ended_at=ended_at,
    )


def add_leg(
    call: Call,
    *,
    role: str,
    state: str,
    agent: Agent | None = None,
    customer: Customer | None = None,
    address: str = "",
    answered_at: datetime | None = None,
    left_at: datetime | None = None,
    hold_started_at: datetime | None = None,
    is_machine: bool = False,
) -> Member:
    address = address or (agent.endpoint if agent else customer.phone if customer else "")
    changed = hold_started_at or left_at or answered_at or call.created_at
    return Member.objects.create(
        call=call,
        role=role,
        state=state,
        agent=agent,
        customer=customer,
        address=address,
        answered_at=answered_at,
        left_at=left_at,
        hold_started_at=hold_started_at,
        is_machine=is_machine,
        created_at=call.created_at,
        state_changed_at=changed,
    )


def add_transfer(call: Call, *, kind: str, at: datetime, outcome: str = "completed"):
    """A transfer on `call` that ended at `at` as `outcome` (see `CallTransfer`)."""
    return CallTransfer.objects.create(
        call=call, kind=kind, to_address="sip:target@phones.test", started_at=at,
        ended_at=at, outcome=outcome,
    )  # fmt: skip


def add_action(
    call: Call,
    *,
    kind: str,
    at: datetime,
    outcome: str = "succeeded",
    member: Member | None = None,
) -> Action:
    return Action.objects.create(
        call=call, member=member, kind=kind, outcome=outcome, created_at=at, finished_at=at
    )


def handled_call(
    *,
    agent: Agent,
    customer: Customer,
    start: datetime,
    agent_answer: datetime,
    customer_answer: datetime,
    end: datetime,
) -> Call:
    """A finished inbound call in which the customer talked with `agent`."""
    call = make_call(
        created_at=start,
        owner=agent,
        customer=customer,
        answered_at=min(agent_answer, customer_answer),
        ended_at=end,
    )
    add_leg(
        call,
        role="customer",
        customer=customer,
        state="left",
        answered_at=customer_answer,
        left_at=end,
    )
    add_leg(call, role="agent", agent=agent, state="left", answered_at=agent_answer, left_at=end)
    return call
