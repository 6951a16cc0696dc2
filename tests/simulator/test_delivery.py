"""Callback delivery: signatures, retries with backoff, chaos, and the MPC vocabulary."""

import re
import socket
from datetime import datetime

from calls.signature import NONCE_HEADER, SIGNATURE_HEADER, compute_signature, is_valid_signature
from calls.simulator import ManualClock, SimulatorConfig
from calls.simulator.delivery import CallbackDelivery
from calls.simulator.scheduler import Scheduler
from tests.simulator.helpers import AGENT, AGENT2, CUSTOMER, events, phlo_for

REFERENCE_URL = "https://cc.example.com/plivo/callback/"
REFERENCE_PARAMS = {
    "event": "ConferenceEnter",
    "member_id": "17",
    "call_uuid": "a1b2",
    "conference_name": "Sales 1",
}


def _delivery(callback_url: str, **cfg) -> tuple[CallbackDelivery, Scheduler]:
    clock = ManualClock()
    config = SimulatorConfig(
        auth_id="MATESTTESTTESTTEST00",
        auth_token="my_auth_token",
        phlo_id="p",
        node_id="n",
        callback_url=callback_url,
        **cfg,
    )
    scheduler = Scheduler(clock=clock)
    delivery = CallbackDelivery(
        config=config, clock=clock, scheduler=scheduler, nonce_factory=lambda: "12345"
    )
    return delivery, scheduler


def test_reference_vectors_through_the_delivery_code_path(callback_sink):
    delivery, scheduler = _delivery(callback_sink.url)
    for params, expected in [
        ({}, "AlzNphb4Ok/furg4gY4Sf2U9qS71QrQR01bOPKwcpps="),
        (REFERENCE_PARAMS, "6zeEegWyaG0lR1R09KM+yGUEot6Qd2RwxoiSa93Havc="),
    ]:
        headers = delivery.prepare(url=REFERENCE_URL, params=params, nonce="12345")
        assert headers[SIGNATURE_HEADER] == expected
        assert headers[NONCE_HEADER] == "12345"
    # And a real attempt signs exactly what it sends, to the URL it calls.
    delivery.enqueue(REFERENCE_PARAMS)
    scheduler.run_until(0)
    (request,) = callback_sink.requests
    assert request.params == REFERENCE_PARAMS
    assert request.headers[SIGNATURE_HEADER] == compute_signature(
        url=callback_sink.url, params=REFERENCE_PARAMS, nonce="12345", auth_token="my_auth_token"
    )
    delivery.close()


def test_failed_delivery_is_retried_freshly_signed(phlo, phlo_sim, callback_sink, settings):
    callback_sink.respond_with(500)
    phlo.call()
    phlo_sim.advance(4)  # the agent, then the customer
    first = phlo_sim.deliveries
    # The agent's enter at 2 s fails and is retried at 3 s; the customer's enter at 4 s.
    assert [(d.callback_id, d.attempt, d.status) for d in first] == [
        (1, 1, 500),
        (1, 2, 200),
        (2, 1, 200),
    ]
    assert first[0].error == "HTTP 500"
    retry = first[1]
    assert (retry.callback_id, retry.attempt, retry.status, retry.at) == (1, 2, 200, 3.0)
    assert retry.params == first[0].params
    assert retry.headers[NONCE_HEADER] != first[0].headers[NONCE_HEADER]
    for request in callback_sink.requests:
        assert is_valid_signature(
            url=callback_sink.url,
            params=request.params,
            nonce=request.headers[NONCE_HEADER],
            header=request.headers[SIGNATURE_HEADER],
            auth_tokens=[settings.PLIVO_AUTH_TOKEN],
        )


def test_backoff_is_1_2_4_8_16_then_it_gives_up(callback_sink):
    delivery, scheduler = _delivery(callback_sink.url)
    callback_sink.respond_with(*[503] * 10)
    delivery.enqueue({"event": "ConferenceExit"})
    scheduler.run_until(100)
    attempts = delivery.attempts
    assert [a.at for a in attempts] == [0, 1, 3, 7, 15, 31]
    assert [a.attempt for a in attempts] == [1, 2, 3, 4, 5, 6]
    assert not any(a.ok for a in attempts)
    delivery.close()


def test_max_retries_is_configurable(callback_sink):
    delivery, scheduler = _delivery(callback_sink.url, max_retries=1)
    callback_sink.respond_with(*[500] * 10)
    delivery.enqueue({"event": "ConferenceExit"})
    scheduler.run_until(100)
    assert len(delivery.attempts) == 2
    delivery.close()


def test_4xx_is_retried_only_when_configured(callback_sink):
    delivery, scheduler = _delivery(callback_sink.url)
    callback_sink.respond_with(403)
    delivery.enqueue({"event": "ConferenceExit"})
    scheduler.run_until(100)
    assert [a.status for a in delivery.attempts] == [403]
    delivery.close()
    delivery, scheduler = _delivery(callback_sink.url, retry_on_4xx=True)
    callback_sink.respond_with(404, 400)
    delivery.enqueue({"event": "ConferenceExit"})
    scheduler.run_until(100)
    assert [a.status for a in delivery.attempts] == [404, 400, 200]
    delivery.close()


def test_redirects_are_not_followed_or_retried(callback_sink):
    delivery, scheduler = _delivery(callback_sink.url)
    callback_sink.respond_with(302)
    delivery.enqueue({"event": "ConferenceExit"})
    scheduler.run_until(100)
    assert [a.status for a in delivery.attempts] == [302]
    delivery.close()


def test_connection_refused_is_retried():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    delivery, scheduler = _delivery(f"http://127.0.0.1:{port}/webhooks/plivo/", max_retries=2)
    delivery.enqueue({"event": "ConferenceExit"})
    scheduler.run_until(100)
    attempts = delivery.attempts
    assert [(a.status, a.at) for a in attempts] == [(None, 0), (None, 1), (None, 3)]
    assert attempts[0].error.startswith("connection error")
    delivery.close()


def test_timeout_is_retried(callback_sink):
    delivery, scheduler = _delivery(callback_sink.url, callback_timeout=0.1)
    callback_sink.block()
    delivery.enqueue({"event": "ConferenceExit"})
    scheduler.run_until(0)
    callback_sink.release()
    scheduler.run_until(1)
    attempts = delivery.attempts
    assert attempts[0].status is None
    assert "timed out" in attempts[0].error
    assert (attempts[1].status, attempts[1].at) == (200, 1)
    delivery.close()


def test_chaos_delivers_duplicates(make_phlo_sim, callback_sink, settings):
    sim = make_phlo_sim(callback_url=callback_sink.url, chaos={"seed": 3, "duplicate": 1.0})
    phlo_for(sim, settings).call()
    sim.advance(4)  # the agent, then the customer
    requests_ = callback_sink.requests
    assert len(requests_) == 4
    assert [r.params for r in requests_[:2]] == [requests_[0].params] * 2
    assert requests_[0].headers[NONCE_HEADER] != requests_[1].headers[NONCE_HEADER]
    assert [d.duplicate for d in sim.deliveries] == [False, True, False, True]


def _reordered_run(make_phlo_sim, callback_sink, settings, seed: int):
    callback_sink.clear()
    sim = make_phlo_sim(
        callback_url=callback_sink.url,
        chaos={"seed": seed, "reorder_window": 4, "hold_seconds": 10},
    )
    phlo = phlo_for(sim, settings)
    phlo.call()
    sim.advance(4)  # the agent, then the customer
    phlo.call(source=AGENT, to=AGENT2, role="agent")
    sim.advance(4)  # the agent, then the customer
    held = len(callback_sink.requests)  # 3 produced, window not full yet
    phlo.act(AGENT2, "hangup")
    sim.run_pending()
    sim.stop()
    return sim.callbacks, [r.params for r in callback_sink.requests], held


def test_chaos_reorders_within_a_window_reproducibly(make_phlo_sim, callback_sink, settings):
    produced, delivered, held = _reordered_run(make_phlo_sim, callback_sink, settings, seed=7)
    assert held == 0
    assert len(delivered) == len(produced) == 4
    assert sorted(map(str, delivered)) == sorted(map(str, produced))
    assert events(delivered) != events(produced)
    _, again, _ = _reordered_run(make_phlo_sim, callback_sink, settings, seed=7)
    assert events(again) == events(delivered)


def test_chaos_window_that_never_fills_is_sent_after_hold_seconds(
    make_phlo_sim, callback_sink, settings
):
    sim = make_phlo_sim(
        callback_url=callback_sink.url,
        chaos={"seed": 1, "reorder_window": 10, "hold_seconds": 1.5},
    )
    phlo_for(sim, settings).call()
    sim.advance(3.4)  # the agent enters at 2 s; the window is held from then
    assert callback_sink.requests == []
    sim.advance(0.1)
    assert len(callback_sink.requests) == 1


def test_mpc_vocabulary(make_phlo_sim, callback_sink, settings):
    sim = make_phlo_sim(callback_url=callback_sink.url, vocabulary="mpc")
    phlo = phlo_for(sim, settings)
    phlo.call()
    sim.advance(4)  # the agent, then the customer
    phlo.act(CUSTOMER, "hold")
    phlo.act(CUSTOMER, "unhold")
    phlo.act(CUSTOMER, "hangup")  # the customer leaving ends the call: the agent is taken out
    sim.run_pending()
    params = callback_sink.params
    assert [p["EventName"] for p in params] == [
        "MPCInitialized",
        "MPCStart",
        "ParticipantJoin",
        "ParticipantJoin",
        "ParticipantHold",
        "ParticipantUnhold",
        "ParticipantExit",
        "ParticipantExit",
        "MPCEnd",
    ]
    assert [int(p["SequenceNumber"]) for p in params] == list(range(1, 10))
    conf = sim.snapshot()["conferences"][0]
    customer = conf["members"][1]
    join = params[3]
    assert join == {
        "EventName": "ParticipantJoin",
        "EventTimestamp": join["EventTimestamp"],
        "SequenceNumber": "4",
        "MPCUUID": conf["uuid"],
        "MPCName": conf["name"],
        "MemberID": customer["member_id"],
        "ParticipantRole": "Customer",
        "ParticipantCallUUID": customer["call_uuid"],
        "ParticipantCallFrom": "14155550000",
        "ParticipantCallTo": CUSTOMER,
        "ParticipantCallDirection": "outbound",
        "ParticipantIsMachine": "false",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", join["EventTimestamp"])
    stamps = [datetime.strptime(p["EventTimestamp"], "%Y-%m-%d %H:%M:%S.%f") for p in params]
    assert (stamps[2] - stamps[0]).total_seconds() == 2.0
    assert (stamps[3] - stamps[2]).total_seconds() == 2.0  # the customer rings after the agent
    assert params[6]["ParticipantExitCause"] == "completed"
    assert params[2]["ParticipantRole"] == "Agent"
    assert set(params[0]) == {"EventName", "EventTimestamp", "SequenceNumber", "MPCUUID", "MPCName"}


def test_mpc_exit_cause_for_a_dial_that_never_answered(make_phlo_sim, callback_sink, settings):
    sim = make_phlo_sim(callback_url=callback_sink.url, vocabulary="mpc")
    phlo_for(sim, settings).call(to="15005550001")
    sim.advance(4)  # the agent, then the customer
    exits = [p for p in callback_sink.params if p["EventName"] == "ParticipantExit"]
    # The busy customer, then the agent taken out of the call that has nobody to talk to.
    assert [e["ParticipantExitCause"] for e in exits] == ["busy", "completed"]
    assert "ParticipantIsMachine" not in exits[0]
