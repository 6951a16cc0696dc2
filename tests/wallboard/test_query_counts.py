"""The wallboard costs the same number of queries with 3 or 40 calls and agents."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import Agent
from calls.models import Call, Customer
from calls.wallboard.figures import wallboard_figures
from calls.wallboard.rendering import (
    page_context,
    render_full_state,
    render_wallboard_update,
)
from calls.wallboard.selectors import wallboard_board
from tests.wallboard.builders import floor

pytestmark = pytest.mark.django_db


def count(work) -> int:
    with CaptureQueriesContext(connection) as captured:
        work()
    return len(captured)


@pytest.fixture
def costs():
    """Query counts of each read at a given floor size."""

    def measure(n: int) -> dict[str, int]:
        info = floor(n)
        board = wallboard_board()
        assert len(board.calls) == n and board.agent_count == 2 * n
        return {
            "figures": count(wallboard_figures),
            "board": count(wallboard_board),
            "page": count(page_context),
            "full_state": count(render_full_state),
            "call_update": count(lambda: render_wallboard_update(call_id=info["call_id"])),
            "agent_update": count(lambda: render_wallboard_update(agent_id=info["agent_id"])),
        }

    return measure


def test_the_same_number_of_queries_at_3_and_40(costs):
    small = costs(3)
    Call.objects.all().delete()
    Agent.objects.all().delete()
    Customer.objects.all().delete()
    large = costs(40)
    assert small == large
    # And those numbers are small: the figures aggregate in SQL.
    # The figures (4), the agents in each status (1) and the queues (2).
    assert small["figures"] == 7
    # Agents (1), the calls shown (2), the shown agents' calls (2), the figures (7), the next
    # wrap-up's end (1).
    assert small["board"] == 13
    assert small["full_state"] == 13
    # One change reads only what it touched: the call (2), its agents (1) and their live
    # calls (2); an agent (1), their live calls (2) and the next wrap-up's end (1).
    assert small["call_update"] == 5
    assert small["agent_update"] == 4
