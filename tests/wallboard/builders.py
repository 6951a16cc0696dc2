"""Calls, legs and actions built with the ORM at fixed times, for hand-computed scenarios."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from django.utils import timezone

from agents.models import Agent
from calls.models import Action, Call, CallTransfer, Customer, Member
from tests.factories import make_agent, make_call, make_customer

LIVE = ("dialling", "talking", "on_hold", "voicemail")


# The hand-computed scenarios' calls: inbound unless they say otherwise, with only the times
# they name (tests/factories.py's `make_call` would fill in the rest).
scenario_call = partial(make_call, direction="inbound", answered_at=None, ended_at=None)


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
    call = scenario_call(
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


STATUSES = ("available", "away", "wrap_up", "offline")


def floor(n: int) -> dict:
    """`n` agents on live calls (some held, some mid-transfer, some with an action in
    flight), `n` more in other statuses, and `n` calls handled earlier today."""
    now = timezone.now()
    earlier = now - timedelta(minutes=30)
    for i in range(n):
        agent = make_agent(status="on_call")
        spare = make_agent(status=STATUSES[i % len(STATUSES)])
        if spare.status == "wrap_up":
            Agent.objects.filter(pk=spare.pk).update(wrap_up_until=now + timedelta(seconds=30))
        customer = make_customer(name=f"Customer {i}", phone=f"+1415666{i:04d}")
        call = scenario_call(
            created_at=earlier, status="active", owner=agent, customer=customer, answered_at=earlier
        )
        add_leg(call, role="agent", agent=agent, state="talking", answered_at=earlier)
        held = i % 2 == 0
        add_leg(
            call,
            role="customer",
            customer=customer,
            state="on_hold" if held else "talking",
            answered_at=earlier,
            hold_started_at=now - timedelta(seconds=i) if held else None,
        )
        if i % 3 == 0:
            Call.objects.filter(pk=call.pk).update(
                transfer_kind="warm",
                transfer_from=agent,
                transfer_to_address=spare.endpoint,
                transfer_to_agent=spare,
                transfer_started_at=now,
            )
            add_leg(call, role="agent", agent=spare, state="dialling")
        if i % 4 == 1:
            action = add_action(call, kind="hold", at=now, outcome="pending")
            Action.objects.filter(pk=action.pk).update(actor=agent.user)
            Call.objects.filter(pk=call.pk).update(pending_action=action)
        handled_call(
            agent=agent,
            customer=customer,
            start=earlier - timedelta(minutes=20),
            agent_answer=earlier - timedelta(minutes=19),
            customer_answer=earlier - timedelta(minutes=19),
            end=earlier - timedelta(minutes=10),
        )
    call = Call.objects.filter(status="active").order_by("pk").first()
    return {"call_id": call.pk, "agent_id": call.owner_id}
