"""The bench's CPU meter (bench/cpu.py) on a real process that spins on one core."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from bench.cpu import APP_KERNEL, CpuMeter

SPIN = "import time\nend = time.monotonic() + 30\nwhile time.monotonic() < end: pass\n"


def test_a_process_spinning_on_one_core_is_read_as_one_core_busy():
    if not CpuMeter.available():
        pytest.skip("no /proc on this machine: the bench leaves the CPU figures out")
    child = subprocess.Popen([sys.executable, "-c", SPIN])
    try:
        time.sleep(0.3)  # the interpreter's start is not part of the spin
        with CpuMeter(app_pids=[child.pid]) as meter:
            time.sleep(1.5)  # the length of the reading, not a wait for a result
    finally:
        child.kill()
        child.wait()
    found = meter.figures(count=100)
    assert found is not None
    busy = found["cores_busy"]
    # One thread can keep at most one core busy; a shared machine may give it less.
    assert 0.5 < busy["app processes"] <= 1.1, found
    assert busy[APP_KERNEL] < 0.2, found  # a pure Python loop makes no system calls
    assert found["ms_per_request"]["app processes"] == pytest.approx(
        1000 * busy["app processes"] * found["seconds"] / 100
    )
    assert 0 < found["machine_busy_share"] <= 1.0
    # The bench's own process sleeps meanwhile.
    assert busy["bench (load, simulator)"] < 0.2, found


def test_without_a_reading_there_are_no_figures():
    meter = CpuMeter(app_pids=[])
    assert meter.figures() is None
