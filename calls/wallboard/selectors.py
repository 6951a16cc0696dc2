"""What the wallboard shows, as plain data: agents by status and every live call.

One view for every supervisor (it is rendered once per change and sent to all of them), so
nothing here depends on who is watching. The one viewer-specific thing, hiding "Join" on a
call the viewer is already on, is done by the page from `CallRow.agent_ids`.

`wallboard_board` runs 13 queries however many agents and calls there are: agents (1), the
live calls shown with their members (2), the shown agents' calls (2), the figures (7) and
when the next wrap-up ends (1). It shows the first `calls_shown()` calls and
`agents_shown()` agents of each status: the page keeps to those and counts the rest. The
pushes of single changes read only what changed: `agent_rows` (3 queries) and
`next_wrap_up_end_at` (1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Exists, Min, OuterRef, Prefetch
from django.utils import timezone

from agents.models import Agent
from calls import selectors as call_selectors
from calls.models import Action, Call, Member
from calls.outcomes import (
    FoldedLegs,
    call_phase,
    folded_legs,
    member_role_label,
    member_state_label,
    still_shown,
    talk_started_at,
)
from calls.services import rules
from calls.wallboard.agent_status import settable_statuses
from calls.wallboard.figures import Figures, agent_counts, wallboard_figures

Kind = Action.Kind
Status = Agent.Status
# Supervisors' buttons on a participant, in this order.
MEMBER_ACTION_ORDER = (Kind.HOLD, Kind.UNHOLD, Kind.HANGUP)
# Status groups, top to bottom.
STATUS_ORDER = (Status.AVAILABLE, Status.ON_CALL, Status.WRAP_UP, Status.AWAY, Status.OFFLINE)
# Stands for "a supervisor with a phone who is not on this call yet" when asking the rules
# whether Join is possible; pk 0 never matches a real agent.
_SOME_SUPERVISOR_AGENT = Agent(pk=0)


@dataclass(frozen=True)
class MemberRow:
    member: Member
    label: str
    # Per-member timer: time in the current state (on hold: since the hold started).
    since: datetime
    actions: tuple[str, ...]
    is_transfer_target: bool
    # Hanging it up withdraws an offer, which puts its agent Away (`rules.rings_an_offer`).
    rings_an_offer: bool = False
    # A queued caller no agent has answered: hanging up ends their call (sent on).
    waits_in_queue: bool = False
    # The customer this member is the last one with (nobody else on the call or ringing):
    # hanging them up ends the customer's call ("" otherwise).
    last_with: str = ""

    @property
    def hangup_question(self) -> str:
        """What Hang up asks first: a supervisor stopping an agent's ring is told it takes
        the agent out of routing, so that it never comes as a surprise."""
        if self.rings_an_offer:
            return (
                f"Stop the ring to {self.label}? They will be set Away (Offered call withdrawn)"
                " and not offered this call again."
            )
        if self.waits_in_queue:
            return (
                f"Hang up {self.label}, who is waiting for an agent? Their call ends, and the"
                " queue counts them as sent on."
            )
        if self.last_with:
            # The provider ends a call whose customer is left alone on it.
            return (
                f"Hang up {self.label}? Nobody else is on the call with {self.last_with}:"
                " the call ends."
            )
        if self.member.role == Member.Role.SUPERVISOR:
            return f"Take {self.label} (supervisor) off the call? The call goes on without them."
        return f"Hang up {self.label}?"

    @property
    def role_label(self) -> str:
        return member_role_label(self.member)

    @property
    def state_label(self) -> str:
        return member_state_label(self.member)


@dataclass(frozen=True)
class CallRow:
    call: Call
    title: str
    members: tuple[MemberRow, ...]
    transfer_text: str
    can_join: bool
    # Agents with a live leg: the page hides Join from a viewer who is one of them.
    agent_ids: tuple[int, ...]

    @property
    def owner_left(self) -> bool:
        """The call's agent has no leg on it any more (a supervisor and the customer go on,
        or a cold transfer's target still rings)."""
        return bool(self.call.owner_id) and self.call.owner_id not in self.agent_ids

    @property
    def agent_ids_text(self) -> str:
        return " ".join(str(pk) for pk in self.agent_ids)

    @property
    def phase(self) -> str:
        """Ringing, Waiting for an agent, Connected, On hold... (`call_phase`)."""
        return call_phase(call=self.call, members=[m.member for m in self.members])

    @property
    def talk_since(self) -> datetime | None:
        """When the customer was connected, for the call's duration (none before)."""
        return talk_started_at(call=self.call, members=[m.member for m in self.members])

    @property
    def rows(self) -> tuple[MemberRow, ...]:
        """The people shown as rows: everyone on the call, and who left a moment ago (folded
        away after `calls.outcomes.LEFT_ROW_SECONDS`), as on the desktop. A queued caller's
        card does not fill up with the offers that were not taken."""
        at = timezone.now()
        return tuple(m for m in self.members if still_shown(m.member, at=at))

    @property
    def folded(self) -> FoldedLegs:
        """Who left the call, and the offers not taken, out of the rows or about to be."""
        return folded_legs(self.members, at=timezone.now())


@dataclass(frozen=True)
class AgentRow:
    agent: Agent
    call: Call | None
    call_title: str
    statuses: tuple[str, ...]

    @property
    def call_text(self) -> str:
        """What the row says of their call: ringing while their phone only rings (an offer,
        a transfer to them, or their own phone first on a call they place), on it after.
        From the call's members, read with it."""
        if self.call is None:
            return ""
        legs = [m for m in self.call.members.all() if m.agent_id == self.agent.pk and m.is_live]
        if legs and all(m.state == Member.State.DIALLING for m in legs):
            return f"Ringing: {self.call_title}"
        return f"On a call with {self.call_title}"

    @property
    def is_stuck(self) -> bool:
        """ "On a call" by status, on no live call by their legs (a callback lost, say)."""
        return self.agent.status == Status.ON_CALL and self.call is None

    @property
    def status_choices(self) -> list[tuple[str, str]]:
        return [(s, Status(s).label) for s in self.statuses]

    @property
    def order_key(self) -> str:
        """Where the row goes in its status group (longest in status first), as the page
        sorts it when a pushed row moves: microseconds since the epoch."""
        return str(int(self.agent.status_changed_at.timestamp() * 1_000_000))


@dataclass(frozen=True)
class StatusGroup:
    status: str
    label: str
    agents: tuple[AgentRow, ...]  # the first AGENTS_SHOWN of them, longest in status first
    total: int = 0

    @property
    def hidden(self) -> int:
        return max(0, self.total - len(self.agents))


@dataclass(frozen=True)
class Board:
    at: datetime
    groups: tuple[StatusGroup, ...]
    calls: tuple[CallRow, ...]  # the first CALLS_SHOWN live calls, oldest first
    figures: Figures
    next_wrap_up_end: datetime | None = None

    @property
    def calls_hidden(self) -> int:
        return max(0, self.figures.calls_in_progress - len(self.calls))

    @property
    def agent_count(self) -> int:
        return sum(len(g.agents) for g in self.groups)


def call_title(*, call: Call, members: list[Member]) -> str:
    """The customer's name (or number); for a call between agents, their names."""
    if call.customer_id and call.customer is not None:
        return call.customer.name
    for member in members:
        if member.role == Member.Role.CUSTOMER:
            return rules.member_label(member)
    names = [rules.member_label(m) for m in members if m.role != Member.Role.CUSTOMER]
    return " & ".join(dict.fromkeys(names)) or f"Call #{call.pk}"


def _member_since(member: Member) -> datetime:
    if member.state == Member.State.ON_HOLD and member.hold_started_at:
        return member.hold_started_at
    return member.state_changed_at


def call_row(*, call: Call) -> CallRow:
    """One live call as every supervisor sees it. `call` comes with its members prefetched
    (`calls.selectors.live_calls` / `call_with_members`): no queries."""
    members = list(call.members.all())
    target = rules.transfer_target_leg(call=call, members=members)
    rows = []
    for member in members:
        allowed = rules.member_actions(
            call=call, member=member, actor_agent=None, supervisor=True, members=members
        )
        rows.append(
            MemberRow(
                member=member,
                label=rules.member_label(member),
                since=_member_since(member),
                actions=tuple(k for k in MEMBER_ACTION_ORDER if k in allowed),
                is_transfer_target=target is not None and member.pk == target.pk,
                rings_an_offer=rules.rings_an_offer(call=call, member=member),
                waits_in_queue=(
                    call.queue_id is not None
                    and call.answered_at is None
                    and member.role == Member.Role.CUSTOMER
                    and member.state == Member.State.WAITING
                ),
                last_with=_last_with(member=member, members=members),
            )
        )
    join_refusal = rules.call_action_refusal(
        kind=rules.JOIN,
        call=call,
        members=members,
        actor_agent=_SOME_SUPERVISOR_AGENT,
        supervisor=True,
    )
    return CallRow(
        call=call,
        title=call_title(call=call, members=members),
        members=tuple(rows),
        transfer_text=rules.describe_transfer(call) if call.transfer_kind else "",
        can_join=join_refusal is None,
        agent_ids=tuple(sorted({m.agent_id for m in members if m.agent_id and m.is_live})),
    )


def _last_with(*, member: Member, members: list[Member]) -> str:
    """The customer `member` is the last one on the call with, nobody else on it or ringing
    (`calls.simulator.lifecycle`: a participant left alone is taken out), else ""."""
    if member.role == Member.Role.CUSTOMER or not member.is_live:
        return ""
    others = [m for m in members if m.is_live and m.pk != member.pk]
    customers = [m for m in others if m.role == Member.Role.CUSTOMER]
    if not customers or len(customers) != len(others):
        return ""
    return rules.member_label(customers[0])


def _calls_by_agent(calls: list[Call]) -> dict[int, Call]:
    on_call: dict[int, Call] = {}
    for call in calls:
        for member in call.members.all():
            if member.agent_id and member.is_live:
                on_call.setdefault(member.agent_id, call)
    return on_call


def _agent_row(*, agent: Agent, call: Call | None, titles: dict[int, str]) -> AgentRow:
    return AgentRow(
        agent=agent,
        call=call,
        call_title=titles[call.pk] if call else "",
        statuses=settable_statuses(agent=agent, on_live_leg=call is not None),
    )


def wallboard_agents(
    *, limit: int | None = None, totals: dict[str, int] | None = None
) -> tuple[StatusGroup, ...]:
    """Agents grouped by status, longest in their status first, each with the live call they
    are on; the first `limit` of each group when given, with the group's total from
    `totals` (agents by status, as the board's figures count them; counted here when not
    given). 3 queries, 4 when a limited board counts its own totals."""
    shown = call_selectors.agents_by_status(limit=limit)
    if totals is None:
        totals = agent_counts() if limit is not None else {s: len(a) for s, a in shown.items()}
    calls = _live_calls_of([a.pk for agents in shown.values() for a in agents])
    on_call = _calls_by_agent(calls)
    titles = {c.pk: call_title(call=c, members=list(c.members.all())) for c in calls}
    groups = []
    for status in STATUS_ORDER:
        rows = [
            _agent_row(agent=agent, call=on_call.get(agent.pk), titles=titles)
            for agent in shown.get(status, [])
        ]
        groups.append(
            StatusGroup(
                status=status,
                label=Status(status).label,
                agents=tuple(rows),
                # Never fewer than shown: an agent may change status between the two reads.
                total=max(totals.get(status, 0), len(rows)),
            )
        )
    return tuple(groups)


def _live_calls_of(agent_ids: list[int]) -> list[Call]:
    """Live calls in which any of these agents has a live leg, oldest first (the order
    `wallboard_agents` reads them in), with what a title needs. 2 queries."""
    leg = Member.objects.filter(
        call=OuterRef("pk"), agent_id__in=agent_ids, state__in=Member.LIVE_STATES
    )
    members = Member.objects.select_related("agent__user", "customer").order_by("created_at", "pk")
    return list(
        Call.objects.select_related("customer")
        .prefetch_related(Prefetch("members", queryset=members))
        .live()
        .filter(Exists(leg))
        .order_by("created_at", "pk")
    )


def agent_rows(*, agent_ids: Iterable[int]) -> list[AgentRow]:
    """The rows of these agents only, exactly as `wallboard_agents` draws them; agents that
    no longer exist are left out. 3 queries however many agents and calls there are (none
    for no ids)."""
    ids = sorted(set(agent_ids))
    if not ids:
        return []
    agents = list(
        Agent.objects.select_related("user").filter(pk__in=ids).order_by("status_changed_at", "pk")
    )
    if not agents:
        return []
    calls = _live_calls_of([a.pk for a in agents])
    on_call = _calls_by_agent(calls)
    titles = {c.pk: call_title(call=c, members=list(c.members.all())) for c in calls}
    return [_agent_row(agent=a, call=on_call.get(a.pk), titles=titles) for a in agents]


def next_wrap_up_end_at() -> datetime | None:
    """When the next wrap-up runs out, of every agent. 1 query."""
    return Agent.objects.filter(status=Status.WRAP_UP, wrap_up_until__isnull=False).aggregate(
        end=Min("wrap_up_until")
    )["end"]


def wallboard_board(*, at: datetime | None = None) -> Board:
    """What the wallboard shows: every figure, and the first CALLS_SHOWN live calls and
    AGENTS_SHOWN agents of each status, so a board costs the same with 50 calls or 5,000
    (nobody reads a thousand cards; the admin lists them all). 13 queries."""
    at = at or timezone.now()
    calls = call_selectors.live_calls(limit=calls_shown())
    figures = wallboard_figures(at=at)
    return Board(
        at=at,
        groups=wallboard_agents(limit=agents_shown(), totals=figures.agents_by_status),
        calls=tuple(call_row(call=c) for c in calls),
        figures=figures,
        next_wrap_up_end=next_wrap_up_end_at(),
    )


def calls_shown() -> int:
    """Live calls the board lists (at least one)."""
    return max(1, int(settings.WALLBOARD_CALLS_SHOWN))


def agents_shown() -> int:
    """Agents listed per status group (at least one)."""
    return max(1, int(settings.WALLBOARD_AGENTS_SHOWN))
