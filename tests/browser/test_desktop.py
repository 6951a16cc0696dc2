"""The agent desktop in real headless Chromium, against the real app and a PHLO simulator.

Every state change below reaches the page through the websocket, caused by the simulator's
callbacks or by another user; no test reloads a page (the `desktop` fixture checks). The
harness (app stack, simulator, browser, `desktop`) is tests/fixtures_browser.py.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.browser_pages import (
    expect,
    list_when_the_row_folds,
    mark_document,
    screenshot_path,
    wait_until,
)

pytestmark = pytest.mark.browser

ALICE = "sip:alice@phones.demo"
BOB = "sip:bob@phones.demo"
DANA = "14155550101"
VOICEMAIL_NUMBER = "+1 500 555 0003"


def status_of(page):
    return page.locator("#agent-status .status-label")


def errors_logged(page) -> list[str]:
    """What the page logs as errors from now on (pushes and swaps log none in a normal story)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def script_errors(errors: list[str]) -> list[str]:
    """The page's own errors, without the browser's note of each 4xx answer it loaded."""
    return [e for e in errors if not e.startswith("Failed to load resource")]


def go_available(page) -> None:
    page.locator("#agent-status").get_by_role("button", name="Available", exact=True).click()
    expect()(status_of(page)).to_have_text("Available")


def call_dana(page):
    """Pick Dana from the dial box's search and call her; returns her call's card."""
    page.get_by_label("Customer, number or SIP address").fill("Dana")
    page.get_by_role("button", name="Dana Diaz").click()
    page.get_by_role("button", name="Call", exact=True).click()
    card = page.locator("article.call", has_text="Dana Diaz")
    expect()(customer_state(card)).to_have_text("Talking")
    return card


def customer_row(card):
    return card.locator("tr.member[data-role=customer]")


def customer_state(card):
    return customer_row(card).locator(".m-state")


def member_state(card, name: str):
    return card.locator("tr.member", has_text=name).locator(".m-state")


def transfer(page, card, *, to: str, kind: str) -> None:
    card.get_by_label("Transfer to").fill(to)
    card.get_by_role("button", name=kind).click()


def test_a_truncated_number_or_part_of_a_name_is_refused_under_the_dial_box(desktop, sim):
    alice = desktop("alice")
    console_errors = errors_logged(alice)
    box = alice.get_by_label("Customer, number or SIP address")
    error = alice.locator("#dial #dial-error")
    for typed, fragments in [
        ("+1 415 55", ["'+1 415 55' is not a valid phone number: it is too short for +1."]),
        ("Dana Dia", ["'Dana Dia'", "Dana Diaz"]),  # the name to pick instead
    ]:
        box.fill(typed)
        alice.get_by_role("button", name="Call", exact=True).click()
        for fragment in fragments:
            expect()(error).to_contain_text(fragment)
        expect()(box).to_have_value(typed)  # kept, to correct
    expect()(alice.locator("article.call")).to_have_count(0)
    assert script_errors(console_errors) == []  # a refusal that says why is no error


def test_call_hold_unhold_and_hang_up_in_two_tabs(desktop, sim):
    alice = desktop("alice")
    other_tab = desktop("alice", context=alice.context)
    alice.bring_to_front()  # the other tab stays in the background, as tabs do
    go_available(alice)
    expect()(status_of(other_tab)).to_have_text("Available")

    card = call_dana(alice)
    expect()(status_of(alice)).to_have_text("On a call")
    twin = other_tab.locator("article.call", has_text="Dana Diaz")
    expect()(customer_state(twin)).to_have_text("Talking")
    expect()(card.locator(".customer-card")).to_contain_text("Gold plan")

    # PHLO answers slowly this time: the button shows it is busy and cannot fire twice.
    sim.inject_fault(delay=1.0)
    hold = customer_row(card).get_by_role("button", name="Hold")
    hold.click()
    expect()(hold).to_be_disabled()
    expect()(customer_state(card)).to_have_text("On hold")
    expect()(customer_state(twin)).to_have_text("On hold")
    # Only the legal actions: a held customer can be taken off hold, not held again.
    expect()(customer_row(card).get_by_role("button", name="Hold", exact=True)).to_have_count(0)

    alice.keyboard.press("h")  # the shortcut for Hold / Unhold
    expect()(customer_state(card)).to_have_text("Talking")
    expect()(customer_state(twin)).to_have_text("Talking")

    # Timers tick on the page: the call's duration and the time in status move on.
    expect()(card.locator(".call-duration .timer")).not_to_have_text("0:00")
    expect()(alice.locator("#agent-status .timer")).not_to_have_text("0:00")
    card.get_by_label("Notes").fill("Asked about the March invoice.")
    alice.screenshot(path=str(screenshot_path("desktop.png")))

    # One hang-up ends the call: with no customer left, Alice is taken out of it too.
    customer_row(card).get_by_role("button", name="Hang up").click()
    expect()(customer_state(card)).to_have_text("Left")
    expect()(card.locator(".call-meta .tag").last).to_have_text("Ended")
    expect()(card.locator(".call-outcome")).to_contain_text("ended on our side")
    expect()(card.get_by_label("Disposition")).to_be_visible()
    expect()(status_of(alice)).to_have_text("Wrap-up")
    expect()(alice.locator("#agent-status .countdown")).to_be_visible()

    card.get_by_label("Disposition").select_option("Resolved")
    card.get_by_role("button", name="Save wrap-up").click()
    expect()(alice.locator("article.call")).to_have_count(0)
    expect()(other_tab.locator("article.call")).to_have_count(0)
    expect()(status_of(alice)).to_have_text("Available")
    # "Calling Dana Diaz. Your phone rings first…" went a few seconds after the dial.
    expect()(alice.locator("#dial .form-notice")).to_have_count(0, timeout=15_000)


def test_the_transfer_picker_fills_on_focus_and_keeps_its_list_through_pushes(desktop, sim):
    alice = desktop("alice")
    other_tab = desktop("alice", context=alice.context)
    bob = desktop("bob")
    go_available(bob)
    alice.bring_to_front()
    go_available(alice)
    card = call_dana(alice)
    bobs_option = card.locator('datalist option[value="bob"]')
    # Pushes carry no list (nobody sees it before using the field): focus fetches it.
    expect()(card.locator("datalist option")).to_have_count(0)
    card.get_by_label("Transfer to").focus()
    expect()(bobs_option).to_have_count(1)

    # A push redraws the call (the other tab holds Dana): the field keeps the focus, so
    # the list is fetched again, fresh.
    twin = other_tab.locator("article.call", has_text="Dana Diaz")
    customer_row(twin).get_by_role("button", name="Hold").click()
    expect()(customer_state(card)).to_have_text("On hold")
    expect()(card.get_by_label("Transfer to")).to_be_visible()
    expect()(bobs_option).to_have_count(1)


def test_warm_transfer_then_resume(desktop, sim):
    alice, bob = desktop("alice"), desktop("bob", width=1024)
    go_available(alice)
    go_available(bob)
    card = call_dana(alice)

    # A bad target is refused inline and the page stays usable.
    transfer(alice, card, to="nobody", kind="Warm transfer")
    expect()(card.locator(".call-error")).to_contain_text("No agent is called 'nobody'")

    transfer(alice, card, to="bob", kind="Warm transfer")
    expect()(customer_state(card)).to_have_text("On hold")
    expect()(member_state(card, "Bob Baker")).to_have_text("Talking")
    expect()(card.locator(".transfer-banner")).to_contain_text("warm transfer to Bob Baker")
    bobs_card = bob.locator("article.call", has_text="Dana Diaz")
    expect()(member_state(bobs_card, "Alice Archer")).to_have_text("Talking")
    assert bob.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    card.get_by_role("button", name="Resume call").click()
    expect()(customer_state(card)).to_have_text("Talking")
    expect()(card.locator(".transfer-banner")).to_have_count(0)
    expect()(customer_state(bobs_card)).to_have_text("Talking")
    expect()(card.get_by_role("button", name="Resume call")).to_have_count(0)


def test_notes_saved_shows_when_the_saves_own_push_redraws_the_card_before_its_answer(desktop, sim):
    """The save's push and its answer race: the push redraws the card (a new status line)
    and the answer, a moment later, must still say "Notes saved" on the page, not on the
    line the redraw took away (seen once in CI)."""
    alice = desktop("alice")
    go_available(alice)
    card = call_dana(alice)
    before = card.get_attribute("data-version")

    def answer_late(route):
        answer = route.fetch()  # saved, and its push on its way to the page
        time.sleep(1.0)  # the browser runs on: the push redraws the card meanwhile
        route.fulfill(response=answer)

    alice.route("**/notes/", answer_late)
    card.get_by_label("Notes").fill("Call back on Monday.")
    expect()(card.locator(".call-notes [role=status]")).to_have_text("Notes saved")
    assert card.get_attribute("data-version") != before  # the push did redraw it
    expect()(card.get_by_label("Notes")).to_have_value("Call back on Monday.")


def test_notes_reach_every_tab_and_a_redraw_never_writes_an_older_copy_back(desktop, sim):
    """Notes saved in one tab show at once in the agent's other tab; a push that redraws the
    call (a hold) must not make either tab send back what it showed before: that undid the
    notes. The tab being typed in keeps its field, focus and caret through the pushes."""
    alice = desktop("alice")
    other_tab = desktop("alice", context=alice.context)
    alice.bring_to_front()
    go_available(alice)
    card = call_dana(alice)
    twin = other_tab.locator("article.call", has_text="Dana Diaz")
    expect()(customer_state(twin)).to_have_text("Talking")
    posts: list[str] = []
    other_tab.on("request", lambda r: posts.append(r.url) if r.url.endswith("/notes/") else None)

    notes = card.get_by_label("Notes")
    notes.click()
    alice.keyboard.type("Wants a refund.")
    expect()(card.locator(".call-notes [role=status]")).to_have_text("Notes saved")
    expect()(twin.get_by_label("Notes")).to_have_value("Wants a refund.")  # pushed
    assert alice.evaluate("document.activeElement.id") == notes.get_attribute("id")
    alice.keyboard.type(" Sent the form.")  # the caret stayed at the end
    expect()(twin.get_by_label("Notes")).to_have_value("Wants a refund. Sent the form.")

    version = card.get_attribute("data-version")
    other_tab.keyboard.press("h")  # Hold, from the tab that never typed
    expect()(customer_state(card)).to_have_text("On hold")
    expect()(customer_state(twin)).to_have_text("On hold")
    assert card.get_attribute("data-version") != version
    alice.wait_for_timeout(1000)  # longer than the notes' save delay
    expect()(notes).to_have_value("Wants a refund. Sent the form.")
    expect()(twin.get_by_label("Notes")).to_have_value("Wants a refund. Sent the form.")
    assert posts == []  # the other tab never sent notes of its own
    # What the server holds, as a page opened now shows it.
    third = desktop("alice", context=alice.context)
    fresh = third.locator("article.call", has_text="Dana Diaz").get_by_label("Notes")
    expect()(fresh).to_have_value("Wants a refund. Sent the form.")


def test_warm_transfer_completed_the_first_agent_wraps_up_at_once(desktop, sim):
    """Alice brings Dana and Bob together, then puts her phone down: her card turns into her
    wrap-up at once while Bob talks on. The notes are the call's: Bob sees Alice's as she
    saves them, hers shows his, and saving her wrap-up with them unchanged leaves his alone.
    Once she has saved her wrap-up she is Available while the call goes on."""
    alice, bob = desktop("alice"), desktop("bob")
    go_available(alice)
    go_available(bob)
    card = call_dana(alice)
    transfer(alice, card, to="bob", kind="Warm transfer")
    expect()(member_state(card, "Bob Baker")).to_have_text("Talking")
    card.get_by_role("button", name="Resume call").click()
    expect()(customer_state(card)).to_have_text("Talking")
    card.get_by_label("Notes").fill("Asked about the March invoice.")
    expect()(card.locator(".call-notes [role=status]")).to_have_text("Notes saved")
    bobs_card = bob.locator("article.call", has_text="Dana Diaz")
    expect()(bobs_card.get_by_label("Notes")).to_have_value("Asked about the March invoice.")

    sim.phones.hangup(ALICE)
    expect()(card.locator(".call-meta .tag").last).to_have_text("Transferred")
    expect()(card.locator(".call-part")).to_contain_text(
        "You transferred Dana Diaz to Bob Baker. The call goes on without you."
    )
    expect()(card.get_by_label("Disposition")).to_be_visible()
    expect()(status_of(alice)).to_have_text("Wrap-up")

    # Bob writes more: Alice's card shows it, and a hold's redraw sends nothing back.
    bobs_notes = "Asked about the March invoice. Bob: refund sent."
    bobs_card.get_by_label("Notes").fill(bobs_notes)
    expect()(bobs_card.locator(".call-notes [role=status]")).to_have_text("Notes saved")
    expect()(card.get_by_label("Notes")).to_have_value(bobs_notes)
    version = card.get_attribute("data-version")
    customer_row(bobs_card).get_by_role("button", name="Hold", exact=True).click()
    expect()(customer_state(card)).to_have_text("On hold")
    assert card.get_attribute("data-version") != version
    expect()(card.locator("input[name=notes_seen]")).to_have_value(bobs_notes)
    alice.wait_for_timeout(1000)  # longer than the notes' save delay
    expect()(bobs_card.get_by_label("Notes")).to_have_value(bobs_notes)

    card.get_by_label("Disposition").select_option("Escalated")
    card.get_by_role("button", name="Save wrap-up").click()
    expect()(alice.locator("article.call")).to_have_count(0)
    expect()(status_of(alice)).to_have_text("Available")
    expect()(customer_state(bobs_card)).to_have_text("On hold")
    # The call kept Bob's notes, as a page of his opened now shows.
    again = desktop("bob", context=bob.context).locator("article.call", has_text="Dana Diaz")
    expect()(again.get_by_label("Notes")).to_have_value(bobs_notes)


def test_warm_transfer_then_abort(desktop, sim):
    alice, bob = desktop("alice"), desktop("bob")
    alices_errors, bobs_errors = errors_logged(alice), errors_logged(bob)
    go_available(alice)
    go_available(bob)
    card = call_dana(alice)

    transfer(alice, card, to="bob", kind="Warm transfer")
    expect()(member_state(card, "Bob Baker")).to_have_text("Talking")
    bobs_card = bob.locator("article.call", has_text="Dana Diaz")
    expect()(bobs_card).to_have_count(1)

    alice.keyboard.press("a")  # Abort transfer
    expect()(member_state(card, "Bob Baker")).to_have_text("Left")
    expect()(customer_state(card)).to_have_text("Talking")
    expect()(bobs_card).to_have_count(0)
    expect()(card.get_by_role("button", name="Warm transfer")).to_be_visible()
    # Bob's card came and went by pushes, with no error on either page.
    assert alices_errors == [] and bobs_errors == []
    # Bob's row folds away after a moment and leaves no gap in the table.
    bobs_row = card.locator("tr.member", has_text="Bob Baker")
    expect()(bobs_row).to_be_hidden(timeout=10_000)
    assert bobs_row.evaluate("row => row.getBoundingClientRect().height") == 0


def test_cold_transfer_rings_the_other_agent_who_then_has_the_call(desktop, sim):
    alice, bob = desktop("alice"), desktop("bob")
    go_available(alice)
    go_available(bob)
    sim.phones.set_mode(BOB, "manual")
    card = call_dana(alice)

    transfer(alice, card, to="bob", kind="Cold transfer")
    bobs_card = bob.locator("article.call", has_text="Dana Diaz")
    expect()(bobs_card.locator(".ringing-banner")).to_contain_text(
        "Alice Archer is transferring a call with Dana Diaz to you"
    )
    expect()(bob.locator("body")).to_have_attribute("data-ringing", "true")
    expect()(bobs_card.get_by_role("button", name="Reject")).to_be_visible()

    sim.phones.answer(BOB)
    expect()(customer_state(bobs_card)).to_have_text("Talking")
    expect()(bobs_card.locator(".ringing-banner")).to_have_count(0)
    expect()(bob.locator("body")).to_have_attribute("data-ringing", "false")
    expect()(status_of(bob)).to_have_text("On a call")
    # Alice's part is over: her card is her wrap-up at once, while Bob talks with Dana.
    alices_card = alice.locator("article.call", has_text="Dana Diaz")
    expect()(alices_card.locator(".call-meta .tag").last).to_have_text("Transferred")
    expect()(alices_card.locator(".call-part")).to_contain_text(
        "You transferred Dana Diaz to Bob Baker. The call goes on without you."
    )
    expect()(status_of(alice)).to_have_text("Wrap-up")
    alices_card.get_by_label("Disposition").select_option("Escalated")
    alices_card.get_by_role("button", name="Save wrap-up").click()
    expect()(alice.locator("article.call")).to_have_count(0)
    expect()(status_of(alice)).to_have_text("Available")
    expect()(customer_state(bobs_card)).to_have_text("Talking")


def test_reject_a_transferred_call(desktop, sim):
    """Bob declines a cold transfer: Alice has Dana back, and Bob's row on her card fades
    after a moment; in that same frame the card lists him under "Not answered", with no
    push in between (it used to show neither until the card's next redraw)."""
    alice, bob = desktop("alice"), desktop("bob")
    go_available(alice)
    go_available(bob)
    sim.phones.set_mode(BOB, "manual")
    card = call_dana(alice)
    transfer(alice, card, to="bob", kind="Cold transfer")
    bobs_card = bob.locator("article.call", has_text="Dana Diaz")
    bobs_card.get_by_role("button", name="Reject").click()
    expect()(bobs_card).to_have_count(0)
    expect()(customer_state(card)).to_have_text("Talking")  # back with Alice
    expect()(card.get_by_role("button", name="Cold transfer")).to_be_visible()

    row = card.locator("tr.member[data-role=agent].member--leaving")
    expect()(row).to_have_count(1)
    folded = card.locator("details.not-answered")
    expect()(folded).to_be_hidden()
    version = card.get_attribute("data-version")
    # Checked at every frame: the first in which the row is gone shows the list.
    seen = list_when_the_row_folds(card, list_selector="details.not-answered")
    assert seen == {"shown": True, "text": "Not answered: 1"}
    assert card.get_attribute("data-version") == version  # no redraw brought it
    expect()(folded.locator("li")).to_have_text("Bob Baker: declined")


def test_the_calling_notice_goes_when_the_call_it_announced_ends(desktop, sim):
    """A busy number: "Calling +15005550001…" must not stay under the dial box for seconds
    after the card says busy."""
    alice = desktop("alice")
    go_available(alice)
    alice.get_by_label("Customer, number or SIP address").fill("+1 500 555 0001")
    alice.get_by_role("button", name="Call", exact=True).click()
    card = alice.locator("article.call", has_text="+15005550001")
    expect()(card.locator(".call-outcome")).to_contain_text("busy")
    # Well inside the 8 s a notice otherwise stays.
    expect()(alice.locator("#dial .form-notice")).to_have_count(0, timeout=2_000)


def test_the_calling_notice_goes_once_the_agent_has_answered_their_phone(desktop, sim):
    """ "Calling Dana Diaz. Your phone rings first: answer it to connect." stayed about 10 s,
    long after the call had connected."""
    alice = desktop("alice")
    go_available(alice)
    call_dana(alice)  # her phone answered, then Dana's
    expect()(alice.locator("#dial .form-notice")).to_have_count(0, timeout=2_000)


def test_voicemail_drop(desktop, sim):
    alice = desktop("alice")
    go_available(alice)
    alice.get_by_label("Customer, number or SIP address").fill(VOICEMAIL_NUMBER)
    alice.get_by_role("button", name="Call", exact=True).click()
    card = alice.locator("article.call", has_text="+15005550003")
    expect()(customer_state(card)).to_have_text("Voicemail")
    expect()(card.locator(".customer-card")).to_contain_text("Not a customer yet")  # we called them

    customer_row(card).get_by_role("button", name="Voicemail drop").click()
    expect()(customer_state(card)).to_have_text("Left")
    expect()(card.locator(".call-outcome")).to_contain_text("voicemail answered")
    expect()(card.get_by_label("Disposition")).to_be_visible()
    card.get_by_label("Disposition").select_option("Voicemail left")
    card.get_by_role("button", name="Save wrap-up").click()
    expect()(card).to_have_count(0)


def test_an_inbound_call_is_routed_to_the_available_agent(desktop, sim):
    alice = desktop("alice")
    go_available(alice)
    sim.phones.set_mode(ALICE, "manual")

    sim.inbound_call(from_="+1 415 555 0101", to="+1 415 555 0000")
    card = alice.locator("article.call", has_text="Dana Diaz")
    expect()(card.locator(".ringing-banner")).to_contain_text("Incoming call from Dana Diaz")
    expect()(status_of(alice)).to_have_text("On a call")
    expect()(card.locator(".customer-card")).to_contain_text("Gold plan")

    sim.phones.answer(ALICE)
    expect()(member_state(card, "You")).to_have_text("Talking")
    expect()(customer_state(card)).to_have_text("Talking")
    expect()(card.locator(".ringing-banner")).to_have_count(0)


# A desktop browser's rule (Chrome's autoplay policy): Web Audio stays suspended until the
# person clicks on the page. Playwright runs its own scripts as user gestures, which lets any
# page play sound, so the rule is put back for the test's new tab, for real clicks only.
SOUND_AFTER_A_CLICK = """
(() => {
  const Real = window.AudioContext;
  let clicked = false;
  window.addEventListener("pointerdown", (e) => { if (e.isTrusted) clicked = true; }, true);
  window.AudioContext = function (...args) {
    const ctx = new Real(...args);
    if (!clicked) ctx.suspend();
    const resume = ctx.resume.bind(ctx);
    ctx.resume = () => (clicked ? resume() : Promise.resolve());
    return ctx;
  };
})();
"""


def test_a_ring_the_browser_keeps_silent_asks_for_a_click_and_rings_after_it(desktop, sim):
    """A desktop opened (or reloaded) while nobody has clicked on it yet may not sound a
    ring: its alerts button says so while the call rings, and the first click rings it."""
    alice = desktop("alice")
    go_available(alice)
    sim.phones.set_mode(ALICE, "manual")
    alice.context.add_init_script(SOUND_AFTER_A_CLICK)
    fresh = desktop("alice", context=alice.context)  # a new tab: nothing clicked on it yet
    button = fresh.locator("#enable-alerts")
    expect()(button).to_have_text("Call alerts")

    sim.inbound_call(from_="+1 415 555 0101", to="+1 415 555 0000")
    expect()(fresh.locator("body")).to_have_attribute("data-ringing", "true")
    expect()(button).to_have_text("Click to hear the ring")
    expect()(button).to_have_class(re.compile(r"\bbtn--attention\b"))
    fresh.locator("h1.who-name").click()
    expect()(button).to_have_text("Call alerts")
    expect()(button).not_to_have_class(re.compile(r"\bbtn--attention\b"))

    sim.phones.answer(ALICE)
    expect()(fresh.locator("body")).to_have_attribute("data-ringing", "false")
    expect()(button).to_have_text("Call alerts")


def test_a_cards_last_calls_follow_the_customers_next_call_on_another_desktop(desktop, sim):
    """Alice's ended call with Dana waits for its disposition while Dana calls again and Bob
    takes it: Alice's card lists that call under Last calls as it starts, ends and is wrapped
    up, without a reload."""
    alice, bob = desktop("alice"), desktop("bob")
    go_available(alice)
    first = call_dana(alice)
    sim.phones.hangup(DANA)
    expect()(status_of(alice)).to_have_text("Wrap-up")
    latest = first.locator(".customer-card .history li").first

    go_available(bob)
    sim.phones.set_mode(BOB, "manual")
    sim.inbound_call(from_="+1 415 555 0101", to="+1 415 555 0000")
    expect()(latest.locator(".h-what")).to_have_text("Inbound · Bob Baker")
    expect()(latest.locator(".h-disp")).to_have_text("In progress")
    sim.phones.answer(BOB)
    second = bob.locator("article.call", has_text="Dana Diaz")
    expect()(customer_state(second)).to_have_text("Talking")
    sim.phones.hangup(DANA)
    expect()(latest.locator(".h-disp")).to_have_text("No disposition")
    second.get_by_label("Disposition").select_option("Resolved")
    second.get_by_role("button", name="Save wrap-up").click()
    expect()(latest.locator(".h-disp")).to_have_text("Resolved")
    expect()(first.get_by_label("Disposition")).to_be_visible()  # hers still waits


@pytest.mark.parametrize("ends_it_with", ["End wrap-up", "Away"])
def test_end_wrap_up_saves_the_disposition_picked_on_the_card(desktop, sim, ends_it_with):
    """Alice picks Resolved on Dana's card, then presses `e` (End wrap-up), or Away (which
    ends the wrap-up too), instead of Save wrap-up: what she picked is saved, not dropped,
    and the card leaves as after a save."""
    alice = desktop("alice")
    go_available(alice)
    dana = call_dana(alice)
    sim.phones.hangup(DANA)
    dana.get_by_label("Disposition").select_option("Resolved")
    if ends_it_with == "Away":
        alice.locator("#agent-status").get_by_role("button", name="Away").click()
    else:
        alice.locator("body").click()  # out of the select, so the key is a shortcut
        alice.keyboard.press("e")
    expect()(status_of(alice)).to_have_text("Away" if ends_it_with == "Away" else "Available")
    expect()(dana).to_have_count(0)
    expect()(alice.locator("#toast")).to_contain_text("Wrap-up saved: Dana Diaz (Resolved)")
    if ends_it_with == "Away":
        go_available(alice)
    # Her next call with Dana shows it in the customer's last calls.
    dana = call_dana(alice)
    expect()(dana.locator(".customer-card .h-disp").first).to_have_text("Resolved")


def test_a_disposition_picked_is_saved_when_the_wrap_up_time_runs_out(desktop, sim, stack):
    """Alice picks Resolved on Dana's card and lets the wrap-up's countdown run out instead
    of saving: the server ends her wrap-up, and what she picked is saved (the card would
    otherwise stay, asking again for it)."""
    alice = desktop("alice")
    go_available(alice)
    dana = call_dana(alice)
    sim.phones.hangup(DANA)
    dana.get_by_label("Disposition").select_option("Resolved")
    # Her wrap-up's time is up; the next look at her (another tab opening) ends it.
    stack.manage(
        "shell",
        "-c",
        "from django.utils import timezone; from agents.models import Agent; "
        "Agent.objects.filter(user__username='alice').update(wrap_up_until=timezone.now())",
    )
    desktop("alice", context=alice.context)
    expect()(status_of(alice)).to_have_text("Available")
    expect()(dana).to_have_count(0)
    expect()(alice.locator("#toast")).to_contain_text("Wrap-up saved: Dana Diaz (Resolved)")


def test_a_call_that_comes_in_goes_above_a_wrap_up_left_open(desktop, sim):
    """The keyboard shortcuts act on the first card: a call pushed in while the last call's
    wrap-up is still open goes above it, where a reload would put it, so `h` holds the
    caller on the phone and not the call that has ended."""
    alice = desktop("alice")
    console_errors = errors_logged(alice)
    go_available(alice)
    dana = call_dana(alice)
    sim.phones.hangup(DANA)
    expect()(dana.get_by_label("Disposition")).to_be_visible()
    alice.locator("#agent-status").get_by_role("button", name="End wrap-up").click()
    expect()(status_of(alice)).to_have_text("Available")

    sim.inbound_call(from_="+1 415 555 0102", to="+1 415 555 0000")
    eli = alice.locator("article.call", has_text="Eli Evans")
    expect()(customer_state(eli)).to_have_text("Talking")
    cards = alice.locator("#calls > article.call")
    expect()(cards).to_have_count(2)
    expect()(cards.first).to_contain_text("Eli Evans")
    alice.keyboard.press("h")
    expect()(customer_state(eli)).to_have_text("On hold")

    # Once Eli's call ends too, the cards keep the order a reload gives: the call just
    # finished first, where the shortcuts act.
    alice.keyboard.press("h")
    expect()(customer_state(eli)).to_have_text("Talking")
    sim.phones.hangup("14155550102")
    expect()(eli.get_by_label("Disposition")).to_be_visible()
    expect()(cards.first).to_contain_text("Eli Evans")
    alice.reload()  # on purpose: the order a reload gives
    expect()(alice.locator("#connection")).to_have_text("Live")
    mark_document(alice)
    expect()(cards.first).to_contain_text("Eli Evans")
    expect()(cards.nth(1)).to_contain_text("Dana Diaz")
    # A call new to the page is no error: it had a place waiting (LivePage.placeNewcomers).
    assert console_errors == []


def test_after_a_dropped_connection_the_page_recovers_the_true_state(desktop, sim, stack):
    alice = desktop("alice")
    go_available(alice)
    card = call_dana(alice)

    stack.proxy.cut()
    expect()(alice.locator("#connection")).to_have_text("Reconnecting…")
    # While the page is cut off, the call ends: callbacks reach the app, pushes cannot.
    before = len(sim.deliveries)
    sim.phones.hangup(DANA)  # the call ends, and Alice is taken out of it
    wait_until(lambda: sum(d.ok for d in sim.deliveries[before:]) >= 2)
    expect()(customer_state(card)).to_have_text("Talking")  # still the stale picture
    alice.wait_for_timeout(1500)  # an outage long enough to be told of (over 1 s)

    stack.proxy.restore()
    expect()(alice.locator("#connection")).to_have_text("Live", timeout=20_000)
    # The page says why things changed under the agent (review 2026-12-07: it did not).
    expect()(alice.locator("#toast")).to_contain_text(
        re.compile(r"Reconnected: the connection was lost for \d+ s\.")
    )
    expect()(customer_state(card)).to_have_text("Left")
    expect()(card.get_by_label("Disposition")).to_be_visible()
    expect()(status_of(alice)).to_have_text("Wrap-up")


def test_the_browser_offline_for_a_while_comes_back_live_and_logs_only_its_own_errors(desktop, sim):
    """Wi-Fi gone for a few seconds mid-call: the page says it is reconnecting, the call
    changes meanwhile, and back online it shows the true state. The browser logs each failed
    retry with its reason; the page adds nothing (the ws extension logged "[object Event]"
    after each)."""
    alice = desktop("alice")
    errors = errors_logged(alice)
    go_available(alice)
    card = call_dana(alice)
    alice.context.set_offline(True)
    expect()(alice.locator("#connection")).to_have_text("Reconnecting…")
    # Usually logged within a second or two; once, in CI's PostgreSQL run on a loaded
    # machine, not within 10 s (the cause was not found).
    wait_until(lambda: any(e.startswith("WebSocket connection to") for e in errors), timeout=25)
    sim.phones.hangup(DANA)
    alice.context.set_offline(False)
    expect()(alice.locator("#connection")).to_have_text("Live", timeout=20_000)
    expect()(customer_state(card)).to_have_text("Left")
    expect()(status_of(alice)).to_have_text("Wrap-up")
    failed = [e for e in errors if e.startswith("WebSocket connection to")]
    assert [e for e in script_errors(errors) if e not in failed] == []


def test_logging_out_closes_the_sessions_other_tabs(desktop, sim, stack):
    alice = desktop("alice")
    go_available(alice)
    other_tab = desktop("alice", context=alice.context)
    expect()(other_tab.locator("#agent-status .pill")).to_have_class("pill pill--available")
    alice.bring_to_front()
    stack.sessions.pop("alice", None)  # this session ends here
    alice.get_by_role("button", name="Log out").click()
    alice.wait_for_url(f"{stack.ui_url}/login/")
    expect()(other_tab.locator("#connection")).to_have_text("Signed out")
    expect()(other_tab.locator("#toast")).to_contain_text("Log in again")
    # Nothing on the page works any more, so nothing offers to (a press would be a 401).
    status_buttons = other_tab.locator("#agent-status").get_by_role("button")
    assert status_buttons.count() > 0
    for button in status_buttons.all():
        expect()(button).to_be_disabled()
    # Nor does it claim she is still Available, with a timer ticking.
    expect()(status_of(other_tab)).to_have_text("Signed out")
    expect()(other_tab.locator("#agent-status .timer")).to_have_count(0)
    # Not in Available's green either, with its button pressed (the review saw both).
    expect()(other_tab.locator("#agent-status .pill")).to_have_class("pill pill--offline")
    expect()(
        other_tab.locator("#agent-status [aria-pressed], #agent-status .is-current")
    ).to_have_count(0)


def test_logging_out_during_a_call_asks_first(desktop, sim, stack):
    """Logging out does not end the call: Dana would stay on the line with nobody there.
    The page asks; cancelling keeps the agent on the desktop."""
    alice = desktop("alice")
    go_available(alice)
    call_dana(alice)
    asked: list[str] = []

    def answer(accept: bool):
        def handle(dialog) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return handle

    alice.once("dialog", answer(False))
    alice.get_by_role("button", name="Log out").click()
    wait_until(lambda: len(asked) == 1)
    assert "customer stays on the line" in asked[0]
    expect()(alice.locator("#connection")).to_have_text("Live")
    stack.sessions.pop("alice", None)  # this session ends here
    alice.once("dialog", answer(True))
    alice.get_by_role("button", name="Log out").click()
    alice.wait_for_url(f"{stack.ui_url}/login/")
    assert len(asked) == 2


def test_a_signed_out_tab_stops_showing_its_call_as_live(desktop, sim, stack):
    """Logged out in one tab during a call: the other tab's card no longer ticks on as if
    connected (it did, even after the customer hung up, until a reload), and says why."""
    alice = desktop("alice")
    go_available(alice)
    call_dana(alice)
    other_tab = desktop("alice", context=alice.context)
    card = other_tab.locator("article.call", has_text="Dana Diaz")
    expect()(customer_state(card)).to_have_text("Talking")
    alice.bring_to_front()
    stack.sessions.pop("alice", None)  # this session ends here
    alice.once("dialog", lambda dialog: dialog.accept())
    alice.get_by_role("button", name="Log out").click()
    alice.wait_for_url(f"{stack.ui_url}/login/")
    expect()(other_tab.locator("#connection")).to_have_text("Signed out")
    expect()(card.locator(".call-stale-note")).to_contain_text("Not kept up to date")
    expect()(card.locator("[data-since]")).to_have_count(0)
    sim.phones.hangup(DANA)


def test_logging_out_while_a_call_rings_says_it_declines_it(desktop, sim, stack):
    """Only ringing: logging out declines it and the caller goes on; the question says that,
    not that a customer stays on the line."""
    alice = desktop("alice")
    go_available(alice)
    sim.phones.set_mode(ALICE, "manual")
    sim.inbound_call(from_="+1 415 555 0101", to="+1 415 555 0000")
    expect()(alice.locator("article.call .ringing-banner")).to_be_visible()
    asked: list[str] = []

    def handle(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    alice.once("dialog", handle)
    alice.get_by_role("button", name="Log out").click()
    wait_until(lambda: len(asked) == 1)
    assert "ringing for you" in asked[0] and "declines it" in asked[0]
    assert "stays on the line" not in asked[0]
    expect()(alice.locator("#connection")).to_have_text("Live")


def test_the_page_comes_back_by_itself_after_a_server_restart(desktop, sim, stack):
    alice = desktop("alice")
    go_available(alice)
    card = call_dana(alice)

    stack.stop_server()
    expect()(alice.locator("#connection")).to_have_text("Reconnecting…")
    stack.start_server()
    expect()(alice.locator("#connection")).to_have_text("Live", timeout=20_000)

    customer_row(card).get_by_role("button", name="Hold").click()
    expect()(customer_state(card)).to_have_text("On hold")


def test_a_refused_request_says_why_in_the_toast(desktop, sim):
    alice = desktop("alice")
    console_errors = errors_logged(alice)
    # A plain-text refusal from the server (here: a button kind that does not exist), as
    # the shared live script (static/live/connection.js) shows it.
    alice.evaluate(
        "htmx.ajax('POST', '/desktop/members/1/actions/juggle/',"
        " {source: document.body, swap: 'none'})"
    )
    expect()(alice.locator("#toast")).to_contain_text(
        "'juggle' is not something you can do to a participant."
    )
    expect()(alice.locator("#connection")).to_contain_text("Live")  # not signed out
    assert script_errors(console_errors) == []
