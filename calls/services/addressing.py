"""One live call per address: PHLO finds a participant by address, not by call.

A member action names its participant by address (`.../members/{address}`), and a node
action finds its call by `trigger_source`. When one address is live in two calls (a
customer dialled while on a colleague's call, two callers from one number), PHLO carries out
the action on one of them, whichever call the agent clicked (the simulator: the newest).
So an action is sent only when the address it is found by is live in no other call, and a
new leg is dialled only to an address live in no other call: otherwise every later action on
either call's leg could reach the other. The no-agent exits (voicemail, the message) are
dialled into many calls at once; nobody needs to act on them by address while they play.
"""

from __future__ import annotations

from calls.addresses import display_address
from calls.exits import exit_kind
from calls.models import Call, Member
from calls.phlo_client import PhloRequest
from calls.services.errors import InvalidState


class AddressShared(InvalidState, code="address_shared"):
    """The action's address is live in another call, so PHLO could act on that call."""


def shared_leg(*, addresses: list[str], call_id: int | None) -> Member | None:
    """A live leg at one of `addresses` on a live call other than `call_id`, or None."""
    wanted = [address for address in addresses if address]
    if not wanted:
        return None
    legs = Member.objects.live_legs().filter(address__in=wanted)
    if call_id is not None:
        legs = legs.exclude(call_id=call_id)
    return legs.order_by().only("address", "call_id").first()


def refuse_if_shared(*, request: PhloRequest, call_id: int | None) -> None:
    """Raise AddressShared when PHLO could carry out `request` on a call other than
    `call_id` (None: a new call), or it would put an address live elsewhere into the call."""
    found_by, dials = _addresses(request)
    leg = shared_leg(addresses=[found_by, dials], call_id=call_id)
    if leg is None:
        return
    who, other = _name(leg), f"#{leg.call_id}"
    if leg.address == found_by:
        raise AddressShared(
            f"{who} is also on another live call ({other}), and PHLO finds a participant by "
            "their number, not by call, so this could reach that call instead. Nothing was "
            "sent; try again once that call has ended."
        )
    # Said as an agent needs it; why (PHLO finds a participant by number) is the module's.
    raise AddressShared(
        f"{who} is on another call right now ({_with_whom(leg)}call {other}); try again "
        "once it has ended."
    )


def _with_whom(leg: Member) -> str:
    """Whose the other call is, as 'with Carol Chen, ' (else ''); read on a refusal only."""
    call = Call.objects.select_related("owner__user").get(pk=leg.call_id)
    return f"with {call.owner.display_name}, " if call.owner is not None else ""


def _name(leg: Member) -> str:
    """Who is at the leg's address, as people call them (read on a refusal only)."""
    leg = Member.objects.select_related("agent__user", "customer").get(pk=leg.pk)
    if leg.agent is not None:
        return leg.agent.display_name
    if leg.customer is not None:
        return leg.customer.name
    return display_address(leg.address)


def _addresses(request: PhloRequest) -> tuple[str, str]:
    """(the address PHLO finds the call by, the address it dials or "")."""
    if request.member_address:
        return request.member_address, ""
    body = request.body or {}
    dials = body.get("to", "")
    if exit_kind(dials):
        dials = ""
    return body.get("trigger_source", ""), dials
