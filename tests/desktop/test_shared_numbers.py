"""One number live in two calls. PHLO finds a participant by their number, not by call, so
an action on one call's leg could reach the other (calls.services.addressing). Whole stories
through the simulator (routing over HTTP, signed callbacks to the real webhook)."""

import pytest
from django.utils import timezone

from agents.models import Agent
from agents.presence import agent_choose_status
from agents.services.routing import STRANDED_AFTER, inbound_offers_stranded
from calls.models import Action, Call, Member
from calls.services import buttons
from calls.services.addressing import AddressShared
from tests.desktop.test_queues import DANA, agent_legs, away, sales  # noqa: F401
from tests.services.helpers import phlo_requests

pytestmark = pytest.mark.django_db(transaction=True)
S = Agent.Status


def inbound(sim, caller: str) -> Call:
    sim.inbound_call(from_=caller, to="+14155550000")
    sim.advance(0.1)
    return Call.objects.filter(members__address=caller.lstrip("+")).latest("pk")


def answered(sim, agent: Agent) -> None:
    sim.phones.answer(agent.endpoint)
    sim.advance(0.1)


def customer(call: Call) -> Member:
    return call.members.get(role=Member.Role.CUSTOMER)


def test_a_customer_on_a_colleagues_call_is_not_dialled_again(app_sim, sales):  # noqa: F811
    _, alice, bob, _ = sales
    first = inbound(app_sim, DANA)
    answered(app_sim, alice)
    assert customer(first).state == Member.State.TALKING

    with phlo_requests(app_sim) as sent, pytest.raises(AddressShared) as refused:
        buttons.call_start(actor=bob.user, to=DANA)
    # Said as an agent needs it (review 2026-12-07: it explained PHLO's addressing).
    assert str(refused.value) == (
        f"Dana Diaz is on another call right now (with alice, call #{first.pk}); try again"
        " once it has ended."
    )
    assert sent == [] and Call.objects.count() == 1
    bob.refresh_from_db()
    assert bob.status == S.AVAILABLE


def test_with_two_callers_on_one_number_no_button_can_reach_the_wrong_call(app_sim, sales):  # noqa: F811
    _, alice, bob, _ = sales
    first = inbound(app_sim, DANA)
    answered(app_sim, alice)
    second = inbound(app_sim, DANA)  # Bob is free: the flow rings him, no API involved
    answered(app_sim, bob)
    assert (first.pk != second.pk, agent_legs(second)) == (True, {"bob": "talking"})

    for press in (buttons.member_hold, buttons.member_hangup):
        with phlo_requests(app_sim) as sent, pytest.raises(AddressShared) as refused:
            press(actor=alice.user, member_id=customer(first).pk)
        assert sent == []
        assert f"also on another live call (#{second.pk})" in str(refused.value)
    refusal = Action.objects.filter(call=first).latest("pk")
    assert (refusal.outcome, refusal.kind) == (Action.Outcome.FAILED, "hangup")
    assert "PHLO finds a participant by their number" in refusal.error
    first.refresh_from_db()
    assert first.pending_action_id is None  # the claim was released
    assert customer(first).state == customer(second).state == Member.State.TALKING

    # Once Bob's caller has gone, Alice's buttons work again.
    app_sim.phones.hangup(bob.endpoint)
    app_sim.advance(0.1)
    buttons.member_hold(actor=alice.user, member_id=customer(first).pk)
    assert customer(first).state == Member.State.ON_HOLD
    assert customer(second).state == Member.State.LEFT


def test_a_second_caller_on_a_number_in_use_is_not_queued_but_given_the_no_agent_branch(
    app_sim,
    sales,  # noqa: F811
):
    _, alice, bob, _ = sales
    away(bob)
    first = inbound(app_sim, DANA)
    answered(app_sim, alice)
    second = inbound(app_sim, DANA)
    routed = app_sim.routing_requests[-1]
    assert '"result": "no_agent"' in routed.response
    assert second.queue is None and second.status == Call.Status.FAILED
    assert first.is_live


def test_a_queued_caller_whose_number_comes_into_use_elsewhere_waits_then_is_offered(
    app_sim,
    sales,  # noqa: F811
):
    queue, alice, bob, _ = sales
    away(alice, bob)
    waiting = inbound(app_sim, DANA)
    assert waiting.queue == queue and customer(waiting).state == Member.State.WAITING
    # The same number calls the other queue's number; Carol is free there and takes it.
    app_sim.inbound_call(from_=DANA, to="+14155550001")
    app_sim.advance(0.1)
    other = Call.objects.exclude(pk=waiting.pk).get(members__address=DANA.lstrip("+"))
    carol = other.owner
    answered(app_sim, carol)

    # Bob comes free: ringing him "into Dana's call" would reach Carol's. He is not rung.
    with phlo_requests(app_sim) as sent:
        agent_choose_status(agent=bob, status=S.AVAILABLE)
        app_sim.advance(0.1)
    assert sent == [] and agent_legs(waiting) == {}
    bob.refresh_from_db()
    assert bob.status == S.AVAILABLE

    # Carol's caller hangs up: Dana's waiting call is Bob's at the next housekeeping sweep.
    app_sim.phones.hangup(carol.endpoint)
    app_sim.advance(0.1)
    inbound_offers_stranded(at=timezone.now() + STRANDED_AFTER)
    app_sim.advance(0.1)
    assert agent_legs(waiting) == {"bob": "dialling"}
