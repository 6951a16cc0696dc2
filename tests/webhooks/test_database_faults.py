"""The webhook when the database is not answering: 503 with Retry-After, never 500.

Storing failed: nothing kept, the provider's retry stores and applies it. Stored but not
applied: the callback is kept with no effect, and the retry applies it exactly once.
(tests/faults/test_postgres.py does the same against a real PostgreSQL that goes away.)
"""

import pytest
from django.db import InterfaceError, OperationalError

from calls.models import CallbackEvent, Member
from calls.services import callbacks as callback_service
from tests.webhooks.helpers import build_call, callbacks, post_callback

pytestmark = pytest.mark.django_db

Outcome = CallbackEvent.Outcome
OUTBOUND = callbacks("phlo_outbound_call")


def _refused(**kwargs):
    raise OperationalError("connection refused")


def _closed(**kwargs):
    raise InterfaceError("connection already closed")


def _assert_retry_later(response) -> dict:
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    return response.json()


@pytest.mark.parametrize("error", [_refused, _closed])
def test_storing_fails_503_nothing_kept_and_the_retry_applies_it(client, monkeypatch, error):
    legs = build_call("phlo_outbound_call")
    monkeypatch.setattr(callback_service, "callback_store", error)
    body = _assert_retry_later(post_callback(client, OUTBOUND["customer_enters"]))
    assert "was not stored; send it again" in body["error"]
    assert not CallbackEvent.objects.exists()
    monkeypatch.undo()

    retry = post_callback(client, OUTBOUND["customer_enters"])
    assert retry.status_code == 200
    assert (retry.json()["outcome"], retry.json()["duplicate"]) == ("applied", False)
    assert legs.refresh().customer_leg.state == Member.State.WAITING


def test_applying_fails_503_the_callback_is_kept_and_the_retry_applies_it_once(client, monkeypatch):
    legs = build_call("phlo_outbound_call")
    monkeypatch.setattr(callback_service, "call_changed", _refused)
    body = _assert_retry_later(post_callback(client, OUTBOUND["customer_enters"]))
    event = CallbackEvent.objects.get()
    assert body["callback_id"] == event.pk
    assert "was kept" in body["error"]
    assert "applied when the callback is sent again" in body["error"]
    assert event.outcome == Outcome.FAILED
    assert legs.refresh().customer_leg.state == Member.State.PENDING  # rolled back
    monkeypatch.undo()

    assert post_callback(client, OUTBOUND["customer_enters"]).json()["outcome"] == "applied"
    again = post_callback(client, OUTBOUND["customer_enters"])
    assert (again.status_code, again.json()["outcome"]) == (200, "applied")
    event.refresh_from_db()
    assert (event.outcome, event.deliveries) == (Outcome.APPLIED, 3)
    legs.refresh()
    assert legs.customer_leg.state == Member.State.WAITING
    assert legs.call.version == 1  # applied once, whatever the deliveries


def test_when_even_the_failure_cannot_be_recorded_the_callback_stays_received(client, monkeypatch):
    legs = build_call("phlo_outbound_call")
    monkeypatch.setattr(callback_service, "call_changed", _refused)
    monkeypatch.setattr(callback_service, "_mark_failed", _refused)
    body = _assert_retry_later(post_callback(client, OUTBOUND["customer_enters"]))
    event = CallbackEvent.objects.get()
    assert body["callback_id"] == event.pk
    assert event.outcome == Outcome.RECEIVED  # no effect yet: a redelivery applies it
    monkeypatch.undo()

    assert post_callback(client, OUTBOUND["customer_enters"]).json()["outcome"] == "applied"
    assert legs.refresh().customer_leg.state == Member.State.WAITING


def test_another_apply_error_is_still_a_500(client, monkeypatch):
    build_call("phlo_outbound_call")

    def _bug(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(callback_service, "call_changed", _bug)
    response = post_callback(client, OUTBOUND["customer_enters"])
    assert response.status_code == 500
    assert "Retry-After" not in response
