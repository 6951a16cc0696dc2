"""Transfers in the call list, its filter and the CSV: completed ones count, as on the
wallboard (CallTransfer.outcome == completed); attempts that did not complete are shown as
such, never counted as transfers."""

import csv
import io

import pytest
from django.urls import reverse

from calls.models import Call, CallTransfer
from tests.admin.builders import add_transfer
from tests.factories import make_call

pytestmark = pytest.mark.django_db

CALLS = reverse("admin:calls_call_changelist")
EXPORT = reverse("admin:calls_call_export")
Kind, Outcome = Call.TransferKind, CallTransfer.Outcome


@pytest.fixture
def calls():
    """One call with a completed warm transfer and a failed cold one; one whose only
    transfer, a warm consult, was aborted."""
    done = make_call(disposition="Resolved")
    add_transfer(call=done, kind=Kind.WARM)
    add_transfer(call=done, kind=Kind.COLD, outcome=Outcome.FAILED)
    aborted = make_call()
    add_transfer(call=aborted, kind=Kind.WARM, outcome=Outcome.ABORTED)
    return {"done": done, "aborted": aborted}


def _cells(html: str, call: Call) -> str:
    start = html.index(f">#{call.pk}</a>")
    row = html[start : html.index("</tr>", start)]
    return row.split('class="field-transfers">', 1)[1].split("</td>", 1)[0]


def test_list_counts_completed_transfers_and_names_the_rest_as_attempts(login, superuser, calls):
    html = login(superuser).get(CALLS).content.decode()
    assert _cells(html, calls["done"]) == "1 warm, 1 cold (failed)"
    assert _cells(html, calls["aborted"]) == "1 warm (aborted)"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?transfer=warm", {"done"}),
        ("?transfer=cold", set()),
        ("?transfer=any", {"done"}),
        ("?transfer=none", {"aborted"}),
        ("?transfer=not_completed", {"done", "aborted"}),
    ],
)
def test_transfer_filter_counts_only_completed_transfers(login, superuser, calls, query, expected):
    response = login(superuser).get(CALLS + query)
    shown = {c.pk for c in response.context["cl"].result_list}
    assert shown == {calls[name].pk for name in expected}


def test_csv_counts_only_completed_transfers(login, superuser, calls):
    response = login(superuser).get(EXPORT)
    text = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
    rows = {int(r["Call"]): r for r in csv.DictReader(io.StringIO(text))}
    done, aborted = rows[calls["done"].pk], rows[calls["aborted"].pk]
    assert (done["Warm transfers"], done["Cold transfers"]) == ("1", "0")
    assert (aborted["Warm transfers"], aborted["Cold transfers"]) == ("0", "0")
