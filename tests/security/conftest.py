"""Fixtures for the security tests: the people of the authorization matrix, logged-in
clients and websockets through the project's real ASGI application, and an isolated channel
layer."""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission
from django.db import connections
from django.test import Client

from contactcenter.asgi import application
from tests.factories import make_agent, make_user
from tests.services.helpers import supervisor

TIMEOUT = 3
# What a browser on the app's own page sends with a handshake (contactcenter/origins.py).
HOST = (b"host", b"testserver")
ORIGIN = (b"origin", b"http://testserver")
DESKTOP = "/ws/desktop/"
WALLBOARD = "/ws/wallboard/"


@pytest.fixture(autouse=True)
def _private_channel_layer(settings):
    """Each test gets its own channel-layer namespace on a shared Redis."""
    default = dict(settings.CHANNEL_LAYERS["default"])
    config = dict(default.get("CONFIG", {}))
    if "redis" in default["BACKEND"].lower():
        config["prefix"] = f"test-sec-{uuid.uuid4().hex[:12]}"
    default["CONFIG"] = config
    settings.CHANNEL_LAYERS = {"default": default}


def _named(agent, first: str):
    agent.user.first_name = first
    agent.user.save(update_fields=["first_name"])
    return agent


@pytest.fixture
def alice(db):
    return _named(make_agent(username="alice", endpoint="sip:alice@phones.test"), "Alice")


@pytest.fixture
def bob(db):
    return _named(make_agent(username="bob", endpoint="sip:bob@phones.test"), "Bob")


@pytest.fixture
def carol(db):
    return _named(make_agent(username="carol", endpoint="sip:carol@phones.test"), "Carol")


@pytest.fixture
def dave(db):
    return _named(make_agent(username="dave", endpoint="sip:dave@phones.test"), "Dave")


@pytest.fixture
def sam(db):
    """A supervisor through the Supervisors group, with a phone of their own."""
    user = supervisor(username="sam", with_agent=True)
    user.first_name = "Sam"
    user.save(update_fields=["first_name"])
    return user


@pytest.fixture
def gina(db):
    """A supervisor through the permission granted directly, with no agent profile."""
    user = make_user(username="gina")
    user.user_permissions.add(
        Permission.objects.get(codename="supervise", content_type__app_label="calls")
    )
    return user


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def session_of(user) -> str:
    """A session of its own for `user` (a browser of its own), by its cookie's value."""
    return login(user).cookies[django_settings.SESSION_COOKIE_NAME].value


async def open_socket(
    path: str, session: str | None, *, headers: list | None = None
) -> tuple[WebsocketCommunicator, bool, int | str]:
    """A handshake as the app's own page sends it; (socket, connected, code)."""
    sent = list(headers if headers is not None else [HOST, ORIGIN])
    if session:
        cookie = f"{django_settings.SESSION_COOKIE_NAME}={session}".encode()
        sent.append((b"cookie", cookie))
    socket = WebsocketCommunicator(application, path, headers=sent)
    connected, code = await socket.connect(timeout=TIMEOUT)
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


@pytest.fixture
async def close_db_connections():
    """Connections opened for consumers live in worker threads: close them, or PostgreSQL
    cannot drop the test database."""
    yield
    await sync_to_async(connections.close_all)()
