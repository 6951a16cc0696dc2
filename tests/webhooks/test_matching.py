"""Which call and member a callback is about, and the ids it binds."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Call, CallbackEvent, Member
from tests.factories import make_agent
from tests.webhooks.helpers import build_call, callbacks, post_callback

pytestmark = pytest.mark.django_db

State = Member.State
OUTBOUND = callbacks("phlo_outbound_call")
MPC = callbacks("mpc_call_lifecycle")


def _outcome(response) -> str:
    assert response.status_code == 200, response.content
    return response.json()["outcome"]


def test_oldest_live_call_with_an_unbound_leg_at_that_address_wins(client):
    agent = make_agent(endpoint="sip:alice@phone.plivo.com")
    now = timezone.now()
    newer = build_call("phlo_outbound_call", agent=agent, created_at=now)
    older = build_call(
        "phlo_outbound_call",
        agent=agent,
        customer=newer.call.customer,
        created_at=now - timedelta(minutes=1),
    )
    post_callback(client, OUTBOUND["agent_enters"])
    older.refresh()
    newer.refresh()
    assert older.agent_leg.state == State.TALKING
    assert newer.agent_leg.state == State.DIALLING


def test_ended_calls_and_bound_legs_are_not_candidates(client):
    agent = make_agent(endpoint="sip:alice@phone.plivo.com")
    now = timezone.now()
    ended = build_call(
        "phlo_outbound_call", agent=agent, status=Call.Status.COMPLETED, created_at=now
    )
    bound = build_call(
        "phlo_outbound_call", agent=agent, customer=ended.call.customer, created_at=now
    )
    Member.objects.filter(pk=bound.agent_leg.pk).update(call_uuid="some-other-leg")
    target = build_call("phlo_outbound_call", agent=agent, customer=ended.call.customer)
    assert _outcome(post_callback(client, OUTBOUND["agent_enters"])) == "applied"
    target.refresh()
    assert target.agent_leg.state == State.TALKING
    assert CallbackEvent.objects.get().call == target.call


def test_a_call_bound_to_another_conference_is_not_a_candidate(client):
    legs = build_call("phlo_outbound_call")
    Call.objects.filter(pk=legs.call.pk).update(conference_uuid="another-conference")
    assert _outcome(post_callback(client, OUTBOUND["agent_enters"])) == "unmatched"


def test_second_leg_matches_through_the_bound_conference(client):
    legs = build_call("phlo_outbound_call")
    post_callback(client, OUTBOUND["agent_enters"])
    # Once bound, the conference uuid finds the call even when our records no longer
    # count it as live.
    Call.objects.filter(pk=legs.call.pk).update(status=Call.Status.COMPLETED)
    assert _outcome(post_callback(client, OUTBOUND["customer_enters"])) == "applied"
    legs.refresh()
    assert legs.customer_leg.call_uuid == OUTBOUND["customer_enters"]["call_uuid"]


def test_bound_leg_is_found_by_its_call_uuid_whatever_the_address(client):
    legs = build_call("phlo_outbound_call")
    post_callback(client, OUTBOUND["customer_enters"])
    # Same leg, but the provider now writes the number differently and names no conference.
    params = {**OUTBOUND["customer_leaves"], "to": "+1 (415) 555-0100", "conference_uuid": ""}
    assert _outcome(post_callback(client, params)) == "applied"
    legs.refresh()
    assert legs.customer_leg.state == State.LEFT


def test_unknown_leg_in_a_live_known_conference_is_adopted(client):
    """A leg PHLO added without our knowing (an action whose answer timed out, or one taken
    outside the app) joins the call instead of being lost."""
    legs = build_call("phlo_outbound_call")
    post_callback(client, OUTBOUND["agent_enters"])
    stranger = {
        **OUTBOUND["customer_enters"],
        "to": "14155558888",
        "call_uuid": "aaaaaaaa-0000-4000-8000-000000000009",
    }
    response = post_callback(client, stranger)
    assert response.json()["outcome"] == "applied"
    adopted = legs.call.members.get(address="14155558888")
    assert adopted.state == State.TALKING
    assert adopted.role == "customer" and adopted.call_uuid == stranger["call_uuid"]
    assert CallbackEvent.objects.get(params__to="14155558888").member == adopted


def test_unknown_leg_that_is_an_agent_is_adopted_as_that_agent(client):
    legs = build_call("phlo_outbound_call")
    post_callback(client, OUTBOUND["agent_enters"])
    bob = make_agent(username="bob", endpoint="sip:bob@phones.test")
    params = {
        **OUTBOUND["customer_enters"],
        "to": "sip:bob@phones.test",
        "call_uuid": "aaaaaaaa-0000-4000-8000-00000000000b",
    }
    assert post_callback(client, params).json()["outcome"] == "applied"
    adopted = legs.call.members.get(address="sip:bob@phones.test")
    assert adopted.role == "agent" and adopted.agent == bob


def test_unknown_leg_of_an_ended_call_is_unmatched_with_the_call_linked(client):
    legs = build_call("phlo_outbound_call")
    post_callback(client, OUTBOUND["agent_enters"])
    legs.call.status = "completed"
    legs.call.save(update_fields=["status"])
    stranger = {
        **OUTBOUND["customer_enters"],
        "to": "14155558888",
        "call_uuid": "aaaaaaaa-0000-4000-8000-000000000009",
    }
    response = post_callback(client, stranger)
    assert response.json()["outcome"] == "unmatched"
    assert "has no member for this leg (14155558888)" in response.json()["note"]
    assert CallbackEvent.objects.get(params__to="14155558888").call == legs.call
    assert not legs.call.members.filter(address="14155558888").exists()


def test_leg_ended_by_our_own_action_still_gets_its_late_exit(client):
    legs = build_call("phlo_outbound_call")
    post_callback(client, OUTBOUND["agent_enters"])
    # Our hangup action already marked the customer's leg as left, before any callback.
    Member.objects.filter(pk=legs.customer_leg.pk).update(
        state=State.LEFT, end_cause=Member.EndCause.HUNG_UP
    )
    response = post_callback(client, OUTBOUND["customer_leaves"])
    assert response.json()["outcome"] == "ignored"
    # Said as what it is (the timeline shows it): the provider confirming our own end.
    note = "confirms the leg's end already recorded (hung up from a desktop or the wallboard)"
    assert note in response.json()["note"]
    legs.refresh()
    assert legs.customer_leg.call_uuid == OUTBOUND["customer_leaves"]["call_uuid"]


def test_mpc_conference_events_link_to_the_call_once_a_leg_names_it(client):
    legs = build_call("mpc_call_lifecycle")
    assert _outcome(post_callback(client, MPC["initialized"])) == "unmatched"
    post_callback(client, MPC["agent_joins"])
    initialized = CallbackEvent.objects.get(event="MPCInitialized")
    assert initialized.call == legs.call
    assert initialized.outcome == "ignored"
    assert "linked once a leg named this call" in initialized.note


def test_mute_binds_ids_without_changing_state(client):
    legs = build_call("mpc_call_lifecycle")
    post_callback(client, MPC["agent_joins"])
    version = Call.objects.get(pk=legs.call.pk).version
    assert _outcome(post_callback(client, MPC["customer_muted"])) == "ignored"
    legs.refresh()
    assert legs.customer_leg.state == State.DIALLING
    assert legs.customer_leg.call_uuid == MPC["customer_muted"]["ParticipantCallUUID"]
    assert legs.call.version == version
