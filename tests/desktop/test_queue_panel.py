"""The desktop's queue panel: the agent's queues and how many callers wait in each, on the
page, in the full state, and pushed to every desktop of the queue's agents, rendered once
per change; and the offer banner says which queue a caller came from."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from agents.rendering import render_call_for_agents, render_full_state
from calls.models import Call, Member, Queue
from calls.state import call_changed
from tests.factories import make_agent, make_customer
from tests.sockets import DESKTOP, TIMEOUT, open_live, session_of

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_db_connections"),
]


def _queued_caller(queue: Queue, *, waited: int = 42, phone: str = "14155550101") -> Call:
    customer = make_customer(name="Dana Diaz", phone=phone)
    call = Call.objects.create(
        direction="inbound",
        queue=queue,
        customer=customer,
        status="dialling",
        created_at=timezone.now() - timedelta(seconds=waited),
    )
    Member.objects.create(
        call=call, address=phone, role="customer", customer=customer, state="waiting"
    )
    return call


def _sales_with(*agents) -> Queue:
    queue = Queue.objects.create(name="Sales")
    queue.agents.set(agents)
    return queue


def test_the_full_state_lists_the_agents_queues_with_who_waits(db):
    alice, bob = make_agent(username="alice"), make_agent(username="bob")
    sales = _sales_with(alice)
    Queue.objects.create(name="Support").agents.set([alice, bob])
    _queued_caller(sales)
    html = render_full_state(agent=alice)
    assert 'id="my-queues"' in html and "hidden" not in html.split('id="my-queues"')[1][:80]
    sales_row = html[html.index(f'id="my-queue-{sales.pk}"') :].split("</li>")[0]
    assert 'data-waiting="1"' in sales_row and 'class="timer" data-since=' in sales_row
    assert "Support" in html and "nobody waiting" in html
    # Bob serves only Support.
    assert f'id="my-queue-{sales.pk}"' not in render_full_state(agent=bob)


def test_an_agent_in_no_queue_has_the_panel_hidden(db):
    html = render_full_state(agent=make_agent(username="carol"))
    panel = html[html.index('id="my-queues"') :].split(">")[0]
    assert panel.endswith(" hidden")


def test_the_offer_banner_says_which_queue_and_how_long_they_waited(db):
    alice = make_agent(username="alice")
    call = _queued_caller(_sales_with(alice))
    Member.objects.create(
        call=call, address=alice.endpoint, role="agent", agent=alice, state="dialling"
    )
    Call.objects.filter(pk=call.pk).update(owner=alice)
    html = render_call_for_agents(call_id=call.pk, agent_ids=[alice.pk])[alice.pk]
    banner = html[html.index('class="ringing-banner"') :]
    assert "Incoming call from Dana Diaz" in banner
    assert "From the Sales queue, waiting" in banner and 'class="timer" data-since=' in banner


def test_a_transfer_offered_from_a_queue_call_does_not_show_the_queue_wait(db):
    """Bob is consulted on a call Alice answered from the queue: the caller stopped waiting
    when she answered, so his banner says who transfers it, not how long they 'waited'."""
    alice, bob = make_agent(username="alice"), make_agent(username="bob")
    call = _queued_caller(_sales_with(alice, bob))
    answered = timezone.now()
    Member.objects.filter(call=call).update(state="talking", answered_at=answered)
    Member.objects.create(
        call=call, address=alice.endpoint, role="agent", agent=alice, state="talking",
        answered_at=answered,
    )  # fmt: skip
    Member.objects.create(
        call=call, address=bob.endpoint, role="agent", agent=bob, state="dialling"
    )
    Call.objects.filter(pk=call.pk).update(
        owner=alice, status="active", answered_at=answered, transfer_kind="warm",
        transfer_from=alice, transfer_to_agent=bob, transfer_to_address=bob.endpoint,
        transfer_started_at=answered,
    )  # fmt: skip
    html = render_call_for_agents(call_id=call.pk, agent_ids=[bob.pk])[bob.pk]
    banner = html[html.index('class="ringing-banner"') :].split("</div>")[0]
    assert "is transferring a call with Dana Diaz to you" in banner
    assert "queue, waiting" not in banner


async def test_a_caller_joining_the_queue_reaches_every_desktop_of_its_agents(db):
    alice, bob, carol = [
        await sync_to_async(make_agent)(username=n) for n in ("alice", "bob", "carol")
    ]
    sales = await sync_to_async(_sales_with)(alice, bob)
    sockets = {
        a.user.username: await open_live(DESKTOP, await sync_to_async(session_of)(a.user))
        for a in (alice, bob, carol)
    }

    def arrive() -> Call:
        call = _queued_caller(sales)
        call_changed(call=call)  # as routing does
        return call

    await sync_to_async(arrive)()
    for name in ("alice", "bob"):
        pushed = await sockets[name].receive_from(timeout=TIMEOUT)
        assert f'id="my-queue-{sales.pk}"' in pushed and 'data-waiting="1"' in pushed, name
    assert await sockets["carol"].receive_nothing(timeout=0.3)
    for socket in sockets.values():
        await socket.disconnect(timeout=0.2)


async def test_an_agent_put_in_a_queue_sees_it_at_once_and_hears_its_callers(db):
    alice = await sync_to_async(make_agent)(username="alice")
    sales = await sync_to_async(Queue.objects.create)(name="Sales")
    socket = await open_live(DESKTOP, await sync_to_async(session_of)(alice.user))

    await sync_to_async(sales.agents.add)(alice)  # a supervisor, on the queue's page
    shown = await socket.receive_from(timeout=TIMEOUT)
    assert 'data-full-state="true"' in shown and f'id="my-queue-{sales.pk}"' in shown

    def arrive(phone: str) -> None:
        call_changed(call=_queued_caller(sales, phone=phone))

    await sync_to_async(arrive)("14155550101")
    pushed = await socket.receive_from(timeout=TIMEOUT)
    assert f'id="my-queue-{sales.pk}"' in pushed and 'data-waiting="1"' in pushed

    await sync_to_async(alice.queues.remove)(sales)  # and taken off it again
    shown = await socket.receive_from(timeout=TIMEOUT)
    assert 'data-full-state="true"' in shown and f'id="my-queue-{sales.pk}"' not in shown
    await sync_to_async(arrive)("14155550102")
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect(timeout=0.2)


async def test_a_deleted_queue_leaves_its_agents_desktops_at_once(db):
    """Deleting a queue removes its agents' links without m2m signals; the desktops kept
    the queue until the next queue was saved or they were reloaded."""
    alice = await sync_to_async(make_agent)(username="alice")
    sales = await sync_to_async(_sales_with)(alice)
    desktop = await open_live(DESKTOP, await sync_to_async(session_of)(alice.user))

    await sync_to_async(sales.delete)()
    shown = await desktop.receive_from(timeout=TIMEOUT)
    assert 'data-full-state="true"' in shown and f'id="my-queue-{sales.pk}"' not in shown
    await desktop.disconnect(timeout=0.2)
