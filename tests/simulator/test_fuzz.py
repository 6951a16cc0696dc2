"""Generated bodies against the simulator's PHLO API, control API and phones page: whatever
arrives, the answer is below 500 (a 500 there means a request crashed a handler).

The handlers are called directly, as the HTTP server calls them, so hundreds of examples
take a second; the server's own parsing of request lines and headers has tests of its own
(test_keep_alive.py). A failure prints the example and a blob to replay it.
"""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calls.simulator import control, pages
from tests.simulator.helpers import AGENT, CUSTOMER
from tests.strategies import FUZZ, any_body, any_text, content_types, header_text, json_values

_FIELDS = ["action", "trigger_source", "to", "role", "address", "call_uuid", "mode", "from"]
_VALUES = [
    "call",
    "warm_transfer",
    "cold_transfer",
    "hold",
    "hangup",
    "agent",
    "customer",
    "busy",
    AGENT,
    CUSTOMER,
    "+14155550123",
]
# Objects with the fields the handlers read, holding usable or hostile values.
_objects = st.dictionaries(
    st.one_of(st.sampled_from(_FIELDS), any_text),
    st.one_of(st.sampled_from(_VALUES), json_values),
    max_size=5,
).map(lambda data: json.dumps(data).encode())
bodies = st.one_of(_objects, any_body)


@pytest.fixture
def sim(make_phlo_sim, callback_sink):
    # No routing URL: an inbound call the fuzz starts is not routed over the network.
    return make_phlo_sim(callback_url=callback_sink.url, routing_url="")


@pytest.fixture
def auth(settings) -> str:
    token = f"{settings.PLIVO_AUTH_ID}:{settings.PLIVO_AUTH_TOKEN}".encode()
    return "Basic " + base64.b64encode(token).decode()


@FUZZ
@given(data=st.data(), body=bodies)
def test_the_phlo_api_answers_any_body_below_500(sim, auth, settings, data, body):
    node = f"/v1/phlo/{settings.PHLO_ID}/multi_party_call/{settings.PHLO_MPC_NODE_ID}"
    member = st.one_of(st.sampled_from([AGENT, CUSTOMER, "%2B1415", "%ff", "%00"]), header_text)
    path = data.draw(
        st.one_of(st.just(node), member.map(f"{node}/members/{{}}".format), st.just("/v1/x"))
    )
    authorization = data.draw(st.one_of(st.just(auth), header_text))
    response = sim.api.handle(
        method="POST", path=path, headers={"Authorization": authorization}, body=body
    )
    assert response.status < 500, response.body[:300]


@FUZZ
@given(path=st.sampled_from(sorted(control._POST)), body=bodies, content_type=content_types)
def test_the_control_api_answers_any_body_below_500(sim, path, body, content_type):
    response = control.handle(sim, method="POST", path=path, body=body, content_type=content_type)
    assert response.status < 500, response.body[:300]


@FUZZ
@given(action=st.sampled_from(sorted(pages._ACTIONS)), body=any_body, query=header_text)
def test_the_phones_page_answers_any_form_below_500(sim, action, body, query):
    response = pages.handle(sim, method="POST", path=f"/phones/{action}", query="", body=body)
    assert response.status < 500, response.body[:300]
    page = pages.handle(sim, method="GET", path="/phones/", query=query, body=b"")
    assert page.status == 200
