"""Is any wallboard open anywhere? Lets the publisher skip the wallboard's render when not.

Each open wallboard counts itself in Django's cache (Redis, shared by every process, when
REDIS_URL is set; else memory, for the one process there is): +1 on connect, -1 on
disconnect. Only the cache's public API is used. The count lives `FRESH_SECONDS` and every
open wallboard renews it every `KEEPALIVE_SECONDS`, so what a process that died left counted
stops counting that long after the last open wallboard anywhere stopped renewing it.

Both ways of being wrong are harmless: a wallboard counted but gone costs one wasted render;
one not yet counted gets the plain message and renders the change itself (the consumer's
fallback), and a wallboard that (re)connects gets the full state anyway. A cache that cannot
be read counts as "open", so the render is never skipped by mistake.
"""

from __future__ import annotations

import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 30.0
FRESH_SECONDS = 3 * KEEPALIVE_SECONDS
KEY = "wallboard.open"


async def opened() -> None:
    await cache.aadd(KEY, 0, timeout=FRESH_SECONDS)
    try:
        await cache.aincr(KEY)
    except ValueError:  # expired in between
        await cache.aadd(KEY, 1, timeout=FRESH_SECONDS)
    await cache.atouch(KEY, timeout=FRESH_SECONDS)


async def closed() -> None:
    try:
        left = await cache.adecr(KEY)
    except ValueError:  # expired already: nothing counted to take back
        return
    if left <= 0:
        await cache.adelete(KEY)


async def still_open() -> None:
    """Renews the count; one that expired (no renewal for long) counts this wallboard again."""
    if not await cache.atouch(KEY, timeout=FRESH_SECONDS):
        await cache.aadd(KEY, 1, timeout=FRESH_SECONDS)


def any_open() -> bool:
    """True unless the cache says for sure that no wallboard is open. For sync code (the
    publisher, after commit)."""
    try:
        return (cache.get(KEY) or 0) > 0
    except Exception:
        logger.exception("could not count the open wallboards")
        return True
