"""Who can take a call now, the one who has waited longest first: the reads routing and the
transfer picker share.

An expired wrap-up already counts as Available here, before anyone has flipped it in the
database (`agents.presence.agent_wrap_up_expire` does that).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Case, F, Q, QuerySet, When
from django.utils import timezone

from agents.models import Agent
from calls.models import Member

Status = Agent.Status


def routable_now(at: datetime) -> Q:
    """Free to take a call now: Available, or a wrap-up that has run out with nothing pending,
    and on no live call (whatever the status says)."""
    # NOT IN, read once and hashed, rather than a correlated NOT EXISTS: a burst's live legs
    # are newer than the statistics, and PostgreSQL, taking them for one row, planned that as
    # a scan of every live leg against every live call (60-100 ms a read in the queue bench).
    on_a_live_leg = Member.objects.live_legs().exclude(agent=None).values("agent_id")
    return (
        Q(status=Status.AVAILABLE) | Q(status=Status.WRAP_UP, wrap_up_until__lte=at, next_status="")
    ) & ~Q(pk__in=on_a_live_leg)


def agents_by_longest_wait(*, at: datetime | None = None) -> QuerySet[Agent]:
    """Agents who can take a call now, the one who has waited longest first. An expired
    wrap-up has been waiting since it ended."""
    at = at or timezone.now()
    waiting_since = Case(
        When(status=Status.WRAP_UP, then=F("wrap_up_until")), default=F("status_changed_at")
    )
    return (
        Agent.objects.filter(routable_now(at), user__is_active=True)
        .annotate(waiting_since=waiting_since)
        .order_by("waiting_since", "pk")
    )


def transfer_targets(*, exclude_agent_id: int | None, at: datetime | None = None) -> list[Agent]:
    """Agents a call can be transferred to right now, by name. Asked by the transfer picker
    when its field gets focus, never rendered into a pushed call: nobody sees the list
    before then, and who is available changes faster than the call does."""
    at = at or timezone.now()
    qs = Agent.objects.filter(routable_now(at), user__is_active=True).select_related("user")
    if exclude_agent_id:
        qs = qs.exclude(pk=exclude_agent_id)
    # Sorted here, not in SQL: the database's collation may order names differently.
    return sorted(qs, key=lambda a: a.display_name.lower())
