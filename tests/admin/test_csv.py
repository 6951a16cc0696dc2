"""CSV export of call history: the filtered list, or the selected calls, streamed."""

import csv
import io
from datetime import datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from calls.models import Action, Call
from tests.admin.builders import add_action, add_transfer, caller_sent_to_voicemail
from tests.factories import make_agent, make_call, make_customer

pytestmark = pytest.mark.django_db

EXPORT = reverse("admin:calls_call_export")


def _rows(response) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


@pytest.fixture
def history():
    alice = make_agent(username="alice")
    alice.user.first_name, alice.user.last_name = "Alice", "Archer"
    alice.user.save()
    dana = make_customer(name="Dana Diaz", phone="+1 415 555 0101")
    start = timezone.make_aware(datetime(2030, 3, 4, 9, 15, 0))
    done = make_call(
        owner=alice,
        customer=dana,
        created_at=start,
        talk_seconds=125,
        disposition="Resolved",
        notes='Refund agreed, "priority", follow up\nnext week',
    )
    add_action(call=done, kind=Action.Kind.WARM_TRANSFER, actor=alice.user)
    add_action(call=done, kind=Action.Kind.WARM_TRANSFER, outcome=Action.Outcome.FAILED)
    add_action(call=done, kind=Action.Kind.COLD_TRANSFER, actor=alice.user)
    add_transfer(call=done, kind=Call.TransferKind.WARM)
    add_transfer(call=done, kind=Call.TransferKind.WARM, outcome="failed")
    add_transfer(call=done, kind=Call.TransferKind.COLD)
    live = make_call(status=Call.Status.ACTIVE, created_at=start + timedelta(hours=1))
    return done, live


def test_export_link_streams_every_call_the_filters_match(login, superuser, history):
    done, _live = history
    response = login(superuser).get(EXPORT + "?status__exact=completed")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="calls-')
    rows = _rows(response)
    assert [int(r["Call"]) for r in rows] == [done.pk]
    row = rows[0]
    assert row == {
        "Call": str(done.pk),
        "Created": "2030-03-04T09:15:00+00:00",
        "Answered": "2030-03-04T09:15:05+00:00",
        "Ended": "2030-03-04T09:17:10+00:00",
        "Duration (s)": "125",
        "Direction": "Outbound",
        "Status": "Ended",
        "Outcome": "",  # built by hand, not ended by the call's rules
        "Agent": "Alice Archer",
        "Agent username": "alice",
        "Rang": "",
        "Customer": "Dana Diaz",
        "Customer phone": "+14155550101",
        "Disposition": "Resolved",
        "Notes": 'Refund agreed, "priority", follow up\nnext week',
        # The failed warm transfer does not count.
        "Warm transfers": "1",
        "Cold transfers": "1",
        "Queue": "",  # an outbound call: no queue, no wait
        "Waited (s)": "",
    }


def test_export_without_filters_has_all_calls_newest_first_with_blanks_for_unknowns(
    login, superuser, history
):
    done, live = history
    rows = _rows(login(superuser).get(EXPORT))
    assert [int(r["Call"]) for r in rows] == [live.pk, done.pk]
    assert rows[0]["Ended"] == "" and rows[0]["Duration (s)"] == ""
    assert rows[0]["Agent"] == "" and rows[0]["Customer phone"] == ""


def test_export_covers_all_pages_not_just_the_one_shown(login, superuser):
    from calls.admin import CallAdmin

    for _ in range(CallAdmin.list_per_page + 5):
        make_call()
    rows = _rows(login(superuser).get(EXPORT))
    assert len(rows) == CallAdmin.list_per_page + 5


def test_export_follows_search_and_ordering(login, superuser, history):
    done, _live = history
    rows = _rows(login(superuser).get(EXPORT + "?q=dana&o=2"))
    assert [int(r["Call"]) for r in rows] == [done.pk]


def test_export_action_exports_only_the_selected_calls(login, superuser, history):
    _done, live = history
    response = login(superuser).post(
        reverse("admin:calls_call_changelist"),
        {"action": "export_selected_csv", "_selected_action": [live.pk]},
    )
    assert [int(r["Call"]) for r in _rows(response)] == [live.pk]


def test_change_list_links_to_the_export_of_the_same_filters(login, superuser, history):
    html = login(superuser).get(reverse("admin:calls_call_changelist") + "?status__exact=completed")
    assert f'href="{EXPORT}?status__exact=completed"' in html.content.decode()
    assert "Export 1 call to CSV" in html.content.decode()


def test_spreadsheet_formulas_are_neutralised_but_phone_numbers_kept(login, superuser):
    customer = make_customer(name='=HYPERLINK("http://evil.example","x")', phone="+44 20 7946 0103")
    make_call(customer=customer, notes="@SUM(A1:A9)", disposition="")
    row = _rows(login(superuser).get(EXPORT))[0]
    assert row["Customer"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["Notes"] == "'@SUM(A1:A9)"
    assert row["Customer phone"] == "+442079460103"


def test_bad_filter_values_get_a_400_with_the_reason(login, superuser, history):
    response = login(superuser).get(EXPORT + "?created_at_from=yesterday")
    assert response.status_code == 400
    assert "'yesterday' is not a date" in response.content.decode()
    unknown = login(superuser).get(EXPORT + "?status__exact=nonsense&created_at__year=x")
    assert unknown.status_code == 400


@pytest.mark.django_db(transaction=True)
async def test_export_streams_asynchronously_under_asgi(async_client, superuser, history):
    """Under ASGI (daphne) the body is an async iterator: the server streams it unbuffered."""
    done, _live = history
    await async_client.aforce_login(superuser)
    response = await async_client.get(EXPORT + "?status__exact=completed")
    assert response.status_code == 200
    assert response.is_async
    try:
        chunks = [chunk async for chunk in response.streaming_content]
    finally:
        # The rows were read on the async-to-sync worker thread: close its connection there,
        # or PostgreSQL cannot drop the test database afterwards.
        await sync_to_async(connections.close_all)()
    text = b"".join(chunks).decode("utf-8").removeprefix("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["Call"]) for r in rows] == [done.pk]


def test_a_caller_nobody_took_reads_where_they_were_sent_as_in_the_list(login, superuser, settings):
    """The list said "No agent: voicemail"; the export said only "No agent"."""
    caller_sent_to_voicemail(voicemail=settings.INBOUND_VOICEMAIL_ENDPOINT)
    (row,) = _rows(login(superuser).get(EXPORT))
    assert row["Outcome"] == "No agent: voicemail"
