"""Hot reads whose SQL is compiled once per thread, then run again with new values.

Django compiles a queryset's SQL on every evaluation; for the wide reads of the push and
button paths (a call with its members, agents and customer: ~100 columns, 11 joins) that
compile cost more than running the query (bench/NOTES.md, 2026-12-05). A `CompiledRead`
builds its queryset once with marker values, keeps the compiler Django made for it, and
later runs the same SQL with the real values; Django itself still turns the rows into
models (its `ModelIterable`, `prefetch_related`), from the kept compiler's state.

Only for reads whose shape never varies with the values (no `None`, no lists, no
`select_for_update`), and whose values are integers (a marker must come back unchanged
among the compiled parameters). `tests/test_compiled_reads.py` holds each read in use equal
to its plain queryset, so a Django upgrade that changes the compiler fails there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import ModelIterable
from django.db.models.sql.constants import MULTI

# Markers for the values: integers that no row's key or bound will equal by chance.
_MARKER_BASE = -7_340_033_000


class _Replay:
    """Stands in for the compiler of one evaluation: the kept compiler's state (what is
    selected, how rows become models) with this evaluation's values."""

    def __init__(self, compiler: Any, sql: str, params: tuple, values: dict[int, Any]):
        self._compiler = compiler
        self._sql = sql
        self._params = tuple(values.get(i, p) for i, p in enumerate(params))

    def execute_sql(self, result_type=MULTI, chunked_fetch=False, chunk_size=None):
        assert result_type == MULTI, result_type
        with connections[self._compiler.using].cursor() as cursor:
            cursor.execute(self._sql, self._params)
            return [cursor.fetchall()]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._compiler, name)


class CompiledRead:
    """`read(**values)` evaluates `build(**values)` (a QuerySet of model instances) with its
    SQL compiled at most once per thread (one database: the queryset's own)."""

    def __init__(self, build: Callable[..., QuerySet], *, names: tuple[str, ...]) -> None:
        self._build = build
        self._names = names
        self._markers = {name: _MARKER_BASE - i for i, name in enumerate(names)}
        self._local = threading.local()

    def __call__(self, **values: int) -> list:
        if set(values) != set(self._names) or any(type(v) is not int for v in values.values()):
            raise TypeError(f"expects the integers {self._names}, got {values!r}")
        queryset, compiler, sql, params, slots = self._compiled()
        replay = _Replay(compiler, sql, params, {i: values[name] for i, name in slots.items()})
        run = queryset.all()
        run.query.get_compiler = lambda *args, **kwargs: replay
        return list(run)

    def _compiled(self) -> tuple:
        kept = getattr(self._local, "kept", None)
        if kept is None:
            queryset = self._build(**self._markers)
            if queryset._iterable_class is not ModelIterable:
                # values() and the like run the compiler's own execute_sql: the markers.
                raise ValueError("a compiled read gives model instances only")
            compiler = queryset.query.get_compiler(using=queryset.db)
            sql, params = compiler.as_sql()
            by_marker = {m: name for name, m in self._markers.items()}
            slots = {
                i: by_marker[p] for i, p in enumerate(params) if type(p) is int and p in by_marker
            }
            if sorted(slots.values()) != sorted(self._names):
                raise ValueError(f"each of {self._names} must be a parameter exactly once")
            kept = self._local.kept = (queryset, compiler, sql, tuple(params), slots)
        return kept
