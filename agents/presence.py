"""Agent status follows their calls, so nobody is left stuck in a state.

- An agent with a live leg in any call is "on a call".
- When their last leg ends they go to wrap-up for AGENT_WRAP_UP_SECONDS if their part of a
  call asks them for a disposition (the call's rules record it: `calls.models.WrapUp`, for
  the customer conversation they owned), then back to Available (or to the Away/Offline they
  asked for meanwhile, `next_status`). A consulted agent or a supervisor who barged in goes
  straight back.
- A call offered to them (inbound, or transferred) that they declined, let ring out, or
  that their phone could not take puts them Away with the reason, so calls are not routed
  again and again to an empty desk.
- Away and Offline are the agent's own choice: a call that reaches them anyway returns them
  there afterwards.
- An expired wrap-up already counts as Available for routing (see `agents.availability`); the
  desktop's websocket consumer and every read path flip it for real with
  `agent_wrap_up_expire`, which is safe to call from many places at once.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from agents.models import Agent
from calls.events import AgentChanged, CallChanged, CallEndRetold, CustomerCutOff, announce
from calls.models import Action, Call, Member, WrapUp
from calls.phlo_client import PhloError
from calls.services.errors import ServiceError
from calls.services.members import member_decline
from calls.services.rules import is_offered_to

logger = logging.getLogger(__name__)

Status = Agent.Status
# Statuses an agent picks; the others follow calls.
CHOOSABLE = (Status.AVAILABLE, Status.AWAY, Status.OFFLINE)
MISSED_CALL_REASON = "Missed a call"
DECLINED_REASON = "Declined a call"
UNREACHABLE_REASON = "Phone not reachable"
OFFER_WITHDRAWN_REASON = "Offered call withdrawn"
# Away for one of these was the call's doing, not the agent's choice.
AFTER_CALL_REASONS = (
    MISSED_CALL_REASON,
    DECLINED_REASON,
    UNREACHABLE_REASON,
    OFFER_WITHDRAWN_REASON,
)


# Extend pressed after the wrap-up ended (it ran out, or another tab ended it). End wrap-up
# then is no error: the agent is where they asked to be (and the desktop sends it beside the
# cards' Save wrap-up, whose last one may end the wrap-up first).
NOT_IN_WRAP_UP = "Your wrap-up had already ended, so there was nothing to extend."


class StatusChangeRefused(ValueError):
    """The requested status change is not possible; `message` says why, for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def wrap_up_seconds() -> int:
    return int(settings.AGENT_WRAP_UP_SECONDS)


def away_reasons() -> list[str]:
    return list(settings.AGENT_AWAY_REASONS)


def agent_set_status(
    *, agent: Agent, status: str, reason: str = "", at: datetime | None = None
) -> bool:
    """Low-level: store a status and publish it. Callers hold the agent's row lock."""
    at = at or timezone.now()
    wrap_until = at + timedelta(seconds=wrap_up_seconds()) if status == Status.WRAP_UP else None
    if agent.status == status and agent.status_reason == reason and status != Status.WRAP_UP:
        return False
    if agent.status != status:
        agent.status_changed_at = at
    agent.status = status
    agent.status_reason = reason
    agent.wrap_up_until = wrap_until
    if status in (Status.AWAY, Status.OFFLINE, Status.AVAILABLE) and agent.next_status:
        # Reaching any resting state settles what was pending.
        agent.next_status = ""
        agent.next_status_reason = ""
    agent.save(
        update_fields=[
            "status",
            "status_reason",
            "status_changed_at",
            "wrap_up_until",
            "next_status",
            "next_status_reason",
        ]
    )
    announce(AgentChanged(agent_id=agent.pk, status=status))
    return True


def _rest(*, agent: Agent, at: datetime) -> None:
    """Leave a call or wrap-up for the resting state the agent asked for."""
    if agent.next_status:
        agent_set_status(
            agent=agent, status=agent.next_status, reason=agent.next_status_reason, at=at
        )
    else:
        agent_set_status(agent=agent, status=Status.AVAILABLE, at=at)


def _locked(agent_id: int) -> Agent:
    return Agent.objects.select_for_update().select_related("user").get(pk=agent_id)


@transaction.atomic
def agent_choose_status(
    *, agent: Agent, status: str, reason: str = "", at: datetime | None = None
) -> Agent:
    """The agent picks Available, Away (with a reason) or Offline on their desktop.

    While on a call, Away and Offline are remembered and applied after the call and its
    wrap-up; Available cancels that. During wrap-up, Available ends it early.
    """
    at = at or timezone.now()
    reason = (reason or "").strip()
    if status not in CHOOSABLE:
        raise StatusChangeRefused(
            "Choose Available, Away or Offline; the other statuses follow your calls."
        )
    if status == Status.AWAY:
        if not reason:
            raise StatusChangeRefused("Pick a reason for being away.")
        if len(reason) > 120:
            raise StatusChangeRefused("Keep the away reason under 120 characters.")
    else:
        reason = ""
    agent = _locked(agent.pk)
    if agent.status == Status.ON_CALL:
        agent.next_status = "" if status == Status.AVAILABLE else status
        agent.next_status_reason = reason if status == Status.AWAY else ""
        agent.save(update_fields=["next_status", "next_status_reason"])
        announce(AgentChanged(agent_id=agent.pk, status=agent.status))
        if status != Status.AVAILABLE:
            _decline_ringing_offers(agent=agent)
        return agent
    agent.next_status = ""
    agent.next_status_reason = ""
    if not agent_set_status(agent=agent, status=status, reason=reason, at=at):
        agent.save(update_fields=["next_status", "next_status_reason"])
    return agent


@transaction.atomic
def agent_end_wrap_up(*, agent: Agent, at: datetime | None = None) -> bool:
    """End wrap-up early: to the status asked for during the call, else Available."""
    at = at or timezone.now()
    agent = _locked(agent.pk)
    if agent.status != Status.WRAP_UP:
        return False
    _rest(agent=agent, at=at)
    return True


@transaction.atomic
def agent_extend_wrap_up(*, agent: Agent, seconds: int, at: datetime | None = None) -> bool:
    """Give the agent more after-call time, from now or from the current end, whichever later."""
    at = at or timezone.now()
    agent = _locked(agent.pk)
    if agent.status != Status.WRAP_UP:
        return False
    start = max(at, agent.wrap_up_until or at)
    agent.wrap_up_until = start + timedelta(seconds=max(1, int(seconds)))
    agent.save(update_fields=["wrap_up_until"])
    announce(AgentChanged(agent_id=agent.pk, status=agent.status))
    return True


def agent_wrap_up_due(*, agent: Agent, at: datetime | None = None) -> bool:
    """Whether this reading of the agent shows a wrap-up that has run out (for
    `agent_wrap_up_expire` to flip): a check without the lock, for readers who render."""
    at = at or timezone.now()
    return (
        agent.status == Status.WRAP_UP
        and agent.wrap_up_until is not None
        and agent.wrap_up_until <= at
    )


def agent_wrap_up_expire(*, agent_id: int, at: datetime | None = None) -> bool:
    """Flip an expired wrap-up to Available (or the pending status). Idempotent and safe to run
    from every open desktop at once: only the caller whose conditional UPDATE wins publishes."""
    at = at or timezone.now()
    with transaction.atomic():
        agent = (
            Agent.objects.select_for_update()
            .filter(pk=agent_id, status=Status.WRAP_UP, wrap_up_until__lte=at)
            .first()
        )
        if agent is None:
            return False
        status = agent.next_status or Status.AVAILABLE
        reason = agent.next_status_reason if agent.next_status else ""
        won = Agent.objects.filter(
            pk=agent_id, status=Status.WRAP_UP, wrap_up_until=agent.wrap_up_until
        ).update(
            status=status,
            status_reason=reason,
            # The agent has been free since the wrap-up ended, not since someone noticed.
            status_changed_at=agent.wrap_up_until,
            wrap_up_until=None,
            next_status="",
            next_status_reason="",
        )
        if won:
            announce(AgentChanged(agent_id=agent_id, status=status))
        return bool(won)


def agents_expire_wrap_ups(*, at: datetime | None = None) -> int:
    """Flip every expired wrap-up (routing runs this before choosing an agent)."""
    at = at or timezone.now()
    ids = list(
        Agent.objects.filter(status=Status.WRAP_UP, wrap_up_until__lte=at).values_list(
            "pk", flat=True
        )
    )
    return sum(agent_wrap_up_expire(agent_id=agent_id, at=at) for agent_id in ids)


@transaction.atomic
def agent_signed_out(*, agent: Agent, at: datetime | None = None) -> None:
    """Logging out makes the agent Offline; on a call, once the call is over."""
    at = at or timezone.now()
    agent = _locked(agent.pk)
    if agent.status == Status.ON_CALL:
        agent.next_status = Status.OFFLINE
        agent.next_status_reason = ""
        agent.save(update_fields=["next_status", "next_status_reason"])
        announce(AgentChanged(agent_id=agent.pk, status=agent.status))
        _decline_ringing_offers(agent=agent)
        return
    agent_set_status(agent=agent, status=Status.OFFLINE, at=at)


@transaction.atomic
def agent_signed_in(*, agent: Agent) -> None:
    """Logging in again during the call, or the wrap-up after it, cancels the Offline that
    logging out asked for after it: the agent is back at work (they can still choose
    Offline)."""
    agent = _locked(agent.pk)
    busy = agent.status in (Status.ON_CALL, Status.WRAP_UP)
    if busy and agent.next_status == Status.OFFLINE:
        agent.next_status = ""
        agent.next_status_reason = ""
        agent.save(update_fields=["next_status", "next_status_reason"])
        announce(AgentChanged(agent_id=agent.pk, status=agent.status))


def _decline_ringing_offers(*, agent: Agent) -> None:
    """An agent who goes away (or signs out) while an inbound call rings on their phone does
    not take it: after this commits, their leg is declined and the caller goes to the next
    agent (`agents.services.routing`)."""
    ringing = list(
        Member.objects.filter(
            agent=agent,
            state=Member.State.DIALLING,
            call__direction=Call.Direction.INBOUND,
            call__status__in=Call.LIVE_STATUSES,
            call__answered_at__isnull=True,
        ).values_list("pk", "call_id")
    )
    for member_id, call_id in ringing:
        transaction.on_commit(
            lambda m=member_id, c=call_id: _decline_quietly(agent=agent, member_id=m, call_id=c)
        )


def _decline_quietly(*, agent: Agent, member_id: int, call_id: int) -> None:
    try:
        member_decline(actor=agent.user, actor_agent=agent, member_id=member_id, call_id=call_id)
    except (ServiceError, PhloError):
        # The call may have moved on (answered, ended); if the leg still rings, it rings out
        # and routing offers the call to the next agent then.
        logger.warning("could not decline call %s for agent %s going away", call_id, agent.pk)


def _after_call_status(*, agent: Agent) -> tuple[str, str]:
    """Where an agent whose last live leg just ended goes: wrap-up if a call of this spell on
    calls asks them for a disposition, Away if they declined or missed an offered call or
    their phone failed, else rest."""
    owes = WrapUp.objects.filter(
        agent=agent,
        disposition_required=True,
        done_at__isnull=True,
        created_at__gte=agent.status_changed_at,
    )
    if owes.exists():
        return Status.WRAP_UP, ""
    if agent.next_status:
        return "", ""  # what they asked for while on the call comes first
    last = (
        Member.objects.filter(agent=agent)
        .select_related("call")
        .order_by(F("left_at").desc(nulls_last=True), "-pk")
        .first()
    )
    if last is None or last.answered_at is not None:
        return "", ""
    if not is_offered_to(call=last.call, agent_id=agent.pk):
        return "", ""
    if last.state == Member.State.NO_ANSWER:
        return Status.AWAY, MISSED_CALL_REASON
    if last.state == Member.State.BUSY or last.end_cause == Member.EndCause.DECLINED:
        return Status.AWAY, DECLINED_REASON
    if last.end_cause == Member.EndCause.HUNG_UP and _ring_hung_up(last):
        # Someone else stopped the call ringing on their phone (the agent may only Reject;
        # an aborted transfer is no press on their ring): likely not at the desk, so not
        # offered the caller again at once.
        return Status.AWAY, OFFER_WITHDRAWN_REASON
    if last.state == Member.State.FAILED:
        return Status.AWAY, UNREACHABLE_REASON
    return "", ""


def _ring_hung_up(leg: Member) -> bool:
    """A Hang up was pressed on this agent's ringing leg (a queue offer or a transfer's)."""
    return (
        leg.role == Member.Role.AGENT
        and Action.objects.filter(member=leg, kind=Action.Kind.HANGUP).exists()
    )


def agents_follow_calls(*, agent_ids: Iterable[int], at: datetime | None = None) -> None:
    """Re-derive 'on a call' / wrap-up for these agents from their live legs."""
    ids = set(agent_ids)
    if not ids:
        return
    at = at or timezone.now()
    busy = set(
        Member.objects.live_legs().filter(agent_id__in=ids).values_list("agent_id", flat=True)
    )
    for agent in Agent.objects.filter(pk__in=ids).select_for_update().order_by("pk"):
        if agent.pk in busy:
            if agent.status == Status.ON_CALL:
                continue
            if agent.status in (Status.AWAY, Status.OFFLINE) and not agent.next_status:
                # A call reached them anyway; afterwards they go back to what they chose. An
                # earlier call's reason ("Offered call withdrawn") is no choice of theirs and
                # would tell of something that did not happen again: plain Away.
                agent.next_status = agent.status
                reason = agent.status_reason
                agent.next_status_reason = "" if reason in AFTER_CALL_REASONS else reason
            agent_set_status(agent=agent, status=Status.ON_CALL, at=at)
        elif agent.status == Status.ON_CALL:
            status, reason = _after_call_status(agent=agent)
            if status == Status.WRAP_UP:
                agent_set_status(agent=agent, status=Status.WRAP_UP, at=at)
            elif status == Status.AWAY:
                agent_set_status(agent=agent, status=Status.AWAY, reason=reason, at=at)
            else:
                _rest(agent=agent, at=at)


def agents_follow_call(event: CallChanged) -> None:
    """Listens to `CallChanged` (see `AgentsConfig.ready`): the agents a change concerns
    follow it, in the change's own transaction. A change in which no leg came or went (a
    hold) leaves every agent's presence as it was: nothing is read."""
    if not event.legs_came_or_went:
        return
    agents_follow_calls(agent_ids=event.agent_ids, at=event.at)


def agent_back_to_a_cut_off_call(event: CustomerCutOff) -> None:
    """Listens to `CustomerCutOff` (see `AgentsConfig.ready`). The agent's handed-on customer
    was cut off: one who is free goes back to wrap-up (so no caller is offered to them
    before they have called the customer back), and one still in wrap-up has their full
    after-call time from now. One on a call, Away or Offline keeps their status; the call's
    card tells them either way."""
    at = event.at or timezone.now()
    agent = Agent.objects.select_for_update().filter(pk=event.agent_id).first()
    if agent is None or agent.status not in (Status.AVAILABLE, Status.WRAP_UP):
        return
    if Member.objects.live_legs().filter(agent_id=agent.pk).exists():
        return
    until = at + timedelta(seconds=wrap_up_seconds())
    if agent.status == Status.WRAP_UP and agent.wrap_up_until and agent.wrap_up_until >= until:
        return  # they already have longer (+30 s)
    agent_set_status(agent=agent, status=Status.WRAP_UP, at=at)


def agents_settle_again(event: CallEndRetold) -> None:
    """Listens to `CallEndRetold` (see `AgentsConfig.ready`). An agent whose status is still
    the one this call's end gave them (nothing changed it since their leg on it ended, and
    they have no live leg) takes the one the call's fuller story gives: wrap-up if they turn
    out to owe a disposition, Away if the leg offered to them turns out busy or missed. The
    provider reorders callbacks, so the end may reach us before how the call went."""
    ids = set(event.agent_ids)
    if not ids:
        return
    at = event.at or timezone.now()
    busy = set(
        Member.objects.live_legs().filter(agent_id__in=ids).values_list("agent_id", flat=True)
    )
    resting = (
        Agent.objects.filter(pk__in=ids - busy, status__in=(Status.AVAILABLE, Status.AWAY))
        .select_for_update()
        .order_by("pk")
    )
    for agent in resting:
        if agent.status == Status.AWAY and agent.status_reason not in AFTER_CALL_REASONS:
            continue  # their own choice
        last = (
            Member.objects.filter(agent=agent)
            .order_by(F("left_at").desc(nulls_last=True), "-pk")
            .only("call_id", "left_at")
            .first()
        )
        if last is None or last.call_id != event.call_id or last.left_at != agent.status_changed_at:
            continue  # their status is no longer this call's end's doing
        status, reason = _after_call_status(agent=agent)
        if status and (status, reason) != (agent.status, agent.status_reason):
            agent_set_status(agent=agent, status=status, reason=reason, at=at)
