"""Store and apply the provider's callbacks (the dj-stripe pattern).

1. Store first, in its own committed write, keyed by a hash of the parameters. A redelivery
   (same parameters, new nonce) hits the unique key: it is counted and has no second effect.
2. Apply in a second transaction, holding the call's row, and record the outcome with it
   where none is recorded yet (so a second delivery applying at the same time rolls back):
   applied, ignored (with a note), unmatched, or, when applying raises, failed with the
   error, kept for the provider's retry or `callback_replay`.

Applying goes through `calls.state` only. Terminal member states are sticky and events older
than the member's newest are dropped (by the Multiparty Call SequenceNumber when there is one,
else by the provider's timestamp), so callbacks that arrive twice or out of order converge on
the true state. Each leg's exit keeps its place in the provider's order even when it arrives
after the leg was taken out, so who left first, and so how the call ended, is the provider's.
"""

import hashlib
import logging
import traceback
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from agents.models import Agent
from calls.models import Action, Call, CallbackEvent, Customer, Member
from calls.outcomes import call_outcome
from calls.selectors import members_in_arrival_order
from calls.services.errors import (
    DatabaseUnavailable,
    InvalidState,
    NotFound,
    is_database_unavailable,
)
from calls.services.rules import is_offered_to
from calls.state import (
    UNREACHED_STATES,
    call_changed,
    entering_state,
    is_older,
    lock_call,
    member_set_state,
    on_member_answered,
    on_member_gone,
    transfer_cut_short_had_completed,
)
from calls.webhooks.bodies import Params, canonical_text, flatten_params
from calls.webhooks.notices import CallbackNotice, NoticeKind, normalise

logger = logging.getLogger(__name__)

Outcome = CallbackEvent.Outcome
State = Member.State

# A stored callback in one of these states has had no effect yet: a redelivery applies it.
RETRYABLE = (Outcome.RECEIVED, Outcome.FAILED)
# An operator may also replay one that matched no call (it had no effect either).
REPLAYABLE = (*RETRYABLE, Outcome.UNMATCHED)
_ERROR_LIMIT = 8000
# Multiparty Call events about the whole conference: they name no leg.
CONFERENCE_EVENTS = ("MPCInitialized", "MPCStart", "MPCEnd")


class CallbackApplyFailed(Exception):
    """Applying raised; the callback is kept with outcome `failed` and the error (or still
    `received` when the database went away: both are applied by a redelivery).
    `database_unavailable`: the cause was the database, not the callback."""

    def __init__(self, *, event_id: int, database_unavailable: bool = False) -> None:
        super().__init__(f"callback #{event_id} could not be applied")
        self.event_id = event_id
        self.database_unavailable = database_unavailable


class CallbackNotStored(DatabaseUnavailable):
    """The database could not store the callback: nothing was kept, the provider must send
    it again (a 503 makes it retry)."""


@dataclass(frozen=True)
class ReceivedCallback:
    event: CallbackEvent
    duplicate: bool


@dataclass(frozen=True)
class _Result:
    outcome: str
    note: str = ""
    call: Call | None = None
    member: Member | None = None


# --- public API --------------------------------------------------------------------------------


def callback_dedupe_key(*, params: Params) -> str:
    return hashlib.sha256(canonical_text(params).encode()).hexdigest()


def callback_receive(*, params: Params, stored_params: Any, content_type: str) -> ReceivedCallback:
    """Store a verified callback, then apply it unless an earlier delivery already did.

    `params` are the flat signed parameters; `stored_params` what the provider sent (the
    decoded JSON object for a JSON body). Raises MalformedCallback (nothing stored) when no
    event can be read, CallbackNotStored when the database could not store it, and
    CallbackApplyFailed (callback kept) when applying raises.
    """
    notice = normalise(params)
    try:
        event, created = callback_store(
            params=params, stored_params=stored_params, notice=notice, content_type=content_type
        )
    except Exception as exc:
        if not is_database_unavailable(exc):
            raise
        logger.warning("callback not stored, the database is unavailable: %s", exc)
        raise CallbackNotStored(
            "The database is not answering, so this callback was not stored; send it again."
        ) from exc
    if created or event.outcome in RETRYABLE:
        # A redelivery has the same params (they are its key), so the same notice.
        event = _apply(event_id=event.pk, allowed=RETRYABLE, event=event, notice=notice)
    return ReceivedCallback(event=event, duplicate=not created)


def callback_store(
    *, params: Params, stored_params: Any, notice: CallbackNotice, content_type: str
) -> tuple[CallbackEvent, bool]:
    """(event, created). A duplicate bumps `deliveries` on the stored one instead."""
    key = callback_dedupe_key(params=params)
    row = CallbackEvent(
        dedupe_key=key,
        vocabulary=notice.vocabulary,
        event=notice.event[:64],
        params=stored_params,
        content_type=content_type[:100],
        sequence=notice.sequence,
    )
    try:
        if transaction.get_connection().in_atomic_block:
            # Inside a test's block; in anyone else's transaction `durable` raises.
            with transaction.atomic(durable=True):
                row.save(force_insert=True)
        else:
            # Autocommit: the INSERT commits on its own, one round trip instead of three
            # (BEGIN, INSERT, COMMIT).
            row.save(force_insert=True)
        return row, True
    except IntegrityError:
        # A redelivery, or the same callback racing in on another worker.
        updated = CallbackEvent.objects.filter(dedupe_key=key).update(
            deliveries=F("deliveries") + 1
        )
        if not updated:
            raise
        return CallbackEvent.objects.get(dedupe_key=key), False


def callback_apply(*, event_id: int) -> CallbackEvent:
    """Apply a stored callback that has had no effect yet; others are returned unchanged."""
    return _apply(event_id=event_id, allowed=RETRYABLE)


def callback_replay(*, event_id: int) -> CallbackEvent:
    """For operators: apply again a callback that failed, was never applied, or matched no call.

    Raises NotFound, InvalidState (it already had its effect), or CallbackApplyFailed.
    Call it outside any transaction: applying commits on its own (durable).
    """
    event = CallbackEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise NotFound(f"There is no callback #{event_id}.")
    if event.outcome not in REPLAYABLE:
        raise InvalidState(
            f"Callback #{event_id} was already {event.get_outcome_display().lower()};"
            " replaying it could apply it twice."
        )
    # If another delivery applied it meanwhile, that result is returned unchanged.
    return _apply(event_id=event_id, allowed=REPLAYABLE)


# --- applying ----------------------------------------------------------------------------------


class _AppliedElsewhere(Exception):
    """Another delivery of the callback recorded its outcome first: this apply rolls back."""


def _apply(
    *,
    event_id: int,
    allowed: tuple[str, ...],
    event: CallbackEvent | None = None,
    notice: CallbackNotice | None = None,
) -> CallbackEvent:
    """Apply a stored callback. `event` and `notice`: the row and its event as
    `callback_receive` just stored and read them; otherwise (a replay, the sweeper) both are
    read again.

    Two deliveries of one callback may apply it at once. Each holds the call's row while
    applying, so they run one after the other, and the outcome is recorded only where the
    callback still has none (`_record`): the second finds it recorded and rolls back, so the
    callback has its effect once. This costs no query of its own (it used to lock the
    callback's row first)."""
    try:
        with transaction.atomic(durable=True):
            if event is None:
                event = CallbackEvent.objects.get(pk=event_id)
            if event.outcome not in allowed:
                return event
            result = _apply_locked(event=event, notice=notice)
            _record(event=event, result=result, allowed=allowed)
    except _AppliedElsewhere:
        return CallbackEvent.objects.get(pk=event_id)
    except Exception as exc:
        logger.exception("callback #%s could not be applied", event_id)
        try:
            _mark_failed(event_id=event_id, exc=exc)
        except Exception:
            # The database went away: it stays `received`, which a redelivery applies too.
            logger.exception("callback #%s: its failure could not be recorded", event_id)
        raise CallbackApplyFailed(
            event_id=event_id, database_unavailable=is_database_unavailable(exc)
        ) from exc
    logger.info("callback #%s %s: %s", event.pk, event.event, event.outcome)
    return event


def _record(*, event: CallbackEvent, result: _Result, allowed: tuple[str, ...]) -> None:
    """Record the outcome, unless another delivery recorded one first (`_AppliedElsewhere`)."""
    fields = {
        "outcome": result.outcome,
        "note": result.note[:255],
        "call": result.call,
        "member": result.member,
        "error": "",
        "processed_at": timezone.now(),
    }
    if not CallbackEvent.objects.filter(pk=event.pk, outcome__in=allowed).update(**fields):
        raise _AppliedElsewhere
    for name, value in fields.items():
        setattr(event, name, value)


def _mark_failed(*, event_id: int, exc: BaseException) -> None:
    """Only a callback that has had no effect yet: a failed second delivery of one that
    another has applied leaves it applied."""
    text = "".join(traceback.format_exception(exc))[-_ERROR_LIMIT:]
    CallbackEvent.objects.filter(pk=event_id, outcome__in=REPLAYABLE).update(
        outcome=Outcome.FAILED, error=text, processed_at=timezone.now()
    )


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def _apply_locked(*, event: CallbackEvent, notice: CallbackNotice | None) -> _Result:
    if notice is None:
        notice = normalise(flatten_params(event.params))
    if notice.kind == NoticeKind.UNKNOWN:
        # Kept for the timeline, linked to its call when it names one; nothing is bound.
        call_id, _ = _find_call(notice=notice)
        call = Call.objects.filter(pk=call_id).first() if call_id else None
        member = None
        if notice.call_uuid:
            member = Member.objects.filter(call_uuid=notice.call_uuid).first()
        return _Result(Outcome.IGNORED, notice.note, call, member)

    call, by_conference = _lock_found_call(notice=notice)
    if call is None:
        return _Result(Outcome.UNMATCHED, _join(notice.note, _unmatched_note(notice)))
    # Read once under the lock: the member is found among them, and a plain move hands
    # them on to `call_changed`.
    members = members_in_arrival_order(call=call)
    member = (
        _member_in_call(members=members, notice=notice, by_conference=by_conference)
        if notice.has_participant
        else None
    )
    conference_bound_now = _bind_call(call=call, notice=notice)
    if member is not None:
        _bind_member(member=member, notice=notice)
    result = _apply_to_call(call=call, members=members, member=member, notice=notice)
    if conference_bound_now:
        _adopt_early_conference_events(call=call)
    return result


def _apply_to_call(
    *, call: Call, members: list[Member], member: Member | None, notice: CallbackNotice
) -> _Result:
    if notice.kind == NoticeKind.INFO:
        return _Result(Outcome.IGNORED, _join(notice.note, "no state change"), call, member)
    if notice.kind == NoticeKind.END:
        return _end_call(call=call, member=member, notice=notice)
    if member is None:
        member = _adopt_leg(call=call, notice=notice)
    if member is None:
        note = f"call #{call.pk} has no member for this leg ({notice.address or 'no address'})"
        return _Result(Outcome.UNMATCHED, _join(notice.note, note), call)
    return _move_member(call=call, members=members, member=member, notice=notice)


def _adopt_leg(*, call: Call, notice: CallbackNotice) -> Member | None:
    """A leg the provider put into this live conference without our knowing: an action
    whose answer timed out, or one taken outside this app. The callback names the
    conference, so the leg is this call's: add it rather than lose its state."""
    if not (call.is_live and call.conference_uuid and notice.address):
        return None
    if notice.conference_uuid != call.conference_uuid:
        return None
    if call.members.filter(address=notice.address, state__in=Member.LIVE_STATES).exists():
        return None  # one live leg per address; this event is about another leg
    agent = Agent.objects.filter(endpoint=notice.address).first()
    customer = None if agent else Customer.objects.filter(phone=notice.address).first()
    member = Member.objects.create(
        call=call,
        address=notice.address,
        role=Member.Role.AGENT if agent else Member.Role.CUSTOMER,
        agent=agent,
        customer=customer,
    )
    _bind_member(member=member, notice=notice)
    return member


def _unmatched_note(notice: CallbackNotice) -> str:
    return (
        "no call has this leg"
        f" (call_uuid {notice.call_uuid or '-'}, conference {notice.conference_uuid or '-'},"
        f" address {notice.address or '-'})"
    )


def _lock_found_call(*, notice: CallbackNotice) -> tuple[Call | None, bool]:
    """`_find_call`'s call, locked (`lock_call`). The usual case, a leg already bound, is
    found and locked in one query: a member never changes call."""
    if notice.call_uuid:
        bound = Call.objects.select_for_update(of=("self",)).filter(
            members__call_uuid=notice.call_uuid
        )
        # By key, not `.first()`: its ORDER BY is costly to compile (see `in_arrival_order`).
        if call := next(iter(bound.order_by()[:1]), None):
            return call, False
    call_id, by_conference = _find_call(notice=notice, by_leg=False)
    if call_id is None:
        return None, False
    return lock_call(call_id=call_id), by_conference


def _find_call(*, notice: CallbackNotice, by_leg: bool = True) -> tuple[int | None, bool]:
    """(call id, found by conference uuid), read without locks; re-checked under the lock.

    1. the member already bound to this leg's call_uuid;
    2. the call already bound to this conference uuid;
    3. the oldest live call with a live, unbound member at this address (our services create
       the call and its dialling members before asking PHLO), whose conference is not bound
       to another uuid.
    """
    leg_calls = Member.objects.filter(call_uuid=notice.call_uuid).values_list("call_id", flat=True)
    if by_leg and notice.call_uuid and (found := leg_calls.first()):
        return found, False
    by_conference = Call.objects.filter(conference_uuid=notice.conference_uuid)
    if notice.conference_uuid and (found := by_conference.values_list("pk", flat=True).first()):
        return found, True
    if notice.address:
        calls = Call.objects.filter(
            status__in=Call.LIVE_STATUSES,
            members__address=notice.address,
            members__state__in=Member.LIVE_STATES,
            members__call_uuid="",
        )
        if notice.conference_uuid:
            calls = calls.filter(conference_uuid="")
        found = calls.order_by("created_at", "pk").values_list("pk", flat=True).first()
        if found:
            return found, False
    return None, False


def _member_in_call(
    *, members: list[Member], notice: CallbackNotice, by_conference: bool
) -> Member | None:
    if notice.call_uuid:
        bound = next((m for m in members if m.call_uuid == notice.call_uuid), None)
        if bound:
            return bound
    if not notice.address:
        return None
    unbound = sorted(
        (m for m in members if m.address == notice.address and m.call_uuid == ""),
        key=lambda m: (m.created_at, m.pk),
    )
    live = next((m for m in unbound if m.state in Member.LIVE_STATES), None)
    if live and notice.member_state == State.LEFT:
        # A leg we ended ourselves (hung up, declined) before the provider ever named it
        # has its exit on the way; the same phone, rung again meanwhile, is a newer leg.
        # The exit is the older one's (it then learns its ids, so the next is the newer's).
        ours = next(
            (m for m in unbound if m.created_at <= live.created_at and _ended_by_us(m)), None
        )
        if ours is not None:
            return ours
    if live or not by_conference:
        return live
    # The conference is certainly this call: a leg our own action already ended (hung up
    # before any callback named it) still gets its ids and the event on its timeline.
    return unbound[-1] if unbound else None


def _ended_by_us(member: Member) -> bool:
    return member.is_terminal and member.end_cause in (
        Member.EndCause.HUNG_UP,
        Member.EndCause.DECLINED,
    )


# What a callback may teach a row: (field, value, longest stored, unique across the table).
_Ids = tuple[tuple[str, str, int | None, bool], ...]


def _bind_call(*, call: Call, notice: CallbackNotice) -> bool:
    """Learn the conference's uuid and name; True when the uuid was bound just now."""
    learned = _learn_ids(
        call,
        ids=(
            ("conference_uuid", notice.conference_uuid, None, True),
            ("conference_name", notice.conference_name, 200, False),
        ),
    )
    return "conference_uuid" in learned


def _bind_member(*, member: Member, notice: CallbackNotice) -> None:
    _learn_ids(
        member,
        ids=(("call_uuid", notice.call_uuid, 64, True), ("member_id", notice.member_id, 64, False)),
    )


def _learn_ids(row: Call | Member, *, ids: _Ids) -> list[str]:
    """Set each id the row does not know yet (a unique one only when no other row holds it)
    and save them in one UPDATE; the fields learned."""
    learned = []
    for field, value, limit, unique in ids:
        if not value or getattr(row, field):
            continue
        if unique and type(row).objects.filter(**{field: value}).exists():
            continue
        setattr(row, field, value[:limit])
        learned.append(field)
    if learned:
        row.save(update_fields=learned)
    return learned


# Ends we record before the provider tells of them: our own request's, or the call's rules'.
_OUR_ENDS = {
    Member.EndCause.HUNG_UP: "hung up from a desktop or the wallboard",
    Member.EndCause.DECLINED: "declined from the desktop",
    Member.EndCause.VOICEMAIL_DROPPED: "the voicemail drop",
    Member.EndCause.TAKEN_OUT: "taken out by the call's rules",
    Member.EndCause.TRANSFERRED: "handed over by a cold transfer",
}


def _why_unchanged(*, member: Member, notice: CallbackNotice) -> str:
    """Said before `member_set_state`, which may record the event's time."""
    if member.is_terminal:
        if notice.member_state in Member.TERMINAL_STATES and member.end_cause in _OUR_ENDS:
            # The provider's word on an end we had already applied: nothing was missed.
            return f"confirms the leg's end already recorded ({_OUR_ENDS[member.end_cause]})"
        return f"member already {member.get_state_display().lower()}; a late event changes nothing"
    if is_older(member=member, event_at=notice.event_at, sequence=notice.sequence):
        if notice.sequence is not None and member.last_sequence is not None:
            newest = f"#{member.last_sequence}"
        else:
            newest = member.last_event_at.isoformat()
        return f"older than the member's newest event ({newest}); dropped"
    return f"member already {member.get_state_display().lower()}"


def _record_exit_order(*, member: Member, notice: CallbackNotice) -> bool:
    """Keep where, in the provider's order, this leg left the bridge, or (a colleague's or
    number's ring) ended unanswered, also when we had taken it out before its own exit
    arrived: who left first tells how the call ended (`calls.outcomes`). True when newly
    known."""
    if notice.sequence is None:
        return False
    ring_ended = member.role == Member.Role.AGENT and member.answered_at is None
    if not (notice.leaves_the_bridge or (ring_ended and notice.member_state in UNREACHED_STATES)):
        return False
    if member.exit_sequence is not None:  # a leg leaves the bridge once
        return False
    member.exit_sequence = notice.sequence
    member.save(update_fields=["exit_sequence"])
    return True


def _hands_on(call: Call) -> bool:
    """Whether an ended call turns out to have been handed on by a transfer its end cut short
    (a late exit shows the first agent had left it while the target answered)."""
    if call.is_live:
        return False
    members = call.members.in_arrival_order()
    return transfer_cut_short_had_completed(call=call, members=members) is not None


def _outcome_changes(call: Call) -> bool:
    """Whether an ended call's outcome reads differently now (a live call's is read when it
    ends), so that a late exit that changes nothing pushes nothing."""
    if call.is_live:
        return False
    return call_outcome(call=call, members=call.members.in_arrival_order()) != call.outcome


# How a leg that left ended, by the provider's exit cause: hung up at its end, or cancelled
# by the provider (the call ended, or an action of ours that is already applied).
_EXIT_CAUSES = {"completed": Member.EndCause.FAR_END}


def _cause_we_asked_for(*, call: Call, member: Member) -> str:
    """Why a leg left when a request of ours to end it is still in flight: the provider may
    send the exit before it answers the request, and the exit is then applied first. A
    Reject of one's own ringing call declined it (so the caller is not offered straight
    back); any other Hang up ended it on our side; a drop left the voicemail. "" when no
    such request is pending: one query, only for an exit while the call is claimed."""
    if not call.pending_action_id or not member.is_live:
        return ""
    action = (
        Action.objects.filter(
            pk=call.pending_action_id, member_id=member.pk, outcome=Action.Outcome.PENDING
        )
        .only("kind", "actor_id")
        .first()
    )
    if action is None:
        return ""
    if action.kind == Action.Kind.VOICEMAIL_DROP:
        return Member.EndCause.VOICEMAIL_DROPPED
    if action.kind != Action.Kind.HANGUP:
        return ""
    # An offer ringing for them is one a person may only Reject
    # (`rules.member_permission_refusal`); their own outbound ring they may cancel.
    own_offer = (
        member.answered_at is None
        and member.agent_id is not None
        and is_offered_to(call=call, agent_id=member.agent_id)
        and Agent.objects.filter(pk=member.agent_id, user_id=action.actor_id).exists()
    )
    return Member.EndCause.DECLINED if own_offer else Member.EndCause.HUNG_UP


def _requested_state(*, call: Call, member: Member, notice: CallbackNotice) -> str:
    if notice.is_entering and notice.member_state in (State.TALKING, State.VOICEMAIL):
        return entering_state(call=call, member=member, machine=notice.is_machine)
    return notice.member_state


def _move_member(
    *, call: Call, members: list[Member], member: Member, notice: CallbackNotice
) -> _Result:
    at = timezone.now()
    previous = member.state
    unchanged_note = _why_unchanged(member=member, notice=notice)
    answered_before = member.answered_at
    cause = ""
    if notice.member_state == State.LEFT:
        # Our own request first: "completed" is also what a leg we hung up says.
        cause = (
            _cause_we_asked_for(call=call, member=member)
            or _EXIT_CAUSES.get(notice.exit_cause)
            or Member.EndCause.TAKEN_OUT
        )
    moved = member_set_state(
        member=member,
        state=_requested_state(call=call, member=member, notice=notice),
        at=at,
        event_at=notice.event_at,
        sequence=notice.sequence,
        cause=cause,
    )
    exit_ordered = _record_exit_order(member=member, notice=notice)
    if notice.is_machine and not member.is_machine:
        # A fact, also of a leg already gone: a machine answered it.
        member.is_machine = True
        member.save(update_fields=["is_machine"])
    if not moved:
        if member.state != previous:
            # A leg we took out unanswered: the provider says how its dial really ended.
            call_changed(call=call, at=at)
            note = f"leg already taken out; its dial ended {member.get_state_display().lower()}"
            return _Result(Outcome.APPLIED, _join(notice.note, note), call, member)
        reordered = exit_ordered and (_outcome_changes(call) or _hands_on(call))
        answered_late = member.answered_at != answered_before
        if answered_late or reordered:
            # A late enter of a leg already gone: it had answered; a late exit: it left
            # before the one we took for the end. Either tells how the call ended.
            call_changed(call=call, at=at)
        if answered_late:
            note = "leg already gone; it had answered before, which retells how the call went"
            return _Result(Outcome.APPLIED, _join(notice.note, note), call, member)
        if reordered:
            note = f"leg already gone; by the provider's order the call ended {call.outcome}"
            return _Result(Outcome.APPLIED, _join(notice.note, note), call, member)
        return _Result(Outcome.IGNORED, _join(notice.note, unchanged_note), call, member)
    if member.is_on_call and previous in (State.PENDING, State.DIALLING):
        on_member_answered(call=call, member=member, at=at)
    elif member.is_terminal:
        on_member_gone(call=call, member=member, at=at)
    elif any(m is member for m in members):
        # Only this member moved, on the instance in `members`: they are all current. It
        # was live and still is (neither answered nor gone), so its agent stays where it is.
        call_changed(call=call, at=at, members=members, legs_came_or_went=False)
        return _Result(Outcome.APPLIED, notice.note, call, member)
    call_changed(call=call, at=at)
    return _Result(Outcome.APPLIED, notice.note, call, member)


def _end_call(*, call: Call, member: Member | None, notice: CallbackNotice) -> _Result:
    """The conference is over: every live member has left and the call ends."""
    at = timezone.now()
    live = list(call.members.filter(state__in=Member.LIVE_STATES))
    # No event_at here: nothing outlives the conference, whatever its members' timestamps.
    gone = [
        m
        for m in live
        if member_set_state(member=m, state=State.LEFT, at=at, cause=Member.EndCause.TAKEN_OUT)
    ]
    if not gone and not call.is_live:
        return _Result(Outcome.IGNORED, _join(notice.note, "call already ended"), call, member)
    for leg in gone:
        on_member_gone(call=call, member=leg, at=at)
    call_changed(call=call, at=at)
    return _Result(Outcome.APPLIED, notice.note, call, member)


def _adopt_early_conference_events(*, call: Call) -> None:
    """Conference-level events (no leg named) that arrived before any leg tied the conference
    to this call were kept as unmatched. Now they join its timeline, and an early MPCEnd
    takes effect, so a reordered end still ends the call."""
    early = (
        CallbackEvent.objects.select_for_update(skip_locked=True)
        .filter(
            outcome=Outcome.UNMATCHED,
            call__isnull=True,
            vocabulary=CallbackEvent.Vocabulary.MPC,
            event__in=CONFERENCE_EVENTS,
            params__MPCUUID=call.conference_uuid,
        )
        .order_by("received_at", "pk")
    )
    for event in early:
        if event.event == "MPCEnd":
            notice = normalise(flatten_params(event.params))
            result = _end_call(call=call, member=None, notice=notice)
            note = "applied late: the conference ended before any leg named this call"
        else:
            result = _Result(Outcome.IGNORED, call=call)
            note = "conference-level event, linked once a leg named this call"
        _record(
            event=event, result=_Result(result.outcome, note, call), allowed=(Outcome.UNMATCHED,)
        )
