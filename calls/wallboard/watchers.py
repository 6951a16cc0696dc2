"""Is any wallboard open anywhere? Lets the publisher skip the wallboard's render when not.

Every open wallboard is a member of the channel layer's `supervisors` group, in whichever
process holds it, and the layer records when each joined (Redis: a sorted set scored by
time; in memory: a dict). A wallboard re-joins every `KEEPALIVE_SECONDS`, so a member seen
within `FRESH_SECONDS` is open; one left behind by a process that died stops counting after
that, without waiting for the layer's day-long group expiry.

Both ways of being wrong are harmless: a wallboard counted but gone costs one wasted render;
one not yet counted gets the plain message and renders the change itself (the consumer's
fallback), and a wallboard that (re)connects gets the full state anyway. A layer this
module cannot read counts as "open", so the render is never skipped by mistake.
"""

from __future__ import annotations

import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 30.0
FRESH_SECONDS = 3 * KEEPALIVE_SECONDS


async def open_count(
    *, layer: BaseChannelLayer, group: str, within: float = FRESH_SECONDS
) -> int | None:
    """Members of `group` that joined or re-joined in the last `within` seconds, or None
    when the layer cannot tell."""
    since = time.time() - within
    if isinstance(layer, InMemoryChannelLayer):
        return sum(1 for joined in layer.groups.get(group, {}).values() if joined >= since)
    try:
        from channels_redis.core import RedisChannelLayer
    except ImportError:  # pragma: no cover - installed with the project
        return None
    if not isinstance(layer, RedisChannelLayer):
        return None
    # The group is a sorted set scored by join time (channels_redis 4).
    connection = layer.connection(layer.consistent_hash(group))
    return await connection.zcount(layer._group_key(group), since, "+inf")


def any_open(*, group: str) -> bool:
    """True unless the channel layer says for sure that no member of `group` is open. For
    sync code (the publisher, after commit)."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        count = async_to_sync(open_count)(layer=layer, group=group)
    except Exception:
        logger.exception("could not count the open wallboards")
        return True
    return count is None or count > 0
