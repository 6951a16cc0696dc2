"""Health checks for the proxy, systemd and monitoring, answered by each process.

- `GET /health/live/`: 200 while this process's event loop answers. Nothing else is touched,
  so a database outage does not get every process restarted.
- `GET /health/ready/`: 200 when this process can serve the product: its database answers a
  query and its channel layer (the live pages' pushes) takes a message, each within
  `READY_WITHIN` seconds; otherwise 503, naming what failed. The PHLO provider is not
  checked: its outage is not this process's, and taking every process out of service would
  also stop the callbacks that report it.

Answered ahead of Django's middleware, so that a probe of one process on its own port
(`curl http://127.0.0.1:8001/health/ready/`) needs neither an allowed Host nor HTTPS, and no
session is read or made. The answers name no host, user, version or error message: only
which check failed and how (the server's log has the error).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor

from channels.layers import get_channel_layer
from django.db import connection

logger = logging.getLogger(__name__)

LIVE = "/health/live/"
READY = "/health/ready/"
# Less than a proxy's or load balancer's usual probe timeout (5 s), so that a hung
# dependency gets a 503 that names it, not a timeout that names nothing.
READY_WITHIN = 2.0

App = Callable[[dict, Callable, Callable], Awaitable[None]]
Check = Callable[[], Awaitable[None]]


def _query_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # Back to the pool, or closed: a probe every few seconds keeps nothing open.
        connection.close()


class StillWaiting(Exception):
    """The previous probe's check has not answered yet: none is stacked behind it."""


# The database check's own thread: a hung database holds this one thread, not one of the
# pool that renders the live pages' pushes, and probes do not pile up threads behind it.
_database_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health-database")
_database_check: Future | None = None


async def database() -> None:
    global _database_check
    if _database_check is not None and not _database_check.done():
        raise StillWaiting("the previous check has not answered yet")
    _database_check = _database_thread.submit(_query_database)
    await asyncio.wrap_future(_database_check)


async def channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured")
    # A group nobody joins: the layer does the round trip to its backend and delivers nothing.
    await layer.group_send("health-check", {"type": "health.check"})


READY_CHECKS: dict[str, Check] = {"database": database, "channel_layer": channel_layer}


async def _run(name: str, check: Check) -> dict:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), READY_WITHIN)
    except TimeoutError:
        logger.warning("health check %s did not answer within %s s", name, READY_WITHIN)
        return {"ok": False, "reason": f"did not answer within {READY_WITHIN:g} s"}
    except StillWaiting as exc:
        return {"ok": False, "reason": str(exc)}
    except Exception as exc:
        logger.warning("health check %s failed", name, exc_info=True)
        return {"ok": False, "reason": f"failed ({type(exc).__name__})"}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


async def readiness(checks: dict[str, Check] | None = None) -> tuple[bool, dict]:
    checks = READY_CHECKS if checks is None else checks
    results = await asyncio.gather(*(_run(name, check) for name, check in checks.items()))
    named = dict(zip(checks, results, strict=True))
    ready = all(result["ok"] for result in results)
    return ready, {"status": "ready" if ready else "unavailable", "checks": named}


class HealthChecks:
    """ASGI middleware: answers the health paths itself, passes every other request on."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        # With or without the trailing slash: probes are configured by hand.
        path = scope["path"].rstrip("/") + "/" if scope["type"] == "http" else None
        if path not in (LIVE, READY):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            await _answer(send, 405, {"error": "Use GET or HEAD."}, method=method, allow=True)
            return
        if path == LIVE:
            await _answer(send, 200, {"status": "live"}, method=method)
            return
        ready, body = await readiness()
        await _answer(send, 200 if ready else 503, body, method=method)


async def _answer(send: Callable, status: int, body: dict, *, method: str, allow=False) -> None:
    content = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
    ]
    if allow:
        headers.append((b"allow", b"GET, HEAD"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else content})
