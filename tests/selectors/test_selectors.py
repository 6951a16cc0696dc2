"""calls.selectors: right rows, and a fixed number of queries at 1 call and at 30."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Agent
from calls import selectors
from calls.models import Action, Call, CallbackEvent, Member
from tests.factories import make_agent, make_call, make_customer

pytestmark = pytest.mark.django_db

S = Member.State


def call_of(*, agent: Agent, status: str = "active", extra_agent: Agent | None = None) -> Call:
    """A call of `agent`'s with a customer: both legs live while the call is."""
    customer = make_customer()
    call = make_call(
        owner=agent, customer=customer, status=status, created_at=timezone.now(),
        answered_at=None, ended_at=None, conference_name="",
    )  # fmt: skip
    live = status in Call.LIVE_STATUSES
    Member.objects.create(
        call=call,
        address=agent.endpoint,
        role="agent",
        agent=agent,
        state=S.TALKING if live else S.LEFT,
    )
    Member.objects.create(
        call=call,
        address=customer.phone,
        role="customer",
        customer=customer,
        state=S.ON_HOLD if live else S.LEFT,
    )
    if extra_agent is not None:
        Member.objects.create(
            call=call, address=extra_agent.endpoint, role="agent", agent=extra_agent
        )
    return call


def touch_everything(calls: list[Call]) -> None:
    """Read what a desktop renders, so a missing prefetch shows up as a query."""
    for call in calls:
        _ = (call.owner.user.username, call.customer and call.customer.name)
        _ = call.transfer_from and call.transfer_from.user.username
        _ = call.transfer_to_agent and call.transfer_to_agent.user.username
        _ = call.pending_action and call.pending_action.actor
        for member in call.members.all():
            _ = member.agent and member.agent.user.username
            _ = member.customer and member.customer.name


@pytest.mark.parametrize("count", [1, 30])
def test_live_calls_fixed_queries(count, alice, bob, django_assert_num_queries):
    for i in range(count):
        call_of(agent=alice if i % 2 else bob)
    call_of(agent=alice, status="completed")
    call_of(agent=alice, status="failed")
    with django_assert_num_queries(2):
        calls = selectors.live_calls()
        touch_everything(calls)
    assert len(calls) == count
    assert [c.created_at for c in calls] == sorted(c.created_at for c in calls)


def test_call_with_members(alice, bob, django_assert_num_queries):
    call = call_of(agent=alice, extra_agent=bob)
    call.transfer_kind = "warm"
    call.transfer_from = alice
    call.transfer_to_agent = bob
    call.transfer_to_address = bob.endpoint
    call.transfer_started_at = timezone.now()
    call.save()
    with django_assert_num_queries(2):
        loaded = selectors.call_with_members(call_id=call.pk)
        touch_everything([loaded])
    assert [m.address for m in loaded.members.all()] == [
        alice.endpoint,
        call.customer.phone,
        bob.endpoint,
    ]
    with pytest.raises(Call.DoesNotExist):
        selectors.call_with_members(call_id=call.pk + 1000)


@pytest.mark.parametrize("count", [1, 30])
def test_agents_by_status_one_query(count, django_assert_num_queries):
    for i in range(count):
        make_agent(status="available" if i % 3 else "away")
    with django_assert_num_queries(1):
        groups = selectors.agents_by_status()
        names = [a.display_name for agents in groups.values() for a in agents]
    assert set(groups) >= set(Agent.Status.values)
    assert len(names) == count
    assert sum(len(v) for v in groups.values()) == count


def test_agents_by_status_longest_in_state_first():
    now = timezone.now()
    recent = make_agent(username="recent")
    longest = make_agent(username="longest")
    Agent.objects.filter(pk=recent.pk).update(status_changed_at=now)
    Agent.objects.filter(pk=longest.pk).update(status_changed_at=now - timedelta(hours=1))
    assert [a.pk for a in selectors.agents_by_status()["available"]] == [longest.pk, recent.pk]


def test_agents_by_status_reads_only_the_first_of_each_group(django_assert_num_queries):
    """A board shows the first few of each status: the database picks them, longest in
    their status first, rather than every agent being read to keep a few."""
    now = timezone.now()
    for i in range(5):
        for status in ("available", "away"):
            agent = make_agent(username=f"{status}-{i}", status=status)
            Agent.objects.filter(pk=agent.pk).update(status_changed_at=now - timedelta(minutes=i))
    with django_assert_num_queries(1):
        groups = selectors.agents_by_status(limit=2)
    for status in ("available", "away"):
        assert [a.user.username for a in groups[status]] == [f"{status}-4", f"{status}-3"]
    assert groups["on_call"] == []
    everyone = selectors.agents_by_status()
    assert [len(everyone[s]) for s in ("available", "away")] == [5, 5]


@pytest.mark.parametrize("count", [1, 30])
def test_call_timeline_merges_by_time(count, alice, django_assert_num_queries):
    call = call_of(agent=alice)
    start = timezone.now() - timedelta(minutes=10)
    for i in range(count):
        Action.objects.create(
            call=call,
            actor=alice.user,
            kind="hold",
            created_at=start + timedelta(seconds=2 * i),
        )
        CallbackEvent.objects.create(
            call=call,
            dedupe_key=f"{call.pk}-{i}",
            vocabulary="phlo",
            event="ConferenceEnter",
            params={"event": "ConferenceEnter"},
            received_at=start + timedelta(seconds=2 * i + 1),
        )
    other = call_of(agent=alice)
    Action.objects.create(call=other, actor=alice.user, kind="hold")
    with django_assert_num_queries(2):
        entries = selectors.call_timeline(call_id=call.pk)
        actors = [e.item.actor.username for e in entries if e.is_action]
    assert len(entries) == 2 * count
    assert [e.source for e in entries[:2]] == ["action", "callback"]
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    assert actors == ["alice"] * count


def test_call_timeline_action_first_on_equal_time(alice):
    call = call_of(agent=alice)
    at = timezone.now()
    CallbackEvent.objects.create(
        call=call, dedupe_key="x", vocabulary="phlo", params={}, received_at=at
    )
    Action.objects.create(call=call, actor=alice.user, kind="hold", created_at=at)
    assert [e.source for e in selectors.call_timeline(call_id=call.pk)] == ["action", "callback"]
