"""Reads for the agent desktop: which calls an agent sees and how, customer cards.

Each function does a fixed, small number of queries, so a render costs the same whether an
agent has one call or five, and the publisher can build every agent's view of a call from
one fetch (`call_for_desktop`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Min, Prefetch, Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from agents.models import Agent
from agents.permissions import is_supervisor
from calls.addresses import display_address
from calls.models import Action, Call, CallTransfer, Customer, Member, Queue, WrapUp
from calls.outcomes import (
    Fold,
    FoldedLegs,
    call_phase,
    consultation_left,
    declined_on_the_handset,
    folded_legs,
    member_role_label,
    member_state_label,
    outcome_message,
    still_shown,
    talk_seconds,
    talk_started_at,
    transfer_fell_through,
)
from calls.selectors import calls_awaiting_wrap_up, pending_wrap_ups, wrap_up_window
from calls.services import rules
from contactcenter.compiled_reads import CompiledRead

Status = Agent.Status
Kind = Action.Kind

# Buttons appear in this order, whatever order the rules return them in.
CALL_ACTION_ORDER = (Kind.WARM_TRANSFER, Kind.COLD_TRANSFER, Kind.RESUME_CALL, Kind.ABORT_TRANSFER)
MEMBER_ACTION_ORDER = (Kind.HOLD, Kind.UNHOLD, Kind.VOICEMAIL_DROP, Kind.HANGUP)
HISTORY_LENGTH = 5


# --- Customers -------------------------------------------------------------------------------


def customer_search(*, query: str, limit: int = 8) -> list[Customer]:
    """Customers whose name or number contains the query (digits match however typed)."""
    query = (query or "").strip()
    if len(query) < 2:
        return []
    digits = "".join(c for c in query if c.isdigit())
    condition = Q(name__icontains=query)
    if len(digits) >= 3:
        condition |= Q(phone__contains=digits)
    return list(Customer.objects.filter(condition).order_by("name")[:limit])


def _history(*, customer_id: int, exclude_call_id: int = 0, limit: int) -> QuerySet[Call]:
    qs = (
        Call.objects.filter(customer_id=customer_id)
        .select_related("owner__user")
        .only(
            *("created_at", "direction", "status", "outcome", "disposition", "wrap_up_notes"),
            "owner",
            *_names("owner"),
        )
    )
    if exclude_call_id:
        qs = qs.exclude(pk=exclude_call_id)
    return qs.order_by("-created_at", "-pk")[:limit]


# Every push of a call with a customer reads this: compiled once, as it is a fixed shape.
_read_history_beside = CompiledRead(
    lambda *, customer_id, exclude_call_id: _history(
        customer_id=customer_id, exclude_call_id=exclude_call_id, limit=HISTORY_LENGTH
    ),
    names=("customer_id", "exclude_call_id"),
)


def customer_history(
    *, customer_id: int, exclude_call_id: int | None = None, limit: int = HISTORY_LENGTH
) -> list[Call]:
    """The customer's latest calls, newest first, with who took them and how they ended."""
    if exclude_call_id and limit == HISTORY_LENGTH:
        return _read_history_beside(
            customer_id=int(customer_id), exclude_call_id=int(exclude_call_id)
        )
    return list(
        _history(customer_id=customer_id, exclude_call_id=exclude_call_id or 0, limit=limit)
    )


# Other calls of one customer a push redraws at most: a customer is rarely on more than two.
BESIDE_AT_MOST = 10


def calls_beside(*, call_id: int) -> dict[int, list[int]]:
    """The other calls of this call's customer that desktops may show (in progress, or with a
    wrap-up still owed), each with every agent whose desktop may show it: their customer
    card's "Last calls" lists this call, so they are redrawn when it starts, ends or is
    wrapped up. 1 query when there are none, 2 otherwise."""
    on_desktops = Q(status__in=Call.LIVE_STATUSES) | Q(wrap_ups__done_at__isnull=True)
    beside = list(
        Call.objects.filter(on_desktops, customer__calls__pk=call_id)
        .exclude(pk=call_id)
        .values_list("pk", "owner_id")
        .distinct()
        .order_by("-pk")[:BESIDE_AT_MOST]
    )
    if not beside:
        return {}
    agents: dict[int, set[int]] = {pk: {owner} if owner else set() for pk, owner in beside}
    ids = list(agents)
    legs = Member.objects.filter(call_id__in=ids, agent__isnull=False).values_list(
        "call_id", "agent_id"
    )
    owed = WrapUp.objects.filter(call_id__in=ids, done_at__isnull=True).values_list(
        "call_id", "agent_id"
    )
    for pk, agent_id in legs.order_by().union(owed.order_by()):
        agents[pk].add(agent_id)
    return {pk: sorted(who) for pk, who in agents.items() if who}


# --- Queues ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    """An inbound queue as the desktops of its agents show it."""

    queue_id: int
    name: str
    waiting: int
    # When the longest current wait started (None when nobody waits).
    longest_wait_since: datetime | None


def queue_rows(*, agent_id: int | None = None, queue_id: int | None = None) -> list[QueueRow]:
    """The agent's queues (or one queue) with how many callers wait in each: one query,
    compiled once for each of the two (every desktop connect asks the agent's)."""
    if agent_id is not None and queue_id is None:
        rows = _read_queue_rows_of_agent(agent_id=int(agent_id))
    elif queue_id is not None and agent_id is None:
        rows = _read_queue_row(queue_id=int(queue_id))
    else:
        rows = _queue_rows(agent_id=agent_id, queue_id=queue_id)
    return [QueueRow(*row) for row in rows]


def _queue_rows(*, agent_id: int | None = None, queue_id: int | None = None) -> QuerySet:
    """(pk, name, callers waiting, when the longest wait began) rows, by name."""
    waiting = Q(
        calls__status__in=Call.LIVE_STATUSES,
        calls__direction=Call.Direction.INBOUND,
        calls__answered_at__isnull=True,
    )
    queues = Queue.objects.all()
    if agent_id is not None:
        queues = queues.filter(agents=agent_id)
    if queue_id is not None:
        queues = queues.filter(pk=queue_id)
    return (
        queues.values_list("pk", "name")
        .annotate(
            waiting=Count("calls", filter=waiting), since=Min("calls__created_at", filter=waiting)
        )
        .order_by("name")
    )


_read_queue_rows_of_agent = CompiledRead(
    lambda *, agent_id: _queue_rows(agent_id=agent_id), names=("agent_id",)
)
_read_queue_row = CompiledRead(
    lambda *, queue_id: _queue_rows(queue_id=queue_id), names=("queue_id",)
)


def agent_with_user(*, agent_id: int) -> Agent:
    """One agent with their user (Agent.DoesNotExist when gone): compiled once, as every
    desktop (re)connect reads it."""
    found = _read_agent_with_user(agent_id=int(agent_id))
    if not found:
        raise Agent.DoesNotExist(f"no agent {agent_id}")
    return found[0]


_read_agent_with_user = CompiledRead(
    lambda *, agent_id: Agent.objects.select_related("user").filter(pk=agent_id).order_by(),
    names=("agent_id",),
)


# --- Calls -----------------------------------------------------------------------------------


def _names(agent: str) -> list[str]:
    """What `Agent.display_name` reads, for `.only()` through `agent`."""
    return [f"{agent}__user__{f}" for f in ("username", "first_name", "last_name")]


def _own_fields(model) -> list[str]:
    return [f.name for f in model._meta.concrete_fields]


_CUSTOMER_CARD = ("name", "phone", "notes")


# What a desktop shows of a call's related rows, and of each member's: each user is three
# names, not ~11 columns with a password hash, and the pending action only its kind.
_CALL_RELATED = (
    "customer",
    "owner__user",
    "transfer_from__user",
    "transfer_to_agent__user",
    "pending_action",
    "queue",
)


def _call_fields() -> list[str]:
    return [
        *_own_fields(Call),
        "queue__name",
        *(f"customer__{f}" for f in _CUSTOMER_CARD),
        *_names("owner"),
        *_names("transfer_from"),
        *_names("transfer_to_agent"),
        "pending_action__kind",
    ]


def _member_fields() -> list[str]:
    return [
        *_own_fields(Member),
        *_names("agent"),
        # With the names, what a push needs of each agent on the call: whose supervisor
        # flag to take from the cache (`agents.profiles`), so it need not read them again.
        *("agent__endpoint", "agent__user__is_superuser", "agent__user__is_active"),
        *(f"customer__{f}" for f in _CUSTOMER_CARD),
    ]


def _call_queryset() -> QuerySet[Call]:
    members = (
        Member.objects.select_related("agent__user", "customer")
        .only(*_member_fields())
        # Unordered: readers sort a call's few members (`in_arrival_order`), cheaper than
        # compiling an ORDER BY.
        .order_by()
    )
    return (
        Call.objects.select_related(*_CALL_RELATED)
        .only(*_call_fields())
        .prefetch_related(Prefetch("members", queryset=members))
    )


def _members_with_the_call(*, call_id: int) -> QuerySet[Member]:
    return (
        Member.objects.filter(call_id=call_id)
        .select_related("agent__user", "customer", *(f"call__{r}" for r in _CALL_RELATED))
        .only(*_member_fields(), *(f"call__{f}" for f in _call_fields()))
        .order_by()
    )


# Every push and every button's answer reads a call this way: compiled once (~1 ms a read).
_read_members_with_the_call = CompiledRead(_members_with_the_call, names=("call_id",))


def _call_through_its_members(*, call_id: int) -> Call | None:
    """The call as `_call_queryset` gives it, read in one query from the side of its
    members (each row joins the call); None when it has no members yet."""
    rows = _read_members_with_the_call(call_id=int(call_id))
    if not rows:
        return None
    call = rows[0].call
    for member in rows:
        member.call = call  # one instance, as a prefetch would give
    # Stored as `prefetch_related` stores a prefetch, so that `call.members.all()` and
    # everything built on it read these rows without a query.
    members = call.members.all()
    members._result_cache = rows
    members._prefetch_done = True
    call._prefetched_objects_cache = {"members": members}
    return call


def _wrap_ups() -> Prefetch:
    return Prefetch("wrap_ups", queryset=pending_wrap_ups())


def _transfers_ended() -> Prefetch:
    """The transfers that ended, however: whom an agent handed the call over to (if their
    last transfer did), and a consultation the colleague left
    (`CallView.transfer_failed_text`)."""
    ended = CallTransfer.objects.exclude(outcome=CallTransfer.Outcome.IN_PROGRESS)
    return Prefetch("transfers", queryset=ended.select_related("to_agent__user"))


def _some_part_ended(call: Call) -> bool:
    """Whether anyone may owe a wrap-up for this call: it has ended, or an agent's leg has
    (a wrap-up is only owed once a part of the call is over)."""
    return not call.is_live or any(m.agent_id and not m.is_live for m in call.members.all())


def call_for_desktop(*, call_id: int) -> Call | None:
    """One call with everything any agent's view of it needs: one query (two for a call
    with no members yet), and two more once an agent's part of it has ended (who still owes
    its wrap-up, whom it was handed to)."""
    call = _call_through_its_members(call_id=call_id)
    if call is None:
        call = next(iter(_call_queryset().filter(pk=call_id).order_by()), None)
    if call is not None and _some_part_ended(call):
        prefetch_related_objects([call], _wrap_ups(), _transfers_ended())
    return call


def desktop_calls(*, agent: Agent, at: datetime | None = None) -> list[Call]:
    """The calls on an agent's desktop: live calls they own or have a live leg in, then the
    calls still waiting for their wrap-up (ended, or gone on without them), newest first.

    Two steps, as every reconnect runs this: the calls' keys by the agent's own indexes (one
    query, compiled once; an idle agent's desktop stops there), then the calls themselves by
    key (the push's read for one call, a wide read for more)."""
    at = at or timezone.now()
    ids = _read_desktop_call_ids(
        owner_id=agent.pk,
        member_agent_id=agent.pk,
        wrap_up_agent_id=agent.pk,
        since=at - wrap_up_window(),
    )
    if not ids:
        return []
    if len(ids) == 1:
        call = call_for_desktop(call_id=ids[0])
        calls = [call] if call is not None else []
    else:
        calls = list(
            _call_queryset().prefetch_related(_wrap_ups(), _transfers_ended()).filter(pk__in=ids)
        )

    # The agent's live calls first, oldest first; then the ones to wrap up, newest first:
    # the keyboard shortcuts act on the first card, the call just finished.
    def place(call: Call) -> tuple:
        stamp = call.created_at.timestamp()
        if _on_it(call=call, agent=agent):
            return (0, stamp, call.pk)
        return (1, -stamp, -call.pk)

    return sorted(calls, key=place)


def _desktop_call_ids(
    *, owner_id: int, member_agent_id: int, wrap_up_agent_id: int, since: datetime
) -> QuerySet:
    """Keys of the calls `desktop_calls` shows, each part by its own index (a call's owner,
    a member's agent, an agent's pending wrap-ups), so that no part scans every call."""
    owned = Call.objects.live().filter(owner_id=owner_id).values_list("pk")
    on_it = Member.objects.live_legs().filter(agent_id=member_agent_id).values_list("call_id")
    owed = calls_awaiting_wrap_up(agent_id=wrap_up_agent_id, since=since).values_list("pk")
    return owned.order_by().union(on_it.order_by(), owed.order_by()).values_list("pk", flat=True)


# Every desktop (re)connect and full render asks this: compiled once.
_read_desktop_call_ids = CompiledRead(
    _desktop_call_ids,
    names=("owner_id", "member_agent_id", "wrap_up_agent_id", "since"),
    instants=("since",),
)


def _on_it(*, call: Call, agent: Agent) -> bool:
    """A live call the agent has a live leg in, or owns and has not left (members
    prefetched): an owner who hung up while their cold transfer's target still rings wraps
    up their part, as `rules.may_act` no longer lets them act on it."""
    if not call.is_live:
        return False
    members = call.members.all()
    if any(m.agent_id == agent.pk and m.is_live for m in members):
        return True
    return call.owner_id == agent.pk and not rules.left_the_call(members=members, agent_id=agent.pk)


def _owed(*, call: Call, agent: Agent, at: datetime) -> WrapUp | None:
    """The wrap-up the agent still owes for this call, within the window (prefetched)."""
    owed = next(
        (w for w in call.wrap_ups.all() if w.agent_id == agent.pk and w.done_at is None), None
    )
    if owed is None or owed.created_at < at - wrap_up_window():
        return None
    return owed


def call_placement(*, call: Call, agent: Agent, at: datetime | None = None) -> str:
    """Where this call belongs on the agent's desktop: "live" (they own it or are on it),
    "wrap_up" (a disposition is owed: the call has ended, or their part of it has while it
    goes on with others), "ended" (an attempt that reached nobody, shown until dismissed) or
    "" (not shown). `call` must come from `call_for_desktop`."""
    at = at or timezone.now()
    if _on_it(call=call, agent=agent):
        return "live"
    if call.is_live and not _some_part_ended(call):
        return ""  # nobody's part has ended: nothing is owed yet (and nothing to fetch)
    owed = _owed(call=call, agent=agent, at=at)
    if owed is None:
        return ""
    return "wrap_up" if owed.disposition_required else "ended"


def _customer_leg(members: list[Member]) -> Member | None:
    return next((m for m in members if m.role == Member.Role.CUSTOMER), None)


def call_customer(*, call: Call) -> Customer | None:
    """The customer a call's card shows: the call's own, else its customer leg's.
    `call` must come from `call_for_desktop` (members prefetched)."""
    if call.customer_id:
        return call.customer
    leg = _customer_leg(call.members.in_arrival_order())
    return leg.customer if leg else None


@dataclass
class MemberView:
    """One person on the call: their latest leg, with their earlier legs folded behind it."""

    member: Member
    label: str
    is_me: bool
    actions: list[str]
    # Per-member timer: time in the current state (talking, on hold, ringing...).
    since: datetime
    earlier: list[Member] = field(default_factory=list)

    @property
    def gone(self) -> bool:
        return not self.member.is_live

    @property
    def role_label(self) -> str:
        return member_role_label(self.member)

    @property
    def state_label(self) -> str:
        return member_state_label(self.member)


@dataclass
class CallView:
    call: Call
    placement: str
    members: list[MemberView]
    actions: list[str]
    my_leg: Member | None
    ringing_for_me: bool
    offered_by: str
    customer: Customer | None
    customer_address: str
    history: list[Call] = field(default_factory=list)
    transfer_text: str = ""
    at: datetime | None = None
    # The agent's own part ended before the call did (they wrap it up at once), and whom
    # they transferred it to then ("" when they did not).
    part_ended: bool = False
    transferred_to: str = ""
    # Who ended the call from our side, when it was not this agent (a supervisor's Hang up).
    ended_by: str = ""
    # Whom the agent, who left, is still handing the call on to (their phone rings).
    handing_on_to: str = ""
    # Who hung up the agent's own leg from a desktop or the wallboard, when not the agent
    # (a supervisor took them off the call).
    taken_off_by: str = ""
    # The agent transferring the call to this one (`offered_by`) has left it.
    offered_by_left: bool = False
    # The viewer owns the call (at its end: the one who wraps up its conversation).
    owns_the_call: bool = False

    @property
    def is_live(self) -> bool:
        return self.placement == "live"

    @property
    def rows(self) -> list[MemberView]:
        """The people shown as rows: everyone on the call, and who left a moment ago (the
        page folds those away after `calls.outcomes.LEFT_ROW_SECONDS`). Once the agent's
        part is over: everyone who was on it, the offers and rings not taken folded away as
        they were while it was live (else the card grows as the call ends)."""
        if not self.is_live:
            return [m for m in self.members if not _ring_not_taken(m)]
        at = self.at or timezone.now()
        return [m for m in self.members if still_shown(m.member, at=at)]

    @property
    def folded(self) -> FoldedLegs:
        """Who left the call, and the offers not taken, out of the rows or about to be."""
        if not self.is_live:
            rings = tuple(Fold(row=m, soon=False) for m in self.members if _ring_not_taken(m))
            return FoldedLegs(left=(), not_answered=rings)
        return folded_legs(self.members, at=self.at or timezone.now())

    @property
    def phase(self) -> str:
        """The call as a whole, for its header (`calls.outcomes.call_phase`); for an agent
        whose part is over while it goes on, how their part ended."""
        if self.call.is_live and self.part_ended:
            return "Transferred" if self.transferred_to else "You left"
        if not self.is_live:
            return "Ended"
        return call_phase(call=self.call, members=self.call.members.in_arrival_order())

    @property
    def talk_since(self) -> datetime | None:
        """When the customer was connected, for the live call's duration (none before)."""
        if not self.is_live:
            return None
        return talk_started_at(call=self.call, members=self.call.members.in_arrival_order())

    @property
    def talked_seconds(self) -> int | None:
        """How long the customer talked with us, once the call has ended (for the agent's
        wrap-up); None for a call that never connected them."""
        # The admin's Duration, to the same second.
        return talk_seconds(call=self.call, members=self.call.members.in_arrival_order())

    @property
    def transfer_failed_text(self) -> str:
        """Why a transfer this agent's call just made did not go through, for a moment."""
        if not (self.is_live and self.my_leg and self.my_leg.answered_at) or self.transfer_text:
            return ""
        at = self.at or timezone.now()
        members = self.call.members.in_arrival_order()
        leg = transfer_fell_through(members=members, since=self.my_leg.answered_at, at=at)
        if leg is None:
            return self._consultation_left_text(members=members, at=at)
        who = next((m.label for m in self.members if m.member.pk == leg.pk), "The number")
        if leg.end_cause == Member.EndCause.HUNG_UP:
            # An Abort, or a Hang up on the ringing leg (perhaps a supervisor's).
            return f"The ring to {who} was stopped: the transfer did not go through."
        how = {
            Member.State.BUSY: "was busy",
            Member.State.NO_ANSWER: "did not answer",
            Member.State.FAILED: "could not be reached",
        }.get(leg.state, "declined")
        if declined_on_the_handset(leg):
            how = "declined"  # as their row says
        return f"{who} {how}: the transfer did not go through."

    def _consultation_left_text(self, *, members: Sequence[Member], at: datetime) -> str:
        """The colleague consulted in this agent's warm transfer left during it: without a
        word the card would just be Connected again, as after the agent's own Abort."""
        if not any(m.role == Member.Role.AGENT and not m.is_live for m in members):
            return ""  # nobody left: the transfers were not read (nor need to be)
        leg = consultation_left(
            members=members,
            transfers=list(self.call.transfers.all()),
            agent_id=self.my_leg.agent_id,
            at=at,
        )
        if leg is None or _aborted_by_the_agent(call=self.call, leg=leg):
            return ""
        who = next((m.label for m in self.members if m.member.pk == leg.pk), "The number")
        return (
            f"{who} left the consultation: the transfer did not go through, and"
            f" {self.title} is back with you."
        )

    @property
    def outcome_text(self) -> str:
        """How the call ended, once it has."""
        if self.is_live or self.call.is_live:
            return ""
        if self.ended_by and self.call.outcome == Call.Outcome.CANCELLED:
            return f"{self.ended_by} cancelled the call to {self.title} before it was answered."
        if self.ended_by:
            return f"{self.ended_by} ended the call with {self.title}."
        if self.call.outcome == Call.Outcome.TRANSFER_NOT_TAKEN and not self.owns_the_call:
            # Cut off after a later agent's transfer: theirs to call back, not this agent's.
            owner = self.call.owner.display_name if self.call.owner_id else "Its last agent"
            return (
                f"{self.title} was cut off later, when a transfer after yours was not taken."
                f" {owner} is asked to call them back."
            )
        if self.call.outcome == Call.Outcome.AGENT_UNREACHABLE and any(
            m.is_me and m.member.state == Member.State.BUSY for m in self.members
        ):
            # A phone's reject reaches us as busy: it did not ring unanswered.
            return f"Your phone declined the call (or was busy), so {self.title} was not called."
        return outcome_message(call=self.call, title=self.title)

    @property
    def part_text(self) -> str:
        """How the agent's own part ended, when it ended before the call did."""
        if not self.part_ended:
            return ""
        cut_off = self.call.outcome == Call.Outcome.TRANSFER_NOT_TAKEN
        if not self.call.is_live and cut_off and self.owns_the_call:
            return ""  # the outcome says it: cut off after you left
        if self.handing_on_to and self.call.is_live:
            return (
                f"You left while your transfer to {self.handing_on_to} rang: {self.title}"
                " waits on hold until it is answered."
            )
        if self.transferred_to:
            text = f"You transferred {self.title} to {self.transferred_to}."
        elif self.taken_off_by:
            text = f"{self.taken_off_by} took you off the call with {self.title}."
        else:
            text = f"You left the call with {self.title}."
        return f"{text} The call goes on without you." if self.call.is_live else text

    @property
    def ring_text(self) -> str:
        if self.offered_by and self.offered_by_left:
            # No briefing to expect: answering takes the customer at once.
            return (
                f"{self.title} waits on hold for you: {self.offered_by} transferred the call"
                " and left"
            )
        if self.offered_by:
            return f"{self.offered_by} is transferring a call with {self.title} to you"
        return f"Incoming call from {self.title}"

    @property
    def summary(self) -> str:
        """One sentence for screen readers when the call changes."""
        if self.placement == "wrap_up":
            return " ".join(filter(None, (self.outcome_text, self.part_text, "Add a disposition.")))
        if self.placement == "ended":
            return " ".join(filter(None, (self.outcome_text, self.part_text)))
        if self.ringing_for_me:
            return f"{self.ring_text}. Answer on your phone."
        live = [
            f"{m.label} {m.member.get_state_display().lower()}"
            for m in self.members
            if m.member.is_live
        ]
        return f"Call with {self.title}: {', '.join(live) or 'nobody connected'}."

    @property
    def title(self) -> str:
        if self.customer:
            return self.customer.name
        if self.customer_address:
            return display_address(self.customer_address)
        others = [m.label for m in self.members if not m.is_me]
        return ", ".join(others) if others else "Call"


def call_name(*, call: Call) -> str:
    """Whom a call was with, as its card's title names them for one line of text: the
    customer, else the number called or calling (one query then), never an internal id."""
    if call.customer_id and call.customer is not None:
        return call.customer.name
    leg = call.members.filter(role=Member.Role.CUSTOMER).order_by("pk").first()
    return display_address(leg.address) if leg else "the call"


def _ordered(kinds: set[str], order: tuple[str, ...]) -> list[str]:
    return [k for k in order if k in kinds]


def call_view(
    *,
    call: Call,
    agent: Agent,
    supervisor: bool | None = None,
    history: list[Call] | None = None,
    at: datetime | None = None,
) -> CallView | None:
    """An agent's view of one call: members with their legal actions, ringing, the customer
    card. None when the call is not on this agent's desktop."""
    at = at or timezone.now()
    placement = call_placement(call=call, agent=agent, at=at)
    if not placement:
        return None
    if supervisor is None:
        supervisor = is_supervisor(agent.user)
    members = call.members.in_arrival_order()
    live = placement == "live"
    actions = (
        rules.available_actions(
            call=call, members=members, actor_agent=agent, supervisor=supervisor
        )
        if live
        else {"call": set(), "members": {}}
    )
    my_leg = next((m for m in members if m.agent_id == agent.pk and m.is_live), None)
    offered = rules.is_offered_to(call=call, agent_id=agent.pk)
    ringing = bool(my_leg and my_leg.state == Member.State.DIALLING and offered)
    offered_by = ""
    offered_by_left = False
    if ringing and call.transfer_kind and call.transfer_from_id and call.transfer_from:
        offered_by = call.transfer_from.display_name
        offered_by_left = rules.left_the_call(members=members, agent_id=call.transfer_from_id)
    customer_leg = _customer_leg(members)
    customer = call_customer(call=call)
    if customer is not None and history is None:
        history = customer_history(customer_id=customer.pk, exclude_call_id=call.pk)
    member_views = [
        MemberView(
            member=latest,
            label="You" if latest.agent_id == agent.pk else rules.member_label(latest),
            is_me=latest.agent_id == agent.pk,
            actions=_ordered(actions["members"].get(latest.pk, set()), MEMBER_ACTION_ORDER),
            since=latest.state_changed_at,
            earlier=earlier,
        )
        for latest, earlier in _people(members)
    ]
    call_actions = _ordered(actions["call"], CALL_ACTION_ORDER)
    part_ended = not live and _part_ended_first(call=call, agent=agent, at=at)
    return CallView(
        call=call,
        placement=placement,
        members=member_views,
        actions=call_actions,
        my_leg=my_leg,
        ringing_for_me=ringing,
        offered_by=offered_by,
        offered_by_left=offered_by_left,
        owns_the_call=call.owner_id == agent.pk,
        customer=customer,
        customer_address=customer_leg.address if customer_leg else "",
        history=history or [],
        transfer_text=(
            rules.describe_transfer(call, viewer_id=agent.pk) if call.transfer_kind else ""
        ),
        at=at,
        part_ended=part_ended,
        transferred_to=_transferred_to(call=call, agent=agent) if part_ended else "",
        ended_by=_ended_by_another(call=call, agent=agent) if not live else "",
        handing_on_to=_handing_on_to(call=call, agent=agent) if part_ended else "",
        taken_off_by=_taken_off_by(call=call, agent=agent) if part_ended else "",
    )


def _handing_on_to(*, call: Call, agent: Agent) -> str:
    """Whom the agent's transfer, still in progress after they left, rings."""
    if not call.is_live or not call.transfer_kind or call.transfer_from_id != agent.pk:
        return ""
    if call.transfer_to_agent_id:
        return call.transfer_to_agent.display_name
    return display_address(call.transfer_to_address)


def _aborted_by_the_agent(*, call: Call, leg: Member) -> bool:
    """Whether the consulted colleague's leg ended by the transferring agent's Abort (one
    query, only for a leg hung up from a desktop as a consultation ended)."""
    if leg.end_cause != Member.EndCause.HUNG_UP:
        return False  # from the colleague's handset
    return Action.objects.filter(
        call=call,
        kind=Kind.ABORT_TRANSFER,
        outcome=Action.Outcome.SUCCEEDED,
        created_at__lte=leg.left_at,
        created_at__gte=leg.answered_at,
    ).exists()


def _ring_not_taken(row: MemberView) -> bool:
    """A colleague's offer or a transfer's ring that ended unanswered (not the viewer's): one
    still ringing stays a row, also on the card of an agent whose part is over."""
    leg = row.member
    return (
        leg.role == Member.Role.AGENT
        and leg.answered_at is None
        and not leg.is_live
        and not row.is_me
    )


def _ended_by_another(*, call: Call, agent: Agent) -> str:
    """Who pressed the Hang up that ended the call on our side, or cancelled it before it
    was answered, when not this agent: the outcome alone ("ended on our side", "Cancelled
    before … answered") reads to the agent as if they had. The leg that ended it is the last
    one on the call to be hung up from a desktop or the wallboard (answered, unless the call
    was cancelled); a declined or withdrawn ring never is. One query, only for a call that
    ended so."""
    cancelled = call.outcome == Call.Outcome.CANCELLED
    if call.is_live or not (cancelled or call.outcome == Call.Outcome.AGENT_HUNG_UP):
        return ""
    hung_up = [
        m
        for m in call.members.in_arrival_order()
        if m.end_cause == Member.EndCause.HUNG_UP and (m.answered_at or cancelled) and m.left_at
    ]
    if not hung_up:
        return ""  # from a handset: nobody pressed anything
    return _hung_up_by_another(leg=max(hung_up, key=lambda m: m.left_at), agent=agent)


def _taken_off_by(*, call: Call, agent: Agent) -> str:
    """Who hung up the agent's own leg from a desktop or the wallboard, when not the agent:
    "You left the call" would read as if they had. One query, only when the agent's part
    ended while the call went on and their leg was hung up so."""
    mine = [
        m
        for m in call.members.in_arrival_order()
        if m.agent_id == agent.pk and m.end_cause == Member.EndCause.HUNG_UP and m.answered_at
    ]
    if not mine:
        return ""
    return _hung_up_by_another(leg=max(mine, key=lambda m: m.left_at or m.created_at), agent=agent)


def _hung_up_by_another(*, leg: Member, agent: Agent) -> str:
    """The name of whoever pressed the Hang up that ended `leg`, when not `agent` (1 query)."""
    pressed = (
        Action.objects.filter(member=leg, kind=Kind.HANGUP, outcome=Action.Outcome.SUCCEEDED)
        .select_related("actor")
        .order_by("-created_at", "-pk")
        .first()
    )
    if pressed is None or pressed.actor is None or pressed.actor_id == agent.user_id:
        return ""
    return pressed.actor.get_full_name() or pressed.actor.get_username()


def _part_ended_first(*, call: Call, agent: Agent, at: datetime) -> bool:
    """Whether what the agent owes was recorded before the call ended: their part of it was
    over while it went on (an owner at the end owes from the moment it ended)."""
    owed = _owed(call=call, agent=agent, at=at)
    return owed is not None and (call.ended_at is None or owed.created_at < call.ended_at)


def _transferred_to(*, call: Call, agent: Agent) -> str:
    """Who took the call over from the agent with the last transfer they made, when it
    completed (prefetched): an earlier one they made before the call came back to them does
    not say how this part ended."""
    theirs = [t for t in call.transfers.all() if t.from_agent_id == agent.pk]
    if not theirs or theirs[-1].outcome != CallTransfer.Outcome.COMPLETED:
        return ""
    last = theirs[-1]
    return last.to_agent.display_name if last.to_agent_id else display_address(last.to_address)


def _person(member: Member) -> tuple:
    if member.agent_id:
        return ("agent", member.agent_id)
    if member.customer_id:
        return ("customer", member.customer_id)
    return ("address", member.address)


def _people(members: list[Member]) -> list[tuple[Member, list[Member]]]:
    """(latest leg, earlier legs) per person, in the order each person first joined: the
    same agent consulted twice is one row, not three."""
    legs: dict[tuple, list[Member]] = {}
    for member in members:  # oldest first
        legs.setdefault(_person(member), []).append(member)
    people = []
    for person_legs in legs.values():
        live = [m for m in person_legs if m.is_live]
        latest = live[-1] if live else person_legs[-1]
        people.append((latest, [m for m in person_legs if m is not latest]))
    return people
