"""`manage.py phlo_simulator` starts, answers the PHLO API, stops on a signal, hides the token."""

import os
import selectors
import signal
import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "command-test-token-xyz"
AUTH_ID = "MACOMMANDTESTCOMMAND"
PHLO_ID = "command-phlo"
NODE_ID = "command-node"


def _read_line(proc: subprocess.Popen, timeout: float = 20.0) -> str:
    # selectors, not select.select: a long run may have file descriptors above 1024.
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout)
    assert ready, "the simulator did not print its address in time"
    return proc.stdout.readline()


def test_command_runs_the_simulator_until_stopped():
    env = {**os.environ, "PHLO_SIMULATOR": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "phlo_simulator",
            "--host=127.0.0.1",
            "--port=0",
            f"--auth-id={AUTH_ID}",
            f"--auth-token={TOKEN}",
            f"--phlo-id={PHLO_ID}",
            f"--node-id={NODE_ID}",
            "--callback-url=http://127.0.0.1:9/webhooks/plivo/",
            "--vocabulary=mpc",
            "--answer-delay=1",
            "--chaos=seed=3,duplicate=0.5",
            "--customer-settings=stay_alone=1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = _read_line(proc)
        assert first.startswith("PHLO simulator listening on http://127.0.0.1:"), first
        banner = [first]
        while not banner[-1].startswith("Press Ctrl-C"):
            # The banner is written and flushed at once: the rest is already buffered.
            banner.append(proc.stdout.readline())
        banner = "".join(banner)
        base = first.split()[-1]
        auth = (AUTH_ID, TOKEN)
        node = requests.get(
            f"{base}/v1/phlo/{PHLO_ID}/multi_party_call/{NODE_ID}/", auth=auth, timeout=5
        )
        assert node.status_code == 200
        assert node.json()["node_type"] == "multi_party_call"
        wrong = requests.get(f"{base}/v1/phlo/{PHLO_ID}", auth=(AUTH_ID, "x"), timeout=5)
        assert wrong.status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, output
    assert "stopped" in output
    assert TOKEN not in banner + output
    # The node's participant settings: the usual ones, with the flag's change.
    assert "Agents       start_on_enter=1, end_on_exit=0, stay_alone=0" in banner
    assert "Customers    start_on_enter=0, end_on_exit=1, stay_alone=1" in banner
