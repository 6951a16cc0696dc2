"""Inbound routing: which agent takes an incoming call, asked by the PHLO "HTTP Request" node.

The agent who has waited longest among those free to take a call (Available, or a wrap-up
that has run out) gets it. Choosing and reserving happen in one step that two concurrent
requests cannot both win: the candidate row is locked with SKIP LOCKED on PostgreSQL (so a
second request moves on to the next agent instead of waiting), and the reservation itself
is a conditional UPDATE that only succeeds while the agent is still free (SQLite serialises
writers, so the same UPDATE decides there).

The call and both legs are created before PHLO dials the agent, so the callbacks that follow
find them: the customer's leg by the inbound `call_uuid`, the agent's by address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.availability import agents_by_longest_wait, routable_now
from agents.models import Agent
from calls.addresses import InvalidAddress, normalize_address
from calls.events import AgentChanged, announce
from calls.models import Call, Customer, Member
from calls.services.errors import InvalidInput
from calls.state import call_changed

AGENT = "agent"
NO_AGENT = "no_agent"
# A PHLO call uuid is a UUID; leave room for other providers' ids, within the column.
MAX_CALL_UUID = 64
# How many candidates to try when another request reserves them first.
ATTEMPTS = 5


@dataclass(frozen=True)
class RoutingDecision:
    result: str
    agent: Agent | None = None
    call: Call | None = None

    def as_json(self) -> dict:
        if self.result != AGENT or self.agent is None or self.call is None:
            return {"result": NO_AGENT, "agent_endpoint": ""}
        return {
            "result": AGENT,
            "agent_endpoint": self.agent.endpoint,
            "agent": self.agent.user.get_username(),
            "call_id": self.call.pk,
        }


@dataclass(frozen=True)
class InboundRequest:
    call_uuid: str
    from_: str
    to: str


def inbound_request_parse(*, data: dict) -> InboundRequest:
    """Check the routing request's fields; InvalidInput says what is wrong."""

    def text(key: str) -> str:
        value = data.get(key, "")
        if isinstance(value, list):
            value = value[0] if len(value) == 1 else ""
        if not isinstance(value, str):
            raise InvalidInput(f"{key} must be a string.")
        return value.strip()

    call_uuid = text("call_uuid")
    if not call_uuid:
        raise InvalidInput("call_uuid is required.")
    # It is stored and looked up: no NUL (PostgreSQL refuses it), no unpaired surrogates.
    if (
        len(call_uuid) > MAX_CALL_UUID
        or not call_uuid.isprintable()
        or any(c.isspace() for c in call_uuid)
    ):
        raise InvalidInput(
            f"call_uuid must be at most {MAX_CALL_UUID} printable characters, no spaces."
        )
    direction = text("direction").lower()
    if direction and direction != "inbound":
        raise InvalidInput(f"direction must be 'inbound'; got {direction!r}.")
    try:
        from_ = normalize_address(text("from"))
    except InvalidAddress as exc:
        raise InvalidInput(f"from: {exc}") from exc
    to = text("to")
    if to:
        try:
            to = normalize_address(to)
        except InvalidAddress as exc:
            raise InvalidInput(f"to: {exc}") from exc
    return InboundRequest(call_uuid=call_uuid, from_=from_, to=to)


def _earlier_decision(*, call_uuid: str) -> RoutingDecision | None:
    """A retried request (the PHLO node timed out and asked again) gets the same answer."""
    leg = (
        Member.objects.select_related("call__owner__user")
        .filter(call_uuid=call_uuid, role=Member.Role.CUSTOMER)
        .first()
    )
    if leg is None:
        return None
    owner = leg.call.owner
    if owner is None or leg.call.direction != Call.Direction.INBOUND:
        return RoutingDecision(result=NO_AGENT)
    return RoutingDecision(result=AGENT, agent=owner, call=leg.call)


def _reserve(*, at: datetime) -> Agent | None:
    """Lock and mark the longest-waiting free agent as on a call. Run inside a transaction."""
    for _ in range(ATTEMPTS):
        candidate = (
            agents_by_longest_wait(at=at).select_for_update(skip_locked=True, of=("self",)).first()
        )
        if candidate is None:
            return None
        won = Agent.objects.filter(routable_now(at), pk=candidate.pk).update(
            status=Agent.Status.ON_CALL,
            status_reason="",
            status_changed_at=at,
            wrap_up_until=None,
        )
        if won:
            return Agent.objects.select_related("user").get(pk=candidate.pk)
    return None


def inbound_route(*, request: InboundRequest, at: datetime | None = None) -> RoutingDecision:
    """Pick, reserve and connect an agent for an inbound call, or say nobody is free."""
    at = at or timezone.now()
    earlier = _earlier_decision(call_uuid=request.call_uuid)
    if earlier is not None:
        return earlier
    try:
        with transaction.atomic():
            agent = _reserve(at=at)
            if agent is None:
                return RoutingDecision(result=NO_AGENT)
            customer = Customer.objects.filter(phone=request.from_).first()
            call = Call.objects.create(
                direction=Call.Direction.INBOUND,
                owner=agent,
                customer=customer,
                status=Call.Status.DIALLING,
                created_at=at,
            )
            Member.objects.create(
                call=call,
                address=request.from_,
                role=Member.Role.CUSTOMER,
                customer=customer,
                call_uuid=request.call_uuid,
                state=Member.State.DIALLING,
                created_at=at,
                state_changed_at=at,
            )
            Member.objects.create(
                call=call,
                address=agent.endpoint,
                role=Member.Role.AGENT,
                agent=agent,
                state=Member.State.DIALLING,
                created_at=at,
                state_changed_at=at,
            )
            announce(AgentChanged(agent_id=agent.pk, status=Agent.Status.ON_CALL))
            call_changed(call=call, at=at)
    except IntegrityError:
        # The same call_uuid routed twice at once: the other request's answer stands.
        earlier = _earlier_decision(call_uuid=request.call_uuid)
        if earlier is None:
            raise
        return earlier
    return RoutingDecision(result=AGENT, agent=agent, call=call)
