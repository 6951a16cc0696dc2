"""The admin in real headless Chromium: a supervisor without the staff flag logs in, filters
calls by a date range, exports them and reads a call's timeline.

On the shared browser harness's Chromium (tests/fixtures_browser.py: `browser`), against
pytest-django's `live_server`, so the test's data is written straight to the test database.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from calls.models import Action, CallbackEvent
from tests.admin.builders import add_action, add_callback
from tests.browser_pages import EXPECT_TIMEOUT_MS, expect, log_in
from tests.factories import make_agent, make_call, make_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@dataclass(frozen=True)
class DayOfCalls:
    before: int  # a call three days earlier, outside the filtered day
    target: int  # the day's call, with a failed transfer and an ignored callback


@pytest.fixture
def day_of_calls(group_supervisor) -> DayOfCalls:
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
    return DayOfCalls(before=before.pk, target=target.pk)


@pytest.fixture
def admin_page(day_of_calls, browser, live_server) -> Iterator:
    """A page on the admin's front door. It needs the data first: while a test holds
    `browser`, Playwright's loop is this thread's running loop and Django refuses the ORM."""
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/")
    yield page
    context.close()


def test_supervisor_filters_exports_and_reads_a_timeline(day_of_calls, admin_page):
    page, target = admin_page, day_of_calls.target
    log_in(page, username="gina", password="pw")
    page.click("a[href='/admin/calls/call/']")
    page.wait_for_url("**/admin/calls/call/")
    expect()(page.locator("#result_list tbody tr")).to_have_count(2)

    page.fill("#id_created_at_from", "2030-06-10")
    page.fill("#id_created_at_to", "2030-06-10")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**created_at_from=2030-06-10**")
    rows = page.locator("#result_list tbody tr")
    expect()(rows).to_have_count(1)
    expect()(rows.first).to_contain_text(f"#{target}")

    with page.expect_download() as download_info:
        page.click("#export-calls-csv")
    exported = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    assert [int(r["Call"]) for r in csv.DictReader(io.StringIO(exported))] == [target]
    assert day_of_calls.before != target

    page.get_by_role("link", name=f"#{target}").click()
    timeline = page.locator("#call-timeline")
    expect()(timeline).to_contain_text("rejected: Invalid value provided for role.")
    expect()(timeline).to_contain_text("Exit for a member who already left.")
    expect()(timeline.locator("tr.problem")).to_have_count(1)
