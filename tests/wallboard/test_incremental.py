"""A change re-renders only what it touched, the figures at most once a second per process,
and nothing at all while no wallboard is open. Through the real publisher, consumer stack and
channel layer (in memory, or Redis when REDIS_URL is set); time is held by the tests."""

from __future__ import annotations

import asyncio
import re

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls import publisher
from calls.events import CallChanged, announce
from calls.models import Call, Member
from calls.state import member_set_state
from calls.wallboard import rendering, ticker, watchers
from calls.wallboard.figures import wallboard_figures
from calls.wallboard.pushes import SUPERVISORS_GROUP
from calls.wallboard.selectors import agent_rows, wallboard_agents
from calls.wallboard.ticker import FiguresTicker, set_figures_ticker
from tests.factories import make_agent
from tests.wallboard.builders import floor
from tests.wallboard.sockets import (
    TIMEOUT,
    connect,
    goes_away,
    hang_up_everyone,
    hold_customer,
    live_call,
    receive_with,
)

ROW = re.compile(r'<li id="wb-agent-(\d+)"')
CALL = re.compile(r'<article id="wb-call-(\d+)"')


class ManualClock:
    """Time that moves only when the test says; timers fire when it passes them."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.timers: list[list] = []

    def __call__(self) -> float:
        return self.now

    def call_later(self, delay: float, callback):
        timer = Timer(self, self.now + delay, callback)
        self.timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for timer in [t for t in self.timers if t.at <= self.now and not t.cancelled]:
            self.timers.remove(timer)
            timer.callback()


class Timer:
    def __init__(self, clock: ManualClock, at: float, callback) -> None:
        self.clock, self.at, self.callback, self.cancelled = clock, at, callback, False

    def cancel(self) -> None:
        self.cancelled = True


@pytest.fixture
def clock():
    """This process's figures ticker on a manual clock (and a fresh one after the test)."""
    manual = ManualClock()
    set_figures_ticker(FiguresTicker(clock=manual, call_later=manual.call_later))
    yield manual
    set_figures_ticker(None)


def count_queries(work) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        result = work()
    return len(captured), result


# --- what one change renders -----------------------------------------------------------------


@pytest.mark.django_db
class TestOneChange:
    @pytest.mark.parametrize("n", [3, 40])
    def test_a_fixed_small_number_of_queries_however_many_calls(self, n):
        floor(n)
        call = Call.objects.filter(status="active").order_by("pk").first()
        agent = call.members.filter(agent__isnull=False).first().agent
        call_queries, call_update = count_queries(
            lambda: rendering.render_wallboard_update(call_id=call.pk)
        )
        agent_queries, agent_update = count_queries(
            lambda: rendering.render_wallboard_update(agent_id=agent.pk)
        )
        # The call with its members (2), its agents (1) and their live calls (2).
        assert call_queries == 5
        # The agent (1), their live calls (2) and the next wrap-up's end (1).
        assert agent_queries == 4
        # Only what the change touched, however many calls are live.
        html = call_update[rendering.HTML_KEY]
        assert CALL.findall(html) == [str(call.pk)]
        on_it = {m.agent_id for m in call.members.all() if m.agent_id}
        assert {int(pk) for pk in ROW.findall(html)} == on_it
        assert 'id="wb-agents"' not in html and 'id="wb-figures"' not in html
        assert rendering.WRAP_UP_KEY not in call_update
        assert ROW.findall(agent_update[rendering.HTML_KEY]) == [str(agent.pk)]
        assert agent_update[rendering.WRAP_UP_KEY]  # the floor has agents wrapping up

    def test_rows_are_the_ones_the_full_panel_draws(self):
        floor(6)
        full = {row.agent.pk: row for g in wallboard_agents() for row in g.agents}
        ids = list(full)
        rows = {row.agent.pk: row for row in agent_rows(agent_ids=ids)}
        assert rows.keys() == full.keys()
        for pk, row in rows.items():
            expected = full[pk]
            assert (row.agent.status, row.call_title, row.statuses, row.is_stuck) == (
                expected.agent.status,
                expected.call_title,
                expected.statuses,
                expected.is_stuck,
            )
            assert (row.call.pk if row.call else None) == (
                expected.call.pk if expected.call else None
            )
            # And the same HTML as in the page, but for being out-of-band and the stamp.
            one = rendering.render_agent_rows(rows=[row], at=timezone.now(), stamp=1)
            panel = rendering.render_agents(
                groups=wallboard_agents(), at=timezone.now(), next_wrap_up_end=None, stamp=1
            )
            assert _squash(one.replace(' hx-swap-oob="true"', "")) in _squash(panel)

    def test_an_ended_call_is_deleted_and_its_agents_rows_drop_it(self, alice):
        call = live_call(alice, phone="+14155550123")
        hang_up_everyone(call.pk)
        html = rendering.render_wallboard_update(call_id=call.pk)[rendering.HTML_KEY]
        assert f'<article id="wb-call-{call.pk}"' in html and 'hx-swap-oob="delete"' in html
        row = html.split(f'<li id="wb-agent-{alice.pk}"')[1]
        assert 'data-status="wrap_up"' in row and "On a call with" not in row

    def test_a_left_leg_still_updates_that_agents_row(self, alice, bob):
        call = live_call(alice, phone="+14155550123")
        leg = Member.objects.create(
            call=call, address=bob.endpoint, role="agent", agent=bob, state="talking"
        )
        with transaction.atomic():
            member_set_state(member=leg, state="left")
        html = rendering.render_wallboard_update(call_id=call.pk)[rendering.HTML_KEY]
        assert {int(pk) for pk in ROW.findall(html)} == {alice.pk, bob.pk}
        bob_row = html.split(f'<li id="wb-agent-{bob.pk}"')[1].split("</li>")[0]
        alice_row = html.split(f'<li id="wb-agent-{alice.pk}"')[1].split("</li>")[0]
        assert "On a call with" not in bob_row
        assert "On a call with Customer +14155550123" in alice_row

    def test_an_agent_who_no_longer_exists_is_removed(self, alice):
        pk = alice.pk
        alice.user.delete()
        update = rendering.render_wallboard_update(agent_id=pk)
        assert update[rendering.HTML_KEY] == (
            f'<li id="wb-agent-{pk}" class="wb-agent" data-deleted hx-swap-oob="delete"></li>'
        )
        assert update[rendering.WRAP_UP_KEY] == ""

    def test_a_call_that_never_existed_renders_nothing(self):
        assert rendering.render_wallboard_update(call_id=424242) == {rendering.HTML_KEY: ""}

    def test_the_status_button_answers_with_the_row_alone(self, sam, alice, htmx):
        from django.urls import reverse

        from tests.factories import login

        other = make_agent(username="other")
        url = reverse("wallboard:agent-status", args=[alice.pk])
        answer = login(sam).post(url, {"status": "away"}, **htmx)
        html = answer.content.decode()
        assert answer.status_code == 200
        assert ROW.findall(html) == [str(alice.pk)] and 'data-status="away"' in html
        assert f"wb-agent-{other.pk}" not in html and "hx-swap-oob" not in html
        # A refusal is shown on the row.
        answer = login(sam).post(url, {"status": "away"}, **htmx)
        assert answer.status_code == 409
        assert f'id="wb-agent-{alice.pk}-error"' in answer.content.decode()


def _live():
    from calls.selectors import live_calls

    return live_calls()


def _squash(html: str) -> str:
    return re.sub(r"\s+", " ", html).strip()


# --- no wallboard open, no render --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_db_connections")
class TestOnlyWhileOpen:
    async def test_the_count_follows_wallboards_opening_and_closing(self):
        assert not await sync_to_async(watchers.any_open)()
        await watchers.opened()
        await watchers.opened()
        assert await sync_to_async(watchers.any_open)()
        await watchers.closed()
        assert await sync_to_async(watchers.any_open)()
        await watchers.closed()
        assert not await sync_to_async(watchers.any_open)()
        # Closing more than opened (the count expired meanwhile) leaves nothing counted.
        await watchers.closed()
        assert not await sync_to_async(watchers.any_open)()

    async def test_a_count_nobody_renews_expires(self, monkeypatch):
        # As if the process holding the only open wallboard died: nobody renews the count.
        # Whole seconds: the Redis cache rounds a timeout down to them.
        monkeypatch.setattr(watchers, "FRESH_SECONDS", 1)
        await watchers.opened()
        assert await sync_to_async(watchers.any_open)()
        await asyncio.sleep(1.2)
        assert not await sync_to_async(watchers.any_open)()
        # An open wallboard renewing an expired count counts itself again.
        await watchers.still_open()
        assert await sync_to_async(watchers.any_open)()
        await watchers.closed()

    async def test_no_render_while_no_wallboard_is_open(self, sam, alice, renders, clock):
        call = await sync_to_async(live_call)(alice, phone="+14155550123")
        await sync_to_async(hold_customer)(call.pk)
        assert renders == []

        board, _, _ = await connect(sam)
        await board.receive_from(timeout=TIMEOUT)
        await sync_to_async(hang_up_everyone)(call.pk)
        push = await receive_with(board, f'id="wb-call-{call.pk}"')
        # Once for the call; Alice's move to wrap-up is an agent change of its own.
        assert renders.count({"call_id": call.pk, "agent_id": None}) == 1
        assert 'hx-swap-oob="delete"' in push
        await board.disconnect()

    async def test_a_wallboard_the_publisher_missed_renders_the_change_itself(
        self, sam, alice, monkeypatch, renders, clock
    ):
        call = await sync_to_async(live_call)(alice, phone="+14155550123")
        board, _, _ = await connect(sam)
        await board.receive_from(timeout=TIMEOUT)
        # As if it opened just after the publisher looked.
        monkeypatch.setattr(watchers, "any_open", lambda **kwargs: False)
        await sync_to_async(hold_customer)(call.pk)
        push = await receive_with(board, f'id="wb-call-{call.pk}"')
        assert "On hold" in push and f'<li id="wb-agent-{alice.pk}"' in push
        assert renders == [{"call_id": call.pk, "agent_id": None}]  # by the consumer
        await board.disconnect()

    async def test_an_agent_change_pushes_that_row_only(self, sam, alice, bob, clock):
        board, _, _ = await connect(sam)
        await board.receive_from(timeout=TIMEOUT)

        await sync_to_async(goes_away)(alice)
        push = await receive_with(board, f'<li id="wb-agent-{alice.pk}"')
        assert ROW.findall(push) == [str(alice.pk)]
        assert 'data-status="away"' in push and "Lunch" in push and 'hx-swap-oob="true"' in push
        assert 'id="wb-figures"' not in push and 'id="wb-agents"' not in push
        assert not clock.timers  # an agent's change does not move the figures
        await board.disconnect()


# --- the figures: at most once a second, and the last change always shows ------------------


class FakeBoard:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, text_data=None, bytes_data=None) -> None:
        self.sent.append(text_data)


class TestTicker:
    @pytest.fixture
    def made(self):
        manual = ManualClock()
        rendered = []

        async def render():
            rendered.append(manual.now)
            return f"figures at {manual.now}"

        tick = FiguresTicker(clock=manual, call_later=manual.call_later, render=render)
        return tick, manual, rendered

    async def test_leading_then_one_trailing_render(self, made):
        tick, clock, rendered = made
        board = FakeBoard()
        tick.add(board)
        tick.request(key="call.1.1")
        await tick.drain()
        assert rendered == [1000.0]  # at once
        for version in range(2, 12):  # a burst within the second
            clock.advance(0.0625)
            tick.request(key=f"call.1.{version}")
        await tick.drain()
        assert rendered == [1000.0] and tick.pending
        clock.advance(0.375)  # the second is over: one trailing render
        await tick.drain()
        assert rendered == [1000.0, 1001.0] and not tick.pending
        assert board.sent == ["figures at 1000.0", "figures at 1001.0"]
        # Quiet for a while: the next change renders at once again.
        clock.advance(5)
        tick.request(key="call.2.1")
        await tick.drain()
        assert rendered == [1000.0, 1001.0, 1006.0]

    async def test_each_wallboards_copy_of_a_change_asks_once(self, made):
        tick, _, rendered = made
        tick.add(FakeBoard())
        for _ in range(3):  # three wallboards in this process hear the same change
            tick.request(key="call.7.3")
        await tick.drain()
        assert rendered == [1000.0] and not tick.pending

    async def test_nobody_watching_renders_nothing(self, made):
        tick, clock, rendered = made
        board = FakeBoard()
        tick.add(board)
        tick.request(key="call.1.1")
        tick.request(key="call.1.2")
        assert tick.pending
        tick.discard(board)
        assert not tick.pending
        clock.advance(2)
        await tick.drain()
        assert len(rendered) <= 1 and board.sent == []

    async def test_a_failed_render_is_logged_and_the_next_change_renders(self, made, caplog):
        _, clock, _ = made
        calls = []

        async def flaky():
            calls.append(clock.now)
            if len(calls) == 1:
                raise RuntimeError("database away")
            return "figures"

        tick = FiguresTicker(clock=clock, call_later=clock.call_later, render=flaky)
        board = FakeBoard()
        tick.add(board)
        tick.request(key="call.1.1")
        await tick.drain()
        assert "could not render the wallboard figures" in caplog.text and board.sent == []
        clock.advance(1)
        tick.request(key="call.1.2")
        await tick.drain()
        assert board.sent == ["figures"]


def _figures_in(html: str) -> dict[str, str]:
    tiles = dict(
        re.findall(r'id="fig-([a-z-]+)">\s*<dt>[^<]*</dt>\s*<dd class="wb-num">([^<]*)</dd>', html)
    )
    summary = re.search(r'<desc id="wb-chart-desc">([^<]*)</desc>', html)
    tiles["chart"] = summary.group(1) if summary else ""
    return tiles


def _true_figures() -> dict[str, str]:
    f = wallboard_figures()
    chart = rendering.render_figures(figures=f)
    return _figures_in(chart) | {"in-progress": str(f.calls_in_progress)}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_db_connections")
class TestFiguresOnTheBoard:
    async def test_after_a_burst_the_board_ends_with_the_true_figures(self, sam, clock):
        def floor_of(n):
            calls = []
            for i in range(n):
                agent = make_agent(username=f"agent{i}", status="on_call")
                calls.append(live_call(agent, phone=f"+1415555{i:04d}"))
            return [c.pk for c in calls]

        call_ids = await sync_to_async(floor_of)(6)
        board, _, _ = await connect(sam)
        first = await board.receive_from(timeout=TIMEOUT)
        assert _figures_in(first)["in-progress"] == "6"
        tick = ticker.figures_ticker()

        # A burst of changes within one (held) second: holds, and calls ending.
        changes = [(hold_customer, call_ids[0]), (hold_customer, call_ids[1])]
        changes += [(hang_up_everyone, pk) for pk in call_ids[2:5]]
        figures_seen = []
        agent_rows_seen = 0

        async def receive_one() -> str:
            nonlocal agent_rows_seen
            text = await board.receive_from(timeout=TIMEOUT)
            if 'id="wb-figures"' in text:
                figures_seen.append(text)
            elif ROW.search(text) and not CALL.search(text):
                agent_rows_seen += 1  # an agent's own push: its status changed
            return text

        for change, call_id in changes:
            await sync_to_async(change)(call_id)
            # Up to this change's row; a render of the figures may come first.
            while f'id="wb-call-{call_id}"' not in await receive_one():
                pass
        # Each hang-up also moves its agent to wrap-up, pushed apart from the call
        # (calls.publisher) and, on Redis, still on its way through the layer when the
        # call's row has arrived: wait for all three before counting what comes next.
        while agent_rows_seen < 3:
            await receive_one()
        await publisher.current().drain()
        await tick.drain()
        assert tick.renders == 1 and tick.pending  # the first at once, the rest folded

        clock.advance(1)  # the second is over
        await tick.drain()
        assert tick.renders == 2 and not tick.pending
        while len(figures_seen) < 2:
            await receive_one()
        assert agent_rows_seen == 3
        assert await board.receive_nothing()

        last = _figures_in(figures_seen[-1])
        truth = await sync_to_async(_true_figures)()
        assert last == truth
        assert (last["in-progress"], last["on-hold"]) == ("3", "2")
        # The stamps let the page drop an older render that arrives late.
        stamps = [int(re.search(r'data-rendered="(\d+)"', t).group(1)) for t in figures_seen]
        assert stamps == sorted(stamps)
        await board.disconnect()


def test_the_publisher_asks_the_gate(monkeypatch, db, django_capture_on_commit_callbacks):
    # Heard where a wallboard hears it: the supervisors' group on the channel layer.
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(SUPERVISORS_GROUP, channel)

    def pushed() -> dict:
        return async_to_sync(asyncio.wait_for)(layer.receive(channel), timeout=TIMEOUT)

    monkeypatch.setattr(watchers, "any_open", lambda **kwargs: True)
    alice = make_agent(username="alice", status="on_call")
    call = Call.objects.create(status="active", owner=alice)
    with django_capture_on_commit_callbacks(execute=True):
        announce(CallChanged(call_id=call.pk, version=0, agent_ids=frozenset()))
    html = pushed()[rendering.HTML_KEY]
    assert f'<article id="wb-call-{call.pk}"' in html
    assert 'id="wb-figures"' not in html  # never in the change's thread
    monkeypatch.setattr(watchers, "any_open", lambda **kwargs: False)
    with django_capture_on_commit_callbacks(execute=True):
        announce(CallChanged(call_id=call.pk, version=0, agent_ids=frozenset()))
    assert rendering.HTML_KEY not in pushed()
