"""Which calls an agent's desktop shows, and how each looks to them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.selectors import (
    agents_by_longest_wait,
    call_for_desktop,
    call_view,
    desktop_calls,
    transfer_targets,
)
from calls.models import Call, Member
from tests.factories import make_agent, make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return make_agent(username="alice", status="on_call")


@pytest.fixture
def bob():
    return make_agent(username="bob")


def call_with(*legs, owner, status="active", direction="outbound", **fields):
    call = Call.objects.create(status=status, owner=owner, direction=direction, **fields)
    for agent_or_customer, state in legs:
        if hasattr(agent_or_customer, "endpoint"):
            Member.objects.create(
                call=call,
                address=agent_or_customer.endpoint,
                role="agent",
                agent=agent_or_customer,
                state=state,
            )
        else:
            Member.objects.create(
                call=call,
                address=agent_or_customer.phone,
                role="customer",
                customer=agent_or_customer,
                state=state,
            )
    return call_for_desktop(call_id=call.pk)


def test_live_calls_owned_or_with_a_live_leg_then_calls_to_wrap_up(alice, bob):
    dana = make_customer()
    mine = call_with((alice, "talking"), (dana, "talking"), owner=alice)
    joined = call_with((bob, "talking"), (alice, "dialling"), owner=bob)
    left = call_with((bob, "talking"), (alice, "left"), owner=bob)
    ended = call_with((alice, "left"), owner=alice, status="completed", ended_at=timezone.now())
    done = call_with(
        (alice, "left"), owner=alice, status="completed", ended_at=timezone.now(),
        disposition="Resolved",
    )  # fmt: skip
    old = call_with(
        (alice, "left"), owner=alice, status="completed",
        ended_at=timezone.now() - timedelta(days=2),
    )  # fmt: skip
    shown = [c.pk for c in desktop_calls(agent=alice)]
    assert shown == [mine.pk, joined.pk, ended.pk]
    assert left.pk not in shown and done.pk not in shown and old.pk not in shown
    assert call_view(call=left, agent=alice) is None
    assert call_view(call=ended, agent=alice).placement == "wrap_up"


def test_my_own_outbound_call_does_not_ring_but_an_offered_one_does(alice, bob):
    dana = make_customer(name="Dana Diaz")
    outbound = call_with((alice, "dialling"), (dana, "dialling"), owner=alice)
    view = call_view(call=outbound, agent=alice)
    assert not view.ringing_for_me and view.my_leg.state == "dialling"

    inbound = call_with((dana, "talking"), (alice, "dialling"), owner=alice, direction="inbound")
    assert call_view(call=inbound, agent=alice).ring_text == "Incoming call from Dana Diaz"

    transfer = call_with(
        (bob, "talking"), (dana, "on_hold"), (alice, "dialling"), owner=bob,
        transfer_kind="cold", transfer_from=bob, transfer_to_address=alice.endpoint,
        transfer_to_agent=alice, transfer_started_at=timezone.now(),
    )  # fmt: skip
    view = call_view(call=transfer, agent=alice)
    assert view.ringing_for_me
    assert view.ring_text == "bob is transferring a call with Dana Diaz to you"
    assert view.actions == []  # nothing to do on a call that is only ringing for me


def test_member_actions_follow_the_rules_in_a_fixed_order(alice):
    dana = make_customer()
    call = call_with((alice, "talking"), (dana, "talking"), owner=alice)
    view = call_view(call=call, agent=alice)
    me, customer = view.members
    assert me.label == "You" and me.is_me
    assert customer.actions == ["hold", "hangup"]
    assert view.actions == ["warm_transfer", "cold_transfer"]


def test_longest_wait_order_and_transfer_targets(alice):
    now = timezone.now()
    early = make_agent(username="early")
    late = make_agent(username="late")
    wrapped = make_agent(username="wrapped", status="wrap_up")
    away = make_agent(username="away", status="away")
    type(early).objects.filter(pk=early.pk).update(status_changed_at=now - timedelta(minutes=9))
    type(late).objects.filter(pk=late.pk).update(status_changed_at=now - timedelta(minutes=1))
    type(wrapped).objects.filter(pk=wrapped.pk).update(
        status_changed_at=now - timedelta(hours=1), wrap_up_until=now - timedelta(minutes=5)
    )
    order = [a.user.username for a in agents_by_longest_wait(at=now)]
    assert order == ["early", "wrapped", "late"]
    names = [a.user.username for a in transfer_targets(exclude_agent_id=early.pk, at=now)]
    assert names == ["late", "wrapped"]
    assert away.user.username not in names and "alice" not in names
