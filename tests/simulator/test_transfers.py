"""Warm and cold transfers, their failures and their error paths, over real HTTP."""

import pytest

from tests.simulator.helpers import (
    AGENT,
    AGENT2,
    CUSTOMER,
    CUSTOMER2,
    SUPERVISOR,
    conference,
    events,
    states,
)


@pytest.fixture
def talking(phlo, phlo_sim, callback_sink):
    """Agent and customer talking; callbacks so far cleared."""
    phlo.call()
    phlo_sim.advance(4)  # the agent, then the customer
    callback_sink.clear()
    return phlo


def _transfer(phlo, kind, to=AGENT2, **extra):
    return phlo.node(action=f"{kind}_transfer", trigger_source=AGENT, to=to, **extra)


def test_warm_transfer_holds_the_customer_consults_then_resumes(talking, phlo_sim, callback_sink):
    talking.ok(_transfer(talking, "warm"))
    conf = conference(phlo_sim)
    assert states(phlo_sim) == {AGENT: "talking", CUSTOMER: "on_hold", AGENT2: "ringing"}
    assert phlo_sim.member(CUSTOMER)["hold_music"] is True
    assert conf["transfer"]["kind"] == "warm"
    assert (conf["transfer"]["from"], conf["transfer"]["to"]) == (AGENT, AGENT2)
    assert phlo_sim.member(AGENT2)["role"] == "agent"  # role defaults to agent
    phlo_sim.advance(2)
    # The agents consult privately: the customer stays on hold.
    assert states(phlo_sim) == {AGENT: "talking", CUSTOMER: "on_hold", AGENT2: "talking"}
    talking.act(AGENT, "resume_call")
    phlo_sim.run_pending()
    assert states(phlo_sim) == {AGENT: "talking", CUSTOMER: "talking", AGENT2: "talking"}
    assert conference(phlo_sim)["transfer"] is None
    # PHLO's vocabulary has no hold events: only the target's enter.
    assert events(callback_sink.params) == [("ConferenceEnter", AGENT2, "in-progress")]


def test_resume_and_abort_are_refused_when_they_make_no_sense(talking, phlo_sim):
    assert "no warm transfer" in talking.error(talking.member(AGENT, "resume_call"))
    assert "no warm transfer" in talking.error(talking.member(AGENT, "abort_transfer"))
    talking.ok(_transfer(talking, "warm"))
    assert "has not answered yet" in talking.error(talking.member(AGENT, "resume_call"))
    phlo_sim.advance(2)
    error = talking.error(talking.member(AGENT2, "resume_call"))
    assert "Only the agent who started the warm transfer (sip:alice@phones.test)" in error
    assert "Only the agent" in talking.error(talking.member(CUSTOMER, "abort_transfer"))


def test_abort_cancels_a_ringing_target_and_takes_the_customer_off_hold(
    talking, phlo_sim, callback_sink
):
    talking.ok(_transfer(talking, "warm"))
    phlo_sim.advance(1)
    talking.act(AGENT, "abort_transfer")
    phlo_sim.advance(5)
    assert states(phlo_sim) == {AGENT: "talking", CUSTOMER: "talking", AGENT2: "gone"}
    assert events(callback_sink.params) == [("ConferenceExit", AGENT2, "canceled")]
    assert conference(phlo_sim)["transfer"] is None


def test_abort_after_the_target_answered_drops_the_target(talking, phlo_sim, callback_sink):
    talking.ok(_transfer(talking, "warm"))
    phlo_sim.advance(2)
    talking.act(AGENT, "abort_transfer")
    phlo_sim.run_pending()
    assert states(phlo_sim) == {AGENT: "talking", CUSTOMER: "talking", AGENT2: "gone"}
    assert events(callback_sink.params)[-1] == ("ConferenceExit", AGENT2, "completed")


@pytest.mark.parametrize(
    ("target", "after", "status"),
    [("15005550001", 2, "busy"), ("15005550002", 30, "no-answer"), ("15005550004", 2, "failed")],
)
@pytest.mark.parametrize("kind", ["warm", "cold"])
def test_a_failed_target_ends_the_transfer_and_the_customer_stays_with_the_agent(
    talking, phlo_sim, callback_sink, kind, target, after, status
):
    talking.ok(_transfer(talking, kind, to=target))
    phlo_sim.advance(after)
    assert states(phlo_sim) == {AGENT: "talking", CUSTOMER: "talking", target: "gone"}
    assert conference(phlo_sim)["transfer"] is None
    assert events(callback_sink.params) == [("ConferenceExit", target, status)]
    # A new transfer can start.
    talking.ok(_transfer(talking, kind))


def test_target_hanging_up_during_a_warm_transfer_ends_it(talking, phlo_sim):
    talking.ok(_transfer(talking, "warm"))
    phlo_sim.advance(2)
    phlo_sim.phones.hangup(AGENT2)
    assert states(phlo_sim) == {AGENT: "talking", CUSTOMER: "talking", AGENT2: "gone"}


def test_agent_leaving_a_warm_transfer_leaves_the_customer_with_the_target(talking, phlo_sim):
    talking.ok(_transfer(talking, "warm"))
    phlo_sim.advance(2)
    talking.act(AGENT, "hangup")
    assert states(phlo_sim) == {AGENT: "gone", CUSTOMER: "talking", AGENT2: "talking"}
    assert conference(phlo_sim)["transfer"] is None
    assert conference(phlo_sim)["status"] == "live"


def test_agent_leaving_a_warm_transfer_while_the_target_rings_keeps_the_customer_on_hold(
    talking, phlo_sim
):
    """Nobody is on the line for the customer yet: hold music until the target answers,
    then the two talk (the transfer is done)."""
    phlo_sim.phones.set_mode(AGENT2, "manual")
    talking.ok(_transfer(talking, "warm"))
    talking.act(AGENT, "hangup")
    assert states(phlo_sim) == {AGENT: "gone", CUSTOMER: "on_hold", AGENT2: "ringing"}
    assert phlo_sim.member(CUSTOMER)["hold_music"] is True
    assert conference(phlo_sim)["transfer"]["kind"] == "warm"
    phlo_sim.phones.answer(AGENT2)
    assert states(phlo_sim) == {AGENT: "gone", CUSTOMER: "talking", AGENT2: "talking"}
    assert conference(phlo_sim)["transfer"] is None


def test_a_warm_transfer_not_taken_after_the_agent_left_ends_the_call(talking, phlo_sim):
    phlo_sim.phones.set_mode(AGENT2, "manual")
    talking.ok(_transfer(talking, "warm"))
    talking.act(AGENT, "hangup")
    phlo_sim.phones.reject(AGENT2)
    assert states(phlo_sim) == {AGENT: "gone", CUSTOMER: "gone", AGENT2: "gone"}
    assert conference(phlo_sim)["status"] == "completed"


def test_cold_transfer_hands_the_customer_over_and_drops_the_agent(
    talking, phlo_sim, callback_sink
):
    talking.ok(_transfer(talking, "cold"))
    assert states(phlo_sim) == {AGENT: "talking", CUSTOMER: "on_hold", AGENT2: "ringing"}
    assert conference(phlo_sim)["transfer"]["kind"] == "cold"
    assert "no warm transfer" in talking.error(talking.member(AGENT, "abort_transfer"))
    phlo_sim.advance(2)
    assert states(phlo_sim) == {AGENT: "gone", CUSTOMER: "talking", AGENT2: "talking"}
    assert conference(phlo_sim)["transfer"] is None
    assert events(callback_sink.params) == [
        ("ConferenceEnter", AGENT2, "in-progress"),
        ("ConferenceExit", AGENT, "completed"),
    ]


def test_cold_transfer_goes_on_when_the_agent_hangs_up_first(talking, phlo_sim):
    talking.ok(_transfer(talking, "cold"))
    talking.act(AGENT, "hangup")
    assert states(phlo_sim) == {AGENT: "gone", CUSTOMER: "on_hold", AGENT2: "ringing"}
    phlo_sim.advance(2)
    assert states(phlo_sim) == {AGENT: "gone", CUSTOMER: "talking", AGENT2: "talking"}


def test_transfer_role_can_be_customer(talking, phlo_sim):
    talking.ok(_transfer(talking, "warm", to=CUSTOMER2, role="customer"))
    assert phlo_sim.member(CUSTOMER2)["role"] == "customer"


def test_only_one_transfer_at_a_time(talking, phlo_sim):
    talking.ok(_transfer(talking, "warm"))
    phlo_sim.advance(2)
    assert "already in progress" in talking.error(_transfer(talking, "cold", to=SUPERVISOR))
    assert "already in progress" in talking.error(_transfer(talking, "warm", to=SUPERVISOR))


@pytest.mark.parametrize("kind", ["warm", "cold"])
def test_transfer_needs_a_talking_agent_in_a_call(phlo, phlo_sim, kind):
    body = {"action": f"{kind}_transfer", "to": AGENT2}
    # Not in any call.
    assert "not a talking agent" in phlo.error(phlo.node(trigger_source=AGENT, **body))
    phlo.call()
    # Still ringing.
    assert "not a talking agent" in phlo.error(phlo.node(trigger_source=AGENT, **body))
    phlo_sim.advance(2)
    # A customer cannot transfer.
    assert "not a talking agent" in phlo.error(phlo.node(trigger_source=CUSTOMER, **body))
    # An agent on hold cannot either.
    phlo.act(AGENT, "hold")
    assert "not a talking agent" in phlo.error(phlo.node(trigger_source=AGENT, **body))


def test_transfer_to_someone_in_the_call_or_with_no_customer_is_refused(phlo, phlo_sim):
    phlo.call(to=AGENT2, role="agent")
    phlo_sim.advance(4)  # the agent, then the customer
    assert "no connected customer" in phlo.error(_transfer(phlo, "warm", to=SUPERVISOR))
    phlo.call(source=AGENT, to=CUSTOMER)
    phlo_sim.advance(4)  # the agent, then the customer
    assert "already in this call" in phlo.error(_transfer(phlo, "warm", to=AGENT2))
    assert "different" in phlo.error(_transfer(phlo, "cold", to=AGENT))
