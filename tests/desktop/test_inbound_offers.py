"""No inbound caller is stranded: a call its agent does not take goes to the next agent, and
with nobody left to the no-agent outcome. End to end: the simulator's inbound call asks our
routing endpoint, rings phones, and its signed callbacks reach the real webhook."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Agent
from agents.presence import DECLINED_REASON, MISSED_CALL_REASON, agent_choose_status
from agents.rendering import render_full_state
from agents.services.ringing import ringing_leg_reject
from agents.services.routing import STRANDED_AFTER, inbound_offers_stranded
from calls.models import Call, Member, WrapUp
from tests.factories import make_agent, make_customer
from tests.webhooks.helpers import post_callback

pytestmark = pytest.mark.django_db(transaction=True)

S = Agent.Status
CALLER = "+14155550101"
NUMBER = "+14155550000"


@pytest.fixture
def floor(app_sim):
    """Alice has waited longest, then Bob; both answer only by hand."""
    now = timezone.now()
    alice = make_agent(username="alice", endpoint="sip:alice@phones.test")
    bob = make_agent(username="bob", endpoint="sip:bob@phones.test")
    Agent.objects.filter(pk=alice.pk).update(status_changed_at=now - timedelta(minutes=9))
    Agent.objects.filter(pk=bob.pk).update(status_changed_at=now - timedelta(minutes=5))
    for agent in (alice, bob):
        app_sim.phones.set_mode(agent.endpoint, "manual")
    make_customer(name="Dana Diaz", phone=CALLER)
    return alice, bob


@pytest.fixture
def exit_before_the_answer(app_sim, monkeypatch):
    """Call it to have the next button's callbacks delivered (and applied) after PHLO took
    its request and before the button hears PHLO's answer, as the provider may."""
    from calls.services import execution

    send = execution.send

    def exit_first(**kwargs):
        result = send(**kwargs)
        app_sim.advance(0.01)
        return result

    return lambda: monkeypatch.setattr(execution, "send", exit_first)


def ring(sim) -> Call:
    sim.inbound_call(from_=CALLER, to=NUMBER)
    sim.advance(0.1)
    return Call.objects.get()


def legs(call: Call) -> dict[str, str]:
    return {m.address: m.state for m in call.members.order_by("pk")}


def refreshed(*agents: Agent) -> list[Agent]:
    for agent in agents:
        agent.refresh_from_db()
    return list(agents)


def test_a_declined_call_goes_to_the_next_agent_and_leaves_nothing_behind(app_sim, floor):
    alice, bob = floor
    call = ring(app_sim)
    assert call.owner == alice
    caller = call.members.get(role="customer")
    assert caller.state == Member.State.WAITING  # on the call, hearing wait music

    ringing_leg_reject(actor=alice.user, member_id=call.members.get(agent=alice).pk)
    app_sim.advance(0.1)
    call.refresh_from_db()
    # Bob's phone rings into the same call; Alice is not ready, saying why, and owes nothing.
    assert call.owner == bob and call.is_live
    assert legs(call) == {
        "14155550101": "waiting",
        alice.endpoint: "left",
        bob.endpoint: "dialling",
    }
    alice, bob = refreshed(alice, bob)
    assert (alice.status, alice.status_reason) == (S.AWAY, DECLINED_REASON)
    assert bob.status == S.ON_CALL
    assert not WrapUp.objects.filter(agent=alice).exists()
    assert f'id="call-{call.pk}"' not in render_full_state(agent=alice)
    assert "Incoming call from Dana Diaz" in render_full_state(agent=bob)

    app_sim.phones.answer(bob.endpoint)
    app_sim.advance(0.1)
    call.refresh_from_db()
    assert call.status == Call.Status.ACTIVE
    assert call.members.get(role="customer").state == Member.State.TALKING


def test_a_reject_whose_exit_callback_beats_phlos_answer_is_still_declined(
    app_sim, floor, exit_before_the_answer
):
    """The provider may send the leg's exit before it answers our hang-up request: the
    callback is applied first, while the Reject is still in flight. It is still a decline:
    Alice is Away saying why, and the caller is never offered straight back to her."""
    alice, bob = floor
    agent_choose_status(agent=bob, status=S.AWAY, reason="Lunch")
    call = ring(app_sim)
    assert call.owner == alice
    exit_before_the_answer()
    ringing_leg_reject(actor=alice.user, member_id=call.members.get(agent=alice).pk)
    app_sim.advance(0.1)
    [leg] = call.members.filter(agent=alice)
    assert (leg.state, leg.end_cause) == (Member.State.LEFT, Member.EndCause.DECLINED)
    alice, _ = refreshed(alice, bob)
    assert (alice.status, alice.status_reason) == (S.AWAY, DECLINED_REASON)


def test_a_hang_up_whose_exit_callback_beats_phlos_answer_is_still_ours(
    app_sim, floor, exit_before_the_answer
):
    """The same race on an answered caller: the exit says "completed", as any answered leg
    that leaves does. The call still ended on our side, not by the customer hanging up."""
    from calls.services import buttons

    alice, _ = floor
    call = ring(app_sim)
    app_sim.phones.answer(alice.endpoint)
    app_sim.advance(0.1)
    caller = call.members.get(role="customer")
    assert caller.state == Member.State.TALKING
    exit_before_the_answer()
    buttons.member_hangup(actor=alice.user, member_id=caller.pk)
    app_sim.advance(0.5)
    caller.refresh_from_db()
    call.refresh_from_db()
    assert caller.end_cause == Member.EndCause.HUNG_UP
    assert (call.is_live, call.outcome) == (False, Call.Outcome.AGENT_HUNG_UP)


def test_cancelling_ones_own_ring_when_its_exit_comes_first_is_no_decline(
    app_sim, floor, exit_before_the_answer
):
    """Alice cancels the call she placed while her own phone rings (Hang up on the
    customer's row), and the exit arrives first: a cancelled call, not a declined offer."""
    from calls.services import buttons

    alice, _ = floor
    call = buttons.call_start(actor=alice.user, to=CALLER)
    app_sim.advance(0.1)
    dana = call.members.get(role="customer")
    assert dana.state == Member.State.PENDING
    exit_before_the_answer()
    buttons.member_hangup(actor=alice.user, member_id=dana.pk)
    app_sim.advance(0.5)
    call.refresh_from_db()
    assert call.members.get(agent=alice).end_cause == Member.EndCause.HUNG_UP
    assert (call.is_live, call.outcome) == (False, Call.Outcome.CANCELLED)


def test_a_call_that_rings_out_goes_to_the_next_agent(app_sim, floor):
    alice, bob = floor
    call = ring(app_sim)
    app_sim.advance(31)  # the simulator's ring timeout is 30 s: Alice's phone rings out
    call.refresh_from_db()
    assert call.owner == bob
    alice, _ = refreshed(alice, bob)
    assert (alice.status, alice.status_reason) == (S.AWAY, MISSED_CALL_REASON)


def test_an_agent_who_goes_away_while_it_rings_passes_the_call_on(app_sim, floor):
    alice, bob = floor
    call = ring(app_sim)
    agent_choose_status(agent=alice, status=S.AWAY, reason="Lunch")
    app_sim.advance(0.1)
    call.refresh_from_db()
    assert call.owner == bob
    assert call.members.get(agent=alice).end_cause == Member.EndCause.DECLINED
    alice, _ = refreshed(alice, bob)
    # What she chose, not "Declined a call".
    assert (alice.status, alice.status_reason) == (S.AWAY, "Lunch")


def test_with_nobody_left_the_caller_hears_the_no_agent_message(app_sim, floor):
    alice, bob = floor
    call = ring(app_sim)
    for agent in (alice, bob):
        leg = call.members.get(agent=agent, state=Member.State.DIALLING)
        ringing_leg_reject(actor=agent.user, member_id=leg.pk)
        app_sim.advance(0.1)
    call.refresh_from_db()
    stand_in = call.members.get(role=Member.Role.NO_AGENT)
    assert stand_in.address == "15005550006" and call.owner is None
    app_sim.advance(2)  # the message answers and plays...
    stand_in.refresh_from_db()
    assert stand_in.state == Member.State.TALKING
    app_sim.advance(5)  # ...then hangs up: the caller is alone, and the call ends
    call.refresh_from_db()
    assert not call.is_live
    assert call.outcome == Call.Outcome.NO_AGENT
    # Nobody is asked for a disposition, and nobody is left on a call.
    assert not WrapUp.objects.exists()
    assert {a.status for a in refreshed(alice, bob)} == {S.AWAY}


def test_a_caller_who_hangs_up_while_it_rings_is_abandoned(app_sim, floor):
    alice, _ = floor
    call = ring(app_sim)
    app_sim.phones.hangup(CALLER)
    app_sim.advance(0.1)
    call.refresh_from_db()
    assert not call.is_live and call.outcome == Call.Outcome.ABANDONED
    # Her phone stopped ringing through no fault of hers: back to Available, nothing owed.
    (alice,) = refreshed(alice)
    assert alice.status == S.AVAILABLE
    assert not WrapUp.objects.exists()


def test_housekeeping_offers_a_caller_whose_offer_phlo_refused(app_sim, floor):
    _, bob = floor
    call = ring(app_sim)
    app_sim.inject_fault(status=500)  # the next request, the offer to Bob, is refused
    app_sim.advance(31)  # Alice's phone rings out
    bobs = call.members.get(agent=bob)
    assert (bobs.state, bobs.end_cause) == (Member.State.LEFT, Member.EndCause.NOT_DIALLED)
    (bob,) = refreshed(bob)
    assert bob.status == S.AVAILABLE  # not his fault: ready for the next try
    call.refresh_from_db()
    assert call.is_live and call.owner is None

    assert inbound_offers_stranded() == 0  # too soon
    later = timezone.now() + STRANDED_AFTER + timedelta(seconds=1)
    assert inbound_offers_stranded(at=later) == 1
    call.refresh_from_db()
    assert call.owner == bob
    assert call.members.filter(agent=bob, state=Member.State.DIALLING).exists()


def test_a_caller_who_hung_up_is_not_offered_on_when_the_callbacks_cross(
    settings, live_server, make_phlo_sim, callback_sink, client
):
    """Dana hangs up while Alice's phone rings, and the provider cancels Alice's leg. When
    that exit reaches us before Dana's own (callbacks are retried and reordered), Dana has
    gone all the same: nobody else is rung (PHLO would dial her back to connect them), and
    the call ends abandoned once her exit arrives."""
    settings.PUBLIC_BASE_URL = live_server.url
    sim = make_phlo_sim(callback_url=callback_sink.url, answer_delay=1.0)
    alice = make_agent(username="alice", endpoint="sip:alice@phones.test")
    bob = make_agent(username="bob", endpoint="sip:bob@phones.test")
    sim.phones.set_mode(alice.endpoint, "manual")
    sim.inbound_call(from_=CALLER, to=NUMBER)
    sim.advance(0.1)
    call = Call.objects.get()
    assert call.owner == alice

    def replay(event: str, address: str) -> None:
        [params] = [
            p
            for p in callback_sink.params
            if p["event"] == event and address in (p["to"], p["from"])
        ]
        assert post_callback(client, params).status_code == 200

    replay("ConferenceEnter", "14155550101")  # Dana waits with music
    sim.phones.hangup(CALLER)
    sim.advance(0.1)
    replay("ConferenceExit", alice.endpoint)  # cancelled, as the call ended
    call.refresh_from_db()
    assert call.is_live and not call.members.filter(agent=bob).exists()
    assert len(sim.snapshot()["conferences"]) == 1
    alice, bob = refreshed(alice, bob)
    assert (alice.status, bob.status) == (S.AVAILABLE, S.AVAILABLE)

    replay("ConferenceExit", "14155550101")
    call.refresh_from_db()
    assert not call.is_live and call.outcome == Call.Outcome.ABANDONED
