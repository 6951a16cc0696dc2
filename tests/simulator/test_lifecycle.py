"""The multiparty call's lifecycle rules (docs/simulator.md, "Call lifecycle"): wait music
until an agent starts the call, the customer's exit ends it, nobody stays alone, and the
no-agent stand-ins. Over real HTTP where the PHLO API is involved."""

import json

import pytest

from calls.simulator.config import (
    AGENT_SETTINGS,
    CUSTOMER_SETTINGS,
    ConfigError,
    ParticipantSettings,
)
from tests.simulator.helpers import (
    AGENT,
    AGENT2,
    CALLER,
    CUSTOMER,
    NUMBER,
    TOKEN,
    conference,
    phlo_for,
    states,
)

MESSAGE_BOX = "15005550006"
VOICEMAIL_BOX = "15005550007"


@pytest.fixture
def sim(make_phlo_sim, callback_sink, routing):
    return make_phlo_sim(
        callback_url=callback_sink.url,
        routing_url=routing.url,
        routing_token=TOKEN,
        vocabulary="mpc",
    )


def names(callback_sink) -> list[str]:
    return [p["EventName"] for p in callback_sink.params]


def member(sim, address: str) -> dict:
    return next(m for m in conference(sim)["members"] if m["address"] == address)


def test_plivos_defaults_and_the_usual_phlo_node_settings():
    # Plivo's add_participant defaults: start_mpc_on_enter=True, end_mpc_on_exit=False,
    # stay_alone=False; a PHLO node lets the customer end the call and not start it.
    assert ParticipantSettings() == ParticipantSettings(True, False, False)
    assert ParticipantSettings(start_on_enter=True, end_on_exit=False) == AGENT_SETTINGS
    assert ParticipantSettings(start_on_enter=False, end_on_exit=True) == CUSTOMER_SETTINGS
    assert ParticipantSettings.parse("stay_alone=1", base=AGENT_SETTINGS).stay_alone is True
    with pytest.raises(ConfigError, match="cannot read 'loud=1'"):
        ParticipantSettings.parse("loud=1", base=AGENT_SETTINGS)


def test_an_inbound_caller_waits_with_music_until_the_agent_enters(sim, callback_sink):
    sim.inbound_call(from_=CALLER, to=NUMBER)
    sim.run_pending()
    conf = conference(sim)
    caller = member(sim, CALLER)
    assert (conf["started"], caller["state"], caller["wait_music"]) == (False, "talking", True)
    assert names(callback_sink) == ["MPCInitialized", "ParticipantJoin"]
    sim.advance(2)  # the agent answers and starts the call
    assert conference(sim)["started"] is True
    assert member(sim, CALLER)["wait_music"] is False
    assert names(callback_sink)[2:] == ["MPCStart", "ParticipantJoin"]


def test_a_caller_who_hangs_up_while_waiting_ends_the_call_and_the_agent_stops_ringing(
    sim, callback_sink
):
    sim.phones.set_mode(AGENT, "manual")
    sim.inbound_call(from_=CALLER, to=NUMBER)
    sim.run_pending()
    sim.phones.hangup(CALLER)
    sim.run_pending()
    conf = conference(sim)
    assert conf["status"] == "completed"
    assert [(m["address"], m["exit_cause"]) for m in conf["members"]] == [
        (CALLER, "completed"),
        (AGENT, "canceled"),
    ]
    assert names(callback_sink)[-1] == "MPCEnd"


def test_a_rejected_offer_leaves_the_caller_waiting_for_the_next_agent(sim, settings):
    sim.phones.set_mode(AGENT, "manual")
    sim.inbound_call(from_=CALLER, to=NUMBER)
    sim.run_pending()
    sim.phones.reject(AGENT)
    sim.run_pending()
    # The call has not started, so the caller is not "alone": they wait with music.
    assert conference(sim)["status"] == "live"
    assert member(sim, CALLER)["wait_music"] is True
    # The app offers the call to the next agent through the call trigger.
    phlo_for(sim, settings).call(source=CALLER, to=AGENT2, role="agent")
    sim.advance(2)
    assert states(sim) == {CALLER: "talking", AGENT: "gone", AGENT2: "talking"}
    assert conference(sim)["started"] is True


def test_the_customer_leaving_a_warm_transfer_ends_the_call_for_both_agents(sim, settings):
    phlo = phlo_for(sim, settings)
    phlo.call()
    sim.advance(4)
    phlo.ok(phlo.node(action="warm_transfer", trigger_source=AGENT, to=AGENT2, role="agent"))
    sim.advance(2)
    sim.phones.hangup(CUSTOMER)
    sim.run_pending()
    assert conference(sim)["status"] == "completed"
    assert states(sim) == {AGENT: "gone", CUSTOMER: "gone", AGENT2: "gone"}


def test_a_cold_transfer_goes_on_while_its_target_rings(sim, settings):
    phlo = phlo_for(sim, settings)
    sim.phones.set_mode(AGENT2, "manual")
    phlo.call()
    sim.advance(4)
    phlo.ok(phlo.node(action="cold_transfer", trigger_source=AGENT, to=AGENT2, role="agent"))
    phlo.act(AGENT, "hangup")  # the customer waits on hold: someone is on the way
    sim.run_pending()
    assert conference(sim)["status"] == "live"
    sim.phones.answer(AGENT2)
    assert states(sim) == {AGENT: "gone", CUSTOMER: "talking", AGENT2: "talking"}


@pytest.mark.parametrize(("box", "seconds", "kind"), [(MESSAGE_BOX, 3, "message")])
def test_the_no_agent_message_plays_then_the_call_ends(sim, settings, box, seconds, kind):
    sim.phones.set_mode(AGENT, "busy")
    sim.inbound_call(from_=CALLER, to=NUMBER)
    sim.run_pending()
    sim.advance(2)  # the agent is busy: the caller waits
    phlo_for(sim, settings).call(source=CALLER, to=box, role="agent")
    sim.advance(2)
    stand_in = member(sim, box)
    assert (stand_in["state"], stand_in["box"], stand_in["playing_message"]) == (
        "talking",
        kind,
        True,
    )
    sim.advance(seconds)
    assert conference(sim)["status"] == "completed"
    assert member(sim, CALLER)["exit_cause"] == "completed"


def test_a_voicemail_is_taken_until_the_caller_hangs_up(sim, settings):
    sim.phones.set_mode(AGENT, "busy")
    sim.inbound_call(from_=CALLER, to=NUMBER)
    sim.run_pending()
    sim.advance(2)
    phlo_for(sim, settings).call(source=CALLER, to=VOICEMAIL_BOX, role="agent")
    sim.advance(2)
    assert member(sim, VOICEMAIL_BOX)["box"] == "voicemail"
    sim.advance(30)
    assert conference(sim)["status"] == "live"  # still recording
    sim.phones.hangup(CALLER)
    assert conference(sim)["status"] == "completed"


def test_routing_can_ask_for_a_voicemail_when_nobody_is_free(sim, routing):
    routing.body = json.dumps({"result": "no_agent", "outcome": "voicemail"})
    sim.inbound_call(from_=CALLER, to=NUMBER)
    sim.run_pending()
    (inbound,) = sim.snapshot()["inbound"]
    assert inbound["state"] == "voicemail"
    sim.advance(59)
    assert sim.snapshot()["inbound"][0]["state"] == "voicemail"
    sim.advance(1)
    assert sim.snapshot()["inbound"][0]["state"] == "ended"
