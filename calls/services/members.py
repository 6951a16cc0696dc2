"""The buttons on one participant: hold, unhold, hang up, voicemail drop."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from calls.models import Action, Call, Member
from calls.phlo_client import get_phlo_client
from calls.services import rules
from calls.services.execution import (
    actor_for,
    authorize,
    claimed,
    load_member,
    refuse_if,
    send,
    succeed,
)
from calls.state import (
    call_changed,
    lock_call,
    member_set_state,
    on_member_gone,
)

Kind = Action.Kind
State = Member.State
Role = Member.Role


def member_hold(
    *,
    actor: AbstractBaseUser,
    member_id: int,
    call_id: int | None = None,
    actor_agent: Agent | None = None,
) -> Member:
    """Put one leg on hold (PHLO plays hold music to it; the others keep talking)."""
    return _member_action(
        actor=actor,
        member_id=member_id,
        call_id=call_id,
        actor_agent=actor_agent,
        kind=Kind.HOLD,
        failed_to=lambda m: f"Could not put {rules.member_label(m)} on hold",
        apply=lambda *, call, member, at: member_set_state(
            member=member, state=State.ON_HOLD, at=at
        ),
    )


def member_unhold(
    *,
    actor: AbstractBaseUser,
    member_id: int,
    call_id: int | None = None,
    actor_agent: Agent | None = None,
) -> Member:
    return _member_action(
        actor=actor,
        member_id=member_id,
        call_id=call_id,
        actor_agent=actor_agent,
        kind=Kind.UNHOLD,
        failed_to=lambda m: f"Could not take {rules.member_label(m)} off hold",
        apply=lambda *, call, member, at: member_set_state(
            member=member, state=State.TALKING, at=at
        ),
    )


def member_hangup(
    *,
    actor: AbstractBaseUser,
    member_id: int,
    call_id: int | None = None,
    actor_agent: Agent | None = None,
) -> Member:
    """Drop one leg. The call ends when no customer is left or nobody is left to talk to;
    a transfer target hung up ends the transfer with the customer back with the first agent
    (`calls.state`)."""
    return _member_action(
        actor=actor,
        member_id=member_id,
        call_id=call_id,
        actor_agent=actor_agent,
        kind=Kind.HANGUP,
        failed_to=lambda m: f"Could not hang up {rules.member_label(m)}",
        apply=_leg_gone(Member.EndCause.HUNG_UP),
    )


def member_decline(
    *,
    actor: AbstractBaseUser,
    member_id: int,
    call_id: int | None = None,
    actor_agent: Agent | None = None,
) -> Member:
    """An agent declines a call ringing on their own phone: that leg is hung up, and the
    leg remembers it was declined (the call may go to the next agent; the agent is asked
    for nothing, and presence says why they are not ready)."""
    return _member_action(
        actor=actor,
        member_id=member_id,
        call_id=call_id,
        actor_agent=actor_agent,
        kind=Kind.HANGUP,
        failed_to=lambda m: "Could not decline the call",
        apply=_leg_gone(Member.EndCause.DECLINED),
    )


def member_voicemail_drop(
    *,
    actor: AbstractBaseUser,
    member_id: int,
    call_id: int | None = None,
    actor_agent: Agent | None = None,
) -> Member:
    """Play the configured message to a voicemail machine and drop that leg."""
    return _member_action(
        actor=actor,
        member_id=member_id,
        call_id=call_id,
        actor_agent=actor_agent,
        kind=Kind.VOICEMAIL_DROP,
        failed_to=lambda m: f"Could not drop the voicemail for {rules.member_label(m)}",
        apply=_leg_gone(Member.EndCause.VOICEMAIL_DROPPED),
    )


def _leg_gone(cause: str) -> Callable[..., None]:
    def apply(*, call: Call, member: Member, at: datetime) -> None:
        if member_set_state(member=member, state=State.LEFT, at=at, cause=cause):
            on_member_gone(call=call, member=member, at=at)

    return apply


def _member_action(
    *,
    actor: AbstractBaseUser,
    member_id: int,
    call_id: int | None,
    actor_agent: Agent | None,
    kind: str,
    failed_to: Callable[[Member], str],
    apply: Callable[..., object],
) -> Member:
    who = actor_for(actor, agent=actor_agent)
    call, members, member = load_member(member_id=member_id, call_id=call_id)
    authorize(actor=who, call=call, members=members)
    refuse_if(rules.member_action_refusal(kind=kind, call=call, member=member))
    client = get_phlo_client()
    request = client.prepare_member_action(member_address=member.address, action=kind)
    with claimed(
        actor=who,
        call_id=call.pk,
        kind=kind,
        target=member.address,
        member=member,
        request=request,
        version=call.version,
    ) as action:
        if not action.call_unchanged:
            # The call changed before it was ours: decide on fresh state.
            call, members, member = load_member(member_id=member_id, call_id=call.pk)
            refuse_if(rules.member_action_refusal(kind=kind, call=call, member=member))
            request = client.prepare_member_action(member_address=member.address, action=kind)
        result = send(action=action, client=client, request=request, failed_to=failed_to(member))
        with transaction.atomic():
            locked = lock_call(call_id=call.pk)
            fresh = Member.objects.get(pk=member_id)
            at = timezone.now()
            apply(call=locked, member=fresh, at=at)
            succeed(action=action, result=result, call=locked, at=at)
            call_changed(call=locked, at=at)
    return Member.objects.select_related("agent__user", "customer", "call").get(pk=member_id)
