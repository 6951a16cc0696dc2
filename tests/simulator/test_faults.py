"""Fault injection for the PHLO client's error tests: statuses, bad bodies, delays, drops."""

import pytest
import requests

from tests.simulator.helpers import AGENT, CUSTOMER


def test_injected_status_replaces_the_next_request_only(phlo, phlo_sim):
    phlo_sim.inject_fault(status=500)
    response = phlo.node(action="call", trigger_source=AGENT, to=CUSTOMER, role="customer")
    assert response.status_code == 500
    assert response.json()["error"] == "Injected fault (HTTP 500)."
    assert phlo_sim.snapshot()["conferences"] == []  # not applied
    phlo.call()
    assert len(phlo_sim.snapshot()["conferences"]) == 1


def test_html_body_not_json_and_times(phlo, phlo_sim):
    phlo_sim.inject_fault(status=503, body="<html>Service Unavailable</html>")
    response = phlo.node(action="call")
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text == "<html>Service Unavailable</html>"
    phlo_sim.inject_fault(not_json=True, times=2)
    for _ in range(2):
        response = phlo.node(action="call")
        assert response.status_code == 201
        with pytest.raises(ValueError):
            response.json()
    assert phlo.node(action="call").status_code == 400  # back to normal


def test_delay_holds_the_answer_then_applies_the_request(phlo, phlo_sim):
    phlo_sim.inject_fault(delay=0.3)
    with pytest.raises(requests.Timeout):
        phlo.session.post(
            phlo.node_url,
            json={"action": "call", "trigger_source": AGENT, "to": CUSTOMER, "role": "customer"},
            auth=phlo.auth,
            timeout=0.05,
        )
    # The client gave up, but the action still happened (so never retry POSTs blindly).
    assert phlo_sim.wait_api_idle(timeout=5)
    assert len(phlo_sim.snapshot()["conferences"]) == 1


def test_disconnect_drops_the_connection(phlo, phlo_sim):
    phlo_sim.inject_fault(disconnect=True)
    with pytest.raises(requests.ConnectionError):
        phlo.node(action="call")


def test_faults_over_the_control_api(phlo, phlo_sim):
    url = phlo_sim.base_url + "/_sim/faults"
    response = requests.post(url, json={"status": 502, "times": 2}, timeout=5)
    assert response.status_code == 201
    assert len(response.json()["faults"]) == 2
    assert phlo.node(action="call").status_code == 502
    assert requests.delete(url, timeout=5).json() == {"faults": []}
    assert phlo.node(action="call").status_code == 400
    bad = requests.post(url, json={"delay": -1}, timeout=5)
    assert bad.status_code == 400
    assert requests.post(url, json={}, timeout=5).status_code == 400
    assert requests.post(url, json={"status": 500, "times": 0}, timeout=5).status_code == 400
