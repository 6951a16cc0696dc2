"""Fixtures for the desktop tests: agents, logged-in clients, a simulator whose callbacks
reach the real webhook, and an isolated channel layer."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from tests.factories import make_agent, make_customer


@pytest.fixture(autouse=True)
def _private_channel_layer(settings):
    """Each test gets its own channel-layer namespace, so parallel runs against one Redis
    (or leftovers of an earlier test) never leak pushes into this one."""
    layers = dict(settings.CHANNEL_LAYERS)
    default = dict(layers["default"])
    config = dict(default.get("CONFIG", {}))
    if "redis" in default["BACKEND"].lower():
        config["prefix"] = f"test-{uuid.uuid4().hex[:12]}"
    default["CONFIG"] = config
    settings.CHANNEL_LAYERS = {"default": default}


@pytest.fixture
def alice(db):
    return make_agent(username="alice", endpoint="sip:alice@phones.test")


@pytest.fixture
def bob(db):
    return make_agent(username="bob", endpoint="sip:bob@phones.test")


@pytest.fixture
def dana(db):
    return make_customer(name="Dana Diaz", phone="+14155550101", notes="Gold plan.")


def login(agent) -> Client:
    client = Client()
    client.force_login(agent.user)
    return client


@pytest.fixture
def alice_client(alice) -> Client:
    return login(alice)


@pytest.fixture
def htmx():
    """Headers of a request made by htmx."""
    return {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def desktop_sim(live_server, settings, make_phlo_sim):
    """A simulator on a manual clock whose callbacks and routing requests reach this app."""
    settings.PUBLIC_BASE_URL = live_server.url
    return make_phlo_sim(answer_delay=1.0)
