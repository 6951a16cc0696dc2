"""Multiparty Call callbacks number their events (SequenceNumber): the app follows that order,
not the order in which the callbacks arrive.

When one leg leaves, the provider takes the other out at once: both exits say "completed"
and share a timestamp, and only the sequence tells which came first, so who ended the call.
"""

import itertools

import pytest

from calls.models import Call, CallbackEvent, Member
from calls.webhooks.notices import parse_sequence
from tests.webhooks.helpers import build_call, callbacks, post_callback

pytestmark = pytest.mark.django_db

State = Member.State
Outcome = Call.Outcome
MPC = callbacks("mpc_call_lifecycle")
AT = "2025-03-04 10:02:00.000000"  # one step of the call: every exit at the same time
EXITS = ("customer_leaves", "agent_leaves", "ended")


def _post(client, params: dict) -> dict:
    response = post_callback(client, params)
    assert response.status_code == 200, response.content
    return response.json()


def _as(name: str, *, sequence: int, at: str = AT, **changes: str) -> dict:
    return {**MPC[name], "SequenceNumber": str(sequence), "EventTimestamp": at, **changes}


def _talking(client):
    legs = build_call("mpc_call_lifecycle")
    for name in ("initialized", "started", "agent_joins", "customer_joins"):
        _post(client, MPC[name])
    return legs


def _exits(*, first: str) -> dict[str, dict]:
    """The three last callbacks of a call whose `first` leg ("customer" or "agent") left
    first; the provider then took the other out and ended the conference."""
    second = "agent" if first == "customer" else "customer"
    return {
        f"{first}_leaves": _as(f"{first}_leaves", sequence=9),
        f"{second}_leaves": _as(f"{second}_leaves", sequence=10),
        "ended": _as("ended", sequence=11),
    }


@pytest.mark.parametrize("order", list(itertools.permutations(EXITS)), ids=">".join)
@pytest.mark.parametrize(
    ("first", "outcome"),
    [("customer", Outcome.CUSTOMER_HUNG_UP), ("agent", Outcome.AGENT_HUNG_UP)],
)
def test_who_left_first_by_the_sequence_decides_the_outcome(client, order, first, outcome):
    legs = _talking(client)
    exits = _exits(first=first)
    for name in order:
        _post(client, exits[name])
    legs.refresh()
    assert legs.call.status == Call.Status.COMPLETED
    assert legs.call.outcome == outcome
    assert (legs.customer_leg.state, legs.agent_leg.state) == (State.LEFT, State.LEFT)
    sequences = {legs.customer_leg.exit_sequence, legs.agent_leg.exit_sequence}
    assert sequences == {9, 10}


def test_the_exit_that_ended_the_call_arriving_last_corrects_the_outcome(client):
    """The customer hung up (9); the agent's exit (10) arrives first, and we take the
    customer out ourselves; then the customer's own exit arrives and says who left first."""
    legs = _talking(client)
    exits = _exits(first="customer")
    _post(client, exits["agent_leaves"])
    legs.refresh()
    assert legs.call.outcome == Outcome.AGENT_HUNG_UP  # all that is known so far
    version = legs.call.version

    late = _post(client, exits["customer_leaves"])
    assert late["outcome"] == "applied", late
    assert "by the provider's order the call ended customer_hung_up" in late["note"]
    legs.refresh()
    assert legs.call.outcome == Outcome.CUSTOMER_HUNG_UP
    assert legs.call.version == version + 1  # the pages hear of it
    assert legs.customer_leg.end_cause == Member.EndCause.TAKEN_OUT  # what we did, kept


def test_a_late_exit_in_order_changes_nothing_and_pushes_nothing(client):
    legs = _talking(client)
    exits = _exits(first="customer")
    _post(client, exits["customer_leaves"])
    legs.refresh()
    version = legs.call.version
    late = _post(client, exits["agent_leaves"])
    assert late["outcome"] == "ignored"
    legs.refresh()
    assert (legs.call.outcome, legs.call.version) == (Outcome.CUSTOMER_HUNG_UP, version)
    assert legs.agent_leg.exit_sequence == 10  # kept all the same


def test_a_duplicate_of_the_late_exit_is_a_no_op(client):
    legs = _talking(client)
    exits = _exits(first="customer")
    _post(client, exits["agent_leaves"])
    _post(client, exits["customer_leaves"])
    legs.refresh()
    version, outcome = legs.call.version, legs.call.outcome

    again = _post(client, exits["customer_leaves"])
    assert again["duplicate"] is True
    legs.refresh()
    assert (legs.call.version, legs.call.outcome) == (version, outcome)
    assert legs.customer_leg.exit_sequence == 9
    stored = CallbackEvent.objects.get(sequence=9)
    assert (stored.deliveries, stored.outcome) == (2, CallbackEvent.Outcome.APPLIED)


def test_the_conference_end_arriving_first_does_not_make_a_hang_up_a_take_out(client):
    """An inbound caller waiting for an agent whose phone rings hangs up: the caller's exit
    (9), the ringing leg cancelled (10), the end (11). The end arrives first and takes the
    caller out; the caller's own exit, arriving last, says they abandoned the call."""
    data = {
        "direction": "inbound",
        "addresses": {"agent": "sip:alice@phone.plivo.com", "customer": "14155550100"},
    }
    legs = build_call(data)
    caller = {"ParticipantCallDirection": "inbound", "ParticipantCallFrom": "14155550100"}
    _post(client, MPC["initialized"])
    _post(client, _as("customer_joins", sequence=4, **caller))
    legs.refresh()
    assert legs.customer_leg.state == State.WAITING
    _post(client, _as("ended", sequence=11))
    _post(client, _as("agent_leaves", sequence=10, ParticipantExitCause="canceled"))
    legs.refresh()
    assert legs.call.outcome == Outcome.NO_AGENT  # all that is known so far
    _post(client, _as("customer_leaves", sequence=9, **caller))
    legs.refresh()
    assert legs.call.outcome == Outcome.ABANDONED
    assert legs.agent_leg.exit_sequence is None  # a cancelled dial never was on the bridge


def test_an_older_event_with_the_same_timestamp_is_dropped_by_its_sequence(client):
    """Hold (5) and unhold (6) in one step share a timestamp; the unhold arrives first."""
    legs = _talking(client)
    assert _post(client, _as("customer_unheld", sequence=6))["outcome"] == "ignored"
    older = _post(client, _as("customer_held", sequence=5))
    assert older["outcome"] == "ignored"
    assert "older than the member's newest event (#6)" in older["note"]
    legs.refresh()
    assert legs.customer_leg.state == State.TALKING
    assert legs.customer_leg.last_sequence == 6


def test_the_sequence_is_stored_with_the_callback(client):
    _talking(client)
    stored = dict(CallbackEvent.objects.values_list("event", "sequence"))
    assert stored == {"MPCInitialized": 1, "MPCStart": 2, "ParticipantJoin": 4}
    assert set(CallbackEvent.objects.values_list("vocabulary", flat=True)) == {"mpc"}


def test_phlo_callbacks_have_no_sequence(client):
    build_call("phlo_outbound_call")
    _post(client, callbacks("phlo_outbound_call")["agent_enters"])
    assert CallbackEvent.objects.get().sequence is None


@pytest.mark.parametrize(
    ("raw", "sequence", "noted"),
    [
        ("", None, False),
        ("17", 17, False),
        ("999999999999999999", 999999999999999999, False),
        ("9999999999999999999", None, True),  # more than the column holds
        ("-3", None, True),
        ("1.5", None, True),
        ("\u0661\u0667", None, True),  # Arabic-Indic digits: digits, but not ASCII ones
    ],
)
def test_parse_sequence(raw, sequence, noted):
    value, note = parse_sequence(raw)
    assert value == sequence
    assert bool(note) == noted


def test_an_unreadable_sequence_orders_nothing_and_the_event_still_counts(client):
    legs = _talking(client)
    held = _post(client, _as("customer_held", sequence=5, SequenceNumber="five"))
    assert held["outcome"] == "applied"
    assert "unreadable SequenceNumber 'five' ignored" in held["note"]
    legs.refresh()
    assert legs.customer_leg.state == State.ON_HOLD
