"""Websocket consumers that hand each message straight to its handler, on the event loop.

Channels' `AsyncConsumer.dispatch` runs `close_old_connections` through `sync_to_async`
before every message: a hop into the one thread a process keeps for thread-sensitive work,
and back, for every ping, every push and every frame. With a thousand desktops open that is
hundreds of hops a second, each queued behind whatever else that one thread is doing, and
the hop was in ~6% of a loaded push process's profile samples (bench/NOTES.md,
2026-12-06).

It buys our consumers nothing: they never touch the database on the event loop. Every
query of theirs runs through `database_sync_to_async`, which closes the old connections of
its thread before and after its own call, as Django does around a request.
"""

from __future__ import annotations

from channels.consumer import get_handler_name


class DirectDispatchMixin:
    """Put first among a consumer's bases. Only for consumers whose handlers reach the
    database through `database_sync_to_async` alone."""

    async def dispatch(self, message: dict) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
