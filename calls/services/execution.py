"""The steps every button shares: who is acting, may they, claim the call, ask PHLO, record.

`perform` runs them in order, once for every button on an existing call: check → claim →
(reload → re-check, when the call may have changed) → send → apply. Each service then reads as
its own rules (a `decide` step) and state change (an `apply` step).

A PHLO action that times out, or whose connection drops after the request went out, may
still have happened (POSTs are not idempotent and never retried): `send` raises
`PhloOutcomeUnknown` for those, and `PhloFailed` only when PHLO certainly did nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from agents.models import Agent
from agents.profiles import acting_profile
from calls import selectors
from calls.addresses import InvalidAddress, dialable_address
from calls.models import Action, Call, Member
from calls.phlo_client import ErrorKind, PhloClient, PhloError, PhloRequest, PhloResult
from calls.services import claims
from calls.services.addressing import refuse_if_shared
from calls.services.errors import (
    InvalidInput,
    InvalidState,
    NotAllowed,
    NotFound,
    PhloFailed,
    PhloOutcomeUnknown,
    ServiceError,
)
from calls.services.rules import call_action_refusal, may_act
from calls.state import call_changed, lock_call

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    user: object
    agent: Agent | None
    supervisor: bool


def actor_for(user, *, agent: Agent | None = None) -> Actor:
    """Who is acting: the user's agent and supervisor flag from their cached profile
    (`agents.profiles.acting_profile`: no query once cached). `agent`: the user's agent when
    the caller already has it in this request (checked to be theirs)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        raise NotAllowed("Sign in to act on calls.")
    profile = acting_profile(user=user, agent=agent)
    if agent is None:
        agent = profile.agent
    elif agent.user_id != user.pk:
        raise ValueError(f"agent {agent.pk} is not user {user.pk}'s")
    return Actor(user=user, agent=agent, supervisor=profile.supervisor)


def authorize(*, actor: Actor, call: Call, members: list[Member]) -> None:
    if may_act(call=call, members=members, actor_agent=actor.agent, supervisor=actor.supervisor):
        return
    if actor.agent is None:
        raise NotAllowed("Only the call's agents and supervisors can act on a call.")
    raise NotAllowed("You are not on this call; only its agents and supervisors can act on it.")


def refuse_if(reason: str | None) -> None:
    if reason:
        raise InvalidState(reason)


# A consult just ended by someone else's press: the refusal says whose (what the press
# raced against, a moment ago).
_ENDED_THE_CONSULT = {
    Action.Kind.RESUME_CALL: "resumed the call after the transfer",
    Action.Kind.ABORT_TRANSFER: "aborted the transfer",
}
_JUST_NOW = timedelta(minutes=1)


def refuse_call_action(*, actor: Actor, kind: str, call: Call, members: list[Member]) -> None:
    """InvalidState when the call's state does not allow `kind` (`rules.call_action_refusal`).
    A resume or abort that finds the consult just ended by someone's press says who."""
    reason = call_action_refusal(
        kind=kind,
        call=call,
        members=members,
        actor_agent=actor.agent,
        supervisor=actor.supervisor,
    )
    if reason and kind in _ENDED_THE_CONSULT and not call.transfer_kind:
        reason = _who_ended_the_consult(call=call, actor=actor) or reason
    refuse_if(reason)


def _who_ended_the_consult(*, call: Call, actor: Actor) -> str:
    last = (
        Action.objects.filter(
            call=call,
            kind__in=list(_ENDED_THE_CONSULT),
            outcome=Action.Outcome.SUCCEEDED,
            finished_at__gte=timezone.now() - _JUST_NOW,
        )
        .select_related("actor")
        .order_by("-finished_at", "-pk")
        .first()
    )
    if last is None:
        return ""
    if last.actor_id == actor.user.pk:
        who = "You"
    elif last.actor is not None:
        who = last.actor.get_full_name() or last.actor.get_username()
    else:
        who = "Someone"
    return f"{who} already {_ENDED_THE_CONSULT[last.kind]}."


def dialable(raw: str) -> str:
    """The canonical address to dial for `raw`, read as a person types it (a number without
    "+" is local to PHONE_DEFAULT_REGION): every address a service dials passes here."""
    try:
        return dialable_address(raw, default_region=settings.PHONE_DEFAULT_REGION)
    except InvalidAddress as exc:
        raise InvalidInput(str(exc)) from exc


def load_call(*, call_id: int) -> tuple[Call, list[Member]]:
    try:
        call = selectors.call_with_members(call_id=call_id)
    except Call.DoesNotExist:
        raise NotFound("This call no longer exists.") from None
    return call, list(call.members.all())


MEMBER_GONE = "That participant is no longer on record."


def load_member(*, member_id: int, call_id: int | None = None) -> tuple[Call, list[Member], Member]:
    """The member's call, all its members, and the member, in one query. `call_id`, when
    the caller already knows the member's call (a member never changes call), narrows it;
    a member not on that call, or a call gone with its members, is then NotFound as well."""
    members = selectors.members_with_their_call(member_id=member_id, call_id=call_id)
    member = next((m for m in members if m.pk == member_id), None)
    if member is None:
        raise NotFound(MEMBER_GONE)
    return member.call, members, member


def agent_busy_elsewhere(*, agent: Agent, call_id: int | None = None) -> bool:
    """Whether the agent's phone is in use by another live call."""
    legs = Member.objects.live_legs().filter(agent=agent)
    if call_id is not None:
        legs = legs.exclude(call_id=call_id)
    return legs.exists()


@contextmanager
def claimed(
    *,
    actor: Actor,
    call_id: int,
    kind: str,
    target: str = "",
    member: Member | None = None,
    request: PhloRequest | None = None,
    version: int | None = None,
) -> Iterator[Action]:
    """Record the action and claim the call for it. The caller marks success (with
    `succeed`, inside its state transaction); any error leaves here recorded as the action's
    failure, with the claim released, and is raised on.

    `request`, when already known, is stored with the action in the same INSERT, so `send`
    need not write it again; an action that fails before `send` keeps no request.

    `version`, the call's version as the caller read it: `action.call_unchanged` then says
    whether the claim found the call unchanged since (see `claims.claim`)."""
    action = new_action(
        call_id=call_id, member=member, actor=actor.user, kind=kind, target=target, request=request
    )
    try:
        action.call_unchanged = claims.claim(call_id=call_id, action=action, version=version)
    except ServiceError as error:
        record_failure(action=action, error=error)
        raise
    with guarded(action=action, call_id=call_id):
        yield action


def new_action(*, request: PhloRequest | None = None, **fields) -> Action:
    """INSERT an action, with the request it is about to send when known (one write instead
    of two); `sent` stays False until `send` is called."""
    action = Action.objects.create(**fields, request=request.as_record() if request else {})
    action.sent = False
    return action


@contextmanager
def guarded(*, action: Action, call_id: int) -> Iterator[Action]:
    """For an action that holds its call's claim: record any error as its failure and
    release the claim."""
    try:
        yield action
    except BaseException as error:
        # Bugs included: nothing may leave the call claimed until the claim goes stale.
        record_failure(action=action, error=error)
        claims.release(call_id=call_id, action=action)
        raise


def record_failure(*, action: Action, error: BaseException) -> None:
    """Mark a still-pending action failed with what went wrong. Idempotent: a result already
    recorded (success or failure) is kept."""
    fields = {
        "outcome": Action.Outcome.FAILED,
        "finished_at": timezone.now(),
    }
    if isinstance(error, PhloFailed):
        fields |= {
            "error_kind": (
                PhloOutcomeUnknown.error_kind
                if isinstance(error, PhloOutcomeUnknown)
                else error.kind
            ),
            "error": error.message,
            "http_status": error.status,
            "api_id": error.api_id or "",
        }
        if error.error.request is not None:
            fields["request"] = error.error.request.as_record()
    elif isinstance(error, ServiceError):
        fields |= {"error_kind": error.code, "error": error.message}
    else:
        logger.exception("action %s (%s) failed unexpectedly", action.pk, action.kind)
        fields |= {"error_kind": "internal", "error": f"Internal error ({type(error).__name__})."}
    if not getattr(action, "sent", True) and not isinstance(error, PhloFailed):
        # Stored ahead with the INSERT but never sent: the record must not say it was.
        fields["request"] = {}
    try:
        # Only a pending action: a success already recorded is never overwritten.
        Action.objects.filter(pk=action.pk, outcome=Action.Outcome.PENDING).update(**fields)
    except Exception:  # pragma: no cover - the original error matters more
        logger.exception("could not record the failure of action %s", action.pk)


def send(
    *,
    action: Action,
    client: PhloClient,
    request: PhloRequest,
    failed_to: str,
    if_unknown: Callable[[PhloError], str] | None = None,
) -> PhloResult:
    """Store what is about to be sent, send it (no transaction may be open here) and turn a
    PHLO failure into PhloFailed("<failed_to>: <reason>"), or into PhloOutcomeUnknown when
    PHLO may have acted anyway (`if_unknown(error)`, when given, words that message)."""
    record = request.as_record()
    # Recorded before it is sent, so a crash mid-request leaves a trace; written here only
    # when the INSERT did not already store this exact request.
    if action.request != record:
        Action.objects.filter(pk=action.pk).update(request=record)
        action.request = record
    action.sent = True
    try:
        return client.send(request)
    except PhloError as error:
        if outcome_unknown(error):
            if if_unknown is not None:
                message = if_unknown(error)
            else:
                message = unknown_message(failed_to=failed_to, error=error)
            raise PhloOutcomeUnknown(message, error=error) from error
        raise PhloFailed(f"{failed_to}: {error.message}", error=error) from error


def outcome_unknown(error: PhloError) -> bool:
    """Whether PHLO may have carried out the POST that failed: it timed out waiting for the
    answer, or the connection broke after the request could have gone out. A refused or
    unresolvable connection, and any answer PHLO gave (4xx, 5xx...), are certain failures."""
    if error.request is not None and error.request.method != "POST":
        return False
    if error.kind == ErrorKind.TIMEOUT:
        return True
    if error.kind != ErrorKind.CONNECTION:
        return False
    return not _failed_before_sending(error.__cause__)


def _failed_before_sending(cause: BaseException | None) -> bool:
    # No cause to read: we cannot rule out that it was sent.
    if cause is None:
        return False
    # The TLS handshake and the TCP connect come before any byte of the request.
    if isinstance(cause, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
        return True
    reason = cause.args[0] if cause.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    # Refused, unresolvable (a NewConnectionError too) or too slow to connect.
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def unknown_message(*, failed_to: str, error: PhloError) -> str:
    """E.g. "PHLO did not answer in time when asked to put Dana on hold, so the outcome is
    unknown: ..." from failed_to="Could not put Dana on hold"."""
    what = failed_to.removeprefix("Could not ").strip() or "do this"
    how = (
        "did not answer in time"
        if error.kind == ErrorKind.TIMEOUT
        else "dropped the connection before answering"
    )
    return (
        f"PHLO {how} when asked to {what}, so the outcome is unknown: it may still happen."
        " The call updates when PHLO reports; check it before trying again."
    )


def succeed(*, action: Action, result: PhloResult, call: Call, at) -> None:
    """Inside the state transaction, with `call` locked: mark the action succeeded and free
    the call (the caller then saves it through `calls.state.call_changed`)."""
    action.outcome = Action.Outcome.SUCCEEDED
    action.http_status = result.status
    action.api_id = result.api_id
    action.finished_at = at
    action.error_kind = ""
    action.error = ""
    action.save()
    if call.pending_action_id == action.pk:
        call.pending_action = None


def ringing_leg(*, call: Call, address: str, role: str, agent: Agent | None) -> Member:
    """The new leg being dialled. If a callback got here first and recorded it, use that."""
    existing = call.members.filter(address=address, state__in=Member.LIVE_STATES).first()
    if existing is not None:
        if agent is not None and existing.agent_id is None:
            existing.agent = agent
            existing.save(update_fields=["agent"])
        return existing
    try:
        with transaction.atomic():
            return Member.objects.create(call=call, address=address, role=role, agent=agent)
    except IntegrityError:
        return call.members.get(address=address, state__in=Member.LIVE_STATES)


@dataclass(frozen=True)
class Plan:
    """What an action will do, decided from the call as read: the PHLO request, who it is
    about (recorded with the action) and how a PHLO failure reads."""

    request: PhloRequest
    failed_to: str
    target: str = ""
    member: Member | None = None
    # Another leg the change needs, as decided: the agent a transfer starts from, or the
    # target that a resumed or aborted transfer leaves on or hangs up.
    leg: Member | None = None


T = TypeVar("T")


class Apply(Protocol[T]):
    def __call__(self, *, call: Call, plan: Plan, action: Action, at: datetime) -> T: ...


def perform(
    *,
    actor: Actor,
    kind: str,
    call: Call,
    members: list[Member],
    decide: Callable[[Call, list[Member]], Plan],
    reload: Callable[[], tuple[Call, list[Member]]],
    apply: Apply[T],
    client: PhloClient,
    trust_version: bool = False,
) -> T:
    """The one path of a button on an existing call; returns what `apply` returns.

    `decide(call, members)` checks the call's state (raising a ServiceError) and plans the
    request; it runs on the call as read, and again on `reload()` once the call is claimed,
    since it may have changed before the claim. `trust_version`: skip that second read when
    the claim finds the call's version unchanged (only for checks that read nothing beyond
    the call and its members). `apply` runs with the call locked, then the action succeeds and
    the call is saved and announced."""
    plan = decide(call, members)
    with claimed(
        actor=actor,
        call_id=call.pk,
        kind=kind,
        target=plan.target,
        member=plan.member,
        request=plan.request,
        version=call.version if trust_version else None,
    ) as action:
        if not action.call_unchanged:
            # The call changed before it was ours: decide on fresh state.
            call, members = reload()
            plan = _replan(action=action, plan=decide(call, members))
        # Last, as what is about to be sent: an address live in another call (rare) leaves
        # the action recorded as refused, with the reason.
        refuse_if_shared(request=plan.request, call_id=call.pk)
        result = send(action=action, client=client, request=plan.request, failed_to=plan.failed_to)
        return finish(action=action, result=result, call_id=call.pk, apply=apply, plan=plan)


def perform_on_call(
    *,
    actor: Actor,
    kind: str,
    call: Call,
    members: list[Member],
    decide: Callable[[Call, list[Member]], Plan],
    apply: Apply[None],
    client: PhloClient,
) -> Call:
    """`perform` for a button on the whole call, whose rules may read beyond the call (an
    agent busy elsewhere): decided again after the claim, always. Returns the call with its
    members as they now are."""
    perform(
        actor=actor,
        kind=kind,
        call=call,
        members=members,
        decide=decide,
        reload=lambda: load_call(call_id=call.pk),
        apply=apply,
        client=client,
    )
    return selectors.call_with_members(call_id=call.pk)


def _replan(*, action: Action, plan: Plan) -> Plan:
    member_id = plan.member.pk if plan.member else None
    if (action.member_id, action.target) != (member_id, plan.target):
        # Who the action is about changed hands while we claimed the call: record who now.
        Action.objects.filter(pk=action.pk).update(target=plan.target, member=plan.member)
        action.member, action.target = plan.member, plan.target
    return plan


def finish(
    *, action: Action, result: PhloResult, call_id: int, apply: Apply[T], plan: Plan | None
) -> T:
    """After PHLO said yes: in one short transaction with the call locked, apply the change,
    mark the action succeeded and save and announce the call."""
    with transaction.atomic():
        locked = lock_call(call_id=call_id)
        at = timezone.now()
        applied = apply(call=locked, plan=plan, action=action, at=at)
        succeed(action=action, result=result, call=locked, at=at)
        call_changed(call=locked, at=at)
    return applied
