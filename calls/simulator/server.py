"""The simulator's threaded HTTP server: /v1 (PHLO API), /_sim/ (control), /phones/ (page).

It speaks HTTP/1.1 with keep-alive, like the real PHLO runner, so a client's pooled
connection is reused between requests. Every request must be addressed to the simulator
and come from no page or its own (`own_address`): a foreign Host is a 400, a foreign Origin
a 403, before anything is routed."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol
from urllib.parse import urlsplit

from calls.simulator import control, pages
from calls.simulator.api import PhloApi
from calls.simulator.own_address import OwnAddress
from calls.simulator.responses import Response, json_response


class Simulator(control.Simulator, Protocol):
    """What the server serves: the PHLO API, and the control API and pages' simulator."""

    api: PhloApi


logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024


class SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # A kept-alive connection idle this long is closed here, ending its handler thread.
    # Longer than phlo_client.KEEPALIVE_IDLE_SECONDS (20 s), so the client drops it first.
    idle_timeout: float = 60.0

    def __init__(
        self, address: tuple[str, int], sim: Simulator, *, hosts: Iterable[str] = ()
    ) -> None:
        self.sim = sim
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)
        # After binding: port 0 has become the port actually listened on.
        host, port = self.server_address[:2]
        self.own_address = OwnAddress.of(host=host, port=port, extra=hosts)

    def process_request(self, request, client_address) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        # Under the lock, so close_connections never touches a socket being closed.
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut every open connection: a stopped simulator must not answer on a kept-alive
        one from a handler thread that outlived serve_forever."""
        with self._connections_lock:
            for request in self._connections:
                with contextlib.suppress(OSError):
                    request.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request, client_address) -> None:
        # A client resetting a kept-alive connection is routine, not worth a traceback.
        if isinstance(sys.exc_info()[1], OSError):
            logger.debug("connection from %s failed", client_address, exc_info=True)
        else:
            logger.exception("simulator failed on a connection from %s", client_address)


def stop_server(server: ThreadingHTTPServer) -> None:
    """Shut a server down now: poke its socket so serve_forever wakes at once instead of
    at its next poll; a SimulatorHTTPServer also cuts its kept-alive connections."""
    stopper = threading.Thread(target=server.shutdown, name="http-shutdown")
    stopper.start()
    host, port = server.server_address[:2]
    while stopper.is_alive():
        with contextlib.suppress(OSError):
            socket.create_connection((host, port), timeout=0.5).close()
        stopper.join(0.01)
    server.server_close()
    if isinstance(server, SimulatorHTTPServer):
        server.close_connections()


class _Handler(BaseHTTPRequestHandler):
    server: SimulatorHTTPServer
    server_version = "PHLOSimulator/1.0"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, a kept-alive connection waits
    # for the client's delayed ACK (~40 ms) before sending the body.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        # The socket timeout bounds how long an idle kept-alive connection holds a thread.
        self.timeout = self.server.idle_timeout
        super().setup()

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        refused = self._refuse_body()
        if refused is not None:
            # The body was not read, so the next request on this connection cannot be found.
            self.close_connection = True
            self._send(refused)
            return
        try:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        except OSError:
            # The client stalled (idle_timeout) or went away mid-body: nothing to answer.
            self.close_connection = True
            return
        try:
            parts = urlsplit(self.path)
        except ValueError:
            # e.g. "http://[x/": an absolute target with a malformed IPv6 host.
            self._send(json_response(400, {"error": f"Bad request target: {self.path[:80]!r}."}))
            return
        path = parts.path
        refused = self._refuse_foreign()
        if refused is not None:
            self._send(refused)
            return
        try:
            response = self._route(method, path, parts.query, body)
        except Exception:
            logger.exception("simulator failed on %s %s", method, path)
            response = json_response(500, {"error": "Internal simulator error; see its log."})
        self._send(response)

    def _refuse_body(self) -> Response | None:
        """An error for a body we will not read, or None if its length is usable."""
        if self.headers.get("Transfer-Encoding"):
            return json_response(411, {"error": "Send the body with a Content-Length."})
        raw = (self.headers.get("Content-Length") or "0").strip()
        if not (raw.isascii() and raw.isdigit()):
            return json_response(400, {"error": f"Bad Content-Length: {raw[:40]!r}."})
        # Compared by length first: int() refuses text of more than 4,300 digits.
        digits = raw.lstrip("0") or "0"
        if len(digits) > len(str(MAX_BODY)) or int(digits) > MAX_BODY:
            return json_response(413, {"error": "Request body too large."})
        return None

    def _refuse_foreign(self) -> Response | None:
        """An error for a request not addressed to the simulator (DNS rebinding), or sent by
        another site's page; None for the rest."""
        own = self.server.own_address
        if why := own.host_refusal(self._single("Host")):
            return json_response(400, {"error": why})
        if why := own.origin_refusal(self._single("Origin")):
            return json_response(403, {"error": why})
        return None

    def _single(self, name: str) -> str | None:
        values = set(self.headers.get_all(name) or [])
        if not values:
            return None
        # Two different values are nobody's honest header: judged as an empty one (refused).
        return values.pop() if len(values) == 1 else ""

    def _route(self, method: str, path: str, query: str, body: bytes) -> Response:
        sim = self.server.sim
        if path == "/v1" or path.startswith("/v1/"):
            return sim.api.handle(method=method, path=path, headers=self.headers, body=body)
        if path.startswith("/_sim/"):
            content_type = self.headers.get("Content-Type") or ""
            return control.handle(
                sim, method=method, path=path, body=body, content_type=content_type
            )
        if path == "/phones" or path.startswith("/phones/"):
            return pages.handle(sim, method=method, path=path, query=query, body=body)
        if path == "/" and method == "GET":
            return Response(302, b"", "text/plain", {"Location": "/phones/"})
        return json_response(404, {"error": f"No such path: {path}"})

    def _send(self, response: Response) -> None:
        if response.disconnect:
            self.close_connection = True
            return
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                # The client asked to close, or we must: say so (RFC 9112, 9.6).
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except OSError:
            # The client went away, or stop_server cut the connection.
            logger.debug("simulator could not answer %s %s", self.command, self.path)
            self.close_connection = True

    def log_message(self, format: str, *args) -> None:
        # The request line only (never headers, so never credentials).
        logger.debug("%s %s", self.address_string(), format % args)
