"""The PHLO "HTTP Request" node for inbound calls: ask the app which agent takes the call.

POST JSON {"call_uuid","from","to","direction":"inbound"} with `Authorization: Bearer`;
a 2xx JSON answer {"result":"agent","agent_endpoint":...} connects the caller (hearing the
answer's `wait_music_url`, if any, while the agent rings),
{"result":"queue","wait_music_url":...} puts them on a multiparty call of their own to wait
with music for the app to offer them to an agent, anything else (no_agent, non-2xx, bad
JSON, a network error) plays the no-agent message and hangs up.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from calls.addresses import InvalidAddress, normalize_address
from calls.simulator.config import SimulatorConfig
from calls.simulator.scheduler import Scheduler
from calls.untrusted_json import UnreadableJSON, load_json

if TYPE_CHECKING:
    from calls.simulator.engine import Engine
    from calls.simulator.model import InboundCall

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoutingRequest:
    """One routing request as sent (the token is not recorded) and what came back."""

    call_uuid: str
    url: str
    body: dict[str, str]
    status: int | None
    response: str
    agent_endpoint: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class InboundRouter:
    def __init__(self, *, config: SimulatorConfig, scheduler: Scheduler) -> None:
        self.config = config
        self.scheduler = scheduler
        self.engine: Engine | None = None
        self._session = requests.Session()
        self._lock = threading.Lock()
        self._requests: list[RoutingRequest] = []

    @property
    def requests(self) -> list[RoutingRequest]:
        with self._lock:
            return list(self._requests)

    def route(self, call: InboundCall) -> None:
        """Schedule the routing request; it is sent by the delivery worker, not inline."""
        self.scheduler.schedule(0, lambda: self._ask(call), label="inbound routing")

    def _ask(self, call: InboundCall) -> None:
        body = {"call_uuid": call.call_uuid, "from": call.caller, "to": call.callee}
        body["direction"] = "inbound"
        url = self.config.routing_url
        status, text, endpoint, reason, outcome, music = None, "", "", "", "", ""
        if not url:
            reason = "no routing_url is configured"
        else:
            try:
                response = self._session.post(
                    url,
                    json=body,
                    headers={"Authorization": f"Bearer {self.config.routing_token}"},
                    timeout=self.config.routing_timeout,
                    allow_redirects=False,
                )
                status, text = response.status_code, response.text[:2000]
                endpoint, reason, outcome, music = self._read(response)
            except requests.RequestException as exc:
                reason = f"routing request failed: {type(exc).__name__}"
        record = RoutingRequest(call.call_uuid, url, body, status, text, endpoint, reason)
        with self._lock:
            self._requests.append(record)
        if reason:
            logger.info("inbound call %s not routed: %s", call.call_uuid, reason)
        assert self.engine is not None
        self.engine.inbound_routed(
            call_uuid=call.call_uuid,
            agent_endpoint=endpoint,
            reason=reason,
            outcome=outcome,
            wait_music_url=music,
        )

    @staticmethod
    def _read(response: requests.Response) -> tuple[str, str, str, str]:
        """(agent endpoint, why none, what else: "message" or "voicemail" (the no-agent
        outcome), or "queue"; and for "agent" and "queue", the wait music's URL, "" for the
        default)."""
        if not 200 <= response.status_code < 300:
            return "", f"routing answered HTTP {response.status_code}", "", ""
        try:
            # Not response.json(): a deeply nested answer would raise RecursionError.
            data = load_json(response.content)
        except UnreadableJSON:
            return "", "routing answer is not JSON", "", ""
        if not isinstance(data, dict):
            return "", "routing answer is not a JSON object", "", ""
        result = data.get("result")
        music = data.get("wait_music_url")
        # Only a web address can be played; anything else gets the default music.
        if not (isinstance(music, str) and music.startswith(("https://", "http://"))):
            music = ""
        if result == "queue":
            return "", "", "queue", music
        if result == "no_agent":
            outcome = data.get("outcome") if data.get("outcome") in ("message", "voicemail") else ""
            return "", "no agent available", outcome, ""
        if result != "agent":
            return "", f"routing answer has an unknown result {result!r}", "", ""
        try:
            # The music plays while the agent rings, and on if the caller waits for another.
            return normalize_address(str(data.get("agent_endpoint") or "")), "", "", music
        except InvalidAddress as exc:
            return "", f"routing answer has an invalid agent_endpoint: {exc}", "", ""

    def close(self) -> None:
        self._session.close()
