"""Reads compiled once (contactcenter.compiled_reads) give what their plain querysets give,
for each value, without compiling again; a Django upgrade that changes the compiler's
state fails here first."""

import threading
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import Agent
from agents.permissions import _granted, supervisor_ids
from agents.profiles import _agent_of_user, agent_for_user
from agents.selectors import (
    QueueRow,
    _desktop_call_ids,
    _history,
    _members_with_the_call,
    _queue_rows,
    _read_desktop_call_ids,
    _read_history_beside,
    _read_members_with_the_call,
    agent_with_user,
    customer_history,
    desktop_calls,
    queue_rows,
)
from calls import selectors
from calls.models import Call, Member, Queue, WrapUp
from calls.selectors import wrap_up_window
from contactcenter.compiled_reads import CompiledRead
from tests.desktop.test_selectors import call_with
from tests.factories import make_agent, make_customer, make_supervisor, make_user

pytestmark = pytest.mark.django_db


def _fields(obj, depth: int = 4) -> dict:
    """Every loaded column of a model instance, and of the related ones it carries."""
    out = {k: v for k, v in obj.__dict__.items() if not k.startswith("_")}
    for name, related in obj._state.fields_cache.items():
        if depth:
            out[name] = None if related is None else _fields(related, depth - 1)
    return out


def _two_calls(alice, bob):
    dana, eve = make_customer(name="Dana Diaz"), make_customer(name="Eve Ek")
    first = call_with((alice, "talking"), (dana, "on_hold"), owner=alice, customer=dana)
    second = call_with((bob, "talking"), (eve, "talking"), owner=bob, transfer_from=bob)
    Call.objects.create(status="completed", owner=alice, customer=dana)
    Call.objects.create(status="completed", owner=bob, customer=dana)
    return first, second, dana


def test_each_read_equals_its_plain_queryset_for_each_value(alice, bob):
    first, second, dana = _two_calls(alice, bob)
    for call in (first, second, first):
        compiled = _read_members_with_the_call(call_id=call.pk)
        plain = list(_members_with_the_call(call_id=call.pk))
        assert [_fields(m) for m in compiled] == [_fields(m) for m in plain]
        assert {m.call_id for m in compiled} == {call.pk} and len(compiled) == 2

        member = compiled[0]
        by_member = selectors.members_with_their_call(member_id=member.pk)
        by_call = selectors.members_with_their_call(member_id=member.pk, call_id=call.pk)
        plain = list(selectors._members_and_call().filter(call_id=call.pk))
        assert [_fields(m) for m in by_member] == [_fields(m) for m in plain]
        assert [_fields(m) for m in by_call] == [_fields(m) for m in plain]

        fresh = Call.objects.get(pk=call.pk)
        bare = selectors.members_in_arrival_order(call=fresh)
        plain = fresh.members.in_arrival_order()
        assert [_fields(m) for m in bare] == [_fields(m) for m in plain]
        assert all(m.call is fresh for m in bare)

    for exclude in (first.pk, second.pk):
        compiled = customer_history(customer_id=dana.pk, exclude_call_id=exclude)
        plain = list(_history(customer_id=dana.pk, exclude_call_id=exclude, limit=5))
        assert [_fields(c) for c in compiled] == [_fields(c) for c in plain]
        assert exclude not in {c.pk for c in compiled} and len(compiled) == 3 - (
            exclude == first.pk
        )
    assert _read_members_with_the_call(call_id=10**9) == []


def test_a_read_compiles_once_then_only_runs_its_sql(alice, bob, monkeypatch):
    first, second, dana = _two_calls(alice, bob)
    _read_history_beside(customer_id=dana.pk, exclude_call_id=first.pk)  # compiled here
    compiles = []
    real = SQLCompiler.as_sql
    monkeypatch.setattr(
        SQLCompiler, "as_sql", lambda self, *a, **k: compiles.append(1) or real(self, *a, **k)
    )
    with CaptureQueriesContext(connection) as queries:
        found = _read_history_beside(customer_id=dana.pk, exclude_call_id=second.pk)
    assert compiles == [] and len(queries) == 1
    assert str(second.pk) in queries[0]["sql"] and len(found) == 3


@pytest.mark.django_db(transaction=True)  # the other thread sees committed rows only
def test_another_thread_compiles_its_own(alice, bob):
    first, second, _ = _two_calls(alice, bob)
    _read_members_with_the_call(call_id=first.pk)
    seen = []

    def read():
        try:
            seen.append([m.pk for m in _read_members_with_the_call(call_id=second.pk)])
        finally:
            connection.close()

    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("an in-memory SQLite test database is not shared with other threads")
    thread = threading.Thread(target=read)
    thread.start()
    thread.join(10)
    assert seen == [list(Member.objects.filter(call=second).values_list("pk", flat=True))]


def test_a_read_refuses_values_it_cannot_substitute():
    read = CompiledRead(
        lambda *, call_id: Member.objects.filter(call_id=call_id), names=("call_id",)
    )
    with pytest.raises(TypeError):
        read(call_id="7")
    with pytest.raises(TypeError):
        read(member_id=7)
    unused = CompiledRead(lambda *, call_id: Member.objects.all(), names=("call_id",))
    with pytest.raises(ValueError, match="exactly once"):
        unused(call_id=7)
    dicts = CompiledRead(
        lambda *, call_id: Member.objects.filter(call_id=call_id).values("pk"),
        names=("call_id",),
    )
    with pytest.raises(ValueError, match="model instances or values_list"):
        dicts(call_id=7)
    since = CompiledRead(
        lambda *, at: Member.objects.filter(created_at__gte=at), names=("at",), instants=("at",)
    )
    with pytest.raises(TypeError):
        since(at=datetime(2026, 1, 1))  # naive: which instant is it?
    with pytest.raises(TypeError):
        since(at=7)


def test_values_list_rows_and_instants_equal_their_plain_queryset(alice):
    """values_list() rows and datetime values (which SQLite's backend turns into text)."""
    dana = make_customer(name="Dana Diaz")
    calls = [Call.objects.create(status="completed", owner=alice, customer=dana) for _ in range(3)]
    now = timezone.now()
    for age, call in zip((0, 30, 90), calls, strict=True):
        Call.objects.filter(pk=call.pk).update(created_at=now - timedelta(minutes=age))
    read = CompiledRead(
        lambda *, owner_id, since: (
            Call.objects.filter(owner_id=owner_id, created_at__gte=since)
            .values_list("pk", "created_at")
            .order_by("pk")
        ),
        names=("owner_id", "since"),
        instants=("since",),
    )
    for minutes in (1, 60, 120, -1):
        since = now - timedelta(minutes=minutes)
        plain = list(
            Call.objects.filter(owner_id=alice.pk, created_at__gte=since)
            .values_list("pk", "created_at")
            .order_by("pk")
        )
        assert read(owner_id=alice.pk, since=since) == plain
        assert len(plain) == {1: 1, 60: 2, 120: 3, -1: 0}[minutes]
    assert read(owner_id=10**9, since=now - timedelta(days=1)) == []


def test_the_desktops_call_keys_equal_each_parts_plain_read(alice, bob):
    dana = make_customer(name="Dana Diaz")
    mine = call_with((alice, "talking"), (dana, "talking"), owner=alice)
    joined = call_with((bob, "talking"), (alice, "dialling"), owner=bob)
    left = call_with((bob, "talking"), (alice, "left"), owner=bob)
    owed = Call.objects.create(status="completed", owner=alice, ended_at=timezone.now())
    stale = Call.objects.create(status="completed", owner=alice, ended_at=timezone.now())
    WrapUp.objects.create(call=owed, agent=alice)
    WrapUp.objects.create(call=left, agent=alice)
    WrapUp.objects.create(call=stale, agent=alice, created_at=timezone.now() - timedelta(days=2))
    since = timezone.now() - wrap_up_window()
    for agent, expected in (
        (alice, {mine.pk, joined.pk, left.pk, owed.pk}),
        (bob, {joined.pk, left.pk}),
    ):
        args = {"owner_id": agent.pk, "member_agent_id": agent.pk, "wrap_up_agent_id": agent.pk}
        compiled = _read_desktop_call_ids(**args, since=since)
        plain = list(_desktop_call_ids(**args, since=since))
        assert sorted(compiled) == sorted(plain) and set(compiled) == expected
        assert len(compiled) == len(set(compiled))  # a call both owned and joined: once
    assert desktop_calls(agent=make_agent()) == []


def test_the_supervisor_flag_of_one_user_equals_the_plain_query():
    direct = make_user(username="direct")
    direct.user_permissions.add(Permission.objects.get(codename="supervise"))
    grouped = make_supervisor(username="grouped")
    nobody = make_user(username="nobody")
    for user in (direct, grouped, nobody, direct):
        plain = set(_granted(user_ids=[user.pk]).values_list("pk", flat=True))
        assert supervisor_ids(users=[user]) == plain == ({user.pk} if user != nobody else set())
    assert supervisor_ids(users=[direct, grouped, nobody]) == {direct.pk, grouped.pk}


def test_an_agents_queues_and_the_agent_of_a_user_equal_their_plain_reads(alice, bob):
    sales = Queue.objects.create(name="Sales", number="+15550000101")
    support = Queue.objects.create(name="Support", number="+15550000102")
    sales.agents.set([alice, bob])
    support.agents.set([alice])
    for status, answered in (("active", None), ("active", timezone.now()), ("completed", None)):
        Call.objects.create(status=status, direction="inbound", queue=sales, answered_at=answered)
    for agent in (alice, bob, make_agent()):
        plain = [QueueRow(*row) for row in _queue_rows(agent_id=agent.pk)]
        assert queue_rows(agent_id=agent.pk) == plain
    assert [(r.name, r.waiting) for r in queue_rows(agent_id=alice.pk)] == [
        ("Sales", 1),
        ("Support", 0),
    ]
    for queue in (sales, support):
        assert queue_rows(queue_id=queue.pk) == [
            QueueRow(*row) for row in _queue_rows(queue_id=queue.pk)
        ]
    assert queue_rows(queue_id=10**9) == []

    for agent in (alice, bob):
        found = agent_for_user(user=agent.user)
        assert _fields(found) == _fields(_agent_of_user(user_id=agent.user_id).get())
        assert _fields(agent_with_user(agent_id=agent.pk)) == _fields(found)
    assert agent_for_user(user=make_user()) is None
    with pytest.raises(Agent.DoesNotExist):
        agent_with_user(agent_id=10**9)
