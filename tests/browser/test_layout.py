"""The look holds at the widths agents and supervisors use (issue 12, item 8): geometry read
from the real pages in headless Chromium, at 1366x768 and 1024x768 (and the desktop at
1280x720), while real calls change them.
"""

from __future__ import annotations

import pytest

from tests.browser_pages import expect, wait_until

pytestmark = pytest.mark.browser

DESKTOP_SIZES = [(1366, 768), (1280, 720), (1024, 768)]
# Wide enough for the top bar's one row (below this the status gets a row of its own).
ONE_ROW_FROM = 1201
WALLBOARD_SIZES = [(1366, 768), (1024, 768), (1480, 1040)]
SLACK = 0.5  # px: boxes are fractional


def go_available(page) -> None:
    page.locator("#agent-status").get_by_role("button", name="Available", exact=True).click()
    expect()(page.locator("#agent-status .status-label")).to_have_text("Available")


def customer_row(card):
    return card.locator("tr.member[data-role=customer]")


def call_dana(page):
    page.get_by_label("Customer, number or SIP address").fill("Dana")
    page.get_by_role("button", name="Dana Diaz").click()
    page.get_by_role("button", name="Call", exact=True).click()
    card = page.locator("article.call", has_text="Dana Diaz")
    expect()(customer_row(card).locator(".m-state")).to_have_text("Talking")
    return card


def end_the_call(page, card) -> None:
    """Hang up the customer: the call ends with its last customer, and the agent goes to
    wrap-up (a Hang up on her own leg would race the call's end, so none is pressed)."""
    customer_row(card).get_by_role("button", name="Hang up").click()
    expect()(page.locator("#agent-status .status-label", has_text="Wrap-up")).to_be_visible()


def box_of(locator) -> dict:
    """The element's box; a live push may be swapping it in at that moment, so wait for it."""
    found: dict = {}

    def measured() -> bool:
        found["box"] = locator.bounding_box()
        return found["box"] is not None

    wait_until(measured)
    return found["box"]


def resize(page, size: tuple[int, int]) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def inside(inner: dict, outer: dict) -> bool:
    return (
        inner["x"] >= outer["x"] - SLACK
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + SLACK
        and inner["y"] >= outer["y"] - SLACK
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + SLACK
    )


def middle(box: dict) -> float:
    return box["y"] + box["height"] / 2


# --- the desktop's top bar -------------------------------------------------------------------


def test_the_desktop_top_bar_keeps_one_height_through_a_call_and_wrap_up(desktop, sim):
    alice = desktop("alice")
    bar = alice.locator("header.topbar")
    status = alice.locator("#agent-status")
    heights: dict[tuple[int, int], dict[str, float]] = {size: {} for size in DESKTOP_SIZES}

    def measure(state: str) -> None:
        for size in DESKTOP_SIZES:
            resize(alice, size)
            bar_box = box_of(bar)
            heights[size][state] = bar_box["height"]
            assert inside(box_of(status), bar_box), (state, size)
            if size[0] >= ONE_ROW_FROM:
                # One row: the status sits level with the bar's other end.
                end = box_of(alice.locator(".topbar-end"))
                assert abs(middle(box_of(status)) - middle(end)) < 4, (state, size)
            assert no_horizontal_scroll(alice), (state, size)

    measure("offline")
    go_available(alice)
    card = call_dana(alice)
    # Away during the call: "Then Away (Break)" joins the status, the widest it gets.
    status.get_by_role("button", name="Away", exact=True).click()
    expect()(status.locator(".status-next")).to_contain_text("Then Away")
    measure("on a call, then away")

    end_the_call(alice, card)
    expect()(status.get_by_role("button", name="End wrap-up")).to_be_visible()
    expect()(status.locator(".countdown")).to_be_visible()
    measure("wrap-up")

    for size, by_state in heights.items():
        assert len(set(by_state.values())) == 1, (size, by_state)


# --- the wallboard ---------------------------------------------------------------------------


@pytest.fixture
def live_transfer(desktop, sim):
    """Alice on a call with Dana, warm-transferring it to Bob: three legs, each with buttons."""
    alice, bob = desktop("alice"), desktop("bob")
    go_available(alice)
    go_available(bob)
    card = call_dana(alice)
    card.get_by_label("Transfer to").fill("bob")
    card.get_by_role("button", name="Warm transfer").click()
    expect()(card.locator(".transfer-banner")).to_contain_text("warm transfer to Bob Baker")
    return card


PARTS_OF_A_CARD = """card => {
  if (!card.isConnected) return null;
  const box = e => { const r = e.getBoundingClientRect();
    return {x: r.x, y: r.y, width: r.width, height: r.height}; };
  const parts = [...card.querySelectorAll(
    "button, .call-duration, .tag, .wb-owner, .call-title, table.members")]
    .filter(e => e.getClientRects().length)
    .map(e => ({what: e.className + " " + e.textContent.trim().slice(0, 30), box: box(e)}));
  return [box(card), parts];
}"""


def card_parts(card) -> tuple[dict, list[dict]]:
    """The card's box and its parts', read in one go from a card still on the page (a push
    may be redrawing it)."""
    found: dict = {}

    def measured() -> bool:
        found["parts"] = card.evaluate(PARTS_OF_A_CARD)
        return found["parts"] is not None

    wait_until(measured)
    return found["parts"]


def open_board(signed_in, size):
    board = signed_in("sam", "/wallboard/", width=size[0], height=size[1])
    expect()(board.locator("#connection")).to_have_text("Live")
    card = board.locator("article.wb-call", has_text="Dana Diaz")
    expect()(card.locator("tr.member")).to_have_count(3)
    expect()(card.locator(".transfer-banner")).to_be_visible()
    return board, card


def test_wallboard_call_cards_hold_their_buttons_and_duration(live_transfer, signed_in):
    board, card = open_board(signed_in, WALLBOARD_SIZES[0])
    for size in WALLBOARD_SIZES:
        resize(board, size)
        card_box, parts = card_parts(card)
        assert len(parts) > 6, parts
        spilled = [part for part in parts if not inside(part["box"], card_box)]
        assert spilled == [], (size, card_box)
        assert no_horizontal_scroll(board), size


def test_at_1024_the_chart_stays_beside_the_figures_and_the_floor_shows_above_the_fold(
    live_transfer, signed_in
):
    board, card = open_board(signed_in, (1024, 768))
    fold = 768
    expect()(board.locator("#wb-chart svg")).to_be_visible()
    tiles = box_of(board.locator(".wb-tiles"))
    chart = box_of(board.locator("#wb-chart"))
    # Beside the tiles, not on a row of its own.
    assert chart["x"] >= tiles["x"] + tiles["width"], (tiles, chart)
    assert chart["y"] < tiles["y"] + tiles["height"], (tiles, chart)
    # The agents and the live calls start above the fold, with something in them to see:
    # the first status group's agents, and every leg of the first call.
    for panel in ("#wb-agents", ".wb-calls-col"):
        assert box_of(board.locator(panel))["y"] < fold, panel
    on_call = box_of(board.locator("#wb-group-on_call li.wb-agent").first)
    assert on_call["y"] + on_call["height"] <= fold, on_call
    last_leg = box_of(card.locator("tr.member").last)
    assert last_leg["y"] + last_leg["height"] <= fold, last_leg
    assert no_horizontal_scroll(board)
