"""Which actions are legal on a call right now, and for whom.

Pure functions over a call and its members, already loaded (see `calls.selectors`): no
queries beyond related rows the caller did not load. The UI offers exactly what
`call_actions` / `member_actions` return, and the services refuse with the text of
`call_action_refusal` / `member_action_refusal`, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from calls.addresses import display_address
from calls.models import Action, Call, Member

if TYPE_CHECKING:
    from agents.models import Agent

Kind = Action.Kind
State = Member.State
Role = Member.Role

# A supervisor barging in: PHLO's `call` action towards the supervisor's own endpoint.
JOIN = "join"
CALL_LEVEL = (Kind.WARM_TRANSFER, Kind.COLD_TRANSFER, Kind.RESUME_CALL, Kind.ABORT_TRANSFER, JOIN)
MEMBER_LEVEL = (Kind.HOLD, Kind.UNHOLD, Kind.HANGUP, Kind.VOICEMAIL_DROP)
# Members in the conversation: someone else on the line is what a hold keeps them from.
ON_THE_LINE = (State.TALKING, State.ON_HOLD)
# PHLO's multiparty call takes 2 to 10 participants.
MAX_PARTICIPANTS = 10
AGENT_ROLES = (Member.Role.AGENT, Member.Role.SUPERVISOR)


def member_label(member: Member) -> str:
    """How people name a leg: the agent's or customer's name, else the address."""
    if member.agent_id and member.agent is not None:
        return member.agent.display_name
    if member.customer_id and member.customer is not None:
        return member.customer.name
    return display_address(member.address)


def _live(members: Iterable[Member]) -> list[Member]:
    return [m for m in members if m.is_live]


def is_on_call(*, members: Iterable[Member], agent: Agent | None) -> bool:
    return agent is not None and any(m.agent_id == agent.pk for m in _live(members))


def is_offered_to(*, call: Call, agent_id: int) -> bool:
    """The call came to this agent rather than from them: inbound, or someone else's (a
    transfer, a barge). Their leg ringing is an offer they may take or decline."""
    return call.direction == Call.Direction.INBOUND or call.owner_id != agent_id


def rings_an_offer(*, call: Call, member: Member) -> bool:
    """An agent's phone ringing with a call offered to them. Stopped from elsewhere (a
    supervisor's Hang up), the offer is withdrawn and presence puts them Away ("Offered call
    withdrawn", `agents.presence`): likely not at their desk, and not offered it again."""
    return (
        member.role == Role.AGENT
        and member.agent_id is not None
        and member.state == State.DIALLING
        and member.answered_at is None
        and is_offered_to(call=call, agent_id=member.agent_id)
    )


def left_the_call(*, members: Iterable[Member], agent_id: int) -> bool:
    """The agent talked on this call and has no live leg on it now: their part is over,
    even while they still own it (a cold transfer's target still ringing)."""
    legs = [m for m in members if m.agent_id == agent_id]
    return any(m.answered_at for m in legs) and not any(m.is_live for m in legs)


def may_act(
    *, call: Call, members: Sequence[Member], actor_agent: Agent | None, supervisor: bool
) -> bool:
    """Supervisors act on any call; an agent on calls they have a live leg in, or own and
    have not left while it goes on."""
    if supervisor:
        return True
    if actor_agent is None:
        return False
    if is_on_call(members=members, agent=actor_agent):
        return True
    if call.owner_id != actor_agent.pk:
        return False
    # An ended call stays its owner's (to be told it has ended); a live one they left does
    # not, while it goes on without them.
    return not call.is_live or not left_the_call(members=members, agent_id=actor_agent.pk)


def trigger_leg(
    *, call: Call, members: Sequence[Member], actor_agent: Agent | None
) -> Member | None:
    """The talking agent leg a transfer or barge starts from: the actor's own, else the owner's."""
    talking = [
        m for m in members if m.state == State.TALKING and m.agent_id and m.role in AGENT_ROLES
    ]
    if actor_agent is not None:
        for member in talking:
            if member.agent_id == actor_agent.pk:
                return member
    for member in talking:
        if member.agent_id == call.owner_id:
            return member
    return None


def transfer_initiator_leg(*, call: Call, members: Sequence[Member]) -> Member | None:
    """The live leg of the agent who started the transfer in progress."""
    if not call.transfer_kind or not call.transfer_from_id:
        return None
    for member in _live(members):
        if member.agent_id == call.transfer_from_id and member.role in AGENT_ROLES:
            return member
    return None


def transfer_target_leg(*, call: Call, members: Sequence[Member]) -> Member | None:
    if not call.transfer_kind:
        return None
    for member in _live(members):
        if member.address == call.transfer_to_address:
            return member
    return None


def describe_transfer(call: Call, *, viewer_id: int | None = None) -> str:
    """E.g. "Bob's warm transfer to +14155550100"; "Your ..." for the agent `viewer_id`
    who started it, "... to you" for the one it is for."""
    kind = call.get_transfer_kind_display().lower()
    to = call.transfer_to_agent.display_name if call.transfer_to_agent_id else None
    to = to or display_address(call.transfer_to_address)
    if viewer_id is not None and call.transfer_to_agent_id == viewer_id:
        to = "you"
    if call.transfer_from_id and call.transfer_from_id == viewer_id:
        return f"Your {kind} transfer to {to}"
    who = call.transfer_from.display_name if call.transfer_from_id else "A"
    owner = f"{who}'s" if call.transfer_from_id else who
    return f"{owner} {kind} transfer to {to}"


def _customer_not_in_conversation(live: Sequence[Member]) -> str:
    """Why the call's customers (if it has any) are not in a conversation yet, or "": the
    agent's phone answered and the customer's has not, or a voicemail machine did."""
    customers = [m for m in live if m.role == Role.CUSTOMER]
    if not customers or any(
        m.state in (State.TALKING, State.ON_HOLD) and not m.is_machine for m in customers
    ):
        return ""
    if any(m.is_machine or m.state == State.VOICEMAIL for m in customers):
        return "A voicemail machine answered"
    return "The customer has not answered yet"


def call_action_refusal(
    *,
    kind: str,
    call: Call,
    members: Sequence[Member],
    actor_agent: Agent | None,
    supervisor: bool,
) -> str | None:
    """Why `kind` is not possible on this call now, or None when it is. State only:
    permission is `may_act`'s question."""
    if not call.is_live:
        return "This call has ended."
    live = _live(members)
    if kind in (Kind.WARM_TRANSFER, Kind.COLD_TRANSFER):
        if call.transfer_kind:
            return f"{describe_transfer(call)} is already in progress; only one at a time."
        if call.status != Call.Status.ACTIVE:
            return "The call has not been answered yet."
        if trigger_leg(call=call, members=members, actor_agent=actor_agent) is None:
            return "No agent is talking on this call, so there is nobody to transfer from."
        if not any(m.role == Member.Role.CUSTOMER for m in live):
            return "There is no customer on this call to transfer."
        if waiting := _customer_not_in_conversation(live):
            return f"{waiting}: there is nobody to transfer yet."
        if len(live) >= MAX_PARTICIPANTS:
            return f"A call can have at most {MAX_PARTICIPANTS} participants."
        return None
    if kind in (Kind.RESUME_CALL, Kind.ABORT_TRANSFER):
        if call.transfer_kind != Call.TransferKind.WARM:
            what = "resume" if kind == Kind.RESUME_CALL else "abort"
            return f"There is no warm transfer to {what}."
        initiator = transfer_initiator_leg(call=call, members=members)
        if initiator is None:
            return "The agent who started the transfer has left the call."
        if not supervisor and (actor_agent is None or actor_agent.pk != initiator.agent_id):
            # The colleague consulted is not the one to decide: they may only hang up.
            what = "resume" if kind == Kind.RESUME_CALL else "abort"
            return f"{member_label(initiator)} started this transfer; only they can {what} it."
        if kind == Kind.RESUME_CALL:
            target = transfer_target_leg(call=call, members=members)
            if target is None or target.state != State.TALKING:
                return "The transfer target has not answered yet; wait, or abort the transfer."
        return None
    if kind == JOIN:
        if not supervisor:
            return "Only supervisors can join a call."
        if actor_agent is None:
            return "You need an agent profile with a phone endpoint to join a call."
        if call.status != Call.Status.ACTIVE:
            return "The call has not been answered yet."
        if waiting := _customer_not_in_conversation(live):
            return f"{waiting}: there is no conversation to join yet."
        if is_on_call(members=members, agent=actor_agent):
            return "You are already on this call."
        if trigger_leg(call=call, members=members, actor_agent=actor_agent) is None:
            return "No agent is talking on this call to join."
        if len(live) >= MAX_PARTICIPANTS:
            return f"A call can have at most {MAX_PARTICIPANTS} participants."
        return None
    raise ValueError(f"{kind!r} is not a call-level action")


def member_action_refusal(
    *, kind: str, call: Call, member: Member, members: Sequence[Member]
) -> str | None:
    """Why `kind` is not possible on this member now, or None when it is. `members`: the
    call's legs (a hold asks whether the caller is with a recording)."""
    if not call.is_live:
        return "This call has ended."
    who = member_label(member)
    if not member.is_live:
        return f"{who} is no longer on the call."
    if kind == Kind.HOLD:
        if member.role == Role.NO_AGENT:
            return f"{who} plays a recording to the caller; it cannot be held, only hung up."
        if member.role == Role.CUSTOMER and any(
            m.role == Role.NO_AGENT and m.is_live for m in members
        ):
            return f"{who} is with the voicemail or the no-agent message, not with an agent."
        if call.transfer_kind:
            return (
                f"{describe_transfer(call)} is in progress; resume or abort it before using hold."
            )
        if member.state != State.TALKING:
            return (
                f"{who} is not talking ({member.get_state_display().lower()}), so cannot be held."
            )
        alone = not any(m.pk != member.pk and m.state in ON_THE_LINE for m in members)
        if alone and member.role != Role.CUSTOMER:
            # An agent waiting for the customer to answer: a hold would only greet the
            # customer with silence. (A customer left alone may be held: music, not silence.)
            return f"{who} is alone on the call: there is nobody to hold them from yet."
        return None
    if kind == Kind.UNHOLD:
        if member.state != State.ON_HOLD:
            return f"{who} is not on hold."
        if call.transfer_kind == Call.TransferKind.WARM and member.role == Role.CUSTOMER:
            # The consultation is private: taking the customer off hold would let them into
            # it. Its own buttons undo the hold (abort) or bring everyone together (resume).
            return (
                f"{describe_transfer(call)} is in progress: resume it to bring everyone "
                f"together, or abort it to take {who} off hold."
            )
        if call.transfer_kind == Call.TransferKind.COLD and member.role == Role.CUSTOMER:
            # Held until the ring is answered: taken off hold, the customer would be left
            # talking to nobody, without the music, once the agent leaves (review
            # 2026-12-07). Stopping the ring ends the transfer, and the hold is undoable.
            return (
                f"{describe_transfer(call)} is in progress: {who} waits on hold until it is "
                "answered. Hang up the ring to stop the transfer."
            )
        # Otherwise always allowed on a held member: a hold must never be impossible to undo.
        return None
    if kind == Kind.HANGUP:
        return None
    if kind == Kind.VOICEMAIL_DROP:
        if member.state != State.VOICEMAIL:
            return f"{who} was not answered by a voicemail machine."
        return None
    raise ValueError(f"{kind!r} is not a member-level action")


def call_actions(
    *, call: Call, members: Sequence[Member], actor_agent: Agent | None, supervisor: bool
) -> set[str]:
    """The call-level actions (transfers, resume, abort, join) this actor may take now."""
    if not may_act(call=call, members=members, actor_agent=actor_agent, supervisor=supervisor):
        # A supervisor may always act; JOIN needs no presence on the call.
        return set()
    return {
        kind
        for kind in CALL_LEVEL
        if call_action_refusal(
            kind=kind,
            call=call,
            members=members,
            actor_agent=actor_agent,
            supervisor=supervisor,
        )
        is None
    }


def member_permission_refusal(
    *,
    call: Call,
    member: Member,
    members: Sequence[Member],
    actor_agent: Agent | None,
    supervisor: bool,
    declining: bool = False,
) -> str | None:
    """Why this actor may not act on `member` now, whatever the leg's own state allows, or
    None. Supervisors may act on anyone. An agent may not:

    - act on anyone while a call offered to them still rings (they have not answered: Reject,
      `declining`, is theirs; hanging up their own ring is not, as it would not say they
      declined, and the caller would be offered to them again);
    - act on anyone but themselves when they are the colleague a warm transfer consults:
      the customer's hold and the transfer are the transferring agent's;
    - leave a warm transfer they started before its target answers (the customer would be
      left with a phone still ringing): they abort it, or wait;
    - hold or hang up a supervisor who joined the call."""
    if supervisor:
        return None
    mine = (
        next((m for m in _live(members) if m.agent_id == actor_agent.pk), None)
        if actor_agent is not None
        else None
    )
    is_me = mine is not None and member.pk == mine.pk
    ringing_offer = (
        mine is not None
        and mine.state in (State.PENDING, State.DIALLING)
        and is_offered_to(call=call, agent_id=actor_agent.pk)
    )
    if ringing_offer and not (is_me and declining):
        return "Answer the call on your phone first; until then you can only reject it."
    if mine is not None and not is_me:
        target = transfer_target_leg(call=call, members=members)
        if call.transfer_kind == Call.TransferKind.WARM and target and target.pk == mine.pk:
            return (
                f"{describe_transfer(call)} is in progress; as the colleague consulted "
                "you can only hang up yourself."
            )
    if is_me and call.transfer_kind == Call.TransferKind.WARM and member.role in AGENT_ROLES:
        target = transfer_target_leg(call=call, members=members)
        started = call.transfer_from_id == actor_agent.pk
        if started and target is not None and target.state != State.TALKING:
            who = member_label(target)
            return (
                f"{who} has not answered yet: abort the transfer, or wait until {who} "
                "answers before you leave the call."
            )
    if member.role == Role.SUPERVISOR and not is_me:
        return f"Only a supervisor can act on {member_label(member)}, a supervisor on the call."
    return None


def member_actions(
    *,
    call: Call,
    member: Member,
    actor_agent: Agent | None,
    supervisor: bool,
    members: Sequence[Member] | None = None,
) -> set[str]:
    """The actions (hold, unhold, hang up, voicemail drop) this actor may take on `member`.
    `members` defaults to `call.members.all()`, which is free when prefetched."""
    members = list(call.members.all()) if members is None else members
    if not may_act(call=call, members=members, actor_agent=actor_agent, supervisor=supervisor):
        return set()
    if member_permission_refusal(
        call=call, member=member, members=members, actor_agent=actor_agent, supervisor=supervisor
    ):
        return set()
    return {
        kind
        for kind in MEMBER_LEVEL
        if member_action_refusal(kind=kind, call=call, member=member, members=members) is None
        and own_leg_refusal(kind=kind, member=member, actor_agent=actor_agent) is None
    }


def own_leg_refusal(*, kind: str, member: Member, actor_agent: Agent | None) -> str | None:
    """Nobody puts their own leg on hold: they would hear music while nobody hears them. An
    agent holds the customer (`h`). Taking oneself off hold (a supervisor's hold) stays."""
    if kind == Kind.HOLD and actor_agent is not None and member.agent_id == actor_agent.pk:
        return "Put the customer on hold, not yourself."
    return None


def available_actions(
    *, call: Call, members: Sequence[Member], actor_agent: Agent | None, supervisor: bool
) -> dict:
    """Everything the UI needs for one call: {"call": set, "members": {member_pk: set}}."""
    return {
        "call": call_actions(
            call=call, members=members, actor_agent=actor_agent, supervisor=supervisor
        ),
        "members": {
            m.pk: member_actions(
                call=call,
                member=m,
                actor_agent=actor_agent,
                supervisor=supervisor,
                members=members,
            )
            for m in members
        },
    }
