"""contactcenter.cache: every asyncio context of a process (each request, each websocket)
shares one Redis connection pool, instead of opening a connection of its own."""

from __future__ import annotations

import contextvars
import os
import uuid

import pytest
from django.core.cache import caches

REDIS_URL = os.environ.get("REDIS_URL", "")
pytestmark = pytest.mark.skipif(
    not REDIS_URL, reason="needs Redis (REDIS_URL): the pools are Redis's, not the locmem cache's"
)


def _pools_used_by_contexts(settings, backend: str, contexts: int = 20) -> list:
    """Each context, as a request or a consumer has, sets and reads a key; the connection
    pools they used, and how many connections each pool opened meanwhile."""
    settings.CACHES = {
        "default": {
            "BACKEND": backend,
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex[:12]}",
        }
    }
    pools = {}

    def one_request(i: int) -> None:
        cache = caches["default"]
        cache.set(f"k{i}", i)
        assert cache.get(f"k{i}") == i
        for pool in cache._cache._pools.values():
            pools.setdefault(id(pool), [pool, pool._created_connections])

    for i in range(contexts):
        contextvars.Context().run(one_request, i)
    return [(pool, pool._created_connections - before) for pool, before in pools.values()]


def test_contexts_share_one_pool_and_so_one_connection(settings):
    used = _pools_used_by_contexts(settings, "contactcenter.cache.SharedRedisCache")
    assert len(used) == 1
    (_, opened) = used[0]
    assert opened == 0  # one context after the other: the first one's connection serves all


def test_djangos_own_backend_would_open_a_pool_per_context(settings):
    # The control: what the shared backend replaces.
    pools = _pools_used_by_contexts(settings, "django.core.cache.backends.redis.RedisCache")
    assert len(pools) == 20


def test_the_products_settings_use_it(settings):
    from contactcenter import settings as product

    if product.REDIS_URL:
        assert product.CACHES["default"]["BACKEND"] == "contactcenter.cache.SharedRedisCache"
