"""Faults injected into the next PHLO API request(s), for the client's error handling tests.

A fault with `status`, `not_json` or `disconnect` replaces the request: the action is not
applied. A fault with only `delay` holds the answer that long and then applies the request
normally (a client that timed out cannot know whether its action happened).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

from calls.simulator.errors import SimulatorError

MAX_DELAY = 300.0
# More than any test needs; a billion would be a list the process cannot hold.
MAX_TIMES = 1000


@dataclass(frozen=True)
class Fault:
    status: int | None = None
    body: str | None = None
    not_json: bool = False
    delay: float = 0.0
    disconnect: bool = False

    @property
    def replaces_request(self) -> bool:
        return self.status is not None or self.not_json or self.disconnect or self.body is not None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_fault(
    *,
    status: Any = None,
    body: Any = None,
    not_json: Any = False,
    delay: Any = 0.0,
    disconnect: Any = False,
) -> Fault:
    """Validate loosely typed input (JSON from /_sim/faults) into a Fault."""
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599
    ):
        raise SimulatorError("status must be an HTTP status code between 100 and 599.")
    if body is not None and not isinstance(body, str):
        raise SimulatorError("body must be a string.")
    for name, value in (("not_json", not_json), ("disconnect", disconnect)):
        if not isinstance(value, bool):
            raise SimulatorError(f"{name} must be true or false.")
    if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= MAX_DELAY:
        raise SimulatorError(f"delay must be a number of seconds between 0 and {MAX_DELAY:g}.")
    fault = Fault(status, body, not_json, float(delay), disconnect)
    if not fault.replaces_request and not fault.delay:
        raise SimulatorError(
            "A fault needs at least one of status, body, not_json, delay, disconnect."
        )
    return fault


class FaultQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault, *, times: int = 1) -> None:
        if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= MAX_TIMES:
            raise SimulatorError(f"times must be a whole number from 1 to {MAX_TIMES}.")
        with self._lock:
            self._faults.extend([fault] * times)

    def take(self) -> Fault | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)
