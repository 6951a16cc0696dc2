"""Time for the simulator: wall time in production, a hand-moved clock in tests.

`now()` is monotonic seconds used for scheduling; `utcnow()` is the wall time stamped on
callbacks. A ManualClock only moves when `Simulator.advance` moves it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...

    def utcnow(self) -> datetime: ...


class RealClock:
    """Wall time; the simulator runs a scheduler thread and a delivery thread with it."""

    def now(self) -> float:
        return time.monotonic()

    def utcnow(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """Stands still until moved. Starts at the real time of its creation so that timestamps
    on callbacks look current to the app under test."""

    def __init__(self, *, start: datetime | None = None) -> None:
        self._start = start or datetime.now(UTC)
        self._elapsed = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._elapsed

    def utcnow(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=self._elapsed)

    def move_to(self, when: float) -> None:
        """Move forward to `when` (never backwards)."""
        with self._lock:
            self._elapsed = max(self._elapsed, when)
