"""What the wallboard's Hang up asks before it acts, by whose row it is on."""

from django.utils import timezone

from calls.models import Member
from calls.wallboard.selectors import MemberRow


def row(role: str, **fields) -> MemberRow:
    member = Member(role=role, address="sip:sam@phones.test", state="talking")
    return MemberRow(
        member=member,
        label="Sam Supervisor",
        since=timezone.now(),
        actions=("hangup",),
        is_transfer_target=False,
        **fields,
    )


def test_a_supervisor_leaving_a_call_is_asked_about_leaving_not_hanging_up():
    question = row(Member.Role.SUPERVISOR).hangup_question
    assert (
        question == "Take Sam Supervisor (supervisor) off the call? The call goes on without them."
    )


def test_a_waiting_caller_is_asked_about_ending_their_call():
    question = row(Member.Role.CUSTOMER, waits_in_queue=True).hangup_question
    assert question.endswith("Their call ends, and the queue counts them as sent on.")


def test_anyone_else_is_the_plain_question():
    assert row(Member.Role.AGENT).hangup_question == "Hang up Sam Supervisor?"
