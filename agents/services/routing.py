"""Inbound routing: which agent takes an incoming call, asked by the PHLO "HTTP Request" node,
and who it goes to next when that agent does not take it.

The agent who has waited longest among those free to take a call (Available, or a wrap-up
that has run out) gets it. Choosing and reserving happen in one step that two concurrent
requests cannot both win: the candidate row is locked with SKIP LOCKED on PostgreSQL (so a
second request moves on to the next agent instead of waiting), and the reservation itself
is a conditional UPDATE that only succeeds while the agent is still free (SQLite serialises
writers, so the same UPDATE decides there).

The call and both legs are created before PHLO dials the agent, so the callbacks that follow
find them: the customer's leg by the inbound `call_uuid`, the agent's by address.

No caller is stranded. When the agent offered a call declines it, lets it ring out, cannot
be reached, or goes away while it rings, the caller (waiting on the call with wait music) is
offered to the next free agent who has waited longest and has not been offered this call
yet (`inbound_offer_next`, after the change commits; when that happened before the
provider told us the caller is on the call, as soon as it does). With nobody left, the
caller is put through to the no-agent outcome: the message, or voicemail
(INBOUND_NO_AGENT_OUTCOME). A
caller nobody was free for at routing time gets the same outcome from the PHLO flow's
no-agent branch, and the call is recorded. Housekeeping offers again any call whose caller
has waited with nobody ringing for a while (an offer PHLO refused, a lost callback).

Queues (`calls.models.Queue`). A caller reaches the queue that serves the number they
dialled, else the default queue; only that queue's agents are offered the call. When none of
them is free, the caller waits in the queue (the "queue" answer: the flow puts them on the
multiparty call, where they hear wait music) and is offered, in arrival order, to the first
of the queue's agents who becomes free (`offer_queued_callers`). An offer that is declined
or rings out goes to the next agent, and with nobody free the caller keeps their place.
Only a caller who has waited the queue's longest wait is given its exit (voicemail, or a
message and a hang-up); housekeeping's sweep of waiting callers gives it. With no queue at
all, routing is as it was: nobody free means the no-agent outcome at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from agents.availability import agents_by_longest_wait, routable_now
from agents.models import Agent
from calls.addresses import InvalidAddress, normalize_address
from calls.events import AgentChanged, AgentQueuesChanged, MemberChanged, announce
from calls.exits import MESSAGE, VOICEMAIL, exit_address
from calls.models import LONGEST_WAIT, Call, Customer, Member, Queue
from calls.phlo_client import PhloError
from calls.services.addressing import AddressShared, shared_leg
from calls.services.errors import InvalidInput, ServiceError
from calls.services.offers import CallBusy, Offer, call_offer
from calls.state import call_changed

logger = logging.getLogger(__name__)

AGENT = "agent"
NO_AGENT = "no_agent"
QUEUE = "queue"
# A caller waiting this long with nobody ringing is offered again by housekeeping.
STRANDED_AFTER = timedelta(seconds=15)
# A PHLO call uuid is a UUID; leave room for other providers' ids, within the column.
MAX_CALL_UUID = 64
# How many candidates to try when another request reserves them first.
ATTEMPTS = 5


@dataclass(frozen=True)
class RoutingDecision:
    result: str
    agent: Agent | None = None
    call: Call | None = None
    queue: Queue | None = None

    def as_json(self) -> dict:
        if self.result == QUEUE and self.call is not None and self.queue is not None:
            return {
                "result": QUEUE,
                "queue": self.queue.name,
                "wait_music_url": self.queue.wait_music_url,
                "call_id": self.call.pk,
            }
        if self.result != AGENT or self.agent is None or self.call is None:
            return {"result": NO_AGENT, "agent_endpoint": "", "outcome": no_agent_outcome()}
        return {
            "result": AGENT,
            "agent_endpoint": self.agent.endpoint,
            "agent": self.agent.user.get_username(),
            "call_id": self.call.pk,
            # A queue's caller hears its music while the agent rings, and waits on with it if
            # that agent does not take them ("": the flow's own music; no queue).
            "queue": self.queue.name if self.queue else "",
            "wait_music_url": self.queue.wait_music_url if self.queue else "",
        }


@dataclass(frozen=True)
class InboundRequest:
    call_uuid: str
    from_: str
    to: str


def inbound_request_parse(*, data: dict) -> InboundRequest:
    """Check the routing request's fields; InvalidInput says what is wrong."""

    def text(key: str) -> str:
        value = data.get(key, "")
        if isinstance(value, list):
            value = value[0] if len(value) == 1 else ""
        if not isinstance(value, str):
            raise InvalidInput(f"{key} must be a string.")
        return value.strip()

    call_uuid = text("call_uuid")
    if not call_uuid:
        raise InvalidInput("call_uuid is required.")
    # It is stored and looked up: no NUL (PostgreSQL refuses it), no unpaired surrogates.
    if (
        len(call_uuid) > MAX_CALL_UUID
        or not call_uuid.isprintable()
        or any(c.isspace() for c in call_uuid)
    ):
        raise InvalidInput(
            f"call_uuid must be at most {MAX_CALL_UUID} printable characters, no spaces."
        )
    direction = text("direction").lower()
    if direction and direction != "inbound":
        raise InvalidInput(f"direction must be 'inbound'; got {direction!r}.")
    try:
        from_ = normalize_address(text("from"))
    except InvalidAddress as exc:
        raise InvalidInput(f"from: {exc}") from exc
    to = text("to")
    if to:
        try:
            to = normalize_address(to)
        except InvalidAddress as exc:
            raise InvalidInput(f"to: {exc}") from exc
    return InboundRequest(call_uuid=call_uuid, from_=from_, to=to)


def _earlier_decision(*, call_uuid: str) -> RoutingDecision | None:
    """A retried request (the PHLO node timed out and asked again) gets the same answer."""
    leg = (
        Member.objects.select_related("call__owner__user", "call__queue")
        .filter(call_uuid=call_uuid, role=Member.Role.CUSTOMER)
        .first()
    )
    if leg is None:
        return None
    call = leg.call
    if call.direction != Call.Direction.INBOUND:
        return RoutingDecision(result=NO_AGENT)
    if call.queue is not None and call.status != Call.Status.FAILED:
        # Routed at once, the agent's leg was made with the call; queued, offers came later.
        routed = call.members.filter(role=Member.Role.AGENT, created_at=call.created_at)
        if not routed.exists():
            return RoutingDecision(result=QUEUE, call=call, queue=call.queue)
    if call.owner is None:
        return RoutingDecision(result=NO_AGENT)
    return RoutingDecision(result=AGENT, agent=call.owner, call=call, queue=call.queue)


def queue_for(*, dialled: str) -> Queue | None:
    """The queue that serves the number dialled, else the default queue, else None."""
    if dialled and (queue := Queue.objects.filter(number=dialled).first()):
        return queue
    return Queue.objects.filter(is_default=True).first()


def _reserve(
    *, at: datetime, exclude: Iterable[int] = (), queue: Queue | None = None
) -> Agent | None:
    """Lock and mark the longest-waiting free agent (not one in `exclude`; of `queue` when
    given) as on a call. Run inside a transaction."""
    candidates = agents_by_longest_wait(at=at).exclude(pk__in=list(exclude))
    if queue is not None:
        candidates = candidates.filter(queues=queue)
    reserved = {
        "status": Agent.Status.ON_CALL,
        "status_reason": "",
        "status_changed_at": at,
        "wrap_up_until": None,
    }
    locked = candidates.select_related("user").select_for_update(skip_locked=True, of=("self",))
    for _ in range(ATTEMPTS):
        candidate = locked.first()
        if candidate is None:
            return None
        if Agent.objects.filter(routable_now(at), pk=candidate.pk).update(**reserved):
            for name, value in reserved.items():
                setattr(candidate, name, value)
            return candidate
    return None


def inbound_route(*, request: InboundRequest, at: datetime | None = None) -> RoutingDecision:
    """Pick, reserve and connect an agent for an inbound call, or say nobody is free."""
    at = at or timezone.now()
    earlier = _earlier_decision(call_uuid=request.call_uuid)
    if earlier is not None:
        return earlier
    queue = queue_for(dialled=request.to)
    try:
        with transaction.atomic():
            agent = _reserve(at=at, queue=queue)
            if agent is None and queue is not None and not _number_in_use(request.from_):
                call = _queued(request=request, queue=queue, at=at)
                return RoutingDecision(result=QUEUE, call=call, queue=queue)
            if agent is None:
                _turned_away(request=request, at=at)
                return RoutingDecision(result=NO_AGENT)
            call = _caller_rings_in(request=request, at=at, queue=queue, owner=agent)
            Member.objects.create(
                call=call,
                address=agent.endpoint,
                role=Member.Role.AGENT,
                agent=agent,
                state=Member.State.DIALLING,
                created_at=at,
                state_changed_at=at,
            )
            announce(AgentChanged(agent_id=agent.pk, status=Agent.Status.ON_CALL))
            call_changed(call=call, at=at)
    except IntegrityError:
        # The same call_uuid routed twice at once: the other request's answer stands.
        earlier = _earlier_decision(call_uuid=request.call_uuid)
        if earlier is None:
            raise
        return earlier
    return RoutingDecision(result=AGENT, agent=agent, call=call, queue=queue)


def _number_in_use(number: str) -> bool:
    """Whether the caller's number is live in another call: a queued caller is later rung
    through to an agent by PHLO's API, which finds the call by that number and could pick
    the other call (calls.services.addressing). Such a caller is put straight through to a
    free agent by the flow, or, with none, given the no-agent branch rather than queued."""
    return shared_leg(addresses=[number], call_id=None) is not None


def _queued(*, request: InboundRequest, queue: Queue, at: datetime) -> Call:
    """A caller that none of the queue's agents is free for: the call and the caller's leg,
    with nobody offered yet. The flow puts the caller on the call with wait music; their
    join, or the first of the queue's agents to become free, brings the offer."""
    call = _caller_rings_in(request=request, at=at, queue=queue)
    call_changed(call=call, at=at)
    return call


def _caller_rings_in(
    *,
    request: InboundRequest,
    at: datetime,
    queue: Queue | None = None,
    owner: Agent | None = None,
    turned_away: bool = False,
) -> Call:
    """The inbound call and its caller's leg, made before PHLO acts so that the callbacks
    that follow find them (the leg by the inbound call_uuid). `turned_away`: nobody was free
    and there is no queue: the call is recorded as already over."""
    customer = Customer.objects.filter(phone=request.from_).first()
    ended = at if turned_away else None
    call = Call.objects.create(
        direction=Call.Direction.INBOUND,
        owner=owner,
        customer=customer,
        queue=queue,
        status=Call.Status.FAILED if turned_away else Call.Status.DIALLING,
        created_at=at,
        ended_at=ended,
    )
    Member.objects.create(
        call=call,
        address=request.from_,
        role=Member.Role.CUSTOMER,
        customer=customer,
        call_uuid=request.call_uuid,
        state=Member.State.LEFT if turned_away else Member.State.DIALLING,
        created_at=at,
        state_changed_at=at,
        left_at=ended,
    )
    return call


def _turned_away(*, request: InboundRequest, at: datetime) -> None:
    """Record a caller nobody was free for: the PHLO flow's no-agent branch answers them, and
    supervisors see the call (its outcome: no agent)."""
    call = _caller_rings_in(request=request, at=at, turned_away=True)
    call_changed(call=call, at=at)


# --- the next agent, when the one offered does not take the call -----------------------------


def no_agent_outcome() -> str:
    """What a caller nobody can take gets: "message" (a message, then the call ends) or
    "voicemail" (they leave one)."""
    outcome = settings.INBOUND_NO_AGENT_OUTCOME
    return VOICEMAIL if outcome == VOICEMAIL else MESSAGE


def _no_agent_offer(outcome: str | None = None) -> Offer | None:
    address = exit_address(outcome or no_agent_outcome())
    return Offer(address=address) if address else None


def inbound_offer_next(
    *, call_id: int, at: datetime | None = None, skip_if_busy: bool = False
) -> Member | None:
    """Offer the caller waiting on `call_id` to the free agent who has waited longest and has
    not been offered this call (of its queue, if it has one), or, with nobody left, to the
    no-agent outcome. A queued caller instead keeps waiting, until the queue's longest wait,
    and is then given the queue's exit. Returns the leg now ringing, or None (nobody waits,
    the caller keeps their place in the queue, or the outcome has been given already).
    `skip_if_busy`: raise CallBusy rather than wait for another transaction on the call."""
    when = at or timezone.now()

    def choose(call: Call) -> Offer | None:
        queue = call.queue
        if queue is None:
            # An agent whose phone never rang (PHLO refused the offer) may be offered again.
            rang = call.members.filter(agent__isnull=False).exclude(
                end_cause=Member.EndCause.NOT_DIALLED
            )
            offered = set(rang.values_list("agent_id", flat=True))
        else:
            # A queued caller goes round the queue's agents again while they wait.
            offered = set()
        agent = _reserve(at=when, exclude=offered, queue=queue)
        if agent is not None:
            announce(AgentChanged(agent_id=agent.pk, status=Agent.Status.ON_CALL))
            return Offer(address=agent.endpoint, agent=agent)
        if call.members.filter(role=Member.Role.NO_AGENT).exists():
            return None  # the no-agent outcome was given; the caller is on their own way
        if queue is None:
            return _no_agent_offer()
        if when < call.created_at + longest_wait(queue.max_wait_seconds):
            return None  # keeps their place: the next agent free is offered them
        return _no_agent_offer(queue.at_max_wait)

    return call_offer(call_id=call_id, choose=choose, skip_if_busy=skip_if_busy)


def offer_again_when_declined(event: MemberChanged) -> None:
    """Listens to `MemberChanged` (see `AgentsConfig.ready`): an agent's leg offered on an
    inbound call ended before it was answered, so after this change commits the caller is
    offered to the next agent. A leg PHLO never rang (its request failed) is left to
    housekeeping, so a PHLO outage does not run through every agent at once. A leg the
    provider cancelled is not offered on: it does that only as the call ends."""
    if event.role != Member.Role.AGENT or event.agent_id is None:
        return
    if event.previous != Member.State.DIALLING or event.state not in Member.TERMINAL_STATES:
        return
    if event.cause in (Member.EndCause.NOT_DIALLED, Member.EndCause.TAKEN_OUT):
        # Never rung, or cancelled by the provider: its call is ending (the caller hung up,
        # and that callback may come later), so nobody is offered a caller who has gone.
        return
    inbound = Call.objects.live().filter(
        pk=event.call_id,
        direction=Call.Direction.INBOUND,
        answered_at__isnull=True,
    )
    if inbound.exists():
        call_id = event.call_id
        transaction.on_commit(lambda: _offer_quietly(call_id=call_id))


def offer_when_the_caller_waits_alone(event: MemberChanged) -> None:
    """Listens to `MemberChanged`: an inbound caller now waits on the call (their join has
    arrived) with nobody on it or ringing, because the agent offered it declined, missed it
    or went away before the join did; the offer made then found no caller waiting. Offer
    the call now, after this change commits, rather than when housekeeping finds it."""
    if event.role != Member.Role.CUSTOMER or event.state != Member.State.WAITING:
        return
    legs = Member.objects.filter(call=OuterRef("pk"), state__in=Member.LIVE_STATES)
    others_live = legs.exclude(role=Member.Role.CUSTOMER)
    alone = (
        Call.objects.live()
        .filter(
            pk=event.call_id,
            direction=Call.Direction.INBOUND,
            answered_at__isnull=True,
        )
        .exclude(Exists(others_live))
    )
    if alone.exists():
        call_id = event.call_id
        transaction.on_commit(lambda: _offer_quietly(call_id=call_id))


def queued_callers() -> QuerySet[Call]:
    """Calls whose caller waits in a queue with nobody ringing for them, longest-waiting
    first.

    Written so that its cost grows with the live legs, whatever PostgreSQL's statistics say.
    They are read before a burst (autovacuum runs a minute apart) and see almost no live leg,
    so joins and a correlated NOT EXISTS were planned as a scan of every live leg for each
    waiting caller: 17-27 ms a read with a hundred waiting, at every press. As a NOT IN list
    of calls, the live legs are read once, and hashed (tests/test_burst_plans.py)."""
    # A live call always has its caller (it ends with them): it waits when every live leg
    # on it is a caller who waits.
    other_than_waiting = Member.objects.filter(state__in=Member.LIVE_STATES).exclude(
        role=Member.Role.CUSTOMER, state=Member.State.WAITING
    )
    return (
        Call.objects.live()
        .filter(direction=Call.Direction.INBOUND, answered_at__isnull=True, queue__isnull=False)
        .exclude(pk__in=other_than_waiting.values("call_id"))
        .order_by("created_at", "pk")
    )


def offer_queued_callers(event: AgentChanged) -> None:
    """Listens to `AgentChanged` (see `AgentsConfig.ready`): when an agent becomes Available,
    after the change commits, their queues' callers are offered, longest-waiting first, to
    the free agents who have waited longest, until nobody waits or nobody is free. Usually
    that is one offer, to them; but an agent may be free without having said so (a wrap-up
    that ran out with no desktop open to end it, an offer that failed), and one event then
    serves them too, so no agent stays idle while a caller waits."""
    if event.status != Agent.Status.AVAILABLE:
        return
    agent_id = event.agent_id
    transaction.on_commit(lambda: _offer_queued_quietly(agent_id=agent_id))


def offer_queued_callers_of_new_queues(event: AgentQueuesChanged) -> None:
    """Listens to `AgentQueuesChanged`: an agent put on a queue (in the admin) while free is
    offered its waiting callers at once, as if they had just become Available, rather than at
    the next housekeeping sweep. Nobody free: nothing happens, as for any other event."""
    agent_id = event.agent_id
    transaction.on_commit(lambda: _offer_queued_quietly(agent_id=agent_id))


# Offers one agent's becoming Available may bring about at most (a backstop: each offer
# takes a free agent, so the loop ends on its own well before).
MAX_OFFERS_PER_EVENT = 50


def _offer_queued_quietly(*, agent_id: int) -> None:
    theirs = queued_callers().filter(queue__agents=agent_id).values_list("pk", "queue_id")
    misses = 0
    # Callers another transaction held when tried: when several agents come free at once,
    # each goes on to the next caller instead of queueing behind the first one's offer.
    # Tried again after the next offer, so a caller held for another reason (a callback
    # being applied) loses at most that one turn.
    busy: list[int] = []
    for attempt in range(MAX_OFFERS_PER_EVENT):
        waiting = theirs.exclude(pk__in=busy).first() if busy else theirs.first()
        if waiting is None:
            return  # nobody waits (who is not being offered by another process)
        call_id, queue_id = waiting
        if attempt and not agents_by_longest_wait().filter(queues=queue_id).exists():
            # The usual end, after the offer to the agent who came on: one query to see
            # that nobody else is free, rather than an attempt that finds it out.
            return
        try:
            offered = inbound_offer_next(call_id=call_id, skip_if_busy=True) is not None
        except (CallBusy, AddressShared):
            # Held by another transaction, or the caller's number is live in another call
            # (calls.services.addressing): the next caller, and this one again later.
            busy.append(call_id)
            continue
        except (ServiceError, PhloError):
            logger.warning("could not offer queued call %s; housekeeping retries", call_id)
            return
        except Exception:
            logger.exception("could not offer queued call %s", call_id)
            return
        if offered:
            busy.clear()
        else:
            # Nobody free for it (or it stopped waiting meanwhile): once more, then stop.
            misses += 1
            if misses > 1:
                return


def _offer_quietly(*, call_id: int) -> None:
    # After the change that freed the caller has committed: a failure here must not undo it.
    try:
        inbound_offer_next(call_id=call_id)
    except (ServiceError, PhloError):
        logger.warning("could not offer call %s to the next agent; housekeeping retries", call_id)
    except Exception:
        logger.exception("could not offer call %s to the next agent", call_id)


def inbound_offers_stranded(*, at: datetime | None = None) -> int:
    """Offer again every inbound call whose caller has waited with nobody ringing for longer
    than STRANDED_AFTER (housekeeping). Returns how many got an offer.

    A queued caller is tried only when something can come of it: one of their queue's agents
    is free (a missed event), or their wait has reached the queue's longest. The others keep
    their place at no cost, so a sweep with hundreds waiting and nobody free reads nothing
    per caller (pinned by tests/desktop/test_queues.py)."""
    at = at or timezone.now()
    legs = Member.objects.filter(call=OuterRef("pk"))
    others_live = legs.filter(state__in=Member.LIVE_STATES).exclude(role=Member.Role.CUSTOMER)
    recent = legs.filter(state_changed_at__gt=at - STRANDED_AFTER)
    free_in = set(
        Agent.objects.filter(routable_now(at), user__is_active=True, queues__isnull=False)
        .values_list("queues", flat=True)
        .distinct()
    )
    actionable = Q(queue__isnull=True) | Q(queue__in=free_in) | _waited_longest(at=at)
    stranded = (
        Call.objects.live()
        .filter(
            actionable,
            direction=Call.Direction.INBOUND,
            answered_at__isnull=True,
            members__role=Member.Role.CUSTOMER,
            members__state=Member.State.WAITING,
        )
        .exclude(Exists(others_live))
        .exclude(Exists(recent))
        .order_by("created_at", "pk")  # a queue's callers in arrival order
        .values_list("pk", flat=True)
    )
    offered = 0
    for call_id in list(stranded[:STRANDED_BATCH]):
        try:
            offered += inbound_offer_next(call_id=call_id, at=at) is not None
        except (ServiceError, PhloError):
            logger.warning("housekeeping could not offer call %s", call_id)
    return offered


# Callers one sweep tries at most; the rest wait for the next one.
STRANDED_BATCH = 200


def longest_wait(seconds: int) -> timedelta:
    """A queue's longest wait. The form caps it at a day; a larger value stored another
    way is read as a day, so that one queue's setting cannot break every queue's exits."""
    return timedelta(seconds=min(seconds, LONGEST_WAIT))


def _waited_longest(*, at: datetime) -> Q:
    """Calls whose caller has waited their queue's longest wait by `at` (1 query, for the
    queues' limits; matches nothing when there is no queue)."""
    reached = Q(pk__in=[])
    for queue_id, seconds in Queue.objects.values_list("pk", "max_wait_seconds"):
        reached |= Q(queue_id=queue_id, created_at__lte=at - longest_wait(seconds))
    return reached


def queue_exits_due(*, at: datetime | None = None) -> int:
    """Give every queued caller whose wait has reached their queue's longest wait what comes
    next: a free agent of the queue if one has just come free, else the queue's exit
    (voicemail, or a message and a hang-up). Run every few seconds (from the desktops'
    heartbeats, `agents.consumers`), so the exit comes on time rather than at the next
    housekeeping sweep: 2 queries when nobody is due. Returns how many were given it."""
    at = at or timezone.now()
    due = (
        queued_callers()
        .filter(_waited_longest(at=at))
        .values_list("pk", flat=True)[:STRANDED_BATCH]
    )
    given = 0
    for call_id in list(due):
        try:
            given += inbound_offer_next(call_id=call_id, at=at) is not None
        except (ServiceError, PhloError):
            logger.warning("could not give queued call %s its exit; the next run retries", call_id)
    return given


def queue_exit_next_due() -> datetime | None:
    """When the next queued caller reaches their queue's longest wait (None: nobody waits).
    A queue's callers wait in arrival order, so its first caller is its next due: 1 query."""
    firsts = (
        queued_callers()
        .order_by()
        .values("queue_id", "queue__max_wait_seconds")
        .annotate(first=Min("created_at"))
    )
    return min(
        (row["first"] + longest_wait(row["queue__max_wait_seconds"]) for row in firsts),
        default=None,
    )
