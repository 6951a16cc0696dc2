"""Sessions read from the cache, kept in the database: `SESSION_ENGINE` points here.

Every signed-in request and every live page's handshake and heartbeat reads its session;
Django's database sessions made that a query each time. This is Django's `cached_db`
engine (writes go to both, reads come from the cache while it holds the session), with one
rule added so that a session still ends everywhere the moment its row goes:

- changing or deleting the row through the ORM (a logout's flush, the admin,
  `clearsessions`) forgets the cached copy too, at once and in every process when the
  cache is Redis (`forget_cached_session`, connected in agents.signals);
- a row changed or deleted behind the ORM's back (raw SQL, another tool) is seen within
  `CACHE_SECONDS`, since no copy is cached for longer than that.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.core.cache import caches

# How stale a cached copy may be when its row was deleted without the ORM hearing of it: as
# long as agents.profiles and agents.signed_in keep theirs.
CACHE_SECONDS = 600


def _capped(timeout: float | None) -> float:
    return CACHE_SECONDS if timeout is None else min(timeout, CACHE_SECONDS)


class _ShortLived:
    """The session cache, with no entry kept longer than CACHE_SECONDS."""

    def __init__(self, cache) -> None:
        self._cache = cache

    def set(self, key, value, timeout=None, version=None) -> None:
        self._cache.set(key, value, _capped(timeout), version=version)

    async def aset(self, key, value, timeout=None, version=None) -> None:
        await self._cache.aset(key, value, _capped(timeout), version=version)

    def __contains__(self, key) -> bool:
        return key in self._cache

    def __getattr__(self, name):
        return getattr(self._cache, name)


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key=None) -> None:
        super().__init__(session_key)
        self._cache = _ShortLived(self._cache)


def forget_cached_session(*, session_key: str) -> None:
    """This session's row was changed or deleted: its cached copy must not outlive it."""
    caches[settings.SESSION_CACHE_ALIAS].delete(SessionStore.cache_key_prefix + session_key)
