"""A burst of duplicated and reordered callbacks at ~20/s, with desktops and a wallboard open.

The simulator's chaos (a fixed seed: half the callbacks sent twice, groups of 4 shuffled)
produces the provider's callbacks for four agents' calls; they are captured, then posted
to the real webhook at about 20 a second while four desktops and a wallboard are connected
(the real ASGI application). At the end every page, rebuilt from what its socket sent the
way its script applies it (tests/faults/pages.py), reads what a fresh page would: the true
state.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from agents.models import Agent
from agents.rendering import render_full_state
from calls.models import Call, CallbackEvent, Member
from calls.services import buttons
from calls.wallboard.rendering import render_full_state as render_wallboard
from tests.factories import make_agent, make_customer, make_supervisor
from tests.faults.pages import Page, page_from
from tests.sockets import open_socket, session_of

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.faults,
    pytest.mark.usefixtures("close_db_connections"),
]

TIMEOUT = 5.0
CONVERGE_WITHIN = 30.0
RATE = 20.0  # callbacks a second
CHAOS = {"seed": 20, "duplicate": 0.5, "reorder_window": 4, "hold_seconds": 1}
ANSWER_DELAY = 1.0
SETTLE = 3.0  # simulator seconds: phones answer, chaos windows that did not fill are sent
AGENTS = ("alice", "bob", "carol", "dave")


async def open_page(user, path: str) -> WebsocketCommunicator:
    session = await sync_to_async(session_of)(user)
    page, connected, _ = await open_socket(path, session, timeout=TIMEOUT)
    assert connected, path
    return page


class Replayer:
    """Posts what the simulator sent to the sink to the real webhook, at RATE a second."""

    def __init__(self, sink) -> None:
        self.sink = sink
        self.sent = 0
        self.client = Client()

    def _post(self, request) -> int:
        headers = {
            k: v for k, v in request.headers.items() if k.lower().startswith("x-plivo-signature")
        }
        response = self.client.generic(
            "POST",
            request.path,
            data=request.body,
            content_type=request.content_type,
            headers=headers,
        )
        return response.status_code

    async def pump(self) -> int:
        """Post every callback captured since the last pump, paced; returns how many."""
        pending = self.sink.requests[self.sent :]
        next_at = time.monotonic()
        for request in pending:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))  # pacing, not waiting
            next_at += 1 / RATE
            status = await sync_to_async(self._post)(request)
            assert status == 200, (status, request.params)
            self.sent += 1
        return len(pending)


async def converge(page: WebsocketCommunicator, model: Page, truth) -> None:
    """Apply what the page receives until it reads as `truth()` says (bounded)."""
    deadline = time.monotonic() + CONVERGE_WITHIN
    expected = await sync_to_async(truth)()
    while model.view() != expected:
        assert time.monotonic() < deadline, (model.view(), expected)
        try:
            model.apply(await page.receive_from(timeout=TIMEOUT))
        except TimeoutError:
            # Quiet and still not the truth: nothing more is coming, so say how it differs.
            raise AssertionError(
                f"the page stopped at {model.view()}, the truth is {expected}"
            ) from None


def desktop_truth(agent_id: int):
    return lambda: page_from(render_full_state(agent=Agent.objects.get(pk=agent_id))).view()


def wallboard_truth():
    return page_from(render_wallboard()).view()


@pytest.mark.parametrize("vocabulary", ["phlo", "mpc"])
async def test_pages_end_in_the_true_state_after_a_chaotic_burst(
    settings, make_phlo_sim, callback_sink, vocabulary
):
    settings.PUBLIC_BASE_URL = callback_sink.base_url  # the URL the simulator signs
    sim = make_phlo_sim(callback_url=callback_sink.url, answer_delay=ANSWER_DELAY, chaos=CHAOS)
    agents = [
        await sync_to_async(make_agent)(username=name, endpoint=f"sip:{name}@phones.test")
        for name in AGENTS
    ]
    customers = [
        await sync_to_async(make_customer)(name=f"Customer {i}", phone=f"+1415555010{i}")
        for i in range(len(AGENTS))
    ]
    sam = await sync_to_async(make_supervisor)(username="sam")
    desktops = [await open_page(agent.user, "/ws/desktop/") for agent in agents]
    board = await open_page(sam, "/ws/wallboard/")
    replayer = Replayer(callback_sink)

    # Every agent calls a customer; both phones answer.
    calls = [
        await sync_to_async(buttons.call_start)(actor=agent.user, to=customer.phone)
        for agent, customer in zip(agents, customers, strict=True)
    ]
    for _ in range(3):
        await asyncio.to_thread(sim.advance, SETTLE)
    assert await replayer.pump() > 0
    # Half the agents hang up (a button); the other half's customers hang up (at the phone).
    for index, call in enumerate(calls):
        customer_leg = await sync_to_async(call.members.get)(role=Member.Role.CUSTOMER)
        if index % 2 == 0:
            await sync_to_async(buttons.member_hangup)(
                actor=agents[index].user, member_id=customer_leg.pk
            )
        else:
            await asyncio.to_thread(sim.phones.hangup, customer_leg.address)
    for _ in range(2):
        await asyncio.to_thread(sim.advance, SETTLE)
    await replayer.pump()

    # The chaos did its work: duplicates were sent, and are stored once.
    stored = await sync_to_async(CallbackEvent.objects.count)()
    assert replayer.sent > stored >= 4 * len(calls)
    assert await sync_to_async(
        Call.objects.filter(pk__in=[c.pk for c in calls], ended_at__isnull=False).count
    )() == len(calls)

    for agent, desktop in zip(agents, desktops, strict=True):
        await converge(desktop, Page(), desktop_truth(agent.pk))
    await converge(board, Page(), wallboard_truth)
    for page in (*desktops, board):
        with contextlib.suppress(Exception):
            await page.disconnect(timeout=0.2)
