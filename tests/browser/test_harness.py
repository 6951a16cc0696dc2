"""The shared browser harness leaves the test thread as it found it: after a browser test,
async tests and sync-only Django code (the ORM) still work. Playwright's sync API keeps its
event loop marked as the thread's running loop between calls; the harness stops Playwright
once a test is done, which clears that mark."""

from __future__ import annotations

import asyncio
import os

import pytest
from django.utils.asyncio import async_unsafe

from tests.browser_pages import CHROMIUM

pytestmark = pytest.mark.browser

# Filled by the browser test below; the tests after it check they really ran after it.
browser_tests_run: list[str] = []


def _after_a_browser_test() -> None:
    if browser_tests_run:
        return
    if not os.path.exists(CHROMIUM) and os.environ.get("REQUIRE_BROWSER") != "1":
        pytest.skip(f"{CHROMIUM} is missing, so no browser test ran before this one")
    pytest.fail("the browser test of this module did not run before this one")


def test_a_browser_test(browser):
    context = browser.new_context()
    page = context.new_page()
    page.on("pageerror", lambda error: None)
    page.set_content("<title>ok</title>")
    assert page.title() == "ok"
    context.close()
    browser_tests_run.append("test_a_browser_test")


async def test_then_an_async_test_runs():
    _after_a_browser_test()
    assert await asyncio.sleep(0, result="ran") == "ran"


def test_then_sync_only_django_code_runs():
    """What the ORM checks before each query (no database here: a db test would be moved
    to the front of the run)."""
    _after_a_browser_test()
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()  # no loop left marked as running in this thread
    assert async_unsafe("the ORM")(lambda: "ran")() == "ran"
