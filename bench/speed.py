"""How fast the machine runs Python, alone and with every core busy at once.

Machines of one kind differ, and one machine drifts: a neighbour's load on the host, or two
virtual cores that share one physical core, so that each runs at half speed while both are
busy. Each phase of the bench reads both as it begins, and the report shows them, so a run
can be compared with another through them (and through the baselines)."""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor

_ADDITIONS = 2_000_000
_ROUNDS = 3


def _ms_per_million(_: object = None) -> float:
    """The mean over a few rounds of a million additions in a Python loop, in ms."""
    spent = 0.0
    for _round in range(_ROUNDS):
        began, total = time.perf_counter(), 0
        for i in range(_ADDITIONS):
            total += i
        spent += time.perf_counter() - began
    return 1000.0 * spent / _ROUNDS / (_ADDITIONS / 1_000_000)


def python_speed() -> dict:
    """{"alone": ms, "together": ms, "cores": n}: a million additions on one core while the
    others idle, then on every core at once (one process each, the mean of them)."""
    cores = os.cpu_count() or 1
    alone = _ms_per_million()
    with ProcessPoolExecutor(max_workers=cores) as pool:
        together = list(pool.map(_ms_per_million, range(cores)))
    return {
        "alone": round(alone, 1),
        "together": round(sum(together) / len(together), 1),
        "cores": cores,
    }


def effective_cores(speed: dict) -> float:
    """How many of the machine's cores' worth of Python it ran with all of them busy; never
    more than it has (a neighbour's load between the two readings can make it look so)."""
    if not speed["together"]:
        return 0.0
    return min(float(speed["cores"]), speed["cores"] * speed["alone"] / speed["together"])
