"""Customers, calls and the calls' audit trail in the supervisors' admin.

- A call's page shows its members (read-only: their state is live) and a timeline of every
  action sent and callback received, failures included.
- The call list filters by live or ended, outcome, agent, customer, date, disposition (the
  call's or any agent's own) and transfer (completed ones, as the wallboard counts them), and
  exports to CSV (selected calls, or everything the current filters match), streamed.
- Actions and callbacks are an audit trail: read-only for everyone.
- Nothing secret is shown: parameters and requests are redacted on display as well.
- Every list is a fixed number of queries: related rows are joined and counts are subqueries.

Modules: `customers`, `calls` (with `members`, `forms`, `filters`, `export`, `timeline`),
`audit` (actions and callbacks), `queues`; shared pieces in `display`, `redaction`,
`search`, `queries`.
"""

from calls.admin.audit import ActionAdmin, CallbackEventAdmin
from calls.admin.calls import CallAdmin
from calls.admin.customers import CustomerAdmin
from calls.admin.export import CSV_HEADER, call_csv_row, calls_csv_response
from calls.admin.filters import (
    CustomerFilter,
    DispositionFilter,
    LiveFilter,
    OwnerFilter,
    TransferFilter,
)
from calls.admin.forms import CallForm, CustomerForm
from calls.admin.members import MemberInline
from calls.admin.queues import QueueAdmin, QueueForm
from calls.admin.redaction import REDACTED, redact
from calls.admin.timeline import TimelineRow, timeline_rows
from calls.models import Action, Call, CallbackEvent, Customer, Queue
from contactcenter.admin import site

site.register(Customer, CustomerAdmin)
site.register(Call, CallAdmin)
site.register(Action, ActionAdmin)
site.register(CallbackEvent, CallbackEventAdmin)
site.register(Queue, QueueAdmin)

__all__ = [
    "CSV_HEADER",
    "REDACTED",
    "ActionAdmin",
    "CallAdmin",
    "CallForm",
    "CallbackEventAdmin",
    "CustomerAdmin",
    "CustomerFilter",
    "CustomerForm",
    "DispositionFilter",
    "LiveFilter",
    "MemberInline",
    "OwnerFilter",
    "QueueAdmin",
    "QueueForm",
    "TimelineRow",
    "TransferFilter",
    "call_csv_row",
    "calls_csv_response",
    "redact",
    "timeline_rows",
]
