"""Reads compiled once (contactcenter.compiled_reads) give what their plain querysets give,
for each value, without compiling again; a Django upgrade that changes the compiler's
state fails here first."""

import threading

import pytest
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from agents.selectors import (
    _history,
    _members_with_the_call,
    _read_history_beside,
    _read_members_with_the_call,
    customer_history,
)
from calls import selectors
from calls.models import Call, Member
from contactcenter.compiled_reads import CompiledRead
from tests.desktop.test_selectors import call_with
from tests.factories import make_customer

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
    values = CompiledRead(
        lambda *, call_id: Member.objects.filter(call_id=call_id).values_list("pk"),
        names=("call_id",),
    )
    with pytest.raises(ValueError, match="model instances only"):
        values(call_id=7)
