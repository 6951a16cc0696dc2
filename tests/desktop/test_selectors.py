"""Which calls an agent's desktop shows, and how each looks to them."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.availability import agents_by_longest_wait, transfer_targets
from agents.permissions import is_supervisor, supervisor_ids
from agents.rendering import render_call, render_call_for_agents
from agents.selectors import call_for_desktop, call_view, calls_beside, desktop_calls
from calls.models import Call, CallTransfer, Member, WrapUp
from tests.factories import make_agent, make_call, make_customer, make_supervisor, make_user
from tests.fixtures_people import agent_fixture

pytestmark = pytest.mark.django_db

# Alice is on a call: the longest-wait order leaves her out.
alice = agent_fixture("alice", named=False, status="on_call")


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
    unreached = call_with((alice, "left"), owner=alice, status="failed", ended_at=timezone.now())
    # What the call's rules record as each part ends (calls.state).
    WrapUp.objects.create(call=ended, agent=alice)
    WrapUp.objects.create(call=done, agent=alice, disposition="Resolved", done_at=timezone.now())
    WrapUp.objects.create(call=old, agent=alice, created_at=timezone.now() - timedelta(days=2))
    WrapUp.objects.create(call=unreached, agent=alice, disposition_required=False)
    WrapUp.objects.create(call=left, agent=bob)  # another agent's wrap-up is not Alice's
    shown = [c.pk for c in desktop_calls(agent=alice)]
    # Live calls first, oldest first; then the ones to wrap up, the newest first.
    assert shown == [mine.pk, joined.pk, unreached.pk, ended.pk]
    assert left.pk not in shown and done.pk not in shown and old.pk not in shown
    assert call_view(call=left, agent=alice) is None
    assert call_view(call=call_for_desktop(call_id=ended.pk), agent=alice).placement == "wrap_up"
    # An attempt that reached nobody shows its outcome until dismissed, with no disposition.
    assert call_view(call=call_for_desktop(call_id=unreached.pk), agent=alice).placement == "ended"


def test_a_call_handed_over_asks_for_my_part_at_once_after_my_live_calls(alice, bob):
    dana, erin = make_customer(name="Dana Diaz"), make_customer(name="Erin Ek")
    handed = call_with((alice, "left"), (dana, "talking"), (bob, "talking"), owner=bob)
    CallTransfer.objects.create(
        call_id=handed.pk, kind="warm", from_agent=alice, to_address=bob.endpoint, to_agent=bob,
        outcome="completed",
    )  # fmt: skip
    WrapUp.objects.create(call_id=handed.pk, agent=alice)
    # Alice saved nothing yet and already took her next call, placed after the first.
    mine = call_with((alice, "talking"), (erin, "talking"), owner=alice)
    # Her live call comes first: the keyboard shortcuts act on the first card.
    assert [c.pk for c in desktop_calls(agent=alice)] == [mine.pk, handed.pk]
    view = call_view(call=call_for_desktop(call_id=handed.pk), agent=alice)
    assert (view.placement, view.phase, view.outcome_text) == ("wrap_up", "Transferred", "")
    assert view.part_text == "You transferred Dana Diaz to bob. The call goes on without you."
    assert view.actions == [] and all(not m.actions for m in view.members)
    # Bob, who has it now, still sees it live.
    assert call_view(call=call_for_desktop(call_id=handed.pk), agent=bob).placement == "live"
    # Once it has ended, her card says how it ended, and still what her part was.
    Call.objects.filter(pk=handed.pk).update(
        status="completed", ended_at=timezone.now(), outcome="customer_hung_up"
    )
    view = call_view(call=call_for_desktop(call_id=handed.pk), agent=alice)
    assert (view.placement, view.outcome_text) == ("wrap_up", "Dana Diaz hung up.")
    assert view.part_text == "You transferred Dana Diaz to bob."


def test_a_call_nobody_has_left_asks_nothing_and_fetches_no_wrap_ups(alice, bob):
    dana = make_customer()
    call = call_with((alice, "talking"), (dana, "talking"), owner=alice)
    WrapUp.objects.create(call_id=call.pk, agent=bob)  # not something the rules would record
    with CaptureQueriesContext(connection) as captured:
        assert call_view(call=call, agent=bob) is None
    assert len(captured) == 0


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


# --- One push for every agent of a call: a pinned, constant number of queries ---------------


def test_a_push_for_an_agent_with_no_leg_on_the_call_reads_them(alice, bob):
    call, _ = _talking_call_with_three_agents(alice, bob)
    carol = make_agent(username="carol")
    render_call_for_agents(call_id=call.pk, agent_ids=[alice.pk])  # their flags cached
    with CaptureQueriesContext(connection) as captured:
        rendered = render_call_for_agents(call_id=call.pk, agent_ids=[alice.pk, carol.pk])
    # The call with its members, the history, then Carol, and her flag; her view: not hers.
    assert len(captured) == 4, [q["sql"] for q in captured]
    assert "Dana Diaz" in rendered[alice.pk] and "data-deleted" in rendered[carol.pk]


def _talking_call_with_three_agents(alice, bob):
    sue = make_supervisor(username="sue", with_agent=True).agent
    dana = make_customer(name="Dana Diaz")
    call = call_with(
        (alice, "talking"), (dana, "talking"), (bob, "talking"), (sue, "talking"), owner=alice
    )
    Call.objects.create(status="completed", owner=alice, customer=dana)  # in Dana's history
    return call, sue


@pytest.mark.parametrize("other_calls", [0, 12])
def test_a_push_for_all_agents_of_a_call_costs_three_queries(alice, bob, other_calls):
    call, sue = _talking_call_with_three_agents(alice, bob)
    for i in range(60):
        make_agent(username=f"free{i:02d}")
    for _ in range(other_calls):
        call_with((make_agent(status="on_call"), "talking"), (make_customer(), "talking"),
                  owner=make_agent(status="on_call"))  # fmt: skip
    agent_ids = [alice.pk, bob.pk, sue.pk]

    with CaptureQueriesContext(connection) as captured:
        rendered = render_call_for_agents(call_id=call.pk, agent_ids=agent_ids)

    # The call with its members and their agents (one query, from the members' side), the
    # customer's history, who of them supervises (cached after): the same whatever the
    # number of agents, calls or available agents. Was 5, when the agents were read again,
    # then 4, when the call and its members were two queries.
    assert len(captured) == 3, [q["sql"] for q in captured]
    assert set(rendered) == set(agent_ids)
    for agent_id, html in rendered.items():
        # The picker is there, empty: it fills itself when the field gets focus.
        assert f'<datalist id="call-{call.pk}-targets"></datalist>' in html, agent_id
    # Only the supervisor sees the supervisor's buttons on someone else's leg.
    assert "Dana Diaz" in rendered[bob.pk]


def test_a_push_without_transfer_buttons_has_no_picker(alice):
    dana = make_customer(name="Dana Diaz")
    call = call_with((alice, "dialling"), (dana, "dialling"), owner=alice)
    make_agent(username="free")
    rendered = render_call_for_agents(call_id=call.pk, agent_ids=[alice.pk])
    assert "transfer" not in rendered[alice.pk] and "free" not in rendered[alice.pk]


def test_each_agent_gets_the_buttons_is_supervisor_gives(alice, bob):
    call, sue = _talking_call_with_three_agents(alice, bob)
    rendered = render_call_for_agents(call_id=call.pk, agent_ids=[alice.pk, bob.pk, sue.pk])
    full = call_for_desktop(call_id=call.pk)
    for agent in (alice, bob, sue):
        view = call_view(call=full, agent=agent, supervisor=is_supervisor(agent.user))
        assert _buttons(rendered[agent.pk]) == _buttons(render_call(view=view, call=full))
    assert "member-" in "".join(rendered.values())


def _buttons(html: str) -> list[str]:
    return re.findall(r'<button[^>]* id="((?:member|call)-\d+-[a-z_]+)"', html)


def test_supervisor_ids_agrees_with_is_supervisor(django_assert_max_num_queries):
    plain = make_user()
    boss = make_user(is_superuser=True)
    retired_boss = make_user(is_superuser=True, is_active=False)
    by_group = make_supervisor()
    left = make_supervisor()
    left.is_active = False
    left.save()
    direct = make_user()
    direct.user_permissions.add(
        Permission.objects.get(codename="supervise", content_type__app_label="calls")
    )
    users = [plain, boss, retired_boss, by_group, left, direct]
    fresh = list(get_user_model().objects.filter(pk__in=[u.pk for u in users]))
    with django_assert_max_num_queries(1):
        found = supervisor_ids(users=fresh)
    assert found == {u.pk for u in fresh if is_supervisor(u)} == {boss.pk, by_group.pk, direct.pk}
    with django_assert_max_num_queries(0):
        assert supervisor_ids(users=[boss, retired_boss]) == {boss.pk}


def test_transfer_targets_are_ordered_by_the_name_people_see(alice):
    for username, first, last in [
        ("zed", "Aaron", "Abbot"), ("amy", "", ""), ("bea", "Zoe", ""), ("cal", "", "Moss")
    ]:  # fmt: skip
        agent = make_agent(username=username)
        type(agent.user).objects.filter(pk=agent.user_id).update(first_name=first, last_name=last)
    everyone = [a.user.username for a in transfer_targets(exclude_agent_id=alice.pk)]
    assert everyone == ["zed", "amy", "cal", "bea"]  # Aaron Abbot, amy, Moss, Zoe


# --- The same customer's other cards, redrawn with a call in their "Last calls" ---------------


def test_the_calls_beside_are_the_customers_other_calls_on_desktops_with_their_agents(alice, bob):
    dana, erin = (
        make_customer(name="Dana Diaz"),
        make_customer(name="Erin Eve", phone="+14155550102"),
    )
    carol = make_agent(username="carol")
    ended = make_call(owner=alice, customer=dana)
    WrapUp.objects.create(call=ended, agent=alice)
    wrapped = make_call(owner=alice, customer=dana, disposition="Resolved")
    WrapUp.objects.create(call=wrapped, agent=alice, done_at=timezone.now())
    live = make_call(owner=bob, customer=dana, status="active", ended_at=None)
    Member.objects.create(call=live, address=carol.endpoint, role="agent", agent=carol)
    make_call(owner=carol, customer=erin, status="active", ended_at=None)  # someone else's
    new = make_call(owner=carol, customer=dana, status="dialling")

    with CaptureQueriesContext(connection) as queries:
        beside = calls_beside(call_id=new.pk)
    assert beside == {live.pk: sorted([bob.pk, carol.pk]), ended.pk: [alice.pk]}
    assert len(queries) == 2

    unknown = make_call(owner=carol, status="dialling")
    with CaptureQueriesContext(connection) as queries:
        assert calls_beside(call_id=unknown.pk) == {}
    assert len(queries) == 1  # no customer: nothing beside it
