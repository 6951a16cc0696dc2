"""Any page of the app as a demo user, at the viewport size a test names (the layout and
accessibility tests), on the shared harness (tests/fixtures_browser.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser_pages import log_in


@pytest.fixture
def signed_in(browser, stack, sim) -> Iterator:
    """`signed_in("sam", "/wallboard/", width=1366, height=768)` opens that page as sam, who
    logs in through the desktop's form once per session; `signed_in(None, "/login/")` opens
    it signed out, and a full URL any other page (the simulator's). Fails the test if a page
    raised an error."""
    contexts = []
    errors: list[str] = []

    def open_page(username: str | None, path: str, *, width: int = 1366, height: int = 768):
        saved = stack.sessions.get(username) if username else None
        context = browser.new_context(
            viewport={"width": width, "height": height}, storage_state=saved
        )
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", lambda dialog: dialog.accept())
        if username and saved is None:
            page.goto(f"{stack.ui_url}/login/")
            log_in(page, username=username)
            page.wait_for_url(f"{stack.ui_url}/")
            stack.sessions[username] = context.storage_state()
        page.goto(path if path.startswith("http") else f"{stack.ui_url}{path}")
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not errors, errors
