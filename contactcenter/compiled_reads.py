"""Hot reads whose SQL is compiled once per thread, then run again with new values.

Django compiles a queryset's SQL on every evaluation; for the wide reads of the push and
button paths (a call with its members, agents and customer: ~100 columns, 11 joins) that
compile cost more than running the query (bench/NOTES.md, 2026-12-05). A `CompiledRead`
builds its queryset once with marker values, keeps the compiler Django made for it, and
later runs the same SQL with the real values; Django itself still turns the rows into
models (its `ModelIterable`, `prefetch_related`), from the kept compiler's state.

Only for reads whose shape never varies with the values (no `None`, no list whose length
varies, no `select_for_update`), whose values are integers or aware datetimes (a marker
must come back among the compiled parameters, as it is or as the backend adapts a
datetime), and which give model instances or `values_list()` rows.
`tests/test_compiled_reads.py` holds each read in use equal to its plain queryset, so a
Django upgrade that changes the compiler fails there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import FlatValuesListIterable, ModelIterable, ValuesListIterable
from django.db.models.sql.constants import GET_ITERATOR_CHUNK_SIZE, MULTI

# Markers for the values: integers that no row's key or bound will equal by chance, and
# instants no real row holds.
_MARKER_BASE = -7_340_033_000
_MARKER_INSTANT = datetime(1901, 2, 3, 4, 5, 6, 7, tzinfo=UTC)
_ITERABLES = (ModelIterable, ValuesListIterable, FlatValuesListIterable)


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

    def results_iter(
        self,
        results=None,
        tuple_expected=False,
        chunked_fetch=False,
        chunk_size=GET_ITERATOR_CHUNK_SIZE,
    ):
        # values_list() rows: this evaluation's rows, converted as the kept compiler would.
        return self._compiler.results_iter(
            results=self.execute_sql() if results is None else results,
            tuple_expected=tuple_expected,
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._compiler, name)


class CompiledRead:
    """`read(**values)` evaluates `build(**values)` (a QuerySet of model instances, or of
    `values_list()` rows) with its SQL compiled at most once per thread (one database: the
    queryset's own). `instants` names the values that are datetimes; the rest are integers."""

    def __init__(
        self,
        build: Callable[..., QuerySet],
        *,
        names: tuple[str, ...],
        instants: tuple[str, ...] = (),
    ) -> None:
        self._build = build
        self._names = names
        self._instants = frozenset(instants)
        if not self._instants <= set(names):
            raise ValueError(f"instants {instants} must be among the names {names}")
        self._markers = {
            name: _MARKER_INSTANT + timedelta(seconds=i)
            if name in self._instants
            else _MARKER_BASE - i
            for i, name in enumerate(names)
        }
        self._local = threading.local()

    def __call__(self, **values: Any) -> list:
        if set(values) != set(self._names) or not all(
            self._fits(name, value) for name, value in values.items()
        ):
            raise TypeError(
                f"expects {self._names} (datetimes: {sorted(self._instants)}), got {values!r}"
            )
        queryset, compiler, sql, params, slots, adapt = self._compiled()
        replay = _Replay(
            compiler,
            sql,
            params,
            {
                i: adapt(values[name]) if name in self._instants else values[name]
                for i, name in slots.items()
            },
        )
        run = queryset.all()
        run.query.get_compiler = lambda *args, **kwargs: replay
        return list(run)

    def _fits(self, name: str, value: Any) -> bool:
        if name in self._instants:
            return isinstance(value, datetime) and value.tzinfo is not None
        return type(value) is int

    def _compiled(self) -> tuple:
        kept = getattr(self._local, "kept", None)
        if kept is None:
            queryset = self._build(**self._markers)
            if queryset._iterable_class not in _ITERABLES:
                # values() and the like would run the compiler's own execute_sql: the markers.
                raise ValueError("a compiled read gives model instances or values_list() rows")
            compiler = queryset.query.get_compiler(using=queryset.db)
            sql, params = compiler.as_sql()
            # The backend may adapt a datetime parameter (SQLite: to text); the real values
            # are adapted the same way.
            adapt = connections[queryset.db].ops.adapt_datetimefield_value
            by_marker = {
                (adapt(m) if name in self._instants else m): name
                for name, m in self._markers.items()
            }
            slots = {
                i: by_marker[p]
                for i, p in enumerate(params)
                if type(p) in (int, str, datetime) and p in by_marker
            }
            if sorted(slots.values()) != sorted(self._names):
                raise ValueError(f"each of {self._names} must be a parameter exactly once")
            kept = self._local.kept = (queryset, compiler, sql, tuple(params), slots, adapt)
        return kept
