"""Callbacks arrive late, twice and out of order; the state still converges on the truth."""

import itertools

import pytest

from calls.models import Call, CallbackEvent, Member
from tests.webhooks.helpers import build_call, callbacks, post_callback

pytestmark = pytest.mark.django_db

State = Member.State
OUTBOUND = callbacks("phlo_outbound_call")
MPC = callbacks("mpc_call_lifecycle")
VOICEMAIL = callbacks("mpc_voicemail")


def _post(client, params) -> dict:
    response = post_callback(client, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_exit_before_enter_leaves_the_member_gone(client):
    legs = build_call("phlo_outbound_call")
    _post(client, OUTBOUND["agent_enters"])
    assert _post(client, OUTBOUND["customer_leaves"])["outcome"] == "applied"
    late = _post(client, OUTBOUND["customer_enters"])
    assert late["outcome"] == "applied"
    assert "leg already gone; it had answered" in late["note"]
    legs.refresh()
    assert legs.customer_leg.state == State.LEFT
    # That it had answered is a fact, kept: the call ends as it would have in order.
    assert legs.customer_leg.answered_at is not None
    assert legs.call.outcome == Call.Outcome.CUSTOMER_HUNG_UP


def test_unhold_before_hold_ends_talking(client):
    legs = build_call("mpc_call_lifecycle")
    _post(client, MPC["agent_joins"])
    _post(client, MPC["customer_joins"])
    assert _post(client, MPC["customer_unheld"])["outcome"] == "ignored"  # already talking
    older = _post(client, MPC["customer_held"])
    assert older["outcome"] == "ignored"
    assert "older than the member's newest event" in older["note"]
    legs.refresh()
    assert legs.customer_leg.state == State.TALKING
    assert legs.customer_leg.hold_started_at is None


def test_join_after_a_newer_hold_keeps_the_hold(client):
    legs = build_call("mpc_call_lifecycle")
    _post(client, MPC["customer_held"])
    assert _post(client, MPC["customer_joins"])["outcome"] == "ignored"
    legs.refresh()
    assert legs.customer_leg.state == State.ON_HOLD


def test_conference_end_before_any_join_still_ends_the_call(client):
    legs = build_call("mpc_voicemail")
    assert _post(client, VOICEMAIL["ended"])["outcome"] == "unmatched"
    _post(client, VOICEMAIL["agent_joins"])  # binds the conference: the early end applies
    legs.refresh()
    assert legs.call.status == Call.Status.COMPLETED
    assert (legs.agent_leg.state, legs.customer_leg.state) == (State.LEFT, State.LEFT)
    end = CallbackEvent.objects.get(event="MPCEnd")
    assert (end.outcome, end.call_id) == ("applied", legs.call.pk)
    assert "applied late" in end.note
    # The machine's join, older than the end: the number was answered, by voicemail.
    assert _post(client, VOICEMAIL["machine_joins"])["outcome"] == "applied"
    legs.refresh()
    assert legs.customer_leg.state == State.LEFT
    assert legs.call.outcome == Call.Outcome.VOICEMAIL


CUSTOMER_EVENTS = ["customer_joins", "customer_held", "customer_unheld", "customer_leaves"]


@pytest.mark.parametrize(
    "order", list(itertools.permutations(CUSTOMER_EVENTS)), ids=lambda o: ">".join(o)
)
def test_every_order_of_a_legs_events_ends_left(client, order):
    legs = build_call("mpc_call_lifecycle")
    for name in order:
        _post(client, MPC[name])
    legs.refresh()
    assert legs.customer_leg.state == State.LEFT


@pytest.mark.parametrize(
    "order", list(itertools.permutations(CUSTOMER_EVENTS[:3])), ids=lambda o: ">".join(o)
)
def test_every_order_of_join_hold_unhold_ends_talking(client, order):
    legs = build_call("mpc_call_lifecycle")
    for name in order:
        _post(client, MPC[name])
    legs.refresh()
    assert legs.customer_leg.state == State.TALKING
    assert legs.call.status == Call.Status.ACTIVE


UNREACHABLE = callbacks("phlo_customer_unreachable")


@pytest.mark.parametrize(
    ("name", "state", "outcome"),
    [
        ("customer_busy", State.BUSY, Call.Outcome.BUSY),
        ("customer_no_answer", State.NO_ANSWER, Call.Outcome.NO_ANSWER),
        ("customer_failed", State.FAILED, Call.Outcome.FAILED),
    ],
)
def test_a_late_busy_tells_how_a_leg_we_took_out_ended(client, name, state, outcome):
    """The number was busy, so the provider took the agent out; the agent's exit arrives
    first and we take the still-ringing number out ourselves. The busy that follows is
    the provider's word on how that dial ended: the call was busy, not cancelled."""
    legs = build_call("phlo_customer_unreachable")
    _post(client, UNREACHABLE["agent_enters"])
    _post(client, UNREACHABLE["agent_leaves"])
    legs.refresh()
    assert (legs.customer_leg.state, legs.customer_leg.end_cause) == (State.LEFT, "taken_out")
    assert legs.call.outcome == Call.Outcome.CANCELLED
    late = _post(client, UNREACHABLE[name])
    assert late["outcome"] == "applied" and "already taken out" in late["note"]
    legs.refresh()
    assert legs.customer_leg.state == state
    assert legs.call.outcome == outcome
