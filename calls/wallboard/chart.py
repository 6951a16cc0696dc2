"""Geometry of the calls-per-hour chart, drawn by the server as inline SVG (no chart library).

Each hour is a bar of the calls started in it; the lower, darker part is the calls in which
a customer reached an agent. The template only places what is computed here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from calls.wallboard.figures import HourBucket

WIDTH = 480
HEIGHT = 150
LEFT = 30  # room for the y-axis labels
RIGHT = 6
TOP = 10
BOTTOM = 20  # room for the hour labels
BAR_SHARE = 0.72  # of each hour's slot


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    y: float
    height: float
    reached_y: float
    reached_height: float
    label: str
    show_label: bool
    label_x: float
    title: str
    is_current: bool


@dataclass(frozen=True)
class GridLine:
    y: float
    value: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: float
    plot_right: float
    baseline: float
    bars: tuple[Bar, ...]
    grid: tuple[GridLine, ...]
    total: int
    reached: int
    busiest: str

    @property
    def top(self) -> float:
        return float(TOP)

    @property
    def plot_height(self) -> float:
        return self.baseline - TOP

    @property
    def axis_x(self) -> float:
        """Where the y-axis labels end, just left of the plot."""
        return self.plot_left - 4

    @property
    def label_y(self) -> float:
        return self.height - 5

    @property
    def summary(self) -> str:
        if not self.total:
            return "No calls yet today."
        calls = "1 call" if self.total == 1 else f"{self.total} calls"
        return f"{calls} today, {self.reached} answered by an agent; busiest hour {self.busiest}."


def _nice_ceiling(value: int) -> int:
    """The smallest of 4, 10, 20, 40, 100, 200, 400... that is at least `value`: round
    numbers whose halves are whole, and a quiet day does not draw one call full height."""
    value = max(value, 4)
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _hour_label(start: datetime) -> str:
    return f"{start:%H}"


def _range_text(start: datetime) -> str:
    end_hour = (start.hour + 1) % 24
    return f"{start:%H}:00 to {end_hour:02d}:00"


def hour_chart(*, hours: tuple[HourBucket, ...], now: datetime) -> Chart:
    """Lay out one bar per hour of the day."""
    plot_left, plot_right = float(LEFT), float(WIDTH - RIGHT)
    baseline = float(HEIGHT - BOTTOM)
    plot_height = baseline - TOP
    top = _nice_ceiling(max((h.calls for h in hours), default=0))
    slot = (plot_right - plot_left) / max(1, len(hours))
    width = slot * BAR_SHARE
    current = max((i for i, h in enumerate(hours) if h.start <= now), default=-1)
    bars = []
    for index, hour in enumerate(hours):
        height = plot_height * hour.calls / top
        reached_height = plot_height * hour.reached_agent / top
        x = plot_left + index * slot + (slot - width) / 2
        title = (
            f"{_range_text(hour.start)}: {hour.calls} call{'s' if hour.calls != 1 else ''},"
            f" {hour.reached_agent} answered by an agent"
        )
        bars.append(
            Bar(
                x=round(x, 1),
                width=round(width, 1),
                y=round(baseline - height, 1),
                height=round(height, 1),
                reached_y=round(baseline - reached_height, 1),
                reached_height=round(reached_height, 1),
                label=_hour_label(hour.start),
                # Every third hour and the current one; the others are named in their title.
                show_label=index == current or (hour.start.hour % 3 == 0 and not hour.start.minute),
                label_x=round(x + width / 2, 1),
                title=title,
                is_current=index == current,
            )
        )
    grid = tuple(
        GridLine(y=round(baseline - plot_height * value / top, 1), value=value)
        for value in (0, top // 2, top)
    )
    busiest = max(hours, key=lambda h: h.calls, default=None)
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        plot_left=plot_left,
        plot_right=plot_right,
        baseline=baseline,
        bars=tuple(bars),
        grid=grid,
        total=sum(h.calls for h in hours),
        reached=sum(h.reached_agent for h in hours),
        busiest=_range_text(busiest.start) if busiest and busiest.calls else "",
    )
