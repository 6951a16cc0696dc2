"""Generated requests against POST /routing/inbound/, through the real middleware and view.

Whatever arrives, the answer is below 500, and a refused request reserves no agent and
creates no call. Most requests carry the right token, so that their bodies are read; the
fields mix usable values with hostile ones (NUL, surrogates, huge or nested values).
A failure prints the example and a blob to replay it (`@reproduce_failure`).
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import event, given
from hypothesis import strategies as st

from agents.models import Agent
from calls.models import Call, Member
from tests.factories import make_agent
from tests.strategies import (
    FUZZ,
    SPECIAL_TEXTS,
    RawRequest,
    any_text,
    encodable,
    form_text,
    header_text,
    json_values,
    raw_requests,
)

pytestmark = pytest.mark.django_db

TOKEN = "routing-fuzz-token"
URL = "/routing/inbound/"


@pytest.fixture(autouse=True)
def _token(settings):
    settings.ROUTING_API_TOKEN = TOKEN


@pytest.fixture
def agents():
    """Two free agents, so that a valid request has someone to reserve."""
    return [make_agent(username="alice"), make_agent(username="bob")]


def stored() -> tuple:
    statuses = tuple(Agent.objects.order_by("pk").values_list("status", flat=True))
    return Call.objects.count(), Member.objects.count(), statuses


def _free_everyone() -> None:
    # A routed call reserves its agent; free them so the next example can route again.
    Agent.objects.update(status=Agent.Status.AVAILABLE)


_bearer = f"Bearer {TOKEN}"
_authorization = st.one_of(
    st.just(_bearer),
    st.just(_bearer),
    st.sampled_from(["Bearer", "Bearer ", f"bearer {TOKEN}", f"Basic {TOKEN}", "Bearer x"]),
    header_text,
)

# --- any body at all ---------------------------------------------------------------------------


@FUZZ
@given(request=raw_requests(required={"Authorization": _authorization}))
def test_any_request_is_answered_below_500_and_a_refusal_stores_nothing(agents, request):
    _free_everyone()
    before = stored()
    response = request.send(Client(), URL)
    event(f"answered {response.status_code}")  # see --hypothesis-show-statistics
    assert response.status_code < 500, response.content[:300]
    if response.status_code != 200:
        assert response.json()["error"]
        assert stored() == before


def test_a_body_nested_deeper_than_json_loads_can_recurse_is_400(agents):
    body = ('{"a":' * 2000 + "1" + "}" * 2000).encode()
    response = RawRequest(body, "application/json", {"Authorization": _bearer}).send(Client(), URL)
    assert response.status_code == 400
    assert "more than 4 levels deep" in response.json()["error"]
    assert not Call.objects.exists()


# --- routing requests with hostile fields ------------------------------------------------------

_VALID = {
    "call_uuid": ["c0ffee00-0000-4000-8000-000000000001", "abc", "x" * 64],
    "from": ["+1 415 555 0199", "14155550199", "sip:caller@phones.test"],
    "to": ["+14155550000", "", "sip:pbx@phones.test"],
    "direction": ["inbound", "INBOUND", ""],
}
_INVALID = ["x" * 65, "anonymous", "outbound", "sip:a@" + "x" * 300, "c0ffee\x00", "\x00"]


@st.composite
def routing_requests(draw) -> RawRequest:
    """Valid fields, a few of them (maybe none) replaced by hostile values."""
    as_json = draw(st.booleans())
    known = [*_INVALID, *(SPECIAL_TEXTS if as_json else filter(encodable, SPECIAL_TEXTS))]
    hostile = st.one_of(st.sampled_from(known), any_text if as_json else form_text)
    if as_json:
        hostile = st.one_of(hostile, json_values)
    fields = {key: draw(st.sampled_from(valid)) for key, valid in _VALID.items()}
    for key in draw(st.sets(st.sampled_from([*_VALID, "other"]), max_size=3)):
        fields[key] = draw(hostile)
    for key in draw(st.sets(st.sampled_from(["to", "direction"]))):
        fields.pop(key, None)  # optional fields
    if as_json:
        body = json.dumps(fields).encode()
        content_type = "application/json"
    else:
        body = urlencode(fields).encode()
        content_type = "application/x-www-form-urlencoded"
    return RawRequest(body, content_type, {"Authorization": _bearer})


@FUZZ
@given(request=routing_requests())
def test_any_routing_request_is_routed_or_refused_below_500(agents, request):
    _free_everyone()
    before = stored()
    response = request.send(Client(), URL)
    event(f"answered {response.status_code}")
    assert response.status_code in (200, 400), response.content[:300]
    if response.status_code == 400:
        assert response.json()["error"]
        assert stored() == before
    else:
        assert response.json()["result"] in ("agent", "no_agent")
