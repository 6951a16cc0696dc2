"""Whole calls replayed from the fixture files through the real endpoint, form and JSON."""

import pytest

from agents.models import Agent
from calls.models import Call, CallbackEvent, Member
from tests.webhooks.helpers import build_call, callbacks, post_callback

pytestmark = pytest.mark.django_db

State = Member.State
Outcome = CallbackEvent.Outcome
CONFERENCE = "6b1e9c2a-5d4f-4e8a-9c1d-2f3a4b5c6d01"
AGENT_LEG = "8f2d6a10-1c3b-4d5e-8f90-a1b2c3d4e501"
CUSTOMER_LEG = "8f2d6a10-1c3b-4d5e-8f90-a1b2c3d4e502"


@pytest.fixture(params=[False, True], ids=["form", "json"])
def as_json(request):
    return request.param


def _post(client, scenario: str, name: str, *, as_json: bool = False) -> dict:
    response = post_callback(client, callbacks(scenario)[name], as_json=as_json)
    assert response.status_code == 200, response.content
    return response.json()


def test_phlo_outbound_call_from_ring_to_wrap_up(client, as_json):
    legs = build_call("phlo_outbound_call")
    scenario = "phlo_outbound_call"

    assert _post(client, scenario, "agent_enters", as_json=as_json)["outcome"] == "applied"
    legs.refresh()
    assert legs.agent_leg.state == State.TALKING
    assert legs.agent_leg.answered_at is not None
    assert (legs.agent_leg.call_uuid, legs.agent_leg.member_id) == (AGENT_LEG, "1")
    assert legs.call.conference_uuid == CONFERENCE
    assert legs.call.conference_name == "Contact center - call 41"
    assert legs.call.status == Call.Status.ACTIVE
    assert legs.agent_leg.agent.status == Agent.Status.ON_CALL

    _post(client, scenario, "customer_enters", as_json=as_json)
    legs.refresh()
    assert legs.customer_leg.state == State.TALKING
    assert (legs.customer_leg.call_uuid, legs.customer_leg.member_id) == (CUSTOMER_LEG, "2")

    _post(client, scenario, "customer_leaves", as_json=as_json)
    legs.refresh()
    assert legs.customer_leg.state == State.LEFT
    assert legs.customer_leg.left_at is not None
    # No customer left: the call ends and the agent is taken out of it in the same step.
    assert legs.agent_leg.state == State.LEFT
    assert legs.agent_leg.end_cause == Member.EndCause.TAKEN_OUT
    assert legs.call.status == Call.Status.COMPLETED
    assert legs.call.outcome == Call.Outcome.CUSTOMER_HUNG_UP
    assert legs.call.ended_at is not None
    assert legs.agent_leg.agent.status == Agent.Status.WRAP_UP

    # The provider's exit for the agent follows; it has nothing left to do.
    assert _post(client, scenario, "agent_leaves", as_json=as_json)["outcome"] == "ignored"
    legs.refresh()
    assert legs.call.version == 3
    outcomes = list(CallbackEvent.objects.values_list("outcome", flat=True))
    assert outcomes == [Outcome.APPLIED] * 3 + [Outcome.IGNORED]
    assert set(CallbackEvent.objects.values_list("call", flat=True)) == {legs.call.pk}


@pytest.mark.parametrize(
    ("name", "state", "outcome"),
    [
        ("customer_busy", State.BUSY, Call.Outcome.BUSY),
        ("customer_no_answer", State.NO_ANSWER, Call.Outcome.NO_ANSWER),
        ("customer_failed", State.FAILED, Call.Outcome.FAILED),
        ("customer_canceled", State.LEFT, Call.Outcome.CANCELLED),
    ],
)
def test_phlo_customer_unreachable_ends_the_attempt(client, name, state, outcome):
    legs = build_call("phlo_customer_unreachable")
    _post(client, "phlo_customer_unreachable", "agent_enters")
    _post(client, "phlo_customer_unreachable", name)
    legs.refresh()
    assert legs.customer_leg.state == state
    assert legs.customer_leg.answered_at is None
    # Nobody to talk to: the attempt is over, with no second hang-up from the agent.
    assert legs.call.status == Call.Status.COMPLETED
    assert legs.call.outcome == outcome
    assert legs.agent_leg.state == State.LEFT
    assert legs.agent_leg.agent.status == Agent.Status.AVAILABLE  # nothing to wrap up

    assert _post(client, "phlo_customer_unreachable", "agent_leaves")["outcome"] == "ignored"


def test_a_call_whose_agent_never_answers_ends_without_ringing_the_customer(client):
    legs = build_call("phlo_customer_unreachable")
    params = {**callbacks("phlo_customer_unreachable")["agent_leaves"], "call_status": "no-answer"}
    assert post_callback(client, params).status_code == 200
    legs.refresh()
    assert legs.agent_leg.state == State.NO_ANSWER
    assert (legs.customer_leg.state, legs.customer_leg.end_cause) == (
        State.LEFT,
        Member.EndCause.NOT_DIALLED,
    )
    assert legs.call.status == Call.Status.FAILED
    assert legs.call.outcome == Call.Outcome.AGENT_UNREACHABLE


def test_phlo_voicemail_marks_the_machine(client, as_json):
    legs = build_call("phlo_voicemail")
    _post(client, "phlo_voicemail", "agent_enters", as_json=as_json)
    _post(client, "phlo_voicemail", "machine_answers", as_json=as_json)
    legs.refresh()
    assert legs.customer_leg.state == State.VOICEMAIL
    assert legs.customer_leg.is_machine is True
    assert legs.agent_leg.is_machine is False


def test_phlo_inbound_call_and_redirect(client):
    legs = build_call("phlo_inbound_call")
    _post(client, "phlo_inbound_call", "customer_enters")
    _post(client, "phlo_inbound_call", "agent_enters")
    legs.refresh()
    assert legs.customer_leg.state == State.TALKING
    assert legs.agent_leg.state == State.TALKING  # matched despite the upper-case SIP host
    version = legs.call.version

    result = _post(client, "phlo_inbound_call", "redirect")
    assert (result["outcome"], result["note"]) == ("ignored", "no state change")
    legs.refresh()
    assert legs.call.version == version


def test_mpc_call_lifecycle(client, as_json):
    legs = build_call("mpc_call_lifecycle")
    scenario = "mpc_call_lifecycle"
    outcomes = {}
    for name in callbacks(scenario):
        outcomes[name] = _post(client, scenario, name, as_json=as_json)["outcome"]
        legs.refresh()
        if name == "customer_held":
            assert legs.customer_leg.state == State.ON_HOLD
            assert legs.customer_leg.hold_started_at is not None
            assert legs.agent_leg.state == State.TALKING
        if name == "customer_unheld":
            assert legs.customer_leg.state == State.TALKING
            assert legs.customer_leg.hold_started_at is None

    assert outcomes == {
        # Before any leg named the call; linked to it once one did (see below).
        "initialized": "unmatched",
        "started": "unmatched",
        "agent_joins": "applied",
        "customer_joins": "applied",
        "customer_held": "applied",
        "customer_unheld": "applied",
        "customer_muted": "ignored",
        "customer_unmuted": "ignored",
        "customer_leaves": "applied",
        "agent_leaves": "ignored",  # taken out when the customer left
        "ended": "ignored",  # everyone had already left
    }
    assert legs.call.status == Call.Status.COMPLETED
    assert (legs.customer_leg.state, legs.agent_leg.state) == (State.LEFT, State.LEFT)
    early = CallbackEvent.objects.filter(event__in=["MPCInitialized", "MPCStart"])
    assert {(e.outcome, e.call_id) for e in early} == {(Outcome.IGNORED, legs.call.pk)}
    assert CallbackEvent.objects.filter(call=legs.call).count() == 11


def test_mpc_end_ends_every_live_leg(client, as_json):
    legs = build_call("mpc_voicemail")
    _post(client, "mpc_voicemail", "agent_joins", as_json=as_json)
    _post(client, "mpc_voicemail", "machine_joins", as_json=as_json)
    legs.refresh()
    assert legs.customer_leg.state == State.VOICEMAIL
    assert legs.customer_leg.is_machine is True

    assert _post(client, "mpc_voicemail", "ended", as_json=as_json)["outcome"] == "applied"
    legs.refresh()
    assert (legs.agent_leg.state, legs.customer_leg.state) == (State.LEFT, State.LEFT)
    assert legs.call.status == Call.Status.COMPLETED
    assert legs.agent_leg.agent.status == Agent.Status.WRAP_UP


def test_mpc_unknown_event_is_kept(client):
    legs = build_call("mpc_call_lifecycle")
    _post(client, "mpc_call_lifecycle", "customer_joins")
    result = _post(client, "unknown_event", "mpc_speaking")
    assert result["outcome"] == "ignored"
    event = CallbackEvent.objects.get(event="ParticipantSpeakStart")
    assert event.vocabulary == "unknown"
    assert (event.call_id, event.member_id) == (legs.call.pk, legs.customer_leg.pk)
