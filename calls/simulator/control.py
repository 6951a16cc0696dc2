"""The JSON control API under /_sim/: what a person does on a phone, and what tests inspect.

Local-only tool endpoints (the simulator binds 127.0.0.1 by default); they never show the
auth token or the routing token. A POST must say it sends JSON (`Content-Type:
application/json`): a page can send a form or text/plain to another site without asking,
but not JSON, so another site's page cannot drive it even where its Origin is not sent.
"""

from __future__ import annotations

from typing import Any, Protocol

from calls.simulator.errors import SimulatorError
from calls.simulator.faults import FaultQueue, make_fault
from calls.simulator.phones import Phones
from calls.simulator.responses import Response, json_object, json_response


class Simulator(Protocol):
    """What the transport (this API, the phones page, the HTTP server) uses of the
    simulator, which builds them: they know it by this, never by its module."""

    faults: FaultQueue

    @property
    def phones(self) -> Phones: ...

    @property
    def deliveries(self) -> list: ...

    @property
    def routing_requests(self) -> list: ...

    def inbound_call(self, *, from_: str, to: str) -> str: ...

    def snapshot(self) -> dict[str, Any]: ...

    def clear_faults(self) -> None: ...


_GET = {"/_sim/state", "/_sim/deliveries", "/_sim/faults"}
_POST = {
    "/_sim/phones/answer",
    "/_sim/phones/reject",
    "/_sim/phones/hangup",
    "/_sim/phones/mode",
    "/_sim/inbound",
    "/_sim/faults",
}
_DELETE = {"/_sim/faults"}


def _error(status: int, message: str) -> Response:
    return json_response(status, {"error": message})


def _field(data: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise SimulatorError(f"{key} is a mandatory param.")
        return ""
    if not isinstance(value, str):
        raise SimulatorError(f"{key} must be a string.")
    return value


def _count(data: dict[str, Any]) -> int:
    """How many callers: a whole number (JSON) or its digits (a form); 1 when not given."""
    value = data.get("count", 1)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SimulatorError("count must be a whole number.")
    return value  # its range is the burst's to say (Simulator.inbound_burst)


def phone_action(sim: Simulator, action: str, data: dict[str, Any]) -> str:
    """Apply one phone-page action (shared by the JSON API and the HTML forms); returns a
    short message saying what happened."""
    if action == "mode":
        address = sim.phones.set_mode(_field(data, "address"), _field(data, "mode"))
        return f"{address} is now {data['mode']}"
    if action == "inbound":
        count = _count(data)
        if count == 1:
            call_uuid = sim.inbound_call(from_=_field(data, "from"), to=_field(data, "to"))
            return f"inbound call {call_uuid} is being routed"
        sim.inbound_burst(count=count, to=_field(data, "to"), first_from=_field(data, "from"))
        return f"{count} inbound calls are being routed"
    address = _field(data, "address")
    call_uuid = _field(data, "call_uuid", required=False)
    getattr(sim.phones, action)(address, call_uuid=call_uuid)
    return f"{action} {address}: done"


def _is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def handle(sim: Simulator, *, method: str, path: str, body: bytes, content_type: str) -> Response:
    path = path.rstrip("/") or path
    allowed = [
        m for m, paths in (("GET", _GET), ("POST", _POST), ("DELETE", _DELETE)) if path in paths
    ]
    if not allowed:
        return _error(404, f"No such control endpoint: {path}")
    if method not in allowed:
        return json_response(
            405, {"error": f"Use {' or '.join(allowed)}."}, Allow=", ".join(allowed)
        )
    try:
        if method == "GET":
            return _get(sim, path)
        if method == "DELETE":
            sim.clear_faults()
            return json_response(200, {"faults": []})
        if not _is_json(content_type):
            return _error(415, "Send JSON, with the header Content-Type: application/json.")
        data = json_object(body)
        if path == "/_sim/faults":
            times = data.pop("times", 1)
            sim.faults.add(
                make_fault(**_only(data, "status", "body", "not_json", "delay", "disconnect")),
                times=times,
            )
            return json_response(201, {"faults": [f.as_dict() for f in sim.faults.pending()]})
        if path == "/_sim/inbound" and "count" in data:
            # A burst: {"from": first caller, "to", "count"}; callers number up from "from".
            uuids = sim.inbound_burst(
                count=_count(data), to=_field(data, "to"), first_from=_field(data, "from")
            )
            return json_response(201, {"call_uuids": uuids})
        if path == "/_sim/inbound":
            call_uuid = sim.inbound_call(from_=_field(data, "from"), to=_field(data, "to"))
            return json_response(201, {"call_uuid": call_uuid})
        action = path.rsplit("/", 1)[1]
        message = phone_action(sim, action, data)
        return json_response(200, {"ok": True, "message": message})
    except SimulatorError as exc:
        return _error(exc.status, str(exc))


def _only(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    unknown = sorted(set(data) - set(keys))
    if unknown:
        raise SimulatorError(
            f"Unknown fault field(s): {', '.join(unknown)}. Use {', '.join(keys)}, times."
        )
    return data


def _get(sim: Simulator, path: str) -> Response:
    if path == "/_sim/state":
        return json_response(200, sim.snapshot())
    if path == "/_sim/faults":
        return json_response(200, {"faults": [f.as_dict() for f in sim.faults.pending()]})
    return json_response(
        200,
        {
            "deliveries": [a.as_dict() for a in sim.deliveries],
            "routing": [r.as_dict() for r in sim.routing_requests],
        },
    )
