"""Shared pytest fixtures for anything that talks to the PHLO simulator.

- `callback_sink`: a real threaded HTTP server that records each request (path, headers,
  form params) and answers with queued statuses (default 200); `.url` is its webhook URL.
- `make_phlo_sim(callback_url=..., vocabulary=..., **cfg)`: start a Simulator on a free port
  with a ManualClock and the test settings' credentials; points settings.PHLO_BASE_URL at it.
- `phlo_sim`: `make_phlo_sim` with its callbacks going to `callback_sink`.
- `app_sim`: `make_phlo_sim` (answer delay 1 s) whose callbacks reach this app's live server.
Every started simulator and sink is stopped at teardown.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from calls.simulator import ManualClock, Simulator, SimulatorConfig
from calls.simulator.server import stop_server


@dataclass(frozen=True)
class SinkRequest:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, str | list[str]]
    body: bytes
    status: int
    base_url: str = field(repr=False, default="")

    @property
    def url(self) -> str:
        return self.base_url + self.path

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


class CallbackSink:
    """Records every request; answers with `respond_with(...)` statuses in turn, then
    `default_status`. `block()` holds answers until `release()` (for timeout tests)."""

    path = "/webhooks/plivo/"

    def __init__(self) -> None:
        self.default_status = 200
        self._statuses: deque[int] = deque()
        self._requests: list[SinkRequest] = []
        self._cond = threading.Condition()
        self._gate = threading.Event()
        self._gate.set()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                sink._record(self)

            def do_GET(self) -> None:
                sink._record(self)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        self.url = self.base_url + self.path

    def respond_with(self, *statuses: int) -> None:
        with self._cond:
            self._statuses.extend(statuses)

    def block(self) -> None:
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    @property
    def requests(self) -> list[SinkRequest]:
        with self._cond:
            return list(self._requests)

    @property
    def params(self) -> list[dict]:
        return [r.params for r in self.requests]

    def wait_for(self, count: int, *, timeout: float = 5.0) -> list[SinkRequest]:
        """Wait (without polling) until `count` requests arrived; for RealClock tests."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._requests) >= count, timeout):
                raise AssertionError(f"sink got {len(self._requests)} requests, wanted {count}")
            return list(self._requests)

    def clear(self) -> None:
        with self._cond:
            self._requests.clear()

    def _record(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        content_type = handler.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                params = {}
        else:
            parsed = parse_qs(body.decode(), keep_blank_values=True)
            params = {k: v[0] if len(v) == 1 else v for k, v in parsed.items()}
        with self._cond:
            status = self._statuses.popleft() if self._statuses else self.default_status
        self._gate.wait(10)
        request = SinkRequest(
            method=handler.command,
            path=handler.path,
            headers=dict(handler.headers.items()),
            params=params,
            body=body,
            status=status,
            base_url=self.base_url,
        )
        with self._cond:
            self._requests.append(request)
            self._cond.notify_all()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "text/plain")
            handler.send_header("Content-Length", "2")
            handler.end_headers()
            handler.wfile.write(b"ok")
        except OSError:
            pass  # the simulator gave up waiting (timeout test)

    def stop(self) -> None:
        self._gate.set()
        stop_server(self._server)
        self._thread.join(5)


@pytest.fixture
def callback_sink():
    sink = CallbackSink()
    yield sink
    sink.stop()


@pytest.fixture
def make_phlo_sim(settings):
    started: list[Simulator] = []

    def make(
        *, callback_url: str | None = None, vocabulary: str = "phlo", clock=None, **cfg
    ) -> Simulator:
        base = settings.PUBLIC_BASE_URL.rstrip("/")
        cfg.setdefault("routing_url", f"{base}/routing/inbound/")
        cfg.setdefault("routing_token", settings.ROUTING_API_TOKEN)
        config = SimulatorConfig(
            auth_id=settings.PLIVO_AUTH_ID,
            auth_token=settings.PLIVO_AUTH_TOKEN,
            phlo_id=settings.PHLO_ID,
            node_id=settings.PHLO_MPC_NODE_ID,
            callback_url=callback_url or f"{base}/webhooks/plivo/",
            vocabulary=vocabulary,
            **cfg,
        )
        sim = Simulator(config=config, clock=clock if clock is not None else ManualClock())
        sim.start(host="127.0.0.1", port=0)
        started.append(sim)
        settings.PHLO_BASE_URL = sim.api_url
        return sim

    yield make
    for sim in reversed(started):
        sim.stop()


@pytest.fixture
def phlo_sim(make_phlo_sim, callback_sink):
    return make_phlo_sim(callback_url=callback_sink.url)


@pytest.fixture
def app_sim(live_server, settings, make_phlo_sim):
    """A simulator on a manual clock (phones answer after 1 s) whose callbacks and routing
    requests reach this app's real webhook, on the live test server."""
    settings.PUBLIC_BASE_URL = live_server.url
    return make_phlo_sim(answer_delay=1.0)


@pytest.fixture(params=["phlo", "mpc"])
def app_sim_each_vocabulary(request, live_server, settings, make_phlo_sim):
    """`app_sim`, once in each callback vocabulary (the test runs twice)."""
    settings.PUBLIC_BASE_URL = live_server.url
    return make_phlo_sim(
        callback_url=f"{live_server.url}/webhooks/plivo/",
        vocabulary=request.param,
        answer_delay=1.0,
    )


@pytest.fixture
def accepted(monkeypatch) -> list[tuple[str, int]]:
    """The client address of every connection a simulator accepts (request it before the
    simulator starts)."""
    from calls.simulator.server import SimulatorHTTPServer

    addresses: list[tuple[str, int]] = []
    original = SimulatorHTTPServer.process_request

    def counting(self, request, client_address):
        addresses.append(client_address)
        original(self, request, client_address)

    monkeypatch.setattr(SimulatorHTTPServer, "process_request", counting)
    return addresses
