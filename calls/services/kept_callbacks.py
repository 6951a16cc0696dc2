"""Apply callbacks that were kept but never applied because the database went away.

The webhook stores a callback, then applies it. When the database fails in between (or
the process dies there), the callback is kept with no effect: outcome `received`, or
`failed` with a database error, and the webhook answered 503 so the provider sends it
again. A provider that does not retry on 5xx (Plivo's default retries only timeouts), or
gave up, would leave it unapplied for ever: housekeeping applies it instead, once it is
older than `CALLBACK_APPLY_GRACE_SECONDS`, for up to `WINDOW` after it arrived (a range of
the `received_at` index, so each run stays cheap however long the table). Older ones, and a
failure for any other reason (a bug, not retried every run), are left to an operator's
`callback_replay` (the admin's callback list filters by outcome).

Applying late is safe: the callback rules drop events older than a leg's newest and keep
terminal states, and applying locks the callback's row, so a redelivery racing this job
applies it once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from calls.models import CallbackEvent
from calls.services.callbacks import RETRYABLE, CallbackApplyFailed, callback_apply

logger = logging.getLogger(__name__)

Outcome = CallbackEvent.Outcome

DEFAULT_GRACE_SECONDS = 60
# Far longer than any outage the provider's retries or this job should bridge.
WINDOW = timedelta(hours=1)
BATCH = 200
# How `_mark_failed` records a database that went away (the traceback's last line).
_DATABASE_ERRORS = ("django.db.utils.OperationalError", "django.db.utils.InterfaceError")


def apply_grace() -> timedelta:
    """How long a kept callback waits for the provider's retry before housekeeping applies it."""
    return timedelta(
        seconds=float(getattr(settings, "CALLBACK_APPLY_GRACE_SECONDS", DEFAULT_GRACE_SECONDS))
    )


def callbacks_kept_unapplied(*, at: datetime | None = None) -> list[int]:
    """Ids of the callbacks housekeeping would apply now, oldest first."""
    at = at or timezone.now()
    database_failed = Q()
    for name in _DATABASE_ERRORS:
        database_failed |= Q(error__contains=name)
    return list(
        CallbackEvent.objects.filter(
            received_at__lt=at - apply_grace(), received_at__gte=at - WINDOW - apply_grace()
        )
        .filter(Q(outcome=Outcome.RECEIVED) | (Q(outcome=Outcome.FAILED) & database_failed))
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)[:BATCH]
    )


def callbacks_apply_kept(*, at: datetime | None = None) -> int:
    """Apply every callback kept unapplied past the grace period; returns how many had their
    effect now. Never raises for one callback: the next run tries it again."""
    applied = 0
    for event_id in callbacks_kept_unapplied(at=at):
        try:
            event = callback_apply(event_id=event_id)
        except CallbackApplyFailed:
            logger.warning("kept callback #%s still could not be applied", event_id)
            continue
        if event.outcome not in RETRYABLE:
            applied += 1
            logger.warning("kept callback #%s applied by housekeeping: %s", event_id, event.outcome)
    return applied
