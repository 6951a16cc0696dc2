"""The buttons on one participant: hold, unhold, hang up, decline, voicemail drop.

Each is the same path (`calls.services.execution.perform`) with its own rule, PHLO action and
state change, so each is made by `_member_button` from those three.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from django.contrib.auth.models import AbstractBaseUser

from agents.models import Agent
from calls.models import Action, Call, Member
from calls.phlo_client import get_phlo_client
from calls.services import rules
from calls.services.errors import NotAllowed, NotFound
from calls.services.execution import (
    MEMBER_GONE,
    Plan,
    actor_for,
    authorize,
    load_member,
    perform,
    refuse_if,
)
from calls.state import STARTS_CALL, member_set_state, on_member_gone

Kind = Action.Kind
State = Member.State
Cause = Member.EndCause

# How the change reads on one member, with the call locked.
Change = Callable[..., None]


def _member_button(
    *, button: tuple[str, str, Change], doc: str, declining: bool = False
) -> Callable[..., Member]:
    """A button's service: `_member_action` with its action, wording and change bound."""
    kind, failed_to, change = button
    service = partial(
        _member_action, kind=kind, failed_to=failed_to, change=change, declining=declining
    )
    service.__doc__ = doc
    return service


def _set_state(state: str) -> Change:
    def change(*, call: Call, member: Member, at: datetime) -> None:
        member_set_state(member=member, state=state, at=at)

    return change


def _leg_gone(cause: str) -> Change:
    def change(*, call: Call, member: Member, at: datetime) -> None:
        if member_set_state(member=member, state=State.LEFT, at=at, cause=cause):
            on_member_gone(call=call, member=member, at=at)

    return change


def _member_action(
    *,
    actor: AbstractBaseUser,
    member_id: int,
    call_id: int | None = None,
    actor_agent: Agent | None = None,
    kind: str,
    failed_to: str,
    change: Change,
    declining: bool = False,
) -> Member:
    """The member as it is now, after the change (its call is `call_id` on it).

    `call_id`: the member's call when the caller already knows it; `actor_agent`: the acting
    user's agent when the caller already has it (both checked, `calls.services.execution`).
    A declined leg remembers it was declined: the agent is asked for nothing, and presence
    says why they are not ready. `declining`: the Reject of a call ringing for the actor, the
    one thing they may do to it before answering (`rules.member_permission_refusal`)."""
    who = actor_for(actor, agent=actor_agent)
    call, members, _ = load_member(member_id=member_id, call_id=call_id)
    authorize(actor=who, call=call, members=members)
    client = get_phlo_client()

    def decide(call: Call, members: list[Member]) -> Plan:
        member = next((m for m in members if m.pk == member_id), None)
        if member is None:
            raise NotFound(MEMBER_GONE)
        refused = rules.member_permission_refusal(
            call=call,
            member=member,
            members=members,
            actor_agent=who.agent,
            supervisor=who.supervisor,
            declining=declining,
        )
        if refused:
            raise NotAllowed(refused)
        refuse_if(rules.member_action_refusal(kind=kind, call=call, member=member, members=members))
        refused = rules.own_leg_refusal(kind=kind, member=member, actor_agent=who.agent)
        if refused:
            raise NotAllowed(refused)
        ended = _leg_to_end(member=member, members=members) if kind == Kind.HANGUP else member
        return Plan(
            request=client.prepare_member_action(member_address=ended.address, action=kind),
            failed_to=_worded(failed_to, member=member),
            target=ended.address,
            member=ended,
        )

    def reload() -> tuple[Call, list[Member]]:
        call_now, members_now, _ = load_member(member_id=member_id, call_id=call.pk)
        return call_now, members_now

    def apply(*, call: Call, plan: Plan, action: Action, at: datetime) -> Member:
        # Read again under the lock: a callback may have moved it since it was decided on.
        fresh = Member.objects.get(pk=plan.member.pk)
        change(call=call, member=fresh, at=at)
        return fresh

    return perform(
        actor=who,
        kind=kind,
        call=call,
        members=members,
        decide=decide,
        reload=reload,
        apply=apply,
        client=client,
        trust_version=True,  # the rule reads only the call and the member
    )


def _leg_to_end(*, member: Member, members: list[Member]) -> Member:
    """The leg a Hang up ends. A number not dialled yet waits behind our side's ringing
    phone, and the provider dials it only once that phone answers: ending the ring cancels
    the call, and the number is never dialled. Ending only the number would leave that
    phone ringing for a call that is over, where routing could ring it again."""
    if member.state != State.PENDING:
        return member
    ringing = [m for m in members if m.role in STARTS_CALL and m.state == State.DIALLING]
    return ringing[0] if len(ringing) == 1 else member


def _worded(failed_to: str, *, member: Member) -> str:
    # The label only where the wording names the member (it may read the member's agent).
    if "{member}" not in failed_to:
        return failed_to
    return failed_to.format(member=rules.member_label(member))


# Bound at the end: they name the functions above. Each button: its action, how a PHLO
# failure reads ("{member}": who), its change.
_BUTTONS: dict[str, tuple[str, str, Change]] = {
    "hold": (Kind.HOLD, "Could not put {member} on hold", _set_state(State.ON_HOLD)),
    "unhold": (Kind.UNHOLD, "Could not take {member} off hold", _set_state(State.TALKING)),
    "hangup": (Kind.HANGUP, "Could not hang up {member}", _leg_gone(Cause.HUNG_UP)),
    "decline": (Kind.HANGUP, "Could not decline the call", _leg_gone(Cause.DECLINED)),
    "drop": (
        Kind.VOICEMAIL_DROP,
        "Could not drop the voicemail for {member}",
        _leg_gone(Cause.VOICEMAIL_DROPPED),
    ),
}
member_hold = _member_button(
    button=_BUTTONS["hold"],
    doc="Put one leg on hold (PHLO plays hold music to it; the others keep talking).",
)
member_unhold = _member_button(
    button=_BUTTONS["unhold"], doc="Take one leg off hold: it talks with the others again."
)
member_hangup = _member_button(
    button=_BUTTONS["hangup"],
    doc="Drop one leg; whether the call or a transfer goes on is `calls.state`'s rule.",
)
member_decline = _member_button(
    button=_BUTTONS["decline"],
    doc="Hang up a call ringing on one's own phone, as declined (routing may offer it on).",
    declining=True,
)
member_voicemail_drop = _member_button(
    button=_BUTTONS["drop"],
    doc="Play the configured message to a voicemail machine and drop that leg.",
)
