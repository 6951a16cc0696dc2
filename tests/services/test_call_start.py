"""call_start ("Call") against the simulator over HTTP."""

import socket

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.models import AnonymousUser

from agents.models import Agent
from agents.pushes import agent_group
from calls.models import Action, Call, Member
from calls.services import InvalidInput, InvalidState, NotAllowed, PhloFailed, buttons
from tests.factories import make_customer
from tests.services.helpers import S, phlo_requests, settle, sim_states, states
from tests.sockets import drain

pytestmark = pytest.mark.django_db


def test_call_a_customer(phlo_sim, settings, alice, dana):
    call = buttons.call_start(actor=alice.user, to="+1 (415) 555-0101")

    assert call.status == Call.Status.DIALLING
    assert (call.owner, call.customer, call.direction) == (alice, dana, "outbound")
    assert call.pending_action is None
    assert call.version >= 1
    agent_leg, customer_leg = call.members.all()
    assert (agent_leg.address, agent_leg.role, agent_leg.agent, agent_leg.state) == (
        alice.endpoint,
        "agent",
        alice,
        S.DIALLING,
    )
    # The customer rings once Alice is on the call.
    assert (customer_leg.address, customer_leg.role, customer_leg.customer) == (
        "14155550101",
        "customer",
        dana,
    )
    assert customer_leg.state == S.PENDING
    action = Action.objects.get(call=call)
    assert (action.kind, action.outcome, action.http_status, action.actor) == (
        "call",
        "succeeded",
        201,
        alice.user,
    )
    assert len(action.api_id) == 36 and action.finished_at and action.member == customer_leg
    assert action.target == "14155550101"
    assert action.request == {
        "method": "POST",
        "path": f"/v1/phlo/{settings.PHLO_ID}/multi_party_call/{settings.PHLO_MPC_NODE_ID}",
        "body": {
            "action": "call",
            "trigger_source": alice.endpoint,
            "to": "14155550101",
            "role": "customer",
        },
    }
    alice.refresh_from_db()
    assert alice.status == Agent.Status.ON_CALL
    assert sim_states(phlo_sim, call) == {alice.endpoint: "ringing"}

    call = settle(phlo_sim, call, seconds=2)  # Alice answers: now Dana rings
    assert states(call) == {alice.endpoint: S.TALKING, "14155550101": S.DIALLING}
    assert sim_states(phlo_sim, call) == {alice.endpoint: "talking", "14155550101": "ringing"}
    call = settle(phlo_sim, call, seconds=2)
    assert call.status == Call.Status.ACTIVE
    assert states(call) == {alice.endpoint: S.TALKING, "14155550101": S.TALKING}


def test_unknown_number_has_no_customer(phlo_sim, alice):
    call = buttons.call_start(actor=alice.user, to="+44 20 7946 0999")
    assert call.customer is None
    assert [(m.address, m.role, m.customer) for m in call.members.all()][1] == (
        "442079460999",
        "customer",
        None,
    )


def test_customer_id_picks_the_record(phlo_sim, alice, dana):
    call = buttons.call_start(actor=alice.user, to="", customer_id=dana.pk)
    assert call.customer == dana
    assert call.members.last().address == dana.phone


def test_customer_id_wins_over_the_number_typed(phlo_sim, alice, dana):
    # Dana asked to be called back on another number that belongs to a different record.
    other = make_customer(name="Other", phone="+14155550199")
    call = buttons.call_start(actor=alice.user, to=other.phone, customer_id=dana.pk)
    assert call.customer == dana
    assert call.members.last().address == other.phone


def test_calling_another_agent_uses_role_agent(phlo_sim, alice, bob):
    call = buttons.call_start(actor=alice.user, to="sip:bob@Phones.TEST")
    target = call.members.last()
    assert (target.address, target.role, target.agent, target.customer) == (
        bob.endpoint,
        "agent",
        bob,
        None,
    )
    assert Action.objects.get(call=call).request["body"]["role"] == "agent"
    phlo_sim.advance(2)  # Bob rings once Alice is on the call
    member = phlo_sim.member(bob.endpoint)
    assert member["role"] == "agent"


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ("", "Enter a phone number or a SIP address."),
        ("12", "is not a valid phone number"),
        ("sip:nobody", "is not a valid SIP address"),
    ],
)
def test_bad_addresses_are_refused_before_anything_happens(phlo_sim, alice, to, message):
    with pytest.raises(InvalidInput) as info:
        buttons.call_start(actor=alice.user, to=to)
    assert message in info.value.message
    assert info.value.http_status == 400
    assert not Call.objects.exists() and not Action.objects.exists()
    assert phlo_sim.snapshot()["conferences"] == []


def test_own_endpoint_refused(phlo_sim, alice):
    with pytest.raises(InvalidInput, match="your own endpoint"):
        buttons.call_start(actor=alice.user, to="sip:alice@phones.test")


def test_unknown_customer_id(phlo_sim, alice):
    with pytest.raises(InvalidInput, match="customer does not exist"):
        buttons.call_start(actor=alice.user, to="", customer_id=9999)


def test_needs_an_agent_profile(phlo_sim, plain_user, sam):
    with pytest.raises(NotAllowed, match="agent profile"):
        buttons.call_start(actor=plain_user, to="+14155550101")
    with pytest.raises(NotAllowed, match="Sign in"):
        buttons.call_start(actor=AnonymousUser(), to="+14155550101")
    # A supervisor with a phone may call.
    assert buttons.call_start(actor=sam, to="+14155550101").owner.user == sam


def test_one_call_at_a_time(phlo_sim, alice):
    buttons.call_start(actor=alice.user, to="+14155550101")
    with pytest.raises(InvalidState, match="already on a call"):
        buttons.call_start(actor=alice.user, to="+14155550102")
    assert Call.objects.count() == 1


def test_busy_agent_cannot_be_called(phlo_sim, alice, bob, carol):
    buttons.call_start(actor=bob.user, to="+14155550101")
    with pytest.raises(InvalidState, match="Bob is on another call"):
        buttons.call_start(actor=alice.user, to=bob.endpoint)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


FAILURES = {
    "server_error": (lambda sim, s: sim.inject_fault(status=500), 500),
    "unavailable_html": (lambda sim, s: sim.inject_fault(status=503, body="<html>x</html>"), 503),
    "unauthorized": (lambda sim, s: setattr(s, "PLIVO_AUTH_TOKEN", "wrong"), 401),
    "not_found": (lambda sim, s: setattr(s, "PHLO_ID", "nope"), 404),
    "bad_response": (lambda sim, s: sim.inject_fault(not_json=True), 201),
    # Refused: nothing was sent. A timeout or a dropped connection leaves the outcome unknown
    # and the call dialling instead (tests/services/test_unknown_outcomes.py).
    "connection": (
        lambda sim, s: setattr(s, "PHLO_BASE_URL", f"http://127.0.0.1:{_closed_port()}/v1"),
        None,
    ),
}


@pytest.mark.parametrize("failure", FAILURES)
def test_phlo_failure_marks_the_new_call_failed(phlo_sim, settings, alice, dana, failure):
    arrange, status = FAILURES[failure]
    arrange(phlo_sim, settings)
    with pytest.raises(PhloFailed) as info:
        buttons.call_start(actor=alice.user, to=dana.phone)
    error = info.value
    kind = {"unavailable_html": "server_error"}.get(failure, failure)
    assert (error.kind, error.status, error.code, error.http_status) == (
        kind,
        status,
        "phlo_failed",
        502,
    )
    assert error.message.startswith("Could not place the call: ")
    call = Call.objects.get()
    assert call.status == Call.Status.FAILED and call.ended_at is not None
    assert call.pending_action is None
    assert set(call.members.values_list("state", flat=True)) == {S.FAILED}
    action = Action.objects.get()
    assert (action.outcome, action.error_kind, action.http_status) == ("failed", kind, status)
    assert action.error == error.message
    assert action.request["body"]["to"] == dana.phone
    assert "wrong" not in action.error
    alice.refresh_from_db()
    # A call that never got going does not put the agent into wrap-up.
    assert alice.status == Agent.Status.AVAILABLE
    # And the agent can try again straight away.
    phlo_sim.clear_faults()
    settings.PLIVO_AUTH_TOKEN = "test-auth-token"
    settings.PHLO_ID = "11111111-2222-4333-8444-555555555555"
    settings.PHLO_READ_TIMEOUT = 5
    settings.PHLO_BASE_URL = phlo_sim.api_url
    assert buttons.call_start(actor=alice.user, to=dana.phone).status == Call.Status.DIALLING


# --- what may be dialled -----------------------------------------------------------------------


def refused(sim, *, match: str, **kwargs) -> str:
    """call_start's InvalidInput message, checking that nothing was dialled or recorded."""
    before = (Call.objects.count(), Action.objects.count())
    with phlo_requests(sim) as sent, pytest.raises(InvalidInput, match=match) as info:
        buttons.call_start(**kwargs)
    assert sent == []
    assert (Call.objects.count(), Action.objects.count()) == before
    return info.value.message


def test_a_truncated_number_is_not_dialled(phlo_sim, alice):
    message = refused(phlo_sim, actor=alice.user, to="+1 415 55", match="not a valid phone")
    assert (
        message
        == "'+1 415 55' is not a valid phone number: it is too short for +1. Check the digits."
    )
    refused(phlo_sim, actor=alice.user, to="+1 123 456 7890", match="no \\+1 number starts")


def test_a_local_number_is_read_in_the_default_region(phlo_sim, settings, alice, dana):
    settings.PHONE_DEFAULT_REGION = "US"
    call = buttons.call_start(actor=alice.user, to="415 555 0101")
    assert (call.customer, call.members.get(role="customer").address) == (dana, "14155550101")


def test_the_default_region_comes_from_settings(phlo_sim, settings, alice, dana):
    settings.PHONE_DEFAULT_REGION = "GB"
    call = buttons.call_start(actor=alice.user, to="020 7946 0999")
    assert call.members.get(role="customer").address == "442079460999"
    refused(phlo_sim, actor=alice.user, to="415 555 0101", match="not a valid phone number in GB")


def test_a_customers_number_on_record_is_not_read_as_a_local_one(phlo_sim, settings, alice):
    settings.PHONE_DEFAULT_REGION = "GB"
    dana = make_customer(name="Dana Diaz", phone="+14155550101")
    call = buttons.call_start(actor=alice.user, to="", customer=dana)
    assert call.members.get(role="customer").address == "14155550101"


def test_a_customer_whose_number_cannot_be_dialled(phlo_sim, alice):
    gus = make_customer(name="Gus Garcia", phone="+1 415 55")  # as a callback could store it
    message = refused(phlo_sim, actor=alice.user, to="", customer_id=gus.pk, match="Gus Garcia")
    assert message.startswith("Gus Garcia's number on record cannot be dialled: '+141555'")


def test_a_sip_address_is_dialled(phlo_sim, alice):
    call = buttons.call_start(actor=alice.user, to="sip:Someone@Example.COM")
    assert call.members.get(role="customer").address == "sip:Someone@example.com"


def test_carrier_failure_is_not_an_api_error(phlo_sim, alice):
    # PHLO accepts the call; the failure arrives later, as the leg's exit.
    call = buttons.call_start(actor=alice.user, to="15005550004")
    assert Action.objects.get(call=call).outcome == "succeeded"
    call = settle(phlo_sim, call)
    assert states(call)["15005550004"] == S.FAILED


def test_unanswered_customer_ends_the_call(phlo_sim, alice):
    call = buttons.call_start(actor=alice.user, to="15005550001")  # busy
    call = settle(phlo_sim, call)
    assert states(call)["15005550001"] == S.BUSY


def test_success_is_pushed_after_commit(phlo_sim, alice, dana, django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(agent_group(alice.pk), channel)
    with django_capture_on_commit_callbacks(execute=True):
        call = buttons.call_start(actor=alice.user, to=dana.phone)
    messages = async_to_sync(drain)(layer, channel)
    async_to_sync(layer.group_discard)(agent_group(alice.pk), channel)
    pushed = [m for m in messages if m.get("call_id") == call.pk]
    assert pushed and pushed[-1]["version"] == call.version


def test_member_rows_exist_before_phlo_is_asked(phlo_sim, alice, dana, monkeypatch):
    """Early callbacks must find the call: its legs are written before the request."""
    from calls.phlo_client import PhloClient

    seen = {}
    original = PhloClient.send

    def spy(self, request):
        seen["legs"] = list(Member.objects.values_list("address", "state"))
        return original(self, request)

    monkeypatch.setattr(PhloClient, "send", spy)
    buttons.call_start(actor=alice.user, to=dana.phone)
    assert seen["legs"] == [(alice.endpoint, S.DIALLING), (dana.phone, S.PENDING)]
