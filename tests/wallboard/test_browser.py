"""The wallboard in real headless Chromium: a supervisor watches while demo agents place,
hold and transfer calls from their own desktops; every change appears without a reload; the
supervisor hangs up a member and barges into a call; after a dropped connection the board
recovers the true state by itself.

Built on the desktop's browser harness (tests/browser/conftest.py: the app under daphne in
its own process, a PHLO simulator on a real clock, a TCP proxy that can cut the network). The
app here runs with tests/wallboard/browser_settings.py, which mounts the wallboard until the
project does.
"""

# The harness's fixtures are imported below and requested by parameter name.
# ruff: noqa: F811

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.browser.conftest import (  # noqa: F401 - fixtures reused from the desktop's harness
    CREDENTIALS,
    DEMO_PASSWORD,
    EXPECT_TIMEOUT_MS,
    ROOT,
    CuttableProxy,
    Stack,
    _database,
    browser,
    chromium_path,
    desktop,
    free_port,
    sim,
    wait_for_port,
)

pytestmark = pytest.mark.browser

ALICE = "sip:alice@phones.demo"
SAM = "sip:sam@phones.demo"
DANA = "14155550101"
SCREENSHOT = ROOT / "docs" / "images" / "wallboard.png"

# Calls handled earlier today, so the chart and figures have a day behind them.
HISTORY_SCRIPT = """
from datetime import timedelta
from django.utils import timezone
from agents.models import Agent
from calls.models import Action, Call, Customer, Member
now = timezone.now()
day_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
agents = list(Agent.objects.filter(user__username__in=["alice", "bob", "carol"]).order_by("pk"))
customers = list(Customer.objects.order_by("pk"))
pattern = [2, 3, 5, 4, 6, 3, 4, 2]
for back, count in enumerate(pattern, start=1):
    hour = now - timedelta(hours=back)
    if hour < day_start:
        break
    hour = hour.replace(minute=0, second=0, microsecond=0)
    for i in range(count):
        start = hour + timedelta(minutes=7 * i + 2)
        agent = agents[(back + i) % len(agents)]
        customer = customers[(back * 3 + i) % len(customers)]
        abandoned = (back + i) % 7 == 0
        talk = timedelta(seconds=150 + 40 * ((back * i) % 6))
        end = start + (timedelta(seconds=25) if abandoned else talk)
        call = Call.objects.create(status="completed", direction="inbound", owner=agent,
            customer=customer, created_at=start, answered_at=start + timedelta(seconds=3),
            ended_at=end, disposition="Resolved")
        Member.objects.create(call=call, role="customer", customer=customer,
            address=customer.phone, state="left", created_at=start,
            answered_at=start + timedelta(seconds=3), left_at=end, state_changed_at=end)
        Member.objects.create(call=call, role="agent", agent=agent, address=agent.endpoint,
            state="no_answer" if abandoned else "left", created_at=start,
            answered_at=None if abandoned else start + timedelta(seconds=9), left_at=end,
            state_changed_at=end)
        if not abandoned and i % 3 == 1:
            Action.objects.create(call=call, kind="warm_transfer" if i % 2 else "cold_transfer",
                outcome="succeeded", created_at=start + timedelta(seconds=60))
"""


@pytest.fixture(scope="module")
def stack(chromium_path, tmp_path_factory) -> Iterator[Stack]:
    """The desktop harness's app stack, started with the wallboard's browser settings."""
    tmp = tmp_path_factory.mktemp("wallboard-stack")
    app_port, sim_port = free_port(), free_port()
    database_url, drop_database = _database(tmp)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PHLO_", "PLIVO_", "DATABASE_URL", "REDIS_URL"))
    }
    env |= CREDENTIALS | {
        "DJANGO_SETTINGS_MODULE": "tests.wallboard.browser_settings",
        "DJANGO_DEBUG": "1",  # runserver serves /static/ with DEBUG on
        "CONTACTCENTER_VAR_DIR": str(tmp),
        "DATABASE_URL": database_url,
        "PHLO_SIMULATOR": "1",
        "PHLO_BASE_URL": f"http://127.0.0.1:{sim_port}/v1",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{app_port}",
        "AGENT_WRAP_UP_SECONDS": "60",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
        env["CHANNELS_PREFIX"] = f"wallboard-{uuid.uuid4().hex[:10]}"
    proxy = CuttableProxy(target_port=app_port)
    stack = Stack(
        app_url=f"http://127.0.0.1:{app_port}",
        ui_url=f"http://127.0.0.1:{proxy.port}",
        sim_port=sim_port,
        env=env,
        proxy=proxy,
        logs=tmp / "app.log",
    )
    stack.manage("migrate", "--noinput")
    stack.manage("seed_demo")
    stack.manage("shell", "-c", HISTORY_SCRIPT)
    log = open(stack.logs, "w")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{app_port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(app_port, process=server)
        yield stack
    finally:
        if stack.sim is not None:
            stack.sim.stop()
        proxy.stop()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        drop_database()
        shutil.rmtree(tmp, ignore_errors=True)


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


@pytest.fixture
def wallboard(request, browser, stack, sim) -> Iterator:
    """Open the wallboard as the demo supervisor, through the admin login it redirects to.
    On a failure, the app server's log is printed with the test's report."""
    expect().set_options(timeout=EXPECT_TIMEOUT_MS)
    context = browser.new_context(viewport={"width": 1480, "height": 1040})
    errors: list[str] = []

    def open_board():
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", lambda dialog: dialog.accept())  # "Hang up Bob Baker?"
        page.goto(f"{stack.ui_url}/wallboard/")
        page.get_by_label("Username").fill("sam")
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{stack.ui_url}/wallboard/")
        expect()(page.locator("#connection")).to_have_text("Live")
        page.evaluate("window.__noReload = true")
        return page

    yield open_board
    if getattr(request.node, "wallboard_failed", False):
        print("--- app server log (last 8000 characters) ---")
        print(stack.logs.read_text(errors="replace")[-8000:])
    for page in context.pages:
        assert page.evaluate("window.__noReload === true"), "the wallboard was reloaded"
    context.close()
    assert not errors, errors


# --- what people see -------------------------------------------------------------------------


def figure(board, name: str):
    return board.locator(f"#fig-{name} .wb-num")


def group(board, status: str):
    return board.locator(f"#wb-group-{status}")


def member_row(card, name: str):
    return card.locator("tr.member", has_text=name)


def state_of(card, name: str):
    return member_row(card, name).locator(".m-state")


def go_available(page) -> None:
    page.locator("#agent-status").get_by_role("button", name="Available", exact=True).click()
    expect()(page.locator("#agent-status .status-label")).to_have_text("Available")


def call_dana(page):
    page.get_by_label("Customer, number or SIP address").fill("Dana")
    page.get_by_role("button", name="Dana Diaz").click()
    page.get_by_role("button", name="Call", exact=True).click()
    card = page.locator("article.call", has_text="Dana Diaz")
    expect()(card.locator("tr.member[data-role=customer] .m-state")).to_have_text("Talking")
    return card


def wait_until(predicate, *, timeout: float = 10.0) -> None:
    """For conditions outside the browser (the simulator's deliveries)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        threading.Event().wait(0.05)


def number(locator) -> int:
    return int(locator.inner_text().strip())


def test_a_supervisor_watches_the_floor_and_acts_on_a_call(wallboard, desktop, sim, stack):
    board = wallboard()
    alice, bob = desktop("alice"), desktop("bob")
    handled_before = number(figure(board, "handled"))
    transfers_before = number(figure(board, "transfers"))
    assert handled_before > 0  # the day so far, from the history seeded above
    expect()(board.locator("#wb-chart svg")).to_be_visible()
    expect()(board.locator("#wb-calls")).to_contain_text("No calls in progress.")

    # Agents coming on shift.
    go_available(alice)
    go_available(bob)
    expect()(group(board, "available")).to_contain_text("Alice Archer")
    expect()(group(board, "available")).to_contain_text("Bob Baker")

    # Alice calls Dana: the call, its members and the figures appear.
    card = call_dana(alice)
    live = board.locator("article.wb-call", has_text="Dana Diaz")
    expect()(state_of(live, "Dana Diaz")).to_have_text("Talking")
    expect()(state_of(live, "Alice Archer")).to_have_text("Talking")
    expect()(figure(board, "in-progress")).to_have_text("1")
    expect()(group(board, "on_call")).to_contain_text("On a call with Dana Diaz")
    expect()(board.locator("#wb-no-calls")).to_have_count(0)

    # Alice holds and unholds Dana.
    card.locator("tr.member[data-role=customer]").get_by_role("button", name="Hold").click()
    expect()(state_of(live, "Dana Diaz")).to_have_text("On hold")
    expect()(figure(board, "on-hold")).to_have_text("1")
    expect()(board.locator("#fig-on-hold .wb-sub")).to_contain_text("longest")
    card.locator("tr.member[data-role=customer]").get_by_role("button", name="Unhold").click()
    expect()(state_of(live, "Dana Diaz")).to_have_text("Talking")
    expect()(figure(board, "on-hold")).to_have_text("0")

    # A warm transfer to Bob: the banner, Bob's leg, Dana on hold, the transfer counted.
    card.get_by_label("Transfer to").fill("bob")
    card.get_by_role("button", name="Warm transfer").click()
    expect()(live.locator(".transfer-banner")).to_contain_text("warm transfer to Bob Baker")
    expect()(state_of(live, "Bob Baker")).to_have_text("Talking")
    expect()(state_of(live, "Dana Diaz")).to_have_text("On hold")
    expect()(figure(board, "transfers")).to_have_text(str(transfers_before + 1))
    expect()(group(board, "on_call")).to_contain_text("Bob Baker")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    board.screenshot(path=str(SCREENSHOT), full_page=True)

    card.get_by_role("button", name="Resume call").click()
    expect()(live.locator(".transfer-banner")).to_have_count(0)
    expect()(state_of(live, "Dana Diaz")).to_have_text("Talking")

    # The supervisor hangs up Bob's leg.
    member_row(live, "Bob Baker").get_by_role("button", name="Hang up").click()
    expect()(state_of(live, "Bob Baker")).to_have_text("Left")
    expect()(group(board, "wrap_up")).to_contain_text("Bob Baker")
    expect()(member_row(card, "Bob Baker").locator(".m-state")).to_have_text("Left")

    # ...and barges in: Sam's phone rings into the call and answers.
    live.get_by_role("button", name="Join the call").click()
    expect()(state_of(live, "Sam Supervisor")).to_have_text("Talking")
    expect()(member_row(live, "Sam Supervisor").locator(".m-role")).to_have_text("Supervisor")
    expect()(live.get_by_role("button", name="Join the call")).to_be_hidden()
    expect()(state_of(card, "Sam Supervisor")).to_have_text("Talking")  # Alice sees Sam too

    # The network drops while the call ends; the board recovers the truth by itself.
    stack.proxy.cut()
    expect()(board.locator("#connection")).to_have_text("Reconnecting…")
    before = len(sim.deliveries)
    for address in (DANA, SAM, ALICE):
        sim.phones.hangup(address)
    wait_until(lambda: sum(d.ok for d in sim.deliveries[before:]) >= 3)
    expect()(live).to_have_count(1)  # still the stale picture
    stack.proxy.restore()
    expect()(board.locator("#connection")).to_have_text("Live", timeout=20_000)
    expect()(live).to_have_count(0)
    expect()(board.locator("#wb-calls")).to_contain_text("No calls in progress.")
    expect()(figure(board, "in-progress")).to_have_text("0")
    expect()(figure(board, "handled")).to_have_text(str(handled_before + 1))
    expect()(group(board, "wrap_up")).to_contain_text("Alice Archer")


def test_a_supervisor_sets_an_agents_status_and_sees_refusals_inline(wallboard, desktop, sim):
    board = wallboard()
    alice = desktop("alice")
    go_available(alice)
    row = group(board, "available").locator("li.wb-agent", has_text="Alice Archer")
    # Only the legal buttons: she is Available, so Away and Offline.
    expect()(row.get_by_role("button")).to_have_text(["Away", "Offline"])

    row.get_by_role("button", name="Away").click()
    away = group(board, "away").locator("li.wb-agent", has_text="Alice Archer")
    expect()(away).to_contain_text("Set by Sam Supervisor")
    expect()(alice.locator("#agent-status .status-label")).to_have_text("Away")

    # Alice calls out while Away; then a supervisor tries to take her off the call.
    card = call_dana(alice)
    busy = group(board, "on_call").locator("li.wb-agent", has_text="Alice Archer")
    expect()(busy).to_contain_text("On a call with Dana Diaz")
    expect()(busy.get_by_role("button")).to_have_count(0)  # her status follows the call

    # Sam holds Dana from the board, then tries again on a stale button: refused inline.
    live = board.locator("article.wb-call", has_text="Dana Diaz")
    member_row(live, "Dana Diaz").get_by_role("button", name="Hold").click()
    expect()(state_of(live, "Dana Diaz")).to_have_text("On hold")
    expect()(card.locator("tr.member[data-role=customer] .m-state")).to_have_text("On hold")
    board.evaluate(
        """() => {
          const row = [...document.querySelectorAll('article.wb-call tr.member')]
            .find(r => r.textContent.includes('Dana Diaz'));
          const unhold = row.querySelector('button.btn--unhold');
          const stale = unhold.cloneNode(true);
          stale.setAttribute('hx-post', unhold.getAttribute('hx-post').replace('unhold', 'hold'));
          stale.id = 'stale-hold';
          stale.textContent = 'Stale hold';
          row.querySelector('.m-buttons').appendChild(stale);
          htmx.process(stale);
        }"""
    )
    board.locator("#stale-hold").click()
    expect()(live.locator(".call-error")).to_contain_text(
        "Dana Diaz is not talking (on hold), so cannot be held."
    )
