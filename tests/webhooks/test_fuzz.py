"""Generated requests against POST /webhooks/plivo/, through the real middleware and view.

Whatever arrives, the answer is below 500, and a refused request stores nothing. Unsigned
requests exercise everything before the signature check (anyone can send them); signed
ones, with hostile values in the callback's fields, exercise reading, storing and applying.
A failure prints the example and a blob to replay it (`@reproduce_failure`).
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import event, given
from hypothesis import strategies as st

from calls.models import Call, CallbackEvent
from calls.signature import NONCE_HEADER, SIGNATURE_HEADER
from calls.webhooks.bodies import MalformedCallback, parse_body
from calls.webhooks.notices import MPC_EVENTS, PHLO_EVENTS
from calls.webhooks.verification import V2_HEADER
from tests.strategies import (
    FUZZ,
    RawRequest,
    any_text,
    form_text,
    header_text,
    json_values,
    raw_requests,
)
from tests.webhooks.helpers import WEBHOOK_PATH, build_call, load_scenario, sign

pytestmark = pytest.mark.django_db

SCENARIO = load_scenario("phlo_outbound_call")


@pytest.fixture
def call():
    """A live call the generated callbacks can match, so that applying them runs too."""
    return build_call(SCENARIO).call


def stored() -> tuple[int, int]:
    return CallbackEvent.objects.count(), Call.objects.count()


# --- anyone: no valid signature ----------------------------------------------------------------

# Signature headers are always sent (without them the body is never read), but never valid.
unsigned_requests = raw_requests(
    required={
        SIGNATURE_HEADER: st.one_of(header_text, st.just("AAAA")),
        NONCE_HEADER: st.one_of(header_text, st.just("1")),
    },
    optional={V2_HEADER: header_text},
)


@FUZZ
@given(request=unsigned_requests)
def test_any_unsigned_request_is_refused_below_500_and_nothing_is_stored(call, request):
    before = stored()
    response = request.send(Client(), WEBHOOK_PATH)
    event(f"answered {response.status_code}")  # see --hypothesis-show-statistics
    assert response.status_code in (400, 403, 413), response.content[:300]
    assert response.json()["error"]
    assert stored() == before


def test_the_request_in_the_issue_is_refused_with_400(call):
    # Issue 16, exactly: 100,000 levels deep, a garbage signature; it answered 500.
    body = ('{"a":' * 100_000 + "1" + "}" * 100_000).encode()
    request = RawRequest(body, "application/json", {SIGNATURE_HEADER: "AAAA", NONCE_HEADER: "1"})
    response = request.send(Client(), WEBHOOK_PATH)
    assert response.status_code == 400
    assert "more than 4 levels deep" in response.json()["error"]
    assert stored() == (0, 1)


# --- the provider: signed callbacks with hostile values ----------------------------------------

_ADDRESSES = SCENARIO["addresses"]
_KNOWN_VALUES = [
    *_ADDRESSES.values(),
    "+" + _ADDRESSES["customer"].lstrip("+"),
    *(SCENARIO["callbacks"]["customer_enters"].values()),
    "inbound",
    "outbound",
    "completed",
    "busy",
    "in-progress",
    "true",
    "2025-03-04 10:00:09",
    "2025-13-45 99:99:99",
    "u" * 65,
]
_FIELDS = [
    *SCENARIO["callbacks"]["customer_enters"],
    "EventTimestamp",
    "MPCUUID",
    "MPCName",
    "MemberID",
    "ParticipantCallUUID",
    "ParticipantCallFrom",
    "ParticipantCallTo",
    "ParticipantCallDirection",
    "ParticipantExitCause",
    "ParticipantIsMachine",
    "machine",
]
_events = st.sampled_from([*PHLO_EVENTS, *MPC_EVENTS, "Other", ""])
_form_value = st.one_of(st.sampled_from(_KNOWN_VALUES), form_text)
_form_fields = st.dictionaries(
    st.one_of(st.sampled_from(_FIELDS), form_text),
    st.one_of(_form_value, st.lists(_form_value, max_size=3)),
    max_size=8,
)
_json_fields = st.dictionaries(
    st.one_of(st.sampled_from(_FIELDS), any_text),
    st.one_of(st.sampled_from(_KNOWN_VALUES), json_values),
    max_size=8,
)


@st.composite
def signed_requests(draw) -> RawRequest:
    as_json = draw(st.booleans())
    fields = draw(_json_fields if as_json else _form_fields)
    fields[draw(st.sampled_from(["event", "EventName"]))] = draw(_events)
    if as_json:
        body = json.dumps(fields).encode()
        content_type = "application/json"
    else:
        body = urlencode(fields, doseq=True).encode()
        content_type = "application/x-www-form-urlencoded"
    nonce = uuid.uuid4().hex
    try:
        # Signed over exactly what the webhook will read, as the provider signs.
        params, _ = parse_body(content_type=content_type, charset=None, body=body)
        signature = sign(params, url=f"http://testserver{WEBHOOK_PATH}", nonce=nonce)
    except MalformedCallback:
        signature = "refused before the signature is looked at"
    return RawRequest(body, content_type, {SIGNATURE_HEADER: signature, NONCE_HEADER: nonce})


@FUZZ
@given(request=signed_requests())
def test_any_signed_callback_is_kept_or_refused_below_500(call, request):
    before_events, before_calls = stored()
    response = request.send(Client(), WEBHOOK_PATH)
    event(f"answered {response.status_code}")
    assert response.status_code in (200, 400), response.content[:300]
    events, calls = stored()
    assert calls == before_calls  # a callback never creates a call
    if response.status_code == 400:
        assert response.json()["error"]
        assert events == before_events
    else:
        assert events == before_events + (0 if response.json()["duplicate"] else 1)
