"""The simulator's inbound call, end to end: its PHLO "HTTP Request" node asks our routing
endpoint over HTTP, dials the agent it names, and its callbacks drive the call."""

import pytest

from agents.models import Agent
from agents.rendering import render_full_state
from calls.models import Call
from tests.factories import make_agent, make_customer

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_inbound_call_rings_the_longest_waiting_agent(app_sim):
    bob = make_agent(username="bob", endpoint="sip:bob@phones.test")
    alice = make_agent(username="alice", endpoint="sip:alice@phones.test")
    Agent.objects.filter(pk=bob.pk).update(status_changed_at=alice.status_changed_at)
    Agent.objects.filter(pk=alice.pk).update(
        status_changed_at=alice.status_changed_at.replace(year=2000)
    )
    dana = make_customer(name="Dana Diaz", phone="+14155550101")
    app_sim.phones.set_mode(alice.endpoint, "manual")

    call_uuid = app_sim.inbound_call(from_="+14155550101", to="+14155550000")
    app_sim.advance(0.1)
    [request] = app_sim.routing_requests
    assert request.status == 200 and request.agent_endpoint == alice.endpoint

    call = Call.objects.get()
    alice.refresh_from_db()
    assert (call.direction, call.owner, call.customer) == ("inbound", alice, dana)
    assert call.members.get(role="customer").call_uuid == call_uuid
    assert alice.status == Agent.Status.ON_CALL
    ringing = render_full_state(agent=alice)
    assert 'data-ringing="true"' in ringing and "Incoming call from Dana Diaz" in ringing
    assert "Reject" in ringing

    app_sim.phones.answer(alice.endpoint)
    app_sim.advance(0.1)
    call.refresh_from_db()
    assert call.status == Call.Status.ACTIVE
    assert {m.role: m.state for m in call.members.all()} == {
        "customer": "talking",
        "agent": "talking",
    }
    talking = render_full_state(agent=alice)
    assert 'data-ringing="true"' not in talking and "Hold" in talking

    # Bob has nothing on his desktop.
    assert f'id="call-{call.pk}"' not in render_full_state(agent=bob)


def test_nobody_available_plays_the_message(app_sim):
    make_agent(username="alice", status="away")
    app_sim.inbound_call(from_="+14155550101", to="+14155550000")
    app_sim.advance(0.1)
    [request] = app_sim.routing_requests
    assert request.status == 200 and request.reason == "no agent available"
    assert app_sim.snapshot()["inbound"][0]["state"] == "message"
    assert Call.objects.get().outcome == Call.Outcome.NO_AGENT
