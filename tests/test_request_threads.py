"""Each HTTP request's sync code runs in one thread of its own, and the threads are reused
by later requests instead of being started and stopped per request (contactcenter.
request_threads). Through asgiref's real SyncToAsync, and through the product's own ASGI
application."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import HttpCommunicator

from calls.models import Member
from contactcenter.request_threads import RequestThreads


def _ident() -> int:
    return threading.get_ident()


class ThreadsSeen:
    """An ASGI app whose request does thread-sensitive sync work twice, as Django's handler
    and view do, and answers with the threads it ran in."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.hold = False

    async def __call__(self, scope: dict, receive, send) -> None:
        first = await sync_to_async(_ident)()
        if self.hold:
            self.started.set()
            await self.release.wait()
        second = await sync_to_async(_ident)()
        body = json.dumps([first, second]).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


async def _threads(app, path: str = "/") -> list[int]:
    communicator = HttpCommunicator(app, "GET", path)
    response = await communicator.get_response()
    await communicator.wait(10)  # the application has returned, not just answered
    return json.loads(response["body"])


async def test_a_requests_sync_code_runs_in_one_thread_that_later_requests_reuse():
    app = RequestThreads(ThreadsSeen())
    first, second = await _threads(app), await _threads(app)
    assert first[0] == first[1] != threading.get_ident()  # one thread, not the loop's
    assert second == first  # the same thread served the next request


async def test_requests_at_the_same_time_each_have_a_thread_of_their_own():
    inner = ThreadsSeen()
    inner.hold = True
    app = RequestThreads(inner)
    held = asyncio.ensure_future(_threads(app))
    await asyncio.wait_for(inner.started.wait(), 10)
    inner.hold = False
    other = await _threads(app)  # while the first is still in its thread
    inner.release.set()
    first = await held
    assert first[0] == first[1] and other[0] == other[1]
    assert first[0] != other[0]
    # Both went back to the pool: the next two requests use those two threads.
    assert {(await _threads(app))[0]} <= {first[0], other[0]}


async def test_a_cancelled_requests_thread_is_not_given_to_another_request():
    inner = ThreadsSeen()
    inner.hold = True
    app = RequestThreads(inner)
    scope = {"type": "http", "method": "GET", "path": "/", "headers": []}

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    async def send(message: dict) -> None:
        pass

    cut = asyncio.ensure_future(app(scope, receive, send))
    await asyncio.wait_for(inner.started.wait(), 10)
    cut.cancel()  # as the server does when the client goes away
    with pytest.raises(asyncio.CancelledError):
        await cut
    assert app._idle == []  # its thread was shut down, not kept for the next request
    inner.hold = False
    assert len(set(await _threads(app))) == 1
    assert len(app._idle) == 1


async def test_more_requests_than_it_keeps_leave_only_that_many_idle():
    inner = ThreadsSeen()
    inner.hold = True
    app = RequestThreads(inner, keep=1)
    first = asyncio.ensure_future(_threads(app))
    await asyncio.wait_for(inner.started.wait(), 10)
    inner.started.clear()
    second = asyncio.ensure_future(_threads(app))
    await asyncio.wait_for(inner.started.wait(), 10)
    inner.release.set()
    await asyncio.gather(first, second)
    assert len(app._idle) == 1


@pytest.mark.django_db(transaction=True)
async def test_the_products_http_requests_go_through_it_and_share_a_thread():
    from contactcenter import asgi

    async def login_page() -> None:
        page = HttpCommunicator(
            asgi.application, "GET", "/login/", headers=[(b"host", b"localhost")]
        )
        assert (await page.get_response())["status"] == 200
        await page.wait(10)  # the application has returned, not just answered

    await login_page()
    (executor,) = asgi.request_threads._idle[-1:]
    await login_page()
    # The second request ran on the first one's thread (where, say, the PHLO client keeps
    # its connection between requests), and gave it back.
    assert asgi.request_threads._idle[-1] is executor


@pytest.mark.django_db(transaction=True)
def test_a_second_button_reuses_the_first_ones_connection_to_phlo(accepted, app_sim, alice, dana):
    """Through the product's ASGI application, as the browser's buttons go: the thread
    that served the first press serves the next, and its PHLO client keeps the connection
    (with Plivo, its TLS session too). A new thread per request opened one per press."""
    from contactcenter import asgi
    from tests.desktop.test_views import answered_call, leg
    from tests.sockets import session_of

    call = answered_call(app_sim, alice, dana)
    customer = leg(call)
    token = "c" * 32  # the CSRF cookie and header must match
    headers = [
        (b"host", b"localhost"),
        (b"cookie", f"sessionid={session_of(alice.user)}; csrftoken={token}".encode()),
        (b"x-csrftoken", token.encode()),
        (b"hx-request", b"true"),
    ]

    def press(action: str) -> int:
        async def post() -> int:
            url = f"/desktop/members/{customer.pk}/actions/{action}/"
            button = HttpCommunicator(asgi.application, "POST", url, headers=headers)
            status = (await button.get_response())["status"]
            await button.wait(10)
            return status

        return async_to_sync(post)()

    assert press("hold") == 200
    after_first = len(accepted)
    app_sim.advance(1)  # the hold's callbacks arrive: the customer is on hold
    customer.refresh_from_db()
    assert customer.state == Member.State.ON_HOLD
    assert press("unhold") == 200
    app_sim.advance(1)
    customer.refresh_from_db()
    assert customer.state == Member.State.TALKING
    assert len(accepted) == after_first
