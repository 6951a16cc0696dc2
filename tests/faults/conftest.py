"""Fixtures of the fault suite: a Redis and a PostgreSQL of the test's own, which the tests
stop and start (the machine's shared servers are never touched)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.faults.servers import OwnPostgres, OwnRedis, Unavailable


@pytest.fixture(autouse=True)
def _private_channel_layer(settings):
    """On the run's shared Redis, a channel-layer prefix of this test's own, so that no other
    test's pushes (or leftovers) reach its pages."""
    default = dict(settings.CHANNEL_LAYERS["default"])
    if "redis" in default["BACKEND"].lower():
        default["CONFIG"] = {
            **default.get("CONFIG", {}),
            "prefix": f"faults-{uuid.uuid4().hex[:12]}",
        }
        settings.CHANNEL_LAYERS = {"default": default}


@pytest.fixture
def own_redis():
    workdir = Path(tempfile.mkdtemp(prefix="faults-redis-"))
    try:
        server = OwnRedis(workdir)
    except Unavailable as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.skip(f"needs a Redis of its own: {exc}")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def own_postgres():
    workdir = Path(tempfile.mkdtemp(prefix="faults-pg-"))
    try:
        server = OwnPostgres(workdir)
    except Unavailable as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.skip(f"needs a PostgreSQL of its own: {exc}")
    try:
        server.init().start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# --- people and a simulator whose callbacks reach this app (the PHLO runner tests) ---------


@pytest.fixture
def alice(db):
    from tests.factories import make_agent

    return make_agent(username="alice", endpoint="sip:alice@phones.test")


@pytest.fixture
def bob(db):
    from tests.factories import make_agent

    return make_agent(username="bob", endpoint="sip:bob@phones.test")


@pytest.fixture
def dana(db):
    from tests.factories import make_customer

    return make_customer(name="Dana Diaz", phone="+14155550101")


@pytest.fixture
def runner(live_server, settings, make_phlo_sim):
    """The simulator standing in for the PHLO runner, on a loopback port, on a manual clock;
    its callbacks reach this app's real webhook."""
    settings.PUBLIC_BASE_URL = live_server.url
    return make_phlo_sim(answer_delay=1.0)
