"""Cost growth: how the desktop and the wallboard render as live calls grow (10, 100, 1,000).

Measured on a process started with BENCH_QUERY_STATS=1, which reports each response's query
count and time spent in Django (middleware to view and back) in headers. The desktop is one
agent's page (their own call among N); the wallboard is a supervisor's (every call). The
desktop's websocket full state (what a reconnect costs) is timed from the client.
"""

from __future__ import annotations

import time

from bench.common import close_sockets, ms, open_sockets
from bench.httpload import HttpConnection
from bench.stats import percentile
from harness.cluster import Cluster, Server
from harness.edge import proxy_headers

REPEAT = 15


async def _page(cluster: Cluster, server: Server, path: str, session_key: str) -> dict:
    conn = HttpConnection("127.0.0.1", server.port)
    headers = proxy_headers(cluster.public_base_url) | {"Cookie": f"sessionid={session_key}"}
    server_ms, client_ms, queries, sizes = [], [], [], []
    status = 0
    try:
        for _ in range(REPEAT + 2):
            started = time.monotonic()
            answer = await conn.request("GET", path, headers=headers)
            client_ms.append(ms(time.monotonic() - started))
            status = answer.status
            if "x-bench-ms" in answer.headers:
                server_ms.append(float(answer.headers["x-bench-ms"]))
                queries.append(int(answer.headers["x-bench-queries"]))
            sizes.append(len(answer.body))
    finally:
        conn.close()
    # The first two warm caches (templates, sessions, the agent's cached profile); they are
    # not counted, in time or in queries.
    return {
        "status": status,
        "server_ms_p50": percentile(server_ms[2:], 50),
        "client_ms_p50": percentile(client_ms[2:], 50),
        "queries": sorted(set(queries[2:])),
        "bytes": sizes[-1] if sizes else 0,
    }


async def _full_state(cluster: Cluster, server: Server, session_key: str) -> float:
    times = []
    for _ in range(REPEAT):
        started = time.monotonic()
        sockets = await open_sockets(cluster, [server], [("/ws/desktop/", session_key)])
        times.append(ms(time.monotonic() - started))
        await close_sockets(sockets)
    return percentile(times, 50)


async def render_costs(
    cluster: Cluster, server: Server, *, agent_row: dict, supervisor_key: str, live_calls: int
) -> dict:
    desktop = await _page(cluster, server, "/", agent_row["session_key"])
    wallboard = await _page(cluster, server, "/wallboard/", supervisor_key)
    reconnect = await _full_state(cluster, server, agent_row["session_key"])
    return {
        "live_calls": live_calls,
        "desktop": desktop,
        "wallboard": wallboard,
        "desktop_full_state_ms_p50": reconnect,
    }
