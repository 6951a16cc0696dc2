"""X-Plivo-Signature-V3 on the real endpoint: what is accepted, what is refused and why."""

import json

import pytest
from django.test import Client
from plivo.utils.signature_v3 import construct_post_url, get_signature_v3

from calls.models import CallbackEvent
from calls.signature import NONCE_HEADER, SIGNATURE_HEADER
from calls.webhooks.verification import accepted_auth_tokens
from tests.webhooks.helpers import WEBHOOK_PATH, callbacks, post_callback, sign

pytestmark = pytest.mark.django_db

PARAMS = callbacks("unknown_call")["stranger_enters"]


def _stored() -> int:
    return CallbackEvent.objects.count()


def test_signed_form_callback_is_accepted(client):
    response = post_callback(client, PARAMS)
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "unmatched"
    assert _stored() == 1


def test_signed_json_callback_is_accepted(client):
    response = post_callback(client, PARAMS, as_json=True)
    assert response.status_code == 200, response.content
    assert CallbackEvent.objects.get().content_type == "application/json"


def test_json_with_typed_values_verifies_as_the_providers_sdk_signs_it(client):
    data = {"event": "ConferenceEnter", "member_id": 7, "machine": False, "bill_rate": 0.0085}
    data["to"] = "14155557777"
    url = f"http://testserver{WEBHOOK_PATH}"
    nonce = "31415926"
    sdk_signature = get_signature_v3(
        b"test-auth-token", construct_post_url(url, dict(data)).decode(), b"31415926"
    ).decode()
    response = client.post(
        WEBHOOK_PATH,
        data=json.dumps(data),
        content_type="application/json",
        headers={SIGNATURE_HEADER: sdk_signature, NONCE_HEADER: nonce},
    )
    assert response.status_code == 200, response.content
    assert CallbackEvent.objects.get().params == data  # stored as sent, types included


def test_tampered_body_is_refused(client):
    tampered = {**PARAMS, "call_status": "completed"}
    response = post_callback(client, tampered, signed_params=PARAMS)
    assert response.status_code == 403
    assert "does not match" in response.json()["error"]
    assert _stored() == 0


def test_wrong_token_is_refused(client):
    response = post_callback(client, PARAMS, token="someone-elses-token")
    assert response.status_code == 403


def test_missing_nonce_is_refused(client):
    url = f"http://testserver{WEBHOOK_PATH}"
    response = client.post(
        WEBHOOK_PATH,
        data=PARAMS,
        headers={SIGNATURE_HEADER: sign(PARAMS, url=url, nonce="")},
    )
    assert response.status_code == 403
    assert NONCE_HEADER in response.json()["error"]


def test_v2_signature_alone_is_refused_with_a_reason(client):
    response = client.post(
        WEBHOOK_PATH,
        data=PARAMS,
        headers={"X-Plivo-Signature-V2": "abc", "X-Plivo-Signature-V2-Nonce": "123"},
    )
    assert response.status_code == 403
    assert "X-Plivo-Signature-V2" in response.json()["error"]
    assert "does not cover the body" in response.json()["error"]
    assert _stored() == 0


def test_unsigned_request_is_refused(client):
    response = client.post(WEBHOOK_PATH, data=PARAMS)
    assert response.status_code == 403
    assert response.json()["error"] == f"Missing {SIGNATURE_HEADER} header."


def test_one_valid_signature_among_several_is_enough(client):
    url = f"http://testserver{WEBHOOK_PATH}"
    good = sign(PARAMS, url=url, nonce="777")
    header = f"c29tZXRoaW5nIGVsc2U=, {good} ,bm9wZQ=="
    response = post_callback(client, PARAMS, nonce="777", signature=header)
    assert response.status_code == 200


def test_several_signatures_none_valid_is_refused(client):
    response = post_callback(client, PARAMS, signature="c29tZXRoaW5n,bm9wZQ==")
    assert response.status_code == 403


def test_previous_tokens_are_accepted_during_rotation(client, settings):
    settings.PLIVO_PREVIOUS_AUTH_TOKENS = "old-token-1, old-token-2"
    assert post_callback(client, PARAMS, token="old-token-2").status_code == 200
    assert post_callback(client, PARAMS, token="never-a-token").status_code == 403


def test_accepted_tokens_read_a_list_or_a_comma_list(settings):
    settings.PLIVO_PREVIOUS_AUTH_TOKENS = ["a", " b ", "", "test-auth-token"]
    assert accepted_auth_tokens() == ["test-auth-token", "a", "b"]
    settings.PLIVO_PREVIOUS_AUTH_TOKENS = "x,,y"
    assert accepted_auth_tokens() == ["test-auth-token", "x", "y"]
    del settings.PLIVO_PREVIOUS_AUTH_TOKENS
    assert accepted_auth_tokens() == ["test-auth-token"]


def test_url_is_rebuilt_from_public_base_url_not_host(client, settings):
    settings.PUBLIC_BASE_URL = "https://cc.example.com"
    settings.ALLOWED_HOSTS = ["internal.lb"]
    public = "https://cc.example.com/webhooks/plivo/"
    ok = post_callback(client, PARAMS, signed_url=public, HTTP_HOST="internal.lb")
    assert ok.status_code == 200, ok.content

    as_seen = "http://internal.lb/webhooks/plivo/"
    refused = post_callback(client, PARAMS, signed_url=as_seen, HTTP_HOST="internal.lb")
    assert refused.status_code == 403
    assert public in refused.json()["error"]


def test_query_string_is_part_of_the_signed_url(client):
    path = f"{WEBHOOK_PATH}?tenant=east&b=2"
    assert post_callback(client, PARAMS, path=path).status_code == 200
    unsigned_query = post_callback(
        client, PARAMS, path=path, signed_url=f"http://testserver{WEBHOOK_PATH}"
    )
    assert unsigned_query.status_code == 403


def test_path_without_trailing_slash_works(client):
    assert post_callback(client, PARAMS, path="/webhooks/plivo").status_code == 200


def test_csrf_does_not_apply():
    strict = Client(enforce_csrf_checks=True)
    assert post_callback(strict, PARAMS).status_code == 200


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_only_post_is_allowed(client, method):
    response = getattr(client, method)(WEBHOOK_PATH)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "Use POST" in response.json()["error"]


@pytest.mark.parametrize(
    ("setting", "reason"),
    [("PLIVO_AUTH_TOKEN", "PLIVO_AUTH_TOKEN is not set"), ("PUBLIC_BASE_URL", "PUBLIC_BASE_URL")],
)
def test_missing_configuration_is_our_fault(client, settings, setting, reason):
    setattr(settings, setting, "")
    response = post_callback(client, PARAMS, signed_url=f"http://testserver{WEBHOOK_PATH}")
    assert response.status_code == 503
    assert reason in response.json()["error"]
    assert _stored() == 0
