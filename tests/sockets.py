"""Sessions and websockets through the project's real ASGI application: how every test opens
a live page's socket (the desktop's, the wallboard's) as the app's own page does."""

from __future__ import annotations

import asyncio

from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings

from contactcenter.asgi import application
from tests.factories import login

TIMEOUT = 3
# What a browser on the app's own page sends with a handshake (contactcenter/origins.py).
HOST = (b"host", b"testserver")
ORIGIN = (b"origin", b"http://testserver")
DESKTOP = "/ws/desktop/"
WALLBOARD = "/ws/wallboard/"


def session_of(user) -> str:
    """A session of its own for `user` (a browser of its own), by its cookie's value."""
    return login(user).cookies[django_settings.SESSION_COOKIE_NAME].value


async def open_socket(
    path: str, session: str | None, *, headers: list | None = None, timeout: float = TIMEOUT
) -> tuple[WebsocketCommunicator, bool, int | str]:
    """A handshake as the app's own page sends it; (socket, connected, code)."""
    sent = list(headers if headers is not None else [HOST, ORIGIN])
    if session:
        cookie = f"{django_settings.SESSION_COOKIE_NAME}={session}".encode()
        sent.append((b"cookie", cookie))
    socket = WebsocketCommunicator(application, path, headers=sent)
    connected, code = await socket.connect(timeout=timeout)
    return socket, connected, code


async def open_live(path: str, session: str) -> WebsocketCommunicator:
    """An accepted socket, past its first full state."""
    socket, connected, code = await open_socket(path, session)
    assert connected, (path, code)
    assert 'data-full-state="true"' in await socket.receive_from(timeout=TIMEOUT)
    return socket


async def close_code(socket: WebsocketCommunicator) -> int:
    """The code the server closed with, skipping pushes sent before."""
    while True:
        output = await socket.receive_output(timeout=TIMEOUT)
        if output["type"] == "websocket.close":
            return output.get("code")


async def drain(layer, channel: str) -> list[dict]:
    """Every message the channel layer holds for `channel` now (none more within 50 ms)."""
    messages = []
    while True:
        try:
            messages.append(await asyncio.wait_for(layer.receive(channel), 0.05))
        except TimeoutError:
            return messages
