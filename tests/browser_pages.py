"""What browser tests use on pages: Playwright's `expect`, the login form, reload checks,
waiting for things outside the browser, and where screenshots go."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.browser_stack import ROOT

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
DEMO_PASSWORD = "demo"
EXPECT_TIMEOUT_MS = 10_000


def screenshot_path(name: str) -> Path:
    """Where a browser test saves a screenshot: docs/images/ (the README's pictures) when
    UPDATE_SCREENSHOTS=1, else test-artifacts/, so a test run leaves the tree clean."""
    folder = ROOT / (
        "docs/images" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else "test-artifacts"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


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


def list_when_the_row_folds(card, *, list_selector: str) -> dict:
    """Watches `card` at every frame until its fading row (a leg that left) has gone, and
    says what its folded list (`list_selector`) showed in that first frame without the row:
    {"shown": bool, "text": the list's summary}."""
    return card.page.wait_for_function(
        """([id, selector]) => {
          const card = document.getElementById(id);
          const row = card.querySelector("tr.member--leaving");
          if (row && getComputedStyle(row).display !== "none") return false;
          const list = card.querySelector(selector);
          const summary = list && list.querySelector("summary");
          return {shown: !!list && !list.hidden, text: summary && summary.textContent};
        }""",
        arg=[card.get_attribute("id"), list_selector],
        polling="raf",
        timeout=8_000,
    ).json_value()
