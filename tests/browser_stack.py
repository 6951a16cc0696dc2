"""The app stack the browser tests drive (tests/fixtures_browser.py starts it once a session):
the real app (`manage.py runserver`) in its own process on its own database, behind a TCP
proxy a test can cut, and the PHLO simulator it talks to."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from calls.simulator import RealClock, Simulator, SimulatorConfig

ROOT = Path(__file__).resolve().parents[1]
# Credentials shared by the app process and the simulator; throwaway, demo only.
CREDENTIALS = {
    "PLIVO_AUTH_ID": "MABROWSERTEST0000000",
    "PLIVO_AUTH_TOKEN": "browser-test-token",
    "PHLO_ID": "0b0b0b0b-0000-4000-8000-00000000b0b0",
    "PHLO_MPC_NODE_ID": "0b0b0b0b-0000-4000-8000-00000000b0b1",
    "ROUTING_API_TOKEN": "browser-routing-token",
}
ANSWER_DELAY = 0.4
LOG_TAIL_CHARS = 8000

RESET_SCRIPT = """
from django.utils import timezone
from agents.models import Agent
from calls.models import Call, Member, WrapUp
now = timezone.now()
Member.objects.filter(state__in=Member.LIVE_STATES).update(state="left", left_at=now)
Call.objects.filter(status__in=Call.LIVE_STATUSES).update(
    status="completed", ended_at=now, transfer_kind="", transfer_to_address="",
    transfer_started_at=None, transfer_from=None, transfer_to_agent=None, pending_action=None)
Call.objects.filter(disposition="").update(disposition="Resolved")
WrapUp.objects.filter(done_at__isnull=True).update(done_at=now)
Agent.objects.update(status="offline", status_reason="", next_status="", next_status_reason="",
    wrap_up_until=None, status_changed_at=now)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, process: subprocess.Popen, timeout: float = 30.0) -> None:
    """Block until something accepts on the port (each try blocks up to 0.2 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            threading.Event().wait(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


class CuttableProxy:
    """A TCP proxy that can drop every connection at once and refuse new ones for a while."""

    def __init__(self, *, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._up = threading.Event()
        self._up.set()
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True, name="proxy-accept").start()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                self._reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                self._reset(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                self._close(sock)

    @staticmethod
    def _reset(sock: socket.socket) -> None:
        # An abortive close (RST), like a connection lost on the way.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until `restore()`."""
        self._up.clear()
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            self._close(sock)

    def restore(self) -> None:
        self._up.set()

    def stop(self) -> None:
        self._stopped = True
        self.cut()
        self._listener.close()


@dataclass
class Stack:
    """The app server, its proxy and the current simulator; `ui_url` is what browsers open,
    `app_url` what the simulator calls back."""

    app_url: str
    ui_url: str
    sim_port: int
    env: dict[str, str]
    proxy: CuttableProxy
    logs: Path
    sim: Simulator | None = None
    server: subprocess.Popen | None = None
    # Storage state (session cookie) per username, so each user logs in once per session.
    sessions: dict[str, dict] = field(default_factory=dict)

    def new_simulator(self) -> Simulator:
        if self.sim is not None:
            self.sim.stop()
        config = SimulatorConfig(
            auth_id=CREDENTIALS["PLIVO_AUTH_ID"],
            auth_token=CREDENTIALS["PLIVO_AUTH_TOKEN"],
            phlo_id=CREDENTIALS["PHLO_ID"],
            node_id=CREDENTIALS["PHLO_MPC_NODE_ID"],
            callback_url=f"{self.app_url}/webhooks/plivo/",
            routing_url=f"{self.app_url}/routing/inbound/",
            routing_token=CREDENTIALS["ROUTING_API_TOKEN"],
            answer_delay=ANSWER_DELAY,
            ring_timeout=60,
        )
        self.sim = Simulator(config=config, clock=RealClock())
        self.sim.start(host="127.0.0.1", port=self.sim_port)
        return self.sim

    def start_server(self) -> None:
        port = urlsplit(self.app_url).port
        with open(self.logs, "a") as log:  # the child keeps its own copy of the descriptor
            self.server = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(port, process=self.server)

    def stop_server(self) -> None:
        if self.server is None:
            return
        self.server.terminate()
        try:
            self.server.wait(10)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait(5)
        self.server = None

    def manage(self, *args: str) -> str:
        """Run a management command against the app's database; returns its output."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"manage.py {args[0]} exited with {done.returncode}:\n{done.stderr[-4000:]}"
            )
        return done.stdout

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        try:
            return self.logs.read_text(errors="replace")[-chars:]
        except OSError as exc:
            return f"(no log: {exc})"


def app_database(tmp: Path) -> tuple[str, Callable[[], None]]:
    """(DATABASE_URL for the app process, cleanup). A fresh database either way."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{tmp / 'app.sqlite3'}", lambda: None
    import psycopg

    name = f"cc_browser_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path=f"/{name}")), drop


def app_environment(*, tmp: Path, app_port: int, sim_port: int, database_url: str) -> dict:
    """The app process's environment: ours without any settings of the test process, plus
    the project's real settings module and the simulator's address."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PHLO_", "PLIVO_", "DATABASE_URL", "REDIS_URL"))
    }
    env |= CREDENTIALS | {
        "DJANGO_SETTINGS_MODULE": "contactcenter.settings",
        "DJANGO_DEBUG": "1",  # runserver serves /static/ with DEBUG on
        "CONTACTCENTER_VAR_DIR": str(tmp),
        "DATABASE_URL": database_url,
        "PHLO_SIMULATOR": "1",
        "PHLO_BASE_URL": f"http://127.0.0.1:{sim_port}/v1",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{app_port}",
        "AGENT_WRAP_UP_SECONDS": "60",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
        env["CHANNELS_PREFIX"] = f"browser-{uuid.uuid4().hex[:10]}"
    return env
