"""The one browser-test harness, shared by every test that drives a real browser (a pytest
plugin, registered in tests/conftest.py).

- `chromium_path`: Debian's /usr/bin/chromium; the tests skip with the reason when it is
  missing, and fail instead when REQUIRE_BROWSER=1.
- `browser`: one headless Chromium under one Playwright for the whole session
  (`browser_session`). Playwright's sync API refuses to start twice in one thread, so no
  test may start its own; redefining a harness fixture elsewhere is refused at collection.
  Between browser tests the thread is left without a running asyncio loop, so async tests
  and the ORM work in any order after them.
- `stack`: the real app (`manage.py runserver`: daphne, HTTP + websockets, the project's own
  URLconf, routing and publisher) in its own process on its own database, a SQLite file or a
  fresh PostgreSQL database when DATABASE_URL names a server, and on Redis (a private prefix)
  when REDIS_URL is set. The browser reaches it through a TCP proxy a test can cut, to drop
  every websocket the way a network loss does, and restore.
- `sim`: a fresh PHLO simulator on a real clock per test, on the same port; its callbacks
  and routing requests go straight to the app. The database's live state is reset after
  each test.
- `desktop`: opens logged-in agent desktops and checks that none was reloaded and no page
  raised an error.
- When a test that used the stack fails, the tail of the app server's log joins its report.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from calls.simulator import RealClock, Simulator, SimulatorConfig

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[1]


def screenshot_path(name: str) -> Path:
    """Where a browser test saves a screenshot: docs/images/ (the README's pictures) when
    UPDATE_SCREENSHOTS=1, else test-artifacts/, so a test run leaves the tree clean."""
    folder = ROOT / (
        "docs/images" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else "test-artifacts"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


# Credentials shared by the app process and the simulator; throwaway, demo only.
CREDENTIALS = {
    "PLIVO_AUTH_ID": "MABROWSERTEST0000000",
    "PLIVO_AUTH_TOKEN": "browser-test-token",
    "PHLO_ID": "0b0b0b0b-0000-4000-8000-00000000b0b0",
    "PHLO_MPC_NODE_ID": "0b0b0b0b-0000-4000-8000-00000000b0b1",
    "ROUTING_API_TOKEN": "browser-routing-token",
}
DEMO_PASSWORD = "demo"
ANSWER_DELAY = 0.4
EXPECT_TIMEOUT_MS = 10_000
LOG_TAIL_CHARS = 8000
# Fixtures that must exist once per session (see `pytest_collection_modifyitems`).
SHARED_FIXTURES = ("chromium_path", "browser_session", "browser", "stack")

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


# --- helpers for tests -----------------------------------------------------------------------


def expect():
    """Playwright's `expect`, imported only when a browser test runs."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def wait_until(predicate: Callable[[], bool], *, timeout: float = 10.0) -> None:
    """For conditions outside the browser (the simulator's deliveries): check in small steps
    until true, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        threading.Event().wait(0.05)


def log_in(page, *, username: str, password: str = DEMO_PASSWORD) -> None:
    """Fill in and send the login form on `page` (the desktop's and the admin's alike)."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def mark_document(page) -> None:
    """Mark the page's current document; `was_reloaded` tells if it was replaced since."""
    page.evaluate("window.__noReload = true")


def was_reloaded(page) -> bool:
    return not page.evaluate("window.__noReload === true")


# --- the app stack ---------------------------------------------------------------------------


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


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.path.exists(CHROMIUM):
        reason = f"{CHROMIUM} is missing (apt-get install chromium); browser tests need it"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return CHROMIUM


@dataclass(frozen=True)
class SessionBrowser:
    browser: object  # playwright.sync_api.Browser
    # Playwright's event loop. Its sync API keeps the loop marked as this thread's running
    # loop between calls, which breaks async tests (and the ORM) that run later in this
    # thread; the marker is therefore set only while a test holds `browser`.
    loop: asyncio.AbstractEventLoop


@pytest.fixture(scope="session")
def browser_session(chromium_path) -> Iterator[SessionBrowser]:
    """The session's only Playwright and Chromium. Tests and fixtures use `browser`."""
    from playwright.sync_api import sync_playwright

    manager = sync_playwright()
    playwright = manager.__enter__()
    loop = asyncio._get_running_loop()
    try:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        expect().set_options(timeout=EXPECT_TIMEOUT_MS)
        asyncio._set_running_loop(None)
        yield SessionBrowser(browser=chromium, loop=loop)
        asyncio._set_running_loop(loop)
        chromium.close()
    finally:
        # Stopping runs the loop to its end, which clears the marker again.
        asyncio._set_running_loop(loop)
        manager.__exit__(None, None, None)


@pytest.fixture
def browser(browser_session) -> Iterator:
    """The session's Chromium, usable from this test's setup to its teardown; open contexts
    from it, never a Playwright of your own."""
    running = asyncio._get_running_loop()
    if running is not None and running is not browser_session.loop:
        pytest.fail("Playwright's sync API cannot be used inside an asyncio loop (async test)")
    asyncio._set_running_loop(browser_session.loop)
    try:
        yield browser_session.browser
    finally:
        asyncio._set_running_loop(None)


@pytest.fixture(scope="session")
def stack(chromium_path, tmp_path_factory) -> Iterator[Stack]:
    """The app with the demo data (`seed_demo`), migrated and serving, for the session."""
    tmp = tmp_path_factory.mktemp("browser-stack")
    app_port, sim_port = free_port(), free_port()
    database_url, drop_database = app_database(tmp)
    proxy = CuttableProxy(target_port=app_port)
    stack = Stack(
        app_url=f"http://127.0.0.1:{app_port}",
        ui_url=f"http://127.0.0.1:{proxy.port}",
        sim_port=sim_port,
        env=app_environment(
            tmp=tmp, app_port=app_port, sim_port=sim_port, database_url=database_url
        ),
        proxy=proxy,
        logs=tmp / "app.log",
    )
    try:
        stack.manage("migrate", "--noinput")
        stack.manage("seed_demo")
        stack.start_server()
        yield stack
    finally:
        if stack.sim is not None:
            stack.sim.stop()
        proxy.stop()
        stack.stop_server()
        drop_database()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def sim(stack) -> Iterator[Simulator]:
    """A fresh simulator per test; the app's live state is reset after each test."""
    simulator = stack.new_simulator()
    yield simulator
    simulator.stop()
    stack.sim = None
    stack.proxy.restore()
    stack.manage("shell", "-c", RESET_SCRIPT)


@pytest.fixture
def desktop(browser, stack, sim) -> Iterator:
    """Open a logged-in desktop: `desktop("alice")`; `desktop("alice", context=ctx)` opens
    another tab in the same browser session."""
    contexts = []
    errors: list[str] = []

    def open_desktop(username: str, *, context=None, width: int = 1280):
        if context is None:
            # Log in through the form once per user; later tests reuse the session cookie.
            saved = stack.sessions.get(username)
            context = browser.new_context(
                viewport={"width": width, "height": 900}, storage_state=saved
            )
            contexts.append(context)
            page = context.new_page()
            if saved is None:
                page.goto(f"{stack.ui_url}/login/")
                log_in(page, username=username)
                page.wait_for_url(f"{stack.ui_url}/")
                stack.sessions[username] = context.storage_state()
            else:
                page.goto(f"{stack.ui_url}/")
        else:
            page = context.new_page()
            page.goto(f"{stack.ui_url}/")
        expect()(page.locator("#connection")).to_have_text("Live")
        # This document must survive to the end, proving no reload happened.
        mark_document(page)
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield open_desktop
    for context in contexts:
        for page in context.pages:
            if page.url == f"{stack.ui_url}/":  # still the desktop (not logged out)
                assert not was_reloaded(page), "the page was reloaded"
        context.close()
    assert not errors, errors


# --- hooks -----------------------------------------------------------------------------------


def pytest_collection_modifyitems(items) -> None:
    """Refuse a second definition of a session-wide browser fixture: it would start a second
    Playwright in this thread, which Playwright refuses halfway through the run."""
    for item in items:
        definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
        for name in SHARED_FIXTURES:
            used = definitions.get(name)
            if used and getattr(used[-1].func, "__module__", __name__) != __name__:
                raise pytest.UsageError(
                    f"{item.nodeid} gets the fixture {name!r} from {used[-1].func.__module__}; "
                    f"the browser harness's {name!r} must come from {__name__} only (one "
                    "Playwright and one app stack per session)."
                )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that used the app stack carries the tail of the app server's log."""
    report = yield
    if report.failed:
        stack = getattr(item, "funcargs", {}).get("stack")
        if isinstance(stack, Stack):
            report.sections.append(
                (f"app server log (last {LOG_TAIL_CHARS} characters)", stack.log_tail())
            )
    return report
