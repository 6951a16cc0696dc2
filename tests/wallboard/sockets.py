"""Wallboard websockets through the project's real ASGI application, and calls changed the
way the webhook changes them, for the wallboard's push tests (and the security tests')."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from agents.presence import agent_set_status
from calls.models import Call, Member
from calls.state import call_changed, lock_call, member_set_state
from tests.factories import make_customer
from tests.sockets import HOST, ORIGIN, TIMEOUT, WALLBOARD, open_socket, session_of


async def connect(user=None, *, origin=ORIGIN):
    session = await sync_to_async(session_of)(user) if user is not None else None
    return await open_socket(WALLBOARD, session, headers=[HOST, origin] if origin else [HOST])


async def assert_still_open(socket: WebsocketCommunicator) -> None:
    """Nothing closes it for a while (pushes may come), and it still answers a heartbeat."""
    while not await socket.receive_nothing(timeout=0.5):
        output = await socket.receive_output(timeout=TIMEOUT)
        assert output["type"] == "websocket.send", output
    await socket.send_json_to({"type": "ping"})
    while True:
        output = await socket.receive_output(timeout=TIMEOUT)
        assert output["type"] == "websocket.send", output
        if "data-server-now" in output.get("text", ""):
            return


def live_call(agent: Agent, *, phone: str) -> Call:
    Agent.objects.filter(pk=agent.pk).update(status="on_call")
    customer = make_customer(name=f"Customer {phone}", phone=phone)
    now = timezone.now()
    call = Call.objects.create(status="active", owner=agent, customer=customer, answered_at=now)
    for role, address, who in (
        ("agent", agent.endpoint, {"agent": agent}),
        ("customer", customer.phone, {"customer": customer}),
    ):
        Member.objects.create(
            call=call, address=address, role=role, state="talking", answered_at=now, **who
        )
    return call


def hold_customer(call_id: int) -> None:
    with transaction.atomic():
        call = lock_call(call_id=call_id)
        customer = call.members.get(role="customer")
        member_set_state(member=customer, state="on_hold")
        call_changed(call=call)


def hang_up_everyone(call_id: int) -> None:
    with transaction.atomic():
        call = lock_call(call_id=call_id)
        for member in call.members.all():
            member_set_state(member=member, state="left")
        call_changed(call=call)


async def receive_all(communicator, *markers: str) -> list[str]:
    """Messages up to the one that completes `markers` (each in some message); the figures
    come in a message of their own, before or after the change's rows."""
    seen: list[str] = []
    while not all(any(m in text for text in seen) for m in markers):
        seen.append(await communicator.receive_from(timeout=TIMEOUT))
    return seen


def one_with(messages: list[str], marker: str) -> str:
    return next(text for text in messages if marker in text)


async def receive_with(communicator, marker: str) -> str:
    """The next message containing `marker` (status pushes of the same change may come
    first)."""
    while True:
        text = await communicator.receive_from(timeout=TIMEOUT)
        if marker in text:
            return text


def goes_away(agent: Agent, *, reason: str = "Lunch") -> None:
    """The agent sets themselves Away, as the desktop's status menu does."""
    with transaction.atomic():
        locked = Agent.objects.select_for_update().get(pk=agent.pk)
        agent_set_status(agent=locked, status="away", reason=reason)
