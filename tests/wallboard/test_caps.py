"""A big floor: the board lists the oldest calls and the first agents of each status, and
counts the rest (WALLBOARD_CALLS_SHOWN, WALLBOARD_AGENTS_SHOWN)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from calls.wallboard.rendering import page_context, render_full_state
from calls.wallboard.selectors import wallboard_board
from tests.factories import make_agent, make_customer
from tests.wallboard.builders import add_leg, scenario_call

pytestmark = pytest.mark.django_db


@pytest.fixture
def floor(settings):
    """Three agents on calls (started 30, 20 and 10 minutes ago), one available."""
    settings.WALLBOARD_CALLS_SHOWN = 2
    settings.WALLBOARD_AGENTS_SHOWN = 2
    now = timezone.now()
    calls = []
    for i, minutes in enumerate((30, 20, 10)):
        agent = make_agent(username=f"agent{i}", status="on_call")
        customer = make_customer(name=f"Customer {i}", phone=f"+1415555{i:04d}")
        start = now - timedelta(minutes=minutes)
        call = scenario_call(
            created_at=start, status="active", owner=agent, customer=customer, answered_at=start
        )
        add_leg(call, role="agent", agent=agent, state="talking", answered_at=start)
        add_leg(call, role="customer", customer=customer, state="talking", answered_at=start)
        calls.append(call)
    make_agent(username="spare", status="available")
    return calls


def test_the_board_keeps_the_oldest_calls_and_counts_the_rest(floor):
    board = wallboard_board()
    assert [row.call.pk for row in board.calls] == [floor[0].pk, floor[1].pk]
    assert board.figures.calls_in_progress == 3
    assert board.calls_hidden == 1


def test_each_status_lists_its_first_agents_and_counts_all(floor):
    groups = {g.status: g for g in wallboard_board().groups}
    on_call = groups["on_call"]
    assert on_call.total == 3
    assert len(on_call.agents) == 2
    assert on_call.hidden == 1
    assert groups["available"].total == 1
    assert groups["available"].hidden == 0


def test_the_page_says_how_many_more_there_are(floor):
    context = page_context()
    agents = context["agents_html"]
    assert 'data-limit="2"' in agents
    on_call = agents.split('id="wb-group-on_call"')[1].split('id="wb-group-')[0]
    assert re.search(r'class="wb-count" aria-label="3 agents">3<', on_call)
    assert len(re.findall(r'<li [^>]*class="wb-agent', on_call)) == 2
    more = re.search(
        r'<p class="muted small wb-more"( hidden)?>and <span class="wb-more-n">(\d+)', on_call
    )
    assert more is not None and more.group(1) is None and more.group(2) == "1"
    assert context["calls_limit"] == 2
    assert context["calls_html"].count('class="wb-call') == 2


def test_a_reconnecting_board_gets_the_same_caps(floor):
    html = render_full_state()
    assert html.count('<article id="wb-call-') == 2
    assert 'data-limit="2"' in html
    # The page counts calls from the figures only for a list that cannot hold them all.
    assert '<div id="wb-calls" class="wb-calls" data-limit="2" data-not-all-listed' in html
    assert 'data-agents-by-status="' in html
    by_status = re.search(r'data-agents-by-status="([^"]*)"', html).group(1)
    assert "on_call=3" in by_status.split()
    assert "available=1" in by_status.split()


def test_a_board_that_lists_every_call_says_so(floor, settings):
    settings.WALLBOARD_CALLS_SHOWN = 3
    html = render_full_state()
    assert html.count('<article id="wb-call-') == 3
    assert '<div id="wb-calls" class="wb-calls" data-limit="3" hx-swap-oob="true">' in html
