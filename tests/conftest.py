import os
import uuid

import pytest
from hypothesis import settings as hypothesis_settings

# Property and fuzz tests draw the same examples on every run by default, so the suite passes
# or fails the same way each time (a CI that fails by chance teaches people to rerun). To look
# for new failures, run with HYPOTHESIS_PROFILE=explore: a failure prints how to replay it.
hypothesis_settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

pytest_plugins = ["tests.fixtures_people", "tests.fixtures_simulator", "tests.fixtures_browser"]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite, test in a file of this run's own, as the product runs (WAL, busy timeout).

    Django's default in-memory test database uses SQLite's shared cache, where a write in
    one thread fails at once with "table is locked" while another thread reads, instead of
    waiting: websocket renders run in a thread pool beside the test's own writes.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        name = tmp_path_factory.mktemp("sqlite") / "test.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(name)


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup):
    """Before the test database is dropped, finalize connections left in worker threads.

    Websocket renders and pushes run in event loops' thread pools; each of those threads
    keeps its own connection (CONN_MAX_AGE), and a closed loop's threads end without closing
    it. PostgreSQL refuses to drop a database someone is still connected to.
    """
    yield
    import gc

    gc.collect()


@pytest.fixture(autouse=True)
def _no_cached_profiles():
    """Agents' cached profiles (agents.profiles) are keyed by user id, which SQLite hands out
    again after a test's rollback: each test starts with none."""
    from agents.profiles import forget_profiles

    forget_profiles()


@pytest.fixture(autouse=True)
def _phlo_test_settings(settings):
    """Every test talks to a simulator (never the real Plivo) with throwaway credentials."""
    settings.PHLO_SIMULATOR = True
    settings.PLIVO_AUTH_ID = "MATESTTESTTESTTEST00"
    settings.PLIVO_AUTH_TOKEN = "test-auth-token"
    settings.PHLO_ID = "11111111-2222-4333-8444-555555555555"
    settings.PHLO_MPC_NODE_ID = "66666666-7777-4888-8999-000000000000"
    settings.PUBLIC_BASE_URL = "http://testserver"
    # The default hasher costs ~0.2 s per user; tests create many.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


_cache_namespace = "suite"


def key_of_this_test(key: str, key_prefix: str, version: int) -> str:
    """The Redis cache's KEY_FUNCTION in tests: every key carries the running test's namespace."""
    return f"{_cache_namespace}:{key_prefix}:{version}:{key}"


@pytest.fixture(scope="session", autouse=True)
def _redis_cache_keys_per_test():
    """On Redis, one cache (one connection pool) for the whole run, whose keys carry the
    running test's namespace (see _private_cache). A cache per test would be a pool per test
    that nothing closes: hundreds of sockets in a run."""
    from django.conf import settings
    from django.test.utils import override_settings

    default = settings.CACHES["default"]
    if "redis" not in default["BACKEND"].lower():
        yield
        return
    keyed = {**default, "KEY_FUNCTION": f"{__name__}.key_of_this_test"}
    with override_settings(CACHES={**settings.CACHES, "default": keyed}):
        yield


@pytest.fixture(autouse=True)
def _no_queue_exit_timer():
    """The process's queue exit timer (agents.heartbeats) is set by a test's sockets on that
    test's event loop: it must not fire into the next test's database."""
    from agents.heartbeats import exit_timer

    yield
    exit_timer.cancel()


@pytest.fixture(autouse=True)
def _private_cache(settings):
    """Each test sees a cache of its own, as it gets a channel layer of its own, so that what
    one test left counted (the open wallboards, agents.profiles) never reaches the next, and
    neither does what a process that a test killed left on a shared Redis. In memory, a fresh
    cache; on Redis, a fresh namespace for the keys of the run's one cache."""
    global _cache_namespace
    default = dict(settings.CACHES["default"])
    if "locmem" in default["BACKEND"].lower():
        default["LOCATION"] = f"test-{uuid.uuid4().hex}"
        settings.CACHES = {**settings.CACHES, "default": default}
    _cache_namespace = f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def _private_channel_layer(settings):
    """Each test gets a channel layer of its own: a fresh in-memory one, or on a shared Redis
    (REDIS_URL) a prefix of its own, so no other test's pushes (or leftovers) reach it."""
    default = dict(settings.CHANNEL_LAYERS["default"])
    if "redis" in default["BACKEND"].lower():
        default["CONFIG"] = {**default.get("CONFIG", {}), "prefix": f"test-{uuid.uuid4().hex[:12]}"}
    settings.CHANNEL_LAYERS = {"default": default}


@pytest.fixture
async def close_db_connections():
    """For async tests on a transactional database: the database connections that the
    consumers and sync_to_async opened live in worker threads; close them after the test, or
    PostgreSQL cannot drop the test database at the end of the run."""
    yield
    from asgiref.sync import sync_to_async
    from django.db import connections

    await sync_to_async(connections.close_all)()
