"""A call with every kind of participant the authorization rules tell apart, built through
the real services against the simulator (tests/services/helpers.py's `settle` stands in for
the webhook): Alice owns it and talks to Dana; Bob took a warm transfer, talked, and left;
Carol was offered one and rejected it."""

from __future__ import annotations

from dataclasses import dataclass

from calls.models import Call, Member
from calls.services import actions
from tests.services.helpers import settle


@dataclass(frozen=True)
class World:
    call: Call
    alice_leg: Member
    customer_leg: Member
    bob_leg: Member
    carol_leg: Member


def _leg(call: Call, address: str) -> Member:
    return call.members.filter(address=address).latest("pk")


def build_world(sim, *, alice, bob, carol, dana, ended: bool = False) -> World:
    call = settle(sim, actions.call_start(actor=alice.user, to=dana.phone))
    # Bob: consulted in a warm transfer, talked, then hung up.
    actions.transfer_warm_start(actor=alice.user, call_id=call.pk, to=bob.endpoint)
    settle(sim, call)
    sim.phones.hangup(bob.endpoint)
    settle(sim, call, 0.1)
    # Carol: offered a warm transfer, rejected it on her phone.
    sim.phones.set_mode(carol.endpoint, "manual")
    actions.transfer_warm_start(actor=alice.user, call_id=call.pk, to=carol.endpoint)
    settle(sim, call, 0.5)
    sim.phones.reject(carol.endpoint)
    settle(sim, call, 0.1)
    if ended:
        sim.phones.hangup(dana.phone)
        settle(sim, call, 0.1)
    call.refresh_from_db()
    return World(
        call=call,
        alice_leg=_leg(call, alice.endpoint),
        customer_leg=_leg(call, dana.phone),
        bob_leg=_leg(call, bob.endpoint),
        carol_leg=_leg(call, carol.endpoint),
    )
