"""Warm transfer (start, resume, abort), cold transfer and supervisor barge, over HTTP."""

import pytest

from agents.models import Agent
from agents.presence import agent_choose_status
from calls.models import Action, Call, Member
from calls.services import (
    InvalidInput,
    InvalidState,
    NotAllowed,
    PhloFailed,
    buttons,
    rules,
)
from tests.factories import make_supervisor
from tests.services.helpers import (
    S,
    conference_for,
    phlo_requests,
    settle,
    sim_states,
    states,
)

pytestmark = pytest.mark.django_db

DANA = "14155550101"


def transfer_fields(call: Call) -> tuple:
    call.refresh_from_db()
    return (
        call.transfer_kind,
        call.transfer_from_id,
        call.transfer_to_address,
        call.transfer_to_agent_id,
        call.transfer_started_at is not None,
    )


NO_TRANSFER = ("", None, "", None, False)


def test_warm_transfer_start(phlo_sim, talking_call, alice, bob):
    call = buttons.transfer_warm_start(
        actor=alice.user, call_id=talking_call.pk, to="sip:bob@phones.test"
    )

    assert transfer_fields(call) == ("warm", alice.pk, bob.endpoint, bob.pk, True)
    assert states(call) == {alice.endpoint: S.TALKING, DANA: S.ON_HOLD, bob.endpoint: S.DIALLING}
    target = call.members.get(address=bob.endpoint)
    assert (target.role, target.agent) == ("agent", bob)
    action = Action.objects.get(kind="warm_transfer")
    assert (action.outcome, action.member, action.target) == ("succeeded", target, bob.endpoint)
    assert action.request["body"] == {
        "action": "warm_transfer",
        "trigger_source": alice.endpoint,
        "to": bob.endpoint,
        "role": "agent",
    }
    conference = conference_for(phlo_sim, call)
    assert conference["transfer"]["kind"] == "warm"
    assert sim_states(phlo_sim, call)[DANA] == "on_hold"
    bob.refresh_from_db()
    assert bob.status == Agent.Status.ON_CALL  # ringing counts as busy


def test_warm_transfer_resume(phlo_sim, talking_call, alice, bob):
    buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to=bob.endpoint)
    settle(phlo_sim, talking_call)
    call = buttons.transfer_resume(actor=alice.user, call_id=talking_call.pk)

    assert transfer_fields(call) == NO_TRANSFER
    assert states(call) == {alice.endpoint: S.TALKING, DANA: S.TALKING, bob.endpoint: S.TALKING}
    action = Action.objects.get(kind="resume_call")
    assert action.request["path"].endswith("/members/sip%3Aalice%40phones.test")
    assert action.request["body"] == {"action": "resume_call"}
    assert action.member == call.members.get(address=alice.endpoint)
    assert conference_for(phlo_sim, call)["transfer"] is None
    assert sim_states(phlo_sim, call)[DANA] == "talking"


def test_the_held_customer_cannot_be_let_into_the_private_consultation(
    phlo_sim, talking_call, alice, bob
):
    """Unhold on the customer during a warm transfer put them in the colleagues' private
    talk while the card still said Transferring. The transfer's own buttons undo the hold."""
    buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to=bob.endpoint)
    settle(phlo_sim, talking_call)
    dana = talking_call.members.get(address=DANA)
    assert dana.state == S.ON_HOLD
    with phlo_requests(phlo_sim) as sent, pytest.raises(InvalidState) as info:
        buttons.member_unhold(actor=alice.user, member_id=dana.pk)
    assert info.value.message == (
        "Alice's warm transfer to Bob is in progress: resume it to bring everyone together, "
        "or abort it to take Dana Diaz off hold."
    )
    assert sent == [] and sim_states(phlo_sim, talking_call)[DANA] == "on_hold"
    talking_call.refresh_from_db()
    shown = rules.member_actions(
        call=talking_call, member=dana, actor_agent=alice, supervisor=False
    )
    assert "unhold" not in shown and "hangup" in shown
    # Abort takes her off hold, as it always did.
    call = buttons.transfer_abort(actor=alice.user, call_id=talking_call.pk)
    assert states(call)[DANA] == S.TALKING


def test_resume_refused_before_the_target_answers(phlo_sim, talking_call, alice, bob):
    buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to=bob.endpoint)
    with pytest.raises(InvalidState, match="has not answered yet"):
        buttons.transfer_resume(actor=alice.user, call_id=talking_call.pk)


def test_warm_transfer_abort(phlo_sim, talking_call, alice, bob):
    buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to=bob.endpoint)
    settle(phlo_sim, talking_call)
    call = buttons.transfer_abort(actor=alice.user, call_id=talking_call.pk)

    assert transfer_fields(call) == NO_TRANSFER
    assert states(call) == {alice.endpoint: S.TALKING, DANA: S.TALKING, bob.endpoint: S.LEFT}
    assert sim_states(phlo_sim, call) == {
        alice.endpoint: "talking",
        DANA: "talking",
        bob.endpoint: "gone",
    }
    bob.refresh_from_db()
    assert bob.status != Agent.Status.ON_CALL


def test_abort_while_the_target_still_rings(phlo_sim, talking_call, alice, bob):
    buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to=bob.endpoint)
    call = buttons.transfer_abort(actor=alice.user, call_id=talking_call.pk)
    assert states(call)[bob.endpoint] == S.LEFT
    assert sim_states(phlo_sim, call)[bob.endpoint] == "gone"


def test_resume_and_abort_need_a_warm_transfer(phlo_sim, talking_call, alice):
    with pytest.raises(InvalidState, match="no warm transfer to resume"):
        buttons.transfer_resume(actor=alice.user, call_id=talking_call.pk)
    with pytest.raises(InvalidState, match="no warm transfer to abort"):
        buttons.transfer_abort(actor=alice.user, call_id=talking_call.pk)


def test_an_abort_just_after_a_resume_says_who_resumed(phlo_sim, talking_call, alice, bob):
    sam = make_supervisor(username="sam")
    buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to=bob.endpoint)
    settle(phlo_sim, talking_call)
    buttons.transfer_resume(actor=alice.user, call_id=talking_call.pk)
    # Sam pressed abort at the same moment; the resume got there first.
    with pytest.raises(InvalidState, match=r"^Alice already resumed the call after the transfer"):
        buttons.transfer_abort(actor=sam, call_id=talking_call.pk)
    with pytest.raises(InvalidState, match=r"^You already resumed the call after the transfer"):
        buttons.transfer_resume(actor=alice.user, call_id=talking_call.pk)


def test_only_one_transfer_at_a_time(phlo_sim, talking_call, alice, bob, carol):
    buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to=bob.endpoint)
    with pytest.raises(InvalidState) as info:
        buttons.transfer_cold(actor=alice.user, call_id=talking_call.pk, to=carol.endpoint)
    assert info.value.message == (
        "Alice's warm transfer to Bob is already in progress; only one at a time."
    )
    assert not talking_call.members.filter(address=carol.endpoint).exists()


def test_cold_transfer(phlo_sim, talking_call, alice, bob):
    call = buttons.transfer_cold(actor=alice.user, call_id=talking_call.pk, to=bob.endpoint)
    assert transfer_fields(call) == ("cold", alice.pk, bob.endpoint, bob.pk, True)
    assert states(call) == {alice.endpoint: S.TALKING, DANA: S.ON_HOLD, bob.endpoint: S.DIALLING}
    assert Action.objects.get(kind="cold_transfer").request["body"]["action"] == "cold_transfer"

    # Bob answers: the customer is put through to him and Alice is dropped by the provider.
    call = settle(phlo_sim, call)
    assert transfer_fields(call) == NO_TRANSFER
    assert states(call) == {alice.endpoint: S.LEFT, DANA: S.TALKING, bob.endpoint: S.TALKING}
    assert call.owner == bob


def test_cold_transfer_to_a_busy_number_comes_back(phlo_sim, talking_call, alice):
    call = buttons.transfer_cold(actor=alice.user, call_id=talking_call.pk, to="15005550001")
    assert transfer_fields(call)[2] == "15005550001"
    call = settle(phlo_sim, call)
    assert transfer_fields(call) == NO_TRANSFER
    assert states(call) == {alice.endpoint: S.TALKING, DANA: S.TALKING, "15005550001": S.BUSY}


def test_hanging_up_a_ringing_target_ends_the_transfer(phlo_sim, talking_call, alice):
    phlo_sim.phones.set_mode("14155550177", "manual")
    call = buttons.transfer_cold(actor=alice.user, call_id=talking_call.pk, to="+14155550177")
    target = call.members.get(address="14155550177")
    assert (target.agent, target.role) == (None, "agent")
    # While it rings the customer stays on hold: taken off it, they were left talking to
    # nobody once Alice left (review 2026-12-07). Stopping the ring is how they come back.
    dana = call.members.get(address=DANA)
    with phlo_requests(phlo_sim) as sent, pytest.raises(InvalidState, match="Hang up the ring"):
        buttons.member_unhold(actor=alice.user, member_id=dana.pk)
    assert sent == [] and states(call)[DANA] == S.ON_HOLD
    buttons.member_hangup(actor=alice.user, member_id=target.pk)
    assert transfer_fields(call) == NO_TRANSFER
    assert states(call)[DANA] == S.TALKING


def test_transfer_target_checks(phlo_sim, talking_call, alice, bob, carol):
    with pytest.raises(InvalidInput, match="not a valid phone number"):
        buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to="bob")
    with pytest.raises(InvalidInput, match="Dana Diaz is already on this call"):
        buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to="+1 415 555 0101")
    # Carol is busy on a call of her own.
    buttons.call_start(actor=carol.user, to="+14155550123")
    with pytest.raises(InvalidState, match="Carol is on another call"):
        buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to=carol.endpoint)
    assert not Action.objects.filter(kind="warm_transfer").exists()


@pytest.mark.parametrize("status", [Agent.Status.AWAY, Agent.Status.OFFLINE])
@pytest.mark.parametrize("service", [buttons.transfer_warm_start, buttons.transfer_cold])
def test_an_agent_away_or_offline_is_not_transferred_to(
    phlo_sim, talking_call, alice, carol, service, status
):
    """Typed by name or number: the picker lists only who is free, typing skipped that."""
    agent_choose_status(agent=carol, status=status, reason="Meeting")
    with phlo_requests(phlo_sim) as sent, pytest.raises(InvalidState) as info:
        service(actor=alice.user, call_id=talking_call.pk, to=carol.endpoint)
    label = Agent.Status(status).label.lower()
    assert info.value.message == f"Carol is {label} and cannot take a transfer."
    assert sent == [] and transfer_fields(talking_call) == NO_TRANSFER


@pytest.mark.parametrize("service", [buttons.transfer_warm_start, buttons.transfer_cold])
def test_a_truncated_number_is_not_transferred_to(phlo_sim, talking_call, alice, service):
    with phlo_requests(phlo_sim) as sent, pytest.raises(InvalidInput) as info:
        service(actor=alice.user, call_id=talking_call.pk, to="+1 415 55")
    assert info.value.message.startswith("'+1 415 55' is not a valid phone number")
    assert sent == []
    assert transfer_fields(talking_call) == NO_TRANSFER
    assert talking_call.members.count() == 2
    assert not Action.objects.exclude(kind="call").exists()


def test_a_local_number_is_transferred_to_in_the_default_region(
    phlo_sim, settings, talking_call, alice
):
    settings.PHONE_DEFAULT_REGION = "GB"
    call = buttons.transfer_cold(actor=alice.user, call_id=talking_call.pk, to="020 7946 0999")
    assert call.transfer_to_address == "442079460999"


def test_transfer_needs_an_answered_call(phlo_sim, alice, bob):
    call = buttons.call_start(actor=alice.user, to=DANA)
    with pytest.raises(InvalidState, match="not been answered"):
        buttons.transfer_warm_start(actor=alice.user, call_id=call.pk, to=bob.endpoint)


def test_transfer_refused_to_other_agents(phlo_sim, talking_call, bob, carol):
    with pytest.raises(NotAllowed):
        buttons.transfer_warm_start(actor=bob.user, call_id=talking_call.pk, to=carol.endpoint)


def test_supervisor_transfers_from_the_owners_leg(phlo_sim, talking_call, alice, bob):
    sue = make_supervisor(username="sue")
    call = buttons.transfer_warm_start(actor=sue, call_id=talking_call.pk, to=bob.endpoint)
    assert transfer_fields(call)[:2] == ("warm", alice.pk)
    action = Action.objects.get(kind="warm_transfer")
    assert action.actor == sue and action.request["body"]["trigger_source"] == alice.endpoint


def test_transfer_needs_a_talking_agent(phlo_sim, talking_call, alice, bob):
    # Nobody holds their own leg: a supervisor holds Alice's.
    buttons.member_hold(
        actor=make_supervisor(username="sue"),
        member_id=talking_call.members.get(address=alice.endpoint).pk,
    )
    with pytest.raises(InvalidState, match="No agent is talking"):
        buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to=bob.endpoint)


@pytest.mark.parametrize(
    ("fault", "kind"),
    [({"status": 500}, "server_error"), ({"not_json": True}, "bad_response")],
)
def test_phlo_failure_leaves_the_call_as_it_was(phlo_sim, talking_call, alice, bob, fault, kind):
    phlo_sim.inject_fault(**fault)
    with pytest.raises(PhloFailed) as info:
        buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to=bob.endpoint)
    assert info.value.kind == kind
    assert info.value.message.startswith("Could not start the warm transfer to Bob: ")
    assert transfer_fields(talking_call) == NO_TRANSFER
    assert states(talking_call) == {alice.endpoint: S.TALKING, DANA: S.TALKING}
    assert talking_call.pending_action is None
    action = Action.objects.get(kind="warm_transfer")
    assert (action.outcome, action.error_kind) == ("failed", kind)
    assert action.request["body"]["to"] == bob.endpoint


def test_resume_failure_keeps_the_transfer(phlo_sim, talking_call, alice, bob):
    buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to=bob.endpoint)
    settle(phlo_sim, talking_call)
    phlo_sim.inject_fault(status=503)
    with pytest.raises(PhloFailed, match="Could not resume the call"):
        buttons.transfer_resume(actor=alice.user, call_id=talking_call.pk)
    assert transfer_fields(talking_call)[0] == "warm"
    assert states(talking_call)[DANA] == S.ON_HOLD


# --- supervisor barge -------------------------------------------------------------------------


def test_supervisor_joins(phlo_sim, talking_call, alice, sam):
    call = buttons.call_join(actor=sam, call_id=talking_call.pk)
    leg = call.members.get(address=sam.agent.endpoint)
    assert (leg.role, leg.agent, leg.state) == ("supervisor", sam.agent, S.DIALLING)
    action = Action.objects.get(kind="call", actor=sam)
    assert action.request["body"] == {
        "action": "call",
        "trigger_source": alice.endpoint,
        "to": sam.agent.endpoint,
        "role": "agent",
    }
    # The simulator put the supervisor into the same conference.
    assert sim_states(phlo_sim, call)[sam.agent.endpoint] == "ringing"
    call = settle(phlo_sim, call)
    assert states(call)[sam.agent.endpoint] == S.TALKING
    with pytest.raises(InvalidState, match="already on this call"):
        buttons.call_join(actor=sam, call_id=call.pk)


def test_an_agent_a_supervisor_takes_off_the_call_is_told_who_did(
    phlo_sim, talking_call, alice, sam
):
    """Review 2026-12-07: Sam joined Alice's call and hung her up from the wallboard; her
    card said "You left the call with Dana Diaz", as if she had. And the wallboard asked
    to take Sam off, left alone with Dana, saying the call would go on: it ends."""
    from agents.selectors import call_for_desktop, call_view
    from calls.selectors import call_with_members
    from calls.wallboard.selectors import call_row

    sams_status = sam.agent.status
    call = settle(phlo_sim, buttons.call_join(actor=sam, call_id=talking_call.pk))
    rows = {r.member.role: r for r in call_row(call=call_with_members(call_id=call.pk)).members}
    assert rows["supervisor"].hangup_question == (
        "Take Sam (supervisor) off the call? The call goes on without them."
    )
    buttons.member_hangup(actor=sam, member_id=call.members.get(agent=alice).pk)
    call = settle(phlo_sim, call)
    assert call.is_live
    card = call_view(call=call_for_desktop(call_id=call.pk), agent=alice)
    assert card.part_text == (
        "Sam took you off the call with Dana Diaz. The call goes on without you."
    )
    alice.refresh_from_db()
    assert (alice.status, card.placement) == (Agent.Status.WRAP_UP, "wrap_up")
    rows = {r.member.role: r for r in call_row(call=call_with_members(call_id=call.pk)).members}
    assert rows["supervisor"].hangup_question == (
        "Hang up Sam? Nobody else is on the call with Dana Diaz: the call ends."
    )
    assert rows["customer"].hangup_question == "Hang up Dana Diaz?"
    buttons.member_hangup(actor=sam, member_id=rows["supervisor"].member.pk)
    call = settle(phlo_sim, call)
    assert not call.is_live
    card = call_view(call=call_for_desktop(call_id=call.pk), agent=alice)
    assert (card.outcome_text, card.part_text) == (
        "Sam ended the call with Dana Diaz.",
        "Sam took you off the call with Dana Diaz.",
    )
    # Her part's wrap-up still runs; Sam, who only joined, owes none: his status is his own.
    alice.refresh_from_db()
    sam.agent.refresh_from_db()
    assert (alice.status, card.placement) == (Agent.Status.WRAP_UP, "wrap_up")
    assert sam.agent.status == sams_status
    assert call_view(call=call_for_desktop(call_id=call.pk), agent=sam.agent) is None
    # Her own Hang up is hers: "You left", as before.
    talking = settle(phlo_sim, buttons.call_start(actor=alice.user, to="+1 415 555 0101"))
    settle(phlo_sim, buttons.call_join(actor=sam, call_id=talking.pk))
    buttons.member_hangup(actor=alice.user, member_id=talking.members.get(agent=alice).pk)
    card = call_view(call=call_for_desktop(call_id=talking.pk), agent=alice)
    assert card.part_text.startswith("You left the call with Dana Diaz.")


def test_an_agent_may_not_hold_or_hang_up_a_supervisor_who_joined(
    phlo_sim, talking_call, alice, sam
):
    """The supervisor listening in or coaching stays on until a supervisor (or they
    themselves) takes them off: the agent's buttons skip their leg, and a forged press is
    refused (403) before PHLO is asked."""
    call = settle(phlo_sim, buttons.call_join(actor=sam, call_id=talking_call.pk))
    boss = call.members.get(role="supervisor")
    members = list(call.members.all())
    assert (
        rules.member_actions(
            call=call, member=boss, actor_agent=alice, supervisor=False, members=members
        )
        == set()
    )
    customer = call.members.get(address=DANA)
    assert "hold" in rules.member_actions(
        call=call, member=customer, actor_agent=alice, supervisor=False, members=members
    )
    for press in (buttons.member_hold, buttons.member_hangup):
        with pytest.raises(NotAllowed, match="Only a supervisor can act on"):
            press(actor=alice.user, member_id=boss.pk)
    assert not Action.objects.filter(kind__in=("hold", "hangup")).exists()
    assert states(call)[sam.agent.endpoint] == S.TALKING
    # Another supervisor may (nobody holds their own leg); and the supervisor may come off
    # hold and leave on their own.
    sue = make_supervisor(username="sue")
    assert buttons.member_hold(actor=sue, member_id=boss.pk).state == S.ON_HOLD
    buttons.member_unhold(actor=sam, member_id=boss.pk)
    buttons.member_hangup(actor=sam, member_id=boss.pk)
    assert states(settle(phlo_sim, call))[sam.agent.endpoint] == S.LEFT


def test_the_colleague_consulted_can_only_hang_up_themselves(phlo_sim, talking_call, alice, bob):
    """Ringing or answered, the colleague a warm transfer consults neither takes the customer
    off hold (they would hear the consult) nor hangs up the agent who asked them."""
    phlo_sim.phones.set_mode(bob.endpoint, "manual")
    buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to=bob.endpoint)
    phlo_sim.advance(0.1)
    customer = talking_call.members.get(address=DANA)
    alices = talking_call.members.get(address=alice.endpoint)

    def bobs_buttons() -> dict[str, set]:
        members = list(talking_call.members.all())
        call = Call.objects.get(pk=talking_call.pk)
        return {
            m.address: rules.member_actions(
                call=call, member=m, actor_agent=bob, supervisor=False, members=members
            )
            for m in members
            if m.is_live
        }

    for answered in (False, True):
        assert states(talking_call)[bob.endpoint] == (S.TALKING if answered else S.DIALLING)
        assert bobs_buttons()[DANA] == set() and bobs_buttons()[alice.endpoint] == set()
        with pytest.raises(NotAllowed, match=r"Answer the call|colleague consulted"):
            buttons.member_unhold(actor=bob.user, member_id=customer.pk)
        with pytest.raises(NotAllowed, match=r"Answer the call|colleague consulted"):
            buttons.member_hangup(actor=bob.user, member_id=alices.pk)
        assert states(talking_call)[DANA] == S.ON_HOLD
        if not answered:
            phlo_sim.phones.answer(bob.endpoint)
            settle(phlo_sim, talking_call, 0.1)
    assert not Action.objects.filter(kind__in=("unhold", "hangup")).exists()
    assert "hangup" in bobs_buttons()[bob.endpoint]


def test_the_transferring_agent_does_not_leave_before_the_colleague_answers(
    phlo_sim, talking_call, alice, bob
):
    """Leaving a warm transfer whose target still rings would leave the customer talking to
    nobody: the agent aborts it or waits. Once the colleague answers, leaving hands over."""
    phlo_sim.phones.set_mode(bob.endpoint, "manual")
    buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to=bob.endpoint)
    phlo_sim.advance(0.1)
    alices = talking_call.members.get(address=alice.endpoint)
    with pytest.raises(NotAllowed, match="has not answered yet: abort the transfer"):
        buttons.member_hangup(actor=alice.user, member_id=alices.pk)
    assert states(talking_call)[alice.endpoint] == S.TALKING
    phlo_sim.phones.answer(bob.endpoint)
    settle(phlo_sim, talking_call, 0.1)
    buttons.member_hangup(actor=alice.user, member_id=alices.pk)
    call = settle(phlo_sim, talking_call)
    assert call.owner == bob and states(call)[DANA] == S.TALKING


def test_join_is_for_supervisors_with_a_phone(phlo_sim, talking_call, alice, bob):
    with pytest.raises(NotAllowed, match="Only supervisors"):
        buttons.call_join(actor=alice.user, call_id=talking_call.pk)
    with pytest.raises(NotAllowed, match="agent profile"):
        buttons.call_join(actor=make_supervisor(username="sue"), call_id=talking_call.pk)
    assert Member.objects.filter(call=talking_call).count() == 2


def test_join_refused_on_a_ringing_call(phlo_sim, alice, sam):
    call = buttons.call_start(actor=alice.user, to=DANA)
    with pytest.raises(InvalidState, match="not been answered"):
        buttons.call_join(actor=sam, call_id=call.pk)
