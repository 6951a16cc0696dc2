"""The CPU profiles in the report: py-spy's samples summed by step and by kind of work."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from bench.profile import py_spy, sampling, summarise
from bench.report_profiles import profiles_section

RAW = "\n".join(
    [
        # A callback applied: the ORM building its SQL.
        "thread (1): MainThread;plivo_callback (calls/webhooks/views.py:50);"
        "_apply (calls/services/callbacks.py:181);SQLCompiler.as_sql (django/db/models/sql/"
        "compiler.py:755) 6",
        # A push rendered: in a template.
        "thread (2): worker;Push.messages (calls/publishing.py:105);_call_changed (agents/"
        "pushes.py:33);render_call (agents/rendering.py:57);NodeList.render (django/template/"
        "base.py:1018) 3",
        # The event loop, in asyncio.
        "thread (1): MainThread;Server.run (daphne/server.py:10);BaseEventLoop._run_once "
        "(asyncio/base_events.py:1907) 1",
        "not a sample line",
    ]
)


def test_samples_are_summed_by_step_by_kind_and_by_our_functions():
    profile = summarise(RAW, seconds=0.5)
    assert profile.samples == 10 and profile.busy == pytest.approx(20.0)
    assert dict(profile.steps) == {
        "callback: applied under the call's lock": 60.0,
        "push: rendered for the desktops": 30.0,
        "server: daphne, Twisted, asyncio, thread hops": 10.0,
    }
    assert dict(profile.kinds) == {
        "ORM: building SQL, rows into models": 60.0,
        "templates": 30.0,
        "asyncio, asgiref and threads": 10.0,
    }
    functions = dict(profile.functions)
    assert functions["render_call (agents/rendering.py)"] == 30.0
    # Through which every callback passes: more than half, so not a finding.
    assert "_apply (calls/services/callbacks.py)" not in functions


def test_no_samples_is_said_not_shown_as_zeroes():
    assert summarise("", seconds=1).missing == "py-spy took no samples"


def test_the_report_sets_the_runs_side_by_side_and_says_which_has_none():
    profile = summarise(RAW, seconds=0.5).as_dict()
    results = {
        "ingestion": {"profile": profile},
        "actions": {"profile": {"missing": "py-spy is not installed"}},
    }
    text = "\n".join(profiles_section(results))
    assert "| | webhook ingestion |" in text
    assert "| callback: applied under the call's lock | 60.0 |" in text
    assert "| CPU, cores (from /proc) | - |" in text  # not read: a summary alone
    assert "| samples | 10 |" in text
    assert "- No profile of the hold/unhold buttons: py-spy is not installed." in text
    assert profiles_section({"ingestion": {}}) == []


BUSY_PUSH = """
import pathlib
import time

def _call_changed(until):
    n = 0
    while time.monotonic() < until:
        n += sum(i * i for i in range(200))
    return n

pathlib.Path("spinning").touch()
_call_changed(time.monotonic() + 30)
"""


def test_a_real_process_is_sampled_where_it_spends_its_time(tmp_path):
    if py_spy() is None:
        pytest.skip("py-spy is not installed (pip install -e '.[bench]')")
    package = tmp_path / "agents"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "pushes.py").write_text(textwrap.dedent(BUSY_PUSH))
    child = subprocess.Popen([sys.executable, "-c", "import agents.pushes"], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "spinning").exists():
            assert child.poll() is None and time.monotonic() < deadline, "the child never spun"
            time.sleep(0.01)
        result: dict = {}
        with sampling(pid=child.pid, raw_path=tmp_path / "raw.txt", result=result):
            time.sleep(1.5)  # the length of the sample, not a wait for a result
    finally:
        child.kill()
        child.wait()
    if "missing" in result:
        pytest.skip(f"this machine does not let py-spy read another process: {result['missing']}")
    assert result["samples"] > 50, result
    # The child spins on one core: /proc says so, whatever share of reads failed.
    assert 0.5 < result["cpu_cores"] < 1.5, result
    assert result["failed"] >= 0, result
    assert dict(result["steps"])["push: rendered for the desktops"] > 90, result
    assert dict(result["kinds"])["our code itself"] > 90, result
