"""axe-core finds nothing on any page, in the states people see it in (issue 12, item 8):
the login page; the desktop idle, ringing, during a call and in wrap-up; the wallboard with
live calls; the admin pages a supervisor uses; the page an agent gets from the admin; the
simulator's phones page. The helper is tests/accessibility.py.
"""

from __future__ import annotations

import pytest

from tests.accessibility import assert_no_axe_violations
from tests.browser_pages import expect, log_in

pytestmark = pytest.mark.browser

ALICE = "sip:alice@phones.demo"
DANA = "+1 415 555 0101"


def status_of(page):
    return page.locator("#agent-status .status-label")


def go_available(page) -> None:
    page.locator("#agent-status").get_by_role("button", name="Available", exact=True).click()
    expect()(status_of(page)).to_have_text("Available")


def customer_row(card):
    return card.locator("tr.member[data-role=customer]")


def test_the_login_pages(signed_in):
    page = signed_in(None, "/login/")
    expect()(page.get_by_role("heading", level=1)).to_have_text("Contact center")
    assert_no_axe_violations(page, label="login")
    page.goto(page.url.replace("/login/", "/admin/login/"))
    expect()(page.get_by_label("Username")).to_be_visible()
    assert_no_axe_violations(page, label="admin login")


def test_the_desktop_idle_ringing_talking_and_in_wrap_up(desktop, signed_in, sim, stack):
    alice = desktop("alice")
    # The page's one h1 names it and whose it is.
    expect()(alice.get_by_role("heading", level=1)).to_have_text("Agent desktop: Alice Archer")
    assert_no_axe_violations(alice, label="desktop, idle")

    go_available(alice)
    sim.phones.set_mode(ALICE, "manual")
    sim.inbound_call(from_=DANA, to="+1 415 555 0000")
    card = alice.locator("article.call", has_text="Dana Diaz")
    expect()(card.locator(".ringing-banner")).to_contain_text("Incoming call from Dana Diaz")
    assert_no_axe_violations(alice, label="desktop, ringing")

    # The simulator's phones page, with the ringing leg on it.
    phones = signed_in(None, sim.phones_url)
    expect()(phones.get_by_role("heading", level=1)).to_have_text("Simulated phones")
    assert_no_axe_violations(phones, label="simulated phones")

    sim.phones.answer(ALICE)
    expect()(customer_row(card).locator(".m-state")).to_have_text("Talking")
    expect()(card.get_by_label("Transfer to")).to_be_visible()
    assert_no_axe_violations(alice, label="desktop, during a call")

    # The customer leaving ends the call (end on exit), and Alice goes into wrap-up.
    sim.phones.hangup(DANA)
    expect()(status_of(alice).filter(has_text="Wrap-up")).to_be_visible()
    expect()(card.get_by_label("Disposition")).to_be_visible()
    assert_no_axe_violations(alice, label="desktop, wrap-up")


def test_the_wallboard_and_the_admin_pages_a_supervisor_uses(desktop, signed_in, sim):
    alice, bob = desktop("alice"), desktop("bob")
    go_available(alice)
    go_available(bob)
    alice.get_by_label("Customer, number or SIP address").fill("Dana")
    alice.get_by_role("button", name="Dana Diaz").click()
    alice.get_by_role("button", name="Call", exact=True).click()
    card = alice.locator("article.call", has_text="Dana Diaz")
    expect()(customer_row(card).locator(".m-state")).to_have_text("Talking")
    card.get_by_label("Transfer to").fill("bob")
    card.get_by_role("button", name="Warm transfer").click()

    board = signed_in("sam", "/wallboard/")
    live = board.locator("article.wb-call", has_text="Dana Diaz")
    expect()(live.locator(".transfer-banner")).to_contain_text("warm transfer to Bob Baker")
    expect()(board.locator("#connection")).to_have_text("Live")
    assert_no_axe_violations(board, label="wallboard, live calls")

    # Alice brings everyone together and leaves Dana with Bob: her card is her wrap-up while
    # the call goes on, and the call's admin page lists what each agent owes.
    card.get_by_role("button", name="Resume call").click()
    expect()(live.locator(".transfer-banner")).to_have_count(0)
    sim.phones.hangup(ALICE)
    expect()(card.locator(".call-part")).to_contain_text("The call goes on without you.")
    assert_no_axe_violations(alice, label="desktop, wrap-up while the call goes on")

    board.get_by_role("link", name="Admin").click()
    expect()(board.get_by_role("heading", name="Supervisor console")).to_be_visible()
    assert_no_axe_violations(board, label="admin index")
    board.get_by_role("link", name="Calls", exact=True).first.click()
    expect()(board.get_by_role("heading", level=1)).to_have_text("Calls administration")
    assert_no_axe_violations(board, label="admin app index")
    board.get_by_role("link", name="Calls", exact=True).last.click()
    rows = board.locator("#result_list tbody tr")
    expect()(rows.first).to_be_visible()
    assert_no_axe_violations(board, label="admin call list")
    rows.first.locator("th a").click()
    expect()(board.locator("#call-timeline")).to_be_visible()
    expect()(board.locator("div.breadcrumbs a").first).to_be_visible()
    expect()(board.locator("table.agents-wrap-ups")).to_contain_text("Alice Archer")
    assert_no_axe_violations(board, label="admin call page")


def test_an_agent_who_opens_the_admin_is_told_why_and_shown_the_way_back(signed_in, stack):
    page = signed_in("alice", "/admin/")
    expect()(page.get_by_role("heading", level=1)).to_have_text("Supervisors only")
    assert_no_axe_violations(page, label="admin, refused")
    page.get_by_role("link", name="Back to the agent desktop").click()
    page.wait_for_url(f"{stack.ui_url}/")
    expect()(page.locator("#connection")).to_have_text("Live")

    # A deeper admin address says the same, and offers to switch to a supervisor account.
    page.goto(f"{stack.ui_url}/admin/calls/call/")
    expect()(page.get_by_role("heading", level=1)).to_have_text("Supervisors only")
    page.get_by_role("link", name="log in with a supervisor account").click()
    stack.sessions.pop("alice")  # logging in as someone else ends alice's session
    log_in(page, username="sam")
    page.wait_for_url(f"{stack.ui_url}/admin/calls/call/")
    expect()(page.locator("#result_list")).to_be_visible()
