"""Fixtures for the wallboard tests: one user per row of the permission matrix, an isolated
channel layer, and a simulator whose callbacks reach the real webhook. The wallboard is
reached through the project's own wiring (contactcenter/urls.py, contactcenter/asgi.py and
calls/publishing.py), as in production."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tests.factories import make_agent, make_customer, make_supervisor, make_user


@pytest.fixture(autouse=True)
def _private_channel_layer(settings):
    """Each test gets its own channel-layer namespace, so runs sharing one Redis never leak
    pushes into each other."""
    default = dict(settings.CHANNEL_LAYERS["default"])
    config = dict(default.get("CONFIG", {}))
    if "redis" in default["BACKEND"].lower():
        config["prefix"] = f"test-wb-{uuid.uuid4().hex[:12]}"
    default["CONFIG"] = config
    settings.CHANNEL_LAYERS = {"default": default}


@pytest.fixture
def sam(db):
    """A supervisor (Supervisors group) with an agent profile and phone, like the demo's."""
    user = make_supervisor(username="sam", with_agent=True)
    user.first_name, user.last_name = "Sam", "Supervisor"
    user.save()
    return user


@pytest.fixture
def gina(db):
    """A supervisor through the permission alone, with no agent profile (no phone)."""
    user = make_user(username="gina", first_name="Gina")
    user.user_permissions.add(
        Permission.objects.get(codename="supervise", content_type__app_label="calls")
    )
    return user


@pytest.fixture
def root(db):
    return make_user(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def alice(db):
    agent = make_agent(username="alice", endpoint="sip:alice@phones.test")
    agent.user.first_name = "Alice"
    agent.user.save()
    return agent


@pytest.fixture
def bob(db):
    agent = make_agent(username="bob", endpoint="sip:bob@phones.test")
    agent.user.first_name = "Bob"
    agent.user.save()
    return agent


@pytest.fixture
def dana(db):
    return make_customer(name="Dana Diaz", phone="+14155550101")


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def htmx():
    """Headers of a request made by htmx."""
    return {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def wallboard_sim(live_server, settings, make_phlo_sim):
    """A simulator on a manual clock whose callbacks reach this app's real webhook."""
    settings.PUBLIC_BASE_URL = live_server.url
    return make_phlo_sim(answer_delay=1.0)
