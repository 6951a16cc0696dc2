"""Idle desktop websockets one process holds, and the memory each one costs.

Agents' desktops are opened in steps (each one logged in and sent its full state, as in
a browser); the process's resident memory is read from /proc after each step. Memory per
connection is the growth from the first step to the last, divided by the sockets added.
At the end a sample of sockets must still answer a heartbeat promptly, and then up to
`RECONNECT` of them are closed and opened again: desktops the process has seen before, as
after a restart or a network blip (each again signed in and sent its full state).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

from bench.common import close_sockets, ms, open_sockets
from bench.stats import summary
from harness.cluster import Cluster, Server
from harness.wsclient import WebSocket

WARM = 20
PING_SAMPLE = 50
RECONNECT = 1000


async def idle_capacity(
    cluster: Cluster,
    server: Server,
    rows: Sequence[dict],
    *,
    steps: Sequence[int],
    during: AbstractContextManager | None = None,
) -> dict:
    """`during` is entered for the steps (the desktops connecting), not the warm-up."""
    held: list[WebSocket] = []
    points: list[dict] = []
    pings: list[float] = []
    try:
        # Warm the process (code paths, caches, pools) before the baseline reading.
        held += await open_sockets(
            cluster, [server], [("/ws/desktop/", row["session_key"]) for row in rows[:WARM]]
        )
        points.append({"sockets": len(held), "rss_kb": server.rss_kb()})
        with during or nullcontext():
            await _steps(cluster, server, rows, steps=steps, held=held, points=points)
        pings = await _heartbeats(random.Random(7).sample(held, min(PING_SAMPLE, len(held))))
        reconnect = await _reconnect(cluster, server, rows, held=held)
    finally:
        await close_sockets(held)
    first, last = points[0], points[-1]
    added = last["sockets"] - first["sockets"]
    per_conn = (last["rss_kb"] - first["rss_kb"]) / added if added else float("nan")
    return {
        "points": points,
        "held": last["sockets"],
        "kb_per_socket": per_conn,
        "heartbeat_ms": summary(pings),
        "reconnect": reconnect,
    }


async def _steps(
    cluster: Cluster,
    server: Server,
    rows: Sequence[dict],
    *,
    steps: Sequence[int],
    held: list[WebSocket],
    points: list[dict],
) -> None:
    """Open the desktops step by step, adding to `held`, with a point per step."""
    for target in steps:
        batch = rows[len(held) : target]
        started, cpu = time.monotonic(), server.cpu_seconds()
        held.extend(
            await open_sockets(
                cluster,
                [server],
                [("/ws/desktop/", row["session_key"]) for row in batch],
            )
        )
        opened = time.monotonic() - started
        cpu = server.cpu_seconds() - cpu
        await asyncio.sleep(1.0)  # let the process settle before reading its memory
        alive = sum(1 for ws in held if ws.close_code is None)
        points.append(
            {
                "sockets": alive,
                "rss_kb": server.rss_kb(),
                "connect_per_second": len(batch) / opened if opened else 0.0,
                # Steadier than the rate on a shared machine: the process's own CPU.
                "cpu_ms_per_connect": 1000 * cpu / len(batch) if batch else 0.0,
            }
        )


async def _reconnect(
    cluster: Cluster, server: Server, rows: Sequence[dict], *, held: list[WebSocket]
) -> dict:
    """Close desktops opened in the steps and open them again, timed as a step is; `held`
    gets the new sockets. held[i] is rows[i]'s desktop (sockets open in order)."""
    count = min(RECONNECT, len(held) - WARM)
    if count <= 0:
        return {}
    await close_sockets(held[WARM : WARM + count])
    await asyncio.sleep(1.0)  # let the process see them go
    started, cpu = time.monotonic(), server.cpu_seconds()
    again = await open_sockets(
        cluster,
        [server],
        [("/ws/desktop/", row["session_key"]) for row in rows[WARM : WARM + count]],
    )
    opened = time.monotonic() - started
    cpu = server.cpu_seconds() - cpu
    held[WARM : WARM + count] = again
    return {
        "desktops": count,
        "connect_per_second": count / opened if opened else 0.0,
        "cpu_ms_per_connect": 1000 * cpu / count,
    }


async def _heartbeats(sockets: Sequence[WebSocket]) -> list[float]:
    """Round trip of the desktop's own heartbeat on each socket, while all are held."""
    results: list[float] = []

    async def one(ws: WebSocket) -> None:
        answered = asyncio.get_running_loop().create_future()
        original = ws._on_message

        def on_message(text: str, at: float) -> None:
            if 'id="heartbeat"' in text and not answered.done():
                answered.set_result(at)

        ws._on_message = on_message
        sent = time.monotonic()
        await ws.send(json.dumps({"type": "ping"}))
        at = await asyncio.wait_for(answered, 10)
        results.append(ms(at - sent))
        ws._on_message = original

    await asyncio.gather(*(one(ws) for ws in sockets))
    return results
