"""Helpers for the simulator's own tests: a tiny PHLO client over real HTTP, a routing endpoint
that records what it is asked, and compact views of the simulator's state."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, urlsplit

import requests

from calls.phlo_client import PhloRequest
from calls.simulator.server import stop_server

AGENT = "sip:alice@phones.test"
AGENT2 = "sip:bob@phones.test"
SUPERVISOR = "sip:sam@phones.test"
CUSTOMER = "14155550100"
CUSTOMER2 = "14155550111"
# An inbound caller, the number they call and the routing endpoint's token.
CALLER = "14155550101"
NUMBER = "14155550000"
TOKEN = "routing-test-token"


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


def node_read(settings) -> PhloRequest:
    """A read (GET) of the Multiparty Call node, for `PhloClient.send`: a request that
    changes nothing, to open a connection."""
    path = urlsplit(settings.PHLO_BASE_URL).path
    return PhloRequest(
        "GET", f"{path}/phlo/{settings.PHLO_ID}/multi_party_call/{settings.PHLO_MPC_NODE_ID}"
    )


def phlo_for(sim, settings) -> Phlo:
    return Phlo(
        api_url=sim.api_url,
        phlo_id=settings.PHLO_ID,
        node_id=settings.PHLO_MPC_NODE_ID,
        auth=(settings.PLIVO_AUTH_ID, settings.PLIVO_AUTH_TOKEN),
    )


def conference(sim, index: int = -1) -> dict:
    return sim.snapshot()["conferences"][index]


def states(sim, index: int = -1) -> dict[str, str]:
    """address -> state of the newest leg of each address in one conference."""
    return {m["address"]: m["state"] for m in conference(sim, index)["members"]}


def events(params_list) -> list[tuple[str, str, str]]:
    """(event, to, call_status) of PHLO-vocabulary callbacks, for compact assertions."""
    return [(p["event"], p["to"], p["call_status"]) for p in params_list]


class RoutingServer:
    """Answers each routing request with (status, body) and records what it got."""

    def __init__(self) -> None:
        self.status = 200
        self.body = json.dumps({"result": "agent", "agent_endpoint": AGENT})
        self.received: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.received.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers.items()),
                        "json": json.loads(raw),
                    }
                )
                payload = server.body.encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/routing/inbound/"

    def stop(self) -> None:
        stop_server(self._server)
