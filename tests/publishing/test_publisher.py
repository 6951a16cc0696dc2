"""calls.publisher: pushes leave after the response, merge while they wait, and never overlap
per call; without a server loop they are sent in place."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import HttpCommunicator
from django.conf import settings
from django.test import override_settings

from agents.pushes import agent_group
from calls import publisher
from calls.events import CallChanged
from calls.models import Call, Member
from calls.signature import NONCE_HEADER, SIGNATURE_HEADER
from contactcenter.asgi import application
from tests.webhooks.helpers import WEBHOOK_PATH, build_call, callbacks, sign

TIMEOUT = 5


@dataclass
class FakePush:
    """Records when and where it rendered; can be held inside its render."""

    name: str
    parts: tuple[str, ...] = ()
    log: list = field(default_factory=list)
    hold: threading.Event | None = None

    @property
    def key(self):
        return self.name

    def merged(self, later: FakePush) -> FakePush:
        return FakePush(self.name, self.parts + later.parts, self.log, later.hold or self.hold)

    def messages(self):
        self.log.append(("start", self.name, self.parts, threading.current_thread().name))
        if self.hold is not None:
            assert self.hold.wait(TIMEOUT)
        self.log.append(("end", self.name, self.parts))
        return []


def _push(name: str, part: str, log: list, hold: threading.Event | None = None) -> FakePush:
    return FakePush(name, (part,), log, hold)


async def _until(predicate, *, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_pushes_for_one_key_merge_while_waiting_and_never_overlap():
    log: list = []
    gate = threading.Event()
    queue = publisher.Publisher(loop=asyncio.get_running_loop(), workers=4)
    queue.submit(_push("call-1", "a", log, gate))
    await _until(lambda: len(log) == 1)  # "a" is rendering, held
    for part in "bcd":
        queue.submit(_push("call-1", part, log))
    assert queue.merges == 2  # b, c and d wait as one push
    await asyncio.sleep(0.05)
    assert [entry[0] for entry in log] == ["start"]  # nothing overlaps the held render

    gate.set()
    await queue.drain()
    assert [(e[0], e[2]) for e in log] == [
        ("start", ("a",)),
        ("end", ("a",)),
        ("start", ("b", "c", "d")),
        ("end", ("b", "c", "d")),
    ]
    assert queue.pending == 0


async def test_different_keys_render_side_by_side_up_to_the_worker_limit():
    log: list = []
    gate = threading.Event()
    queue = publisher.Publisher(loop=asyncio.get_running_loop(), workers=2)
    for name in ("call-1", "call-2", "call-3"):
        queue.submit(_push(name, "x", log, gate))
    await _until(lambda: len(log) == 2)
    await asyncio.sleep(0.05)
    started = [e[1] for e in log if e[0] == "start"]
    # The first two start in two threads at once, in either order; the third waits.
    assert sorted(started) == ["call-1", "call-2"]
    assert log[0][3] != log[1][3]  # in two threads at once
    gate.set()
    await queue.drain()
    assert [e[1] for e in log if e[0] == "start"][2:] == ["call-3"]


async def test_a_failing_push_is_logged_and_the_next_one_still_goes(caplog):
    log: list = []

    class Broken(FakePush):
        def messages(self):
            raise RuntimeError("template trouble")

    queue = publisher.Publisher(loop=asyncio.get_running_loop())
    queue.submit(Broken("call-1"))
    queue.submit(_push("call-2", "ok", log))
    await queue.drain()
    assert ("end", "call-2", ("ok",)) in log
    assert "could not publish 'call-1'" in caplog.text


def test_without_a_server_loop_the_push_is_sent_in_place(monkeypatch):
    monkeypatch.setattr(publisher, "_current", None)
    sent = []
    publisher.publish(_push("call-1", "a", []), send_now=sent.append)
    assert [p.parts for p in sent] == [("a",)]


def test_a_closed_server_loop_falls_back_to_sending_in_place(monkeypatch):
    loop = asyncio.new_event_loop()
    loop.close()
    monkeypatch.setattr(publisher, "_current", publisher.Publisher(loop=loop))
    sent = []
    publisher.publish(_push("call-1", "a", []), send_now=sent.append)
    assert len(sent) == 1


def test_call_pushes_merge_into_every_agent_and_the_latest_version():
    first = CallChanged(call_id=7, version=3, agent_ids=frozenset({1}))
    later = CallChanged(call_id=7, version=5, agent_ids=frozenset({2}))
    assert first.key == later.key
    # The agent who left the call (1) still hears of it, and the newest version wins.
    assert first.merged(later) == CallChanged(call_id=7, version=5, agent_ids=frozenset({1, 2}))


def _signed_post(params: dict) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    nonce = uuid.uuid4().hex
    url = f"{settings.PUBLIC_BASE_URL}{WEBHOOK_PATH}"
    headers = [
        (b"host", b"testserver"),
        (b"content-type", b"application/x-www-form-urlencoded"),
        (SIGNATURE_HEADER.lower().encode(), sign(params, url=url, nonce=nonce).encode()),
        (NONCE_HEADER.lower().encode(), nonce.encode()),
    ]
    return urlencode(params).encode(), headers


async def _call_changed(layer, channel: str, *, within: float) -> dict | None:
    """The next call.changed on the channel within `within` seconds (the agent's status
    pushes, rendered apart, are skipped), or None."""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = await asyncio.wait_for(layer.receive(channel), left)
        except TimeoutError:
            return None
        if message["type"] == "call.changed":
            return message
    return None


@pytest.mark.django_db(transaction=True)
async def test_the_webhook_answers_before_the_push_is_rendered_then_the_push_goes(
    settings, monkeypatch
):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    legs = await sync_to_async(build_call)("phlo_outbound_call")
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(agent_group(legs.agent_leg.agent_id), channel)

    import agents.rendering

    gate = threading.Event()
    real_render = agents.rendering.render_call_for_agents

    def held_render(**kwargs):
        assert gate.wait(TIMEOUT)
        return real_render(**kwargs)

    monkeypatch.setattr(agents.rendering, "render_call_for_agents", held_render)
    body, headers = _signed_post(callbacks("phlo_outbound_call")["agent_enters"])
    http = HttpCommunicator(application, "POST", WEBHOOK_PATH, body=body, headers=headers)
    try:
        # Through the ASGI application, as the server runs it: the answer does not wait
        # for the render, which is still held.
        response = await http.get_response(timeout=TIMEOUT)
        assert response["status"] == 200, response["body"]
        assert not gate.is_set()
        assert await _call_changed(layer, channel, within=0.2) is None
    finally:
        gate.set()
    message = await _call_changed(layer, channel, within=TIMEOUT)
    call = await Call.objects.aget(pk=legs.call.pk)
    assert (message["type"], message["version"]) == ("call.changed", call.version)
    assert f'id="call-{call.pk}"' in message["html"]
    running = publisher.current()
    assert running is not None and running.loop is asyncio.get_running_loop()
    await running.drain()


def _person_app(gate: asyncio.Event):
    """An ASGI app, wrapped as the server's is, that holds each request until `gate` opens."""

    async def app(scope, receive, send):
        await gate.wait()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return publisher.bind_to_server(app)


async def test_a_push_waits_while_a_person_waits_on_a_request_and_goes_when_it_ends(
    monkeypatch,
):
    monkeypatch.setattr(publisher, "YIELD_TO_REQUESTS", TIMEOUT)
    gate, log = asyncio.Event(), []
    press = asyncio.ensure_future(
        HttpCommunicator(_person_app(gate), "POST", "/desktop/status/").get_response(TIMEOUT)
    )
    await _until(lambda: publisher.current() is not None and publisher.current()._answering)
    publisher.current().submit(_push("agent-1", "a", log))
    await asyncio.sleep(0.1)
    assert log == []  # held while the press is answered
    gate.set()
    assert (await press)["status"] == 204
    await _until(lambda: len(log) == 2)  # and rendered as soon as it was


async def test_a_push_waits_no_longer_than_the_limit_however_busy_the_process(monkeypatch):
    monkeypatch.setattr(publisher, "YIELD_TO_REQUESTS", 0.2)
    gate, log = asyncio.Event(), []
    press = asyncio.ensure_future(
        HttpCommunicator(_person_app(gate), "GET", "/").get_response(TIMEOUT)
    )
    await _until(lambda: publisher.current() is not None and publisher.current()._answering)
    submitted = time.monotonic()
    publisher.current().submit(_push("agent-1", "a", log))
    await _until(lambda: len(log) == 2)
    assert 0.15 <= time.monotonic() - submitted < 2  # the request is still in progress
    assert not press.done()
    gate.set()
    await press


async def test_a_callback_in_progress_holds_no_push(monkeypatch):
    monkeypatch.setattr(publisher, "YIELD_TO_REQUESTS", TIMEOUT)
    gate, log = asyncio.Event(), []
    callback = asyncio.ensure_future(
        HttpCommunicator(_person_app(gate), "POST", WEBHOOK_PATH).get_response(TIMEOUT)
    )
    await _until(lambda: publisher.current() is not None)
    publisher.current().submit(_push("call-1", "a", log))
    await _until(lambda: len(log) == 2)  # its push is what the pages wait for
    assert not callback.done()
    gate.set()
    await callback


@pytest.mark.django_db(transaction=True)
async def test_a_callback_waits_while_a_person_is_answered_then_is_applied(monkeypatch):
    """Through the product's ASGI application: a person's request is in progress (a
    readiness probe held in its database check stands for an agent's press), and PHLO's
    callback is stored and applied only once it has been answered."""
    from contactcenter import health

    legs = await sync_to_async(build_call)("phlo_outbound_call")
    monkeypatch.setattr(publisher, "YIELD_TO_REQUESTS", TIMEOUT)
    gate = threading.Event()
    monkeypatch.setattr(health, "_query_database", lambda: gate.wait(TIMEOUT))
    person = asyncio.ensure_future(
        HttpCommunicator(application, "GET", "/health/ready/").get_response(TIMEOUT + 1)
    )
    await _until(lambda: publisher.current() is not None and publisher.current()._answering)

    body, headers = _signed_post(callbacks("phlo_outbound_call")["agent_enters"])
    callback = asyncio.ensure_future(
        HttpCommunicator(
            application, "POST", WEBHOOK_PATH, body=body, headers=headers
        ).get_response(TIMEOUT + 1)
    )
    await asyncio.sleep(0.3)
    assert not callback.done()
    leg = await Member.objects.aget(pk=legs.agent_leg.pk)
    assert leg.state == Member.State.DIALLING  # not applied yet
    gate.set()
    assert (await person)["status"] == 200
    answer = await callback
    assert answer["status"] == 200, answer["body"]
    leg = await Member.objects.aget(pk=legs.agent_leg.pk)
    assert leg.state != Member.State.DIALLING


def test_a_callback_is_told_from_a_persons_request_by_the_webhooks_route():
    """Where the webhook is mounted comes from the URL conf: moved, its callbacks still do
    not count as a person's requests (each would otherwise hold pushes up to the limit)."""
    person = lambda path: publisher.a_person_waits({"type": "http", "path": path})  # noqa: E731
    assert not person(WEBHOOK_PATH) and person("/desktop/status/")
    assert not publisher.a_person_waits({"type": "websocket", "path": "/ws/desktop/"})
    publisher._callback_path.cache_clear()
    try:
        with override_settings(ROOT_URLCONF="tests.publishing.moved_webhook_urls"):
            assert not person("/provider/plivo/") and not person("/provider/plivo")
            assert person(WEBHOOK_PATH)
    finally:
        publisher._callback_path.cache_clear()
    assert not person(WEBHOOK_PATH)
