"""HTML for the wallboard, rendered once per change and sent to every open wallboard.

`calls.publishing` calls `render_wallboard_update` once per committed change (while any
wallboard is open) and adds what it returns to the message for the `supervisors` group; the
consumers only forward it. A change re-renders only what it touched, by element id: the
call's row and the rows of the agents on it, or one agent's row; the page moves a row to its
status group. The figures are rendered apart, at most once a second per process
(`calls.wallboard.ticker`). The same partial templates draw the page, answer the action
buttons and make the pushes, so they can never disagree.

Every pushed fragment can tell a stale copy from a fresh one: a call carries its version,
agents' rows and the panels the time they were rendered (`data-rendered`, microseconds;
later renders read later committed state).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from agents.templatetags.desktop import format_seconds, iso
from calls import selectors as call_selectors
from calls.models import Call
from calls.wallboard.chart import hour_chart
from calls.wallboard.figures import Figures, wallboard_figures
from calls.wallboard.selectors import (
    AgentRow,
    Board,
    CallRow,
    StatusGroup,
    agent_rows,
    agents_shown,
    call_row,
    calls_shown,
    next_wrap_up_end_at,
    wallboard_board,
)

logger = logging.getLogger(__name__)

# Keys this module adds to the publisher's messages.
HTML_KEY = "wallboard_html"
WRAP_UP_KEY = "wallboard_next_wrap_up_end"


def rendered_stamp() -> int:
    return time.time_ns() // 1000


def _duration(seconds: int | None) -> str:
    return "" if seconds is None else format_seconds(seconds)


def _joined(parts) -> SafeString:
    # Each part is a rendered template (already escaped) or format_html output.
    return mark_safe("".join(parts))


def render_figures(*, figures: Figures, oob: bool = True, stamp: int | None = None) -> str:
    context = {
        "f": figures,
        "average_handle": _duration(figures.average_handle_seconds),
        "chart": hour_chart(hours=figures.hours, now=figures.at),
        "now": figures.at,
        "oob": oob,
        "stamp": stamp or rendered_stamp(),
    }
    return render_to_string("wallboard/_figures.html", context)


def render_agents(
    *,
    groups: tuple[StatusGroup, ...],
    at: datetime,
    next_wrap_up_end: datetime | None,
    oob: bool = True,
    error: str = "",
    error_agent_id: int | None = None,
    stamp: int | None = None,
) -> str:
    context = {
        "groups": groups,
        "now": at,
        "oob": oob,
        "error": error,
        "error_agent_id": error_agent_id,
        "stamp": stamp or rendered_stamp(),
        "next_wrap_up_end": iso(next_wrap_up_end),
        "limit": agents_shown(),
    }
    return render_to_string("wallboard/_agents.html", context)


def render_call(
    *, row: CallRow | None, call: Call, at: datetime, oob: bool = True, error: str = ""
) -> str:
    """One live call; a `delete` fragment once it has ended."""
    if row is None:
        return format_html(
            '<article id="wb-call-{}" class="wb-call" data-version="{}" data-deleted'
            ' hx-swap-oob="delete"></article>',
            call.pk,
            call.version,
        )
    return render_to_string(
        "wallboard/_call.html", {"row": row, "now": at, "oob": oob, "error": error}
    )


def _call(call_id: int) -> Call | None:
    try:
        return call_selectors.call_with_members(call_id=call_id)
    except Call.DoesNotExist:
        return None


def render_live_call(*, call_id: int, error: str = "") -> str | None:
    """The call as a button's answer (not out-of-band), or None once it has ended."""
    call = _call(call_id)
    if call is None or not call.is_live:
        return None
    return render_call(
        row=call_row(call=call), call=call, at=timezone.now(), oob=False, error=error
    )


def render_full_state(*, board: Board | None = None) -> str:
    """Everything, as out-of-band fragments: sent when a wallboard (re)connects."""
    board = board or wallboard_board()
    stamp = rendered_stamp()
    return render_to_string(
        "wallboard/_full_state.html",
        {
            "figures_html": render_figures(figures=board.figures, stamp=stamp),
            "agents_html": render_agents(
                groups=board.groups,
                at=board.at,
                next_wrap_up_end=board.next_wrap_up_end,
                stamp=stamp,
            ),
            "calls_html": _joined(
                render_call(row=row, call=row.call, at=board.at, oob=False) for row in board.calls
            ),
            "calls_limit": calls_shown(),
            "calls_hidden": board.calls_hidden,
            "now": board.at,
        },
    )


def page_context(*, board: Board | None = None) -> dict:
    """The full page's fragments (not out-of-band)."""
    board = board or wallboard_board()
    stamp = rendered_stamp()
    return {
        "board": board,
        "now": board.at,
        "figures_html": render_figures(figures=board.figures, oob=False, stamp=stamp),
        "agents_html": render_agents(
            groups=board.groups,
            at=board.at,
            next_wrap_up_end=board.next_wrap_up_end,
            oob=False,
            stamp=stamp,
        ),
        "calls_html": _joined(
            render_call(row=row, call=row.call, at=board.at, oob=False) for row in board.calls
        ),
        "calls_limit": calls_shown(),
    }


def render_agent_rows(
    *,
    rows: list[AgentRow],
    gone_ids: Iterable[int] = (),
    at: datetime,
    oob: bool = True,
    error: str = "",
    error_agent_id: int | None = None,
    stamp: int | None = None,
) -> str:
    """Agents' rows by id (the page moves each to its status group), and a `delete` fragment
    for each of `gone_ids` (agents that no longer exist)."""
    context = {
        "now": at,
        "oob": oob,
        "error": error,
        "error_agent_id": error_agent_id,
        "stamp": stamp or rendered_stamp(),
    }
    parts = [render_to_string("wallboard/_agent.html", context | {"r": row}) for row in rows]
    parts += [
        format_html(
            '<li id="wb-agent-{}" class="wb-agent" data-deleted hx-swap-oob="delete"></li>', pk
        )
        for pk in sorted(set(gone_ids))
    ]
    return "".join(parts)


def _agents_part(*, agent_ids: set[int], at: datetime, stamp: int) -> str:
    rows = agent_rows(agent_ids=agent_ids)
    gone = agent_ids - {row.agent.pk for row in rows}
    return render_agent_rows(rows=rows, gone_ids=gone, at=at, stamp=stamp)


def _render_update(*, call_id: int | None, agent_id: int | None) -> dict:
    """Only what one change touched; a fixed number of queries however many calls and agents
    are live. A call: its row (or its removal) and the rows of the agents who have a leg in
    it (5 queries). An agent: their row and when the next wrap-up ends (4 queries). The
    figures are not here: `calls.wallboard.ticker` renders them at most once a second."""
    at = timezone.now()
    # Stamped before reading, so a later stamp never carries older state.
    stamp = rendered_stamp()
    update: dict = {}
    parts = []
    agent_ids: set[int] = set()
    if call_id is not None:
        call = _call(call_id)
        if call is not None:
            row = call_row(call=call) if call.is_live else None
            parts.append(render_call(row=row, call=call, at=at))
            # Left legs too: their agents' rows drop the call.
            agent_ids |= {m.agent_id for m in call.members.all() if m.agent_id}
    if agent_id is not None:
        agent_ids.add(agent_id)
        update[WRAP_UP_KEY] = iso(next_wrap_up_end_at())
    if agent_ids:
        parts.append(_agents_part(agent_ids=agent_ids, at=at, stamp=stamp))
    update[HTML_KEY] = "".join(parts)
    return update


def render_figures_update() -> str:
    """The headline figures and the chart as one out-of-band fragment (4 queries)."""
    stamp = rendered_stamp()
    at = timezone.now()
    return render_figures(figures=wallboard_figures(at=at), stamp=stamp)


def render_wallboard_update(*, call_id: int | None = None, agent_id: int | None = None) -> dict:
    """The fields to add to one change's message for the `supervisors` group: the wallboard's
    new HTML for what the change touched (`HTML_KEY`: the call, and the rows of the agents on
    it or of the agent who changed) and, for an agent's change, when the next wrap-up ends
    (`WRAP_UP_KEY`). Call it once per change, after commit. Never raises: on failure it
    returns {} and every wallboard renders the update itself."""
    try:
        return _render_update(call_id=call_id, agent_id=agent_id)
    except Exception:
        logger.exception(
            "could not render the wallboard update (call %s, agent %s)", call_id, agent_id
        )
        return {}
