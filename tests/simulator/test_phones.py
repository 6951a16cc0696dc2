"""A person's phone: per-address modes, answer/reject/hang up, the /_sim API and /phones/."""

import pytest
import requests

from calls.simulator import SimulatorError
from tests.simulator.helpers import AGENT, CUSTOMER, conference, events, states

JSON = {"Content-Type": "application/json"}


def _post(sim, path, **body):
    return requests.post(sim.base_url + path, json=body, timeout=5)


def test_manual_phone_is_answered_by_a_person(phlo, phlo_sim, callback_sink):
    assert _post(phlo_sim, "/_sim/phones/mode", address="+14155550100", mode="manual").ok
    phlo.call()
    phlo_sim.advance(10)
    assert states(phlo_sim) == {AGENT: "talking", CUSTOMER: "ringing"}
    response = _post(phlo_sim, "/_sim/phones/answer", address="+1 415 555 0100")
    assert response.status_code == 200, response.text
    assert states(phlo_sim)[CUSTOMER] == "talking"
    phlo_sim.run_pending()
    assert events(callback_sink.params)[-1] == ("ConferenceEnter", CUSTOMER, "in-progress")
    # The ring timeout no longer applies once answered.
    phlo_sim.advance(60)
    assert states(phlo_sim)[CUSTOMER] == "talking"
    assert _post(phlo_sim, "/_sim/phones/hangup", address=CUSTOMER).ok
    phlo_sim.run_pending()
    assert events(callback_sink.params)[-2] == ("ConferenceExit", CUSTOMER, "completed")


def test_rejecting_a_ringing_phone_is_busy(phlo, phlo_sim, callback_sink):
    phlo_sim.phones.set_mode(CUSTOMER, "manual")
    phlo.call()
    phlo_sim.advance(2)  # the agent answers; the customer rings
    phlo_sim.phones.reject(CUSTOMER)
    phlo_sim.run_pending()
    assert events(callback_sink.params)[-2] == ("ConferenceExit", CUSTOMER, "busy")


@pytest.mark.parametrize(
    ("mode", "state", "status"),
    [("busy", "gone", "busy"), ("fail", "gone", "failed"), ("voicemail", "voicemail", None)],
)
def test_modes_set_at_run_time(phlo, phlo_sim, callback_sink, mode, state, status):
    phlo_sim.phones.set_mode("sip:carol@phones.test", mode)
    phlo.call(to="sip:carol@phones.test", role="agent")
    phlo_sim.advance(4)  # the agent, then the customer
    assert states(phlo_sim)["sip:carol@phones.test"] == state
    if status:
        # The agent is taken out after, alone on the bridge.
        assert callback_sink.params[-2]["call_status"] == status


def test_phone_buttons_refuse_what_makes_no_sense(phlo, phlo_sim):
    with pytest.raises(SimulatorError, match="is not ringing"):
        phlo_sim.phones.answer(CUSTOMER)
    with pytest.raises(SimulatorError, match="is not on a call"):
        phlo_sim.phones.hangup(CUSTOMER)
    phlo.call()
    phlo_sim.advance(2)
    with pytest.raises(SimulatorError, match="answer or reject"):
        phlo_sim.phones.hangup(CUSTOMER)
    with pytest.raises(SimulatorError, match="Invalid value provided for mode"):
        phlo_sim.phones.set_mode(CUSTOMER, "loud")
    with pytest.raises(SimulatorError, match="Invalid value provided for address"):
        phlo_sim.phones.answer("nobody")


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        ("/_sim/phones/answer", {"address": CUSTOMER}, "is not ringing"),
        ("/_sim/phones/answer", {}, "address is a mandatory param."),
        ("/_sim/phones/reject", {"address": 12}, "address must be a string."),
        ("/_sim/phones/hangup", {"address": "x y"}, "Invalid value provided for address"),
        ("/_sim/phones/mode", {"address": CUSTOMER, "mode": "loud"}, "Use one of auto, manual"),
        ("/_sim/phones/mode", {"address": CUSTOMER}, "mode is a mandatory param."),
        ("/_sim/inbound", {"from": CUSTOMER}, "to is a mandatory param."),
        ("/_sim/inbound", {"from": "bad", "to": "14155550000"}, "Invalid value provided for from"),
        # A burst: a sane count, from a number with room for the callers after it.
        ("/_sim/inbound", {"from": CUSTOMER, "to": "14155550000", "count": 0}, "from 1 to 500"),
        ("/_sim/inbound", {"from": CUSTOMER, "to": "14155550000", "count": 501}, "from 1 to 500"),
        ("/_sim/inbound", {"from": CUSTOMER, "to": "14155550000", "count": 2.5}, "whole number"),
        # As the phones page's form sends it: a whole number, out of range.
        ("/_sim/inbound", {"from": CUSTOMER, "to": "14155550000", "count": "-1"}, "from 1 to 500"),
        ("/_sim/inbound", {"from": CUSTOMER, "to": "14155550000", "count": "two"}, "whole number"),
        ("/_sim/inbound", {"from": "sip:a@x.test", "to": "1415", "count": 2}, "phone number"),
        ("/_sim/inbound", {"from": "+99999999999", "to": "1415", "count": 2}, "room for"),
        ("/_sim/faults", {"status": 99}, "status must be an HTTP status code"),
        ("/_sim/faults", {"colour": "red"}, "Unknown fault field"),
        # A list of a billion faults is more than the process can hold.
        ("/_sim/faults", {"status": 500, "times": 10**9}, "times must be a whole number from 1"),
        ("/_sim/faults", {"status": 500, "times": 0}, "times must be a whole number from 1"),
        # Addresses that could not be stored or shown: control characters, surrogates.
        ("/_sim/phones/mode", {"address": "sip:a\x00@x.test", "mode": "busy"}, "for address"),
        ("/_sim/phones/mode", {"address": "sip:a\ud800@x.test", "mode": "busy"}, "surrogate"),
    ],
)
def test_control_api_bad_input_is_400_with_a_reason(phlo_sim, path, body, error):
    response = _post(phlo_sim, path, **body)
    assert response.status_code == 400
    assert error in response.json()["error"]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "more than 4 levels deep"),
        (b'{"address": "x", "mode": NaN}', "holds NaN"),
        (b'{"address": ' + b"1" * 5000 + b"}", "more than 100 digits"),
        (b'{"address": "\xed\xa0\x80"}', "not UTF-8"),
    ],
)
def test_control_api_hostile_json_is_400_with_a_reason(phlo_sim, data, error):
    for path in ("/_sim/phones/mode", "/_sim/inbound", "/_sim/faults"):
        response = requests.post(phlo_sim.base_url + path, data=data, headers=JSON, timeout=5)
        assert response.status_code == 400
        assert error in response.json()["error"]
    assert phlo_sim.faults.pending() == []
    assert phlo_sim.snapshot()["inbound"] == []


def test_control_api_paths_methods_and_bodies(phlo_sim):
    base = phlo_sim.base_url
    assert requests.get(base + "/_sim/nope", timeout=5).status_code == 404
    assert requests.get(base + "/_sim/phones/answer", timeout=5).status_code == 405
    assert requests.post(base + "/_sim/state", json={}, timeout=5).status_code == 405
    response = requests.post(base + "/_sim/phones/answer", data=b"[]", headers=JSON, timeout=5)
    assert response.status_code == 400
    assert "JSON object" in response.json()["error"]


def test_state_and_deliveries_over_http(phlo, phlo_sim, callback_sink):
    phlo.call()
    phlo_sim.advance(4)  # the agent, then the customer
    state = requests.get(phlo_sim.base_url + "/_sim/state", timeout=5).json()
    assert state == phlo_sim.snapshot() | {"time": state["time"]}
    assert [m["state"] for m in state["conferences"][0]["members"]] == ["talking", "talking"]
    deliveries = requests.get(phlo_sim.base_url + "/_sim/deliveries/", timeout=5).json()
    assert [d["status"] for d in deliveries["deliveries"]] == [200, 200]
    first = deliveries["deliveries"][0]
    assert first["params"]["event"] == "ConferenceEnter"
    assert first["url"] == callback_sink.url
    assert "X-Plivo-Signature-V3" in first["headers"]
    assert deliveries["routing"] == []


def test_phones_page_lists_legs_and_its_forms_work(phlo, phlo_sim):
    phlo_sim.phones.set_mode(CUSTOMER, "manual")
    phlo.call()
    phlo_sim.advance(4)  # the agent, then the customer
    session = requests.Session()
    page = session.get(phlo_sim.base_url + "/phones/", timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert "+14155550100" in html and "ringing" in html
    assert 'action="/phones/answer"' in html
    assert "+15005550001" in html  # special numbers are documented on the page
    conf = conference(phlo_sim)
    customer = conf["members"][1]
    answered = session.post(
        phlo_sim.base_url + "/phones/answer",
        data={"address": CUSTOMER, "call_uuid": customer["call_uuid"]},
        timeout=5,
    )
    assert answered.status_code == 200  # after the 303 back to the page
    assert answered.url.startswith(phlo_sim.base_url + "/phones/?msg=")
    assert phlo_sim.member(CUSTOMER)["state"] == "talking"
    assert 'action="/phones/hangup"' in answered.text
    refused = session.post(
        phlo_sim.base_url + "/phones/mode", data={"address": CUSTOMER, "mode": "x"}, timeout=5
    )
    assert refused.status_code == 400
    assert "Invalid value provided for mode" in refused.text
    assert session.get(phlo_sim.base_url + "/phones/answer", timeout=5).status_code == 405
    assert session.post(phlo_sim.base_url + "/phones/dance", timeout=5).status_code == 404
    root = session.get(phlo_sim.base_url + "/", timeout=5)
    assert root.url == phlo_sim.base_url + "/phones/"


def test_phones_page_escapes_what_it_shows(phlo_sim):
    page = requests.get(phlo_sim.base_url + "/phones/?err=<script>x</script>", timeout=5)
    assert "<script>x" not in page.text
    assert "&lt;script&gt;x" in page.text


def test_phones_page_sets_modes_and_starts_inbound_calls(phlo_sim):
    url = phlo_sim.base_url
    response = requests.post(
        url + "/phones/mode", data={"address": "sip:dave@phones.test", "mode": "busy"}, timeout=5
    )
    assert response.status_code == 200
    assert phlo_sim.phones.mode_of("sip:dave@phones.test") == "busy"
    assert "sip:dave@phones.test" in response.text
    response = requests.post(
        url + "/phones/inbound", data={"from": "+14155550199", "to": "+14155550000"}, timeout=5
    )
    assert response.status_code == 200
    assert phlo_sim.snapshot()["inbound"][0]["state"] == "routing"
    assert "being routed" in response.text


def test_a_burst_of_callers_from_the_control_api_and_the_phones_page(phlo_sim):
    response = _post(
        phlo_sim, "/_sim/inbound", **{"from": "+14155553000", "to": "+14155550000", "count": 3}
    )
    assert response.status_code == 201, response.text
    assert len(response.json()["call_uuids"]) == 3
    page = requests.post(
        phlo_sim.base_url + "/phones/inbound",
        data={"from": "+14155553100", "to": "+14155550000", "count": "2"},
        timeout=5,
    )
    assert page.status_code == 200 and "2 inbound calls are being routed" in page.text
    callers = sorted(c["from"] for c in phlo_sim.snapshot()["inbound"])
    assert callers == [
        "14155553000", "14155553001", "14155553002", "14155553100", "14155553101"
    ]  # fmt: skip


def test_phones_page_names_a_voicemail_box_and_a_caller_waiting(phlo, phlo_sim):
    """Dialled into a call as an agent would be, the voicemail box says what it is; a phone
    that is only waiting on the bridge with music reads "waiting", not "talking"."""
    phlo.call(to="+1 500 555 0007", role="agent")  # the special voicemail-box number
    phlo_sim.advance(4)
    html = requests.get(phlo_sim.base_url + "/phones/", timeout=5).text
    assert "agent (voicemail box)" in html
    assert "talking, hearing" not in html
