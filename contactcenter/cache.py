"""Django's Redis cache with one client, and so one set of connection pools, per process.

Django keeps a cache backend per asyncio context (its cache handler is not thread-critical:
asgiref's `Local` follows the context), and each `RedisCache` builds its own client, with its
own connection pools, the first time it is used. Under ASGI every request and every websocket
consumer runs in a context of its own, so each one that touched the cache opened a
connection to Redis of its own: a new connection (TCP, and redis-py's CLIENT SETINFO) per
request, and one held open for as long as a desktop's socket lives, all day. At 2,500 open
desktops that was 2,500 Redis connections from one process (Redis refuses clients beyond
`maxclients`, 10,000 by default) and ~10 KB of each socket's memory (bench/NOTES.md).

This backend shares one client among every instance with the same servers and options in
the process; redis-py's pools are thread-safe, and reset themselves in a forked child.

What the app caches (sessions, who is signed in, agents' profiles) is a copy of what
PostgreSQL holds. So while Redis is down or unreachable the cache answers as an empty one
(a read misses, a write is dropped) and the app reads PostgreSQL: buttons, pages and
callbacks keep working through a Redis outage, as docs/operations.md says. Django's own
backend raises instead, and every signed-in request would fail with it. A Redis that comes
back with its data (a network cut rather than a restart) missed the changes made meanwhile:
what it holds of them is believed until it expires, ten minutes at most.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

_clients: dict[tuple, RedisCacheClient] = {}
_lock = threading.Lock()
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
WARN_EVERY_SECONDS = 30.0  # an outage warns now and then, not at every request
_warned_at = float("-inf")


def _or_else(default, call, *args):
    """call(*args), or `default` (logged now and then) when Redis cannot be reached."""
    global _warned_at
    try:
        return call(*args)
    except _UNREACHABLE as exc:
        now = time.monotonic()
        if now - _warned_at >= WARN_EVERY_SECONDS:
            _warned_at = now
            logger.warning("the cache's Redis is unreachable (%s); reading PostgreSQL", exc)
        return default


class ForgivingRedisCacheClient(RedisCacheClient):
    """Django's client, answering as an empty cache while Redis cannot be reached."""

    def get(self, key, default):
        return _or_else(default, super().get, key, default)

    def get_many(self, keys):
        return _or_else({}, super().get_many, keys)

    def has_key(self, key):
        return _or_else(False, super().has_key, key)

    def add(self, key, value, timeout):
        return _or_else(False, super().add, key, value, timeout)

    def set(self, key, value, timeout):
        _or_else(None, super().set, key, value, timeout)

    def set_many(self, data, timeout):
        _or_else(None, super().set_many, data, timeout)

    def touch(self, key, timeout):
        return _or_else(False, super().touch, key, timeout)

    def delete(self, key):
        return _or_else(False, super().delete, key)

    def delete_many(self, keys):
        _or_else(None, super().delete_many, keys)

    def incr(self, key, delta):
        missing = object()
        found = _or_else(missing, super().incr, key, delta)
        if found is missing:  # as for a key that is not there: the callers start it again
            raise ValueError(f"Key '{key}' not found: the cache is unreachable")
        return found


class SharedRedisCache(RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = ForgivingRedisCacheClient

    @cached_property
    def _cache(self) -> RedisCacheClient:
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
        return client
