"""Reads for pages, pushes and services. Each runs a fixed number of queries, however many
calls, members or agents there are (tests hold them to it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Prefetch, QuerySet, Window
from django.db.models.functions import RowNumber

from agents.models import Agent
from calls.models import Action, Call, CallbackEvent, Member, WrapUp, arrival_order
from contactcenter.compiled_reads import CompiledRead

_CALL_RELATED = (
    "owner__user",
    "customer",
    "transfer_from__user",
    "transfer_to_agent__user",
    "pending_action__actor",
    "queue",
)


def pending_wrap_ups() -> QuerySet[WrapUp]:
    """Wrap-ups still owed, to prefetch with a call (`Prefetch("wrap_ups", ...)`)."""
    return WrapUp.objects.filter(done_at__isnull=True)


def _members() -> QuerySet[Member]:
    return Member.objects.select_related("agent__user", "customer").order_by("created_at", "pk")


def _calls() -> QuerySet[Call]:
    """Calls with everything a desktop shows: 2 queries (calls, then all their members)."""
    return Call.objects.select_related(*_CALL_RELATED).prefetch_related(
        Prefetch("members", queryset=_members())
    )


def call_with_members(*, call_id: int) -> Call:
    """One call with members, their agents/customers and transfer agents. Raises
    Call.DoesNotExist. 2 queries."""
    return _calls().get(pk=call_id)


def _members_and_call() -> QuerySet[Member]:
    return _members().select_related("call__transfer_from__user", "call__transfer_to_agent__user")


# Every member's button reads these: compiled once per thread (contactcenter.compiled_reads).
_read_members_of_call = CompiledRead(
    lambda *, call_id: _members_and_call().filter(call_id=call_id), names=("call_id",)
)
_read_members_of_members_call = CompiledRead(
    lambda *, member_id: _members_and_call().filter(
        call_id__in=Member.objects.filter(pk=member_id).values("call_id")
    ),
    names=("member_id",),
)


# The callback's read under the call's lock: compiled once per thread (the related manager's
# read was compiled at every callback).
_read_bare_members = CompiledRead(
    lambda *, call_id: Member.objects.filter(call_id=call_id).order_by(), names=("call_id",)
)


def members_in_arrival_order(*, call: Call) -> list[Member]:
    """`call.members.in_arrival_order()`, each member holding `call` as the related manager
    gives it, in 1 query without compiling it again."""
    members = _read_bare_members(call_id=int(call.pk))
    for member in members:
        member.call = call
    return sorted(members, key=arrival_order)


def members_with_their_call(*, member_id: int, call_id: int | None = None) -> list[Member]:
    """Every member of `member_id`'s call (of `call_id` when the caller knows it), each with
    its agent or customer, and the call with its transfer's agents, which every row shares:
    what a member's button checks, in 1 query (the call and its members were 2, plus 1 for
    the member's call)."""
    if call_id is None:
        found = _read_members_of_members_call(member_id=int(member_id))
    else:
        found = _read_members_of_call(call_id=int(call_id))
    if found:
        call = found[0].call
        for member in found:
            member.call = call  # one instance, as a prefetch would give
    return found


def live_calls(*, limit: int | None = None) -> list[Call]:
    """The calls in progress (dialling or active), oldest first, as a wallboard lists them;
    the first `limit` of them when given. 2 queries."""
    calls = _calls().live().order_by("created_at", "pk")
    return list(calls if limit is None else calls[:limit])


def agents_by_status(*, limit: int | None = None) -> dict[str, list[Agent]]:
    """Agents grouped by status (every status present, possibly empty), each group
    longest-in-state first; only the first `limit` of each group when given, picked by the
    database (a board of 60 a group reads 60 a group, not every agent). 1 query."""
    groups: dict[str, list[Agent]] = {status: [] for status in Agent.Status.values}
    agents = Agent.objects.select_related("user")
    if limit is not None:
        place = Window(
            RowNumber(),
            partition_by=F("status"),
            order_by=(F("status_changed_at").asc(), F("pk").asc()),
        )
        agents = agents.annotate(place=place).filter(place__lte=limit)
    for agent in agents.order_by("status_changed_at", "pk"):
        groups.setdefault(agent.status, []).append(agent)
    return groups


def wrap_up_window() -> timedelta:
    """How long an ended call waits for its owner's disposition."""
    return timedelta(hours=float(settings.DESKTOP_WRAP_UP_WINDOW_HOURS))


def calls_awaiting_wrap_up(*, agent_id: int, since: datetime) -> QuerySet[Call]:
    """Calls on which the agent still owes a wrap-up (a disposition, or a look at how an
    attempt that reached nobody ended), within the window that began `since` (now less
    `wrap_up_window()`): ended calls, and live ones their part of has ended (say, after
    handing the customer over with a transfer)."""
    return Call.objects.filter(
        wrap_ups__agent_id=agent_id,
        wrap_ups__done_at__isnull=True,
        wrap_ups__created_at__gte=since,
    )


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    source: str  # "action" or "callback"
    item: Action | CallbackEvent

    @property
    def is_action(self) -> bool:
        return self.source == "action"


def call_timeline(*, call_id: int) -> list[TimelineEntry]:
    """What we asked PHLO to do and what PHLO told us, merged by time. 2 queries."""
    actions = Action.objects.filter(call_id=call_id).select_related(
        "actor", "member", "member__agent"
    )
    callbacks = CallbackEvent.objects.filter(call_id=call_id).select_related("member")
    entries = [TimelineEntry(at=a.created_at, source="action", item=a) for a in actions]
    entries += [TimelineEntry(at=c.received_at, source="callback", item=c) for c in callbacks]
    entries.sort(key=lambda e: (e.at, 0 if e.is_action else 1, e.item.pk))
    return entries
