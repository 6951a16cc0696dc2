"""Offering a caller who waits on an inbound call to one more party: the next agent, or the
no-agent message or voicemail when nobody is left.

PHLO's `call` trigger from the waiting customer's leg rings the party into the same
multiparty call (as a supervisor's barge does), with role `agent` so that their entering
starts the call. The leg exists before PHLO is asked, so its first callbacks find it. If
PHLO certainly did not ring it, the leg ends as never dialled and the caller still waits
(housekeeping offers the call again); when PHLO's answer is unknown the leg keeps ringing,
and its callbacks or the ring timeout tell what happened.

Who is offered is routing's choice (`agents.services.routing`): it hands `choose` in, which
runs with the call locked, so choosing and ringing cannot race another offer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from calls.models import Action, Call, Member
from calls.phlo_client import get_phlo_client
from calls.services import claims
from calls.services.addressing import AddressShared, shared_leg
from calls.services.errors import PhloOutcomeUnknown
from calls.services.execution import guarded, new_action, send, succeed
from calls.state import call_changed, lock_call, member_set_state

State = Member.State
Role = Member.Role


@dataclass(frozen=True)
class Offer:
    """Whom to ring: an agent (who then owns the call), or the no-agent stand-in."""

    address: str
    agent: Agent | None = None

    @property
    def role(self) -> str:
        return Role.AGENT if self.agent is not None else Role.NO_AGENT


def waiting_customer(*, call: Call, members: list[Member]) -> Member | None:
    """The caller an inbound call waits with, when nobody who could take it is on it or
    ringing: the moment to offer it to someone. None otherwise."""
    if not call.is_live or call.direction != Call.Direction.INBOUND or call.answered_at:
        return None
    if any(m.is_live and m.role != Role.CUSTOMER for m in members):
        return None  # someone is already ringing (or on it)
    return next((m for m in members if m.role == Role.CUSTOMER and m.state == State.WAITING), None)


class CallBusy(Exception):
    """Another transaction holds the call (`call_offer(skip_if_busy=True)`): most often
    another agent's offer of the same caller, made at the same moment."""


def call_offer(
    *, call_id: int, choose: Callable[[Call], Offer | None], skip_if_busy: bool = False
) -> Member | None:
    """Ring the party `choose(call)` names into the call for its waiting caller. Returns the
    new leg, or None when nobody waits any more (or `choose` found nobody to offer).
    `skip_if_busy`: raise CallBusy rather than wait while another transaction holds the call
    (on PostgreSQL; SQLite serialises writers anyway)."""
    client = get_phlo_client()
    with transaction.atomic():
        try:
            call = lock_call(call_id=call_id, with_queue=True, skip_locked=skip_if_busy)
        except Call.DoesNotExist:
            if skip_if_busy and Call.objects.filter(pk=call_id).exists():
                raise CallBusy(call_id) from None
            return None
        members = call.members.in_arrival_order()
        caller = waiting_customer(call=call, members=members)
        if caller is None:
            return None
        if shared_leg(addresses=[caller.address], call_id=call.pk) is not None:
            # PHLO would ring the agent into that other call: the caller waits their turn
            # (`choose` has reserved nobody yet) until it has ended.
            raise AddressShared(f"caller {call.pk}'s number is live in another call")
        offer = choose(call)
        if offer is None:
            return None
        request = client.prepare_node_action(
            action="call", trigger_source=caller.address, to=offer.address, role="agent"
        )
        leg = Member.objects.create(
            call=call, address=offer.address, role=offer.role, agent=offer.agent
        )
        if offer.agent is not None:
            call.owner = offer.agent
        action = new_action(
            call=call, member=leg, actor=None, kind=Action.Kind.CALL, target=offer.address,
            request=request,
        )  # fmt: skip
        if call.pending_action_id is not None:
            # Another action holds the call: busy, unless its claim is stale (claims).
            claims.claim(call_id=call.pk, action=action)
        # Free, as read under the lock: the save below claims it.
        call.pending_action = action
        # The new leg's agent is on a call already (`choose` reserved them): presence has
        # nothing to follow unless the rules end a leg.
        call_changed(call=call, members=[*members, leg], legs_came_or_went=False)
    with guarded(action=action, call_id=call_id):
        try:
            result = send(
                action=action,
                client=client,
                request=request,
                failed_to="Could not offer the waiting call",
            )
        except PhloOutcomeUnknown:
            raise  # it may ring: its callbacks, or its ring timeout, will tell
        except Exception:
            _never_dialled(call_id=call_id, leg=leg)
            raise
        with transaction.atomic():
            locked = lock_call(call_id=call_id)
            succeed(action=action, result=result, call=locked, at=timezone.now())
            # Moves no leg: the callbacks that did (ringing, answered) told presence.
            call_changed(call=locked, legs_came_or_went=False)
    return leg


def _never_dialled(*, call_id: int, leg: Member) -> None:
    with transaction.atomic():
        call = lock_call(call_id=call_id)
        fresh = Member.objects.get(pk=leg.pk)
        member_set_state(
            member=fresh, state=State.LEFT, cause=Member.EndCause.NOT_DIALLED, at=timezone.now()
        )
        if call.owner_id is not None and call.owner_id == fresh.agent_id:
            call.owner = None
        call_changed(call=call, extra_agent_ids=[fresh.agent_id] if fresh.agent_id else [])
