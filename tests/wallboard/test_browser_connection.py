"""The wallboard's live connection (static/live/connection.js, shared with the agent desktop)
in real headless Chromium: a supervisor who signs out in another tab is signed out on the
board too, which then stops reconnecting; a socket whose heartbeat goes unanswered is
replaced, and the board resyncs to the full state.

On the shared browser harness (tests/fixtures_browser.py). The board is reached through a
proxy of this module's own, which can silence a websocket the way a dead NAT or a sleeping
laptop does: the connection stays open and nothing gets through, either way. The pages'
time is Playwright's clock, installed before they load and left to run: a test jumps it
forward past the next heartbeat instead of waiting for it, so the page's own heartbeat
settings are the ones tested.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

from tests.browser_pages import expect, log_in, mark_document, was_reloaded

pytestmark = pytest.mark.browser

# One jump of the pages' clock, longer than the heartbeat (a ping every 4 s, answered within
# 3 s): like a laptop that wakes, it fires each due timer once, so one jump is one heartbeat.
LID_CLOSED = "01:00"
# Longer than any reconnect delay (connection.js caps its backoff at 30 s). Run with
# `run_for` only while the page has no socket: it fires every timer in the span at once,
# so two heartbeats would leave no time for the pong in between.
LONGEST_BACKOFF = "00:31"
SIGNED_OUT = "You have been signed out."

# Recorded in every page: the close codes its websockets reported, the badge's states, and
# in what order the last ping went out and the last message came in (`seq`: the page takes
# anything that comes after its ping for the answer).
RECORDER = """
window.__live = {
  closes: [], badge: [], heartbeats: 0, pings: 0, seq: 0, pingSeq: 0, messageSeq: 0,
};
var send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  if (String(data).indexOf('"ping"') >= 0) {
    window.__live.pings += 1;
    window.__live.pingSeq = ++window.__live.seq;
  }
  return send.apply(this, arguments);
};
document.addEventListener("DOMContentLoaded", function () {
  // The server's answers to the page's pings (pushes that come meanwhile do not count).
  document.body.addEventListener("htmx:wsBeforeMessage", function (evt) {
    window.__live.messageSeq = ++window.__live.seq;
    if (String(evt.detail.message).indexOf('id="heartbeat"') >= 0) window.__live.heartbeats += 1;
  });
  document.body.addEventListener("htmx:wsClose", function (evt) {
    var e = evt.detail && evt.detail.event;
    window.__live.closes.push(e ? e.code : 0);
  });
  // Every state, even one replaced within the same task: each record holds the value before.
  new MutationObserver(function (records) {
    records.slice(1).forEach(function (r) { window.__live.badge.push(r.oldValue); });
    window.__live.badge.push(document.body.dataset.connection);
  }).observe(document.body, {
    attributes: true, attributeOldValue: true, attributeFilter: ["data-connection"],
  });
});
"""


# --- a proxy that can silence a websocket ------------------------------------------------------


@dataclass(eq=False)
class Link:
    client: socket.socket
    upstream: socket.socket
    websocket: bool = False
    stalled: bool = False


class StallingProxy:
    """A TCP proxy in front of the app. `stall()` silences the websockets open now: they stay
    open and whatever is sent on them is lost, both ways; later connections work.
    `cut()` drops every connection and refuses new ones until `restore()`."""

    def __init__(self, *, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._links: set[Link] = set()
        self._up = threading.Event()
        self._up.set()
        threading.Thread(target=self._accept, daemon=True, name="stalling-proxy").start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                _reset(client)
                continue
            link = Link(client=client, upstream=upstream)
            with self._lock:
                self._links.add(link)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(link, source, sink), daemon=True).start()

    def _pump(self, link: Link, source: socket.socket, sink: socket.socket) -> None:
        first = source is link.client
        try:
            while chunk := source.recv(65536):
                if first:
                    link.websocket, first = chunk.startswith(b"GET /ws/"), False
                if not link.stalled:
                    sink.sendall(chunk)
        except OSError:
            pass
        finally:
            self._drop(link)

    def _drop(self, link: Link, *, abort: bool = False) -> None:
        with self._lock:
            self._links.discard(link)
        for sock in (link.client, link.upstream):
            if abort:
                _reset(sock)
                continue
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _current(self) -> list[Link]:
        with self._lock:
            return list(self._links)

    def stall(self) -> int:
        """Silence every open websocket; returns how many."""
        links = [link for link in self._current() if link.websocket]
        for link in links:
            link.stalled = True
        return len(links)

    def reset_stalled(self) -> None:
        """The silenced connections are finally reported dead (an RST on the way back)."""
        for link in self._current():
            if link.stalled:
                self._drop(link, abort=True)

    def cut(self) -> None:
        self._up.clear()
        for link in self._current():
            self._drop(link, abort=True)

    def restore(self) -> None:
        self._up.set()

    def stop(self) -> None:
        self._listener.close()
        self.cut()


def _reset(sock: socket.socket) -> None:
    # An abortive close (RST), like a connection lost on the way. The shutdown wakes the pump
    # blocked on it; without it, the close would wait for that pump.
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def proxy(stack) -> Iterator[StallingProxy]:
    front = StallingProxy(target_port=urlsplit(stack.app_url).port)
    yield front
    front.stop()


@dataclass
class Board:
    """A wallboard tab, and the wallboard websockets it has opened (as the network saw them)."""

    page: object  # playwright.sync_api.Page
    sockets: list = field(default_factory=list)
    # Cleared by a test that leaves the page on purpose (a new document is then expected).
    same_document: bool = True

    @property
    def badge(self):
        return self.page.locator("#connection")

    def closes(self) -> list[int]:
        return self.page.evaluate("window.__live.closes")

    def badge_states(self) -> list[str]:
        return self.page.evaluate("window.__live.badge")

    def forget_full_state(self) -> None:
        """Unmark the last full state, so `#heartbeat[data-full-state]` tells a new one came."""
        self.page.evaluate(
            "document.getElementById('heartbeat').removeAttribute('data-full-state')"
        )

    def settle(self, ms: int = 750) -> None:
        """Give a connection the page may be opening time to show up on the network."""
        self.page.wait_for_timeout(ms)


@pytest.fixture
def boards(browser, stack, sim, proxy) -> Iterator[Callable[..., Board]]:
    """Open wallboards as the demo supervisor in one browser session, through `proxy`:
    `boards()` logs in through the admin the board redirects to; later calls open more tabs."""
    context = browser.new_context(viewport={"width": 1480, "height": 1040})
    context.add_init_script(RECORDER)
    context.clock.install()
    base = f"http://127.0.0.1:{proxy.port}"
    opened: list[Board] = []
    errors: list[str] = []

    def open_board() -> Board:
        page = context.new_page()
        board = Board(page=page)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "websocket",
            lambda ws: board.sockets.append(ws) if "/ws/wallboard/" in ws.url else None,
        )
        page.goto(f"{base}/wallboard/")
        if not opened:
            log_in(page, username="sam")
            page.wait_for_url(f"{base}/wallboard/")
        expect()(board.badge).to_have_text("Live")
        mark_document(page)
        opened.append(board)
        return board

    yield open_board
    for board in opened:
        if board.same_document and not board.page.is_closed():
            assert not was_reloaded(board.page), "the wallboard was reloaded"
    context.close()
    assert not errors, errors


def agent_row(board: Board, name: str):
    return board.page.locator("li.wb-agent", has_text=name)


def log_out_in(page) -> None:
    """Press the page's own Log out (the wallboard's and the admin's post to admin:logout,
    which ends the session and lands on the login page)."""
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")


# --- signing out ---------------------------------------------------------------------------------


def test_signing_out_in_another_tab_signs_the_board_out_and_it_stays_out(boards):
    board = boards()
    other = boards()
    other.page.bring_to_front()  # the board is now a background tab
    other.same_document = False
    # Stop the pages' clocks (shared by the browser session): no heartbeat or timer can run
    # from here on, so only the logout itself can close the board.
    board.page.clock.pause_at(board.page.evaluate("Date.now()") + 1000)
    pings = []
    board.sockets[-1].on("framesent", lambda frame: pings.append(frame))
    log_out_in(other.page)

    # The logout (the admin's) closes the socket of every board of that session at once,
    # with the sign-out code.
    expect()(board.badge).to_have_text("Signed out")
    assert 4401 in board.closes()
    assert pings == []  # the board said nothing: the server closed it on its own
    toast = board.page.locator("#toast")
    expect()(toast).to_contain_text(f"{SIGNED_OUT} Log in again.")
    expect()(board.page.locator("#live")).to_have_count(0)
    board.page.clock.resume()
    opened = len(board.sockets)

    # Nothing brings the socket back: not the network returning, not the tab being shown
    # again, not the heartbeat, not any reconnect timer.
    board.page.context.set_offline(True)
    board.page.context.set_offline(False)
    board.page.bring_to_front()
    board.page.clock.fast_forward(LID_CLOSED)
    board.page.clock.run_for(LONGEST_BACKOFF)
    board.settle()
    assert len(board.sockets) == opened
    expect()(board.badge).to_have_text("Signed out")
    assert not was_reloaded(board.page)

    # "Log in again" goes through the admin's login and back to the board, live.
    board.same_document = False
    toast.get_by_role("link", name="Log in again").click()
    board.page.wait_for_url("**/admin/login/?next=/wallboard/")
    log_in(board.page, username="sam")
    board.page.wait_for_url("**/wallboard/")
    expect()(board.badge).to_have_text("Live")


def test_signed_out_while_the_board_was_cut_off(boards, stack, proxy):
    board = boards()
    proxy.cut()
    expect()(board.badge).to_have_text("Reconnecting…")

    # Another tab, on a connection that still works, signs the supervisor out.
    other = board.page.context.new_page()
    other.goto(f"{stack.ui_url}/admin/")
    log_out_in(other)
    proxy.restore()

    # The board's reconnects are now refused at the handshake (no user), which a page only
    # sees as failed connections; after a few it asks the session check: signed out.
    board.page.clock.fast_forward(LONGEST_BACKOFF)
    expect()(board.badge).to_have_text("Signed out")
    expect()(board.page.locator("#toast")).to_contain_text(f"{SIGNED_OUT} Log in again.")
    expect()(board.page.locator("#live")).to_have_count(0)
    assert 4401 not in board.closes()  # never let in, so never closed with a code
    signed_out = len(board.sockets)

    # Not even a retry the ws extension had scheduled before the sign-out connects again.
    board.page.clock.run_for(LONGEST_BACKOFF)
    board.settle()
    board.page.clock.fast_forward(LID_CLOSED)
    board.page.clock.run_for(LONGEST_BACKOFF)
    board.settle()
    assert len(board.sockets) == signed_out
    expect()(board.badge).to_have_text("Signed out")


# --- the heartbeat -------------------------------------------------------------------------------


def replace_by_heartbeat(board: Board) -> None:
    """With the board's socket silenced, let two heartbeats pass: the first ping goes
    unanswered, the second heartbeat replaces the socket, and a full state comes."""
    board.page.clock.fast_forward(LID_CLOSED)
    board.page.clock.fast_forward(LID_CLOSED)
    expect()(board.page.locator("#heartbeat")).to_have_attribute("data-full-state", "true")
    expect()(board.badge).to_have_text("Live")


def test_an_unanswered_heartbeat_replaces_the_socket_and_the_board_resyncs(boards, desktop, proxy):
    alice = desktop("alice")
    board = boards()
    row = agent_row(board, "Alice Archer")
    expect()(row).to_have_attribute("data-status", "offline")
    board.forget_full_state()
    seen = len(board.badge_states())
    assert proxy.stall() == 1

    # Alice comes on shift while the board's socket is silent: a tab opened now sees it,
    # the board does not, and nothing on the board tells its socket is dead.
    alice.locator("#agent-status").get_by_role("button", name="Available", exact=True).click()
    witness = boards()
    expect()(agent_row(witness, "Alice Archer")).to_have_attribute("data-status", "available")
    witness.page.close()  # its own heartbeats are not under test
    expect()(row).to_have_attribute("data-status", "offline")
    expect()(board.badge).to_have_text("Live")

    # One heartbeat goes unanswered; the next replaces the socket, and the new one brings
    # the whole board.
    replace_by_heartbeat(board)
    expect()(row).to_have_attribute("data-status", "available")
    expect()(board.page.locator("#wb-group-available")).to_contain_text("Alice Archer")
    states = board.badge_states()[seen:]
    # Said as a reconnect throughout, never as a first "Connecting…".
    assert states[0] == "reconnecting" and states[-1] == "live", states
    assert "connecting" not in states, states
    assert len(board.sockets) == 2

    # Live again: Alice's next change arrives as a push.
    alice.locator("#agent-status").get_by_role("button", name="Away", exact=True).click()
    expect()(row).to_have_attribute("data-status", "away")
    assert len(board.sockets) == 2


def test_a_silently_dead_connection_is_noticed_within_ten_seconds(boards, proxy):
    board = boards()
    board.forget_full_state()
    seen = len(board.badge_states())
    assert proxy.stall() == 1  # nothing gets through any more, and nothing says so

    # Nine seconds of the page's time, every timer running: a ping goes out, its answer
    # never comes, and the page says so and reconnects on its own.
    board.page.clock.run_for("00:09")
    assert "reconnecting" in board.badge_states()[seen:], board.badge_states()[seen:]
    expect()(board.page.locator("#heartbeat")).to_have_attribute("data-full-state", "true")
    expect()(board.badge).to_have_text("Live")
    assert len(board.sockets) == 2


def test_a_healthy_connection_is_left_alone(boards):
    board = boards()
    # A minute of answered pings: each jump of the clock sends one, and the next jump waits
    # for its answer, as a healthy network delivers it. The page's clock stands still while
    # the answer travels: on a busy machine that can take longer than the page's 3 s in real
    # time, which the page would rightly take for a dead connection. And the answer awaited
    # is a message that came after this ping: counting heartbeats, a late answer to the
    # previous ping passed for this one (the flake hunt's run 4 of 5 on 8fa7efe).
    board.page.clock.pause_at(board.page.evaluate("Date.now()") + 1000)
    pings = board.page.evaluate("window.__live.pings")
    answered = "window.__live.pingSeq === 0 || window.__live.messageSeq > window.__live.pingSeq"
    for _ in range(15):
        board.page.wait_for_function(answered)  # the ping in flight (if any) has its answer
        board.page.clock.fast_forward("00:04")
    board.page.wait_for_function(answered)
    assert board.page.evaluate("window.__live.pings") - pings == 15  # one per jump, answered
    expect()(board.badge).to_have_text("Live")
    assert len(board.sockets) == 1, (board.closes(), board.badge_states())


def test_a_replaced_socket_that_dies_later_leaves_its_successor_alone(boards, proxy):
    board = boards()
    board.forget_full_state()
    assert proxy.stall() == 1
    replace_by_heartbeat(board)
    assert len(board.sockets) == 2

    # The silent connection is at last reported dead: an RST here. Without one, Chromium
    # gives up on its closing handshake by itself, about a minute on, with the same 1006.
    proxy.reset_stalled()
    expect()(board.badge).to_have_text("Live")
    board.settle(2000)  # longer than the extension's first retry delay (at most 0.5 s)
    assert len(board.sockets) == 2, f"{len(board.sockets)} sockets, closes {board.closes()}"
