"""Inbound calls: the simulator asks a routing endpoint (a tiny real server here) which
agent takes the call, then connects the caller or plays the no-agent message."""

import json
import socket

import pytest
import requests

from tests.simulator.helpers import AGENT, CALLER, NUMBER, TOKEN, conference, events


@pytest.fixture
def sim(make_phlo_sim, callback_sink, routing):
    return make_phlo_sim(
        callback_url=callback_sink.url, routing_url=routing.url, routing_token=TOKEN
    )


def test_routed_call_connects_the_caller_and_dials_the_agent(sim, routing, callback_sink):
    call_uuid = sim.inbound_call(from_="+14155550101", to="+14155550000")
    assert routing.received == []  # never inline
    sim.run_pending()
    (request,) = routing.received
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["json"] == {
        "call_uuid": call_uuid,
        "from": CALLER,
        "to": NUMBER,
        "direction": "inbound",
    }
    conf = conference(sim)
    customer, agent = conf["members"]
    assert conf["origin"] == "inbound"
    assert (customer["call_uuid"], customer["direction"], customer["role"]) == (
        call_uuid,
        "inbound",
        "customer",
    )
    assert (customer["state"], agent["state"], agent["role"]) == ("talking", "ringing", "agent")
    sim.advance(2)
    assert conference(sim)["members"][1]["state"] == "talking"
    enter_customer, enter_agent = callback_sink.params
    assert enter_customer | {"conference_uuid": "", "member_id": ""} == {
        "event": "ConferenceEnter",
        "from": CALLER,
        "to": NUMBER,
        "direction": "inbound",
        "caller_name": CALLER,
        "call_status": "in-progress",
        "conference_name": conf["name"],
        "conference_uuid": "",
        "call_uuid": call_uuid,
        "member_id": "",
        "bill_rate": "0.00850",
        "to_iso2": "US",
        "from_iso2": "US",
        "to_country": "United States",
        "from_country": "United States",
        "machine": "false",
    }
    assert (enter_agent["to"], enter_agent["direction"]) == (AGENT, "outbound")
    assert enter_agent["conference_uuid"] == enter_customer["conference_uuid"] == conf["uuid"]
    record = sim.routing_requests[0]
    assert (record.status, record.agent_endpoint, record.reason) == (200, AGENT, "")
    assert TOKEN not in json.dumps(record.as_dict())


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (200, '{"result": "no_agent"}', "no agent available"),
        (500, '{"result": "agent", "agent_endpoint": "sip:a@b.c"}', "HTTP 500"),
        (200, "<html>oops</html>", "not JSON"),
        (200, "[]", "not a JSON object"),
        (200, '{"result": "agent", "agent_endpoint": "nope"}', "invalid agent_endpoint"),
        (200, '{"result": "maybe"}', "unknown result"),
    ],
)
def test_unrouted_caller_hears_a_message_and_is_hung_up(
    sim, routing, callback_sink, status, body, reason
):
    routing.status, routing.body = status, body
    call_uuid = sim.inbound_call(from_=CALLER, to=NUMBER)
    sim.run_pending()
    (inbound,) = sim.snapshot()["inbound"]
    assert (inbound["call_uuid"], inbound["state"]) == (call_uuid, "message")
    assert reason in inbound["reason"]
    sim.advance(3)
    assert sim.snapshot()["inbound"][0]["state"] == "ended"
    assert sim.snapshot()["conferences"] == []
    assert callback_sink.requests == []


def test_unreachable_routing_endpoint_is_a_failure(make_phlo_sim, callback_sink):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sim = make_phlo_sim(callback_url=callback_sink.url, routing_url=f"http://127.0.0.1:{port}/r/")
    sim.inbound_call(from_=CALLER, to=NUMBER)
    sim.run_pending()
    assert "routing request failed" in sim.snapshot()["inbound"][0]["reason"]


def test_caller_hanging_up_while_routed_gets_no_conference(sim, routing):
    sim.inbound_call(from_=CALLER, to=NUMBER)
    sim.phones.hangup(CALLER)
    sim.run_pending()
    assert len(routing.received) == 1
    assert sim.snapshot()["inbound"][0]["state"] == "ended"
    assert sim.snapshot()["conferences"] == []


def test_caller_hanging_up_while_the_agent_rings_ends_the_call(sim, callback_sink):
    sim.inbound_call(from_=CALLER, to=NUMBER)
    sim.run_pending()
    sim.phones.hangup(CALLER)
    sim.advance(5)
    conf = conference(sim)
    assert conf["status"] == "completed"
    assert [m["exit_cause"] for m in conf["members"]] == ["completed", "canceled"]
    assert events(callback_sink.params)[1:] == [
        ("ConferenceExit", NUMBER, "completed"),
        ("ConferenceExit", AGENT, "canceled"),
    ]


def test_inbound_over_the_control_api(sim, routing):
    response = requests.post(
        sim.base_url + "/_sim/inbound", json={"from": "+14155550101", "to": NUMBER}, timeout=5
    )
    assert response.status_code == 201
    call_uuid = response.json()["call_uuid"]
    sim.run_pending()
    assert routing.received[0]["json"]["call_uuid"] == call_uuid
    routed = requests.get(sim.base_url + "/_sim/deliveries", timeout=5).json()["routing"]
    assert routed[0]["agent_endpoint"] == AGENT
