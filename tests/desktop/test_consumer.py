"""The desktop websocket through the real ASGI application: who may connect, what each agent
receives, and the complete state on (re)connect."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from agents.models import Agent
from calls.models import Call, Member
from calls.state import call_changed
from contactcenter.asgi import application
from tests.factories import make_customer, make_user
from tests.sockets import DESKTOP, HOST, ORIGIN, TIMEOUT, open_socket, session_of

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_db_connections"),
]


async def connect(user=None, *, origin=ORIGIN) -> tuple[WebsocketCommunicator, bool, int | str]:
    session = await sync_to_async(session_of)(user) if user is not None else None
    return await open_socket(DESKTOP, session, headers=[HOST, origin] if origin else [HOST])


async def close(communicator) -> None:
    """Disconnect without waiting out the Redis layer's blocking receive (about a second)."""
    await communicator.disconnect(timeout=0.2)


async def receive(communicator) -> str:
    return await communicator.receive_from(timeout=TIMEOUT)


async def receive_call(communicator, call_id: int) -> str:
    """The next push about this call, skipping status pushes the same change caused."""
    while True:
        text = await receive(communicator)
        if f'id="call-{call_id}"' in text:
            return text
        assert 'id="agent-status"' in text, text


def make_live_call(agent: Agent, *, phone: str) -> Call:
    """A call with the agent talking to a customer (and so on a call)."""
    Agent.objects.filter(pk=agent.pk).update(status="on_call")
    customer = make_customer(name=f"Customer {phone}", phone=phone)
    call = Call.objects.create(
        status=Call.Status.ACTIVE, owner=agent, customer=customer, answered_at=timezone.now()
    )
    Member.objects.create(
        call=call, address=agent.endpoint, role="agent", agent=agent, state="talking"
    )
    Member.objects.create(
        call=call, address=customer.phone, role="customer", customer=customer, state="talking"
    )
    return call


def hold_customer(call: Call) -> None:
    from django.db import transaction

    with transaction.atomic():
        call.members.filter(role="customer").update(state="on_hold")
        call_changed(call=Call.objects.get(pk=call.pk))


async def test_anonymous_users_are_refused():
    communicator, connected, code = await connect(None)
    assert not connected
    assert code == 4401
    await close(communicator)


async def test_a_user_without_an_agent_profile_is_refused():
    user = await sync_to_async(make_user)(username="viewer")
    communicator, connected, code = await connect(user)
    assert not connected
    assert code == 4403
    await close(communicator)


async def test_a_foreign_origin_is_refused_even_when_logged_in(alice):
    bad = (b"origin", b"http://evil.example.com")
    communicator, connected, _ = await connect(alice.user, origin=bad)
    assert not connected
    await close(communicator)
    communicator, connected, _ = await connect(alice.user, origin=None)
    assert not connected
    await close(communicator)


async def test_connecting_sends_the_complete_current_state(alice):
    call = await sync_to_async(make_live_call)(alice, phone="+14155550123")
    communicator, connected, _ = await connect(alice.user)
    assert connected
    state = await receive(communicator)
    # Status, the whole call list (replacing whatever the page had) and the server clock.
    assert 'id="agent-status"' in state and 'hx-swap-oob="true"' in state
    assert '<div id="calls" hx-swap-oob="innerHTML">' in state
    assert f'id="call-{call.pk}"' in state and "Customer +14155550123" in state
    assert "Available" in state
    assert 'data-full-state="true"' in state
    await close(communicator)


async def test_an_agent_receives_only_their_own_calls(alice, bob):
    a_call = await sync_to_async(make_live_call)(alice, phone="+14155550123")
    b_call = await sync_to_async(make_live_call)(bob, phone="+14155550456")
    a_socket, _, _ = await connect(alice.user)
    b_socket, _, _ = await connect(bob.user)
    await receive(a_socket)
    await receive(b_socket)

    await sync_to_async(hold_customer)(b_call)
    pushed = await receive(b_socket)
    assert f'id="call-{b_call.pk}"' in pushed and "On hold" in pushed
    assert await a_socket.receive_nothing(timeout=0.3)

    await sync_to_async(hold_customer)(a_call)
    pushed = await receive(a_socket)
    assert f'id="call-{a_call.pk}"' in pushed and "Unhold" in pushed
    assert await b_socket.receive_nothing(timeout=0.3)
    await close(a_socket)
    await close(b_socket)


async def test_every_open_tab_gets_the_same_single_render(alice, monkeypatch):
    call = await sync_to_async(make_live_call)(alice, phone="+14155550123")
    tabs = [await connect(alice.user) for _ in range(3)]
    for tab, _, _ in tabs:
        await receive(tab)

    import agents.rendering

    renders = []
    original = agents.rendering.render_call_for_agents

    def counting(**kwargs):
        renders.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(agents.rendering, "render_call_for_agents", counting)
    await sync_to_async(hold_customer)(call)
    pushes = [await receive(tab) for tab, _, _ in tabs]
    assert len(renders) == 1
    assert pushes[0] == pushes[1] == pushes[2]
    assert f'data-version="{call.version + 1}"' in pushes[0]
    for tab, _, _ in tabs:
        await close(tab)


async def test_a_call_that_leaves_the_desktop_is_deleted_there(alice, bob):
    call = await sync_to_async(make_live_call)(alice, phone="+14155550123")
    socket, _, _ = await connect(alice.user)
    await receive(socket)

    def hand_over():
        from django.db import transaction

        with transaction.atomic():
            Member.objects.create(
                call=call, address=bob.endpoint, role="agent", agent=bob, state="talking"
            )
            call.members.filter(agent=alice).update(state="left", left_at=timezone.now())
            fresh = Call.objects.get(pk=call.pk)
            fresh.owner = bob
            call_changed(call=fresh)

    await sync_to_async(hand_over)()
    pushed = await receive_call(socket, call.pk)
    assert f'id="call-{call.pk}"' in pushed and 'hx-swap-oob="delete"' in pushed
    await close(socket)


async def test_the_page_can_ask_for_a_resync_and_a_heartbeat(alice):
    socket, _, _ = await connect(alice.user)
    await receive(socket)
    await socket.send_to(text_data=json.dumps({"type": "ping"}))
    assert 'id="heartbeat"' in await receive(socket)
    await socket.send_to(text_data=json.dumps({"type": "resync"}))
    assert 'data-full-state="true"' in await receive(socket)
    await socket.send_to(text_data="not json")
    await socket.send_to(text_data=json.dumps({"type": "something else"}))
    # Deeper than json.loads can recurse: ignored too, and the connection lives on.
    await socket.send_to(text_data='{"a":' * 100_000 + "1" + "}" * 100_000)
    assert await socket.receive_nothing(timeout=0.2)
    await socket.send_to(text_data=json.dumps({"type": "ping"}))
    assert 'id="heartbeat"' in await receive(socket)
    await close(socket)


async def test_a_heartbeat_renews_the_desktops_group_membership(alice):
    """channels_redis drops group members after a day; an all-day desktop must stay in."""
    from channels.layers import InMemoryChannelLayer, get_channel_layer

    layer = get_channel_layer()
    if not isinstance(layer, InMemoryChannelLayer):
        pytest.skip("expiring a membership by hand needs the in-memory layer")
    group = f"agent.{alice.pk}"
    socket, _, _ = await connect(alice.user)
    await receive(socket)
    for channel in list(layer.groups.get(group, {})):  # as if the layer had expired it
        await layer.group_discard(group, channel)

    await socket.send_to(text_data=json.dumps({"type": "ping"}))
    assert 'id="heartbeat"' in await receive(socket)
    await layer.group_send(group, {"type": "call.changed", "call_id": 1, "version": 1})
    assert 'data-full-state="true"' in await receive(socket)
    await close(socket)


async def test_a_heartbeat_closes_a_desktop_whose_session_has_expired(alice, monkeypatch):
    """Review 2026-12-07: Bob's session expired while his desktop was open; it stayed
    "Live" and kept receiving customers' names, numbers and history until he pressed a
    button. The heartbeat that checks the session (every SESSION_RECHECK_SECONDS) closes it
    as a logout does; between checks a ping costs no thread hop."""
    from django.contrib.sessions.models import Session

    from agents import consumers

    monkeypatch.setattr(consumers, "SESSION_RECHECK_SECONDS", 0.0)  # every ping checks
    cookie = await sync_to_async(session_of)(alice.user)
    socket, connected, _ = await open_socket(DESKTOP, cookie, headers=[HOST, ORIGIN])
    assert connected
    await receive(socket)

    def expire() -> None:
        session = Session.objects.get(session_key=cookie)
        session.expire_date = timezone.now() - timedelta(seconds=1)
        session.save()

    await socket.send_to(text_data=json.dumps({"type": "ping"}))
    assert 'id="heartbeat"' in await receive(socket)  # still signed in
    await sync_to_async(expire)()
    await socket.send_to(text_data=json.dumps({"type": "ping"}))
    output = await socket.receive_output(timeout=TIMEOUT)
    assert output == {"type": "websocket.close", "code": 4401}


async def test_a_push_without_html_makes_the_desktop_resync(alice):
    from channels.layers import get_channel_layer

    socket, _, _ = await connect(alice.user)
    await receive(socket)
    await get_channel_layer().group_send(
        f"agent.{alice.pk}", {"type": "call.changed", "call_id": 1, "version": 1}
    )
    assert 'data-full-state="true"' in await receive(socket)
    await close(socket)


async def test_an_expired_wrap_up_is_flipped_by_the_open_desktop(alice, settings):
    """The server, not the page's clock, returns the agent to Available; every tab hears it."""
    # Far enough ahead that both tabs have connected and shown the wrap-up first, even on a
    # loaded machine (300 ms was not: the first full state already said Available).
    ends = timezone.now() + timedelta(milliseconds=1500)
    await sync_to_async(Agent.objects.filter(pk=alice.pk).update)(
        status="wrap_up", wrap_up_until=ends
    )
    tabs = [await connect(alice.user) for _ in range(2)]
    for tab, _, _ in tabs:
        assert "Wrap-up" in await receive(tab)
    for tab, _, _ in tabs:
        pushed = await receive(tab)
        assert 'data-status="available"' in pushed
    agent = await sync_to_async(Agent.objects.get)(pk=alice.pk)
    assert agent.status == "available" and agent.status_changed_at == ends
    for tab, _, _ in tabs:
        assert await tab.receive_nothing(timeout=0.2)  # one flip, announced once
        await close(tab)


async def test_connecting_after_the_wrap_up_ended_shows_available_at_once(alice):
    await sync_to_async(Agent.objects.filter(pk=alice.pk).update)(
        status="wrap_up", wrap_up_until=timezone.now() - timedelta(seconds=1)
    )
    socket, _, _ = await connect(alice.user)
    state = await receive(socket)
    assert 'data-status="available"' in state
    await close(socket)


async def test_logging_out_closes_that_sessions_desktops(alice):
    cookie = await sync_to_async(session_of)(alice.user)
    headers = [HOST, ORIGIN, (b"cookie", f"sessionid={cookie}".encode())]
    socket = WebsocketCommunicator(application, "/ws/desktop/", headers=headers)
    assert (await socket.connect(timeout=TIMEOUT))[0]
    await receive(socket)

    def log_out():
        client = Client()
        client.cookies["sessionid"] = cookie
        return client.post("/logout/")

    response = await sync_to_async(log_out)()
    assert response.status_code == 302
    output = await socket.receive_output(timeout=TIMEOUT)
    while output["type"] == "websocket.send":
        output = await socket.receive_output(timeout=TIMEOUT)
    assert output == {"type": "websocket.close", "code": 4401}
    agent = await sync_to_async(Agent.objects.get)(pk=alice.pk)
    assert agent.status == "offline"
    from django.contrib.sessions.models import Session

    still_there = await sync_to_async(Session.objects.filter(session_key=cookie).exists)()
    assert not still_there


async def test_the_admins_logout_closes_that_sessions_desktops_only():
    """A supervisor with a phone logs out of the admin (the wallboard's Log out): the desktop
    of that session closes at once; the one in their other browser stays open."""
    from tests.factories import make_supervisor

    sam = await sync_to_async(make_supervisor)(username="sam", with_agent=True)
    here, elsewhere = [await sync_to_async(session_of)(sam) for _ in range(2)]
    sockets = []
    for cookie in (here, elsewhere):
        headers = [HOST, ORIGIN, (b"cookie", f"sessionid={cookie}".encode())]
        socket = WebsocketCommunicator(application, "/ws/desktop/", headers=headers)
        assert (await socket.connect(timeout=TIMEOUT))[0]
        await receive(socket)
        sockets.append(socket)
    closing, staying = sockets

    def log_out():
        client = Client()
        client.cookies["sessionid"] = here
        return client.post("/admin/logout/")

    assert (await sync_to_async(log_out)()).status_code == 302
    assert await closing.receive_output(timeout=TIMEOUT) == {
        "type": "websocket.close",
        "code": 4401,
    }
    assert await staying.receive_nothing(timeout=0.5)
    await staying.send_to(text_data=json.dumps({"type": "ping"}))
    assert 'id="heartbeat"' in await receive(staying)
    await close(closing)
    await close(staying)


@pytest.mark.redis
async def test_pushes_cross_processes_through_redis(alice):
    """Two channel-layer instances stand for two app processes sharing Redis."""
    import os

    from channels.layers import get_channel_layer
    from channels_redis.core import RedisChannelLayer

    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set; this checks delivery between processes via Redis")
    layer = get_channel_layer()
    if not isinstance(layer, RedisChannelLayer):
        pytest.skip("the default channel layer is not Redis")
    try:
        other = RedisChannelLayer(hosts=[os.environ["REDIS_URL"]], prefix=layer.prefix)
        channel = await other.new_channel()
        await other.group_add(f"agent.{alice.pk}", channel)
    except OSError as exc:
        pytest.skip(f"Redis at REDIS_URL is not reachable: {exc}")
    call = await sync_to_async(make_live_call)(alice, phone="+14155550123")
    await sync_to_async(hold_customer)(call)
    message = await asyncio.wait_for(other.receive(channel), TIMEOUT)
    assert message["type"] == "call.changed" and message["call_id"] == call.pk
    assert "On hold" in message["html"]
    await other.flush()
