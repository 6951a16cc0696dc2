"""Changes reach every open wallboard as HTML rendered once, and a (re)connecting wallboard
gets the whole truth. Through the real consumer stack (origin check, session auth, router)
and the real publisher, on the in-memory layer or Redis (whichever REDIS_URL selects)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from calls.models import Queue
from calls.wallboard import rendering
from calls.wallboard.pushes import SUPERVISORS_GROUP
from tests.factories import make_agent
from tests.wallboard.sockets import (
    TIMEOUT,
    connect,
    goes_away,
    hang_up_everyone,
    hold_customer,
    live_call,
    one_with,
    receive_all,
    receive_with,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_db_connections"),
]


async def test_connecting_sends_every_live_call_agent_and_figure(sam, alice):
    call = await sync_to_async(live_call)(alice, phone="+14155550123")
    socket, connected, _ = await connect(sam)
    assert connected
    state = await socket.receive_from(timeout=TIMEOUT)
    assert f'id="wb-call-{call.pk}"' in state and "Customer +14155550123" in state
    assert f'id="wb-agent-{alice.pk}"' in state and "On a call with Customer +14155550123" in state
    assert '<dd class="wb-num">1</dd>' in state.split('id="fig-in-progress"')[1][:200]
    await socket.disconnect()


async def test_a_change_reaches_every_wallboard_rendered_once(sam, gina, alice, renders):
    call = await sync_to_async(live_call)(alice, phone="+14155550123")
    boards = [(await connect(user))[0] for user in (sam, gina, sam)]
    for board in boards:
        await board.receive_from(timeout=TIMEOUT)

    renders.clear()  # only the change's renders count, not the boards' first states
    await sync_to_async(hold_customer)(call.pk)
    pushes = [await receive_with(board, f'id="wb-call-{call.pk}"') for board in boards]

    assert renders == [{"call_id": call.pk, "agent_id": None}]
    assert pushes[0] == pushes[1] == pushes[2]
    push = pushes[0]
    assert f'data-version="{call.version + 1}"' in push and 'hx-swap-oob="true"' in push
    assert "On hold" in push and "Unhold" in push
    # Only what changed: the call and the row of the agent on it, not the panel or figures.
    assert f'<li id="wb-agent-{alice.pk}"' in push and 'id="wb-agents"' not in push
    assert 'id="wb-figures"' not in push
    # The figures follow in a message of their own (rendered once for this process).
    for board in boards:
        figures = await receive_with(board, 'id="fig-on-hold"')
        assert "longest" in figures.split('id="fig-on-hold"')[1]
    for board in boards:
        await board.disconnect()


async def test_an_ended_call_is_removed_and_the_figures_move(sam, alice):
    call = await sync_to_async(live_call)(alice, phone="+14155550123")
    board, _, _ = await connect(sam)
    await board.receive_from(timeout=TIMEOUT)

    await sync_to_async(hang_up_everyone)(call.pk)
    seen = await receive_all(board, f'id="wb-call-{call.pk}"', 'id="fig-in-progress"')
    push = one_with(seen, f'id="wb-call-{call.pk}"')
    assert 'hx-swap-oob="delete"' in push and "data-deleted" in push
    # The same push brings Alice's row (now wrapping up); the figures come on their own.
    assert f'id="wb-agent-{alice.pk}" class="wb-agent" data-status="wrap_up"' in push
    figures = one_with(seen, 'id="fig-in-progress"')
    assert '<dd class="wb-num">0</dd>' in figures.split('id="fig-in-progress"')[1][:200]
    await board.disconnect()


async def test_queue_changes_made_in_the_admin_reach_the_queue_figures(sam, alice):
    """A supervisor puts Alice (Available) on Sales, then moves its service-level target: an
    open wallboard's queue figures show each at once (agents available per queue, the
    target), as a reload would."""
    queue = await Queue.objects.acreate(name="Sales", number="14155550000")
    await Agent.objects.filter(pk=alice.pk).aupdate(status="available")
    board, _, _ = await connect(sam)
    first = await board.receive_from(timeout=TIMEOUT)
    assert _queue_row(first, queue)[-1] == "0"  # nobody serves it yet

    def in_the_admin(change) -> None:
        with transaction.atomic():
            change()

    await sync_to_async(in_the_admin)(lambda: alice.queues.add(queue))
    figures = await receive_with(board, f'id="queue-{queue.pk}"')
    assert _queue_row(figures, queue)[-1] == "1"  # Alice, available

    queue.service_level_seconds = 45
    await sync_to_async(in_the_admin)(queue.save)
    figures = await receive_with(board, "in 45 s")
    assert f'id="queue-{queue.pk}"' in figures
    await board.disconnect()


async def test_a_queue_deleted_in_the_admin_leaves_the_queue_figures(sam, alice):
    queue = await Queue.objects.acreate(name="Sales", number="14155550000")
    await sync_to_async(alice.queues.add)(queue)
    board, _, _ = await connect(sam)
    assert f'id="queue-{queue.pk}"' in await board.receive_from(timeout=TIMEOUT)

    await sync_to_async(queue.delete)()
    figures = await receive_with(board, 'id="wb-figures"')
    assert f'id="queue-{queue.pk}"' not in figures
    await board.disconnect()


def _queue_row(html: str, queue: Queue) -> list[str]:
    """The cells of the queue's row in the figures."""
    row = html.split(f'id="queue-{queue.pk}"')[1].split("</tr>")[0]
    return [cell.split(">", 1)[1] for cell in row.split("</td>")[:-1] if "<td" in cell]


async def test_a_status_change_pushes_that_agents_row(sam, alice, bob):
    board, _, _ = await connect(sam)
    await board.receive_from(timeout=TIMEOUT)

    await sync_to_async(goes_away)(alice)
    push = await receive_with(board, f'<li id="wb-agent-{alice.pk}"')
    assert 'id="wb-figures"' not in push  # an agent's change does not move the figures
    assert 'id="wb-agents"' not in push and f'id="wb-agent-{bob.pk}"' not in push
    assert f'id="wb-agent-{alice.pk}" class="wb-agent" data-status="away"' in push
    assert "Lunch" in push
    await board.disconnect()


async def test_a_message_without_html_is_rendered_by_the_wallboard_itself(sam, alice):
    call = await sync_to_async(live_call)(alice, phone="+14155550123")
    board, _, _ = await connect(sam)
    await board.receive_from(timeout=TIMEOUT)

    layer = get_channel_layer()
    message = {"type": "call.changed", "call_id": call.pk, "version": call.version}
    await layer.group_send(SUPERVISORS_GROUP, message)
    seen = await receive_all(board, f'id="wb-call-{call.pk}"', 'id="wb-figures"')
    assert f'<li id="wb-agent-{alice.pk}"' in one_with(seen, f'id="wb-call-{call.pk}"')
    await board.disconnect()


async def test_resync_sends_the_whole_truth_again(sam, alice):
    board, _, _ = await connect(sam)
    first = await board.receive_from(timeout=TIMEOUT)
    assert "No calls in progress." in first

    # A change the wallboard never heard about (written without publishing).
    call = await sync_to_async(live_call)(alice, phone="+14155550123")
    await board.send_json_to({"type": "resync"})
    state = await board.receive_from(timeout=TIMEOUT)
    assert 'data-full-state="true"' in state and f'id="wb-call-{call.pk}"' in state
    await board.disconnect()


async def test_a_wrap_up_that_runs_out_is_flipped_by_an_open_wallboard(sam, alice):
    board, _, _ = await connect(sam)
    await board.receive_from(timeout=TIMEOUT)

    def wrap_up_already_over():
        past = timezone.now() - timedelta(seconds=1)
        Agent.objects.filter(pk=alice.pk).update(status="wrap_up", wrap_up_until=past)
        return rendering.render_wallboard_update(agent_id=alice.pk)

    update = await sync_to_async(wrap_up_already_over)()
    assert update[rendering.WRAP_UP_KEY]
    await get_channel_layer().group_send(
        SUPERVISORS_GROUP,
        {"type": "agent.changed", "agent_id": alice.pk, "status": "wrap_up"} | update,
    )
    await receive_with(board, 'data-status="wrap_up"')
    # The wallboard flips it (nobody's desktop is open), and the flip is pushed.
    flipped = await receive_with(board, f'id="wb-agent-{alice.pk}" class="wb-agent"')
    assert f'id="wb-agent-{alice.pk}" class="wb-agent" data-status="available"' in flipped
    await sync_to_async(alice.refresh_from_db)()
    assert alice.status == "available"
    await board.disconnect()


async def test_heartbeat_answers_with_the_server_clock(sam):
    board, _, _ = await connect(sam)
    await board.receive_from(timeout=TIMEOUT)
    await board.send_to(text_data="not json")
    await board.send_to(text_data="[" * 100_000)  # deeper than json.loads can recurse
    await board.send_json_to({"type": "ping"})
    beat = await board.receive_from(timeout=TIMEOUT)
    assert beat.startswith('<div id="heartbeat" hidden hx-swap-oob="true" data-server-now="')
    await board.disconnect()


def test_render_failures_are_logged_and_leave_the_message_alone(monkeypatch, caplog, db):
    def broken(**kwargs):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(rendering, "_render_update", broken)
    assert rendering.render_wallboard_update(call_id=1) == {}
    assert "could not render the wallboard update" in caplog.text


def test_render_wallboard_update_for_a_call_that_never_existed(db):
    make_agent(username="zed")
    update = rendering.render_wallboard_update(call_id=424242)
    assert update == {rendering.HTML_KEY: ""}  # nothing to show, and no agent to redraw
