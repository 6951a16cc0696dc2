"""The live pages' consumers handle each message on the event loop, without Channels' hop
into the shared sync thread to close old database connections (DirectDispatchMixin)."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from contactcenter.websocket_dispatch import DirectDispatchMixin
from tests.sockets import DESKTOP, TIMEOUT, WALLBOARD, open_live, session_of


@pytest.fixture
def hops(monkeypatch) -> list[str]:
    """Each call Channels' dispatch makes to close old connections (a thread hop each)."""
    made: list[str] = []

    async def counted() -> None:
        made.append("close_old_connections")

    monkeypatch.setattr("channels.consumer.aclose_old_connections", counted)
    return made


class Plain(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None) -> None:
        await self.send(text_data=f"got {text_data}")


class Direct(DirectDispatchMixin, Plain):
    pass


async def _echo(consumer: type) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(consumer.as_asgi(), "/")
    connected, _ = await socket.connect(timeout=TIMEOUT)
    assert connected
    await socket.send_to(text_data="hello")
    assert await socket.receive_from(timeout=TIMEOUT) == "got hello"
    return socket


async def test_channels_own_dispatch_hops_for_every_message(hops):
    """The control: without the mixin, the connect and the frame each cost a hop."""
    socket = await _echo(Plain)
    await socket.disconnect(timeout=0.2)
    assert len(hops) >= 2


async def test_direct_dispatch_runs_the_same_handlers_without_the_hop(hops):
    socket = await _echo(Direct)
    await socket.disconnect(timeout=0.2)
    assert hops == []


async def test_a_message_with_no_handler_is_refused_as_channels_refuses_it():
    with pytest.raises(ValueError, match=r"No handler for message type nobody\.listens"):
        await Direct().dispatch({"type": "nobody.listens"})


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_db_connections")
@pytest.mark.parametrize("path", [DESKTOP, WALLBOARD])
async def test_the_live_pages_connect_ping_and_get_pushes_without_the_hop(hops, alice, sam, path):
    user = alice.user if path == DESKTOP else sam
    socket = await open_live(path, await sync_to_async(session_of)(user))
    try:
        await socket.send_to(text_data=json.dumps({"type": "ping"}))
        assert 'id="heartbeat"' in await socket.receive_from(timeout=TIMEOUT)
        if path == DESKTOP:
            # A push that carries no HTML: the desktop renders its full state itself, in a
            # database hop of its own.
            group = f"agent.{alice.pk}"
            await get_channel_layer().group_send(
                group, {"type": "call.changed", "call_id": 1, "version": 1}
            )
            assert 'data-full-state="true"' in await socket.receive_from(timeout=TIMEOUT)
    finally:
        await socket.disconnect(timeout=0.2)
    assert hops == []
