"""Every page times a call's talk from the customer's connection: not from the agent picking
up their own phone before an outbound customer rings, nor from a caller reaching the queue
(`calls.outcomes.talk_started_at`). The admin's rows: tests/admin/test_call_rows.py."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from agents.rendering import render_call_for_agents
from agents.templatetags.desktop import iso
from calls.models import Call, Member, WrapUp
from calls.wallboard.rendering import render_live_call
from tests.factories import make_agent
from tests.wallboard.builders import add_leg, scenario_call

pytestmark = pytest.mark.django_db
Role, State = Member.Role, Member.State


def _outbound(*, customer_state: str, customer_answered_ago: int | None):
    """Alice picked up her phone 50 s ago; then the customer's phone rang."""
    now = timezone.now()
    alice = make_agent(username="alice")
    call = scenario_call(
        owner=alice,
        direction=Call.Direction.OUTBOUND,
        status=Call.Status.ACTIVE,
        created_at=now - timedelta(seconds=55),
        answered_at=now - timedelta(seconds=50),
    )
    add_leg(call, role=Role.AGENT, state=State.TALKING, agent=alice, answered_at=call.answered_at)
    answered = now - timedelta(seconds=customer_answered_ago) if customer_answered_ago else None
    customer = add_leg(
        call, role=Role.CUSTOMER, state=customer_state, address="14155550188", answered_at=answered
    )
    return call, alice, customer


def _durations(html: str) -> list[str]:
    return re.findall(
        r'class="call-duration"[^>]*>(.*?)<span class="timer" data-since="([^"]*)"', html
    )


def test_while_the_customer_rings_no_page_shows_talk_time():
    call, alice, _ = _outbound(customer_state=State.DIALLING, customer_answered_ago=None)
    desktop = render_call_for_agents(call_id=call.pk, agent_ids=[alice.pk])[alice.pk]
    assert _durations(desktop) == []
    wallboard = render_live_call(call_id=call.pk)
    assert [text.strip() for text, _ in _durations(wallboard)] == ["Ringing for"]


def test_talk_time_runs_from_the_customers_answer_on_every_page():
    call, alice, customer = _outbound(customer_state=State.TALKING, customer_answered_ago=30)
    desktop = render_call_for_agents(call_id=call.pk, agent_ids=[alice.pk])[alice.pk]
    wallboard = render_live_call(call_id=call.pk)
    for html in (desktop, wallboard):
        [(text, since)] = _durations(html)
        assert text.strip() == "Duration"
        assert since == iso(customer.answered_at)


def test_a_queued_callers_talk_time_runs_from_the_agents_answer():
    now = timezone.now()
    alice = make_agent(username="alice")
    call = scenario_call(
        owner=alice,
        status=Call.Status.ACTIVE,
        created_at=now - timedelta(seconds=60),
        answered_at=now - timedelta(seconds=20),
    )
    add_leg(call, role=Role.CUSTOMER, state=State.TALKING, address="14155550188",
            answered_at=call.created_at)  # fmt: skip
    add_leg(call, role=Role.AGENT, state=State.TALKING, agent=alice, answered_at=call.answered_at)
    desktop = render_call_for_agents(call_id=call.pk, agent_ids=[alice.pk])[alice.pk]
    wallboard = render_live_call(call_id=call.pk)
    for html in (desktop, wallboard):
        [(_, since)] = _durations(html)
        assert since == iso(call.answered_at)


def test_an_ended_cards_header_says_how_long_the_customer_talked():
    """For the agent's wrap-up: the ringing before the customer answered is not talk."""
    call, alice, customer = _outbound(customer_state=State.LEFT, customer_answered_ago=30)
    Call.objects.filter(pk=call.pk).update(
        status=Call.Status.COMPLETED,
        outcome=Call.Outcome.CUSTOMER_HUNG_UP,
        ended_at=customer.answered_at + timedelta(seconds=75),
    )
    WrapUp.objects.create(call=call, agent=alice, disposition_required=True)
    desktop = render_call_for_agents(call_id=call.pk, agent_ids=[alice.pk])[alice.pk]
    ended = re.search(r'<span class="call-ended-at">(.*?)</span>', desktop, re.S).group(1)
    assert ended.endswith(", talked 1:15")


def test_an_attempt_that_reached_nobody_says_no_talk_time():
    call, alice, _ = _outbound(customer_state=State.BUSY, customer_answered_ago=None)
    Call.objects.filter(pk=call.pk).update(
        status=Call.Status.COMPLETED, outcome=Call.Outcome.BUSY, ended_at=timezone.now()
    )
    WrapUp.objects.create(call=call, agent=alice, disposition_required=False)
    desktop = render_call_for_agents(call_id=call.pk, agent_ids=[alice.pk])[alice.pk]
    assert "call-ended-at" in desktop and "talked" not in desktop
