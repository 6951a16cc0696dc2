"""What the scenarios share: signed callbacks, desktop and echo sockets, timing helpers."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from calls.signature import NONCE_HEADER, SIGNATURE_HEADER, compute_signature
from harness.cluster import Cluster, Server
from harness.edge import proxy_headers
from harness.wsclient import HandshakeRefused, WebSocket

WEBHOOK = "/webhooks/plivo/"
CUSTOMER_STATE = re.compile(r'class="member member--([a-z_]+)[^"]*" data-role="customer"')


class Clock:
    """Provider timestamps that only move forward, so no callback is dropped as older."""

    def __init__(self) -> None:
        self._base = datetime.now(UTC)
        self._start = time.monotonic()
        self._last = self._base

    def stamp(self) -> str:
        at = self._base + timedelta(seconds=time.monotonic() - self._start)
        if at <= self._last:
            at = self._last + timedelta(microseconds=1)
        self._last = at
        return at.strftime("%Y-%m-%d %H:%M:%S.%f")


def hold_callback(row: dict, *, hold: bool, stamp: str) -> dict[str, str]:
    """A Multiparty Call status callback: the customer leg of `row`'s call (un)held."""
    return {
        "EventName": "ParticipantHold" if hold else "ParticipantUnhold",
        "EventTimestamp": stamp,
        "MPCUUID": row["conference_uuid"],
        "MPCName": row["conference_name"],
        "MemberID": row["provider_member_id"],
        "ParticipantRole": "Customer",
        "ParticipantCallUUID": row["customer_call_uuid"],
        "ParticipantCallTo": row["customer_phone"],
        "ParticipantCallFrom": "14155550000",
        "ParticipantCallDirection": "outbound",
    }


def signed_request(cluster: Cluster, params: dict[str, str], path: str = WEBHOOK):
    """(headers, body) of a callback as Plivo sends it, signed against the public URL."""
    nonce = str(secrets.randbelow(10**20))
    signature = compute_signature(
        url=cluster.public_base_url + path,
        params=params,
        nonce=nonce,
        auth_token=cluster.auth_token,
    )
    headers = proxy_headers(cluster.public_base_url) | {
        "Content-Type": "application/x-www-form-urlencoded",
        SIGNATURE_HEADER: signature,
        NONCE_HEADER: nonce,
    }
    return headers, urlencode(params).encode()


def form_request(cluster: Cluster, params: dict[str, str]):
    headers = proxy_headers(cluster.public_base_url) | {
        "Content-Type": "application/x-www-form-urlencoded"
    }
    return headers, urlencode(params).encode()


def ws_headers(cluster: Cluster, session_key: str | None = None) -> list[tuple[str, str]]:
    headers = [*proxy_headers(cluster.public_base_url).items()]
    headers.append(("Origin", cluster.public_base_url))
    if session_key:
        headers.append(("Cookie", f"sessionid={session_key}"))
    return headers


async def open_sockets(
    cluster: Cluster,
    servers: Sequence[Server],
    paths_and_keys: Sequence[tuple[str, str | None]],
    *,
    on_message: Callable[[int], Callable[[str, float], None]] | None = None,
    concurrency: int = 8,
    first_message_timeout: float = 60.0,
    attempts: int = 4,
) -> list[WebSocket]:
    """Open one socket per (path, session key), spread round robin over `servers`, and wait
    for each one's first message (the desktop's full state, or the echo's "ready").
    `on_message(i)` gives socket i's handler for the messages after that.

    A few at a time, as a busy process renders desktops one after another; a handshake the
    server dropped is retried after a pause, as the desktop page does."""
    sockets: list[WebSocket | None] = [None] * len(paths_and_keys)
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int, path: str, key: str | None) -> None:
        server = servers[i % len(servers)]
        async with gate:
            handler = on_message(i) if on_message else None
            first = asyncio.get_running_loop().create_future()

            def route(text: str, at: float) -> None:
                if not first.done():
                    first.set_result(text)
                elif handler is not None:
                    handler(text, at)

            for attempt in range(1, attempts + 1):
                try:
                    ws = await WebSocket.connect(
                        host="127.0.0.1",
                        port=server.port,
                        path=path,
                        headers=ws_headers(cluster, key),
                        on_message=route,
                        timeout=first_message_timeout,
                    )
                    break
                except (TimeoutError, OSError, HandshakeRefused):
                    if attempt == attempts:
                        raise
                    await asyncio.sleep(0.5 * attempt)
            sockets[i] = ws
            await asyncio.wait_for(first, first_message_timeout)

    await asyncio.gather(*(one(i, p, k) for i, (p, k) in enumerate(paths_and_keys)))
    return [s for s in sockets if s is not None]


# What static/live/connection.js does: every open page pings every 4 s.
PING_EVERY_SECONDS = 4.0
PING = '{"type": "ping"}'


class Pings:
    """How many pings `heartbeats` sent."""

    sent = 0


def is_pong(text: str) -> bool:
    return 'id="heartbeat"' in text


@contextlib.asynccontextmanager
async def heartbeats(
    sockets: Sequence[WebSocket], *, every: float = PING_EVERY_SECONDS
) -> AsyncIterator[Pings]:
    """While the block runs, each socket pings as an open page does, the sockets' pings
    spread evenly over the period (pages are opened at different moments). A page's load on
    the server includes its heartbeats: 1,000 desktops send 250 pings a second."""
    pings = Pings()

    async def ping_all() -> None:
        started = time.monotonic()
        for period in itertools.count():
            for i, ws in enumerate(sockets):
                due = started + (period + i / len(sockets)) * every
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                with contextlib.suppress(Exception):  # a closed socket: the run notices
                    await ws.send(PING)
                    pings.sent += 1

    task = asyncio.ensure_future(ping_all()) if sockets else None
    try:
        yield pings
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def close_sockets(sockets: Sequence[WebSocket]) -> None:
    await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)


def reached_django(response) -> float:
    """When the request reached Django, on the wall clock (bench.middleware.request_started's
    X-Bench-Started), or NaN when the header is missing."""
    return float(response.headers.get("X-Bench-Started") or "nan")


def ms(seconds: float) -> float:
    return seconds * 1000.0
