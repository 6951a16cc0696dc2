"""The state rules of calls and members, shared by our actions and the provider's callbacks.

Both paths change state only through these functions, so the rules live in one place:
terminal member states stay terminal (a late "enter" never revives a member who left),
a call ends when nobody is left, and every change bumps the call's version and is
announced (`calls.events`): listeners such as presence act in the same transaction, and the
live pages are pushed after commit. Callers hold the call's row lock (see `lock_call`).
"""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import F
from django.utils import timezone

from calls.events import CallChanged, MemberChanged, announce
from calls.models import Call, Member

State = Member.State


def lock_call(*, call_id: int) -> Call:
    """Fetch a call with its row locked until the transaction ends (no-op lock on SQLite,
    whose IMMEDIATE transactions already serialise writers)."""
    return Call.objects.select_for_update().get(pk=call_id)


def member_set_state(
    *, member: Member, state: str, at: datetime | None = None, event_at: datetime | None = None
) -> bool:
    """Move a member to `state`. Returns False, changing nothing, when the move is not allowed:
    the member is already terminal, or the event is older than the newest one applied."""
    at = at or timezone.now()
    if member.is_terminal:
        return False
    if event_at and member.last_event_at and event_at < member.last_event_at:
        return False
    if state == member.state:
        if event_at:
            member.last_event_at = event_at
            member.save(update_fields=["last_event_at"])
        return False
    if state in (State.TALKING, State.ON_HOLD, State.VOICEMAIL) and member.answered_at is None:
        member.answered_at = at
    if state == State.ON_HOLD:
        member.hold_started_at = at
    elif member.state == State.ON_HOLD:
        member.hold_started_at = None
    if state in Member.TERMINAL_STATES:
        member.left_at = at
    previous = member.state
    member.state = state
    member.state_changed_at = at
    if event_at:
        member.last_event_at = event_at
    member.save()
    announce(
        MemberChanged(
            call_id=member.call_id,
            member_id=member.pk,
            role=member.role,
            agent_id=member.agent_id,
            previous=previous,
            state=state,
            at=at,
        )
    )
    return True


def call_changed(
    *, call: Call, at: datetime | None = None, extra_agent_ids: Iterable[int] = ()
) -> None:
    """Bring the call's own status in line with its members, bump its version and announce
    it (`CallChanged`): agents on it then follow it (presence listens), and the pages hear.

    A call becomes active when a member first talks and completes when no member is live.
    """
    at = at or timezone.now()
    members = list(call.members.all())
    live = [m for m in members if m.is_live]
    if call.is_live:
        if members and not live:
            call.status = Call.Status.COMPLETED if call.answered_at else Call.Status.FAILED
            call.ended_at = at
            call.pending_action = None
            _clear_transfer(call)
        elif any(m.state in (State.TALKING, State.ON_HOLD) for m in members):
            if call.status == Call.Status.DIALLING:
                call.status = Call.Status.ACTIVE
            call.answered_at = call.answered_at or at
    call.version = F("version") + 1
    call.save()
    call.refresh_from_db(fields=["version"])
    agent_ids = {m.agent_id for m in members if m.agent_id} | set(extra_agent_ids)
    if call.owner_id:
        agent_ids.add(call.owner_id)
    announce(
        CallChanged(call_id=call.pk, version=call.version, agent_ids=frozenset(agent_ids), at=at)
    )


def _clear_transfer(call: Call) -> None:
    call.transfer_kind = Call.TransferKind.NONE
    call.transfer_from = None
    call.transfer_to_address = ""
    call.transfer_to_agent = None
    call.transfer_started_at = None


def transfer_clear(*, call: Call) -> None:
    """Forget the transfer in progress (the caller saves the call via `call_changed`)."""
    _clear_transfer(call)


def _customers_back_to_talking(*, call: Call, at: datetime) -> None:
    for customer in call.members.filter(role=Member.Role.CUSTOMER, state=State.ON_HOLD):
        member_set_state(member=customer, state=State.TALKING, at=at)


def _is_transfer_target(call: Call, member: Member) -> bool:
    return bool(call.transfer_kind) and member.address == call.transfer_to_address


def on_member_answered(*, call: Call, member: Member, at: datetime) -> None:
    """Transfer rules when a leg is answered. A cold transfer completes when its target answers:
    the customer comes off hold talking to the target, who now owns the call (the provider
    disconnects the first agent and tells us with an exit). A warm transfer's target answering
    changes nothing: the agents consult while the customer stays on hold."""
    if call.transfer_kind == Call.TransferKind.COLD and _is_transfer_target(call, member):
        _customers_back_to_talking(call=call, at=at)
        if member.agent_id:
            call.owner_id = member.agent_id
        transfer_clear(call=call)


def on_member_gone(*, call: Call, member: Member, at: datetime) -> None:
    """Transfer rules when a leg ends, so a failed transfer leaves the call consistent.

    - The target of any transfer is gone (busy, no answer, failed, hung up, aborted): the
      customer comes off hold and stays with the first agent.
    - The agent who started a warm transfer leaves during it: the customer comes off hold with
      the target, who now owns the call.
    """
    if not call.transfer_kind:
        return
    if _is_transfer_target(call, member):
        _customers_back_to_talking(call=call, at=at)
        transfer_clear(call=call)
    elif (
        call.transfer_kind == Call.TransferKind.WARM
        and member.role == Member.Role.AGENT
        and member.agent_id is not None
        and member.agent_id == call.transfer_from_id
    ):
        target = call.members.filter(
            address=call.transfer_to_address, state__in=Member.LIVE_STATES
        ).first()
        if target and target.agent_id:
            call.owner_id = target.agent_id
        _customers_back_to_talking(call=call, at=at)
        transfer_clear(call=call)


def customers_hold(*, call: Call, at: datetime) -> None:
    """Put the call's talking customers on hold (a transfer starting; PHLO sends no event)."""
    for customer in call.members.filter(role=Member.Role.CUSTOMER, state=State.TALKING):
        member_set_state(member=customer, state=State.ON_HOLD, at=at)


def customers_unhold(*, call: Call, at: datetime) -> None:
    """Bring the call's held customers back to talking (a transfer resumed or aborted)."""
    _customers_back_to_talking(call=call, at=at)
