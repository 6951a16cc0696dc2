"""Callback → browser latency, and its baseline: a bare group_send echo.

Open-loop load: callbacks are due at a fixed rate whatever the server does, and each one's
clock starts when it is due (so a slow server cannot hide its queue). Each is a signed
ParticipantHold/Unhold for one agent's call; its latency ends when that agent's desktop
socket receives the pushed call fragment showing the new state. The echo baseline posts
to a bare view that does one group_send of a message the size of a real push, to a group
with one socket, through the same servers, channel layer and load pattern.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from bench.common import (
    CUSTOMER_STATE,
    WEBHOOK,
    Clock,
    close_sockets,
    form_request,
    heartbeats,
    hold_callback,
    is_pong,
    ms,
    open_sockets,
    signed_request,
)
from bench.httpload import ConnectionPool
from bench.stats import summary
from harness.cluster import Cluster, Server

# Requests in flight per server at most: beyond that the server is saturated and further
# callbacks are counted as not sent, so an overloaded run stays bounded in time.
POOL_SIZE = 16
SETTLE_TIMEOUT = 10.0
DRAIN_TIMEOUT = 120.0


@dataclass
class RunResult:
    samples_ms: list[float] = field(default_factory=list)
    sent: int = 0
    errors: int = 0
    lost: int = 0
    skipped: int = 0
    saturated: int = 0
    seconds: float = 0.0
    message_bytes: int = 0
    pings: int = 0  # the desktops' heartbeats, as pages send them
    pongs: int = 0

    def as_dict(self) -> dict:
        return summary(self.samples_ms) | {
            "sent": self.sent,
            "errors": self.errors,
            "lost": self.lost,
            "skipped_busy": self.skipped,
            "not_sent_saturated": self.saturated,
            "rate": self.sent / self.seconds if self.seconds else 0.0,
            "offered_rate": (self.sent + self.saturated + self.skipped) / self.seconds
            if self.seconds
            else 0.0,
            "message_bytes": self.message_bytes,
            "pings": self.pings,
            "pongs": self.pongs,
        }


class _Pending:
    """One outstanding request per socket: when it was due and what completes it."""

    def __init__(self, count: int) -> None:
        self.due: list[float | None] = [None] * count
        self.want: list[str] = [""] * count
        self.record: list[bool] = [False] * count


async def _drive(
    *,
    servers: Sequence[Server],
    count: int,
    rate: float,
    seconds: float,
    warmup: float,
    pending: _Pending,
    result: RunResult,
    request_for: Callable[[int], tuple[str, dict, bytes, str]],
    answer_ok: Callable[[bytes], bool],
) -> None:
    """Fire `rate` requests per second for warmup + seconds; request k goes to socket
    k % count (the next free one if that one still waits) and to server k % len(servers)."""
    pools = [ConnectionPool("127.0.0.1", s.port, POOL_SIZE) for s in servers]
    tasks: set[asyncio.Task] = set()

    async def fire(k: int, i: int, path: str, headers: dict, body: bytes) -> None:
        try:
            answer = await pools[k % len(pools)].request("POST", path, headers=headers, body=body)
            ok = answer.status == 200 and answer_ok(answer.body)
        except Exception:
            ok = False
        if not ok:
            result.errors += 1
            pending.due[i] = None

    loop = asyncio.get_running_loop()
    start = time.monotonic()
    total = int((warmup + seconds) * rate)
    cursor = 0
    try:
        for k in range(total):
            due = start + k / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            for step in range(count):
                i = (cursor + step) % count
                if pending.due[i] is None:
                    break
            else:
                result.skipped += 1
                continue
            if len(tasks) >= POOL_SIZE * len(pools):
                result.saturated += due - start >= warmup
                continue
            cursor = i + 1
            if due - start >= warmup:
                result.sent += 1
            path, headers, body, want = request_for(i)
            pending.due[i], pending.want[i] = due, want
            pending.record[i] = due - start >= warmup
            task = loop.create_task(fire(k, i, path, headers, body))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        result.seconds = seconds
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while any(d is not None for d in pending.due) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        result.lost = sum(
            1 for d, r in zip(pending.due, pending.record, strict=True) if d is not None and r
        )
        if tasks:
            # Let the servers finish what they accepted before the next run starts.
            await asyncio.wait(tasks, timeout=DRAIN_TIMEOUT)
    finally:
        for pool in pools:
            pool.close()


async def push_latency(
    cluster: Cluster,
    servers: Sequence[Server],
    rows: Sequence[dict],
    *,
    rate: float,
    seconds: float,
    warmup: float,
    during: AbstractContextManager | None = None,
) -> dict:
    """Desktops of `rows` open (round robin over servers); signed callbacks at `rate`.
    `during` is entered once the desktops are open and left when the callbacks stop (a
    profile of the load, not of the desktops connecting)."""
    count = len(rows)
    pending = _Pending(count)
    result = RunResult()
    markers = [f'id="call-{row["call_id"]}"' for row in rows]
    clock = Clock()
    sizes: list[int] = []

    def handler(i: int):
        def on_message(text: str, at: float) -> None:
            if is_pong(text):
                result.pongs += 1
                return
            due = pending.due[i]
            if due is None or markers[i] not in text:
                return
            found = CUSTOMER_STATE.search(text)
            if found and found[1] == pending.want[i]:
                if pending.record[i]:
                    result.samples_ms.append(ms(at - due))
                    sizes.append(len(text))
                pending.due[i] = None

        return on_message

    def request_for(i: int):
        row = rows[i]
        row["held"] = hold = not row.get("held", False)
        params = hold_callback(row, hold=hold, stamp=clock.stamp())
        headers, body = signed_request(cluster, params)
        return WEBHOOK, headers, body, "on_hold" if hold else "talking"

    sockets = await open_sockets(
        cluster,
        servers,
        [("/ws/desktop/", row["session_key"]) for row in rows],
        on_message=handler,
    )
    try:
        async with heartbeats(sockets) as pings:
            with during or nullcontext():
                await _drive(
                    servers=servers,
                    count=count,
                    rate=rate,
                    seconds=seconds,
                    warmup=warmup,
                    pending=pending,
                    result=result,
                    request_for=request_for,
                    answer_ok=lambda body: b'"applied"' in body,
                )
        result.pings = pings.sent
    finally:
        await close_sockets(sockets)
    result.message_bytes = int(sum(sizes) / len(sizes)) if sizes else 0
    return result.as_dict()


async def echo_latency(
    cluster: Cluster,
    servers: Sequence[Server],
    count: int,
    *,
    rate: float,
    seconds: float,
    warmup: float,
    payload_bytes: int,
) -> dict:
    """`count` echo sockets; each request is one group_send of `payload_bytes` to one."""
    pending = _Pending(count)
    result = RunResult()
    filler = "x" * max(0, payload_bytes)

    def handler(i: int):
        def on_message(text: str, at: float) -> None:
            due = pending.due[i]
            if due is None:
                return
            if pending.record[i]:
                result.samples_ms.append(ms(at - due))
            pending.due[i] = None

        return on_message

    def request_for(i: int):
        headers, body = form_request(cluster, {"group": str(i), "text": filler})
        return "/bench/echo/", headers, body, ""

    sockets = await open_sockets(
        cluster, servers, [(f"/bench/ws/echo/{i}/", None) for i in range(count)], on_message=handler
    )
    try:
        await _drive(
            servers=servers,
            count=count,
            rate=rate,
            seconds=seconds,
            warmup=warmup,
            pending=pending,
            result=result,
            request_for=request_for,
            answer_ok=lambda body: body == b"sent",
        )
    finally:
        await close_sockets(sockets)
    result.message_bytes = payload_bytes
    return result.as_dict()
