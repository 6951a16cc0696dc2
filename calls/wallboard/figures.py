"""The wallboard's headline figures, as selectors.

"Today" is the calendar day in `settings.TIME_ZONE` that contains `at`. Every figure is
aggregated in SQL: `wallboard_figures` runs 7 queries (2 of them the queues',
`calls.wallboard.queues`) however many calls, legs or actions
there are (tests hold it to that).

Definitions (docs/wallboard.md explains them to supervisors):

- A customer *reached an agent* when an agent (or supervisor) leg of the same call was
  answered before the customer's leg ended. Legs answered by a voicemail machine are not
  customers talking.
- *Calls in progress*: calls ringing or connected now.
- *Customers on hold now*: customer legs on hold in calls in progress; the *longest current
  hold* started at the oldest of their hold start times.
- *Calls handled today*: calls that ended today in which a customer reached an agent.
- *Average handle time today*: over those calls, from the first agent leg answered to the
  last agent leaving it, or the end of the call (talk and hold time; an outside number the
  call was handed to is not an agent; after-call work is not recorded per call).
- *Transfers today*: warm and cold transfers completed today (a warm one is completed when
  the call resumes with everyone, or the first agent leaves the customer with the target;
  a cold one when its target answers). Consults that were aborted are counted apart, and
  transfers whose target never answered not at all.
- *Abandoned today*: calls in which a customer who was in the call left today before any
  agent answered, by hanging up themselves (a leg hung up from a desktop or the wallboard
  does not count, nor a caller who was put through to the no-agent message or voicemail).
- *Calls per hour*: calls started in each hour of today, and how many of them a customer
  reached an agent in. A day has 23 or 25 hours when the clocks change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Trunc
from django.utils import timezone

from agents.models import Agent
from calls.models import Action, Call, CallTransfer, Member
from calls.wallboard.queues import QueueFigures, queue_figures

Role = Member.Role
State = Member.State
AGENT_ROLES = (Role.AGENT, Role.SUPERVISOR)
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class HourBucket:
    """Calls started in one hour of today; `start` is local time."""

    start: datetime
    calls: int
    reached_agent: int

    @property
    def other(self) -> int:
        return self.calls - self.reached_agent


@dataclass(frozen=True)
class Figures:
    at: datetime
    day_start: datetime
    day_end: datetime
    calls_in_progress: int
    customers_on_hold: int
    # When the longest current hold started (None when nobody is on hold).
    longest_hold_since: datetime | None
    calls_handled: int
    # Whole seconds; None when no call was handled today.
    average_handle_seconds: int | None
    transfers_warm: int
    transfers_cold: int
    consults_aborted: int
    abandoned: int
    hours: tuple[HourBucket, ...]
    # How many agents are in each status now (the board lists only the first of each).
    agents_by_status: dict[str, int] = field(default_factory=dict)
    # Each inbound queue's figures, by name (none without queues).
    queues: tuple[QueueFigures, ...] = ()

    @property
    def transfers(self) -> int:
        return self.transfers_warm + self.transfers_cold

    @property
    def longest_hold_seconds(self) -> int | None:
        if self.longest_hold_since is None:
            return None
        return max(0, int((self.at - self.longest_hold_since).total_seconds()))

    @property
    def calls_today(self) -> int:
        return sum(h.calls for h in self.hours)


def today_bounds(*, at: datetime) -> tuple[datetime, datetime]:
    """Local midnight to the next local midnight, in settings.TIME_ZONE, around `at`."""
    tz = timezone.get_default_timezone()
    day = timezone.localtime(at, tz).date()
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def day_hours(*, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The day's hours as [from, to) pairs. Stepping in UTC keeps a clock change right: the
    repeated hour appears twice and the skipped one not at all."""
    tz = timezone.get_default_timezone()
    hours = []
    at = start.astimezone(UTC)
    stop = end.astimezone(UTC)
    while at < stop:
        hours.append((at.astimezone(tz), min(at + HOUR, stop).astimezone(tz)))
        at += HOUR
    return hours


def _agent_answered_before_leg_ended(*, at: datetime) -> QuerySet[Member]:
    """For an outer customer leg: agent legs of its call answered before that leg ended."""
    return Member.objects.filter(
        call=OuterRef("call"),
        role__in=AGENT_ROLES,
        answered_at__isnull=False,
        answered_at__lte=Coalesce(OuterRef("left_at"), Value(at)),
    )


def _customer_reached_agent(*, at: datetime) -> QuerySet[Member]:
    """For an outer call: its human customer legs that reached an agent."""
    return Member.objects.filter(
        call=OuterRef("pk"),
        role=Role.CUSTOMER,
        answered_at__isnull=False,
        is_machine=False,
    ).filter(Exists(_agent_answered_before_leg_ended(at=at)))


def _call_figures(*, at: datetime, start: datetime, end: datetime) -> dict:
    # Our people's answered legs (an outside number a call was transferred to is not one).
    ours = Member.objects.filter(
        call=OuterRef("pk"), role__in=AGENT_ROLES, agent__isnull=False, answered_at__isnull=False
    )
    first_agent_answer = ours.order_by("answered_at").values("answered_at")[:1]
    # Until the last of them left: a customer handed on to an outside number goes on
    # talking, but no agent is handling the call any more.
    last_agent_left = ours.order_by(F("left_at").desc(nulls_first=True)).values("left_at")[:1]
    handled = Q(ended_at__gte=start, ended_at__lt=end, reached=True)
    handle_time = ExpressionWrapper(
        Coalesce(F("last_agent_left"), F("ended_at")) - F("first_agent_answer"),
        output_field=DurationField(),
    )
    return (
        Call.objects.filter(
            Q(status__in=Call.LIVE_STATUSES) | Q(ended_at__gte=start, ended_at__lt=end)
        )
        .annotate(
            reached=Exists(_customer_reached_agent(at=at)),
            first_agent_answer=Subquery(first_agent_answer),
            last_agent_left=Subquery(last_agent_left),
        )
        .aggregate(
            in_progress=Count("pk", filter=Q(status__in=Call.LIVE_STATUSES)),
            handled=Count("pk", filter=handled),
            handle_total=Sum(handle_time, filter=handled),
        )
    )


def _customer_leg_figures(*, at: datetime, start: datetime, end: datetime) -> dict:
    on_hold = Q(state=State.ON_HOLD, call__status__in=Call.LIVE_STATUSES)
    left_today = Q(state=State.LEFT, left_at__gte=start, left_at__lt=end)
    hung_up_by_us = Action.objects.filter(
        member=OuterRef("pk"), kind=Action.Kind.HANGUP, outcome=Action.Outcome.SUCCEEDED
    )
    # A caller who heard the no-agent message (or left a voicemail) was answered by it.
    told_no_agent = Member.objects.filter(
        call=OuterRef("call"), role=Role.NO_AGENT, answered_at__isnull=False
    )
    abandoned = left_today & Q(
        answered_at__isnull=False,
        is_machine=False,
        reached=False,
        hung_up_by_us=False,
        told_no_agent=False,
    )
    return (
        Member.objects.filter(role=Role.CUSTOMER)
        .filter(on_hold | left_today)
        .annotate(
            reached=Exists(_agent_answered_before_leg_ended(at=at)),
            hung_up_by_us=Exists(hung_up_by_us),
            told_no_agent=Exists(told_no_agent),
        )
        .aggregate(
            on_hold=Count("pk", filter=on_hold),
            longest_hold_since=Min(Coalesce("hold_started_at", "state_changed_at"), filter=on_hold),
            abandoned=Count("call", distinct=True, filter=abandoned),
        )
    )


def _transfer_figures(*, start: datetime, end: datetime) -> dict:
    warm, cold = Call.TransferKind.WARM, Call.TransferKind.COLD
    completed = Q(outcome=CallTransfer.Outcome.COMPLETED)
    return CallTransfer.objects.filter(ended_at__gte=start, ended_at__lt=end).aggregate(
        warm=Count("pk", filter=completed & Q(kind=warm)),
        cold=Count("pk", filter=completed & Q(kind=cold)),
        aborted=Count("pk", filter=Q(outcome=CallTransfer.Outcome.ABORTED)),
    )


def calls_per_hour(
    *, start: datetime, end: datetime, at: datetime | None = None
) -> tuple[HourBucket, ...]:
    """Calls started in each hour between `start` and `end`: one query, grouped by the UTC
    minute they started in (at most 1,440 rows, whatever the calls), which this adds up
    into the day's hours. Every time zone's offset is whole minutes, so no minute straddles
    two hours. (The query used to count each hour in SQL: 48 conditional counts that took
    Django ten times longer to compile than PostgreSQL to run.)"""
    at = at or timezone.now()
    hours = day_hours(start=start, end=end)
    rows = (
        Call.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(
            minute=Trunc("created_at", "minute", tzinfo=UTC),
            reached=Exists(_customer_reached_agent(at=at)),
        )
        .values("minute")
        .annotate(calls=Count("pk"), reached_agent=Count("pk", filter=Q(reached=True)))
        .values_list("minute", "calls", "reached_agent")
        .order_by()
    )
    calls = [0] * len(hours)
    reached = [0] * len(hours)
    first = start.astimezone(UTC)
    for minute, n, n_reached in rows:
        index = int((minute - first) // HOUR)
        if 0 <= index < len(hours):
            calls[index] += n
            reached[index] += n_reached
    return tuple(
        HourBucket(start=hour_start, calls=calls[i], reached_agent=reached[i])
        for i, (hour_start, _) in enumerate(hours)
    )


def wallboard_figures(*, at: datetime | None = None) -> Figures:
    """Every headline figure, the calls-per-hour chart and the queues, as of `at`. 7 queries."""
    at = at or timezone.now()
    start, end = today_bounds(at=at)
    calls = _call_figures(at=at, start=start, end=end)
    legs = _customer_leg_figures(at=at, start=start, end=end)
    transfers = _transfer_figures(start=start, end=end)
    handled = calls["handled"] or 0
    total = calls["handle_total"]
    average = None
    if handled and total is not None:
        average = round(_seconds(total) / handled)
    return Figures(
        at=at,
        day_start=start,
        day_end=end,
        calls_in_progress=calls["in_progress"] or 0,
        customers_on_hold=legs["on_hold"] or 0,
        longest_hold_since=legs["longest_hold_since"],
        calls_handled=handled,
        average_handle_seconds=average,
        transfers_warm=transfers["warm"] or 0,
        transfers_cold=transfers["cold"] or 0,
        consults_aborted=transfers["aborted"] or 0,
        abandoned=legs["abandoned"] or 0,
        hours=calls_per_hour(start=start, end=end, at=at),
        agents_by_status=agent_counts(),
        queues=queue_figures(at=at, start=start, end=end),
    )


def agent_counts() -> dict[str, int]:
    """How many agents are in each status (statuses nobody is in are left out). 1 query."""
    counts = Agent.objects.values("status").annotate(n=Count("pk")).order_by()
    return {row["status"]: row["n"] for row in counts}


def _seconds(value) -> float:
    # PostgreSQL sums intervals to a timedelta; some backends hand back microseconds.
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value) / 1_000_000
