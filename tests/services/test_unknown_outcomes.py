"""Actions whose outcome PHLO left unknown: the request timed out, or the connection dropped
after it was sent. PHLO may have acted, so nothing is undone or assumed; a new call stays
dialling so that the provider's callbacks can still find it. Over HTTP to the simulator."""

import socket
from datetime import datetime, timedelta

import pytest
import requests
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client
from django.utils import timezone
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, ProtocolError

from agents.models import Agent
from agents.pushes import agent_group
from calls.models import Action, Call
from calls.phlo_client import PhloError, PhloRequest
from calls.services import InvalidState, PhloFailed, buttons
from calls.services.errors import PhloOutcomeUnknown
from calls.services.execution import outcome_unknown
from calls.services.housekeeping import calls_expire_stale, dial_grace, stale_call_cleared_within
from tests.services.helpers import S, settle, sim_states, states
from tests.sockets import drain

pytestmark = pytest.mark.django_db

DANA = "14155550101"
# The simulator holds its answer for SLOW seconds (real time); the client gives up first.
SLOW = 0.2
READ_TIMEOUT = 0.05
MAY_CONNECT = (
    "PHLO did not answer in time; the call may still connect \N{EM DASH} watch your phone."
)
DROPPED = (
    "The connection to PHLO dropped before it answered; the call may still connect"
    " \N{EM DASH} watch your phone."
)


@pytest.fixture
def slow_phlo(phlo_sim, settings):
    """The next PHLO request is carried out, but answered only after the client timed out."""
    settings.PHLO_READ_TIMEOUT = READ_TIMEOUT
    phlo_sim.inject_fault(delay=SLOW)
    return phlo_sim


def later(seconds: float) -> datetime:
    return timezone.now() + timedelta(seconds=seconds)


def past_grace() -> datetime:
    return later(dial_grace().total_seconds() + 1)


# --- call_start ----------------------------------------------------------------------------


def test_a_timed_out_call_stays_dialling_and_connects(slow_phlo, alice, dana):
    with pytest.raises(PhloOutcomeUnknown) as info:
        buttons.call_start(actor=alice.user, to="+1 415 555 0101")
    error = info.value
    assert isinstance(error, PhloFailed)  # callers that only know PhloFailed still catch it
    assert (error.kind, error.status, error.code, error.http_status) == (
        "timeout",
        None,
        "phlo_outcome_unknown",
        504,
    )
    assert error.message.startswith(MAY_CONNECT)
    assert error.message.endswith(
        "If it does not ring, the call is cleared by itself within about"
        f" {stale_call_cleared_within()}."
    )

    call = Call.objects.get()
    assert call.status == Call.Status.DIALLING and call.ended_at is None
    assert call.pending_action is None and call.version >= 1
    assert states(call) == {alice.endpoint: S.DIALLING, DANA: S.PENDING}
    action = Action.objects.get()
    assert (action.kind, action.outcome, action.error_kind, action.http_status) == (
        "call",
        "failed",
        "outcome_unknown",
        None,
    )
    assert action.error == error.message and action.finished_at
    assert action.request["body"] == {
        "action": "call",
        "trigger_source": alice.endpoint,
        "to": DANA,
        "role": "customer",
    }
    alice.refresh_from_db()
    assert alice.status == Agent.Status.ON_CALL
    # Her phone may ring any moment: no second call from it meanwhile.
    with pytest.raises(InvalidState, match="already on a call"):
        buttons.call_start(actor=alice.user, to="+14155550102")

    # PHLO did place it, after the client had given up; its legs' news finds the call.
    assert slow_phlo.wait_api_idle()
    assert sim_states(slow_phlo, call) == {alice.endpoint: "ringing"}  # Dana rings after her
    call = settle(slow_phlo, call)
    assert call.status == Call.Status.ACTIVE
    assert states(call) == {alice.endpoint: S.TALKING, DANA: S.TALKING}
    # A call that connected is never housekept, however long it lasts.
    assert calls_expire_stale(at=past_grace()) == 0
    call.refresh_from_db()
    assert call.status == Call.Status.ACTIVE


def test_a_connection_dropped_after_sending_is_unknown_too(phlo_sim, alice, dana):
    phlo_sim.inject_fault(disconnect=True)  # PHLO closes the connection without answering
    with pytest.raises(PhloOutcomeUnknown) as info:
        buttons.call_start(actor=alice.user, to=dana.phone)
    assert info.value.kind == "connection"
    assert info.value.message.startswith(DROPPED)
    call = Call.objects.get()
    assert call.status == Call.Status.DIALLING
    assert set(states(call).values()) == {S.DIALLING, S.PENDING}
    assert Action.objects.get().error_kind == "outcome_unknown"

    # This time PHLO had not placed it, and no callback ever comes: housekeeping ends it.
    assert phlo_sim.snapshot()["conferences"] == []
    assert calls_expire_stale(at=past_grace()) == 1
    call.refresh_from_db()
    alice.refresh_from_db()
    assert call.status == Call.Status.FAILED and call.ended_at
    assert set(states(call).values()) == {S.FAILED}
    assert alice.status == Agent.Status.AVAILABLE  # never talked: no wrap-up
    # The action keeps what was known when it ended.
    assert Action.objects.get().error_kind == "outcome_unknown"


def test_a_refused_connection_still_fails_the_call(phlo_sim, settings, alice, dana):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.PHLO_BASE_URL = f"http://127.0.0.1:{port}/v1"  # nothing listens: nothing was sent
    with pytest.raises(PhloFailed) as info:
        buttons.call_start(actor=alice.user, to=dana.phone)
    assert not isinstance(info.value, PhloOutcomeUnknown)
    assert info.value.kind == "connection"
    assert Call.objects.get().status == Call.Status.FAILED
    assert Action.objects.get().error_kind == "connection"


def test_the_desktop_is_told_about_the_dialling_call(
    slow_phlo, alice, dana, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(agent_group(alice.pk), channel)
    try:
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(PhloOutcomeUnknown):
            buttons.call_start(actor=alice.user, to=dana.phone)
        messages = async_to_sync(drain)(layer, channel)
    finally:
        async_to_sync(layer.group_discard)(agent_group(alice.pk), channel)
    call = Call.objects.get()
    pushed = [m for m in messages if m.get("call_id") == call.pk]
    assert pushed and pushed[-1]["version"] == call.version
    assert any(m.get("type") == "agent.changed" and m["status"] == "on_call" for m in messages)
    slow_phlo.wait_api_idle()


def test_the_dial_box_says_what_to_do(slow_phlo, alice, dana):
    client = Client()
    client.force_login(alice.user)
    response = client.post("/desktop/dial/", {"to": dana.phone}, HTTP_HX_REQUEST="true")
    assert response.status_code == 504
    html = response.content.decode()
    assert 'id="dial-error" role="alert"' in html
    assert "the call may still connect" in html and "watch your phone" in html
    assert Call.objects.get().status == Call.Status.DIALLING
    slow_phlo.wait_api_idle()


# --- buttons on a call ---------------------------------------------------------------------


def test_hold_with_unknown_outcome_changes_nothing(phlo_sim, settings, talking_call, alice):
    dana = talking_call.members.get(address=DANA)
    talking_call.refresh_from_db()
    version = talking_call.version
    settings.PHLO_READ_TIMEOUT = READ_TIMEOUT
    phlo_sim.inject_fault(delay=SLOW)

    with pytest.raises(PhloOutcomeUnknown) as info:
        buttons.member_hold(actor=alice.user, member_id=dana.pk)
    assert info.value.kind == "timeout"
    assert info.value.message == (
        "PHLO did not answer in time when asked to put Dana Diaz on hold, so the outcome is"
        " unknown: it may still happen. The call updates when PHLO reports; check it before"
        " trying again."
    )
    dana.refresh_from_db()
    talking_call.refresh_from_db()
    assert dana.state == S.TALKING  # not assumed either way
    assert talking_call.version == version and talking_call.pending_action is None
    action = Action.objects.get(kind="hold")
    assert (action.outcome, action.error_kind, action.error) == (
        "failed",
        "outcome_unknown",
        info.value.message,
    )

    # PHLO did hold her; its news (here copied from the simulator) brings our state along.
    assert phlo_sim.wait_api_idle()
    assert sim_states(phlo_sim, talking_call)[DANA] == "on_hold"
    settle(phlo_sim, talking_call, seconds=0)
    dana.refresh_from_db()
    assert dana.state == S.ON_HOLD
    # And the call is free for the next action.
    settings.PHLO_READ_TIMEOUT = 5
    assert buttons.member_unhold(actor=alice.user, member_id=dana.pk).state == S.TALKING


def test_hold_with_dropped_connection_changes_nothing(phlo_sim, talking_call, alice):
    dana = talking_call.members.get(address=DANA)
    talking_call.refresh_from_db()
    version = talking_call.version
    phlo_sim.inject_fault(disconnect=True)
    with pytest.raises(PhloOutcomeUnknown) as info:
        buttons.member_hold(actor=alice.user, member_id=dana.pk)
    assert (info.value.kind, info.value.status) == ("connection", None)
    assert info.value.message.startswith(
        "PHLO dropped the connection before answering when asked to put Dana Diaz on hold"
    )
    dana.refresh_from_db()
    talking_call.refresh_from_db()
    assert dana.state == S.TALKING
    assert talking_call.version == version and talking_call.pending_action is None
    action = Action.objects.get(kind="hold")
    assert (action.outcome, action.error_kind, action.finished_at is not None) == (
        "failed",
        "outcome_unknown",
        True,
    )
    assert action.request["body"] == {"action": "hold"}
    # PHLO had not done it (the simulator dropped it unapplied): the next try goes through.
    assert buttons.member_hold(actor=alice.user, member_id=dana.pk).state == S.ON_HOLD


def test_hangup_with_unknown_outcome_then_the_leg_leaves(phlo_sim, settings, talking_call, alice):
    dana = talking_call.members.get(address=DANA)
    settings.PHLO_READ_TIMEOUT = READ_TIMEOUT
    phlo_sim.inject_fault(delay=SLOW)
    with pytest.raises(PhloOutcomeUnknown, match="asked to hang up Dana Diaz"):
        buttons.member_hangup(actor=alice.user, member_id=dana.pk)
    dana.refresh_from_db()
    assert dana.state == S.TALKING
    assert phlo_sim.wait_api_idle()
    call = settle(phlo_sim, talking_call, seconds=0.1)
    assert states(call)[DANA] == S.LEFT


def test_transfer_with_dropped_connection_records_no_transfer(phlo_sim, talking_call, alice, bob):
    phlo_sim.inject_fault(disconnect=True)
    with pytest.raises(PhloOutcomeUnknown) as info:
        buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to=bob.endpoint)
    assert info.value.message.startswith(
        "PHLO dropped the connection before answering when asked to start the warm transfer"
        " to Bob, so the outcome is unknown"
    )
    talking_call.refresh_from_db()
    assert (talking_call.transfer_kind, talking_call.pending_action) == ("", None)
    assert states(talking_call) == {alice.endpoint: S.TALKING, DANA: S.TALKING}
    assert Action.objects.get(kind="warm_transfer").error_kind == "outcome_unknown"
    # Nothing was placed (the simulator dropped it unapplied): trying again works.
    call = buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to=bob.endpoint)
    assert call.transfer_kind == "warm"


def test_definite_errors_are_not_unknown(phlo_sim, talking_call, alice):
    phlo_sim.inject_fault(status=503)
    with pytest.raises(PhloFailed) as info:
        buttons.member_hold(actor=alice.user, member_id=talking_call.members.get(address=DANA).pk)
    assert not isinstance(info.value, PhloOutcomeUnknown)
    assert Action.objects.get(kind="hold").error_kind == "server_error"


# --- which failures leave the outcome unknown ----------------------------------------------

POST = PhloRequest("POST", "/v1/phlo/p/multi_party_call/n", {"action": "call"})
GET = PhloRequest("GET", "/v1/phlo/p")


def _error(kind: str, cause: BaseException | None = None, request=POST) -> PhloError:
    error = PhloError(kind=kind, message="x", request=request)
    error.__cause__ = cause
    return error


def _refused() -> BaseException:
    reason = NewConnectionError(None, "Connection refused")
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/v1", reason))


def _unresolvable() -> BaseException:
    reason = NameResolutionError("phlo.invalid", None, OSError("Name or service not known"))
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/v1", reason))


def _dropped() -> BaseException:
    return requests.exceptions.ConnectionError(
        ProtocolError("Connection aborted.", ConnectionResetError(104, "reset by peer"))
    )


@pytest.mark.parametrize(
    ("error", "unknown"),
    [
        pytest.param(_error("timeout"), True, id="read-timeout"),
        pytest.param(_error("connection", _dropped()), True, id="dropped-after-sending"),
        pytest.param(_error("connection", None), True, id="connection-cause-unknown"),
        pytest.param(_error("connection", _refused()), False, id="refused"),
        pytest.param(_error("connection", _unresolvable()), False, id="dns"),
        pytest.param(
            _error("connection", requests.exceptions.ConnectTimeout()), False, id="connect-timeout"
        ),
        pytest.param(_error("connection", requests.exceptions.SSLError()), False, id="tls"),
        pytest.param(_error("server_error"), False, id="5xx"),
        pytest.param(_error("bad_request"), False, id="4xx"),
        pytest.param(_error("not_configured"), False, id="not-configured"),
        pytest.param(_error("timeout", request=GET), False, id="a-read-changes-nothing"),
    ],
)
def test_outcome_unknown(error, unknown):
    assert outcome_unknown(error) is unknown
