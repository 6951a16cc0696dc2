"""The health checks, through the real ASGI application (contactcenter/health.py).

A dependency that is really down is in tests/faults (PostgreSQL stopped, Redis stopped), and
a process probed on its own port under the production settings is in tests/deploy.
"""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from channels.testing import HttpCommunicator

from contactcenter import health
from contactcenter.asgi import application
from tests.sockets import HOST

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_db_connections"),
]


async def probe(path: str, method: str = "GET", headers: list | None = None) -> dict:
    communicator = HttpCommunicator(application, method, path, headers=headers or [])
    answer = await communicator.get_response(timeout=5)
    answer["headers"] = {k.decode(): v.decode() for k, v in answer["headers"]}
    return answer


async def test_live_answers_without_touching_anything():
    answer = await probe("/health/live/")
    assert answer["status"] == 200
    assert json.loads(answer["body"]) == {"status": "live"}
    assert answer["headers"]["cache-control"] == "no-store"


async def test_ready_checks_the_database_and_the_channel_layer():
    answer = await probe("/health/ready/")
    assert answer["status"] == 200, answer["body"]
    body = json.loads(answer["body"])
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "channel_layer"}
    assert all(check["ok"] and check["ms"] >= 0 for check in body["checks"].values())


@pytest.mark.parametrize("path", ["/health/ready", "/health/live"])
async def test_the_trailing_slash_may_be_left_out(path):
    assert (await probe(path))["status"] == 200


async def test_a_foreign_host_is_answered_and_no_session_is_made():
    # A probe of one process on its own port sends its own Host (not an allowed host).
    answer = await probe("/health/ready/", headers=[(b"host", b"10.1.2.3:8001")])
    assert answer["status"] == 200
    assert "set-cookie" not in answer["headers"]


async def test_head_answers_without_a_body():
    answer = await probe("/health/ready/", method="HEAD")
    assert (answer["status"], answer["body"]) == (200, b"")


async def test_other_methods_are_refused_with_the_allowed_ones():
    answer = await probe("/health/ready/", method="POST")
    assert answer["status"] == 405
    assert answer["headers"]["allow"] == "GET, HEAD"
    assert json.loads(answer["body"]) == {"error": "Use GET or HEAD."}


async def test_a_check_that_hangs_is_named_within_the_limit(monkeypatch):
    async def hangs() -> None:
        await asyncio.sleep(60)

    monkeypatch.setattr(health, "READY_WITHIN", 0.2)
    monkeypatch.setitem(health.READY_CHECKS, "channel_layer", hangs)
    answer = await asyncio.wait_for(probe("/health/ready/"), 5)
    assert answer["status"] == 503
    body = json.loads(answer["body"])
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["channel_layer"] == {"ok": False, "reason": "did not answer within 0.2 s"}


async def test_a_failed_check_names_the_error_kind_not_its_message(monkeypatch):
    async def refuses() -> None:
        raise ConnectionError("connection to secret-host.internal:6379 refused")

    monkeypatch.setitem(health.READY_CHECKS, "channel_layer", refuses)
    answer = await probe("/health/ready/")
    assert answer["status"] == 503
    assert b"secret-host" not in answer["body"]
    body = json.loads(answer["body"])
    assert body["checks"]["channel_layer"] == {"ok": False, "reason": "failed (ConnectionError)"}


async def test_other_paths_still_reach_django():
    answer = await probe("/health/other/", headers=[HOST])
    assert answer["status"] == 404


async def test_a_hung_database_holds_one_thread_and_later_probes_say_so(monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(health, "READY_WITHIN", 0.2)
    monkeypatch.setattr(health, "_query_database", lambda: release.wait(10))
    try:
        first = json.loads((await probe("/health/ready/"))["body"])["checks"]["database"]
        second = json.loads((await probe("/health/ready/"))["body"])["checks"]["database"]
    finally:
        release.set()
    assert first == {"ok": False, "reason": "did not answer within 0.2 s"}
    # Not a second thread stuck behind the first: this probe answers at once.
    assert second == {"ok": False, "reason": "the previous check has not answered yet"}
    await asyncio.wrap_future(health._database_check)
    monkeypatch.undo()
    assert (await probe("/health/ready/"))["status"] == 200
