"""Proof that a callback's change reaches the live pages, once, after commit, and only then.

A webhook request goes through the real endpoint; the messages are read straight off the
channel layer (and through a small test consumer), on the in-memory layer and on Redis.
Every test here commits for real (transaction=True): on_commit only fires on a real commit.
"""

import asyncio
import os
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from agents.pushes import agent_group
from calls.models import Call, CallbackEvent
from calls.publishing import call_group
from calls.services import callbacks as callback_service
from calls.state import call_changed, lock_call, member_set_state
from calls.wallboard.pushes import SUPERVISORS_GROUP
from tests.webhooks.helpers import build_call, callbacks, post_callback

pytestmark = pytest.mark.django_db(transaction=True)

OUTBOUND = callbacks("phlo_outbound_call")
RECEIVE_TIMEOUT = 5  # seconds; only reached when a message that should come never does
MARKER = {"type": "test.marker"}


def _redis_url() -> str:
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def _redis_unreachable(url: str) -> str:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping()
    except Exception as exc:
        return f"Redis at {url} is unreachable ({exc.__class__.__name__}: {exc})"
    return ""


@pytest.fixture(params=["memory", "redis"])
async def layer(request, settings):
    if request.param == "redis":
        url = _redis_url()
        reason = _redis_unreachable(url)
        if reason:
            pytest.skip(reason)
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                # A prefix of our own: other test runs may share this Redis.
                "CONFIG": {"hosts": [url], "prefix": f"test-push-{uuid.uuid4().hex[:12]}"},
            }
        }
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    layer = get_channel_layer()
    yield layer
    await layer.flush()
    if request.param == "redis":
        await layer.close_pools()


async def _subscribe(layer, groups: list[str]) -> dict[str, str]:
    channels = {}
    for group in groups:
        channels[group] = await layer.new_channel()
        await layer.group_add(group, channels[group])
    return channels


async def _next(layer, channel: str, *, types: tuple[str, ...]) -> dict:
    """The next message of one of `types` on the channel (agent.changed etc. skipped)."""
    while True:
        message = await asyncio.wait_for(layer.receive(channel), RECEIVE_TIMEOUT)
        if message["type"] in types:
            return message


async def _post(params: dict, **kwargs):
    return await sync_to_async(post_callback)(Client(), params, **kwargs)


async def _version(call_id: int) -> int:
    return (await Call.objects.aget(pk=call_id)).version


async def test_a_callback_reaches_call_agent_and_supervisor_groups_once_per_change(layer):
    legs = await sync_to_async(build_call)("phlo_outbound_call")
    call_id = legs.call.pk
    groups = [call_group(call_id), agent_group(legs.agent_leg.agent_id), SUPERVISORS_GROUP]
    channels = await _subscribe(layer, groups)

    assert (await _post(OUTBOUND["agent_enters"])).status_code == 200
    first = await _version(call_id)
    assert (await _post(OUTBOUND["customer_enters"])).status_code == 200
    second = await _version(call_id)
    assert second == first + 1

    for group, channel in channels.items():
        # FIFO per channel: the change after the first is the second, with nothing between.
        for version in (first, second):
            message = await _next(layer, channel, types=("call.changed",))
            assert (message["call_id"], message["version"]) == (call_id, version), group


async def test_a_duplicate_callback_publishes_nothing(layer):
    legs = await sync_to_async(build_call)("phlo_outbound_call")
    call_id = legs.call.pk
    channels = await _subscribe(layer, [call_group(call_id), SUPERVISORS_GROUP])

    await _post(OUTBOUND["agent_enters"])
    again = await _post(OUTBOUND["agent_enters"])
    assert again.json()["duplicate"] is True
    for group in channels:
        await layer.group_send(group, MARKER)

    version = await _version(call_id)
    for channel in channels.values():
        message = await _next(layer, channel, types=("call.changed",))
        assert message["version"] == version
        assert (await _next(layer, channel, types=("call.changed", MARKER["type"]))) == MARKER


async def test_a_rolled_back_apply_publishes_nothing(layer, monkeypatch):
    legs = await sync_to_async(build_call)("phlo_outbound_call")
    call_id = legs.call.pk
    groups = [call_group(call_id), agent_group(legs.agent_leg.agent_id), SUPERVISORS_GROUP]
    channels = await _subscribe(layer, groups)

    def fail_after_the_change(**kwargs):
        # call_changed has run and queued its push; now the transaction rolls back.
        raise RuntimeError("disk full")

    monkeypatch.setattr(callback_service, "_record", fail_after_the_change)
    response = await _post(OUTBOUND["agent_enters"])
    assert response.status_code == 500
    event = await CallbackEvent.objects.aget()
    assert event.outcome == CallbackEvent.Outcome.FAILED
    assert await _version(call_id) == 0

    for group in groups:
        await layer.group_send(group, MARKER)
    for channel in channels.values():
        # Nothing was queued before the marker: no call.changed, no agent.changed.
        assert await asyncio.wait_for(layer.receive(channel), RECEIVE_TIMEOUT) == MARKER


async def test_call_changed_inside_a_rolled_back_transaction_sends_nothing(layer):
    legs = await sync_to_async(build_call)("phlo_outbound_call")
    call_id = legs.call.pk
    channels = await _subscribe(layer, [call_group(call_id), SUPERVISORS_GROUP])

    def change_then_fail():
        with pytest.raises(RuntimeError), transaction.atomic():
            call = lock_call(call_id=call_id)
            member_set_state(member=call.members.get(role="agent"), state="talking")
            call_changed(call=call)
            raise RuntimeError("rolled back")

    await sync_to_async(change_then_fail)()
    for group in channels:
        await layer.group_send(group, MARKER)
    for channel in channels.values():
        assert await asyncio.wait_for(layer.receive(channel), RECEIVE_TIMEOUT) == MARKER


class CallWatcher(AsyncJsonWebsocketConsumer):
    """A stand-in for a desktop: joins one call's group and forwards what it hears."""

    async def connect(self):
        self.group = call_group(self.scope["url_route"]["kwargs"]["call_id"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def call_changed(self, event):
        await self.send_json({"call_id": event["call_id"], "version": event["version"]})


async def test_a_consumer_hears_the_change(layer):
    legs = await sync_to_async(build_call)("phlo_outbound_call")
    call_id = legs.call.pk
    communicator = WebsocketCommunicator(CallWatcher.as_asgi(), f"/ws/calls/{call_id}/")
    communicator.scope["url_route"] = {"kwargs": {"call_id": call_id}}
    connected, _ = await communicator.connect()
    assert connected
    try:
        assert (await _post(OUTBOUND["agent_enters"])).status_code == 200
        pushed = await communicator.receive_json_from(timeout=RECEIVE_TIMEOUT)
        assert pushed == {"call_id": call_id, "version": await _version(call_id)}
    finally:
        await communicator.disconnect()
