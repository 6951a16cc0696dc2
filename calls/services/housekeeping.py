"""Housekeeping: end the calls that nothing else will end.

A call still dialling, that nobody ever answered and that has had no callback, action or leg
change for `CALL_DIAL_GRACE_SECONDS` (longer than any ring timeout), is one PHLO never
placed, or whose callbacks were lost: typically a "call" whose outcome was unknown (a
timeout). Left alone it would keep its agents "on a call" for ever. It is ended through
`calls.state` like any other end, so agents follow it and pages are pushed.

The same runs also apply callbacks kept but never applied because the database went away
(`calls.services.kept_callbacks`).

It runs from cron (`manage.py calls_housekeeping`) and from the desktops' heartbeat
(`calls_housekeeping_when_due`, at most once every `CALL_HOUSEKEEPING_INTERVAL_SECONDS`
per process). Any number of processes may run it at once: each call is re-checked under its
row lock before it is ended, so exactly one of them ends it and the others skip it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from calls.models import Action, Call, CallbackEvent, Member
from calls.services.kept_callbacks import callbacks_apply_kept
from calls.state import call_changed, lock_call, member_set_state, on_member_gone

logger = logging.getLogger(__name__)

State = Member.State

DEFAULT_DIAL_GRACE_SECONDS = 120
DEFAULT_INTERVAL_SECONDS = 30
# Calls ended per run at most; a backlog is worked off over the next runs.
BATCH = 200


def dial_grace() -> timedelta:
    """How long a dialling call may go without any news before it is ended."""
    return timedelta(
        seconds=float(getattr(settings, "CALL_DIAL_GRACE_SECONDS", DEFAULT_DIAL_GRACE_SECONDS))
    )


def housekeeping_interval() -> float:
    """Seconds between two runs from the desktops' heartbeat, per process."""
    return float(getattr(settings, "CALL_HOUSEKEEPING_INTERVAL_SECONDS", DEFAULT_INTERVAL_SECONDS))


def stale_call_cleared_within() -> str:
    """How long, at worst, a call PHLO never placed keeps its agent "on a call", for people:
    the grace period plus a run or two of housekeeping."""
    seconds = dial_grace().total_seconds() + 2 * housekeeping_interval()
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


def _stale_dialling(*, cutoff: datetime) -> QuerySet[Call]:
    """Dialling calls created before `cutoff` with no sign of life since: no member ever
    answered, and no leg change, callback or action at or after `cutoff`."""
    lively_member = Member.objects.filter(call=OuterRef("pk")).filter(
        Q(answered_at__isnull=False) | Q(state_changed_at__gte=cutoff)
    )
    recent_callback = CallbackEvent.objects.filter(call=OuterRef("pk"), received_at__gte=cutoff)
    recent_action = Action.objects.filter(call=OuterRef("pk"), created_at__gte=cutoff)
    return (
        Call.objects.filter(
            status=Call.Status.DIALLING, answered_at__isnull=True, created_at__lt=cutoff
        )
        .exclude(Exists(lively_member))
        .exclude(Exists(recent_callback))
        .exclude(Exists(recent_action))
    )


def calls_stale_dialling(*, at: datetime | None = None) -> list[Call]:
    """The calls `calls_expire_stale` would end now, oldest first (for operators)."""
    at = at or timezone.now()
    return list(
        _stale_dialling(cutoff=at - dial_grace())
        .select_related("owner__user", "customer")
        .order_by("created_at", "pk")[:BATCH]
    )


def call_expire_if_stale(*, call_id: int, at: datetime | None = None) -> bool:
    """End one call if it is still stale, re-checked under its row lock. True if this caller
    ended it; False if it was not stale (any more), already ended, or gone.

    Its live legs end as no answer when the provider had reported anything on the call
    (PHLO placed it, so they rang out unheard), else as failed (it never got going).
    """
    at = at or timezone.now()
    with transaction.atomic():
        try:
            call = lock_call(call_id=call_id)
        except Call.DoesNotExist:
            return False
        # A callback or an action may have got here first.
        if not _stale_dialling(cutoff=at - dial_grace()).filter(pk=call.pk).exists():
            return False
        state = State.NO_ANSWER if call.callbacks.exists() else State.FAILED
        live = list(call.members.filter(state__in=Member.LIVE_STATES))
        for member in live:
            if member_set_state(member=member, state=state, at=at):
                on_member_gone(call=call, member=member, at=at)
        if not live:
            # No leg to end (nothing creates such a call, but it must not stay live either).
            call.status = Call.Status.FAILED
            call.ended_at = at
            call.pending_action = None
        _abandon_pending_actions(call=call, at=at)
        call_changed(call=call, at=at)
    logger.warning(
        "call %s ended by housekeeping: dialling with no news for over %g s; legs %s",
        call_id,
        dial_grace().total_seconds(),
        state,
    )
    return True


def _abandon_pending_actions(*, call: Call, at: datetime) -> None:
    Action.objects.filter(call=call, outcome=Action.Outcome.PENDING).update(
        outcome=Action.Outcome.FAILED,
        error_kind="abandoned",
        error="No outcome was recorded; the call was ended by housekeeping after no news"
        " from PHLO.",
        finished_at=at,
    )


@dataclass
class ExpiryReport:
    ended: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def calls_expire_stale_report(*, at: datetime | None = None) -> ExpiryReport:
    """`calls_expire_stale`, saying which calls were ended and which could not be."""
    at = at or timezone.now()
    report = ExpiryReport()
    ids = list(
        _stale_dialling(cutoff=at - dial_grace())
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:BATCH]
    )
    for call_id in ids:
        try:
            if call_expire_if_stale(call_id=call_id, at=at):
                report.ended.append(call_id)
        except Exception:
            # One broken call must not keep the others stuck; the next run tries it again.
            logger.exception("housekeeping could not end call %s", call_id)
            report.failed.append(call_id)
    return report


def calls_expire_stale(*, at: datetime | None = None) -> int:
    """End every stale dialling call (see the module's docstring); returns how many this
    caller ended. Idempotent, and safe to run from several processes at once."""
    return len(calls_expire_stale_report(at=at).ended)


# --- from the desktops' heartbeat ---------------------------------------------------------

_throttle = threading.Lock()
_next_run = 0.0  # time.monotonic() after which this process runs housekeeping again


def housekeeping_due(*, now: float | None = None) -> bool:
    """True at most once per `housekeeping_interval()` in this process; whoever gets True
    runs the housekeeping."""
    global _next_run
    now = time.monotonic() if now is None else now
    with _throttle:
        if now < _next_run:
            return False
        _next_run = now + housekeeping_interval()
        return True


async def calls_housekeeping_when_due(*, also: Sequence[Callable[[], object]] = ()) -> int:
    """For the desktops' websocket heartbeat: run `calls_expire_stale`, then the jobs in
    `also` (those of the layers above, such as offering stranded callers again), when this
    process is due (a check that costs no query otherwise). Never raises: housekeeping must
    not break the socket that happened to run it."""
    if not housekeeping_due():
        return 0
    ended = 0
    for job in (calls_expire_stale, callbacks_apply_kept, *also):
        try:
            done = await database_sync_to_async(job)()
        except Exception:
            logger.exception("housekeeping job %s failed; it runs again later", job.__name__)
            continue
        if job is calls_expire_stale:
            ended = done
    return ended
