"""The PHLO REST surface over real HTTP: paths, auth, methods, bodies and error texts."""

import uuid

import pytest
import requests

from tests.simulator.helpers import AGENT, CUSTOMER


@pytest.fixture
def urls(phlo_sim, settings):
    phlo = f"{phlo_sim.api_url}/phlo/{settings.PHLO_ID}"
    node = f"{phlo}/multi_party_call/{settings.PHLO_MPC_NODE_ID}"
    return {"phlo": phlo, "node": node, "member": f"{node}/members/{CUSTOMER}"}


@pytest.fixture
def auth(settings):
    return (settings.PLIVO_AUTH_ID, settings.PLIVO_AUTH_TOKEN)


@pytest.mark.parametrize("slash", ["", "/"])
def test_get_phlo_and_node_with_and_without_trailing_slash(urls, auth, settings, slash):
    phlo = requests.get(urls["phlo"] + slash, auth=auth, timeout=5)
    assert phlo.status_code == 200
    assert phlo.json()["phlo_id"] == settings.PHLO_ID
    assert {"api_id", "name", "created_on"} <= set(phlo.json())
    node = requests.get(urls["node"] + slash, auth=auth, timeout=5)
    assert node.status_code == 200
    body = node.json()
    assert body["node_id"] == settings.PHLO_MPC_NODE_ID
    assert body["phlo_id"] == settings.PHLO_ID
    assert body["node_type"] == "multi_party_call"
    uuid.UUID(body["api_id"])


@pytest.mark.parametrize("slash", ["", "/"])
def test_action_success_is_201_with_api_id(phlo_sim, urls, auth, slash):
    body = {"action": "call", "trigger_source": AGENT, "to": CUSTOMER, "role": "customer"}
    response = requests.post(urls["node"] + slash, json=body, auth=auth, timeout=5)
    assert response.status_code == 201
    assert response.json()["error"] == ""
    uuid.UUID(response.json()["api_id"])
    member = requests.post(urls["member"] + slash, json={"action": "hangup"}, auth=auth, timeout=5)
    assert member.status_code == 201, member.text


@pytest.mark.parametrize(
    "credentials",
    [None, ("MATESTTESTTESTTEST00", "wrong"), ("MAOTHEROTHEROTHER000", "test-auth-token")],
)
def test_bad_or_missing_credentials_are_401_and_change_nothing(phlo_sim, urls, credentials):
    body = {"action": "call", "trigger_source": AGENT, "to": CUSTOMER, "role": "customer"}
    response = requests.post(urls["node"], json=body, auth=credentials, timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]
    assert "api_id" in response.json()
    assert requests.get(urls["phlo"], auth=credentials, timeout=5).status_code == 401
    assert phlo_sim.snapshot()["conferences"] == []


def test_garbled_basic_auth_header_is_401(urls):
    response = requests.get(urls["phlo"], headers={"Authorization": "Basic !!!"}, timeout=5)
    assert response.status_code == 401


def test_non_ascii_basic_auth_header_is_401(urls):
    # http.server decodes headers as latin-1; base64 refuses such text with a ValueError.
    response = requests.get(urls["phlo"], headers={"Authorization": "Basic \xe9t\xe9"}, timeout=5)
    assert response.status_code == 401


def test_unknown_phlo_node_or_path_is_404(phlo_sim, urls, auth, settings):
    api = phlo_sim.api_url
    assert requests.get(f"{api}/phlo/nope", auth=auth, timeout=5).status_code == 404
    node = f"{api}/phlo/{settings.PHLO_ID}/multi_party_call/nope"
    assert requests.get(node, auth=auth, timeout=5).status_code == 404
    other_phlo_node = f"{api}/phlo/nope/multi_party_call/{settings.PHLO_MPC_NODE_ID}"
    response = requests.post(other_phlo_node, json={"action": "call"}, auth=auth, timeout=5)
    assert response.status_code == 404
    assert "not found" in response.json()["error"]
    assert requests.get(f"{api}/elsewhere", auth=auth, timeout=5).status_code == 404
    assert requests.get(f"{phlo_sim.base_url}/nothing", timeout=5).status_code == 404


def test_wrong_method_is_405(urls, auth):
    assert requests.post(urls["phlo"], json={}, auth=auth, timeout=5).status_code == 405
    assert requests.delete(urls["node"], auth=auth, timeout=5).status_code == 405
    response = requests.get(urls["member"], auth=auth, timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"call"', "JSON object"),
        # What would crash a plain json.loads, or the code that uses its result.
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "more than 4 levels deep"),
        (b'{"action": "call", "role": Infinity}', "holds Infinity"),
        (b'{"action": "call", "to": "\\udfff"}', "unpaired surrogate"),
        (b'{"action": ' + b"7" * 5000 + b"}", "more than 100 digits"),
    ],
)
def test_body_that_is_not_a_json_object_is_400(urls, auth, data, expected):
    for url in (urls["node"], urls["member"]):
        response = requests.post(
            url, data=data, auth=auth, headers={"Content-Type": "application/json"}, timeout=5
        )
        assert response.status_code == 400
        assert expected in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"trigger_source": AGENT, "to": CUSTOMER, "role": "agent"},
            "action is a mandatory param.",
        ),
        (
            {"action": "call", "to": CUSTOMER, "role": "agent"},
            "trigger_source is a mandatory param.",
        ),
        ({"action": "call", "trigger_source": AGENT, "role": "agent"}, "to is a mandatory param."),
        ({"action": "call", "trigger_source": AGENT, "to": ""}, "to is a mandatory param."),
        ({"action": "call", "trigger_source": AGENT, "to": CUSTOMER}, "role is a mandatory param."),
        (
            {"action": "call", "trigger_source": AGENT, "to": CUSTOMER, "role": "boss"},
            "Invalid value provided for role.",
        ),
        (
            {"action": "warm_transfer", "trigger_source": AGENT, "to": CUSTOMER, "role": 3},
            "Invalid value provided for role.",
        ),
    ],
)
def test_node_action_parameter_errors_use_the_reference_texts(phlo, body, error):
    assert phlo.error(phlo.node(**body)) == error


def test_unknown_action_invalid_addresses_and_wrong_types_are_400(phlo):
    assert "call, warm_transfer, cold_transfer" in phlo.error(
        phlo.node(action="dance", trigger_source=AGENT, to=CUSTOMER, role="agent")
    )
    error = phlo.error(phlo.node(action="call", trigger_source=AGENT, to="call me", role="agent"))
    assert error.startswith("Invalid value provided for to:")
    error = phlo.error(
        phlo.node(action="call", trigger_source="sip:nohost", to=CUSTOMER, role="agent")
    )
    assert error.startswith("Invalid value provided for trigger_source:")
    assert "must be a string" in phlo.error(
        phlo.node(action="call", trigger_source=AGENT, to=14155550100, role="agent")
    )
    assert "different" in phlo.error(
        phlo.node(
            action="call",
            trigger_source=AGENT,
            to="sip:alice@PHONES.test",
            role="agent",
        )
    )
    assert "hold, unhold" in phlo.error(phlo.member(AGENT, "mute"))
    assert phlo.error(phlo.member(AGENT, "")) == "action is a mandatory param."
    assert phlo.error(phlo.member("not a number!", "hangup")).startswith(
        "Invalid value provided for member address"
    )


def test_member_not_in_any_live_call_is_400(phlo, phlo_sim):
    assert "is in a live call" in phlo.error(phlo.member(CUSTOMER, "hangup"))
    phlo.call()
    phlo_sim.advance(4)  # the agent, then the customer
    phlo.act(CUSTOMER, "hangup")  # ends the call: the agent is taken out too
    # A member who has left is no longer addressable.
    assert "is in a live call" in phlo.error(phlo.member(CUSTOMER, "hold"))
    assert "is in a live call" in phlo.error(phlo.member(AGENT, "hangup"))


def test_member_addresses_match_canonically_in_every_encoding(phlo, phlo_sim, settings):
    phlo.call(source="sip:Alice@PHONES.test", to="+1 (415) 555-0100")
    phlo_sim.advance(4)  # the agent, then the customer
    assert phlo_sim.member("sip:Alice@phones.test")["state"] == "talking"
    # Percent-encoded SIP (as our client sends it) and raw SIP (as the SDK sends it).
    phlo.act("sip:Alice@phones.test", "hold")
    raw = f"{phlo.node_url}/members/sip:Alice@phones.test/"
    response = requests.post(raw, json={"action": "unhold"}, auth=phlo.auth, timeout=5)
    assert response.status_code == 201, response.text
    # "+1415..." (plus kept, not a space) and "1415..." address the same member.
    phlo.act("+14155550100", "hold")
    raw_plus = f"{phlo.node_url}/members/+14155550100"
    response = requests.post(raw_plus, json={"action": "unhold"}, auth=phlo.auth, timeout=5)
    assert response.status_code == 201, response.text
    phlo.act("14155550100", "hangup")
    assert phlo_sim.member(CUSTOMER) is None


def test_api_request_never_delivers_callbacks_inline(phlo, phlo_sim, callback_sink):
    phlo.call()
    phlo_sim.advance(4)  # the agent, then the customer
    before = len(callback_sink.requests)
    phlo.act(CUSTOMER, "hangup")
    assert len(callback_sink.requests) == before  # only scheduled
    assert len(phlo_sim.callbacks) == before + 2  # the customer's exit, the agent taken out
    phlo_sim.run_pending()
    assert len(callback_sink.requests) == before + 2
