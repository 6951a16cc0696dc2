"""The demo simulator cannot be driven by any web page (issue 18, item 6): it answers only
requests addressed to it (Host: a DNS-rebinding page is refused) and sent by no page or its
own (Origin: another site's form post or no-cors fetch is refused), and the control API
takes only JSON. Programs (the app, the plivo SDK: tests/simulator/test_sdk.py) send no
Origin and keep working, and so does a person on the phones page."""

from __future__ import annotations

import pytest
import requests

from calls.simulator import Simulator
from calls.simulator.own_address import OwnAddress
from tests.simulator.helpers import CUSTOMER

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
EVIL = "http://evil.example"


@pytest.fixture
def sim(phlo_sim):
    return phlo_sim


def _port(sim) -> int:
    return int(sim.base_url.rsplit(":", 1)[1])


def _own(sim) -> str:
    return f"http://127.0.0.1:{_port(sim)}"


# --- Host: DNS rebinding ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["evil.example:{port}", "evil.example", "127.0.0.1:1", "127.0.0.1", "localhost.evil:{port}"],
)
@pytest.mark.parametrize("path", ["/_sim/state", "/phones/", "/v1/phlo/x", "/"])
def test_a_request_for_another_host_is_refused_and_shows_nothing(sim, host, path):
    sim.inbound_call(from_="+14155550101", to="+14155550000")  # something to leak
    response = requests.get(
        sim.base_url + path, headers={"Host": host.format(port=_port(sim))}, timeout=5
    )
    assert response.status_code == 400
    assert "not this simulator's address" in response.json()["error"]
    assert "4155550101" not in response.text


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]"])
def test_its_own_names_with_its_port_are_served(sim, name):
    response = requests.get(
        sim.base_url + "/_sim/state", headers={"Host": f"{name}:{_port(sim)}"}, timeout=5
    )
    assert response.status_code == 200


def test_the_host_the_app_reaches_it_by_is_its_own_too(settings):
    # A name from PHLO_BASE_URL (a container's service name, say): from_settings adds it.
    settings.PHLO_BASE_URL = "http://phlo-sim.internal:8001/v1"
    sim = Simulator.from_settings(port=0).start()
    try:
        own = sim._server.own_address
        assert "phlo-sim.internal" in own.names
        headers = {"Host": f"phlo-sim.internal:{_port(sim)}"}
        assert requests.get(sim.base_url + "/_sim/state", headers=headers, timeout=5).ok
    finally:
        sim.stop()


# --- Origin: another site's pages -------------------------------------------------------------


def test_another_sites_form_post_to_the_phones_page_is_refused(sim):
    response = requests.post(
        sim.base_url + "/phones/inbound",
        data={"from": "+14155550101", "to": "+14155550000"},
        headers=FORM | {"Origin": EVIL},
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code == 403
    assert "another site's pages" in response.json()["error"]
    assert sim.snapshot()["inbound"] == []  # no call was started


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_no_cors_fetch_to_the_control_api_is_refused(sim, content_type):
    # What fetch(..., {mode: "no-cors", method: "POST"}) may send from any page.
    body = '{"status": 500, "times": 3}'
    for origin in (EVIL, "null", f"http://127.0.0.1:{_port(sim) + 1}"):
        response = requests.post(
            sim.base_url + "/_sim/faults",
            data=body,
            headers={"Content-Type": content_type, "Origin": origin},
            timeout=5,
        )
        assert response.status_code == 403, origin
    # Even where a browser sends no Origin, the control API takes JSON only.
    response = requests.post(
        sim.base_url + "/_sim/faults", data=body, headers={"Content-Type": content_type}, timeout=5
    )
    assert response.status_code == 415
    assert "Content-Type: application/json" in response.json()["error"]
    assert sim.faults.pending() == []  # no fault was injected


def test_a_person_on_the_phones_page_still_answers_their_phone(phlo, sim):
    sim.phones.set_mode(CUSTOMER, "manual")
    phlo.call()
    sim.advance(4)
    session = requests.Session()
    # Followed from the desktop's "Phones (demo)" link: a navigation sends no Origin.
    assert session.get(sim.base_url + "/phones/", timeout=5).status_code == 200
    member = sim.member(CUSTOMER)
    # The page's own form posts carry its own origin.
    answered = session.post(
        sim.base_url + "/phones/answer",
        data={"address": CUSTOMER, "call_uuid": member["call_uuid"]},
        headers={"Origin": _own(sim)},
        timeout=5,
    )
    assert answered.status_code == 200
    assert answered.url.startswith(sim.base_url + "/phones/?msg=")
    assert sim.member(CUSTOMER)["state"] == "talking"


def test_a_program_drives_the_control_api_with_json(sim):
    response = requests.post(
        sim.base_url + "/_sim/inbound",
        json={"from": "+14155550101", "to": "+14155550000"},
        timeout=5,
    )
    assert response.status_code == 201
    same_page = requests.post(
        sim.base_url + "/_sim/faults",
        json={"status": 500},
        headers={"Origin": _own(sim)},
        timeout=5,
    )
    assert same_page.status_code == 201


# --- the rule itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "verdict"),
    [
        ("127.0.0.1:8001", True),
        ("localhost:8001", True),
        ("[::1]:8001", True),
        ("sim.test:8001", True),
        ("127.0.0.1:8002", False),
        ("127.0.0.1", False),
        ("user@127.0.0.1:8001", False),
        ("127.0.0.1:8001/x", False),
        ("127.0.0.1:99999", False),
        ("", False),
    ],
)
def test_which_hosts_are_its_own(host, verdict):
    own = OwnAddress.of(host="0.0.0.0", port=8001, extra=["sim.test"])
    assert (own.host_refusal(host) == "") is verdict
    assert (own.origin_refusal(f"http://{host}") == "") is verdict
    assert own.origin_refusal(f"https://{host}") != ""  # it serves plain http only
    assert own.host_refusal(None) == ""  # no Host at all: no browser sent it
    assert own.origin_refusal(None) == ""  # no Origin: a program, or a link followed
