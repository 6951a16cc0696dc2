"""The PHLO runner's REST API under /v1, as the official SDKs and curl call it."""

from __future__ import annotations

import base64
import hmac
import re
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import unquote

from calls.simulator.config import SimulatorConfig
from calls.simulator.engine import Engine
from calls.simulator.errors import SimulatorError
from calls.simulator.faults import FaultQueue
from calls.simulator.responses import Response, api_error, json_object, json_response

# Every path with or without the trailing slash the SDKs add.
_ROUTES = (
    ("phlo", re.compile(r"^/v1/phlo/(?P<phlo>[^/]+)/?$"), ("GET",)),
    (
        "node",
        re.compile(r"^/v1/phlo/(?P<phlo>[^/]+)/multi_party_call/(?P<node>[^/]+)/?$"),
        ("GET", "POST"),
    ),
    (
        "member",
        re.compile(
            r"^/v1/phlo/(?P<phlo>[^/]+)/multi_party_call/(?P<node>[^/]+)/members/(?P<member>[^/]+)/?$"
        ),
        ("POST",),
    ),
)


class PhloApi:
    def __init__(
        self,
        *,
        config: SimulatorConfig,
        engine: Engine,
        faults: FaultQueue,
        stopping: threading.Event,
    ) -> None:
        self.config = config
        self.engine = engine
        self.faults = faults
        self.stopping = stopping
        self.created_on = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
        self._in_flight = 0
        self._idle = threading.Condition()

    def wait_idle(self, *, timeout: float = 5.0) -> bool:
        """Wait until no API request is being handled (e.g. a delayed one has been applied)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def handle(
        self, *, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        with self._idle:
            self._in_flight += 1
        try:
            return self._handle(method=method, path=path, headers=headers, body=body)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _handle(
        self, *, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        fault = self.faults.take()
        if fault is not None:
            if fault.delay:
                # Wait in real time (the client's timeout is real), but never past stop().
                self.stopping.wait(fault.delay)
            if fault.replaces_request:
                return self._fault_response(fault)
        if not self._authorized(headers.get("Authorization", "")):
            return api_error(
                401,
                "Authentication failed: invalid Auth ID or Auth Token.",
                **{"WWW-Authenticate": 'Basic realm="PHLO"'},
            )
        for name, pattern, methods in _ROUTES:
            match = pattern.match(path)
            if match is None:
                continue
            if method not in methods:
                return api_error(
                    405, f"Method {method} is not allowed here.", Allow=", ".join(methods)
                )
            return self._dispatch(name, method, match.groupdict(), body)
        return api_error(404, f"No such resource: {path}")

    def _dispatch(self, name: str, method: str, ids: dict[str, str], body: bytes) -> Response:
        phlo_id = unquote(ids["phlo"])
        if phlo_id != self.config.phlo_id:
            return api_error(404, f"PHLO {phlo_id} not found.")
        if name == "phlo":
            return json_response(200, self._phlo_info())
        node_id = unquote(ids["node"])
        if node_id != self.config.node_id:
            return api_error(404, f"Multiparty call node {node_id} not found in this PHLO.")
        if method == "GET":
            return json_response(200, self._node_info())
        try:
            data = json_object(body)
            if name == "node":
                self.engine.node_action(body=data)
            else:
                # unquote, not unquote_plus: "+1415..." keeps its plus.
                self.engine.member_action(address=unquote(ids["member"]), body=data)
        except SimulatorError as exc:
            return api_error(exc.status, str(exc))
        return json_response(201, {"api_id": str(uuid.uuid4()), "error": ""})

    def _authorized(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except ValueError:
            # binascii.Error, UnicodeDecodeError, or non-ASCII text (headers arrive as latin-1).
            return False
        auth_id, _, token = decoded.partition(":")
        id_ok = hmac.compare_digest(auth_id.encode(), self.config.auth_id.encode())
        token_ok = hmac.compare_digest(token.encode(), self.config.auth_token.encode())
        return id_ok and token_ok

    def _phlo_info(self) -> dict[str, str]:
        return {
            "api_id": str(uuid.uuid4()),
            "phlo_id": self.config.phlo_id,
            "name": self.config.phlo_name,
            "created_on": self.created_on,
        }

    def _node_info(self) -> dict[str, str]:
        return {
            "api_id": str(uuid.uuid4()),
            "phlo_id": self.config.phlo_id,
            "node_id": self.config.node_id,
            "name": self.config.node_name,
            "node_type": "multi_party_call",
            "created_on": self.created_on,
        }

    @staticmethod
    def _fault_response(fault) -> Response:
        if fault.disconnect:
            return Response(0, disconnect=True)
        status = fault.status or 201
        if fault.body is not None:
            kind = "text/html" if fault.body.lstrip().startswith("<") else "text/plain"
            return Response(status, fault.body.encode(), f"{kind}; charset=utf-8")
        if fault.not_json:
            return Response(status, b"this is not JSON", "text/plain; charset=utf-8")
        return api_error(status, f"Injected fault (HTTP {status}).")
