"""Housekeeping applies the callbacks kept unapplied when the database went away, once the
provider has had its chance to retry them; a callback that failed for another reason is left
to an operator. Time is controlled by `at=`."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from calls.models import CallbackEvent, Member
from calls.services import callbacks as callback_service
from calls.services import kept_callbacks
from calls.services.kept_callbacks import (
    apply_grace,
    callbacks_apply_kept,
    callbacks_kept_unapplied,
)
from calls.webhooks.notices import normalise
from tests.webhooks.helpers import build_call, callbacks, post_callback

pytestmark = pytest.mark.django_db

Outcome = CallbackEvent.Outcome
OUTBOUND = callbacks("phlo_outbound_call")


def _later():
    return timezone.now() + apply_grace() + timedelta(seconds=1)


def _refused(**kwargs):
    raise OperationalError("server closed the connection unexpectedly")


def _bug(**kwargs):
    raise RuntimeError("a bug")


def _kept_received(params: dict) -> CallbackEvent:
    """Stored, then the process died (or the database went) before it was applied."""
    event, created = callback_service.callback_store(
        params=params, stored_params=params, notice=normalise(params), content_type="form"
    )
    assert created
    return event


def test_a_callback_stored_but_never_applied_is_applied_after_the_grace():
    legs = build_call("phlo_outbound_call")
    event = _kept_received(OUTBOUND["agent_enters"])
    assert callbacks_kept_unapplied() == []  # the provider's retry may still come
    assert callbacks_apply_kept(at=_later()) == 1
    event.refresh_from_db()
    assert event.outcome == Outcome.APPLIED
    assert legs.refresh().agent_leg.state == Member.State.TALKING
    assert callbacks_apply_kept(at=_later()) == 0  # once


def test_one_the_database_refused_while_applying_is_applied_too(monkeypatch):
    legs = build_call("phlo_outbound_call")
    monkeypatch.setattr(callback_service, "call_changed", _refused)
    assert post_callback(Client(), OUTBOUND["agent_enters"]).status_code == 503
    monkeypatch.undo()
    event = CallbackEvent.objects.get()
    assert event.outcome == Outcome.FAILED
    assert callbacks_kept_unapplied(at=_later()) == [event.pk]
    out = io.StringIO()
    call_command("calls_housekeeping", stdout=out)  # now: within the grace, nothing
    assert CallbackEvent.objects.get().outcome == Outcome.FAILED
    assert callbacks_apply_kept(at=_later()) == 1
    assert legs.refresh().agent_leg.state == Member.State.TALKING


def test_one_that_failed_for_another_reason_is_left_to_an_operator(monkeypatch):
    build_call("phlo_outbound_call")
    monkeypatch.setattr(callback_service, "call_changed", _bug)
    assert post_callback(Client(), OUTBOUND["agent_enters"]).status_code == 500
    monkeypatch.undo()
    assert callbacks_kept_unapplied(at=_later()) == []
    assert callbacks_apply_kept(at=_later()) == 0
    assert CallbackEvent.objects.get().outcome == Outcome.FAILED


def test_one_older_than_the_window_is_left_to_an_operator():
    build_call("phlo_outbound_call")
    _kept_received(OUTBOUND["agent_enters"])
    much_later = _later() + kept_callbacks.WINDOW
    assert callbacks_kept_unapplied(at=much_later) == []


def test_the_cron_command_applies_them(settings):
    settings.CALLBACK_APPLY_GRACE_SECONDS = 0
    legs = build_call("phlo_outbound_call")
    _kept_received(OUTBOUND["agent_enters"])
    out = io.StringIO()
    call_command("calls_housekeeping", stdout=out)
    assert "Applied 1 kept callback(s)" in out.getvalue()
    assert legs.refresh().agent_leg.state == Member.State.TALKING
