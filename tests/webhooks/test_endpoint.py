"""The endpoint's contract: bad bodies, storing first, duplicates, failures and replays."""

import json

import pytest

from calls.models import CallbackEvent, Member
from calls.services import callbacks as callback_service
from calls.services.callbacks import callback_dedupe_key, callback_replay
from calls.services.errors import InvalidState, NotFound
from calls.signature import NONCE_HEADER, SIGNATURE_HEADER
from tests.webhooks.helpers import WEBHOOK_PATH, build_call, callbacks, post_callback, sign

pytestmark = pytest.mark.django_db

Outcome = CallbackEvent.Outcome
OUTBOUND = callbacks("phlo_outbound_call")


def _post_raw(client, body: bytes, content_type: str, *, signed_params: dict):
    url = f"http://testserver{WEBHOOK_PATH}"
    headers = {SIGNATURE_HEADER: sign(signed_params, url=url, nonce="1"), NONCE_HEADER: "1"}
    # generic(), not post(): post() re-encodes a body into the content type's charset.
    return client.generic(
        "POST", WEBHOOK_PATH, data=body, content_type=content_type, headers=headers
    )


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b'{"event": ', "application/json", "not valid JSON"),
        (b'[{"event": "ConferenceEnter"}]', "application/json", "must be an object"),
        (b"event=ConferenceEnter", "text/plain", "Unsupported Content-Type 'text/plain'"),
        (b"\xff\xfe", "application/x-www-form-urlencoded", "not valid utf-8"),
    ],
)
def test_unreadable_bodies_get_400_with_a_reason(client, body, content_type, reason):
    response = _post_raw(client, body, content_type, signed_params={})
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert not CallbackEvent.objects.exists()


def test_a_body_nested_100000_deep_gets_400_before_the_signature_is_checked(client):
    # The request in issue 16: with a garbage signature it answered 500 (RecursionError).
    body = '{"a":' * 100_000 + "1" + "}" * 100_000
    headers = {SIGNATURE_HEADER: "AAAA", NONCE_HEADER: "1"}
    response = client.post(
        WEBHOOK_PATH, data=body, content_type="application/json", headers=headers
    )
    assert response.status_code == 400
    assert "nests objects or lists more than 4 levels deep" in response.json()["error"]
    assert not CallbackEvent.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b'{"event": "ConferenceEnter", "n": NaN}', "application/json", "holds NaN"),
        (b'{"event": "ConferenceEnter", "n": 1e400}', "application/json", "too large"),
        (b'{"event": "ConferenceEnter", "to": "\\ud800"}', "application/json", "surrogate"),
        (b"event=%2B2AA-", "application/x-www-form-urlencoded; charset=utf-7", "surrogate"),
        (b"event=x", "application/x-www-form-urlencoded; charset=punycode", "not valid"),
    ],
)
def test_hostile_bodies_get_400_even_when_signed(client, body, content_type, reason):
    # Signed over what a sender would flatten them to: refused before any signature check.
    response = _post_raw(client, body, content_type, signed_params={"event": "ConferenceEnter"})
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert not CallbackEvent.objects.exists()


@pytest.mark.parametrize("as_json", [False, True])
def test_no_event_field_gets_400_and_nothing_is_stored(client, as_json):
    response = post_callback(client, {"CallUUID": "x", "CallStatus": "ringing"}, as_json=as_json)
    assert response.status_code == 400
    assert "No event field" in response.json()["error"]
    assert not CallbackEvent.objects.exists()


def test_bad_event_timestamp_gets_400(client):
    params = {**callbacks("mpc_call_lifecycle")["customer_held"], "EventTimestamp": "soon"}
    response = post_callback(client, params)
    assert response.status_code == 400
    assert "EventTimestamp 'soon'" in response.json()["error"]


def test_oversized_body_gets_413(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 200
    params = {**OUTBOUND["agent_enters"], "caller_name": "x" * 300}
    response = post_callback(client, params)
    assert response.status_code == 413
    assert "too large" in response.json()["error"]


def test_callback_is_stored_with_its_params_and_outcome(client):
    legs = build_call("phlo_outbound_call")
    params = OUTBOUND["agent_enters"]
    response = post_callback(client, params)
    assert response.status_code == 200
    body = response.json()
    event = CallbackEvent.objects.get()
    assert body == {
        "callback_id": event.pk,
        "outcome": "applied",
        "note": "",
        "duplicate": False,
    }
    assert event.params == params
    assert event.vocabulary == "phlo"
    assert event.event == "ConferenceEnter"
    assert event.content_type == "application/x-www-form-urlencoded"
    assert event.dedupe_key == callback_dedupe_key(params=params)
    assert event.call == legs.call
    assert event.member == legs.agent_leg
    assert event.processed_at is not None
    assert event.deliveries == 1


def test_unknown_event_is_kept_linked_and_acknowledged(client):
    legs = build_call("unknown_event")
    response = post_callback(client, callbacks("unknown_event")["phlo_recording"])
    assert response.status_code == 200
    event = CallbackEvent.objects.get()
    assert (event.outcome, event.vocabulary) == (Outcome.IGNORED, "unknown")
    assert "unknown PHLO event 'ConferenceRecordStart'" in event.note
    assert event.call == legs.call
    legs.refresh()
    assert legs.customer_leg.state == Member.State.PENDING
    assert legs.customer_leg.call_uuid == ""  # unknown events bind nothing
    assert legs.call.version == 0


def test_unknown_call_is_kept_as_unmatched(client):
    response = post_callback(client, callbacks("unknown_call")["stranger_enters"])
    assert response.status_code == 200
    event = CallbackEvent.objects.get()
    assert event.outcome == Outcome.UNMATCHED
    assert event.call is None
    assert "no call has this leg" in event.note
    assert "14155557777" in event.note


@pytest.mark.parametrize("second_as_json", [False, True])
def test_redelivery_is_counted_and_has_no_second_effect(client, second_as_json):
    legs = build_call("phlo_outbound_call")
    params = OUTBOUND["customer_enters"]
    first = post_callback(client, params)
    legs.refresh()
    version = legs.call.version
    answered_at = legs.customer_leg.answered_at

    again = post_callback(client, params, as_json=second_as_json)  # new nonce
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["callback_id"] == first.json()["callback_id"]
    event = CallbackEvent.objects.get()
    assert event.deliveries == 2
    legs.refresh()
    assert legs.call.version == version
    assert legs.customer_leg.answered_at == answered_at


def test_the_same_event_for_another_leg_is_not_a_duplicate(client):
    build_call("phlo_outbound_call")
    post_callback(client, OUTBOUND["agent_enters"])
    post_callback(client, OUTBOUND["customer_enters"])
    assert CallbackEvent.objects.count() == 2


def _explode(**kwargs):
    raise RuntimeError("database hiccup")


def test_failing_apply_answers_500_keeps_the_callback_and_rolls_back(client, monkeypatch):
    legs = build_call("phlo_outbound_call")
    monkeypatch.setattr(callback_service, "call_changed", _explode)
    response = post_callback(client, OUTBOUND["customer_enters"])

    assert response.status_code == 500
    event = CallbackEvent.objects.get()
    assert response.json()["callback_id"] == event.pk
    assert "database hiccup" not in response.json()["error"]  # details stay in the record
    assert event.outcome == Outcome.FAILED
    assert "RuntimeError: database hiccup" in event.error
    assert event.processed_at is not None
    legs.refresh()
    assert legs.customer_leg.state == Member.State.PENDING  # the effect was rolled back
    assert legs.customer_leg.call_uuid == ""
    assert legs.call.conference_uuid == ""


def test_redelivery_of_a_failed_callback_applies_it(client, monkeypatch):
    legs = build_call("phlo_outbound_call")
    monkeypatch.setattr(callback_service, "call_changed", _explode)
    assert post_callback(client, OUTBOUND["customer_enters"]).status_code == 500
    monkeypatch.undo()

    retry = post_callback(client, OUTBOUND["customer_enters"])
    assert retry.status_code == 200
    assert retry.json() | {"callback_id": None} == {
        "callback_id": None,
        "outcome": "applied",
        "note": "",
        "duplicate": True,
    }
    event = CallbackEvent.objects.get()
    assert (event.outcome, event.error, event.deliveries) == (Outcome.APPLIED, "", 2)
    legs.refresh()
    # On the call before the agent: the customer waits (wait music) until the agent enters.
    assert legs.customer_leg.state == Member.State.WAITING
    assert legs.call.version == 1


def test_operator_replays_a_failed_callback(client, monkeypatch):
    legs = build_call("phlo_outbound_call")
    monkeypatch.setattr(callback_service, "call_changed", _explode)
    post_callback(client, OUTBOUND["agent_enters"])
    monkeypatch.undo()
    event = CallbackEvent.objects.get()

    replayed = callback_replay(event_id=event.pk)
    assert replayed.outcome == Outcome.APPLIED
    legs.refresh()
    assert legs.agent_leg.state == Member.State.TALKING
    assert legs.agent_leg.agent.status == "on_call"

    with pytest.raises(InvalidState, match="already applied"):
        callback_replay(event_id=event.pk)


def test_replay_of_a_failure_that_fails_again_keeps_it_failed(client, monkeypatch):
    build_call("phlo_outbound_call")
    monkeypatch.setattr(callback_service, "call_changed", _explode)
    post_callback(client, OUTBOUND["agent_enters"])
    event = CallbackEvent.objects.get()
    with pytest.raises(callback_service.CallbackApplyFailed):
        callback_replay(event_id=event.pk)
    event.refresh_from_db()
    assert event.outcome == Outcome.FAILED


def test_replay_of_an_unmatched_callback_matches_once_the_call_exists(client):
    post_callback(client, OUTBOUND["agent_enters"])
    event = CallbackEvent.objects.get()
    assert event.outcome == Outcome.UNMATCHED
    legs = build_call("phlo_outbound_call")
    assert callback_replay(event_id=event.pk).outcome == Outcome.APPLIED
    legs.refresh()
    assert legs.agent_leg.state == Member.State.TALKING


def test_replay_of_a_missing_callback_is_not_found():
    with pytest.raises(NotFound, match="no callback #999"):
        callback_replay(event_id=999)


def test_json_body_is_stored_as_sent(client):
    legs = build_call("phlo_outbound_call")
    data = {**OUTBOUND["agent_enters"], "member_id": 1}
    response = post_callback(client, data, as_json=True, signed_params={**data, "member_id": "1"})
    assert response.status_code == 200
    event = CallbackEvent.objects.get()
    assert event.params["member_id"] == 1
    assert json.loads(json.dumps(event.params)) == data
    legs.refresh()
    assert legs.agent_leg.member_id == "1"
