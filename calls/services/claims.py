"""One action in flight per call.

An action claims its call by setting `Call.pending_action` with a conditional UPDATE whose
WHERE clause names only the call's own columns (`pending_action IS NULL`, or the exact stale
claim being replaced). The database applies such an UPDATE atomically on SQLite and
PostgreSQL alike (PostgreSQL re-checks the WHERE against the row it waited for), so of two
users acting at once exactly one wins, without holding a lock during the HTTP request.

A claim older than the PHLO client's timeouts plus a margin belongs to a request that can no
longer be in flight (a crashed worker, say) and may be taken over.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from calls.models import Action, Call
from calls.services.errors import CallBusy, InvalidState, NotFound

# Beyond the client's own timeouts, time for the outcome to be written.
STALE_MARGIN_SECONDS = 5.0

_DOING = {
    Action.Kind.CALL: "placing this call",
    Action.Kind.HOLD: "putting someone on hold",
    Action.Kind.UNHOLD: "taking someone off hold",
    Action.Kind.WARM_TRANSFER: "doing a warm transfer",
    Action.Kind.RESUME_CALL: "resuming the call after a transfer",
    Action.Kind.ABORT_TRANSFER: "aborting a transfer",
    Action.Kind.COLD_TRANSFER: "doing a cold transfer",
    Action.Kind.HANGUP: "hanging up a leg",
    Action.Kind.VOICEMAIL_DROP: "dropping a voicemail",
}


def stale_after() -> timedelta:
    seconds = (
        float(settings.PHLO_CONNECT_TIMEOUT)
        + float(settings.PHLO_READ_TIMEOUT)
        + STALE_MARGIN_SECONDS
    )
    return timedelta(seconds=seconds)


def busy_message(*, holder: Action, actor=None) -> str:
    """E.g. "Bob is already doing a warm transfer on this call." """
    if actor is not None and holder.actor_id == getattr(actor, "pk", None):
        who = "You are"
    elif holder.actor is not None:
        who = f"{holder.actor.get_full_name() or holder.actor.get_username()} is"
    else:
        who = "Someone is"
    doing = _DOING.get(holder.kind, f"doing a {holder.get_kind_display().lower()}")
    if holder.kind == Action.Kind.CALL and holder.member_id is None:
        # A supervisor joining: their leg is recorded once PHLO has accepted.
        doing = "adding someone to this call"
    where = "" if doing.endswith("this call") else " on this call"
    return f"{who} already {doing}{where}. Try again when it has finished."


def claim(*, call_id: int, action: Action, now=None, version: int | None = None) -> bool:
    """Make `action` the call's pending action, or raise CallBusy / InvalidState / NotFound.
    Runs in autocommit or inside the caller's transaction; takes no lock beyond the UPDATE.

    `version`: the call's version when the caller read it. True means the claim found the
    call still at it: nothing changed since (every change bumps it, `calls.state`), so the
    caller need not read the call again. False: read it again before deciding."""
    now = now or timezone.now()
    live = Call.objects.live().filter(pk=call_id)
    if version is not None:
        # The usual case, in one UPDATE: free, and as the caller saw it.
        unchanged = live.filter(pending_action__isnull=True, version=version)
        if unchanged.update(pending_action=action) == 1:
            return True
    _claim_as_it_is(call_id=call_id, action=action, now=now, live=live)
    return False


def _claim_as_it_is(*, call_id: int, action: Action, now, live) -> None:
    if live.filter(pending_action__isnull=True).update(pending_action=action) == 1:
        return
    current = Call.objects.filter(pk=call_id).select_related("pending_action__actor").first()
    if current is None:
        raise NotFound("This call no longer exists.")
    if not current.is_live:
        raise InvalidState("This call has ended.")
    holder = current.pending_action
    if holder is None:
        # Released between our two statements: try once more, the same way.
        if live.filter(pending_action__isnull=True).update(pending_action=action) == 1:
            return
        raise CallBusy("Someone else is acting on this call. Try again in a moment.")
    if holder.created_at <= now - stale_after():
        # Swap only that exact stale claim, so two takers cannot both win.
        if live.filter(pending_action=holder).update(pending_action=action) == 1:
            _abandon(holder=holder, now=now)
            return
        raise CallBusy("Someone else is acting on this call. Try again in a moment.")
    raise CallBusy(busy_message(holder=holder, actor=action.actor))


def release(*, call_id: int, action: Action) -> None:
    """Clear the claim if it is still this action's (a stale takeover may have replaced it)."""
    Call.objects.filter(pk=call_id, pending_action=action).update(pending_action=None)


def _abandon(*, holder: Action, now) -> None:
    Action.objects.filter(pk=holder.pk, outcome=Action.Outcome.PENDING).update(
        outcome=Action.Outcome.FAILED,
        error_kind="abandoned",
        error="No outcome was recorded in time (the server may have restarted); the claim"
        " on the call was released.",
        finished_at=now,
    )
