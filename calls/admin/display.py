"""Small display helpers the calls admin pages share: links, people, excerpts, JSON tables."""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from agents.models import Agent
from calls.addresses import display_address
from calls.admin.redaction import redact
from calls.models import Call, CallTransfer, Member
from calls.outcomes import call_phase, stand_in_kind, talk_seconds, talk_started_at


def link(*, url: str, label) -> str:
    return format_html('<a href="{}">{}</a>', url, label)


def change_link(*, view: str, pk: int, label) -> str:
    """A link to an object's admin page; `view` is its URL name's stem, as "calls_call"."""
    return link(url=reverse(f"admin:{view}_change", args=[pk]), label=label)


def calls_list_link(*, filter_by: str, pk: int, count: int) -> str:
    """`count` linking to the call list filtered to one party: `filter_by` is that list's
    filter parameter ("owner" for an agent, "customer")."""
    url = reverse("admin:calls_call_changelist") + f"?{filter_by}={pk}"
    return link(url=url, label=count)


def call_link(call_id: int | None) -> str:
    if not call_id:
        return "—"
    return change_link(view="calls_call", pk=call_id, label=f"Call #{call_id}")


def person(user) -> str:
    if user is None:
        return "system"
    return user.get_full_name() or user.get_username()


def excerpt(text: str, words: int = 12) -> str:
    return Truncator(text).words(words) if text else ""


def call_duration_seconds(call: Call, *, members: Sequence[Member]) -> int | None:
    """Talk time (`calls.outcomes.talk_seconds`): None while live, and for a call that
    reached nobody (busy, no answer, abandoned...: an agent alone on the line is not a
    conversation)."""
    return talk_seconds(call=call, members=members)


def call_state_text(call: Call, *, members: Sequence[Member]) -> str:
    """A call as supervisors read it: its phase while live (ringing until the customer
    answers, waiting, connected, on hold...), then how it ended."""
    if call.is_live:
        return call_phase(call=call, members=members)
    if call.outcome == Call.Outcome.NO_AGENT:
        # Where the caller was sent, as the live row said it: voicemail or the message.
        sent = next((m for m in members if m.role == Member.Role.NO_AGENT and m.answered_at), None)
        where = stand_in_kind(sent) if sent is not None else ""
        if where:
            return f"{call.get_outcome_display()}: {where}"
    if call.outcome:
        return call.get_outcome_display()
    return call.get_status_display()  # ended before outcomes were recorded


def live_talk_seconds(call: Call, *, members: Sequence[Member], at: datetime) -> int | None:
    """How long a live call's customer has been talking; None until they are connected."""
    started = talk_started_at(call=call, members=members) if call.is_live else None
    return max(0, int((at - started).total_seconds())) if started else None


def call_answered_at(call: Call, *, members: Sequence[Member]) -> datetime | None:
    """When the customer was connected (`talk_started_at`): not an agent picking up their
    own phone before an outbound customer rang, nor a caller reaching the queue."""
    return talk_started_at(call=call, members=members)


def caller_address(call: Call, *, members: Sequence[Member]) -> str:
    """The customer's number: the saved customer's, else their leg's (an unknown caller)."""
    if call.customer:
        return display_address(call.customer.phone)
    leg = next((m for m in members if m.role == Member.Role.CUSTOMER and m.address), None)
    return display_address(leg.address) if leg else ""


def completed_transfers(transfers: Iterable[CallTransfer]) -> Counter[str]:
    """Completed transfers by kind: what counts as a transfer, as on the wallboard."""
    done = CallTransfer.Outcome.COMPLETED
    return Counter(t.kind for t in transfers if t.outcome == done)


def transfers_text(call: Call, *, transfers: Sequence[CallTransfer]) -> str:
    """Say "1 warm, 1 cold (failed), warm in progress": completed transfers by kind, then the
    attempts that did not complete with how they ended."""
    kinds = (Call.TransferKind.WARM, Call.TransferKind.COLD)
    done = completed_transfers(transfers)
    parts = [f"{done[kind]} {kind}" for kind in kinds if done[kind]]
    ended = (CallTransfer.Outcome.ABORTED, CallTransfer.Outcome.FAILED)
    tried = Counter((t.kind, t.outcome) for t in transfers if t.outcome in ended)
    parts += [f"{tried[k, o]} {k} ({o})" for k in kinds for o in ended if tried[k, o]]
    if call.transfer_kind:
        parts.append(f"{call.get_transfer_kind_display().lower()} in progress")
    return ", ".join(parts) or "—"


def flat_items(value, prefix: str = "") -> list[tuple[str, str]]:
    """Nested JSON as sorted (dotted key, text) pairs, for a compact readable listing."""
    if isinstance(value, Mapping):
        items: list[tuple[str, str]] = []
        for key in sorted(value, key=str):
            items += flat_items(value[key], f"{prefix}{key}.")
        return items
    if isinstance(value, list):
        return [(prefix.rstrip("."), ", ".join(str(v) for v in value))]
    return [(prefix.rstrip("."), "" if value is None else str(value))]


def key_value_table(pairs: Iterable[tuple[str, str]]) -> str:
    rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", pairs)
    return format_html('<table class="cc-kv">{}</table>', rows) if rows else "—"


def redacted_table(value: Mapping | None) -> str:
    """Stored JSON (a request, callback parameters) as a key/value table, secrets removed."""
    return key_value_table(flat_items(redact(value or {})))


def caller_wait_seconds(call: Call, *, at: datetime) -> int | None:
    """How long an inbound caller waited for an agent (as the queue's figures count it):
    until an agent answered or the call ended; still counting while they wait. None for an
    outbound call."""
    if call.direction != Call.Direction.INBOUND:
        return None
    if call.waited_seconds is not None:
        return call.waited_seconds
    if call.is_live and call.answered_at is None:
        return max(0, int((at - call.created_at).total_seconds()))
    return None


def agents_rung_unanswered(*, call: Call, members: Iterable[Member]) -> list[Agent]:
    """The agents an inbound call was offered to who did not take it (declined, rang out,
    busy), in the order it rang them, each once: who a queued caller was offered to. Not a
    transfer's target who declined: their leg came after an agent had answered. Needs the
    members with `agent__user`."""
    if call.direction != Call.Direction.INBOUND:
        return []
    agents: list[Agent] = []
    for member in members:
        unanswered = member.answered_at is None and not member.is_live
        if member.role != Member.Role.AGENT or member.agent is None or not unanswered:
            continue
        if member.end_cause == Member.EndCause.NOT_DIALLED:
            continue  # the provider never rang it
        if call.answered_at is not None and member.created_at >= call.answered_at:
            continue  # a transfer's ring, not an offer
        if member.agent not in agents:
            agents.append(member.agent)
    return agents


def who_took_it(call: Call, *, members: Iterable[Member]) -> tuple[Agent | None, list[Agent]]:
    """The call's agent as the call list says it, and whom it rang without being taken (shown
    beside it). A call no agent took has no agent, whoever it was last offered to."""
    owner = None if call.taken_by_no_agent else call.owner
    rang = agents_rung_unanswered(call=call, members=members)
    if not rang and owner is None and call.owner is not None:
        rang = [call.owner]  # offered to its owner only, who did not take it
    return owner, rang
