"""The state rules of calls and members, shared by our actions and the provider's callbacks.

Both paths change state only through these functions, so the rules live in one place. They
follow the multiparty call's own (docs/simulator.md, "Call lifecycle"), whatever the provider
sends, so a call always ends the way a contact center expects:

- Terminal member states stay terminal: a late "enter" never revives a member who left (it
  only records that they had answered), and a late "busy", "no answer" or "failed" for a
  leg we took out unanswered only says how its dial ended; both refine how the call ended.
  An end that reached us before such facts is retold by them: the call counts as answered,
  its owner owes a wrap-up, and the agents settle again (`CallEndRetold`).
- A `call` rings the agent first: the number dialled is `pending` until an agent is on the
  call. A customer who is on the call before any agent is `waiting` (wait music).
- The call ends when no customer is left: everyone else is taken out in the same step. Once
  it has started nobody stays alone on it with nobody on the way. An outbound call whose
  agent never answered ends without dialling the number.
- When an agent's part of a call ends, what they owe is recorded (`WrapUp`) at once, even
  while the call goes on with others: a disposition for the customer conversation they
  handled, or just the outcome to see.
- Every change bumps the call's version and is announced (`calls.events`): listeners such as
  presence act in the same transaction, and the live pages are pushed after commit.

Callers hold the call's row lock (see `lock_call`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from calls.events import (
    CallChanged,
    CallEndRetold,
    CustomerCutOff,
    MemberChanged,
    QueueChanged,
    announce,
)
from calls.models import Call, CallTransfer, Member, WrapUp
from calls.outcomes import UNREACHED, call_outcome

State = Member.State
Role = Member.Role
Cause = Member.EndCause
ANSWERED = (State.WAITING, State.TALKING, State.ON_HOLD, State.VOICEMAIL)
# How a dial that never connected ended, as only the provider can tell.
UNREACHED_STATES = (State.BUSY, State.NO_ANSWER, State.FAILED)
AGENT_ROLES = (Role.AGENT, Role.SUPERVISOR)
# Legs that start the call when they enter (PHLO dials them with role "agent").
STARTS_CALL = (*AGENT_ROLES, Role.NO_AGENT)


def lock_call(*, call_id: int, with_queue: bool = False, skip_locked: bool = False) -> Call:
    """Fetch a call with its row locked until the transaction ends (no-op lock on SQLite,
    whose IMMEDIATE transactions already serialise writers). `with_queue`: its queue read in
    the same query (the queue's row is not locked). `skip_locked`: rather than wait for
    another transaction that holds the row, raise Call.DoesNotExist at once."""
    if with_queue:
        calls = Call.objects.select_related("queue").select_for_update(
            of=("self",), skip_locked=skip_locked
        )
    else:
        calls = Call.objects.select_for_update(skip_locked=skip_locked)
    return calls.get(pk=call_id)


def member_set_state(
    *,
    member: Member,
    state: str,
    at: datetime | None = None,
    event_at: datetime | None = None,
    sequence: int | None = None,
    cause: str = "",
) -> bool:
    """Move a member to `state` (`cause`: why a leg that ends ended). Returns False, changing
    nothing, when the move is not allowed: the member is already terminal, or the event is
    older than the newest one applied (by the provider's `sequence` when both have one, else
    by its timestamp `event_at`)."""
    at = at or timezone.now()
    if member.is_terminal:
        if state in ANSWERED and member.answered_at is None:
            # It answered before we took it out (or before the call's end reached us first):
            # a fact, kept; the member stays gone.
            member.answered_at = at
            member.save(update_fields=["answered_at"])
        elif state in UNREACHED_STATES and _taken_out_unanswered(member):
            # We took it out before hearing how its dial ended (busy, no answer, failed):
            # the provider's word on that is kept, and tells how the call ended.
            member.state = state
            member.end_cause = cause
            member.save(update_fields=["state", "end_cause"])
        return False
    if is_older(member=member, event_at=event_at, sequence=sequence):
        return False
    if state == member.state:
        if event_at or sequence is not None:
            _seen(member, event_at=event_at, sequence=sequence)
            member.save(update_fields=["last_event_at", "last_sequence"])
        return False
    if state in ANSWERED and member.answered_at is None:
        member.answered_at = at
    if state == State.ON_HOLD:
        member.hold_started_at = at
    elif member.state == State.ON_HOLD:
        member.hold_started_at = None
    if state in Member.TERMINAL_STATES:
        member.left_at = at
        member.end_cause = cause
    previous = member.state
    member.state = state
    member.state_changed_at = at
    _seen(member, event_at=event_at, sequence=sequence)
    member.save()
    announce(
        MemberChanged(
            call_id=member.call_id,
            member_id=member.pk,
            role=member.role,
            agent_id=member.agent_id,
            previous=previous,
            state=state,
            cause=member.end_cause,
            at=at,
        )
    )
    return True


def is_older(*, member: Member, event_at: datetime | None, sequence: int | None) -> bool:
    """Whether an event happened before the newest one applied to `member`. The provider's
    sequence orders events that share a timestamp (one step of the call), so it wins."""
    if sequence is not None and member.last_sequence is not None:
        return sequence < member.last_sequence
    return bool(event_at and member.last_event_at and event_at < member.last_event_at)


def _seen(member: Member, *, event_at: datetime | None, sequence: int | None) -> None:
    if event_at:
        member.last_event_at = max(event_at, member.last_event_at or event_at)
    if sequence is not None:
        member.last_sequence = max(sequence, member.last_sequence or 0)


def _taken_out_unanswered(member: Member) -> bool:
    # NOT_DIALLED too: an end that reached us before the agent's answer took the number out as
    # never dialled, and the provider's word that its dial ended says it was.
    return (
        member.state == State.LEFT
        and member.end_cause in (Cause.TAKEN_OUT, Cause.NOT_DIALLED)
        and member.answered_at is None
    )


def entering_state(*, call: Call, member: Member, machine: bool) -> str:
    """The state a leg that enters the call takes: a customer before any agent waits (with
    wait music); anyone else, and everyone once an agent is there, talks."""
    if machine:
        return State.VOICEMAIL
    if member.role == Role.CUSTOMER and not _agent_on_call(call.members.in_arrival_order()):
        return State.WAITING
    return State.TALKING


def _agent_on_call(members: Iterable[Member]) -> bool:
    return any(m.role in STARTS_CALL and m.state in (State.TALKING, State.ON_HOLD) for m in members)


def call_changed(
    *,
    call: Call,
    at: datetime | None = None,
    extra_agent_ids: Iterable[int] = (),
    members: Sequence[Member] | None = None,
    legs_came_or_went: bool = True,
) -> None:
    """Apply the lifecycle rules, bring the call's own status in line with its members, bump
    its version and announce it (`CallChanged`): agents on it then follow it (presence
    listens), and the pages hear.

    `call` is the row the caller locked (`lock_call`) in this transaction. `members`: all the
    call's members, when the caller already holds them and none changed behind its back
    (saves reading them again); read here when None. `legs_came_or_went=False`: the caller's
    own change moved a leg between two live states (a hold); if the rules here end no leg
    either, nobody's presence has anything to follow and it is not asked to.

    A call becomes active when a member first talks and ends when no member is live.
    """
    at = at or timezone.now()
    members = call.members.in_arrival_order() if members is None else list(members)
    before = (call.is_live, call.owner_id, {m.pk for m in members if m.is_live})
    # A queued caller who had not been answered: who waits in their queue may change.
    was_waiting = call.queue_id is not None and call.is_live and call.answered_at is None
    retold = False
    if call.is_live:
        _follow_the_lifecycle(call=call, members=members, at=at)
        live = [m for m in members if m.is_live]
        if any(m.state in (State.TALKING, State.ON_HOLD) for m in members):
            if call.status == Call.Status.DIALLING:
                call.status = Call.Status.ACTIVE
            call.answered_at = call.answered_at or at
            _caller_waited(call, until=call.answered_at)
        if members and not live:
            call.status = Call.Status.COMPLETED if call.answered_at else Call.Status.FAILED
            call.ended_at = at
            call.pending_action = None
            _transfer_ends(call=call, outcome=CallTransfer.Outcome.FAILED, at=at)
            _clear_transfer(call)
            call.outcome = call_outcome(call=call, members=members)
            _caller_waited(call, until=at)
            _owner_part_ends(call=call, members=members, at=at)
            # A leg's answer that reached us after its exit while the call went on.
            retold = _retell_the_end(call=call, members=members, at=at)
            _owner_told_of_a_cut_off(call=call, at=at)
    elif members:
        # A late callback may tell more of how it ended (that someone had answered, how a
        # dial ended): whatever it changed, the agents settle on it again.
        told_before = call.outcome
        _retell_the_end(call=call, members=members, at=at)
        if call.outcome != told_before:
            _owner_told_of_a_cut_off(call=call, at=at)
        retold = True
    # The row is locked and saved whole from `call`, so its version is the row's: bump it
    # here rather than read it back after an F() update.
    call.version += 1
    call.save()
    agent_ids = {m.agent_id for m in members if m.agent_id} | set(extra_agent_ids)
    if call.owner_id:
        agent_ids.add(call.owner_id)
    if retold:
        announce(CallEndRetold(call_id=call.pk, agent_ids=frozenset(agent_ids), at=at))
    after = (call.is_live, call.owner_id, {m.pk for m in members if m.is_live})
    if was_waiting:
        announce(QueueChanged(queue_id=call.queue_id))
    announce(
        CallChanged(
            call_id=call.pk,
            version=call.version,
            agent_ids=frozenset(agent_ids),
            at=at,
            legs_came_or_went=legs_came_or_went or before != after,
        )
    )


def call_details_changed(*, call: Call, fields: Iterable[str]) -> None:
    """Save a change to the call's own details (its notes) that moves no leg and not its
    course: no lifecycle rule has anything to do, and nobody's presence follows. Its version
    is bumped all the same, so a page never takes an older copy over it, and the pages of
    everyone on it (or who was) redraw it. `call` is the row the caller locked."""
    call.version += 1
    call.save(update_fields=[*fields, "version"])
    agent_ids = set(call.members.exclude(agent=None).values_list("agent_id", flat=True))
    if call.owner_id:
        agent_ids.add(call.owner_id)
    announce(
        CallChanged(
            call_id=call.pk,
            version=call.version,
            agent_ids=frozenset(agent_ids),
            legs_came_or_went=False,
        )
    )


def _caller_waited(call: Call, *, until: datetime) -> None:
    """An inbound caller's wait ends when an agent answers, or with the call: the queue's
    service level, speed of answer and abandoned figures are summed from it."""
    if call.direction == Call.Direction.INBOUND and call.waited_seconds is None:
        waited = max(0.0, (until - call.created_at).total_seconds())
        call.waited_seconds = int(waited)
        call.waited_ms = round(waited * 1000)


def _retell_the_end(*, call: Call, members: Sequence[Member], at: datetime) -> bool:
    """A callback older than the call's end that arrives after it (the provider reorders them)
    may say that a leg had answered: the call then ends as it would have in order. It was
    answered, an inbound call is owned by the agent who took it, a transfer cut short
    had completed, and the owner owes what they would have owed. A wrap-up already done is
    never reopened. True when the story changed."""
    before = (call.answered_at, call.owner_id, call.outcome)
    started = [m for m in members if m.role in STARTS_CALL and m.answered_at]
    if call.answered_at is None and started:
        first = min(m.answered_at for m in started)
        call.answered_at = min(first, call.ended_at) if call.ended_at else first
        if call.status == Call.Status.FAILED:
            call.status = Call.Status.COMPLETED
        for member in members:
            if member.end_cause == Cause.NOT_DIALLED:
                # An agent was on the call, so the number was dialled after all.
                member.end_cause = Cause.TAKEN_OUT
                member.save(update_fields=["end_cause"])
    _transfer_retold(call=call, members=members, at=at)
    if call.owner_id is None and call.direction == Call.Direction.INBOUND:
        takers = sorted(
            (m for m in members if m.role == Role.AGENT and m.agent_id and m.answered_at),
            key=lambda m: (m.answered_at, m.pk),
        )
        if takers:
            call.owner_id = takers[0].agent_id
    call.outcome = call_outcome(call=call, members=members)
    if (call.answered_at, call.owner_id, call.outcome) == before:
        return False
    if call.owner_id is not None:
        _owner_owes_again(call=call, members=members, at=at)
    return True


def _owner_owes_again(*, call: Call, members: Sequence[Member], at: datetime) -> None:
    """What the owner owes, now that the call's story changed: a wrap-up if none is recorded,
    a disposition if only the outcome was asked for and they turn out to have reached the
    customer. One already done stays done."""
    owed = WrapUp.objects.filter(call=call, agent_id=call.owner_id).order_by("-created_at").first()
    if owed is None:
        _owner_part_ends(call=call, members=members, at=at)
    elif owed.done_at is None and not owed.disposition_required:
        answered = any(m.agent_id == call.owner_id and m.answered_at for m in members)
        if answered and call.outcome not in UNREACHED:
            owed.disposition_required = True
            owed.save(update_fields=["disposition_required"])


def _owner_told_of_a_cut_off(*, call: Call, at: datetime) -> None:
    """The customer the owner had handed on was cut off after they left: nobody took the
    transfer. They could not know it when they wrapped up their part (its card gone, maybe
    on their next call): they owe the call a wrap-up again, whose card tells them to call
    the customer back; presence gives them their after-call time from now."""
    if call.outcome != Call.Outcome.TRANSFER_NOT_TAKEN or call.owner_id is None:
        return
    owed = WrapUp.objects.filter(call=call, agent_id=call.owner_id, done_at__isnull=True)
    if not owed.exists():
        WrapUp.objects.create(
            call=call, agent_id=call.owner_id, created_at=at, disposition_required=True
        )
    announce(CustomerCutOff(call_id=call.pk, agent_id=call.owner_id, at=at))


def _transfer_retold(*, call: Call, members: Sequence[Member], at: datetime) -> None:
    """A transfer that the call's end cut short had completed: the target owns the call, as
    `on_member_answered` would have made them."""
    transfer = transfer_cut_short_had_completed(call=call, members=members)
    if transfer is not None:
        transfer.outcome = CallTransfer.Outcome.COMPLETED
        transfer.save(update_fields=["outcome"])
        _hand_over(call=call, to_agent_id=transfer.to_agent_id, at=at)


def transfer_cut_short_had_completed(
    *, call: Call, members: Sequence[Member]
) -> CallTransfer | None:
    """The call's last transfer, recorded failed because the call's end cut it short, when
    what reached us since shows it had completed: its target answered it, and it was a cold
    one, or a warm one whose first agent had left the call before it ended (whenever the
    target answered, the call was theirs then). None otherwise."""
    if not any(m.agent_id and m.agent_id != call.owner_id and m.answered_at for m in members):
        return None  # no other agent answered: no transfer to retell
    # Only the call's last transfer can have been cut short by its end: one declined or
    # rung out earlier stays failed.
    transfer = call.transfers.order_by("-started_at", "-pk").first()
    if (
        transfer is None
        or transfer.outcome != CallTransfer.Outcome.FAILED
        or transfer.to_agent_id is None
    ):
        return None
    if transfer.kind == Call.TransferKind.WARM:
        if not _left_before_the_end(agent_id=transfer.from_agent_id, members=members):
            return None  # they were still consulting when the call ended: nothing handed on
    elif transfer.kind != Call.TransferKind.COLD:
        return None
    # The target's answer to this transfer, not a leg of theirs from before it (the agent
    # who first had the call, transferred back to them).
    answered = any(
        m.address == transfer.to_address
        and m.agent_id == transfer.to_agent_id
        and m.answered_at
        and m.answered_at >= transfer.started_at
        for m in members
    )
    return transfer if answered else None


def _left_before_the_end(*, agent_id: int | None, members: Sequence[Member]) -> bool:
    """Whether the agent's legs all left the call before its customers did: by the
    provider's order where it numbers exits, else by their own exit reaching us before the
    end took them out."""
    theirs = [m for m in members if agent_id is not None and m.agent_id == agent_id]
    ends = [m.exit_sequence for m in members if m.role == Role.CUSTOMER and m.exit_sequence]
    if not theirs:
        return False
    if ends and all(m.exit_sequence is not None for m in theirs):
        return all(m.exit_sequence < min(ends) for m in theirs)
    return all(m.left_at is not None and m.end_cause != Cause.TAKEN_OUT for m in theirs)


def _take_out(members: Iterable[Member], *, at: datetime, cause: str) -> None:
    for member in members:
        if member.is_live:
            member_set_state(member=member, state=State.LEFT, at=at, cause=cause)


def _follow_the_lifecycle(*, call: Call, members: Sequence[Member], at: datetime) -> None:
    """The multiparty call's rules (see the module's docstring), applied to `members` in place."""
    if _agent_on_call(members):
        for member in members:
            if member.state == State.PENDING:
                member_set_state(member=member, state=State.DIALLING, at=at)
            elif member.state == State.WAITING:
                member_set_state(member=member, state=State.TALKING, at=at)
    live = [m for m in members if m.is_live]
    pending = [m for m in live if m.state == State.PENDING]
    agent_coming = any(m.role in STARTS_CALL and m not in pending for m in live)
    if call.direction == Call.Direction.OUTBOUND and call.answered_at is None and not agent_coming:
        # The agent never got on the call: the number is never rung, or rings for nobody.
        _take_out(pending, at=at, cause=Cause.NOT_DIALLED)
        _take_out(live, at=at, cause=Cause.TAKEN_OUT)
        return
    customers = [m for m in members if m.role == Role.CUSTOMER]
    if customers and not any(m.is_live for m in customers):
        _take_out(live, at=at, cause=Cause.TAKEN_OUT)  # no customer left: the call is over
        return
    if call.answered_at is None and not _agent_on_call(members):
        return  # not started: a caller waiting for the next agent is not alone
    on_call = [m for m in live if m.is_on_call]
    ringing = [m for m in live if not m.is_on_call]
    if not on_call:
        _take_out(ringing, at=at, cause=Cause.TAKEN_OUT)  # nobody left to connect them to
    elif len(on_call) == 1 and not ringing and call.answered_at is not None:
        _take_out(on_call, at=at, cause=Cause.TAKEN_OUT)  # alone, with nobody on the way


# --- transfers --------------------------------------------------------------------------------


def _clear_transfer(call: Call) -> None:
    call.transfer_kind = Call.TransferKind.NONE
    call.transfer_from = None
    call.transfer_to_address = ""
    call.transfer_to_agent = None
    call.transfer_started_at = None


def transfer_begin(
    *, call: Call, kind: str, from_agent_id: int | None, to_address: str, to_agent, at: datetime
) -> None:
    """A transfer starts (the caller saves the call via `call_changed`)."""
    call.transfer_kind = kind
    call.transfer_from_id = from_agent_id
    call.transfer_to_address = to_address
    call.transfer_to_agent = to_agent
    call.transfer_started_at = at
    CallTransfer.objects.create(
        call=call,
        kind=kind,
        from_agent_id=from_agent_id,
        to_address=to_address,
        to_agent=to_agent,
        started_at=at,
    )


def _transfer_ends(*, call: Call, outcome: str, at: datetime) -> None:
    if call.transfer_kind:
        CallTransfer.objects.filter(call=call, ended_at__isnull=True).update(
            ended_at=at, outcome=outcome
        )


def transfer_clear(*, call: Call, outcome: str = "", at: datetime | None = None) -> None:
    """Forget the transfer in progress, recording how it ended (the caller saves the call via
    `call_changed`)."""
    if outcome:
        _transfer_ends(call=call, outcome=outcome, at=at or timezone.now())
    _clear_transfer(call)


def _customers_back_to_talking(*, call: Call, at: datetime) -> None:
    for customer in call.members.filter(role=Role.CUSTOMER, state=State.ON_HOLD):
        member_set_state(member=customer, state=State.TALKING, at=at)


def _is_transfer_target(call: Call, member: Member) -> bool:
    return bool(call.transfer_kind) and member.address == call.transfer_to_address


def on_member_answered(*, call: Call, member: Member, at: datetime) -> None:
    """Transfer rules when a leg is answered. A cold transfer completes when its target answers:
    the customer comes off hold talking to the target, who now owns the call (the provider
    disconnects the first agent and tells us with an exit). So does a warm transfer whose
    first agent left while the target rang. Else a warm transfer's target answering changes
    nothing: the agents consult while the customer stays on hold."""
    if not call.transfer_kind or not _is_transfer_target(call, member):
        return
    if call.transfer_kind == Call.TransferKind.COLD or not _transferring_agent_on(call):
        _customers_back_to_talking(call=call, at=at)
        if member.agent_id:
            _hand_over(call=call, to_agent_id=member.agent_id, at=at)
        transfer_clear(call=call, outcome=CallTransfer.Outcome.COMPLETED, at=at)


def _transferring_agent_on(call: Call) -> bool:
    return call.members.filter(
        agent_id=call.transfer_from_id, state__in=Member.LIVE_STATES
    ).exists()


def on_member_gone(*, call: Call, member: Member, at: datetime) -> None:
    """Rules when a leg ends, so a transfer or a hand-over leaves the call consistent.

    - The target of any transfer is gone (busy, no answer, failed, hung up, aborted): the
      customer comes off hold and stays with the first agent.
    - The agent who started a warm transfer leaves during it: the customer comes off hold with
      the target, who now owns the call. If the target's phone still rings, the transfer goes
      on as a cold one would: the customer waits on hold, the target takes the call when they
      answer (`on_member_answered`), and if they do not the customer is alone and the call
      ends (cut off, transfer not taken).
    - The owner leaves a call that goes on with another agent and the customer: that agent
      owns it now (a warm transfer completed by the first agent leaving).
    - The owner leaves while the customer is still on the call with nobody to take it over
      (with a supervisor who barged in, or waiting for a cold transfer's target): their part
      is over, and they wrap it up now rather than when the call ends.
    - An agent offered an inbound call that has not started ends their leg unanswered
      (declined, rang out, unreachable): the call is no longer theirs, and leaves their
      desktop; routing offers it to the next agent (`agents.services.routing`).
    """
    if (
        call.direction == Call.Direction.INBOUND
        and member.agent_id is not None
        and member.agent_id == call.owner_id
        and member.answered_at is None
        and call.answered_at is None
    ):
        if member.end_cause != Cause.TAKEN_OUT:
            call.owner_id = None
        # Else the provider cancelled the ring because the caller left (their exit may come
        # after): the offer stays theirs, as when the caller's exit comes first, so the
        # call ends the same in either order.
        return
    if call.transfer_kind and _is_transfer_target(call, member):
        _customers_back_to_talking(call=call, at=at)
        outcome = (
            CallTransfer.Outcome.ABORTED if member.answered_at else CallTransfer.Outcome.FAILED
        )
        transfer_clear(call=call, outcome=outcome, at=at)
    elif (
        call.transfer_kind == Call.TransferKind.WARM
        and member.role == Role.AGENT
        and member.agent_id is not None
        and member.agent_id == call.transfer_from_id
    ):
        target = call.members.filter(
            address=call.transfer_to_address, state__in=Member.LIVE_STATES
        ).first()
        if target is None or target.answered_at is not None:
            if target is not None and target.agent_id:
                _hand_over(call=call, to_agent_id=target.agent_id, at=at)
            _customers_back_to_talking(call=call, at=at)
            outcome = CallTransfer.Outcome.COMPLETED if target else CallTransfer.Outcome.FAILED
            transfer_clear(call=call, outcome=outcome, at=at)
    elif (
        member.agent_id is not None and member.agent_id == call.owner_id and not call.transfer_kind
    ):
        successor = (
            call.members.filter(
                role=Role.AGENT, agent__isnull=False, state__in=(State.TALKING, State.ON_HOLD)
            )
            .exclude(agent_id=member.agent_id)
            .order_by("answered_at", "pk")
            .first()
        )
        if successor is not None and _customer_on(call):
            _hand_over(call=call, to_agent_id=successor.agent_id, at=at)
    if member.agent_id and member.agent_id == call.owner_id and member.answered_at:
        _owner_leaves(call=call, member=member, at=at)
    if member.agent_id and member.agent_id != call.owner_id and member.answered_at:
        _consult_ends(call=call, member=member, at=at)


def _customer_on(call: Call) -> bool:
    return call.members.filter(
        role=Role.CUSTOMER, state__in=(State.TALKING, State.ON_HOLD)
    ).exists()


def customers_hold(*, call: Call, at: datetime) -> None:
    """Put the call's talking customers on hold (a transfer starting; PHLO sends no event)."""
    for customer in call.members.filter(role=Role.CUSTOMER, state=State.TALKING):
        member_set_state(member=customer, state=State.ON_HOLD, at=at)


def customers_unhold(*, call: Call, at: datetime) -> None:
    """Bring the call's held customers back to talking (a transfer resumed or aborted)."""
    _customers_back_to_talking(call=call, at=at)


# --- what an agent owes after their part ------------------------------------------------------


def _hand_over(*, call: Call, to_agent_id: int, at: datetime) -> None:
    """Another agent owns the customer conversation now; the previous owner wraps up their
    part of it."""
    previous = call.owner_id
    if previous == to_agent_id:
        return
    call.owner_id = to_agent_id
    if previous is not None:
        _owe(call=call, agent_id=previous, at=at)


def _owner_leaves(*, call: Call, member: Member, at: datetime) -> None:
    """The owner, who talked with the customer, has left a call the customer is still on:
    they owe a disposition for their part now (presence puts them in wrap-up)."""
    if _customer_on(call):
        _owe(call=call, agent_id=member.agent_id, at=at)


def _consult_ends(*, call: Call, member: Member, at: datetime) -> None:
    """A consulted agent who talked leaves: straight back to their status, unless the
    contact center wants a wrap-up for consults too (AGENT_WRAP_UP_AFTER_CONSULT)."""
    if member.role == Role.AGENT and settings.AGENT_WRAP_UP_AFTER_CONSULT:
        _owe(call=call, agent_id=member.agent_id, at=at)


def _owner_part_ends(*, call: Call, members: Sequence[Member], at: datetime) -> None:
    """The call has ended: its owner wraps up the conversation they handled, or sees how an
    attempt that reached nobody ended. An inbound call its owner never answered (declined,
    missed, abandoned while ringing) asks them for nothing."""
    if call.owner_id is None:
        return
    answered = any(m.agent_id == call.owner_id and m.answered_at for m in members)
    if call.direction == Call.Direction.INBOUND and not answered:
        return
    reached = answered and call.outcome not in UNREACHED
    _owe(call=call, agent_id=call.owner_id, at=at, required=reached)


def _owe(*, call: Call, agent_id: int, at: datetime, required: bool = True) -> None:
    """Record what an agent owes for their part of the call, once per part: an agent who
    wrapped up an earlier part and then came back on the call (it was transferred back to
    them) owes again, in a row of its own, so the earlier disposition is kept."""
    theirs = WrapUp.objects.filter(call=call, agent_id=agent_id)
    owed = theirs.filter(done_at__isnull=True).first()
    if owed is not None:
        # Still owed for an earlier part (its wrap-up time ended without a disposition) and
        # the agent has talked on the call again since: this part is owed now, so presence
        # puts them in wrap-up for it as for any other.
        talked_since = call.members.filter(agent_id=agent_id, answered_at__gt=owed.created_at)
        if talked_since.exists():
            owed.created_at = at
            owed.disposition_required = owed.disposition_required or required
            owed.save(update_fields=["created_at", "disposition_required"])
        return
    done = theirs.order_by("-done_at", "-pk").first()
    talked_again = (
        done is not None
        and call.members.filter(agent_id=agent_id, answered_at__gt=done.done_at).exists()
    )
    if done is None or talked_again:
        WrapUp.objects.create(
            call=call, agent_id=agent_id, created_at=at, disposition_required=required
        )
