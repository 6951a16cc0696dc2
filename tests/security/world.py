"""A call with every kind of participant the authorization rules tell apart, built through
the real services against the simulator (tests/services/helpers.py's `settle` stands in for
the webhook): Alice owns it and talks to Dana; Bob took a warm transfer, talked, and left;
Carol was offered one and rejected it."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType

from agents.models import Agent
from agents.presence import agent_choose_status, agent_end_wrap_up
from calls.models import Action, Call, Member, Queue
from calls.services import buttons
from tests.admin.builders import add_callback
from tests.factories import make_customer
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
    call = settle(sim, buttons.call_start(actor=alice.user, to=dana.phone))
    # Bob: consulted in a warm transfer, talked, then hung up.
    buttons.transfer_warm_start(actor=alice.user, call_id=call.pk, to=bob.endpoint)
    settle(sim, call)
    sim.phones.hangup(bob.endpoint)
    settle(sim, call, 0.1)
    # Carol: offered a warm transfer, rejected it on her phone. (Back from the Away a
    # rejection leaves her in, when this is the second world: the Away are not offered.)
    agent_choose_status(agent=carol, status=Agent.Status.AVAILABLE)
    sim.phones.set_mode(carol.endpoint, "manual")
    buttons.transfer_warm_start(actor=alice.user, call_id=call.pk, to=carol.endpoint)
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


@dataclass
class Floor:
    """Two worlds (one live call, one ended) and who is who in them, for the matrix."""

    people: dict
    live: World
    ended: World
    ids: dict


def build_floor(sim, *, alice, bob, carol, dave, sam) -> Floor:
    dana = make_customer(name="Dana Diaz", phone="+14155550101")
    erin = make_customer(name="Erin Eve", phone="+14155550102")
    ended = build_world(sim, alice=alice, bob=bob, carol=carol, dana=erin, ended=True)
    agent_end_wrap_up(agent=alice)  # free to take the next call; the disposition is still owed
    live = build_world(sim, alice=alice, bob=bob, carol=carol, dana=dana)
    people = {
        "anonymous": None,
        "owner": alice.user,
        "former": bob.user,
        "rejecter": carol.user,
        "other": dave.user,
        "supervisor": sam,
    }
    ids = {
        "call": live.call.pk,
        "ended": ended.call.pk,
        "alice_leg": live.alice_leg.pk,
        "customer_leg": live.customer_leg.pk,
        "ended_customer_leg": ended.customer_leg.pk,
        "carol_leg": live.carol_leg.pk,
        "agent": alice.pk,
        "user": alice.user.pk,
        "customer": dana.pk,
        "group": Group.objects.get(name="Supervisors").pk,
        "action": Action.objects.filter(call=live.call).first().pk,
        "event": add_callback(call=live.call).pk,
        "call_type": ContentType.objects.get_for_model(Call).pk,
        "queue": Queue.objects.create(name="Sales").pk,
    }
    return Floor(people=people, live=live, ended=ended, ids=ids)
