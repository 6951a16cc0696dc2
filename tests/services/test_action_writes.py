"""What an action writes, and when: its request is on record before it is sent, written
with the INSERT when it is known then (one write, not two), and never on an action that
was not sent."""

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calls.models import Action, Call
from calls.services import CallBusy, buttons
from tests.services.helpers import S, settle

pytestmark = pytest.mark.django_db

DANA = "14155550101"


@pytest.fixture
def stored_at_send(monkeypatch):
    """The action rows as the database holds them at the moment each request goes out
    (a spy on requests, the library under our client; the request still goes out)."""
    seen: list[list[dict]] = []
    original = requests.Session.request

    def spying(self, method, url, **kwargs):
        seen.append(list(Action.objects.order_by("pk").values("kind", "request", "outcome")))
        return original(self, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spying)
    return seen


def _action_writes(captured) -> list[str]:
    return [
        q["sql"].split()[0]
        for q in captured
        if '"calls_action"' in q["sql"].split(" WHERE ")[0]
        and q["sql"].split()[0] in ("INSERT", "UPDATE")
    ]


def test_a_hold_inserts_its_action_with_the_request_and_updates_it_once(
    phlo_sim, talking_call, alice, stored_at_send
):
    dana = talking_call.members.get(address=DANA)
    with CaptureQueriesContext(connection) as captured:
        assert buttons.member_hold(actor=alice.user, member_id=dana.pk).state == S.ON_HOLD
    # The INSERT with the request, then the outcome: no separate write of the request.
    assert _action_writes(captured) == ["INSERT", "UPDATE"]
    (at_send,) = stored_at_send
    hold = at_send[-1]
    assert (hold["kind"], hold["outcome"]) == ("hold", "pending")
    assert hold["request"]["body"] == {"action": "hold"}
    assert hold["request"]["path"].endswith(f"/members/{DANA}")
    assert Action.objects.get(kind="hold").outcome == "succeeded"


def test_a_call_start_sends_what_it_stored(phlo_sim, alice, dana, stored_at_send):
    call = buttons.call_start(actor=alice.user, to="+1 415 555 0101")
    (at_send,) = stored_at_send
    assert at_send[-1]["request"]["body"] == {
        "action": "call",
        "trigger_source": alice.endpoint,
        "to": DANA,
        "role": "customer",
    }
    assert Action.objects.get(call=call).request == at_send[-1]["request"]


def test_an_action_that_lost_the_claim_keeps_no_request(phlo_sim, talking_call, alice, bob):
    dana = talking_call.members.get(address=DANA)
    holder = Action.objects.create(call=talking_call, actor=bob.user, kind="hangup")
    Call.objects.filter(pk=talking_call.pk).update(pending_action=holder)
    with pytest.raises(CallBusy):
        buttons.member_hold(actor=alice.user, member_id=dana.pk)
    lost = Action.objects.get(kind="hold")
    assert (lost.outcome, lost.error_kind, lost.request) == ("failed", "call_busy", {})
    assert phlo_sim.member(DANA)["state"] == "talking"


def test_a_resume_records_its_initiator_with_the_insert(
    phlo_sim, talking_call, alice, carol, stored_at_send
):
    buttons.transfer_warm_start(actor=alice.user, call_id=talking_call.pk, to=carol.endpoint)
    settle(phlo_sim, talking_call)
    stored_at_send.clear()
    with CaptureQueriesContext(connection) as captured:
        buttons.transfer_resume(actor=alice.user, call_id=talking_call.pk)
    assert _action_writes(captured) == ["INSERT", "UPDATE"]
    resume = Action.objects.get(kind="resume_call")
    assert (resume.outcome, resume.target, resume.member.agent) == (
        "succeeded",
        alice.endpoint,
        alice,
    )
    assert stored_at_send[0][-1]["request"] == resume.request
