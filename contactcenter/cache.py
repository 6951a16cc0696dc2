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
"""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property

_clients: dict[tuple, RedisCacheClient] = {}
_lock = threading.Lock()


class SharedRedisCache(RedisCache):
    @cached_property
    def _cache(self) -> RedisCacheClient:
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
        return client
