"""Any logout closes the desktops and wallboards open in that session at once, with 4401:
the admin's (the wallboard's Log out) and the desktop's own, through the project's real URLs
and ASGI application (contactcenter/asgi.py), the channel layer in between (agents.signals,
calls.publishing). Sockets of other sessions, the same user's included, stay open."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings as django_settings
from django.contrib.auth import logout
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory

from agents.models import Agent
from agents.pushes import agent_group
from calls.wallboard.pushes import SUPERVISORS_GROUP
from tests.sockets import DESKTOP, TIMEOUT, WALLBOARD, close_code, open_live, session_of
from tests.wallboard.sockets import assert_still_open

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_db_connections"),
]


def _log_out(session: str, url: str) -> int:
    client = Client()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = session
    return client.post(url).status_code


@pytest.mark.parametrize("url", ["/admin/logout/", "/logout/"], ids=["admin", "desktop"])
async def test_a_logout_closes_that_sessions_desktop_and_wallboard_at_once(url, sam, gina):
    """Sam (a supervisor with a phone) has a desktop and a wallboard open in two browsers;
    Gina has a wallboard open. Sam logs out in the first browser only."""
    here = await sync_to_async(session_of)(sam)
    elsewhere = await sync_to_async(session_of)(sam)
    ginas = await sync_to_async(session_of)(gina)
    desktop, wallboard = await open_live(DESKTOP, here), await open_live(WALLBOARD, here)
    kept = [
        await open_live(DESKTOP, elsewhere),
        await open_live(WALLBOARD, elsewhere),
        await open_live(WALLBOARD, ginas),
    ]

    await Agent.objects.filter(user=sam).aupdate(status=Agent.Status.AVAILABLE)
    assert await sync_to_async(_log_out)(here, url) == 302
    # No heartbeat was sent: the logout itself closed them.
    assert await close_code(desktop) == 4401
    assert await close_code(wallboard) == 4401
    for socket in kept:
        await assert_still_open(socket)
    # Either logout also takes Sam off the floor (not on a call, so at once).
    agent = await Agent.objects.aget(user=sam)
    assert agent.status == Agent.Status.OFFLINE

    for socket in [desktop, wallboard, *kept]:
        await socket.disconnect(timeout=0.2)


def _logout_request(user, *, with_session: bool) -> str:
    """Log `user` out of a request whose session has a key, or none (never saved)."""
    request = RequestFactory().post("/admin/logout/")
    request.session = SessionStore()
    if with_session:
        request.session.create()
    key = request.session.session_key or ""
    request.user = user
    logout(request)
    return key


async def test_a_logout_without_a_session_closes_nothing(sam):
    """An empty key would match every socket that has none: it is not sent at all."""
    layer = get_channel_layer()
    listener = await layer.new_channel()
    agent_id = await sync_to_async(lambda: sam.agent.pk)()
    for group in (SUPERVISORS_GROUP, agent_group(agent_id)):
        await layer.group_add(group, listener)

    await sync_to_async(_logout_request)(sam, with_session=False)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(listener), 0.5)

    # The same logout with a session is heard, on both groups (so the silence above is real).
    key = await sync_to_async(_logout_request)(sam, with_session=True)
    heard = [await asyncio.wait_for(layer.receive(listener), TIMEOUT) for _ in range(2)]
    assert heard == [{"type": "session.signed_out", "session_key": key}] * 2
