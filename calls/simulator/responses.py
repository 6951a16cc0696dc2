"""Small HTTP helpers shared by the API, the control API and the phones page."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from calls.simulator.errors import SimulatorError
from calls.untrusted_json import UnreadableJSON, load_json


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    # Close the connection without answering (a fault).
    disconnect: bool = False


def json_response(status: int, data: Any, **headers: str) -> Response:
    return Response(status, json.dumps(data).encode(), "application/json", dict(headers))


def api_error(status: int, message: str, **headers: str) -> Response:
    """The PHLO runner's error shape: {"api_id", "error"}."""
    return json_response(status, {"api_id": str(uuid.uuid4()), "error": message}, **headers)


def json_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or a SimulatorError saying what is wrong."""
    if not body.strip():
        raise SimulatorError("The request body is empty; send a JSON object.")
    try:
        # Depth-checked before parsing: a deeply nested body is a 400, not a RecursionError.
        data = load_json(body, what="The request body")
    except UnreadableJSON as exc:
        raise SimulatorError(str(exc)) from exc
    if not isinstance(data, dict):
        raise SimulatorError("The request body must be a JSON object.")
    return data
