"""Inbound queues: a caller no agent of their queue is free for waits with music and reaches
the first of the queue's agents to become free. End to end: the simulator's inbound call
asks our routing endpoint over HTTP, rings phones, and its signed callbacks reach the real
webhook; nothing of ours is mocked."""

import asyncio
import html
import json
import re
import threading
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django import db
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import Agent
from agents.presence import agent_choose_status
from agents.rendering import render_call
from agents.selectors import call_for_desktop, call_view
from agents.services.ringing import ringing_leg_reject
from agents.services.routing import (
    inbound_offers_stranded,
    queue_exit_next_due,
    queue_exits_due,
)
from agents.templatetags.desktop import format_seconds
from calls.models import Call, Member, Queue
from calls.services import rules
from calls.services.errors import NotAllowed
from calls.services.members import member_hangup
from calls.simulator.pages import render as phones_page
from calls.wallboard.figures import today_bounds
from calls.wallboard.queues import queue_figures
from calls.wallboard.rendering import HTML_KEY, render_live_call, render_wallboard_update
from tests.factories import login, make_agent, make_call, make_customer, make_supervisor
from tests.scenarios.pages import admin_row
from tests.services.helpers import queries_until_phlo

pytestmark = pytest.mark.django_db(transaction=True)

S = Agent.Status
SALES = "+14155550000"
SUPPORT = "+14155550001"
DANA = "+14155550101"
ERIN = "+14155550102"


@pytest.fixture
def sales(app_sim):
    """A Sales queue with Alice and Bob, who answer by hand; Carol serves only Support."""
    queue = Queue.objects.create(name="Sales", number="14155550000", max_wait_seconds=120)
    support = Queue.objects.create(name="Support", number="14155550001")
    now = timezone.now()
    agents = []
    for minutes, name, queues in ((9, "alice", [queue]), (5, "bob", [queue]), (7, "carol", [])):
        agent = make_agent(username=name, endpoint=f"sip:{name}@phones.test")
        agent.queues.set(queues or [support])
        Agent.objects.filter(pk=agent.pk).update(status_changed_at=now - timedelta(minutes=minutes))
        app_sim.phones.set_mode(agent.endpoint, "manual")
        agents.append(agent)
    make_customer(name="Dana Diaz", phone=DANA)
    make_customer(name="Erin Eve", phone=ERIN)
    return queue, *agents


def away(*agents: Agent) -> None:
    for agent in agents:
        agent_choose_status(agent=agent, status=S.AWAY, reason="Meeting")


def call_from(sim, caller: str, to: str = SALES) -> Call:
    sim.inbound_call(from_=caller, to=to)
    sim.advance(0.1)
    return Call.objects.get(members__address=caller.lstrip("+"), members__role="customer")


def caller_in_simulator(sim, caller: str) -> dict:
    for conference in sim.snapshot()["conferences"]:
        for member in conference["members"]:
            if member["address"] == caller.lstrip("+") and member["state"] != "left":
                return member
    raise AssertionError(f"{caller} is on no conference")


def agent_legs(call: Call) -> dict[str, str]:
    return {m.agent.user.username: m.state for m in call.members.filter(agent__isnull=False)}


def test_a_caller_waits_with_music_and_reaches_the_first_agent_who_frees_up(app_sim, sales):
    queue, alice, bob, carol = sales
    away(alice, bob)  # Carol is free, but she does not serve Sales
    call = call_from(app_sim, DANA)

    assert (call.queue, call.owner, call.is_live) == (queue, None, True)
    assert call.members.get(role="customer").state == Member.State.WAITING
    assert caller_in_simulator(app_sim, DANA)["wait_music"] is True
    routed = app_sim.routing_requests[-1]
    assert '"result": "queue"' in routed.response and routed.reason == ""
    carol.refresh_from_db()
    assert carol.status == S.AVAILABLE and not agent_legs(call)

    agent_choose_status(agent=bob, status=S.AVAILABLE)
    app_sim.advance(0.1)
    call.refresh_from_db()
    assert call.owner == bob and agent_legs(call) == {"bob": "dialling"}
    app_sim.phones.answer(bob.endpoint)
    app_sim.advance(0.1)
    call.refresh_from_db()
    assert call.status == Call.Status.ACTIVE and call.answered_at is not None
    assert call.members.get(role="customer").state == Member.State.TALKING
    assert caller_in_simulator(app_sim, DANA)["wait_music"] is False
    assert call.waited_seconds is not None and call.waited_seconds >= 0


def test_the_caller_hears_the_queues_own_music(app_sim, sales):
    queue, alice, bob, _ = sales
    queue.wait_music_url = "https://music.example/calm.mp3"
    queue.save()
    away(alice, bob)
    call_from(app_sim, DANA)
    heard = caller_in_simulator(app_sim, DANA)
    assert (heard["wait_music"], heard["wait_music_url"]) == (True, queue.wait_music_url)
    assert "waiting, hearing https://music.example/calm.mp3" in phones_page(app_sim)


def test_a_caller_put_through_at_once_hears_the_queues_music_if_the_agent_rejects(app_sim, sales):
    """Routed straight to a free agent, the caller still hears their queue's music while
    that agent rings, and while they wait on after a reject: not the flow's default."""
    queue, alice, bob, _ = sales
    queue.wait_music_url = "https://music.example/calm.mp3"
    queue.save()
    away(bob)
    call = call_from(app_sim, DANA)
    routed = json.loads(app_sim.routing_requests[-1].response)
    assert (routed["result"], routed["agent"]) == ("agent", "alice")
    assert (routed["queue"], routed["wait_music_url"]) == ("Sales", queue.wait_music_url)
    heard = caller_in_simulator(app_sim, DANA)
    assert (heard["wait_music"], heard["wait_music_url"]) == (True, queue.wait_music_url)

    ringing_leg_reject(actor=alice.user, member_id=call.members.get(role="agent").pk)
    app_sim.advance(0.1)
    assert call.members.get(role="customer").state == Member.State.WAITING
    heard = caller_in_simulator(app_sim, DANA)
    assert (heard["wait_music"], heard["wait_music_url"]) == (True, queue.wait_music_url)
    assert "waiting, hearing https://music.example/calm.mp3" in phones_page(app_sim)


def test_one_queues_absurd_longest_wait_does_not_stop_the_other_queues_exits(app_sim, sales):
    """A value no form accepts (stored another way) is read as a day, not an overflow that
    failed every queue's exits."""
    queue, alice, bob, _ = sales
    # Past a timedelta's range on SQLite; PostgreSQL's integer column holds less, and its
    # largest must not break anything either.
    huge = 99_999_999_999 if connection.vendor == "sqlite" else 2**31 - 1
    Queue.objects.create(name="Huge", number="14155550900", max_wait_seconds=huge)
    away(alice, bob)
    call = call_from(app_sim, DANA)
    reached = call.created_at + timedelta(seconds=queue.max_wait_seconds)
    assert queue_exits_due(at=reached) == 1
    assert inbound_offers_stranded(at=reached) == 0
    app_sim.advance(0.1)
    assert call.members.get(role=Member.Role.NO_AGENT).address == "15005550007"
    assert queue_exit_next_due() is None


def test_callers_are_offered_in_arrival_order(app_sim, sales):
    _, alice, bob, _ = sales
    away(alice, bob)
    first = call_from(app_sim, DANA)
    app_sim.advance(1)
    second = call_from(app_sim, ERIN)

    agent_choose_status(agent=alice, status=S.AVAILABLE)
    app_sim.advance(0.1)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.owner, second.owner) == (alice, None)
    agent_choose_status(agent=bob, status=S.AVAILABLE)
    app_sim.advance(0.1)
    second.refresh_from_db()
    assert second.owner == bob


def test_a_free_agent_of_the_queue_gets_the_call_at_once(app_sim, sales):
    queue, alice, _, _ = sales
    call = call_from(app_sim, DANA)
    # Alice has waited longest of the queue's agents; Carol, who waited longer, is not in it.
    assert (call.queue, call.owner) == (queue, alice)
    assert agent_legs(call) == {"alice": "dialling"}


def test_a_rejected_offer_goes_to_the_next_agent_and_then_the_caller_keeps_their_place(
    app_sim, sales
):
    _, alice, bob, _ = sales
    call = call_from(app_sim, DANA)
    ringing_leg_reject(actor=alice.user, member_id=call.members.get(agent=alice).pk)
    app_sim.advance(0.1)
    call.refresh_from_db()
    assert call.owner == bob and agent_legs(call) == {"alice": "left", "bob": "dialling"}

    ringing_leg_reject(actor=bob.user, member_id=call.members.get(agent=bob).pk)
    app_sim.advance(0.1)
    call.refresh_from_db()
    # Nobody of Sales is free: no no-agent message, the caller still waits with music.
    assert call.is_live and call.owner is None
    assert not call.members.filter(role=Member.Role.NO_AGENT).exists()
    assert call.members.get(role="customer").state == Member.State.WAITING
    assert caller_in_simulator(app_sim, DANA)["wait_music"] is True

    erin = call_from(app_sim, ERIN)  # comes later: waits behind Dana
    agent_choose_status(agent=alice, status=S.AVAILABLE)  # back from "declined"
    app_sim.advance(0.1)
    call.refresh_from_db()
    erin.refresh_from_db()
    assert (call.owner, erin.owner) == (alice, None)


def test_an_agent_offered_a_caller_can_only_reject_them_until_they_answer(app_sim, sales):
    """Hanging up the caller from the ringing card ended the call as 'ended while waiting'
    with no agent ever on it: only Reject is the ringing agent's."""
    _, alice, bob, _ = sales
    call = call_from(app_sim, DANA)
    caller = call.members.get(role="customer")
    with pytest.raises(NotAllowed, match="Answer the call on your phone first"):
        member_hangup(actor=alice.user, member_id=caller.pk)
    caller.refresh_from_db()
    assert call.members.get(agent=alice).state == Member.State.DIALLING
    assert caller.state == Member.State.WAITING
    ringing_leg_reject(actor=alice.user, member_id=call.members.get(agent=alice).pk)
    app_sim.advance(0.1)
    call.refresh_from_db()
    assert call.owner == bob


def test_the_wallboard_card_of_a_caller_passed_over_shows_who_is_on_it_now(app_sim, sales):
    """Offers not taken fold away from a queued caller's card after a moment, as on the
    desktop; the header says the call rings while it is offered, then that the caller waits
    (never "Busy" rows piling up, never "Connected")."""
    _, alice, bob, _ = sales
    call = call_from(app_sim, DANA)
    assert 'class="tag tag--ringing">Ringing<' in render_live_call(call_id=call.pk)
    ringing_leg_reject(actor=alice.user, member_id=call.members.get(agent=alice).pk)
    app_sim.advance(0.1)
    ringing_leg_reject(actor=bob.user, member_id=call.members.get(agent=bob).pk)
    app_sim.advance(0.1)
    drawn_from = timezone.now()
    page = render_live_call(call_id=call.pk)
    drawn_by = timezone.now()
    assert page.count("member--leaving") == 2 and "Left the call" not in page
    assert ">Waiting for an agent<" in page
    # Each row fades when its leg has been gone LEFT_ROW_SECONDS, however late the card was
    # drawn; it is listed already, hidden, for the page to show as the row folds
    # (static/live/page.js). Timed from the legs' own ends: on a loaded machine the render
    # may come seconds after them.
    from calls.outcomes import LEFT_ROW_SECONDS

    delays = [float(d) for d in re.findall(r'style="animation-delay: ([\d.]+)s"', page)]
    ends = [call.members.get(agent=a).left_at for a in (alice, bob)]
    assert len(delays) == 2, delays
    for delay, left_at in zip(delays, ends, strict=True):
        latest = LEFT_ROW_SECONDS - (drawn_from - left_at).total_seconds()
        earliest = LEFT_ROW_SECONDS - (drawn_by - left_at).total_seconds()
        assert earliest - 0.01 <= delay <= latest + 0.01, (delays, ends, drawn_from)
    assert folded_list(page, "Not answered") == (True, 0, ["alice: declined", "bob: declined"])

    a_moment_later = timezone.now() - timedelta(seconds=6)
    call.members.filter(agent__isnull=False).update(left_at=a_moment_later)
    page = render_live_call(call_id=call.pk)
    assert "member--leaving" not in page and page.count('class="member member--') == 1
    # Offers not taken are told apart from people who were on the call and left it.
    assert folded_list(page, "Not answered") == (False, 2, [])
    assert "Left the call" not in page


def folded_list(page: str, title: str) -> tuple[bool, int, list[str]]:
    """A card's folded list called `title`: whether it is hidden, the count it shows, and
    the items listed hidden (rows still fading, shown by the page as each folds)."""
    found = re.search(
        rf'<details class="left-earlier[^"]*"( hidden)?><summary>{title}: '
        rf'<span class="fold-count">(\d+)</span></summary>(.*?)</details>',
        page,
        re.S,
    )
    assert found, f"no {title!r} list in {page}"
    soon = re.findall(r"<li hidden data-unfold=\"\d+\">([^<]*)</li>", found.group(3))
    return bool(found.group(1)), int(found.group(2)), soon


def test_the_boards_row_of_an_agent_offered_a_caller_says_ringing_until_she_answers(app_sim, sales):
    """Alice is "On a call" from the moment Dana is offered to her (routing reserves her),
    but the wallboard's row says her phone only rings until she answers it."""
    _, alice, bob, _ = sales
    away(bob)
    call = call_from(app_sim, DANA)

    def alices_row() -> str:
        update = render_wallboard_update(call_id=call.pk)[HTML_KEY]
        return update.split(f'<li id="wb-agent-{alice.pk}"')[1].split("</li>")[0]

    assert ">Ringing: Dana Diaz</a>" in alices_row()
    app_sim.phones.answer(alice.endpoint)
    app_sim.advance(1)
    assert ">On a call with Dana Diaz</a>" in alices_row()


def test_a_reject_on_the_agents_handset_reads_declined_as_one_from_the_desktop(app_sim, sales):
    """The provider reports a reject on the handset as busy: the wallboard's card and Bob's
    offer say Declined, as for a reject from the desktop and as Alice's status says."""
    _, alice, bob, _ = sales
    call = call_from(app_sim, DANA)
    app_sim.phones.reject(alice.endpoint)
    app_sim.advance(0.1)
    leg = call.members.get(agent=alice)
    alice.refresh_from_db()
    assert (leg.state, alice.status_reason) == (Member.State.BUSY, "Declined a call")
    page = render_live_call(call_id=call.pk)
    assert "Declined" in page and "Busy" not in page
    full = call_for_desktop(call_id=call.pk)
    assert "Declined" in render_call(view=call_view(call=full, agent=bob), call=full)


def test_the_agent_who_takes_a_caller_sees_the_offers_before_as_not_answered(app_sim, sales):
    """Bob declined Dana, then Alice took her: Alice's card folds Bob's offer away as not
    answered, not as someone who left the call."""
    _, alice, bob, _ = sales
    away(alice)
    call = call_from(app_sim, DANA)
    ringing_leg_reject(actor=bob.user, member_id=call.members.get(agent=bob).pk)
    app_sim.advance(0.1)
    agent_choose_status(agent=alice, status=S.AVAILABLE)
    app_sim.advance(0.1)
    app_sim.phones.answer(alice.endpoint)
    app_sim.advance(3)
    call.members.filter(agent=bob).update(left_at=timezone.now() - timedelta(seconds=6))
    full = call_for_desktop(call_id=call.pk)
    card = render_call(view=call_view(call=full, agent=alice), call=full)
    assert folded_list(card, "Not answered") == (False, 1, [])
    assert ">bob: declined</li>" in card
    assert "Left the call" not in card
    # The card keeps which queue the caller came from and how long they waited.
    call.refresh_from_db()
    waited = f"Sales queue, waited {format_seconds(call.waited_seconds)}"
    assert waited in card
    app_sim.phones.hangup(DANA.lstrip("+"))
    app_sim.advance(0.1)
    full = call_for_desktop(call_id=call.pk)
    ended = render_call(view=call_view(call=full, agent=alice), call=full)
    assert "Ended" in ended and waited in ended
    # Ended, the card keeps Bob's offer folded away as it was (it came back as a full row,
    # and the card grew as the call ended: a review saw it).
    bobs_leg = call.members.get(agent=bob)
    assert f'id="member-{bobs_leg.pk}"' not in ended
    assert folded_list(ended, "Not answered") == (False, 1, [])
    assert ">bob: declined</li>" in ended


def test_a_caller_who_hangs_up_while_waiting_is_counted_as_abandoned(app_sim, sales):
    _, alice, bob, _ = sales
    away(alice, bob)
    call = call_from(app_sim, DANA)
    app_sim.advance(12)
    app_sim.phones.hangup(DANA.lstrip("+"))
    app_sim.advance(0.1)
    call.refresh_from_db()
    assert (call.is_live, call.outcome, call.answered_at) == (False, "abandoned", None)
    assert call.waited_seconds is not None and call.waited_seconds >= 0
    agent_choose_status(agent=alice, status=S.AVAILABLE)
    app_sim.advance(0.1)
    assert not call.members.filter(agent__isnull=False).exists()  # nobody is offered a ghost


def test_a_caller_a_supervisor_takes_out_of_the_queue_is_counted_sent_on(app_sim, sales):
    """A supervisor hangs up a waiting caller from the wallboard: the caller did not abandon,
    nobody was free: the call says it was ended while waiting, and the queue's figures
    count it (sent on) so that they still add up."""
    queue, alice, bob, _ = sales
    away(alice, bob)
    call = call_from(app_sim, DANA)
    app_sim.advance(3)
    assert "Waiting for an agent" in admin_row(call)
    # The wallboard's Hang up says what it does: the call ends, and counts as sent on.
    question = "who is waiting for an agent? Their call ends, and the queue counts them as sent on."
    assert question in html.unescape(render_live_call(call_id=call.pk))
    boss = make_supervisor(username="sam")
    member_hangup(actor=boss, member_id=call.members.get(role="customer").pk)
    app_sim.advance(0.1)
    call.refresh_from_db()
    assert (call.is_live, call.outcome) == (False, Call.Outcome.ENDED_WHILE_WAITING)
    assert call.taken_by_no_agent and "Ended while waiting" in admin_row(call)
    start, end = today_bounds(at=timezone.now())
    [figures] = [f for f in queue_figures(start=start, end=end) if f.queue_id == queue.pk]
    assert (figures.waiting, figures.answered, figures.abandoned, figures.sent_on) == (0, 0, 0, 1)
    assert figures.service_level == 0
    agent_choose_status(agent=alice, status=S.AVAILABLE)
    app_sim.advance(0.1)
    assert not call.members.filter(agent__isnull=False).exists()  # nobody is offered a ghost


def test_at_the_longest_wait_the_caller_takes_the_queues_exit(app_sim, sales):
    queue, alice, bob, _ = sales
    away(alice, bob)
    call = call_from(app_sim, DANA)
    soon = timezone.now() + timedelta(seconds=30)
    assert inbound_offers_stranded(at=soon) == 0  # still within the longest wait
    assert not call.members.filter(role=Member.Role.NO_AGENT).exists()

    later = call.created_at + timedelta(seconds=queue.max_wait_seconds + 1)
    assert inbound_offers_stranded(at=later) == 1
    app_sim.advance(0.1)
    stand_in = call.members.get(role=Member.Role.NO_AGENT)
    # The queue's exit is voicemail (the default), whatever the site-wide no-agent outcome.
    assert stand_in.address == "15005550007"
    # The voicemail answered the call, but no agent did: the wallboard counts it sent on.
    app_sim.advance(2)
    call.refresh_from_db()
    assert call.answered_at is not None
    # Nobody to hold the caller from, and a recording is not held: a supervisor may only
    # hang either up.
    members = list(call.members.all())
    buttons = {
        m.role: rules.member_actions(
            call=call, member=m, actor_agent=None, supervisor=True, members=members
        )
        for m in members
    }
    assert buttons == {"customer": {"hangup"}, "no_agent": {"hangup"}}
    page = render_live_call(call_id=call.pk)
    # Its number once, not as a name and again as its address.
    assert ">Voicemail<" in page
    assert '<span class="m-name">+15005550007</span></th>' in page
    start, end = today_bounds(at=timezone.now())
    [figures] = [f for f in queue_figures(start=start, end=end) if f.queue_id == queue.pk]
    assert (figures.answered, figures.sent_on, figures.abandoned) == (0, 1, 0)
    assert (figures.service_level, figures.average_speed_of_answer) == (0, None)


def test_a_caller_who_hangs_up_while_the_exit_rings_is_abandoned_not_sent_on(app_sim, sales):
    """Review 2026-12-07: Dana hung up in the two seconds before the queue's voicemail
    answered. The call is abandoned (as its outcome and the admin say); the queue counted it
    sent on as well, so the service level's denominator held it twice."""
    queue, alice, bob, _ = sales
    away(alice, bob)
    call = call_from(app_sim, DANA)
    later = call.created_at + timedelta(seconds=queue.max_wait_seconds + 1)
    assert inbound_offers_stranded(at=later) == 1
    app_sim.advance(0.1)
    assert call.members.get(role=Member.Role.NO_AGENT).state == Member.State.DIALLING
    app_sim.phones.hangup(DANA.lstrip("+"))
    app_sim.advance(3)
    call.refresh_from_db()
    assert (call.is_live, call.outcome) == (False, Call.Outcome.ABANDONED)
    start, end = today_bounds(at=timezone.now())
    [figures] = [f for f in queue_figures(start=start, end=end) if f.queue_id == queue.pk]
    assert (figures.answered, figures.abandoned, figures.sent_on) == (0, 1, 0)
    assert figures.service_level == 0


def test_the_exit_comes_on_time_not_at_the_next_sweep(app_sim, sales):
    """The heartbeats' frequent check (`queue_exits_due`) gives the exit at the longest wait
    itself; before it, nothing."""
    queue, alice, bob, _ = sales
    away(alice, bob)
    call = call_from(app_sim, DANA)
    reached = call.created_at + timedelta(seconds=queue.max_wait_seconds)
    assert queue_exits_due(at=reached - timedelta(seconds=1)) == 0
    assert not call.members.filter(role=Member.Role.NO_AGENT).exists()
    assert queue_exits_due(at=reached) == 1
    app_sim.advance(0.1)
    assert call.members.get(role=Member.Role.NO_AGENT).address == "15005550007"
    assert queue_exits_due(at=reached + timedelta(seconds=5)) == 0  # given once


def queued_rows(queue: Queue, count: int, *, waited: int, first: int = 0) -> None:
    """`count` callers waiting in `queue` for `waited` seconds, as rows (no simulator)."""
    since = timezone.now() - timedelta(seconds=waited)
    for k in range(first, first + count):
        customer = make_customer(name=f"Caller {k}", phone=f"+1415556{k:04d}")
        call = make_call(
            customer=customer,
            status=Call.Status.DIALLING,
            direction=Call.Direction.INBOUND,
            created_at=since,
            queue=queue,
        )
        Member.objects.create(
            call=call,
            address=customer.phone.lstrip("+"),
            role=Member.Role.CUSTOMER,
            customer=customer,
            state=Member.State.WAITING,
            created_at=since,
            answered_at=since,  # on the call, hearing the music
            state_changed_at=since,
        )


def test_a_sweep_with_callers_waiting_and_nobody_free_costs_the_same_for_3_or_60(sales):
    """Housekeeping's sweep tries a queued caller only when something can come of it (an
    agent of the queue free, or the longest wait reached): with nobody free it reads the
    same few rows however many wait, where it used to try each caller in turn."""
    queue, alice, bob, _ = sales
    away(alice, bob)
    costs = []
    for first, count in ((0, 3), (3, 60)):
        queued_rows(
            queue, count, waited=60, first=first
        )  # past STRANDED_AFTER, within the longest wait
        with CaptureQueriesContext(connection) as sweep:
            assert inbound_offers_stranded() == 0
        with CaptureQueriesContext(connection) as exits:
            assert queue_exits_due() == 0
        costs.append((len(sweep), len(exits)))
    assert costs[0] == costs[1] == (3, 2), costs


def test_a_retried_routing_request_for_a_queued_caller_is_answered_the_same(
    app_sim, sales, client, settings
):
    _, alice, bob, _ = sales
    away(alice, bob)
    call = call_from(app_sim, DANA)
    uuid = call.members.get(role="customer").call_uuid
    answer = client.post(
        "/routing/inbound/",
        {"call_uuid": uuid, "from": DANA, "to": SALES, "direction": "inbound"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {settings.ROUTING_API_TOKEN}"},
    )
    assert answer.status_code == 200, answer.content
    assert answer.json() | {"call_id": 0} == {
        "result": "queue",
        "queue": "Sales",
        "wait_music_url": "",
        "call_id": 0,
    }
    assert Call.objects.count() == 1


def test_with_no_queue_a_caller_nobody_is_free_for_hears_the_no_agent_message(app_sim):
    alice = make_agent(username="alice", endpoint="sip:alice@phones.test")
    away(alice)
    app_sim.inbound_call(from_=DANA, to=SALES)
    app_sim.advance(0.1)
    call = Call.objects.get()
    assert (call.queue, call.status, call.outcome) == (None, "failed", "no_agent")


def test_an_agent_free_without_saying_so_is_offered_too_when_another_comes_on(app_sim, sales):
    """Bob's wrap-up ran out with no desktop open to end it: he counts as free, but nothing
    announced it. When Alice comes on, both waiting callers are offered: the first to Bob,
    who has waited longer, the next to Alice. (One offer per event left Alice idle.)"""
    _, alice, bob, _ = sales
    away(alice, bob)
    dana = call_from(app_sim, DANA)
    app_sim.advance(1)
    erin = call_from(app_sim, ERIN)
    ran_out = timezone.now() - timedelta(minutes=2)
    Agent.objects.filter(pk=bob.pk).update(
        status=S.WRAP_UP, wrap_up_until=ran_out, status_changed_at=ran_out - timedelta(minutes=1)
    )
    agent_choose_status(agent=alice, status=S.AVAILABLE)
    app_sim.advance(0.1)
    dana.refresh_from_db()
    erin.refresh_from_db()
    assert (dana.owner, erin.owner) == (bob, alice)


def test_an_offer_goes_on_to_the_next_caller_rather_than_wait_for_one_held_elsewhere(
    app_sim, sales
):
    """When agents come free together, each offer goes to a caller no other transaction
    holds, instead of queueing behind another agent's offer of the same caller. Here another
    transaction holds Dana's call while Alice comes on: Alice is offered Erin at once, and
    Dana, who keeps her place, goes to the next agent free."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (DATABASE_URL): the test holds a row lock from another"
            " connection; SQLite serialises writers"
        )
    _, alice, bob, _ = sales
    away(alice, bob)
    dana = call_from(app_sim, DANA)
    app_sim.advance(1)
    erin = call_from(app_sim, ERIN)
    held, release = threading.Event(), threading.Event()

    def hold_danas_call() -> None:
        try:
            with transaction.atomic():
                Call.objects.select_for_update().get(pk=dana.pk)
                held.set()
                release.wait(10)  # the test's end releases it; 10 s only if the test fails
        finally:
            db.connections.close_all()

    holder = threading.Thread(target=hold_danas_call)
    holder.start()
    try:
        assert held.wait(10), "the other transaction never took the call"
        agent_choose_status(agent=alice, status=S.AVAILABLE)
    finally:
        release.set()
        holder.join()
    app_sim.advance(0.1)
    dana.refresh_from_db()
    erin.refresh_from_db()
    assert (dana.owner, erin.owner) == (None, alice)
    assert dana.members.get(role="customer").state == Member.State.WAITING

    agent_choose_status(agent=bob, status=S.AVAILABLE)
    app_sim.advance(0.1)
    dana.refresh_from_db()
    assert dana.owner == bob and agent_legs(dana) == {"bob": "dialling"}


# What an agent's Available press costs before the offer's PHLO request leaves, with a caller
# waiting (issue 14's offer latency). 14 on the way (16 before the session and the user came
# from the cache, agents.signed_in; the agent comes from the cached profile): the status
# change (its transaction, the agent locked, the UPDATE); the queue's longest waiter; the
# offer's transaction: the call locked with its queue, its members, the free agent locked
# (with the user) and reserved, the leg and the action inserted, the call saved, which also
# claims it. Then 4 that only a test pays: with no server loop, the pushes of the offer's
# commit are rendered in place (under ASGI they go to the loop's workers,
# `calls.publisher`). Was 23 + 6: the agent read twice, the queue read on its own, the agent
# read again after reserving, a separate claim, the members read again, and presence asked
# about an agent routing had just put on the call.
# Then 15: is the caller's number live in another call (calls.services.addressing).
PRESS_TO_OFFER = 15 + 4


def test_queries_from_an_available_press_to_the_offer(app_sim, sales, htmx):
    _, alice, bob, _ = sales
    away(alice)
    client = login(bob)
    # Bob goes Away from his desktop, which caches his profile, as for an agent at work.
    client.post("/desktop/status/", {"status": "away", "reason": "Meeting"}, **htmx)
    call = call_from(app_sim, DANA)
    press = lambda: client.post("/desktop/status/", {"status": "available"}, **htmx)  # noqa: E731
    response, sql = queries_until_phlo(app_sim, press)
    assert response.status_code == 200
    call.refresh_from_db()
    assert call.owner == bob and agent_legs(call) == {"bob": "dialling"}
    assert len(sql) == PRESS_TO_OFFER, "\n".join(sql)


@pytest.mark.usefixtures("close_db_connections")
async def test_a_desktops_heartbeat_gives_a_caller_who_waited_the_longest_their_exit(
    app_sim, sales, monkeypatch
):
    """The exit on time comes from the desktops' heartbeats (`agents.heartbeats`): one open
    desktop's ping gives it to a caller who has waited the queue's longest wait."""
    from agents import heartbeats
    from agents.live import Throttle
    from calls.services import housekeeping
    from tests.desktop.test_consumer import close, connect, receive

    queue, alice, bob, carol = sales
    await sync_to_async(away)(alice, bob)
    await sync_to_async(queued_rows)(queue, 1, waited=queue.max_wait_seconds + 1)
    monkeypatch.setattr(heartbeats, "due_soon", Throttle(0))  # due at every ping
    # Housekeeping's 30 s sweep, which would give it too, is not due: the exit is the check's.
    monkeypatch.setattr(housekeeping, "_next_run", float("inf"))
    socket, _, _ = await connect(carol.user)  # Carol serves another queue: any desktop will do
    await receive(socket)
    await socket.send_to(text_data=json.dumps({"type": "ping"}))
    assert 'id="heartbeat"' in await receive(socket)
    await close(socket)
    call = await Call.objects.aget(queue=queue)
    exit_leg = await call.members.filter(role=Member.Role.NO_AGENT).afirst()
    assert exit_leg is not None and exit_leg.address == "15005550007"


@pytest.mark.usefixtures("close_db_connections")
async def test_another_agents_desktop_ends_a_wrap_up_run_out_while_the_agents_was_closed(
    app_sim, sales, monkeypatch
):
    """Alice's wrap-up ran out while her desktop was closed (and no wallboard was open to
    time it). The next heartbeat of any open desktop (here Carol's) ends it
    (`agents.heartbeats`): she is Available, and routable, within seconds rather than at
    the next sweep."""
    from agents import heartbeats
    from agents.live import Throttle
    from calls.services import housekeeping
    from tests.desktop.test_consumer import close, connect, receive

    _, alice, _, carol = sales
    ran_out = timezone.now() - timedelta(seconds=1)
    await Agent.objects.filter(pk=alice.pk).aupdate(status=S.WRAP_UP, wrap_up_until=ran_out)
    monkeypatch.setattr(heartbeats, "due_soon", Throttle(0))  # due at every ping
    monkeypatch.setattr(housekeeping, "_next_run", float("inf"))
    socket, _, _ = await connect(carol.user)
    await receive(socket)
    assert (await Agent.objects.aget(pk=alice.pk)).status == S.WRAP_UP  # Carol's own page
    await socket.send_to(text_data=json.dumps({"type": "ping"}))
    assert 'id="heartbeat"' in await receive(socket)
    await close(socket)
    assert (await Agent.objects.aget(pk=alice.pk)).status == S.AVAILABLE


@pytest.mark.usefixtures("close_db_connections")
async def test_a_wallboards_heartbeat_gives_a_caller_who_waited_the_longest_their_exit(
    app_sim, sales, monkeypatch
):
    """With every desktop closed, an open wallboard keeps the queues' time: its heartbeat
    gives a caller who has waited the queue's longest wait the exit."""
    from agents import heartbeats
    from agents.live import Throttle
    from calls.services import housekeeping
    from tests.desktop.test_consumer import close
    from tests.factories import make_supervisor
    from tests.wallboard.sockets import connect

    queue, alice, bob, _ = sales
    await sync_to_async(away)(alice, bob)
    await sync_to_async(queued_rows)(queue, 1, waited=queue.max_wait_seconds + 1)
    monkeypatch.setattr(heartbeats, "due_soon", Throttle(0))  # due at every ping
    monkeypatch.setattr(housekeeping, "_next_run", float("inf"))
    sam = await sync_to_async(make_supervisor)(username="sam")
    socket, _, _ = await connect(sam)
    await socket.receive_from(timeout=5)
    await socket.send_to(text_data=json.dumps({"type": "ping"}))
    while "data-server-now" not in await socket.receive_from(timeout=5):
        pass
    await close(socket)
    call = await Call.objects.aget(queue=queue)
    exit_leg = await call.members.filter(role=Member.Role.NO_AGENT).afirst()
    assert exit_leg is not None and exit_leg.address == "15005550007"


def test_the_next_exit_is_due_when_a_queues_first_caller_reaches_its_longest_wait(sales):
    queue, alice, bob, _ = sales
    away(alice, bob)
    assert queue_exit_next_due() is None
    support = Queue.objects.get(name="Support")
    Queue.objects.filter(pk=support.pk).update(max_wait_seconds=30)
    queued_rows(queue, 2, waited=100)
    queued_rows(support, 1, waited=20, first=2)
    first = Call.objects.filter(queue=support).get().created_at
    assert queue_exit_next_due() == first + timedelta(seconds=30)
    queued_rows(queue, 1, waited=119, first=3)
    arrived = Call.objects.filter(queue=queue).order_by("created_at").first().created_at
    assert queue_exit_next_due() == arrived + timedelta(seconds=120)


@pytest.mark.usefixtures("close_db_connections")
async def test_a_caller_takes_the_exit_at_their_second_not_at_the_next_heartbeat(
    app_sim, sales, monkeypatch
):
    """A caller is due their queue's exit in a second. The desktops' check, one ping, sets
    the process's timer for that second (agents.heartbeats.exit_timer): the exit comes
    then, with no other ping, where it used to wait for the check after it (2-6 s late)."""
    from agents import heartbeats
    from agents.live import Throttle
    from calls.services import housekeeping
    from tests.desktop.test_consumer import close, connect, receive

    queue, alice, bob, carol = sales
    await sync_to_async(away)(alice, bob)
    await sync_to_async(queued_rows)(queue, 1, waited=queue.max_wait_seconds - 1)
    monkeypatch.setattr(heartbeats, "due_soon", Throttle(0))
    monkeypatch.setattr(housekeeping, "_next_run", float("inf"))
    call = await Call.objects.aget(queue=queue)
    due = call.created_at + timedelta(seconds=queue.max_wait_seconds)
    socket, _, _ = await connect(carol.user)
    await receive(socket)
    await socket.send_to(text_data=json.dumps({"type": "ping"}))
    assert 'id="heartbeat"' in await receive(socket)
    exits = Member.objects.filter(call=call, role=Member.Role.NO_AGENT)
    assert not await exits.aexists()  # not due yet: kept their place
    while timezone.now() < due + timedelta(seconds=2) and not await exits.aexists():
        await asyncio.sleep(0.05)
    exit_leg = await exits.afirst()
    await close(socket)
    assert exit_leg is not None and exit_leg.address == "15005550007"
    assert due <= exit_leg.created_at < due + timedelta(seconds=0.5)


def test_a_free_agent_put_on_a_queue_is_offered_its_waiting_caller_at_once(app_sim, sales):
    """A supervisor adds Carol, who is Available, to Sales, where Dana waits with nobody
    free: Carol is offered Dana at once, not at the next housekeeping sweep."""
    queue, alice, bob, carol = sales
    away(alice, bob)
    call = call_from(app_sim, DANA)
    assert not call.members.filter(agent__isnull=False).exists()
    carol.refresh_from_db()
    assert carol.status == S.AVAILABLE
    with transaction.atomic():  # as the admin saves it
        carol.queues.add(queue)
    app_sim.advance(0.1)
    call.refresh_from_db()
    assert call.owner == carol and agent_legs(call) == {"carol": "dialling"}


def test_an_agent_offered_a_caller_cannot_hang_up_her_own_ring_only_reject_it(app_sim, sales):
    """Alice's own ringing row offered Hang up: it ended her ring without saying she
    declined, she stayed Available and was offered the caller again while the provider's
    word on her first ring was on its way; that word ended the new ring in our records
    while her phone still rang, and every offer after was refused ("already in this call")."""
    _, alice, bob, _ = sales
    away(bob)
    call = call_from(app_sim, DANA)
    ring = call.members.get(agent=alice)
    assert (
        rules.member_actions(call=call, member=ring, actor_agent=alice, supervisor=False) == set()
    )
    with pytest.raises(NotAllowed, match="you can only reject it"):
        member_hangup(actor=alice.user, member_id=ring.pk)
    ring.refresh_from_db()
    assert ring.state == Member.State.DIALLING


def test_a_supervisor_who_hangs_up_an_agents_ringing_offer_sends_the_caller_on(app_sim, sales):
    """Sam stops Dana ringing on Alice's phone: Alice is Away, saying why, and is not offered
    Dana again; Dana waits for the next agent of the queue, and Bob, free, gets her. Every
    leg in our records is as the provider has it."""
    _, alice, bob, _ = sales
    away(bob)
    sam = make_supervisor(username="sam")
    call = call_from(app_sim, DANA)
    # The wallboard's Hang up on her ring says what it does to her before it does it.
    page = html.unescape(render_live_call(call_id=call.pk))
    assert (
        'hx-confirm="Stop the ring to alice? They will be set Away (Offered call withdrawn)'
        ' and not offered this call again."'
    ) in page
    assert (
        'hx-confirm="Hang up Dana Diaz, who is waiting for an agent? Their call ends, and the'
        ' queue counts them as sent on."'
    ) in page
    member_hangup(actor=sam, member_id=call.members.get(agent=alice).pk)
    app_sim.advance(1)
    alice.refresh_from_db()
    assert (alice.status, alice.status_reason) == (S.AWAY, "Offered call withdrawn")
    assert agent_legs(call) == {"alice": "left"}
    assert call.members.get(role="customer").state == Member.State.WAITING
    agent_choose_status(agent=bob, status=S.AVAILABLE)
    app_sim.advance(0.5)
    call.refresh_from_db()
    assert call.owner == bob and agent_legs(call) == {"alice": "left", "bob": "dialling"}
    ringing = [
        m["address"]
        for c in app_sim.snapshot()["conferences"]
        for m in c["members"]
        if m["state"] == "ringing"
    ]
    assert ringing == [bob.endpoint]


def test_a_late_word_on_a_declined_ring_does_not_end_the_next_ring_of_the_same_phone(
    app_sim, sales
):
    """Alice declines Dana and is Available again before the provider's word on that ring
    has come: Dana is offered to her again, and that word, when it comes, is about the ring
    she declined, not the one now ringing (which every page then showed as gone while her
    phone rang, and each offer after was refused: 'already in this call')."""
    _, alice, bob, _ = sales
    away(bob)
    call = call_from(app_sim, DANA)
    ringing_leg_reject(actor=alice.user, member_id=call.members.get(agent=alice).pk)
    agent_choose_status(agent=alice, status=S.AVAILABLE)  # before the exit is delivered
    app_sim.advance(1)
    call.refresh_from_db()
    legs = list(call.members.filter(agent=alice).order_by("pk"))
    assert [(m.state, m.end_cause) for m in legs] == [
        (Member.State.LEFT, Member.EndCause.DECLINED),
        (Member.State.DIALLING, ""),
    ]
    ringing = [
        m["address"]
        for c in app_sim.snapshot()["conferences"]
        for m in c["members"]
        if m["state"] == "ringing"
    ]
    assert ringing == [alice.endpoint]
    app_sim.phones.answer(alice.endpoint)
    app_sim.advance(1)
    call.refresh_from_db()
    assert call.answered_at is not None and call.owner == alice
    assert call.members.get(role="customer").state == Member.State.TALKING


@pytest.mark.parametrize("stopped_by", ["supervisor", "abort"])
def test_a_transfer_ring_withdrawn_by_a_supervisor_or_aborted(app_sim, sales, stopped_by):
    """Alice, talking with Dana, warm-transfers to Bob, whose phone rings. Sam stopping
    that ring puts Bob Away as for a queue offer (he was left Available); Alice aborting her
    own transfer is nothing Bob did, and leaves him Available."""
    from calls.services import buttons

    _, alice, bob, _ = sales
    app_sim.phones.set_mode(alice.endpoint, "auto")
    call = buttons.call_start(actor=alice.user, to=DANA)
    app_sim.advance(3)
    buttons.transfer_warm_start(actor=alice.user, call_id=call.pk, to=bob.endpoint)
    app_sim.advance(0.2)
    ring = call.members.get(agent=bob)
    assert ring.state == Member.State.DIALLING
    if stopped_by == "supervisor":
        member_hangup(actor=make_supervisor(username="sam"), member_id=ring.pk)
    else:
        buttons.transfer_abort(actor=alice.user, call_id=call.pk)
    app_sim.advance(0.5)
    bob.refresh_from_db()
    expected = (
        (S.AWAY, "Offered call withdrawn") if stopped_by == "supervisor" else (S.AVAILABLE, "")
    )
    assert (bob.status, bob.status_reason) == expected
