"""End to end: our services drive the simulator over HTTP, and the simulator's own signed
callbacks, delivered over HTTP to the real webhook, drive the models.

Time is the simulator's manual clock: nothing rings, answers or calls back until the test
advances it, so the flows are deterministic and need no sleeps.
"""

import pytest

from agents.models import Agent
from calls.models import Action, Call, CallbackEvent, Member, WrapUp
from calls.services import buttons

pytestmark = pytest.mark.django_db(transaction=True)

ANSWER = 3.0  # seconds: longer than the simulator's answer delay

S = Member.State


@pytest.fixture
def sim(app_sim_each_vocabulary):
    return app_sim_each_vocabulary


def states(call: Call) -> dict[str, str]:
    return {m.address: m.state for m in call.members.order_by("pk")}


def start_answered_call(sim, alice, dana) -> Call:
    call = buttons.call_start(actor=alice.user, to="+1 415 555 0101")
    sim.advance(ANSWER)
    call.refresh_from_db()
    assert call.status == Call.Status.ACTIVE
    assert states(call) == {alice.endpoint: S.TALKING, dana.phone: S.TALKING}
    assert call.customer == dana
    return call


def test_call_then_customer_hangs_up(sim, alice, dana):
    call = buttons.call_start(actor=alice.user, to="+1 415 555 0101")
    assert call.status == Call.Status.DIALLING
    # Alice's phone rings first; Dana once Alice is on the call.
    assert states(call) == {alice.endpoint: S.DIALLING, dana.phone: S.PENDING}

    sim.advance(ANSWER)
    call.refresh_from_db()
    alice.refresh_from_db()
    assert call.status == Call.Status.ACTIVE and call.conference_uuid
    assert alice.status == Agent.Status.ON_CALL
    assert all(m.call_uuid and m.member_id for m in call.members.all())

    sim.phones.hangup(dana.phone)  # and nothing more: the call ends for Alice too
    sim.advance(0.1)
    call.refresh_from_db()
    alice.refresh_from_db()
    assert call.status == Call.Status.COMPLETED and call.ended_at
    assert call.outcome == Call.Outcome.CUSTOMER_HUNG_UP
    assert states(call) == {alice.endpoint: S.LEFT, dana.phone: S.LEFT}
    assert alice.status == Agent.Status.WRAP_UP
    outcomes = set(CallbackEvent.objects.filter(call=call).values_list("outcome", flat=True))
    assert outcomes <= {"applied", "ignored"}


def test_hold_and_unhold(sim, alice, dana):
    call = start_answered_call(sim, alice, dana)
    customer = call.members.get(address=dana.phone)

    buttons.member_hold(actor=alice.user, member_id=customer.pk)
    sim.advance(0.1)
    customer.refresh_from_db()
    assert customer.state == S.ON_HOLD and customer.hold_started_at
    assert sim.snapshot()["conferences"][0]["members"][1]["state"] == "on_hold"

    buttons.member_unhold(actor=alice.user, member_id=customer.pk)
    sim.advance(0.1)
    customer.refresh_from_db()
    assert customer.state == S.TALKING and customer.hold_started_at is None


def test_warm_transfer_then_resume(sim, alice, bob, dana):
    call = start_answered_call(sim, alice, dana)

    buttons.transfer_warm_start(actor=alice.user, call_id=call.pk, to=bob.endpoint)
    call.refresh_from_db()
    assert call.transfer_kind == "warm" and call.transfer_to_agent == bob
    assert states(call)[dana.phone] == S.ON_HOLD
    sim.advance(ANSWER)
    assert states(call)[bob.endpoint] == S.TALKING  # consulting privately

    buttons.transfer_resume(actor=alice.user, call_id=call.pk)
    sim.advance(0.1)
    call.refresh_from_db()
    assert call.transfer_kind == ""
    assert states(call) == {
        alice.endpoint: S.TALKING,
        dana.phone: S.TALKING,
        bob.endpoint: S.TALKING,
    }


def test_warm_transfer_then_abort(sim, alice, bob, dana):
    call = start_answered_call(sim, alice, dana)
    buttons.transfer_warm_start(actor=alice.user, call_id=call.pk, to=bob.endpoint)
    sim.advance(ANSWER)

    buttons.transfer_abort(actor=alice.user, call_id=call.pk)
    sim.advance(0.1)
    call.refresh_from_db()
    bob.refresh_from_db()
    assert call.transfer_kind == ""
    assert states(call) == {alice.endpoint: S.TALKING, dana.phone: S.TALKING, bob.endpoint: S.LEFT}
    # A consulted agent has nothing to wrap up: straight back to Available.
    assert bob.status == Agent.Status.AVAILABLE


def test_cold_transfer_hands_the_call_over(sim, alice, bob, dana):
    call = start_answered_call(sim, alice, dana)

    buttons.transfer_cold(actor=alice.user, call_id=call.pk, to=bob.endpoint)
    call.refresh_from_db()
    assert call.transfer_kind == "cold" and states(call)[dana.phone] == S.ON_HOLD

    sim.advance(ANSWER)
    call.refresh_from_db()
    assert call.transfer_kind == "" and call.owner == bob and call.is_live
    assert states(call) == {alice.endpoint: S.LEFT, dana.phone: S.TALKING, bob.endpoint: S.TALKING}


def test_cold_transfer_nobody_answers_returns_to_first_agent(sim, alice, dana):
    call = start_answered_call(sim, alice, dana)

    buttons.transfer_cold(actor=alice.user, call_id=call.pk, to="+1 500 555 0002")
    sim.advance(60)
    call.refresh_from_db()
    assert call.transfer_kind == "" and call.owner == alice
    assert states(call) == {
        alice.endpoint: S.TALKING,
        dana.phone: S.TALKING,
        "15005550002": S.NO_ANSWER,
    }


def test_voicemail_drop(sim, alice):
    call = buttons.call_start(actor=alice.user, to="+1 500 555 0003")
    sim.advance(ANSWER)
    machine = call.members.get(address="15005550003")
    assert machine.state == S.VOICEMAIL and machine.is_machine

    buttons.member_voicemail_drop(actor=alice.user, member_id=machine.pk)
    sim.advance(30)
    machine.refresh_from_db()
    assert machine.state == S.LEFT
    assert Action.objects.get(kind="voicemail_drop").outcome == "succeeded"


def test_agent_hangs_up_the_customer_and_the_call_ends(sim, alice, dana):
    call = start_answered_call(sim, alice, dana)
    buttons.member_hangup(actor=alice.user, member_id=call.members.get(address=dana.phone).pk)
    sim.advance(0.1)
    call.refresh_from_db()
    assert call.status == Call.Status.COMPLETED
    assert call.outcome == Call.Outcome.AGENT_HUNG_UP
    assert set(states(call).values()) == {S.LEFT}
    assert sim.snapshot()["conferences"][0]["status"] == "completed"


def test_busy_customer_leaves_call_consistent(sim, alice):
    call = buttons.call_start(actor=alice.user, to="+1 500 555 0001")
    sim.advance(ANSWER)
    call.refresh_from_db()
    assert states(call)["15005550001"] == S.BUSY
    # The attempt is over: no second hang-up.
    assert not call.is_live
    assert call.outcome == Call.Outcome.BUSY


def test_first_agent_who_hangs_up_during_a_cold_transfer_wraps_up_at_once(sim, alice, bob, dana):
    """Alice hands Dana over and puts her phone down while Bob's still rings: her part is
    over, so she is in wrap-up now, owing its disposition, not Available with a card that
    turns up later."""
    sim.phones.set_mode(bob.endpoint, "manual")
    call = start_answered_call(sim, alice, dana)
    buttons.transfer_cold(actor=alice.user, call_id=call.pk, to=bob.endpoint)
    sim.advance(ANSWER)
    assert states(call)[bob.endpoint] == S.DIALLING
    sim.phones.hangup(alice.endpoint)
    sim.advance(0.1)
    alice.refresh_from_db()
    assert alice.status == Agent.Status.WRAP_UP
    assert WrapUp.objects.get(call=call, agent=alice).disposition_required
    call.refresh_from_db()
    assert call.is_live and states(call)[dana.phone] == S.ON_HOLD
