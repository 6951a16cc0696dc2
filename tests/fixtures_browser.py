"""The one browser-test harness, shared by every test that drives a real browser (a pytest
plugin, registered in tests/conftest.py; the stack lives in tests/browser_stack.py, page
helpers in tests/browser_pages.py).

- `chromium_path`: Debian's /usr/bin/chromium; the tests skip with the reason when it is
  missing, and fail instead when REQUIRE_BROWSER=1.
- `browser`: a headless Chromium under a Playwright started for the test and stopped after
  it, so the thread is left without a running asyncio loop and async tests and the ORM work
  in any order after browser tests. Redefining a harness fixture elsewhere is refused at
  collection.
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

import os
import shutil
from collections.abc import Iterator

import pytest

from calls.simulator import Simulator
from tests.browser_pages import (
    CHROMIUM,
    CHROMIUM_ARGS,
    EXPECT_TIMEOUT_MS,
    expect,
    log_in,
    mark_document,
    was_reloaded,
)
from tests.browser_stack import (
    LOG_TAIL_CHARS,
    RESET_SCRIPT,
    CuttableProxy,
    Stack,
    app_database,
    app_environment,
    free_port,
)

# Fixtures that must exist once per session (see `pytest_collection_modifyitems`).
SHARED_FIXTURES = ("chromium_path", "browser", "stack")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.path.exists(CHROMIUM):
        reason = f"{CHROMIUM} is missing (apt-get install chromium); browser tests need it"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
def browser(chromium_path) -> Iterator:
    """A headless Chromium under a Playwright of this test's own, from its setup to its
    teardown; open contexts from it, never a Playwright of your own.

    Playwright's sync API marks its event loop as this thread's running loop while it runs,
    and stopping it clears that: so async tests and the ORM work after any browser test, and
    an async test that asks for `browser` gets Playwright's own error. A Chromium per test
    costs ~1.5 s; only public APIs are used."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        expect().set_options(timeout=EXPECT_TIMEOUT_MS)
        try:
            yield chromium
        finally:
            chromium.close()


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
    """Refuse a second definition of a harness fixture: a second Playwright running beside
    the test's own in this thread is refused by Playwright halfway through the run, and a
    second stack would seed and serve a database of its own."""
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
