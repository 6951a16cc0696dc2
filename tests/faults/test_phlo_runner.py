"""The PHLO runner failing while an agent presses a button: all eight kinds of failure.

Each goes through the real client (`requests`, real sockets) to the simulator on a loopback
port, or to a closed port. For each: the agent sees a message that says what went wrong and
what to do, the action is recorded as failed with its kind, nothing changed on the call (our
records or the runner's), the call is not left claimed, and the next press works.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from html import unescape

import pytest
from django.test import Client

from agents.models import Agent
from calls.models import Action, Call, Member
from calls.services import buttons

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]

HTMX = {"HTTP_HX_REQUEST": "true"}
ANSWER = 3.0  # simulator seconds: longer than its answer delay
S = Member.State


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Failure:
    arrange: object  # (simulator, settings) -> None
    kind: str  # the Action's error_kind
    http_status: int  # what the button answers
    says: str  # part of the message the agent reads


FAILURES = {
    "400": Failure(
        lambda sim, s: sim.inject_fault(
            status=400, body='{"api_id": "f-400", "error": "Invalid value provided for role."}'
        ),
        "bad_request",
        502,
        "PHLO refused the request: Invalid value provided for role.",
    ),
    # The runner's own refusals, not injected: wrong credentials, unknown PHLO.
    "401": Failure(
        lambda sim, s: setattr(s, "PLIVO_AUTH_TOKEN", "a-wrong-token"),
        "unauthorized",
        502,
        "PHLO rejected the credentials (HTTP 401): check PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN.",
    ),
    "404": Failure(
        lambda sim, s: setattr(s, "PHLO_ID", "00000000-0000-4000-8000-000000000000"),
        "not_found",
        502,
        "PHLO does not know this PHLO or node (HTTP 404)",
    ),
    "405": Failure(
        lambda sim, s: sim.inject_fault(status=405, body='{"api_id": "f-405", "error": "No."}'),
        "method_not_allowed",
        502,
        "PHLO does not accept POST here (HTTP 405): check PHLO_BASE_URL",
    ),
    "5xx": Failure(
        lambda sim, s: sim.inject_fault(status=503, body="<html>Service Unavailable</html>"),
        "server_error",
        502,
        "PHLO had a server error (HTTP 503); try again in a moment.",
    ),
    "not-json": Failure(
        lambda sim, s: sim.inject_fault(not_json=True),
        "bad_response",
        502,
        "with a body that is not a JSON object",
    ),
    # The answer comes after the client gave up (and says it failed, so the runner did
    # nothing): the agent is told the outcome is unknown, which a real timeout is.
    "timeout": Failure(
        lambda sim, s: (
            setattr(s, "PHLO_READ_TIMEOUT", 0.5),
            sim.inject_fault(delay=2.0, status=503),
        ),
        "outcome_unknown",
        504,
        "so the outcome is unknown: it may still happen. The call updates when PHLO reports;"
        " check it before trying again.",
    ),
    "refused": Failure(
        lambda sim, s: setattr(s, "PHLO_BASE_URL", f"http://127.0.0.1:{_closed_port()}/v1"),
        "connection",
        502,
        "Could not reach PHLO at http://127.0.0.1:",
    ),
}


def _login(agent) -> Client:
    client = Client()
    client.force_login(agent.user)
    return client


def _answered_call(runner, agent, customer) -> Call:
    call = buttons.call_start(actor=agent.user, to=customer.phone)
    runner.advance(ANSWER)
    call.refresh_from_db()
    assert call.status == Call.Status.ACTIVE
    return call


def _snapshot(call: Call) -> dict:
    """Everything a failed button must leave as it was, in our records."""
    call.refresh_from_db()
    return {
        "call": (call.status, call.version, call.transfer_kind, call.pending_action_id),
        "members": sorted(call.members.values_list("address", "state")),
        "agents": sorted(Agent.objects.values_list("user__username", "status")),
    }


def _restore(runner, settings) -> None:
    runner.wait_api_idle(timeout=10)  # a delayed answer finished before the next request
    runner.clear_faults()
    settings.PLIVO_AUTH_TOKEN = "test-auth-token"
    settings.PHLO_ID = "11111111-2222-4333-8444-555555555555"
    settings.PHLO_READ_TIMEOUT = 5
    settings.PHLO_BASE_URL = runner.api_url


BUTTONS = {
    "hold": lambda call, bob: (f"/desktop/members/{_customer(call).pk}/actions/hold/", {}),
    "warm_transfer": lambda call, bob: (
        f"/desktop/calls/{call.pk}/actions/warm_transfer/",
        {"to": "bob"},
    ),
}
FAILS_TO = {
    "hold": "Could not put Dana Diaz on hold: ",
    "warm_transfer": "Could not ",
}


def _customer(call: Call) -> Member:
    return call.members.get(role=Member.Role.CUSTOMER)


@pytest.mark.parametrize("button", BUTTONS)
@pytest.mark.parametrize("failure", FAILURES)
def test_a_runner_failure_is_explained_recorded_and_changes_nothing(
    runner, settings, alice, bob, dana, button, failure
):
    spec = FAILURES[failure]
    call = _answered_call(runner, alice, dana)
    client = _login(alice)
    before = _snapshot(call)
    runner_before = runner.member(dana.phone)
    path, data = BUTTONS[button](call, bob)

    spec.arrange(runner, settings)
    response = client.post(path, data, **HTMX)

    # The agent reads what went wrong and what to do, on the call's card.
    assert response.status_code == spec.http_status
    html = unescape(response.content.decode())
    assert f'id="call-{call.pk}-error"' in html
    assert spec.says in html, html
    if spec.kind != "outcome_unknown":
        assert FAILS_TO[button] in html
    # Recorded as failed, with the kind of failure and no credentials.
    action = Action.objects.get(kind=button)
    assert (action.outcome, action.error_kind) == (Action.Outcome.FAILED, spec.kind)
    assert spec.says in action.error
    assert "a-wrong-token" not in action.error
    # Nothing half-applied: our records and the runner's call are as they were.
    _restore(runner, settings)
    assert _snapshot(call) == before
    assert runner.member(dana.phone)["state"] == runner_before["state"]
    assert runner.member(bob.endpoint) is None

    # The call is not left claimed: the same button works now.
    again = client.post(path, data, **HTMX)
    assert again.status_code == 200, unescape(again.content.decode())
    assert Action.objects.filter(kind=button, outcome=Action.Outcome.SUCCEEDED).count() == 1
