"""The inbound queues' figures for the wallboard, as selectors: 2 queries however many
queues, calls or agents there are (tests hold it to that).

Per queue (docs/wallboard.md explains them to supervisors), "today" as in
`calls.wallboard.figures`:

- *Waiting*: its callers no agent has answered yet, on calls still in progress (waiting
  with music, or being offered to an agent); the *longest wait* started with the oldest.
- *Answered today*: its calls an agent answered today; *within target*: those whose caller
  waited at most the queue's service-level seconds (to the millisecond: 20.4 s is not
  within 20). The exit's voicemail or message answers
  the call too (the call's `answered_at`), but no agent did: those are sent on, not answered.
- *Abandoned today*: its callers who hung up today before any agent answered.
- *Sent on*: callers given the queue's exit today (its longest wait passed), or the
  no-agent outcome, and callers whose call was ended from a desktop or the wallboard while
  they waited: every caller the queue let go of without an agent or their own hanging up.
  A caller who hangs up while the exit still rings is abandoned, not sent on: each call
  ended today counts in one of answered, abandoned and sent on.
- *Service level*: answered within target, out of the calls that were answered, abandoned or
  sent on today (a caller sent on was not answered in time). None (shown as a dash) before
  the first of those.
- *Average speed of answer*: the mean wait of the calls answered today.
- *Available*: the queue's agents who could take a call now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Avg, Count, Exists, F, Min, OuterRef, Q
from django.utils import timezone

from agents.availability import routable_now
from agents.models import Agent
from calls.models import Call, Member, Queue

# How a call the queue let go of without an agent, and with its caller still on, ends.
SENT_ON_OUTCOMES = (Call.Outcome.NO_AGENT, Call.Outcome.ENDED_WHILE_WAITING)


@dataclass(frozen=True)
class QueueFigures:
    queue_id: int
    name: str
    waiting: int
    # When the longest current wait started (None when nobody waits).
    longest_wait_since: datetime | None
    answered: int
    answered_within_target: int
    abandoned: int
    sent_on: int
    # Whole seconds; None before the first call answered today.
    average_speed_of_answer: int | None
    available_agents: int
    service_level_seconds: int
    at: datetime

    @property
    def service_level(self) -> int | None:
        """Percent, rounded down; None before the first call answered, abandoned or sent on
        today."""
        finished = self.answered + self.abandoned + self.sent_on
        if not finished:
            return None
        return self.answered_within_target * 100 // finished

    @property
    def longest_wait_seconds(self) -> int | None:
        if self.longest_wait_since is None:
            return None
        return max(0, int((self.at - self.longest_wait_since).total_seconds()))


def queue_figures(
    *, start: datetime, end: datetime, at: datetime | None = None
) -> tuple[QueueFigures, ...]:
    """Every queue's figures as of `at`, for the day from `start` to `end`. 2 queries."""
    at = at or timezone.now()
    waiting = Q(
        status__in=Call.LIVE_STATUSES,
        direction=Call.Direction.INBOUND,
        answered_at__isnull=True,
    )
    answered_today = Q(answered_at__gte=start, answered_at__lt=end)
    ended_unanswered = Q(ended_at__gte=start, ended_at__lt=end, answered_at__isnull=True)
    # The exit took the caller: its message or voicemail answered. One the caller hung up on
    # while it still rang is an abandoned call (its outcome), not one sent on as well.
    told_no_agent = Member.objects.filter(
        call=OuterRef("pk"), role=Member.Role.NO_AGENT, answered_at__isnull=False
    )
    # By an agent: the exit's message or voicemail answers a call too.
    answered = answered_today & Q(sent=False)
    let_go = (Q(sent=True) | Q(outcome__in=SENT_ON_OUTCOMES)) & ~Q(outcome=Call.Outcome.ABANDONED)
    per_queue = {
        row["queue_id"]: row
        for row in Call.objects.filter(queue__isnull=False)
        .filter(waiting | answered_today | ended_unanswered)
        .annotate(sent=Exists(told_no_agent))
        .values("queue_id")
        .annotate(
            waiting=Count("pk", filter=waiting),
            longest_wait_since=Min("created_at", filter=waiting),
            answered=Count("pk", filter=answered),
            within=Count(
                "pk", filter=answered & Q(waited_ms__lte=F("queue__service_level_seconds") * 1000)
            ),
            abandoned=Count("pk", filter=ended_unanswered & Q(outcome=Call.Outcome.ABANDONED)),
            sent_on=Count("pk", filter=(answered_today | ended_unanswered) & let_go),
            asa_ms=Avg("waited_ms", filter=answered),
        )
        .order_by()
    }
    free = Agent.objects.filter(routable_now(at), user__is_active=True)
    queues = Queue.objects.annotate(available=Count("agents", filter=Q(agents__in=free)))
    none: dict = {}
    return tuple(
        QueueFigures(
            queue_id=queue.pk,
            name=queue.name,
            waiting=(row := per_queue.get(queue.pk, none)).get("waiting", 0),
            longest_wait_since=row.get("longest_wait_since"),
            answered=row.get("answered", 0),
            answered_within_target=row.get("within", 0),
            abandoned=row.get("abandoned", 0),
            sent_on=row.get("sent_on", 0),
            average_speed_of_answer=(
                None if row.get("asa_ms") is None else round(row["asa_ms"] / 1000)
            ),
            available_agents=queue.available,
            service_level_seconds=queue.service_level_seconds,
            at=at,
        )
        for queue in queues.order_by("name")
    )
