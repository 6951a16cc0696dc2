"""deploy/run-daphne.sh: checks the configuration, starts one daphne per port, and takes
the whole set down on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.deploy.production_env import ENV, READ

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "run-daphne.sh"


def _environment(**extra: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in READ and k != "DJANGO_SETTINGS_MODULE"}
    # The interpreter running the tests, not the checkout's .venv: the suite must pass from
    # any environment that has the project installed (tox, uv, an IDE, a distribution's CI).
    env |= ENV | {"PYTHON": sys.executable}
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _two_free_ports() -> int:
    """A base port whose successor is free too."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base < 65000 and all(_free(p) for p in (base, base + 1)):
            return base
    raise AssertionError("no two consecutive free ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_it_refuses_to_start_on_an_unsafe_configuration():
    done = subprocess.run(
        ["bash", str(SCRIPT)],
        env=_environment(DJANGO_SECRET_KEY=None, PROCESSES="1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in done.stderr
    assert "daphne 1/1" not in done.stdout


def test_it_runs_one_process_per_port_and_stops_them_all_on_sigterm():
    base = _two_free_ports()
    launcher = subprocess.Popen(
        ["bash", str(SCRIPT)],
        env=_environment(PROCESSES="2", BASE_PORT=str(base)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not all(_listening(p) for p in (base, base + 1)):
            assert launcher.poll() is None, launcher.stdout.read()
            assert time.monotonic() < deadline, "the processes did not start listening"
            time.sleep(0.05)  # processes starting up: nothing to wait on but their ports
        for port in (base, base + 1):
            answer = requests.get(
                f"http://127.0.0.1:{port}/login/",
                headers={"Host": "cc.example.com"},
                allow_redirects=False,
                timeout=5,
            )
            # Production settings are live: plain HTTP is sent to HTTPS.
            assert answer.status_code == 301
            assert answer.headers["Location"] == "https://cc.example.com/login/"
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(20) == 0
        assert not any(_listening(p) for p in (base, base + 1))
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait(10)
