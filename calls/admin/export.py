"""The call list's CSV export, streamed one row at a time."""

import csv
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

from django.core.handlers.asgi import ASGIRequest
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from calls.admin.display import (
    call_answered_at,
    call_duration_seconds,
    call_state_text,
    caller_address,
    caller_wait_seconds,
    completed_transfers,
    who_took_it,
)
from calls.models import Call

CSV_HEADER = [
    "Call",
    "Created",
    "Answered",
    "Ended",
    "Duration (s)",
    "Direction",
    "Status",
    "Outcome",
    "Agent",
    "Agent username",
    "Rang",
    "Customer",
    "Customer phone",
    "Disposition",
    "Notes",
    "Warm transfers",
    "Cold transfers",
    "Queue",
    "Waited (s)",
]
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_CHUNK_SIZE = 500


def _csv_cell(value) -> str:
    """Text a spreadsheet shows as text: a leading formula character is escaped, except in
    plain numbers such as +14155550101."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_PREFIXES) and not text[1:].replace(" ", "").isdigit():
        return "'" + text
    return text


def _csv_time(value: datetime | None) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def call_csv_row(call: Call) -> list[str]:
    """One export row, saying what the call list says. Needs the CallAdmin queryset:
    owner__user, customer and queue joined, members and transfers prefetched."""
    members = call.members.all()
    # As in the list: a call no agent took has no agent; whom it was offered to without
    # being taken (a queued caller's offers), taken or not in the end.
    owner, rang = who_took_it(call, members=members)
    duration = call_duration_seconds(call, members=members)
    waited = caller_wait_seconds(call, at=timezone.now())
    phone = caller_address(call, members=members)
    transfers = completed_transfers(call.transfers.all())
    values = [
        call.pk,
        _csv_time(call.created_at),
        _csv_time(call_answered_at(call, members=members)),
        _csv_time(call.ended_at),
        "" if duration is None else duration,
        call.get_direction_display(),
        "Live" if call.is_live else "Ended",  # how it ended is the Outcome column
        # As the list says it: a caller nobody took reads where they were sent.
        call_state_text(call, members=members) if call.outcome and not call.is_live else "",
        owner.display_name if owner else "",
        owner.user.get_username() if owner else "",
        ", ".join(a.display_name for a in rang),
        call.customer.name if call.customer else phone,
        phone,
        call.disposition,
        call.wrap_up_notes,
        transfers[Call.TransferKind.WARM],
        transfers[Call.TransferKind.COLD],
        call.queue.name if call.queue_id and call.queue else "",
        "" if waited is None else waited,
    ]
    return [_csv_cell(v) for v in values]


class _Echo:
    """csv.writer writes into this and gets the line back, so rows stream one at a time."""

    def write(self, value: str) -> str:
        return value


def _csv_header_line(writer) -> str:
    # The byte-order mark makes spreadsheet programs read the file as UTF-8.
    return "\ufeff" + writer.writerow(CSV_HEADER)


def _csv_lines(queryset: QuerySet) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield _csv_header_line(writer)
    for call in queryset.iterator(chunk_size=_CHUNK_SIZE):
        yield writer.writerow(call_csv_row(call))


async def _csv_lines_async(queryset: QuerySet) -> AsyncIterator[str]:
    writer = csv.writer(_Echo())
    yield _csv_header_line(writer)
    async for call in queryset.aiterator(chunk_size=_CHUNK_SIZE):
        yield writer.writerow(call_csv_row(call))


def calls_csv_response(*, request, queryset: QuerySet) -> StreamingHttpResponse:
    """Stream `queryset` as CSV; asynchronously under ASGI, so the server never buffers it."""
    lines = _csv_lines_async(queryset) if isinstance(request, ASGIRequest) else _csv_lines(queryset)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    filename = f"calls-{timezone.localtime():%Y%m%d-%H%M%S}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
