"""The wallboard's figures: rendered at most once a second per process, never on the live path.

The headline figures and the hourly chart aggregate today's calls (4 queries whose cost grows
with the day), so they are not rendered per change. Each process that holds open wallboards
has one `FiguresTicker` on its event loop: every call change its wallboards hear asks it for
a render (`request`); the first is rendered at once, later ones within the interval are
folded into one trailing render at the end of it, so the last change always shows. The
render is sent straight to this process's open wallboards (no channel-layer round trip), and
a process with no wallboard open renders nothing.

A change reaches every wallboard of the process, so each asks: a render that started after
a change was heard already shows it, and the change's key (`call.<id>.<version>`) stops the
other wallboards' copies from asking again.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from channels.db import database_sync_to_async

from calls.wallboard.rendering import render_figures_update

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0


class Board(Protocol):
    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None: ...


class FiguresTicker:
    """Leading and trailing throttle of the figures' render for one process.

    `clock` and `call_later` default to the running event loop's; tests pass their own to
    hold time still."""

    def __init__(
        self,
        *,
        interval: float = INTERVAL_SECONDS,
        clock: Callable[[], float] | None = None,
        call_later: Callable[[float, Callable[[], Any]], Any] | None = None,
        render: Callable[[], Awaitable[str]] | None = None,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._call_later = call_later
        self._render = render or database_sync_to_async(render_figures_update)
        self.boards: set[Board] = set()
        self._last_start = -math.inf
        self._timer: Any = None
        # Changes the last render that started covers, and those heard since.
        self._covered: set[str] = set()
        self._waiting: set[str] = set()
        self._tasks: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.renders = 0

    # --- who is watching -------------------------------------------------------------------

    def add(self, board: Board) -> None:
        """Call on the event loop."""
        self._follow_loop()
        self.boards.add(board)

    def discard(self, board: Board) -> None:
        self.boards.discard(board)
        if not self.boards and self._timer is not None:
            # Nobody left to show it to; a wallboard that opens gets the full state.
            self._timer.cancel()
            self._timer = None
            self._waiting.clear()

    # --- asking for a render ---------------------------------------------------------------

    def request(self, *, key: str) -> None:
        """A change (`key`) may have moved the figures. Call on the event loop."""
        self._follow_loop()
        if key in self._covered or key in self._waiting:
            return
        self._waiting.add(key)
        if self._timer is not None:
            return  # the trailing render will show it
        wait = self._last_start + self.interval - self._now()
        if wait <= 0:
            self._start()
        else:
            self._timer = self._schedule(wait, self._fire)

    @property
    def pending(self) -> bool:
        """A trailing render is scheduled."""
        return self._timer is not None

    async def drain(self) -> None:
        """Wait for the renders already started (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- internals -------------------------------------------------------------------------

    def _follow_loop(self) -> None:
        # A timer belongs to its loop; a new loop (a restarted server, each test) starts over.
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self.boards = set()
            self._last_start = -math.inf
            self._timer = None
            self._tasks = set()
            self._covered, self._waiting = set(), set()

    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def _schedule(self, delay: float, callback: Callable[[], None]) -> Any:
        if self._call_later:
            return self._call_later(delay, callback)
        return asyncio.get_running_loop().call_later(delay, callback)

    def _fire(self) -> None:
        self._timer = None
        self._start()

    def _start(self) -> None:
        self._last_start = self._now()
        self._covered, self._waiting = self._waiting, set()
        task = asyncio.ensure_future(self._render_and_send())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _render_and_send(self) -> None:
        if not self.boards:
            return
        try:
            html = await self._render()
        except Exception:
            # The next change renders again; a reconnect sends the full state.
            logger.exception("could not render the wallboard figures")
            return
        self.renders += 1
        for board in list(self.boards):
            try:
                await board.send(text_data=html)
            except Exception:
                logger.exception("could not send the figures to a wallboard")


_ticker: FiguresTicker | None = None


def figures_ticker() -> FiguresTicker:
    """This process's ticker."""
    global _ticker
    if _ticker is None:
        _ticker = FiguresTicker()
    return _ticker


def set_figures_ticker(ticker: FiguresTicker | None) -> None:
    """Replace this process's ticker (tests)."""
    global _ticker
    _ticker = ticker
