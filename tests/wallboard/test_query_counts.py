"""The wallboard costs the same number of queries with 3 or 40 calls and agents."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import Agent
from calls.models import Action, Call, Customer
from calls.wallboard.figures import wallboard_figures
from calls.wallboard.rendering import (
    page_context,
    render_full_state,
    render_wallboard_update,
)
from calls.wallboard.selectors import wallboard_board
from tests.factories import make_agent, make_customer
from tests.wallboard.builders import add_action, add_leg, handled_call, make_call

pytestmark = pytest.mark.django_db

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
        call = make_call(
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


def count(work) -> int:
    with CaptureQueriesContext(connection) as captured:
        work()
    return len(captured)


@pytest.fixture
def costs():
    """Query counts of each read at a given floor size."""

    def measure(n: int) -> dict[str, int]:
        info = floor(n)
        board = wallboard_board()
        assert len(board.calls) == n and board.agent_count == 2 * n
        return {
            "figures": count(wallboard_figures),
            "board": count(wallboard_board),
            "page": count(page_context),
            "full_state": count(render_full_state),
            "call_update": count(lambda: render_wallboard_update(call_id=info["call_id"])),
            "agent_update": count(lambda: render_wallboard_update(agent_id=info["agent_id"])),
        }

    return measure


def test_the_same_number_of_queries_at_3_and_40(costs):
    small = costs(3)
    Call.objects.all().delete()
    Agent.objects.all().delete()
    Customer.objects.all().delete()
    large = costs(40)
    assert small == large
    # And those numbers are small: the figures aggregate in SQL.
    # The figures (4) and the agents in each status (1).
    assert small["figures"] == 5
    # Agents (1), the calls shown (2), the shown agents' calls (2), the figures (5), the next
    # wrap-up's end (1).
    assert small["board"] == 11
    assert small["full_state"] == 11
    # One change reads only what it touched: the call (2), its agents (1) and their live
    # calls (2); an agent (1), their live calls (2) and the next wrap-up's end (1).
    assert small["call_update"] == 5
    assert small["agent_update"] == 4
