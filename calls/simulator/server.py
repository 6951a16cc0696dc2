"""The simulator's threaded HTTP server: /v1 (PHLO API), /_sim/ (control), /phones/ (page)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from calls.simulator import control, pages
from calls.simulator.responses import Response, json_response

if TYPE_CHECKING:
    from calls.simulator.simulator import Simulator

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024


class SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sim: Simulator) -> None:
        self.sim = sim
        super().__init__(address, _Handler)


def stop_server(server: ThreadingHTTPServer) -> None:
    """Shut a server down now: poke its socket so serve_forever wakes at once instead of
    at its next poll."""
    stopper = threading.Thread(target=server.shutdown, name="http-shutdown")
    stopper.start()
    host, port = server.server_address[:2]
    while stopper.is_alive():
        with contextlib.suppress(OSError):
            socket.create_connection((host, port), timeout=0.5).close()
        stopper.join(0.01)
    server.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: SimulatorHTTPServer
    server_version = "PHLOSimulator/1.0"

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
        parts = urlsplit(self.path)
        path = parts.path
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(json_response(413, {"error": "Request body too large."}))
                return
            body = self.rfile.read(length) if length > 0 else b""
            response = self._route(method, path, parts.query, body)
        except Exception:
            logger.exception("simulator failed on %s %s", method, path)
            response = json_response(500, {"error": "Internal simulator error; see its log."})
        self._send(response)

    def _route(self, method: str, path: str, query: str, body: bytes) -> Response:
        sim = self.server.sim
        if path == "/v1" or path.startswith("/v1/"):
            return sim.api.handle(method=method, path=path, headers=self.headers, body=body)
        if path.startswith("/_sim/"):
            return control.handle(sim, method=method, path=path, body=body)
        if path == "/phones" or path.startswith("/phones/"):
            return pages.handle(sim, method=method, path=path, query=query, body=body)
        if path == "/" and method == "GET":
            return Response(302, b"", "text/plain", {"Location": "/phones/"})
        return json_response(404, {"error": f"No such path: {path}"})

    def _send(self, response: Response) -> None:
        if response.disconnect:
            self.close_connection = True
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args) -> None:
        # The request line only (never headers, so never credentials).
        logger.debug("%s %s", self.address_string(), format % args)
