"""Whose CPU a phase used: the app process, PostgreSQL, Redis, the bench itself, and the
machine as a whole, read from /proc (Linux) before and after the load.

Everything shares one machine, so a rate alone does not say whether the app process was the
limit: this says how much CPU each part spent per request, and how much of the machine was
left idle. Without /proc the figures are left out and the phase runs as before.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from harness.cluster import process_cpu_times

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# Other processes by their command name (/proc/<pid>/comm), summed over every process of it.
_SERVICES = {"PostgreSQL": ("postgres",), "Redis": ("redis-server",)}
# A part of the app processes' time, not a part of its own: left out of the machine's sum.
APP_KERNEL = "app processes, in the kernel"


def _times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of the process; zeros once it is gone."""
    try:
        return process_cpu_times(pid)
    except OSError:
        return 0.0, 0.0


def _service_seconds() -> dict[str, float]:
    """CPU seconds of every running process of each service. A process that exits between
    two readings takes its time with it: the figures are lower bounds."""
    totals = dict.fromkeys(_SERVICES, 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        for name, comms in _SERVICES.items():
            if comm in comms:
                totals[name] += sum(_times(int(entry.name)))
    return totals


def _machine_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, over all cores."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # user .. steal; guest time is already in user
    return (total - idle) / _TICK, total / _TICK


@dataclass(frozen=True)
class _Reading:
    at: float
    parts: dict[str, float]
    machine_busy: float
    machine_total: float


class CpuMeter:
    """A context manager around the load: then `figures()` gives the cores each part kept
    busy on average, and with `count` (requests served) CPU milliseconds per request, and
    how busy the whole machine was (a share of all its cores)."""

    def __init__(self, *, app_pids: list[int]) -> None:
        self.app_pids = app_pids
        self._start: _Reading | None = None
        self._end: _Reading | None = None

    @staticmethod
    def available() -> bool:
        return Path("/proc/stat").exists() and Path(f"/proc/{os.getpid()}/stat").exists()

    def _read(self) -> _Reading:
        app = [_times(pid) for pid in self.app_pids]
        parts = {"app processes": sum(user + system for user, system in app)}
        # Of which in the kernel (sockets, thread wake-ups): time no Python profile sees.
        parts[APP_KERNEL] = sum(system for _, system in app)
        parts |= _service_seconds()
        parts["bench (load, simulator)"] = sum(_times(os.getpid()))
        busy, total = _machine_seconds()
        return _Reading(at=time.monotonic(), parts=parts, machine_busy=busy, machine_total=total)

    def __enter__(self) -> CpuMeter:
        self._start = self._read() if self.available() else None
        return self

    def __exit__(self, *exc: object) -> None:
        self._end = self._read() if self._start is not None else None

    def figures(self, *, count: int | None = None) -> dict | None:
        """The interval's figures, or None without /proc."""
        start, end = self._start, self._end
        if start is None or end is None or end.at <= start.at:
            return None
        spent = {name: end.parts[name] - start.parts[name] for name in end.parts}
        busy = end.machine_busy - start.machine_busy
        spent["other"] = max(0.0, busy - sum(v for name, v in spent.items() if name != APP_KERNEL))
        seconds = end.at - start.at
        total = end.machine_total - start.machine_total
        found = {
            "seconds": seconds,
            "cores_busy": {name: value / seconds for name, value in spent.items()},
            "machine_busy_share": busy / total if total else 0.0,
            "cores": os.cpu_count() or 1,
        }
        if count:
            found["ms_per_request"] = {name: 1000.0 * v / count for name, v in spent.items()}
        return found
