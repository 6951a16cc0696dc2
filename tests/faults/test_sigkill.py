"""A production process killed with SIGKILL mid-burst, with 50 desktops and a wallboard open.

Two daphne processes (production settings, PostgreSQL + Redis, harness/) serve 50 agents on
live calls. Half the desktops and the supervisor's wallboard are held by the process that
is killed; callbacks (each call's customer put on hold and taken off it, numbered) arrive
through the edge at ~20/s, and the process is killed with `kill -9` a third of the way in.
The provider sends again what was not answered with a 2xx, as Plivo does.

Then: every callback the edge accepted is stored once and applied (none lost, none left
failed or unapplied); the pages that lost their process reconnect to the survivor and every
page, rebuilt from what its socket sent (tests/faults/pages.py), reads what a freshly opened
page reads; no call is left claimed.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import requests

from harness.cluster import Cluster, Server
from harness.edge import edge_session, proxy_headers
from harness.wsclient import ABNORMAL_CLOSE, WebSocket
from tests.deploy.deployment import services_problem
from tests.deploy.helpers import sign
from tests.faults.pages import Page, page_from

pytestmark = [pytest.mark.faults, pytest.mark.redis]

DESKTOPS = 50
RATE = 20.0  # callbacks a second
ROUNDS = 4  # callbacks per call: hold, unhold, hold, unhold...
KILL_AFTER = DESKTOPS * ROUNDS // 3  # callbacks sent before the kill
TIMEOUT = 10.0
CONVERGE_WITHIN = 30.0
RETRIES = 10  # the provider's retries of one callback


@pytest.fixture
def floor():
    """Two processes and 50 agents on live calls, with a supervisor; torn down after."""
    if problem := services_problem():
        pytest.skip(f"SIGKILL test skipped: {problem}")
    cluster = Cluster(redis_url=os.environ["REDIS_URL"], label="ccsigkill")
    try:
        cluster.create()
        seeded = cluster.seed("load", {"agents": DESKTOPS, "supervisor": True})
        a, b = cluster.start_servers(2)
        yield cluster, a, b, seeded
    finally:
        cluster.destroy()


def callbacks(seeded: dict) -> list[dict[str, str]]:
    """Every call's customer held and taken off hold in turn, interleaved across calls."""
    start = datetime.now(UTC)
    out = []
    for step in range(ROUNDS):
        for row in seeded["agents"]:
            at = start + timedelta(seconds=step)
            out.append(
                {
                    "EventName": "ParticipantHold" if step % 2 == 0 else "ParticipantUnhold",
                    "EventTimestamp": at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                    "MPCUUID": row["conference_uuid"],
                    "MPCName": row["conference_name"],
                    "MemberID": row["provider_member_id"],
                    "ParticipantRole": "Customer",
                    "ParticipantCallUUID": row["customer_call_uuid"],
                    "ParticipantCallTo": row["customer_phone"],
                    "ParticipantCallFrom": "14155550000",
                    "ParticipantCallDirection": "outbound",
                    "SequenceNumber": str(10 + step),
                }
            )
    return out


class Provider:
    """Sends callbacks through the edge to whichever process lives; resends on no 2xx."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.http = edge_session(
            public_base_url=cluster.public_base_url,
            backends=lambda: [s.address for s in cluster.servers if s.running],
        )
        self.accepted: list[dict[str, str]] = []
        self.resent = 0

    def send(self, params: dict[str, str]) -> None:
        for _ in range(RETRIES):
            try:
                answer = self.http.post(
                    self.cluster.public_base_url + "/webhooks/plivo/",
                    data=urlencode(params),
                    headers=sign(self.cluster, params),
                    timeout=TIMEOUT,
                )
                if 200 <= answer.status_code < 300:
                    self.accepted.append(params)
                    return
            except requests.RequestException:
                pass  # cut off by the kill: the provider sends it again
            self.resent += 1
        raise AssertionError(f"never accepted: {params}")


async def open_page(cluster: Cluster, server: Server, *, session_key: str, path: str):
    public = cluster.public_base_url
    headers = [
        *proxy_headers(public).items(),
        ("Origin", public),
        ("Cookie", f"sessionid={session_key}"),
    ]
    return await WebSocket.connect(host="127.0.0.1", port=server.port, path=path, headers=headers)


class Held:
    """One open page: its socket and the page its messages build."""

    def __init__(self, *, session_key: str, path: str, server: Server) -> None:
        self.session_key, self.path, self.server = session_key, path, server
        self.page = Page()
        self.socket: WebSocket | None = None

    async def open(self, cluster: Cluster, server: Server) -> None:
        self.server = server
        self.socket = await open_page(cluster, server, session_key=self.session_key, path=self.path)
        self.page.apply(await self.socket.receive(timeout=TIMEOUT))  # the full state

    async def converge(self, cluster: Cluster, survivor: Server) -> None:
        """Apply what arrives until the page reads as a freshly opened one (bounded)."""
        fresh = await open_page(cluster, survivor, session_key=self.session_key, path=self.path)
        truth = page_from(await fresh.receive(timeout=TIMEOUT)).view()
        await fresh.close()
        deadline = time.monotonic() + CONVERGE_WITHIN
        while self.page.view() != truth:
            assert time.monotonic() < deadline, (self.path, self.page.view(), truth)
            try:
                self.page.apply(await self.socket.receive(timeout=TIMEOUT))
            except TimeoutError:
                raise AssertionError(
                    f"{self.path}: stopped at {self.page.view()} != {truth}"
                ) from None


async def test_a_process_killed_mid_burst_loses_nothing_and_every_page_recovers(floor):
    cluster, a, b, seeded = floor
    pages = [
        Held(session_key=row["session_key"], path="/ws/desktop/", server=a if i % 2 else b)
        for i, row in enumerate(seeded["agents"])
    ]
    pages.append(
        Held(session_key=seeded["supervisor"]["session_key"], path="/ws/wallboard/", server=b)
    )
    for held in pages:
        await held.open(cluster, held.server)
    provider = Provider(cluster)
    sent = callbacks(seeded)
    try:
        next_at = time.monotonic()
        for index, params in enumerate(sent):
            if index == KILL_AFTER:
                b.kill()  # SIGKILL: no close frames, nothing flushed
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))  # pacing, not waiting
            next_at += 1 / RATE
            await asyncio.to_thread(provider.send, params)

        # The pages on the killed process saw their socket die, and reconnect to the survivor.
        for held in pages:
            if held.server is b:
                assert await held.socket.wait_closed(timeout=TIMEOUT) == ABNORMAL_CLOSE
                await held.open(cluster, a)
        for held in pages:
            await held.converge(cluster, a)
    finally:
        for held in pages:
            if held.socket is not None:
                held.socket.abort()

    # None lost: each accepted callback stored once and applied (or ignored as older).
    assert len(provider.accepted) == len(sent)
    stored = cluster.sql(
        "select params->>'MPCUUID', params->>'SequenceNumber', outcome from calls_callbackevent"
    )
    keys = sorted((uuid, seq) for uuid, seq, _ in stored)
    assert keys == sorted((c["MPCUUID"], c["SequenceNumber"]) for c in sent)
    assert {outcome for *_, outcome in stored} <= {"applied", "ignored"}, stored
    # The truth is what was sent: each customer as the last callback left them.
    last = "on_hold" if ROUNDS % 2 else "talking"
    states = cluster.sql("select state from calls_member where role = 'customer'")
    assert {s for (s,) in states} == {last}
    # Nothing stuck: no call left claimed by an action that died with its process.
    assert cluster.sql("select count(*) from calls_call where pending_action_id is not null") == [
        (0,)
    ]
