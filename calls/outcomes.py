"""How a call ended, read from its legs, and how to say it to people.

Pure functions over a call and its members (already loaded): the outcome is derived from
what is known of each leg (who answered, how each leg ended, and, from Multiparty Call
callbacks, where each left in the provider's order), so a callback that arrives late and
tells more refines it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from calls.exits import exit_kind
from calls.models import Call, CallTransfer, Member

Outcome = Call.Outcome
State = Member.State
Role = Member.Role
Cause = Member.EndCause


def _is_agent_leg(member: Member) -> bool:
    return member.role in (Role.AGENT, Role.SUPERVISOR) and member.agent_id is not None


def _far_party(call: Call, members: Sequence[Member]) -> list[Member]:
    """Whom the call was for: its customers, else (an agent calling an agent) the others."""
    customers = [m for m in members if m.role == Role.CUSTOMER]
    if customers:
        return customers
    return [m for m in members if m.agent_id != call.owner_id]


# How long a person who left stays in a live call's rows, on every page, before folding
# away (the pages' CSS folds the row after as long; the next redraw leaves it out).
LEFT_ROW_SECONDS = 5


def still_shown(member: Member, *, at: datetime) -> bool:
    """Whether a live call's rows show this leg: on the call, or gone a moment ago."""
    if member.is_live:
        return True
    return bool(member.left_at and member.left_at > at - timedelta(seconds=LEFT_ROW_SECONDS))


def fold_delay(member: Member, *, at: datetime) -> float:
    """Seconds until a leg that left folds away from a live call's rows (0 for one on the
    call, or folded already). The pages' fade waits as long, so every page, whenever it
    drew the card, folds the leg at the same moment."""
    if member.is_live or not member.left_at:
        return 0.0
    return max(0.0, (member.left_at + timedelta(seconds=LEFT_ROW_SECONDS) - at).total_seconds())


class HasLeg(Protocol):
    """A page's row for one leg (the desktop's and the wallboard's differ)."""

    member: Member


@dataclass(frozen=True)
class Fold:
    """A leg in a live call's folded lists; `soon`: still a row, which folds in a moment (the
    page moves it into the list when the row's fade ends: static/live/page.js)."""

    row: HasLeg
    soon: bool

    @property
    def pk(self) -> int:
        return self.row.member.pk


@dataclass(frozen=True)
class FoldedLegs:
    """A live call's legs out of its rows, or about to be: who was on the call and left it,
    and who never answered (offers declined or rung out, a busy number), listed apart."""

    left: tuple[Fold, ...]
    not_answered: tuple[Fold, ...]

    @property
    def left_now(self) -> int:
        return sum(not f.soon for f in self.left)

    @property
    def not_answered_now(self) -> int:
        return sum(not f.soon for f in self.not_answered)


def folded_legs(rows: Sequence[HasLeg], *, at: datetime) -> FoldedLegs:
    """Split a live call's gone legs (each page's row for it) into its folded lists."""
    gone = [Fold(row=r, soon=still_shown(r.member, at=at)) for r in rows if not r.member.is_live]
    return FoldedLegs(
        left=tuple(f for f in gone if f.row.member.answered_at is not None),
        not_answered=tuple(f for f in gone if f.row.member.answered_at is None),
    )


def transfer_fell_through(
    *, members: Sequence[Member], since: datetime, at: datetime
) -> Member | None:
    """The leg a transfer rang, started after `since` (the viewer's answer), that ended
    unanswered a moment ago (busy, no answer, unreachable, declined, or its ring stopped
    from a desktop or the wallboard): the customer is back with the viewer, and the page
    says why for as long as it shows who left."""
    for member in reversed(members):
        if (
            member.role == Role.AGENT
            and member.created_at > since
            and member.answered_at is None
            and (member.state in _FELL_THROUGH or member.end_cause in _STOPPED)
            and still_shown(member, at=at)
        ):
            return member
    return None


_FELL_THROUGH = (State.BUSY, State.NO_ANSWER, State.FAILED)


def consultation_left(
    *, members: Sequence[Member], transfers: Sequence[CallTransfer], agent_id: int, at: datetime
) -> Member | None:
    """The colleague `agent_id` was consulting in a warm transfer, who left during the
    consultation a moment ago (hung up on their phone or their desktop, or was hung up from
    the wallboard): the transfer ended aborted as their leg left. The customer is back with
    the agent, and the page says why for as long as it shows who left. Also the agent's own
    Abort; `agents.selectors` tells the two apart by the actions (a query, only then)."""
    last = transfers[-1] if transfers else None
    if (
        last is None
        or last.kind != Call.TransferKind.WARM
        or last.from_agent_id != agent_id
        or last.outcome != CallTransfer.Outcome.ABORTED
    ):
        return None
    for member in reversed(members):
        if (
            member.role == Role.AGENT
            and member.address == last.to_address
            and member.answered_at is not None
            and member.left_at == last.ended_at
            and member.end_cause in (Cause.FAR_END, Cause.HUNG_UP)
            and still_shown(member, at=at)
        ):
            return member
    return None


_STOPPED = (Cause.DECLINED, Cause.HUNG_UP)


def stand_in_kind(member: Member) -> str:
    """What a no-agent leg plays to the caller, by the address it rang: "voicemail" (the
    box) or "message" (the no-agent message), both configured in settings (the queue's exit
    uses them too); "" for another address."""
    return exit_kind(member.address)


_STAND_IN_LABELS = {"voicemail": "Voicemail", "message": "No-agent message"}


def stand_in_label(member: Member) -> str:
    """`stand_in_kind` as the pages name it."""
    return _STAND_IN_LABELS.get(stand_in_kind(member), Role.NO_AGENT.label)


def member_role_label(member: Member) -> str:
    """A leg's role as the pages name it: a no-agent leg by what it plays."""
    if member.role == Role.NO_AGENT:
        return stand_in_label(member)
    if member.role == Role.AGENT and member.agent_id is None:
        return "Outside number"  # a transfer to a number that is not one of our agents
    return member.get_role_display()


# A leg that left says how, where "Left" alone would mislead: a number never rung, a ring
# turned down.
_LEFT_AS = {Cause.NOT_DIALLED: "Never dialled", Cause.DECLINED: "Declined"}


def declined_on_the_handset(member: Member) -> bool:
    """An agent's leg that was busy: a reject on their handset reaches us as busy, so the
    pages say declined, as for one from the desktop and as their status then says
    ("Declined a call"). A number rung as a transfer's target (role agent, no agent) that
    was busy was busy."""
    return member.state == State.BUSY and _is_agent_leg(member)


def member_state_label(member: Member) -> str:
    """A leg's state as the pages name it: "Never dialled" or "Declined" for a leg that
    left that way (an agent's busy phone is one that declined), "Cancelled" for a ring
    stopped before anyone answered (the call ended, or it was hung up), else its state."""
    if member.state == State.LEFT and member.end_cause in _LEFT_AS:
        return _LEFT_AS[member.end_cause]
    if declined_on_the_handset(member):
        return "Declined"
    if member.state == State.LEFT and member.answered_at is None and member.end_cause:
        return "Cancelled"
    return member.get_state_display()


def call_phase(*, call: Call, members: Sequence[Member]) -> str:
    """How a call stands as a whole, for its header: never "Connected" with nobody to talk to.
    Ringing, Waiting for an agent, Connected, On hold, Voicemail, No-agent message,
    Transferring, or Ended."""
    if not call.is_live:
        return "Ended"
    if call.transfer_kind:
        return "Transferring"
    live = [m for m in members if m.is_live]
    far = [m for m in _far_party(call, live)]
    if any(m.is_live for m in far):
        stand_in = next((m for m in live if m.role == Role.NO_AGENT), None)
        if stand_in is not None:
            # The caller was sent on to voicemail or the message: no agent will take it.
            return stand_in_label(stand_in)
    # Our side: agents, supervisors, and an outside number a transfer brought in.
    agents = [m for m in live if m not in far and m.role in (Role.AGENT, Role.SUPERVISOR)]
    agent_on = any(m.state == State.TALKING for m in agents)
    states = {m.state for m in far}
    if State.ON_HOLD in states:
        return "On hold"
    if State.VOICEMAIL in states:
        return "Voicemail"
    if State.TALKING in states and agent_on:
        return "Connected"
    if State.WAITING in states and not any(m.state == State.DIALLING for m in agents):
        # Nobody rings for them yet; an agent being offered the call sees it ring.
        return "Waiting for an agent"
    return "Ringing"


def talk_started_at(*, call: Call, members: Sequence[Member]) -> datetime | None:
    """When the call's other party was first on the line with us: the later of the call's
    answer (our side picking up, or the caller taken from the queue) and the other party's
    own answer. So neither an outbound customer's ringing nor a caller's wait counts as
    talk. None until then, and for a call that reached nobody."""
    if call.answered_at is None or call.reached_nobody:
        return None
    far = _far_party(call, members)
    answers = [m.answered_at for m in far if m.answered_at]
    if not answers:
        return None if far else call.answered_at
    return max(call.answered_at, min(answers))


def talk_seconds(*, call: Call, members: Sequence[Member]) -> int | None:
    """Talk time of an ended call, from `talk_started_at` to its end, in whole seconds
    between the times as written to the second (as the CSV writes them, so that Answered +
    Duration = Ended on every row). The desktop's "talked" and the admin's Duration are this
    one figure. None while live, and for a call that reached nobody."""
    started = talk_started_at(call=call, members=members)
    if started is None or call.is_live or not call.ended_at:
        return None
    return max(0, int(call.ended_at.timestamp()) - int(started.timestamp()))


def call_outcome(*, call: Call, members: Sequence[Member]) -> str:
    """The outcome of an ended call (see `Call.Outcome`)."""
    if call.direction == Call.Direction.INBOUND:
        return _inbound(members)
    return _outbound(call, members)


# End causes that say only that a leg left: whether it hung up or was taken out because
# someone else left first is the provider's order to tell, when it gives one.
_LEFT_UNTOLD = (Cause.FAR_END, Cause.TAKEN_OUT)


def far_left_first(*, far: Sequence[Member], near: Sequence[Member]) -> bool | None:
    """Whether the far party left the bridge on their own, by the provider's order of exits
    (`Member.exit_sequence`), or None when that order is not known (PHLO's vocabulary has
    none; an exit yet to arrive; a leg we ended ourselves, which says it all).

    Whoever's leaving ends the call leaves first: the provider then takes the rest out. So
    the far party hung up when someone in `near` (the legs that answered on our side) was
    still on the bridge as they left; with nobody on our side answered, nothing but the far
    party could have ended their part."""
    if not far or any(m.end_cause not in _LEFT_UNTOLD for m in far):
        return None
    exits = [m.exit_sequence for m in (*far, *near)]
    if None in exits:
        return None
    first_far = min(m.exit_sequence for m in far)
    return not near or any(m.exit_sequence > first_far for m in near)


def _is_outside_number(member: Member) -> bool:
    return member.role == Role.AGENT and member.agent_id is None


def _our_side_ended_by(far: Sequence[Member], near: Sequence[Member]) -> str:
    """Who on our side ended the call: an outside number a cold transfer handed the customer
    to, when they were the last of our side to leave before the customer (by the provider's
    order; with none, the last of our side to hang up as we heard it), else our agents."""
    first_far = min((m.exit_sequence for m in far if m.exit_sequence is not None), default=None)
    if first_far is not None and all(m.exit_sequence is not None for m in near):
        before = [m for m in near if m.exit_sequence < first_far]
        last = max(before, key=lambda m: m.exit_sequence, default=None)
    else:
        hung_up = [m for m in near if m.end_cause in (Cause.FAR_END, Cause.HUNG_UP) and m.left_at]
        last = max(hung_up, key=lambda m: m.left_at, default=None)
    if last is not None and _is_outside_number(last):
        return Outcome.OUTSIDE_HUNG_UP
    return Outcome.AGENT_HUNG_UP


def _cut_off_by_a_ring(
    far: Sequence[Member], near: Sequence[Member], members: Sequence[Member]
) -> bool:
    """Whether the customer was cut off by a ring not taken: the agent handed them on (a
    cold transfer, or left while a warm one rang) and left, and the colleague or number then
    did not answer, leaving the customer alone for the provider to end the call."""
    rings = [m for m in members if m.role == Role.AGENT and m.answered_at is None and m.left_at]
    rings = [m for m in rings if m.end_cause != Cause.HUNG_UP]  # stopped: someone's decision
    if not far or not rings:
        return False
    ordered = [*far, *near, *rings]
    if all(m.exit_sequence is not None for m in ordered):
        # The provider's order: the ring ended after our side left, before the customer.
        ours_left = max((m.exit_sequence for m in near), default=0)
        customer_left = min(m.exit_sequence for m in far)
        return any(ours_left < m.exit_sequence < customer_left for m in rings)
    # As we heard it: the customer taken out, with a ring that outlived our side.
    if any(m.end_cause != Cause.TAKEN_OUT for m in far):
        return False
    return any(_outlived(ring, near) for ring in rings)


def _outlived(ring: Member, near: Sequence[Member]) -> bool:
    """Whether an unanswered ring was still on its way when the last of `near` (our side on
    the bridge) left: it ended unanswered after them, or was still ringing when the call
    ended (taken out with it)."""
    if ring.end_cause == Cause.TAKEN_OUT:
        return True
    if ring.state not in _FELL_THROUGH and ring.end_cause != Cause.DECLINED:
        return False  # stopped from a desktop or the wallboard: someone's decision
    return all(m.left_at is not None and m.left_at <= ring.left_at for m in near)


def _connected(far: Sequence[Member], near: Sequence[Member], members: Sequence[Member]) -> str:
    machines = [m for m in far if m.is_machine]
    if machines:
        dropped = any(m.end_cause == Cause.VOICEMAIL_DROPPED for m in machines)
        return Outcome.VOICEMAIL_LEFT if dropped else Outcome.VOICEMAIL
    answered = [m for m in far if m.answered_at]
    by_order = far_left_first(far=answered, near=near)
    if by_order:
        return Outcome.CUSTOMER_HUNG_UP
    if by_order is None and any(m.end_cause == Cause.FAR_END for m in answered):
        return Outcome.CUSTOMER_HUNG_UP
    if _cut_off_by_a_ring(answered, near, members):
        return Outcome.TRANSFER_NOT_TAKEN
    return _our_side_ended_by(answered, near)


def _answered_near(members: Sequence[Member], far: Sequence[Member]) -> list[Member]:
    return [m for m in members if m.answered_at and m not in far]


def _inbound(members: Sequence[Member]) -> str:
    customers = [m for m in members if m.role == Role.CUSTOMER]
    if any(_is_agent_leg(m) and m.answered_at for m in members):
        return _connected(customers, _answered_near(members, customers), members)
    stand_in = [m for m in members if m.role == Role.NO_AGENT]
    if any(m.answered_at for m in stand_in) or not customers:
        return Outcome.NO_AGENT
    # Nobody answered: a caller's own exit is their hanging up, even when the conference's
    # end reached us before it and took them out.
    by_order = far_left_first(far=customers, near=[])
    if by_order or any(m.end_cause == Cause.FAR_END for m in customers):
        return Outcome.ABANDONED
    if any(m.end_cause == Cause.HUNG_UP for m in customers):
        return Outcome.ENDED_WHILE_WAITING  # hung up from a desktop or the wallboard
    return Outcome.NO_AGENT


def _outbound(call: Call, members: Sequence[Member]) -> str:
    far = _far_party(call, members)
    own = [m for m in members if m.agent_id == call.owner_id and m not in far]
    if far and all(m.end_cause == Cause.NOT_DIALLED for m in far):
        declined = any(m.end_cause in (Cause.HUNG_UP, Cause.DECLINED) for m in own)
        return Outcome.CANCELLED if declined else Outcome.AGENT_UNREACHABLE
    if any(m.answered_at for m in far):
        return _connected(far, _answered_near(members, far), members)
    states = {m.state for m in far}
    for state, outcome in (
        (State.BUSY, Outcome.BUSY),
        (State.NO_ANSWER, Outcome.NO_ANSWER),
        (State.FAILED, Outcome.FAILED),
    ):
        if state in states:
            return outcome
    return Outcome.CANCELLED if far else Outcome.ENDED


def outcome_message(*, call: Call, title: str) -> str:
    """One sentence for the call's card, naming the other party (`title`)."""
    messages = {
        Outcome.CUSTOMER_HUNG_UP: f"{title} hung up.",
        Outcome.AGENT_HUNG_UP: f"The call with {title} was ended on our side.",
        Outcome.OUTSIDE_HUNG_UP: f"{title} was handed to an outside number, which hung up.",
        Outcome.TRANSFER_NOT_TAKEN: (
            f"{title} was cut off: the transfer was not taken after you left. Call them back."
        ),
        Outcome.VOICEMAIL_LEFT: f"{title}'s voicemail answered; your message was left.",
        Outcome.VOICEMAIL: f"{title}'s voicemail answered; no message was left.",
        Outcome.BUSY: f"{title} was busy.",
        Outcome.NO_ANSWER: f"{title} did not answer.",
        Outcome.FAILED: f"The call to {title} failed: the number could not be reached.",
        Outcome.CANCELLED: f"Cancelled before {title} answered.",
        Outcome.AGENT_UNREACHABLE: f"Your phone did not answer, so {title} was not called.",
        Outcome.ABANDONED: f"{title} hung up before anyone answered.",
        Outcome.NO_AGENT: f"Nobody was free to take the call from {title}.",
        Outcome.ENDED_WHILE_WAITING: f"The call from {title} was ended before an agent answered.",
        Outcome.ENDED: f"The call with {title} has ended.",
    }
    return messages.get(call.outcome, f"The call with {title} has ended.")


# Outcomes where the other party was never reached: nothing to wrap up, only to see.
UNREACHED = Call.REACHED_NOBODY
