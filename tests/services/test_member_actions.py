"""Hold, unhold, hang up and voicemail drop against the simulator over HTTP."""

import pytest
from django.contrib.auth.models import AnonymousUser

from agents.models import Agent
from calls.models import Action, Call, Member
from calls.services import (
    InvalidState,
    NotAllowed,
    NotFound,
    PhloFailed,
    buttons,
)
from tests.factories import make_supervisor
from tests.services.helpers import S, settle, sim_states, states

pytestmark = pytest.mark.django_db

DANA = "14155550101"


def leg(call: Call, address: str) -> Member:
    return call.members.filter(address=address).latest("pk")


def test_hold_then_unhold(phlo_sim, talking_call, alice):
    dana = leg(talking_call, DANA)
    version = talking_call.version

    held = buttons.member_hold(actor=alice.user, member_id=dana.pk)
    assert held.state == S.ON_HOLD and held.hold_started_at is not None
    assert sim_states(phlo_sim, talking_call)[DANA] == "on_hold"
    action = Action.objects.filter(kind="hold").get()
    assert (action.outcome, action.member, action.target, action.http_status) == (
        "succeeded",
        dana,
        DANA,
        201,
    )
    assert action.request["path"].endswith(f"/members/{DANA}")
    assert action.request["body"] == {"action": "hold"}
    talking_call.refresh_from_db()
    assert talking_call.version > version and talking_call.pending_action is None

    unheld = buttons.member_unhold(actor=alice.user, member_id=dana.pk)
    assert unheld.state == S.TALKING and unheld.hold_started_at is None
    assert sim_states(phlo_sim, talking_call)[DANA] == "talking"


def test_a_sip_leg_is_held_by_its_encoded_address(phlo_sim, talking_call, alice):
    """A supervisor holds Alice's SIP leg: the member's address is a path segment. Alice
    herself may not (on hold she would hear music and nobody would hear her)."""
    mine = leg(talking_call, alice.endpoint)
    with pytest.raises(NotAllowed, match="Put the customer on hold, not yourself"):
        buttons.member_hold(actor=alice.user, member_id=mine.pk)
    assert not Action.objects.filter(kind="hold").exists()
    sue = make_supervisor(username="sue")
    assert buttons.member_hold(actor=sue, member_id=mine.pk).state == S.ON_HOLD
    action = Action.objects.get(kind="hold")
    assert action.request["path"].endswith("/members/sip%3Aalice%40phones.test")
    # Taking herself off a hold stays hers to do.
    assert buttons.member_unhold(actor=alice.user, member_id=mine.pk).state == S.TALKING


def test_hold_refused_unless_talking(phlo_sim, talking_call, alice):
    dana = leg(talking_call, DANA)
    buttons.member_hold(actor=alice.user, member_id=dana.pk)
    before = Action.objects.count()
    with pytest.raises(InvalidState) as info:
        buttons.member_hold(actor=alice.user, member_id=dana.pk)
    assert info.value.message == "Dana Diaz is not talking (on hold), so cannot be held."
    assert info.value.http_status == 409
    # Refused before anything was sent or recorded.
    assert Action.objects.count() == before


def test_unhold_refused_unless_held(phlo_sim, talking_call, alice):
    with pytest.raises(InvalidState, match="Dana Diaz is not on hold"):
        buttons.member_unhold(actor=alice.user, member_id=leg(talking_call, DANA).pk)


def test_hold_refused_on_a_ringing_leg(phlo_sim, alice, dana):
    call = buttons.call_start(actor=alice.user, to=DANA)
    with pytest.raises(InvalidState, match="not talking"):
        buttons.member_hold(actor=alice.user, member_id=leg(call, DANA).pk)


def test_hanging_up_the_customer_ends_the_call_in_one_step(phlo_sim, talking_call, alice):
    gone = buttons.member_hangup(actor=alice.user, member_id=leg(talking_call, DANA).pk)
    assert gone.state == S.LEFT and gone.left_at is not None
    assert gone.end_cause == Member.EndCause.HUNG_UP
    talking_call.refresh_from_db()
    # No customer left: the call is over, and Alice is taken out of it with no second hang-up.
    assert talking_call.status == Call.Status.COMPLETED
    assert talking_call.outcome == Call.Outcome.AGENT_HUNG_UP
    mine = leg(talking_call, alice.endpoint)
    assert (mine.state, mine.end_cause) == (S.LEFT, Member.EndCause.TAKEN_OUT)
    assert sim_states(phlo_sim, talking_call) == {DANA: "gone", alice.endpoint: "gone"}
    alice.refresh_from_db()
    assert alice.status == Agent.Status.WRAP_UP
    # Nothing more can be done on an ended call.
    with pytest.raises(InvalidState, match="This call has ended"):
        buttons.member_hold(actor=alice.user, member_id=leg(talking_call, DANA).pk)


def test_hangup_a_ringing_leg_cancels_it(phlo_sim, alice):
    call = buttons.call_start(actor=alice.user, to="15005550005")  # rings until answered
    phlo_sim.advance(3)
    buttons.member_hangup(actor=alice.user, member_id=leg(call, "15005550005").pk)
    assert sim_states(phlo_sim, call)["15005550005"] == "gone"
    assert states(call)["15005550005"] == S.LEFT


def test_hangup_refused_for_a_leg_already_gone(phlo_sim, talking_call, alice):
    dana = leg(talking_call, DANA)
    buttons.member_hangup(actor=alice.user, member_id=dana.pk)
    with pytest.raises(InvalidState, match="This call has ended"):
        buttons.member_hangup(actor=alice.user, member_id=dana.pk)


def test_voicemail_drop(phlo_sim, alice):
    call = buttons.call_start(actor=alice.user, to="15005550003")  # a voicemail machine
    call = settle(phlo_sim, call)
    machine = leg(call, "15005550003")
    assert machine.state == S.VOICEMAIL
    # A machine cannot be held.
    with pytest.raises(InvalidState, match="not talking"):
        buttons.member_hold(actor=alice.user, member_id=machine.pk)

    dropped = buttons.member_voicemail_drop(actor=alice.user, member_id=machine.pk)
    assert dropped.state == S.LEFT
    assert phlo_sim.member("15005550003")["playing_message"] is True
    # The provider's later exit for that leg changes nothing: left is terminal.
    assert settle(phlo_sim, call, seconds=5).members.get(pk=machine.pk).state == S.LEFT


def test_voicemail_drop_refused_for_a_person(phlo_sim, talking_call, alice):
    with pytest.raises(InvalidState, match="not answered by a voicemail machine"):
        buttons.member_voicemail_drop(actor=alice.user, member_id=leg(talking_call, DANA).pk)


# --- who may ----------------------------------------------------------------------------------


def test_another_agent_is_refused(phlo_sim, talking_call, bob):
    with pytest.raises(NotAllowed) as info:
        buttons.member_hold(actor=bob.user, member_id=leg(talking_call, DANA).pk)
    assert info.value.message == (
        "You are not on this call; only its agents and supervisors can act on it."
    )
    assert info.value.http_status == 403
    assert not Action.objects.filter(kind="hold").exists()
    assert sim_states(phlo_sim, talking_call)[DANA] == "talking"


def test_supervisor_without_a_phone_is_allowed(phlo_sim, talking_call):
    sue = make_supervisor(username="sue")
    held = buttons.member_hold(actor=sue, member_id=leg(talking_call, DANA).pk)
    assert held.state == S.ON_HOLD
    assert Action.objects.get(kind="hold").actor == sue


def test_anonymous_and_profile_less_users_are_refused(phlo_sim, talking_call, plain_user):
    dana = leg(talking_call, DANA)
    with pytest.raises(NotAllowed, match="Sign in"):
        buttons.member_hold(actor=AnonymousUser(), member_id=dana.pk)
    with pytest.raises(NotAllowed, match="Only the call's agents and supervisors"):
        buttons.member_hold(actor=plain_user, member_id=dana.pk)
    plain_user.is_active = False
    with pytest.raises(NotAllowed):
        buttons.member_hold(actor=plain_user, member_id=dana.pk)


def test_agent_on_the_call_who_is_not_the_owner_may_act(phlo_sim, talking_call, alice, bob):
    buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to=bob.endpoint)
    settle(phlo_sim, talking_call)
    buttons.transfer_resume(actor=alice.user, call_id=talking_call.pk)
    assert buttons.member_hold(actor=bob.user, member_id=leg(talking_call, DANA).pk).state == (
        S.ON_HOLD
    )


def test_unknown_member(phlo_sim, alice):
    with pytest.raises(NotFound) as info:
        buttons.member_hold(actor=alice.user, member_id=424242)
    assert info.value.http_status == 404


# --- PHLO failures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "kind", "status"),
    [
        ({"status": 500}, "server_error", 500),
        ({"status": 503, "body": "<html>down</html>"}, "server_error", 503),
        ({"not_json": True}, "bad_response", 201),
        # A dropped connection or a timeout leaves the outcome unknown instead; see
        # tests/services/test_unknown_outcomes.py.
    ],
)
def test_phlo_failure_changes_nothing(phlo_sim, talking_call, alice, fault, kind, status):
    dana = leg(talking_call, DANA)
    version = talking_call.version
    phlo_sim.inject_fault(**fault)
    with pytest.raises(PhloFailed) as info:
        buttons.member_hold(actor=alice.user, member_id=dana.pk)
    assert (info.value.kind, info.value.status) == (kind, status)
    assert info.value.message.startswith("Could not put Dana Diaz on hold: ")
    dana.refresh_from_db()
    talking_call.refresh_from_db()
    assert dana.state == S.TALKING
    assert talking_call.pending_action is None and talking_call.version == version
    action = Action.objects.get(kind="hold")
    assert (action.outcome, action.error_kind, action.http_status) == ("failed", kind, status)
    assert action.error == info.value.message and action.finished_at
    assert action.request["body"] == {"action": "hold"}
    # The call is free again: the next try goes through.
    assert buttons.member_hold(actor=alice.user, member_id=dana.pk).state == S.ON_HOLD


def test_timeout_is_reported_as_unknown(phlo_sim, settings, talking_call, alice):
    settings.PHLO_READ_TIMEOUT = 0.1
    phlo_sim.inject_fault(delay=0.4)
    with pytest.raises(PhloFailed) as info:
        buttons.member_hold(actor=alice.user, member_id=leg(talking_call, DANA).pk)
    assert info.value.kind == "timeout"
    assert "outcome is unknown" in info.value.message
    assert leg(talking_call, DANA).state == S.TALKING


def test_wrong_credentials(phlo_sim, settings, talking_call, alice):
    settings.PLIVO_AUTH_TOKEN = "not-the-token"
    with pytest.raises(PhloFailed) as info:
        buttons.member_hangup(actor=alice.user, member_id=leg(talking_call, DANA).pk)
    assert (info.value.kind, info.value.status) == ("unauthorized", 401)
    assert "PLIVO_AUTH_TOKEN" in info.value.message
    assert "not-the-token" not in info.value.message
    assert leg(talking_call, DANA).state == S.TALKING


def test_provider_refusal_text_is_shown(phlo_sim, talking_call, alice):
    # Dana hung up on her side and we have not heard yet: PHLO refuses, saying why.
    phlo_sim.phones.hangup(DANA)
    with pytest.raises(PhloFailed) as info:
        buttons.member_hold(actor=alice.user, member_id=leg(talking_call, DANA).pk)
    assert (info.value.kind, info.value.status) == ("bad_request", 400)
    assert info.value.message == (
        "Could not put Dana Diaz on hold: PHLO refused the request:"
        " No member +14155550101 is in a live call on this node."
    )
    assert Action.objects.get(kind="hold").error_kind == "bad_request"
