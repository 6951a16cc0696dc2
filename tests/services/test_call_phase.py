"""A live call's header (`calls.outcomes.call_phase`) and how its legs' roles are named, as
every page shows them: pure functions over a call and its legs, checked without a database."""

import pytest
from django.utils import timezone

from agents.models import Agent
from calls.models import Call, Member
from calls.outcomes import call_phase, member_role_label, member_state_label

State = Member.State
Role = Member.Role
VOICEMAIL = "15005550007"
MESSAGE = "15005550006"


@pytest.fixture(autouse=True)
def stand_ins(settings):
    settings.INBOUND_VOICEMAIL_ENDPOINT = VOICEMAIL
    settings.INBOUND_MESSAGE_ENDPOINT = MESSAGE


def inbound(*legs: Member) -> tuple[Call, list[Member]]:
    call = Call(status=Call.Status.ACTIVE, direction=Call.Direction.INBOUND)
    return call, list(legs)


def caller(state: str) -> Member:
    return Member(role=Role.CUSTOMER, address="14155550101", state=state)


def agent_leg(state: str, pk: int = 7) -> Member:
    return Member(role=Role.AGENT, address="sip:alice@phones.test", state=state, agent=Agent(pk=pk))


def stand_in(address: str, state: str = State.TALKING) -> Member:
    return Member(role=Role.NO_AGENT, address=address, state=state)


def test_a_caller_nobody_rings_for_waits_for_an_agent():
    call, members = inbound(caller(State.WAITING))
    assert call_phase(call=call, members=members) == "Waiting for an agent"


def test_a_caller_offered_to_an_agent_rings_rather_than_waits():
    """The agent being offered the call reads its header: it rings for them."""
    call, members = inbound(caller(State.WAITING), agent_leg(State.DIALLING))
    assert call_phase(call=call, members=members) == "Ringing"


def test_the_caller_and_an_agent_talking_are_connected():
    call, members = inbound(caller(State.TALKING), agent_leg(State.TALKING))
    assert call_phase(call=call, members=members) == "Connected"


@pytest.mark.parametrize(
    ("address", "phase"), [(VOICEMAIL, "Voicemail"), (MESSAGE, "No-agent message")]
)
@pytest.mark.parametrize("leg_state", [State.DIALLING, State.TALKING])
def test_a_caller_sent_on_is_not_connected_with_nobody(address, phase, leg_state):
    """The queue's exit (or the no-agent outcome) answers the caller, but no agent is there:
    the header says where the caller went, never "Connected"."""
    call, members = inbound(caller(State.TALKING), stand_in(address, leg_state))
    assert call_phase(call=call, members=members) == phase


def test_a_customer_handed_to_an_outside_number_is_connected():
    """A cold transfer to a number that is not an agent's: the customer talks with it."""
    outside = Member(role=Role.AGENT, address="14155550177", state=State.TALKING)
    call, members = inbound(caller(State.TALKING), outside)
    assert call_phase(call=call, members=members) == "Connected"
    assert member_role_label(outside) == "Outside number"


def test_an_ended_call_is_ended_whatever_its_legs_say():
    call, members = inbound(caller(State.TALKING), agent_leg(State.TALKING))
    call.status = Call.Status.COMPLETED
    assert call_phase(call=call, members=members) == "Ended"


@pytest.mark.parametrize(
    ("leg", "label"),
    [
        (stand_in(VOICEMAIL), "Voicemail"),
        (stand_in(MESSAGE), "No-agent message"),
        (stand_in("sip:elsewhere@example.com"), "Voicemail or message"),
        (agent_leg(State.TALKING), "Agent"),
        (caller(State.TALKING), "Customer"),
    ],
)
def test_a_leg_is_named_by_what_it_is(leg, label):
    assert member_role_label(leg) == label


def left(cause: str) -> Member:
    leg = caller(State.LEFT)
    leg.end_cause = cause
    return leg


def answered(leg: Member) -> Member:
    leg.answered_at = timezone.now()
    return leg


@pytest.mark.parametrize(
    ("leg", "label"),
    [
        (left(Member.EndCause.NOT_DIALLED), "Never dialled"),
        (left(Member.EndCause.DECLINED), "Declined"),
        (answered(left(Member.EndCause.FAR_END)), "Left"),
        (answered(left(Member.EndCause.TAKEN_OUT)), "Left"),
        (left(Member.EndCause.TAKEN_OUT), "Cancelled"),  # rang until the call ended
        (left(Member.EndCause.HUNG_UP), "Cancelled"),
        (caller(State.NO_ANSWER), "No answer"),
        (caller(State.TALKING), "Talking"),
    ],
)
def test_a_leg_that_left_says_how_where_left_would_mislead(leg, label):
    """A number never rung is not someone who "Left" the call."""
    assert member_state_label(leg) == label
