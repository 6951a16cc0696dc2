"""A call's timeline on its admin page: every action sent and callback received, failures
included, redacted and timed from the call's start."""

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse

from calls.addresses import display_address
from calls.admin.display import flat_items, person
from calls.admin.redaction import configured_secrets, redact
from calls.models import Action, Call, CallbackEvent, CallTransfer, Member
from calls.selectors import call_timeline


@dataclass(frozen=True)
class TimelineRow:
    at: datetime
    offset: str
    sent: bool  # True: an action we sent to PHLO; False: a callback PHLO sent us.
    title: str
    who: str
    outcome: str
    outcome_label: str
    problem: bool
    http_status: int | None
    error: str
    note: str
    details: list[tuple[str, str]]
    url: str


def _offset(at: datetime, origin: datetime) -> str:
    seconds = int((at - origin).total_seconds())
    sign = "-" if seconds < 0 else "+"
    minutes, secs = divmod(abs(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"{sign}{minutes}:{secs:02d}"


# Actions on a transfer in progress: sent to the agent who started it, but whom they affect
# is the transfer's target.
_ON_TRANSFER = (Action.Kind.ABORT_TRANSFER, Action.Kind.RESUME_CALL)


def _transfer_target(*, action: Action, transfers: list[CallTransfer]) -> str:
    """Whom the transfer in progress when `action` was sent was to; "" when none is known."""
    started = [t for t in transfers if t.started_at <= action.created_at]
    if not started:
        return ""
    transfer = started[-1]
    if transfer.to_agent:
        return transfer.to_agent.display_name
    return display_address(transfer.to_address)


def _action_target(action: Action, *, transfers: list[CallTransfer]) -> str:
    if action.kind in _ON_TRANSFER:
        return _transfer_target(action=action, transfers=transfers)
    return display_address(action.target) if action.target else ""


def _action_title(action: Action) -> str:
    """The button's name: a Reject is sent to PHLO as a Hang up of the agent's own ringing
    leg, which it declined (its agent is prefetched)."""
    member = action.member
    if (
        action.kind == Action.Kind.HANGUP
        and member is not None
        and member.end_cause == Member.EndCause.DECLINED
        and member.agent is not None
        and member.agent.user_id == action.actor_id
    ):
        return "Reject (hang up)"
    return action.get_kind_display()


def _action_row(
    action: Action, *, origin: datetime, secrets: list[str], transfers: list[CallTransfer]
) -> TimelineRow:
    request = redact(action.request or {}, secrets=secrets)
    details: list[tuple[str, str]] = []
    if request.get("method") or request.get("path"):
        details.append(("request", f"{request.get('method', '')} {request.get('path', '')}"))
    details += [(f"body.{k}", v) for k, v in flat_items(request.get("body") or {})]
    if action.api_id:
        details.append(("api_id", action.api_id))
    if action.finished_at:
        took = (action.finished_at - action.created_at).total_seconds()
        details.append(("answered after", f"{took:.2f} s"))
    error = redact(
        f"{action.error_kind}: {action.error}" if action.error_kind else action.error,
        secrets=secrets,
    )
    target = _action_target(action, transfers=transfers)
    who = person(action.actor) + (f" → {target}" if target else "")
    return TimelineRow(
        at=action.created_at,
        offset=_offset(action.created_at, origin),
        sent=True,
        title=_action_title(action),
        who=who,
        outcome=action.outcome,
        outcome_label=action.get_outcome_display(),
        problem=action.outcome == Action.Outcome.FAILED,
        http_status=action.http_status,
        error=error,
        note="",
        details=details,
        url=reverse("admin:calls_action_change", args=[action.pk]),
    )


def _callback_row(event: CallbackEvent, *, origin: datetime, secrets: list[str]) -> TimelineRow:
    params = redact(event.params or {}, secrets=secrets)
    if event.member_id:
        # Not str(member): its state is the leg's now, not at this event.
        who = f"{event.member.get_role_display()} {display_address(event.member.address)}"
    else:
        ends = [display_address(str(params[k])) for k in ("from", "to") if params.get(k)]
        who = " → ".join(ends)
    details = [("vocabulary", event.get_vocabulary_display())]
    if event.deliveries > 1:
        details.append(("deliveries", f"received {event.deliveries} times"))
    details += flat_items(params)
    return TimelineRow(
        at=event.received_at,
        offset=_offset(event.received_at, origin),
        sent=False,
        title=event.event or "(no event name)",
        who=who,
        outcome=event.outcome,
        outcome_label=event.get_outcome_display(),
        problem=event.outcome in (CallbackEvent.Outcome.FAILED, CallbackEvent.Outcome.UNMATCHED),
        http_status=None,
        error=redact(event.error, secrets=secrets),
        note=event.note,
        details=details,
        url=reverse("admin:calls_callbackevent_change", args=[event.pk]),
    )


def timeline_rows(*, call: Call) -> list[TimelineRow]:
    """The call's timeline (calls.selectors.call_timeline: actions and callbacks merged by
    time), ready to read: redacted, with offsets from the call's start."""
    secrets = configured_secrets()
    transfers = list(CallTransfer.objects.filter(call=call).select_related("to_agent__user"))
    return [
        _action_row(entry.item, origin=call.created_at, secrets=secrets, transfers=transfers)
        if entry.is_action
        else _callback_row(entry.item, origin=call.created_at, secrets=secrets)
        for entry in call_timeline(call_id=call.pk)
    ]
