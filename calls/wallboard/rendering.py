"""HTML for the wallboard, rendered once per change and sent to every open wallboard.

`calls.publishing` calls `render_wallboard_update` once per committed change and adds what
it returns to the message for the `supervisors` group; the consumers only forward it. The
same partial templates draw the page, answer the action buttons and make the pushes, so they
can never disagree.

Every pushed fragment can tell a stale copy from a fresh one: a call carries its version,
the panels the time they were rendered (`data-rendered`, microseconds; later renders read
later committed state).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from calls import selectors as call_selectors
from calls.models import Call
from calls.wallboard.chart import hour_chart
from calls.wallboard.figures import Figures, wallboard_figures
from calls.wallboard.selectors import (
    Board,
    CallRow,
    StatusGroup,
    call_row,
    next_wrap_up_end,
    wallboard_agents,
    wallboard_board,
)

logger = logging.getLogger(__name__)

# Keys this module adds to the publisher's messages.
HTML_KEY = "wallboard_html"
WRAP_UP_KEY = "wallboard_next_wrap_up_end"


def rendered_stamp() -> int:
    return time.time_ns() // 1000


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds") if value else ""


def duration_text(seconds: int | None) -> str:
    """m:ss, or h:mm:ss from an hour up."""
    if seconds is None:
        return ""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _joined(parts) -> SafeString:
    # Each part is a rendered template (already escaped) or format_html output.
    return mark_safe("".join(parts))


def render_figures(*, figures: Figures, oob: bool = True, stamp: int | None = None) -> str:
    context = {
        "f": figures,
        "average_handle": duration_text(figures.average_handle_seconds),
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
        "next_wrap_up_end": _iso(next_wrap_up_end(groups=groups)),
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


def render_call_by_id(*, call_id: int, at: datetime | None = None) -> str:
    """The call's pushed fragment (2 queries): live, deleted, or "" if it never existed."""
    call = _call(call_id)
    if call is None:
        return ""
    row = call_row(call=call) if call.is_live else None
    return render_call(row=row, call=call, at=at or timezone.now())


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
            "agents_html": render_agents(groups=board.groups, at=board.at, stamp=stamp),
            "calls_html": _joined(
                render_call(row=row, call=row.call, at=board.at, oob=False) for row in board.calls
            ),
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
        "agents_html": render_agents(groups=board.groups, at=board.at, oob=False, stamp=stamp),
        "calls_html": _joined(
            render_call(row=row, call=row.call, at=board.at, oob=False) for row in board.calls
        ),
    }


def _render_update(*, call_id: int | None) -> dict:
    at = timezone.now()
    stamp = rendered_stamp()
    calls = call_selectors.live_calls()
    groups = wallboard_agents(calls=calls)
    parts = []
    if call_id is not None:
        row = next((call_row(call=c) for c in calls if c.pk == call_id), None)
        if row is not None:
            parts.append(render_call(row=row, call=row.call, at=at))
        else:
            parts.append(render_call_by_id(call_id=call_id, at=at))
        # The figures only move with calls.
        parts.append(render_figures(figures=wallboard_figures(at=at), stamp=stamp))
    parts.append(render_agents(groups=groups, at=at, stamp=stamp))
    return {HTML_KEY: "".join(parts), WRAP_UP_KEY: _iso(next_wrap_up_end(groups=groups))}


def render_wallboard_update(*, call_id: int | None = None, agent_id: int | None = None) -> dict:
    """The fields to add to one change's message for the `supervisors` group: the wallboard's
    new HTML (the call, the agents panel, and the figures for a call change) and when the
    next wrap-up ends. Call it once per change, after commit. Never raises: on failure it
    returns {} and every wallboard renders the update itself."""
    try:
        return _render_update(call_id=call_id)
    except Exception:
        logger.exception(
            "could not render the wallboard update (call %s, agent %s)", call_id, agent_id
        )
        return {}
