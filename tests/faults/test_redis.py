"""The channel layer's Redis dies and comes back (empty, as one without persistence does).

Its own redis-server, killed and restarted by the test, under the real ASGI application (a
desktop and a wallboard through Channels' communicator, callbacks through the real webhook).
While Redis is down the sockets end at once (the pages say "Reconnecting…" and retry,
static/live/connection.js), reconnecting is refused, and callbacks keep being stored and
applied; once it is back, the pages' reconnects get the true state and pushes flow again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from asyncio import FIRST_COMPLETED

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from calls.models import Call, Member
from contactcenter.asgi import application
from tests.factories import make_agent, make_supervisor
from tests.sockets import HOST, ORIGIN, session_of
from tests.webhooks.helpers import build_call, callbacks, load_scenario, post_callback

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.faults,
    pytest.mark.usefixtures("close_db_connections"),
]

TIMEOUT = 5.0
RECONNECT_FOR = 30.0
CLOSE_WITHIN = 15.0
SCENARIO = "phlo_outbound_call"
STORY = callbacks(SCENARIO)
ADDRESSES = load_scenario(SCENARIO)[
    "addresses"
]  # how long a page keeps reconnecting before the test gives up


@pytest.fixture(autouse=True)
def redis_layer(settings, own_redis):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": own_redis.url}], "prefix": "faults"},
        }
    }


async def open_page(user, path: str) -> tuple[WebsocketCommunicator, bool]:
    """Open a page's socket: (communicator, accepted). Not accepted when the server closes
    it or its consumer fails first (Redis down while joining its group)."""
    cookie = await sync_to_async(session_of)(user)
    cookie_header = f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode()
    page = WebsocketCommunicator(
        application, path, headers=[HOST, ORIGIN, (b"cookie", cookie_header)]
    )
    await page.send_input({"type": "websocket.connect"})
    first = asyncio.ensure_future(page.output_queue.get())
    await asyncio.wait({first, page.future}, timeout=TIMEOUT, return_when=FIRST_COMPLETED)
    if not first.done():
        first.cancel()
        assert page.future.done(), f"{path}: no answer to the handshake in {TIMEOUT} s"
        return page, False
    return page, first.result()["type"] == "websocket.accept"


async def discard(page: WebsocketCommunicator) -> None:
    """Let go of a socket the server already ended (its consumer may have failed)."""
    with contextlib.suppress(Exception):
        await page.disconnect(timeout=0.2)


async def reconnect(user, path: str) -> WebsocketCommunicator:
    """What the page does after its socket closed: connect again until it is accepted."""
    deadline = time.monotonic() + RECONNECT_FOR
    while True:
        page, connected = await open_page(user, path)
        if connected:
            return page
        await discard(page)
        assert time.monotonic() < deadline, f"{path} could not reconnect in {RECONNECT_FOR} s"
        await asyncio.sleep(0.2)  # the page's backoff between tries


async def receive_until(page: WebsocketCommunicator, wanted) -> str:
    """The next message `wanted(text)` accepts, skipping others (status pushes and such)."""
    while True:
        text = await page.receive_from(timeout=TIMEOUT)
        if wanted(text):
            return text


async def closed(page: WebsocketCommunicator) -> bool:
    """Whether the server ends this socket within CLOSE_WITHIN: its consumer stops (daphne
    then closes the websocket, and the page reconnects)."""
    try:
        await asyncio.wait_for(asyncio.shield(page.future), CLOSE_WITHIN)
    except TimeoutError:
        return False  # still open: the loss of Redis went unnoticed
    except Exception:
        pass  # the consumer failed on the lost connection, as it does under daphne
    return True


_CUSTOMER = re.compile(r'class="member member--([a-z_]+)[^"]*" data-role="customer"')
_VERSION = re.compile(r'<article id="(?:wb-)?call-\d+"[^>]*data-version="(\d+)"')


def shown(html: str) -> tuple[str | None, int | None]:
    """(the customer's state, the call's version) as a page shows them."""
    state, version = _CUSTOMER.search(html), _VERSION.search(html)
    return (state and state[1], version and int(version[1]))


def truth(call_id: int) -> tuple[str, int]:
    call = Call.objects.get(pk=call_id)
    return call.members.get(role=Member.Role.CUSTOMER).state, call.version


def deliver(name: str) -> dict:
    """The provider's callback to the real webhook; the webhook's answer."""
    response = post_callback(Client(), STORY[name])
    assert response.status_code == 200, response.content
    return response.json()


async def showing(page: WebsocketCommunicator, state: str) -> str:
    """The next message in which the page shows the customer in `state`."""
    while True:
        html = await page.receive_from(timeout=TIMEOUT)
        if shown(html)[0] == state:
            return html


async def test_pages_reconnect_resync_and_get_pushes_after_redis_restarts(own_redis):
    alice = await sync_to_async(make_agent)(username="alice", endpoint=ADDRESSES["agent"])
    sam = await sync_to_async(make_supervisor)(username="sam")
    legs = await sync_to_async(build_call)(SCENARIO, agent=alice)
    desktop, ok = await open_page(alice.user, "/ws/desktop/")
    board, ok2 = await open_page(sam, "/ws/wallboard/")
    assert ok and ok2
    # Pushes flow: the agent's phone answers, the customer starts ringing.
    assert (await sync_to_async(deliver)("agent_enters"))["outcome"] == "applied"
    await showing(desktop, "dialling")
    await showing(board, "dialling")

    own_redis.stop()
    # Both sockets end at once (the pages say "Reconnecting…" and try again)...
    assert await closed(desktop)
    assert await closed(board)
    # ...while callbacks keep being stored and applied (their pushes are lost, not fatal)...
    assert (await sync_to_async(deliver)("customer_enters"))["outcome"] == "applied"
    # ...and a page trying to reconnect is refused until Redis is back.
    page, connected = await open_page(alice.user, "/ws/desktop/")
    assert not connected
    for gone in (page, desktop, board):
        await discard(gone)

    own_redis.start()
    desktop = await reconnect(alice.user, "/ws/desktop/")
    board = await reconnect(sam, "/ws/wallboard/")
    # The full state each page gets on connect is the true one, outage included.
    expected = await sync_to_async(truth)(legs.call.pk)
    assert expected[0] == Member.State.TALKING
    full = await desktop.receive_from(timeout=TIMEOUT)
    assert 'data-full-state="true"' in full and shown(full) == expected
    assert shown(await showing(board, "talking")) == expected
    # And pushes flow again, to both pages.
    assert (await sync_to_async(deliver)("customer_leaves"))["outcome"] == "applied"
    expected = await sync_to_async(truth)(legs.call.pk)
    assert shown(await showing(desktop, "left"))[0] == expected[0]
    # The call ended: the board takes it off, at the version the database holds.
    removed = f'<article id="wb-call-{legs.call.pk}" class="wb-call" data-version="{expected[1]}"'
    while True:
        html = await board.receive_from(timeout=TIMEOUT)
        if removed in html:
            assert 'hx-swap-oob="delete"' in html
            break
    await discard(desktop)
    await discard(board)


async def health(path: str) -> tuple[int, dict]:
    answer = await HttpCommunicator(application, "GET", path).get_response(timeout=TIMEOUT)
    return answer["status"], json.loads(answer["body"])


async def test_the_readiness_check_names_the_channel_layer_while_redis_is_down(own_redis):
    assert (await health("/health/ready/"))[0] == 200
    own_redis.stop()
    try:
        status, body = await health("/health/ready/")
        live, _ = await health("/health/live/")
    finally:
        own_redis.start()
    assert (status, live) == (503, 200)
    assert body["checks"]["channel_layer"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    # Ready again once Redis is back (an empty Redis: nothing to restore).
    deadline = time.monotonic() + RECONNECT_FOR
    while (await health("/health/ready/"))[0] != 200:
        assert time.monotonic() < deadline, "not ready again after Redis came back"
        await asyncio.sleep(0.2)
