"""The calls-per-hour chart: geometry computed in Python, drawn as inline SVG."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calls.wallboard.chart import HEIGHT, TOP, hour_chart
from calls.wallboard.figures import HourBucket, wallboard_figures
from calls.wallboard.rendering import render_figures

UTC = ZoneInfo("UTC")
DAY = datetime(2030, 3, 12, tzinfo=UTC)


def hours(counts: dict[int, tuple[int, int]], n: int = 24) -> tuple[HourBucket, ...]:
    return tuple(
        HourBucket(start=DAY + timedelta(hours=h), calls=c, reached_agent=r)
        for h, (c, r) in ((h, counts.get(h, (0, 0))) for h in range(n))
    )


def test_bars_scale_to_a_round_top_and_stack_the_answered_part():
    chart = hour_chart(
        hours=hours({9: (7, 5), 10: (2, 2)}), now=DAY + timedelta(hours=10, minutes=5)
    )
    assert len(chart.bars) == 24
    assert [g.value for g in chart.grid] == [0, 5, 10]  # 7 calls: a top of 10
    plot = chart.baseline - TOP
    nine, ten = chart.bars[9], chart.bars[10]
    assert nine.height == pytest.approx(plot * 0.7, abs=0.1)
    assert nine.reached_height == pytest.approx(plot * 0.5, abs=0.1)
    assert nine.y + nine.height == pytest.approx(chart.baseline, abs=0.1)
    assert nine.title == "09:00 to 10:00: 7 calls, 5 answered by an agent"
    assert ten.is_current and not nine.is_current
    assert ten.show_label and nine.show_label and not chart.bars[10 - 2].show_label
    assert chart.summary == "9 calls today, 7 answered by an agent; busiest hour 09:00 to 10:00."


def test_a_quiet_day_does_not_draw_one_call_full_height():
    chart = hour_chart(hours=hours({3: (1, 0)}), now=DAY)
    assert [g.value for g in chart.grid] == [0, 2, 4]
    assert chart.bars[3].height == pytest.approx((chart.baseline - TOP) / 4, abs=0.1)
    assert chart.summary.startswith("1 call today")
    assert hour_chart(hours=hours({}), now=DAY).summary == "No calls yet today."


def test_bars_fit_the_plot_on_a_25_hour_day():
    chart = hour_chart(hours=hours({}, n=25), now=DAY)
    assert len(chart.bars) == 25
    last = chart.bars[-1]
    assert chart.bars[0].x >= chart.plot_left and last.x + last.width <= chart.plot_right
    assert chart.height == HEIGHT


@pytest.mark.django_db
def test_the_svg_is_drawn_whatever_the_language(settings):
    settings.LANGUAGE_CODE = "de"  # a decimal comma must not reach the SVG's numbers
    html = render_figures(figures=wallboard_figures())
    assert '<svg viewBox="0 0 480 150" role="img"' in html
    assert '<title id="wb-chart-title">Calls per hour today</title>' in html
    assert ',0"' not in html and '.0"' in html
