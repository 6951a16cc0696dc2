"""calls.services.rules: pure functions over unsaved rows, so these run without a database."""

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from agents.models import Agent
from calls.models import Call, Customer, Member
from calls.services import rules

K = rules.Kind
S = Member.State


def agent(pk: int, name: str) -> Agent:
    return Agent(pk=pk, user=User(pk=pk, username=name), endpoint=f"sip:{name}@phones.test")


ALICE, BOB, CAROL, SAM = agent(1, "alice"), agent(2, "bob"), agent(3, "carol"), agent(4, "sam")
DANA = Customer(pk=1, name="Dana Diaz", phone="14155550101")


def leg(pk: int, who, state: str = S.TALKING, role: str | None = None) -> Member:
    if isinstance(who, Agent):
        return Member(pk=pk, address=who.endpoint, role=role or "agent", agent=who, state=state)
    return Member(pk=pk, address=who.phone, role="customer", customer=who, state=state)


def call(status: str = "active", owner: Agent = ALICE, **transfer) -> Call:
    c = Call(pk=1, status=status, owner=owner)
    if transfer:
        c.transfer_kind = transfer["kind"]
        c.transfer_from = transfer.get("from_", ALICE)
        c.transfer_to_address = transfer["to"].endpoint
        c.transfer_to_agent = transfer["to"]
        c.transfer_started_at = timezone.now()
    return c


def call_acts(c, members, actor=ALICE, supervisor=False):
    return rules.call_actions(call=c, members=members, actor_agent=actor, supervisor=supervisor)


def member_acts(c, member, members, actor=ALICE, supervisor=False):
    return rules.member_actions(
        call=c, member=member, members=members, actor_agent=actor, supervisor=supervisor
    )


def test_talking_call_offers_transfers_and_member_controls():
    c = call()
    members = [leg(1, ALICE), leg(2, DANA)]
    assert call_acts(c, members) == {K.WARM_TRANSFER, K.COLD_TRANSFER}
    assert member_acts(c, members[1], members) == {K.HOLD, K.HANGUP}


def test_nobody_is_offered_hold_on_their_own_leg_but_may_come_off_hold():
    """On hold one hears music and nobody hears you: an agent holds the customer. A hold a
    supervisor put on her can always be undone, by her too."""
    c = call()
    members = [leg(1, ALICE), leg(2, DANA)]
    assert member_acts(c, members[0], members) == {K.HANGUP}
    assert member_acts(c, members[0], members, actor=SAM, supervisor=True) == {K.HOLD, K.HANGUP}
    held = [leg(1, ALICE, S.ON_HOLD), leg(2, DANA)]
    assert member_acts(c, held[0], held) == {K.UNHOLD, K.HANGUP}


def test_a_held_customer_is_unheld_by_the_transfers_own_ends_not_unhold():
    c = call(kind="warm", to=BOB)
    members = [leg(1, ALICE), leg(2, DANA, S.ON_HOLD), leg(3, BOB, S.DIALLING)]
    # Unhold would let the customer into the colleagues' private talk: abort or resume.
    assert member_acts(c, members[1], members) == {K.HANGUP}
    assert "or abort it to take" in rules.member_action_refusal(
        kind=K.UNHOLD, call=c, member=members[1], members=members
    )
    # During a cold transfer the customer is held until the ring is answered: taken off
    # hold, they were left talking to nobody once Alice left (review 2026-12-07). Stopping
    # the ring ends the transfer, and the hold with it.
    cold = call(kind="cold", to=BOB)
    assert member_acts(cold, members[1], members) == {K.HANGUP}
    assert rules.member_action_refusal(
        kind=K.UNHOLD, call=cold, member=members[1], members=members
    ) == (
        "alice's cold transfer to bob is in progress: Dana Diaz waits on hold until it is"
        " answered. Hang up the ring to stop the transfer."
    )
    assert member_acts(cold, members[2], members) == {K.HANGUP}  # the ring, to stop it
    # No holds during a transfer: resume or abort it first.
    assert K.HOLD not in member_acts(c, members[0], members)
    assert "resume or abort" in rules.member_action_refusal(
        kind=K.HOLD, call=c, member=members[0], members=members
    )


def test_only_one_transfer_at_a_time_and_resume_waits_for_answer():
    c = call(kind="warm", to=BOB)
    ringing = [leg(1, ALICE), leg(2, DANA, S.ON_HOLD), leg(3, BOB, S.DIALLING)]
    assert call_acts(c, ringing) == {K.ABORT_TRANSFER}
    reason = rules.call_action_refusal(
        kind=K.COLD_TRANSFER, call=c, members=ringing, actor_agent=ALICE, supervisor=False
    )
    assert reason.startswith("alice's warm transfer to bob is already in progress")
    answered = [leg(1, ALICE), leg(2, DANA, S.ON_HOLD), leg(3, BOB)]
    assert call_acts(c, answered) == {K.RESUME_CALL, K.ABORT_TRANSFER}


def test_only_the_agent_who_started_a_warm_transfer_resumes_or_aborts_it():
    """Bob, consulted, can hang up his own leg but not bring the customer in or end Alice's
    transfer; a supervisor can."""
    c = call(kind="warm", to=BOB)
    answered = [leg(1, ALICE), leg(2, DANA, S.ON_HOLD), leg(3, BOB)]
    assert call_acts(c, answered, actor=BOB) == set()
    for kind, what in ((K.RESUME_CALL, "resume"), (K.ABORT_TRANSFER, "abort")):
        reason = rules.call_action_refusal(
            kind=kind, call=c, members=answered, actor_agent=BOB, supervisor=False
        )
        assert reason == f"alice started this transfer; only they can {what} it."
    assert call_acts(c, answered, actor=SAM, supervisor=True) >= {K.RESUME_CALL, K.ABORT_TRANSFER}
    assert K.HANGUP in member_acts(c, answered[2], answered, actor=BOB)


def test_cold_transfer_in_progress_offers_no_resume_or_abort():
    c = call(kind="cold", to=BOB)
    members = [leg(1, ALICE), leg(2, DANA, S.ON_HOLD), leg(3, BOB, S.DIALLING)]
    assert call_acts(c, members) == set()
    # The ringing target can still be hung up, which ends the transfer.
    assert member_acts(c, members[2], members) == {K.HANGUP}


def test_resume_needs_the_initiator_still_on_the_call():
    c = call(kind="warm", to=BOB)
    members = [leg(1, ALICE, S.LEFT), leg(2, DANA, S.ON_HOLD), leg(3, BOB)]
    reason = rules.call_action_refusal(
        kind=K.RESUME_CALL, call=c, members=members, actor_agent=BOB, supervisor=False
    )
    assert reason == "The agent who started the transfer has left the call."


def test_nobody_is_held_while_alone_on_the_call():
    """Review 2026-12-06: the wallboard offered Hold on Alice's row while her customer's
    phone still rang: she was alone in the conference, with nobody to be held from."""
    c = call(status="dialling")
    ringing = [leg(1, ALICE), leg(2, DANA, S.DIALLING)]
    assert member_acts(c, ringing[0], ringing, actor=SAM, supervisor=True) == {K.HANGUP}
    assert rules.member_action_refusal(kind=K.HOLD, call=c, member=ringing[0], members=ringing) == (
        "alice is alone on the call: there is nobody to hold them from yet."
    )
    answered = [leg(1, ALICE), leg(2, DANA)]
    assert K.HOLD in member_acts(call(), answered[0], answered, actor=SAM, supervisor=True)


def test_ended_call_offers_nothing():
    c = call(status="completed")
    members = [leg(1, ALICE, S.LEFT), leg(2, DANA, S.LEFT)]
    assert call_acts(c, members, supervisor=True) == set()
    assert member_acts(c, members[1], members, supervisor=True) == set()
    assert rules.member_action_refusal(
        kind=K.HANGUP, call=c, member=members[1], members=members
    ) == ("This call has ended.")


def test_dialling_call_offers_hangup_but_no_transfer():
    c = call(status="dialling")
    members = [leg(1, ALICE, S.DIALLING), leg(2, DANA, S.DIALLING)]
    assert call_acts(c, members) == set()
    assert member_acts(c, members[1], members) == {K.HANGUP}


def test_voicemail_member_offers_drop_not_hold():
    c = call()
    members = [leg(1, ALICE), leg(2, DANA, S.VOICEMAIL)]
    assert member_acts(c, members[1], members) == {K.VOICEMAIL_DROP, K.HANGUP}
    assert "not talking" in rules.member_action_refusal(
        kind=K.HOLD, call=c, member=members[1], members=members
    )


def test_voicemail_drop_refused_for_a_person():
    c = call()
    members = [leg(1, ALICE), leg(2, DANA)]
    assert rules.member_action_refusal(
        kind=K.VOICEMAIL_DROP, call=c, member=members[1], members=members
    ) == ("Dana Diaz was not answered by a voicemail machine.")


def test_left_member_offers_nothing():
    c = call()
    members = [leg(1, ALICE), leg(2, DANA), leg(3, BOB, S.LEFT)]
    assert member_acts(c, members[2], members) == set()
    assert rules.member_action_refusal(
        kind=K.HANGUP, call=c, member=members[2], members=members
    ) == ("bob is no longer on the call.")


@pytest.mark.parametrize(
    ("actor", "supervisor", "allowed"),
    [
        (ALICE, False, True),  # owner with a leg
        (BOB, False, True),  # not owner, but on the call
        (CAROL, False, False),  # another agent
        (None, False, False),  # no agent profile
        (None, True, True),  # supervisor without a phone
        (SAM, True, True),
    ],
)
def test_who_may_act(actor, supervisor, allowed):
    c = call()
    members = [leg(1, ALICE), leg(2, DANA), leg(3, BOB)]
    assert rules.may_act(call=c, members=members, actor_agent=actor, supervisor=supervisor) is (
        allowed
    )
    assert bool(member_acts(c, members[1], members, actor, supervisor)) is allowed


def test_owner_without_a_leg_may_still_act():
    c = call(owner=ALICE)
    members = [leg(1, ALICE, S.LEFT), leg(2, DANA), leg(3, BOB)]
    assert rules.may_act(call=c, members=members, actor_agent=ALICE, supervisor=False)


def test_trigger_leg_prefers_the_actor_then_the_owner():
    c = call(owner=ALICE)
    members = [leg(1, ALICE), leg(2, DANA), leg(3, BOB)]
    assert rules.trigger_leg(call=c, members=members, actor_agent=BOB).pk == 3
    assert rules.trigger_leg(call=c, members=members, actor_agent=SAM).pk == 1
    held = [leg(1, ALICE, S.ON_HOLD), leg(2, DANA)]
    assert rules.trigger_leg(call=c, members=held, actor_agent=SAM) is None
    assert rules.call_action_refusal(
        kind=K.WARM_TRANSFER, call=c, members=held, actor_agent=SAM, supervisor=True
    ) == ("No agent is talking on this call, so there is nobody to transfer from.")


def test_transfer_needs_a_customer_and_room():
    c = call()
    agents_only = [leg(1, ALICE), leg(2, BOB)]
    assert call_acts(c, agents_only) == set()
    full = [leg(1, ALICE), leg(2, DANA)] + [
        Member(pk=10 + i, address=f"1415555{i:04d}", role="customer", state=S.TALKING)
        for i in range(8)
    ]
    reason = rules.call_action_refusal(
        kind=K.WARM_TRANSFER, call=c, members=full, actor_agent=ALICE, supervisor=False
    )
    assert reason == "A call can have at most 10 participants."


def test_join_is_for_supervisors_with_a_phone_not_on_the_call():
    c = call()
    members = [leg(1, ALICE), leg(2, DANA)]
    assert rules.JOIN in call_acts(c, members, actor=SAM, supervisor=True)
    assert rules.JOIN not in call_acts(c, members, actor=ALICE, supervisor=False)
    assert rules.JOIN not in call_acts(c, members, actor=None, supervisor=True)
    joined = [*members, leg(3, SAM, role="supervisor")]
    assert rules.JOIN not in call_acts(c, joined, actor=SAM, supervisor=True)
    # A supervisor on the call can hold, transfer and hang up like the agents.
    assert call_acts(c, joined, actor=SAM, supervisor=True) == {K.WARM_TRANSFER, K.COLD_TRANSFER}


def test_join_waits_for_the_customer_to_answer_and_not_a_machine():
    """An outbound call is active once the agent's phone answers: while the customer's
    still rings, or a voicemail machine took it, there is no conversation to join."""
    c = call()
    ringing = [leg(1, ALICE), leg(2, DANA, S.DIALLING)]
    assert rules.JOIN not in call_acts(c, ringing, actor=SAM, supervisor=True)
    machine = leg(2, DANA, S.VOICEMAIL)
    machine.is_machine = True
    assert rules.JOIN not in call_acts(c, [leg(1, ALICE), machine], actor=SAM, supervisor=True)
    held = [leg(1, ALICE), leg(2, DANA, S.ON_HOLD)]
    assert rules.JOIN in call_acts(c, held, actor=SAM, supervisor=True)


def test_no_transfer_before_the_customer_answers_nor_of_a_voicemail_machine():
    """The buttons were offered on a call a machine answered, and PHLO refused the press:
    "There is no connected customer on this call to transfer"."""
    c = call()
    machine = leg(2, DANA, S.VOICEMAIL)
    machine.is_machine = True
    for members, why in (
        ([leg(1, ALICE), machine], "A voicemail machine answered"),
        ([leg(1, ALICE), leg(2, DANA, S.DIALLING)], "The customer has not answered yet"),
    ):
        assert call_acts(c, members) & {K.WARM_TRANSFER, K.COLD_TRANSFER} == set()
        reason = rules.call_action_refusal(
            kind=K.COLD_TRANSFER, call=c, members=members, actor_agent=ALICE, supervisor=False
        )
        assert reason == f"{why}: there is nobody to transfer yet."


def test_available_actions_covers_every_member():
    c = call()
    members = [leg(1, ALICE), leg(2, DANA, S.ON_HOLD)]
    result = rules.available_actions(call=c, members=members, actor_agent=ALICE, supervisor=False)
    assert result == {
        "call": {K.WARM_TRANSFER, K.COLD_TRANSFER},
        "members": {1: {K.HANGUP}, 2: {K.UNHOLD, K.HANGUP}},
    }


def test_unknown_kinds_are_programming_errors():
    c = call()
    with pytest.raises(ValueError):
        rules.call_action_refusal(
            kind=K.HOLD, call=c, members=[], actor_agent=ALICE, supervisor=False
        )
    with pytest.raises(ValueError):
        rules.member_action_refusal(kind=K.WARM_TRANSFER, call=c, member=leg(1, ALICE), members=[])
