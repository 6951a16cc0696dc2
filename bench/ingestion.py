"""Webhook ingestion: signed callbacks per second one process sustains, with nothing lost;
baseline: a bare Django view on the same server, under the same closed-loop load.

Closed loop: `concurrency` clients each send their next request as soon as the previous
answer arrives. Every callback is a real state change (hold/unhold) on a live call whose
agent's desktop is open, so the figure includes storing, applying, rendering and pushing.
"Lost" compares the 200s with what the database holds afterwards.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext

from bench.common import (
    WEBHOOK,
    Clock,
    close_sockets,
    form_request,
    heartbeats,
    hold_callback,
    ms,
    open_sockets,
    signed_request,
)
from bench.cpu import CpuMeter
from bench.httpload import HttpConnection
from bench.stats import summary
from harness.cluster import Cluster, Server


async def _closed_loop(
    server: Server,
    *,
    seconds: float,
    concurrency: int,
    make: Callable[[], tuple[str, dict, bytes]],
    ok: Callable[[int, bytes], bool],
) -> dict:
    latencies: list[float] = []
    counts = {"ok": 0, "errors": 0}
    deadline = time.monotonic() + seconds

    async def client() -> None:
        conn = HttpConnection("127.0.0.1", server.port)
        try:
            while time.monotonic() < deadline:
                path, headers, body = make()
                started = time.monotonic()
                try:
                    answer = await conn.request("POST", path, headers=headers, body=body)
                    good = ok(answer.status, answer.body)
                except Exception:
                    good = False
                latencies.append(ms(time.monotonic() - started))
                counts["ok" if good else "errors"] += 1
        finally:
            conn.close()

    began = time.monotonic()
    with CpuMeter(app_pids=[server.pid]) as meter:
        await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.monotonic() - began
    return {
        "seconds": elapsed,
        "ok": counts["ok"],
        "errors": counts["errors"],
        "per_second": counts["ok"] / elapsed,
        "latency": summary(latencies),
        "cpu": meter.figures(count=counts["ok"] + counts["errors"]),
    }


async def webhook_ingestion(
    cluster: Cluster,
    server: Server,
    rows: Sequence[dict],
    *,
    seconds: float,
    concurrency: int,
    during: AbstractContextManager | None = None,
) -> dict:
    """`during` is entered once the desktops are open and left when the load stops."""
    order = itertools.cycle(range(len(rows)))
    clock = Clock()

    def make():
        row = rows[next(order)]
        # The row remembers its call's state across runs, so every callback changes it.
        row["held"] = hold = not row.get("held", False)
        headers, body = signed_request(cluster, hold_callback(row, hold=hold, stamp=clock.stamp()))
        return WEBHOOK, headers, body

    before = cluster.sql("select coalesce(max(id), 0) from calls_callbackevent")[0][0]
    sockets = await open_sockets(
        cluster, [server], [("/ws/desktop/", row["session_key"]) for row in rows]
    )
    try:
        async with heartbeats(sockets):
            with during or nullcontext():
                result = await _closed_loop(
                    server,
                    seconds=seconds,
                    concurrency=concurrency,
                    make=make,
                    ok=lambda status, body: status == 200 and b'"applied"' in body,
                )
    finally:
        await close_sockets(sockets)
    stored = dict(
        cluster.sql(
            "select outcome, count(*) from calls_callbackevent where id > %s group by outcome",
            before,
        )
    )
    result["stored"] = stored
    result["lost"] = result["ok"] - stored.get("applied", 0)
    return result


async def bare_view(
    cluster: Cluster, server: Server, *, seconds: float, concurrency: int, body_like: dict
) -> dict:
    headers, body = form_request(cluster, body_like)

    def make():
        return "/bench/bare/", headers, body

    return await _closed_loop(
        server,
        seconds=seconds,
        concurrency=concurrency,
        make=make,
        ok=lambda status, body: status == 200,
    )
