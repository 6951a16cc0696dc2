"""The admin in real headless Chromium: a supervisor without the staff flag logs in, filters
calls by a date range, exports them and reads a call's timeline."""

import csv
import io
import os
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from calls.models import Action, CallbackEvent
from tests.admin.builders import add_action, add_callback, make_call
from tests.factories import make_agent, make_customer

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def open_page(live_server):
    """Start Chromium and return a page. Call it after the test data is in place: Playwright's
    sync API keeps an event loop on this thread, where Django then refuses ORM calls."""
    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with ExitStack() as stack:

        def _open():
            playwright = stack.enter_context(sync_playwright())
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            stack.callback(browser.close)
            context = browser.new_context(accept_downloads=True)
            context.set_default_timeout(10_000)
            return context.new_page()

        yield _open


def test_supervisor_filters_exports_and_reads_a_timeline(live_server, group_supervisor, open_page):
    day = timezone.make_aware(datetime(2030, 6, 10, 10, 0))
    alice = make_agent(username="alice")
    dana = make_customer(name="Dana Diaz", phone="+1 415 555 0101")
    before = make_call(owner=alice, customer=dana, created_at=day - timedelta(days=3))
    target = make_call(owner=alice, customer=dana, created_at=day, disposition="Resolved")
    add_action(
        call=target,
        kind=Action.Kind.COLD_TRANSFER,
        outcome=Action.Outcome.FAILED,
        at=day + timedelta(seconds=20),
        http_status=400,
        error_kind="rejected",
        error="Invalid value provided for role.",
    )
    add_callback(
        call=target,
        event="ConferenceExit",
        outcome=CallbackEvent.Outcome.IGNORED,
        at=day + timedelta(seconds=30),
        note="Exit for a member who already left.",
    )
    page = open_page()
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "gina")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.click("a[href='/admin/calls/call/']")
    page.wait_for_url("**/admin/calls/call/")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)

    page.fill("#id_created_at_from", "2030-06-10")
    page.fill("#id_created_at_to", "2030-06-10")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**created_at_from=2030-06-10**")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"#{target.pk}")

    with page.expect_download() as download_info:
        page.click("#export-calls-csv")
    exported = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    assert [int(r["Call"]) for r in csv.DictReader(io.StringIO(exported))] == [target.pk]
    assert before.pk != target.pk

    page.get_by_role("link", name=f"#{target.pk}").click()
    timeline = page.locator("#call-timeline")
    expect(timeline).to_contain_text("rejected: Invalid value provided for role.")
    expect(timeline).to_contain_text("Exit for a member who already left.")
    expect(timeline.locator("tr.problem")).to_have_count(1)
