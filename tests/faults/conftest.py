"""Fixtures of the fault suite: a Redis and a PostgreSQL of the test's own, which the tests
stop and start (the machine's shared servers are never touched)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults.servers import OwnPostgres, OwnRedis, Unavailable


@contextmanager
def _own(kind, name: str, prefix: str, start) -> Iterator:
    """A server of `kind` in a scratch folder, started by `start(server)`, stopped and
    removed afterwards; the test is skipped when this machine cannot run one."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        server = kind(workdir)
    except Unavailable as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.skip(f"needs a {name} of its own: {exc}")
    try:
        start(server)
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def own_redis():
    with _own(OwnRedis, "Redis", "faults-redis-", lambda server: server.start()) as server:
        yield server


@pytest.fixture(scope="module")
def own_postgres():
    with _own(OwnPostgres, "PostgreSQL", "faults-pg-", lambda s: s.init().start()) as server:
        yield server


@pytest.fixture
def runner(app_sim):
    """The simulator standing in for the PHLO runner (tests/fixtures_simulator.py's `app_sim`):
    loopback port, manual clock, callbacks to this app's real webhook."""
    return app_sim
