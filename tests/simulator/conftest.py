"""Helpers for the simulator's own tests: a tiny PHLO client over real HTTP."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests

AGENT = "sip:alice@phones.test"
AGENT2 = "sip:bob@phones.test"
SUPERVISOR = "sip:sam@phones.test"
CUSTOMER = "14155550100"
CUSTOMER2 = "14155550111"


class Phlo:
    """Plain `requests` against the simulator, the way curl would call the real runner."""

    def __init__(self, *, api_url: str, phlo_id: str, node_id: str, auth: tuple[str, str]):
        self.node_url = f"{api_url}/phlo/{phlo_id}/multi_party_call/{node_id}"
        self.auth = auth
        self.session = requests.Session()

    def node(self, **body) -> requests.Response:
        return self.session.post(self.node_url, json=body, auth=self.auth, timeout=5)

    def member(self, address: str, action: str) -> requests.Response:
        url = f"{self.node_url}/members/{quote(address, safe='')}"
        return self.session.post(url, json={"action": action}, auth=self.auth, timeout=5)

    def ok(self, response: requests.Response) -> None:
        assert response.status_code == 201, response.text
        assert response.json()["error"] == ""

    def call(self, source: str = AGENT, to: str = CUSTOMER, role: str = "customer") -> None:
        self.ok(self.node(action="call", trigger_source=source, to=to, role=role))

    def act(self, address: str, action: str) -> None:
        self.ok(self.member(address, action))

    def error(self, response: requests.Response, status: int = 400) -> str:
        assert response.status_code == status, response.text
        return response.json()["error"]


def phlo_for(sim, settings) -> Phlo:
    return Phlo(
        api_url=sim.api_url,
        phlo_id=settings.PHLO_ID,
        node_id=settings.PHLO_MPC_NODE_ID,
        auth=(settings.PLIVO_AUTH_ID, settings.PLIVO_AUTH_TOKEN),
    )


@pytest.fixture
def phlo(phlo_sim, settings) -> Phlo:
    return phlo_for(phlo_sim, settings)


def conference(sim, index: int = -1) -> dict:
    return sim.snapshot()["conferences"][index]


def states(sim, index: int = -1) -> dict[str, str]:
    """address -> state of the newest leg of each address in one conference."""
    return {m["address"]: m["state"] for m in conference(sim, index)["members"]}


def events(params_list) -> list[tuple[str, str, str]]:
    """(event, to, call_status) of PHLO-vocabulary callbacks, for compact assertions."""
    return [(p["event"], p["to"], p["call_status"]) for p in params_list]
