"""The `call` trigger, hangups, special numbers and conference completion, over real HTTP."""

import pytest

from calls.signature import NONCE_HEADER, SIGNATURE_HEADER, is_valid_signature
from tests.simulator.helpers import (
    AGENT,
    CUSTOMER,
    SUPERVISOR,
    conference,
    events,
    phlo_for,
    states,
)


def test_call_rings_the_agent_first_and_the_customer_once_the_agent_is_there(
    phlo, phlo_sim, callback_sink
):
    phlo.call()
    assert states(phlo_sim) == {AGENT: "ringing"}
    assert conference(phlo_sim)["queued"] == [{"address": CUSTOMER, "role": "customer"}]
    phlo_sim.advance(1.9)
    assert callback_sink.requests == []
    phlo_sim.advance(0.1)
    assert states(phlo_sim) == {AGENT: "talking", CUSTOMER: "ringing"}
    assert conference(phlo_sim)["started"] is True
    phlo_sim.advance(2)
    assert states(phlo_sim) == {AGENT: "talking", CUSTOMER: "talking"}
    assert events(callback_sink.params) == [
        ("ConferenceEnter", AGENT, "in-progress"),
        ("ConferenceEnter", CUSTOMER, "in-progress"),
    ]


def test_enter_callback_carries_every_phlo_variable(phlo, phlo_sim, callback_sink):
    phlo.call()
    phlo_sim.advance(4)  # the agent, then the customer
    conf = conference(phlo_sim)
    agent, customer = conf["members"]
    assert callback_sink.params[1] == {
        "event": "ConferenceEnter",
        "from": "14155550000",
        "to": CUSTOMER,
        "direction": "outbound",
        "caller_name": "14155550000",
        "call_status": "in-progress",
        "conference_name": "Multiparty Call-1",
        "conference_uuid": conf["uuid"],
        "call_uuid": customer["call_uuid"],
        "member_id": customer["member_id"],
        "bill_rate": "0.00850",
        "to_iso2": "US",
        "from_iso2": "US",
        "to_country": "United States",
        "from_country": "United States",
        "machine": "false",
    }
    sip = callback_sink.params[0]
    assert (sip["to"], sip["to_iso2"], sip["to_country"]) == (AGENT, "", "")
    assert sip["call_uuid"] == agent["call_uuid"]
    assert agent["member_id"] != customer["member_id"]
    assert agent["call_uuid"] != customer["call_uuid"]


def test_every_callback_is_form_encoded_and_signed_with_a_fresh_nonce(
    phlo, phlo_sim, callback_sink, settings
):
    phlo.call()
    phlo_sim.advance(4)  # the agent, then the customer
    phlo.act(CUSTOMER, "hangup")
    phlo_sim.run_pending()
    requests_ = callback_sink.requests
    # Two enters, the customer's exit, and the agent taken out with the call.
    assert len(requests_) == 4
    for request in requests_:
        assert request.method == "POST"
        assert request.path == "/webhooks/plivo/"
        assert request.content_type == "application/x-www-form-urlencoded"
        assert is_valid_signature(
            url=callback_sink.url,
            params=request.params,
            nonce=request.headers[NONCE_HEADER],
            header=request.headers[SIGNATURE_HEADER],
            auth_tokens=[settings.PLIVO_AUTH_TOKEN],
        )
        assert not is_valid_signature(
            url=callback_sink.url,
            params={**request.params, "call_status": "forged"},
            nonce=request.headers[NONCE_HEADER],
            header=request.headers[SIGNATURE_HEADER],
            auth_tokens=[settings.PLIVO_AUTH_TOKEN],
        )
    assert len({r.headers[NONCE_HEADER] for r in requests_}) == 4


def test_the_customer_hanging_up_ends_the_call_for_everyone(phlo, phlo_sim, callback_sink):
    phlo.call()
    phlo_sim.advance(4)  # the agent, then the customer
    phlo.call(source=AGENT, to=SUPERVISOR, role="agent")
    phlo_sim.advance(2)
    phlo.act(CUSTOMER, "hangup")
    phlo_sim.run_pending()
    conf = conference(phlo_sim)
    assert conf["status"] == "completed"
    assert states(phlo_sim) == {AGENT: "gone", CUSTOMER: "gone", SUPERVISOR: "gone"}
    assert events(callback_sink.params[3:]) == [
        ("ConferenceExit", CUSTOMER, "completed"),
        ("ConferenceExit", AGENT, "completed"),
        ("ConferenceExit", SUPERVISOR, "completed"),
    ]


def test_the_agent_hanging_up_leaves_the_customer_alone_so_the_call_ends(
    phlo, phlo_sim, callback_sink
):
    phlo.call()
    phlo_sim.advance(4)
    phlo.act(AGENT, "hangup")
    phlo_sim.run_pending()
    conf = conference(phlo_sim)
    assert conf["status"] == "completed"
    assert [m["exit_cause"] for m in conf["members"]] == ["completed", "completed"]
    assert events(callback_sink.params[2:]) == [
        ("ConferenceExit", AGENT, "completed"),
        ("ConferenceExit", CUSTOMER, "completed"),
    ]


def test_stay_alone_keeps_the_last_participant_on_the_bridge(
    make_phlo_sim, callback_sink, settings
):
    sim = make_phlo_sim(
        callback_url=callback_sink.url, agent={"start_on_enter": True, "stay_alone": True}
    )
    phlo = phlo_for(sim, settings)
    phlo.call(source=AGENT, to=SUPERVISOR, role="agent")
    sim.advance(4)
    phlo.act(SUPERVISOR, "hangup")
    sim.run_pending()
    assert states(sim) == {AGENT: "talking", SUPERVISOR: "gone"}
    assert conference(sim)["status"] == "live"


def test_hanging_up_a_ringing_customer_cancels_the_dial_and_ends_the_call(
    make_phlo_sim, callback_sink, settings
):
    sim = make_phlo_sim(callback_url=callback_sink.url, answer_delay=5)
    phlo = phlo_for(sim, settings)
    phlo.call()
    sim.advance(6)  # the agent answered at 5 s; the customer rings
    phlo.act(CUSTOMER, "hangup")
    sim.advance(10)
    assert states(sim) == {AGENT: "gone", CUSTOMER: "gone"}
    assert conference(sim)["members"][1]["exit_cause"] == "canceled"
    assert ("ConferenceExit", CUSTOMER, "canceled") in events(callback_sink.params)
    assert ("ConferenceEnter", CUSTOMER, "in-progress") not in events(callback_sink.params)


def test_hanging_up_the_number_before_the_agent_answers_means_it_never_rings(
    make_phlo_sim, callback_sink, settings
):
    sim = make_phlo_sim(callback_url=callback_sink.url, answer_delay=5)
    phlo = phlo_for(sim, settings)
    phlo.call()
    phlo.act(CUSTOMER, "hangup")  # still queued behind the agent's ringing phone
    assert conference(sim)["queued"] == []
    sim.advance(6)
    assert states(sim) == {AGENT: "gone"}  # answered, alone, taken out
    assert conference(sim)["status"] == "completed"
    assert all(p["to"] != CUSTOMER for p in callback_sink.params)


def test_the_number_is_never_rung_when_the_agent_does_not_answer(phlo, phlo_sim, callback_sink):
    phlo_sim.phones.set_mode(AGENT, "busy")
    phlo.call()
    phlo_sim.advance(10)
    conf = conference(phlo_sim)
    assert conf["status"] == "completed"
    assert states(phlo_sim) == {AGENT: "gone"}
    assert events(callback_sink.params) == [("ConferenceExit", AGENT, "busy")]


def test_call_from_a_live_member_dials_into_the_same_conference(phlo, phlo_sim, callback_sink):
    phlo.call()
    phlo_sim.advance(4)  # the agent, then the customer
    phlo.call(source=AGENT, to=SUPERVISOR, role="agent")
    phlo_sim.advance(4)  # the agent, then the customer
    snapshot = phlo_sim.snapshot()
    assert len(snapshot["conferences"]) == 1
    assert states(phlo_sim) == {AGENT: "talking", CUSTOMER: "talking", SUPERVISOR: "talking"}
    enter = callback_sink.params[-1]
    assert (enter["to"], enter["conference_uuid"]) == (SUPERVISOR, conference(phlo_sim)["uuid"])
    assert len({m["member_id"] for m in conference(phlo_sim)["members"]}) == 3
    # Dialling someone already in the call is refused.
    error = phlo.error(phlo.node(action="call", trigger_source=AGENT, to=CUSTOMER, role="customer"))
    assert "already in this call" in error


def test_a_new_call_gets_a_new_conference_with_the_next_name(phlo, phlo_sim):
    phlo.call()
    phlo.call(source="sip:bob@phones.test", to="14155550122")
    names = [c["name"] for c in phlo_sim.snapshot()["conferences"]]
    assert names == ["Multiparty Call-1", "Multiparty Call-2"]
    uuids = {c["uuid"] for c in phlo_sim.snapshot()["conferences"]}
    assert len(uuids) == 2


@pytest.mark.parametrize(
    ("number", "after", "state", "status"),
    [
        ("+15005550001", 2, "gone", "busy"),
        ("+15005550002", 30, "gone", "no-answer"),
        ("+15005550004", 2, "gone", "failed"),
    ],
)
def test_special_numbers_that_never_answer(
    phlo, phlo_sim, callback_sink, number, after, state, status
):
    phlo.call(to=number)
    phlo_sim.advance(2 + after - 0.5)  # the agent answers at 2 s, then the number rings
    assert phlo_sim.member(number)["state"] == "ringing"
    phlo_sim.advance(0.5)
    assert states(phlo_sim)[number.lstrip("+")] == state
    exit_, agent_out = callback_sink.params[-2:]
    assert (exit_["event"], exit_["call_status"]) == ("ConferenceExit", status)
    assert "ConferenceEnter" not in [p["event"] for p in callback_sink.params if p["to"] != AGENT]
    # The agent, alone on the bridge with nobody on the way, is taken out: the call is over.
    assert (agent_out["to"], agent_out["call_status"]) == (AGENT, "completed")
    assert conference(phlo_sim)["status"] == "completed"


def test_voicemail_number_is_answered_by_a_machine(phlo, phlo_sim, callback_sink):
    phlo.call(to="15005550003")
    phlo_sim.advance(4)  # the agent, then the customer
    member = phlo_sim.member("15005550003")
    assert (member["state"], member["is_machine"]) == ("voicemail", True)
    enter = callback_sink.params[-1]
    assert (enter["event"], enter["machine"]) == ("ConferenceEnter", "true")


def test_manual_number_rings_until_the_ring_timeout(phlo, phlo_sim, callback_sink):
    phlo.call(to="15005550005")
    phlo_sim.advance(31.9)
    assert phlo_sim.member("15005550005")["state"] == "ringing"
    phlo_sim.advance(0.1)
    assert callback_sink.params[-2]["call_status"] == "no-answer"


def test_answer_delay_and_ring_timeout_are_configurable(make_phlo_sim, callback_sink, settings):
    sim = make_phlo_sim(callback_url=callback_sink.url, answer_delay=0.5, ring_timeout=3)
    phlo = phlo_for(sim, settings)
    sim.phones.set_mode(CUSTOMER, "no_answer")
    phlo.call()
    sim.advance(0.5)
    assert states(sim) == {AGENT: "talking", CUSTOMER: "ringing"}
    sim.advance(3)
    assert states(sim)[CUSTOMER] == "gone"
    assert callback_sink.params[-2]["call_status"] == "no-answer"


def test_when_the_agent_leg_fails_the_conference_completes(phlo, phlo_sim, callback_sink):
    phlo_sim.phones.set_mode(AGENT, "busy")
    phlo.call(to="15005550004")
    phlo_sim.advance(4)
    conf = conference(phlo_sim)
    assert conf["status"] == "completed"
    assert [m["exit_cause"] for m in conf["members"]] == ["busy"]
    # Nothing live is left to act on.
    assert "is in a live call" in phlo.error(phlo.member(AGENT, "hangup"))


def test_ringing_legs_are_cancelled_when_everyone_who_answered_has_left(
    phlo, phlo_sim, callback_sink
):
    phlo_sim.phones.set_mode(CUSTOMER, "manual")
    phlo.call()
    phlo_sim.advance(4)  # the agent, then the customer
    phlo.act(AGENT, "hangup")
    phlo_sim.run_pending()
    conf = conference(phlo_sim)
    assert conf["status"] == "completed"
    assert [m["exit_cause"] for m in conf["members"]] == ["completed", "canceled"]


def test_a_call_has_at_most_ten_members(phlo, phlo_sim):
    phlo.call()
    phlo_sim.advance(2)  # the agent answers and the customer rings
    for n in range(8):
        phlo.call(source=AGENT, to=f"sip:extra{n}@phones.test", role="agent")
    assert len(conference(phlo_sim)["members"]) == 10
    error = phlo.error(
        phlo.node(action="call", trigger_source=AGENT, to="sip:x@p.test", role="agent")
    )
    assert "at most 10 members" in error
    # Room frees up when someone leaves.
    phlo.act("sip:extra0@phones.test", "hangup")
    phlo.call(source=AGENT, to="sip:x@p.test", role="agent")
