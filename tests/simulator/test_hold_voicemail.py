"""Hold/unhold and voicemail drop, with the refusals that keep state sane."""

from tests.simulator.helpers import AGENT, CUSTOMER, conference, events, phlo_for, states

MACHINE = "15005550003"


def test_hold_and_unhold(phlo, phlo_sim, callback_sink):
    phlo.call()
    phlo_sim.advance(4)  # the agent, then the customer
    phlo.act(CUSTOMER, "hold")
    member = phlo_sim.member(CUSTOMER)
    assert (member["state"], member["hold_music"]) == ("on_hold", True)
    assert "already on hold" in phlo.error(phlo.member(CUSTOMER, "hold"))
    phlo.act(CUSTOMER, "unhold")
    assert phlo_sim.member(CUSTOMER)["state"] == "talking"
    assert "is not on hold" in phlo.error(phlo.member(CUSTOMER, "unhold"))
    # Agents can be held too.
    phlo.act(AGENT, "hold")
    assert states(phlo_sim) == {AGENT: "on_hold", CUSTOMER: "talking"}
    phlo_sim.run_pending()
    assert [p["event"] for p in callback_sink.params] == ["ConferenceEnter", "ConferenceEnter"]


def test_a_ringing_member_cannot_be_held(phlo, phlo_sim):
    phlo.call()
    assert "not been dialled yet" in phlo.error(phlo.member(CUSTOMER, "hold"))
    phlo_sim.advance(2)  # the agent answers; now the customer rings
    assert "still ringing" in phlo.error(phlo.member(CUSTOMER, "hold"))
    assert "is not on hold" in phlo.error(phlo.member(CUSTOMER, "unhold"))


def test_a_member_on_hold_can_hang_up(phlo, phlo_sim, callback_sink):
    phlo.call()
    phlo_sim.advance(4)  # the agent, then the customer
    phlo.act(CUSTOMER, "hold")
    phlo.act(CUSTOMER, "hangup")
    phlo_sim.run_pending()
    assert events(callback_sink.params)[-2] == ("ConferenceExit", CUSTOMER, "completed")


def test_voicemail_drop_plays_the_message_then_drops_the_machine(
    make_phlo_sim, callback_sink, settings
):
    sim = make_phlo_sim(callback_url=callback_sink.url, voicemail_drop_seconds=4)
    phlo = phlo_for(sim, settings)
    phlo.call(to=MACHINE)
    sim.advance(4)  # the agent, then the customer
    assert "use voicemail_drop or hangup" in phlo.error(phlo.member(MACHINE, "hold"))
    phlo.act(MACHINE, "voicemail_drop")
    assert sim.member(MACHINE)["playing_message"] is True
    assert "already playing" in phlo.error(phlo.member(MACHINE, "voicemail_drop"))
    sim.advance(3.9)
    assert sim.member(MACHINE)["state"] == "voicemail"
    sim.advance(0.1)
    # The machine was the customer: with it gone the call ends for the agent too.
    assert states(sim) == {AGENT: "gone", MACHINE: "gone"}
    assert conference(sim)["members"][1]["exit_cause"] == "completed"
    assert events(callback_sink.params)[-2:] == [
        ("ConferenceExit", MACHINE, "completed"),
        ("ConferenceExit", AGENT, "completed"),
    ]


def test_voicemail_drop_needs_a_member_answered_by_a_machine(phlo, phlo_sim):
    phlo.call()
    phlo_sim.advance(2)  # the customer rings
    assert "not answered by a voicemail machine" in phlo.error(
        phlo.member(CUSTOMER, "voicemail_drop")
    )
    phlo_sim.advance(2)
    assert "not answered by a voicemail machine" in phlo.error(
        phlo.member(CUSTOMER, "voicemail_drop")
    )


def test_hanging_up_a_machine_during_the_message_ends_it_once(phlo, phlo_sim, callback_sink):
    phlo.call(to=MACHINE)
    phlo_sim.advance(4)  # the agent, then the customer
    phlo.act(MACHINE, "voicemail_drop")
    phlo.act(MACHINE, "hangup")
    phlo_sim.advance(10)
    exits = [p for p in callback_sink.params if p["event"] == "ConferenceExit"]
    assert [p["to"] for p in exits] == [MACHINE.lstrip("+"), AGENT]
