"""On PostgreSQL, the reads a burst of callers runs at every Available press stay linear in the
live legs, however stale the statistics.

The statistics are read before a burst (autovacuum analyzes a minute apart at best) and see
a day of ended calls with almost no live leg, so the planner takes the live legs and live
calls for one row each. Written as correlated NOT EXISTS and joins, the waiting callers and
the free agents were then planned as a scan of every live leg for each live call or leg:
17-27 ms and 60-100 ms a read in the queue bench (bench/NOTES.md). Here a day's history is
analyzed, a burst is added behind the statistics' back, and each read's plan is run: the rows
its joins threw away must grow with the burst, not with its square.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from agents.availability import agents_by_longest_wait
from agents.models import Agent
from agents.services.routing import queued_callers
from calls.models import Call, Member, Queue
from tests.factories import make_agent

pytestmark = pytest.mark.django_db

HISTORY = 600
WAITING = 120
TALKING = 60
Role, State = Member.Role, Member.State


def _rows_thrown_away(queryset) -> int:
    """What the plan's joins and filters discarded, summed over every loop of every node."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        (plan,) = cursor.fetchone()[0]

    def walk(node: dict) -> int:
        loops = node.get("Actual Loops", 1)
        here = node.get("Rows Removed by Join Filter", 0) + node.get("Rows Removed by Filter", 0)
        return here * loops + sum(walk(child) for child in node.get("Plans", ()))

    return walk(plan["Plan"])


@pytest.fixture
def burst():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL): the plans are PostgreSQL's")
    queue = Queue.objects.create(name="Sales", number="14155550000")
    agents = [make_agent(username=f"agent{i}") for i in range(TALKING + 5)]
    for agent in agents:
        agent.queues.add(queue)
    now = timezone.now()
    ended = Call.objects.bulk_create(
        Call(
            direction=Call.Direction.INBOUND,
            status=Call.Status.COMPLETED,
            queue=queue,
            created_at=now - timedelta(hours=2),
            answered_at=now - timedelta(hours=2),
            ended_at=now - timedelta(hours=1),
        )
        for _ in range(HISTORY)
    )
    Member.objects.bulk_create(
        Member(call=call, role=role, address=f"{role}-{call.pk}", state=State.LEFT)
        for call in ended
        for role in (Role.CUSTOMER, Role.AGENT)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE calls_call, calls_member, agents_agent")
    # The burst, newer than the statistics: callers waiting, some of them with an agent on.
    live = Call.objects.bulk_create(
        Call(
            direction=Call.Direction.INBOUND,
            status=Call.Status.DIALLING,
            queue=queue,
            created_at=now - timedelta(seconds=i),
        )
        for i in range(WAITING)
    )
    Member.objects.bulk_create(
        Member(call=call, role=Role.CUSTOMER, address=f"caller-{call.pk}", state=State.WAITING)
        for call in live
    )
    Member.objects.bulk_create(
        Member(call=call, role=Role.AGENT, address=agent.endpoint, agent=agent, state=State.TALKING)
        for call, agent in zip(live[:TALKING], agents, strict=False)
    )
    Agent.objects.update(status=Agent.Status.AVAILABLE)
    return queue, agents


def test_the_longest_waiting_caller_is_read_in_time_linear_in_the_burst(burst):
    _, agents = burst
    read = queued_callers().filter(queue__agents=agents[-1].pk).values_list("pk", "queue_id")[:1]
    assert len(list(read)) == 1
    # One pass over the live calls and legs; a scan of the legs per call was ~WAITING * 180.
    assert _rows_thrown_away(read) < 10 * (WAITING + TALKING)


def test_the_free_agents_are_read_in_time_linear_in_the_burst(burst):
    queue, agents = burst
    free = agents_by_longest_wait().filter(queues=queue)
    assert free.count() == len(agents) - TALKING
    # A scan of the live calls per live leg was ~TALKING * WAITING.
    assert _rows_thrown_away(free) < 10 * (WAITING + TALKING)
