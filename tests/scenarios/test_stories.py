"""The scenario catalogue: whole call stories, from the first ring to the last page.

Each story drives a call the way people do: buttons through `calls.services.buttons` (and
the desktop's own services), phones through the simulator's hands, inbound callers through
its PHLO flow, which asks our routing endpoint. The app learns everything else from the
simulator's signed callbacks, delivered over HTTP to the real webhook. Time is the
simulator's manual clock: a story waits for a condition by advancing it, never by sleeping.

Every story ends by reading every page involved (`pages.story_end`): no call left live,
each agent's status and desktop card, the wallboard's figures, the call's admin row.

Each runs four ways: in both callback vocabularies, and in both again with the provider's
callbacks duplicated and reordered (chaos, a fixed seed). The end must be the same.
"""

import html
import json
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from agents.availability import agents_by_longest_wait
from agents.models import Agent
from agents.presence import (
    DECLINED_REASON,
    MISSED_CALL_REASON,
    OFFER_WITHDRAWN_REASON,
    agent_choose_status,
    agent_end_wrap_up,
)
from agents.rendering import render_full_state, render_status
from agents.services.ringing import ringing_leg_reject
from agents.services.wrap_up import call_wrap_up_save
from calls.admin.timeline import timeline_rows
from calls.models import Call, Member
from calls.services import buttons
from calls.services.errors import NotAllowed
from calls.wallboard.figures import wallboard_figures
from calls.wallboard.rendering import render_live_call
from calls.wallboard.selectors import wallboard_agents
from tests.scenarios.pages import (
    ENDED,
    LIVE,
    NONE,
    WRAP_UP,
    Board,
    Card,
    Desk,
    Figures,
    story_end,
)

pytestmark = pytest.mark.django_db(transaction=True)

Status = Agent.Status
Outcome = Call.Outcome
S = Member.State

ANSWER_DELAY = 1.0  # seconds a phone in "auto" mode rings before it answers
RING_TIMEOUT = 30.0  # the simulator's default: a phone nobody answers gives up after this
CHAOS = {"seed": 7, "duplicate": 0.3, "reorder_window": 3, "hold_seconds": 1}
# Callbacks held back: sent together (shuffled) every `hold_seconds`, as a slow provider does.
HELD = {"seed": 7, "duplicate": 0, "reorder_window": 1000, "hold_seconds": 2}
# Long enough for a chaos window that did not fill to be sent, with its duplicates.
SETTLE = 3.0

DANA = "+14155550101"  # Dana Diaz, a customer
LINE = "+14155550000"  # the contact center's number
BUSY = "+15005550001"
NO_ANSWER = "+15005550002"
VOICEMAIL = "+15005550003"
FAILS = "+15005550004"
RINGS = "+15005550005"  # rings until someone answers it on the phones page
NO_AGENT_MESSAGE = "15005550006"
OUTSIDE = "+14155550177"  # a partner's help desk: not one of our agents; answers at once


# --- the floor ---------------------------------------------------------------------------------


@pytest.fixture(params=["phlo", "mpc", "phlo-chaos", "mpc-chaos"])
def sim(request, live_server, settings, make_phlo_sim):
    """The simulator, its callbacks and routing requests reaching this app over HTTP."""
    vocabulary, _, chaos = request.param.partition("-")
    settings.PUBLIC_BASE_URL = live_server.url
    return make_phlo_sim(
        callback_url=f"{live_server.url}/webhooks/plivo/",
        vocabulary=vocabulary,
        answer_delay=ANSWER_DELAY,
        ring_timeout=RING_TIMEOUT,
        chaos={"": None, "chaos": CHAOS, "held": HELD}[chaos],
    )


@pytest.fixture
def alice(sim, alice):
    return alice


@pytest.fixture
def bob(sim, alice, bob):
    """Bob, who has waited less long than Alice for a call."""
    now = timezone.now()
    Agent.objects.filter(pk=alice.pk).update(status_changed_at=now - timedelta(minutes=9))
    Agent.objects.filter(pk=bob.pk).update(status_changed_at=now - timedelta(minutes=5))
    return bob


@pytest.fixture
def sam(sim, alice, sam):
    """A supervisor with a phone of his own, on the floor (Available)."""
    agent_choose_status(agent=sam.agent, status=Status.AVAILABLE)
    return sam


@pytest.fixture(autouse=True)
def dana(sim, dana):
    return dana


@pytest.fixture
def floor(sim, alice, bob):
    """Alice and Bob take inbound calls, answering by hand; Alice has waited longest."""
    for agent in (alice, bob):
        sim.phones.set_mode(agent.endpoint, "manual")
    return alice, bob


# --- driving a story ---------------------------------------------------------------------------


def until(sim, condition: Callable[[], bool], *, within: float = 10.0, what: str = "") -> None:
    """Advance the simulator's clock until `condition()` holds (callbacks are delivered as
    it goes), failing after `within` simulated seconds. A long wait (a ring-out) looks less
    often."""
    step, waited = (1.0 if within > 10 else 0.25), 0.0
    while not condition():
        assert waited < within, f"still waiting after {within} s: {what or condition}"
        sim.advance(step)
        waited += step


def leg(call: Call, address: str) -> Member:
    """The newest leg of `call` at `address` (any format)."""
    wanted = address.lstrip("+").replace(" ", "")
    found = [m for m in call.members.order_by("pk") if m.address.lstrip("+") == wanted]
    assert found, f"call {call.pk} has no leg at {address}"
    return found[-1]


def in_state(call: Call, address: str, *states: str) -> Callable[[], bool]:
    return lambda: leg(call, address).state in states


def ended(sim, call: Call, *, within: float = 10.0) -> Call:
    """Wait for the call to end, then for every late callback (duplicates, reordered ones)."""
    until(sim, lambda: not Call.objects.get(pk=call.pk).is_live, within=within, what="the end")
    sim.advance(SETTLE)
    call.refresh_from_db()
    return call


def place(agent: Agent, to: str) -> Call:
    """The agent dials `to` from the desktop."""
    return buttons.call_start(actor=agent.user, to=to)


def connected(sim, agent: Agent, to: str = DANA) -> Call:
    """The agent calls `to`; their phone answers, then the customer's: both talking."""
    call = place(agent, to)
    until(sim, in_state(call, agent.endpoint, S.TALKING), what="the agent answering")
    until(sim, in_state(call, to, S.TALKING), what="the customer answering")
    return call


def sim_leg(sim, address: str) -> dict | None:
    """The simulator's newest leg at `address` in any conference, or None if never rung."""
    wanted = address.lstrip("+")
    found = [
        m
        for conference in sim.snapshot()["conferences"]
        for m in conference["members"]
        if m["address"].lstrip("+") == wanted
    ]
    return found[-1] if found else None


def incoming(sim) -> Call:
    """Dana calls the contact center; routing rings an agent while she waits with music."""
    sim.inbound_call(from_=DANA, to=LINE)
    until(sim, lambda: Call.objects.exists(), what="routing")
    call = Call.objects.get()
    until(sim, in_state(call, DANA, S.WAITING), what="Dana on the call, waiting")
    return call


def ringing_for(sim, call: Call, agent: Agent) -> None:
    until(sim, in_state(call, agent.endpoint, S.DIALLING), what=f"{agent} ringing")


def answers(sim, call: Call, agent: Agent) -> None:
    """The agent picks up their ringing phone and talks with Dana."""
    ringing_for(sim, call, agent)
    sim.phones.answer(agent.endpoint)
    until(sim, in_state(call, agent.endpoint, S.TALKING), what=f"{agent} answering")
    until(sim, in_state(call, DANA, S.TALKING), what="Dana talking")


def status_of(agent: Agent) -> tuple[str, str]:
    agent.refresh_from_db()
    return agent.status, agent.status_reason


def owner_of(call: Call) -> Agent | None:
    call.refresh_from_db()
    return call.owner


# --- outbound: answered and ended by either side -----------------------------------------------


def talked_then_ended(sim, alice, *, end: Callable[[Call], None], outcome: str) -> None:
    """Alice calls Dana, they talk, `end(call)` ends it: Alice wraps the call up."""
    board = Board()
    call = connected(sim, alice)
    end(call)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=outcome,
        who="Dana Diaz",
        desks={alice: Desk(Status.WRAP_UP, card=WRAP_UP)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1),
    )


def test_outbound_answered_customer_hangs_up(sim, alice):
    """Alice calls Dana, who answers and later hangs up: the call ends for Alice too, and
    she wraps it up."""
    talked_then_ended(
        sim, alice, end=lambda call: sim.phones.hangup(DANA), outcome=Outcome.CUSTOMER_HUNG_UP
    )


def test_outbound_answered_agent_hangs_up_the_customer(sim, alice):
    """Alice presses Hang up on Dana's row: one press ends the call."""

    def hang_up_dana(call: Call) -> None:
        buttons.member_hangup(actor=alice.user, member_id=leg(call, DANA).pk)

    talked_then_ended(sim, alice, end=hang_up_dana, outcome=Outcome.AGENT_HUNG_UP)


def test_outbound_answered_agent_hangs_up_their_phone(sim, alice):
    """Alice puts her own phone down mid-call: Dana is not left alone on the line."""
    talked_then_ended(
        sim,
        alice,
        end=lambda call: sim.phones.hangup(alice.endpoint),
        outcome=Outcome.AGENT_HUNG_UP,
    )


# --- outbound: attempts that reach nobody ------------------------------------------------------


def unreached(
    sim,
    alice,
    call: Call,
    *,
    board: Board,
    outcome: str,
    who: str,
    within: float = 10.0,
    message: str = "",
) -> None:
    """An attempt that reached nobody ends by itself: Alice's card says why (until she
    dismisses it), she owes no disposition and is free for the next call at once."""
    story_end(
        sim=sim,
        call=ended(sim, call, within=within),
        outcome=outcome,
        who=who,
        desks={alice: Desk(Status.AVAILABLE, card=ENDED, message=message)},
        board=board,
        figures=Figures(calls_today=1),
    )


def test_outbound_busy(sim, alice):
    """Alice dials a busy number."""
    board = Board()
    call = place(alice, "+1 500 555 0001")
    unreached(sim, alice, call, board=board, outcome=Outcome.BUSY, who=BUSY)


def test_outbound_failed(sim, alice):
    """Alice dials a number the carrier cannot reach."""
    board = Board()
    call = place(alice, "+1 500 555 0004")
    unreached(sim, alice, call, board=board, outcome=Outcome.FAILED, who=FAILS)


def test_outbound_no_answer(sim, alice):
    """Alice dials a number that rings out."""
    board = Board()
    call = place(alice, "+1 500 555 0002")
    unreached(
        sim,
        alice,
        call,
        board=board,
        outcome=Outcome.NO_ANSWER,
        who=NO_ANSWER,
        within=RING_TIMEOUT + 10,
    )


def test_outbound_cancelled_while_the_customer_rings(sim, alice):
    """Alice gives up while the number she called still rings: she hangs it up."""
    board = Board()
    call = place(alice, "+1 500 555 0005")
    until(sim, in_state(call, RINGS, S.DIALLING), what="the number ringing")
    buttons.member_hangup(actor=alice.user, member_id=leg(call, RINGS).pk)
    unreached(sim, alice, call, board=board, outcome=Outcome.CANCELLED, who=RINGS)


def test_outbound_cancelled_by_a_supervisor_while_the_customer_rings(sim, alice, sam):
    """Sam stops the number Alice called ringing, from the wallboard: her card says who
    cancelled it (not "Cancelled before … answered", which reads as if she had)."""
    board = Board()
    call = place(alice, "+1 500 555 0005")
    until(sim, in_state(call, RINGS, S.DIALLING), what="the number ringing")
    buttons.member_hangup(actor=sam, member_id=leg(call, RINGS).pk)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.CANCELLED,
        who=RINGS,
        desks={
            alice: Desk(
                Status.AVAILABLE,
                card=ENDED,
                message=f"Sam cancelled the call to {RINGS} before it was answered.",
            ),
            sam.agent: Desk(Status.AVAILABLE),
        },
        board=board,
        figures=Figures(calls_today=1),
    )


def test_outbound_cancelled_while_the_agent_phone_rings(sim, alice):
    """Alice's own phone is slow and she hangs up her leg before it answers: Dana was never
    dialled, and the simulator never rang her."""
    sim.phones.set_mode(alice.endpoint, "manual")
    board = Board()
    call = place(alice, DANA)
    sim.advance(2 * ANSWER_DELAY)
    assert leg(call, DANA).state == S.PENDING
    buttons.member_hangup(actor=alice.user, member_id=leg(call, alice.endpoint).pk)
    until(sim, in_state(call, DANA, S.LEFT), what="the call ending")
    dana = leg(call, DANA)
    assert dana.end_cause == Member.EndCause.NOT_DIALLED
    assert sim_leg(sim, DANA) is None
    unreached(sim, alice, call, board=board, outcome=Outcome.CANCELLED, who="Dana Diaz")


def test_outbound_cancelled_from_the_customers_row_while_the_agent_phone_rings(sim, alice):
    """The same, pressed where an agent looks (Hang up on Dana's row, the `x` key): her own
    phone stops ringing too, so no later call can find it ringing for this one, and Dana
    is never dialled."""
    sim.phones.set_mode(alice.endpoint, "manual")
    board = Board()
    call = place(alice, DANA)
    sim.advance(2 * ANSWER_DELAY)
    assert leg(call, DANA).state == S.PENDING
    buttons.member_hangup(actor=alice.user, member_id=leg(call, DANA).pk)
    until(sim, lambda: sim_leg(sim, alice.endpoint)["state"] == "gone", what="her ring ending")
    assert leg(call, DANA).end_cause == Member.EndCause.NOT_DIALLED
    assert sim_leg(sim, DANA) is None
    unreached(sim, alice, call, board=board, outcome=Outcome.CANCELLED, who="Dana Diaz")


def test_outbound_agent_phone_never_answers(sim, alice):
    """Alice's phone rings out: the attempt ends without Dana ever being called."""
    sim.phones.set_mode(alice.endpoint, "no_answer")
    board = Board()
    call = place(alice, DANA)
    unreached(
        sim,
        alice,
        call,
        board=board,
        outcome=Outcome.AGENT_UNREACHABLE,
        who="Dana Diaz",
        within=RING_TIMEOUT + 10,
    )
    assert leg(call, DANA).end_cause == Member.EndCause.NOT_DIALLED
    assert sim_leg(sim, DANA) is None


def test_outbound_agent_declines_on_her_own_phone(sim, alice):
    """Alice's phone rings for the call she placed and she presses reject on it: her card
    says so, not that her phone did not answer."""
    sim.phones.set_mode(alice.endpoint, "manual")
    board = Board()
    call = place(alice, DANA)
    until(sim, in_state(call, alice.endpoint, S.DIALLING), what="her phone ringing")
    sim.phones.reject(alice.endpoint)
    unreached(
        sim,
        alice,
        call,
        board=board,
        outcome=Outcome.AGENT_UNREACHABLE,
        who="Dana Diaz",
        message="Your phone declined the call (or was busy), so Dana Diaz was not called.",
    )


# --- outbound: along the way -------------------------------------------------------------------


def voicemail_story(sim, alice, *, press, outcome: str) -> None:
    """A voicemail machine answers and Alice presses `press` on it: the outcome says how it
    went, on the card, in the admin and the CSV alike. She wraps it up. A machine is no
    customer: nothing handled, nothing abandoned."""
    board = Board()
    call = place(alice, "+1 500 555 0003")
    until(sim, in_state(call, VOICEMAIL, S.VOICEMAIL), what="the machine answering")
    press(actor=alice.user, member_id=leg(call, VOICEMAIL).pk)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=outcome,
        who=VOICEMAIL,
        desks={alice: Desk(Status.WRAP_UP, card=WRAP_UP)},
        board=board,
        figures=Figures(calls_today=1),
    )


def test_outbound_voicemail_drop(sim, alice):
    """Alice drops her recorded message, which ends the call."""
    voicemail_story(sim, alice, press=buttons.member_voicemail_drop, outcome=Outcome.VOICEMAIL_LEFT)


def test_outbound_voicemail_hung_up_without_a_message(sim, alice):
    """Alice hangs up on the machine instead: no message was left."""
    voicemail_story(sim, alice, press=buttons.member_hangup, outcome=Outcome.VOICEMAIL)


def test_outbound_slow_agent_phone_rings_the_customer_only_once_answered(sim, alice):
    """Alice's phone takes its time: Dana is not rung (nobody would be there for her) until
    Alice answers; then they talk, and Dana hangs up."""
    sim.phones.set_mode(alice.endpoint, "manual")
    board = Board()
    call = place(alice, DANA)
    sim.advance(5 * ANSWER_DELAY)
    assert leg(call, alice.endpoint).state == S.DIALLING
    assert leg(call, DANA).state == S.PENDING
    assert sim_leg(sim, DANA) is None
    sim.phones.answer(alice.endpoint)
    until(sim, in_state(call, DANA, S.TALKING), what="Dana answering")
    sim.phones.hangup(DANA)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.CUSTOMER_HUNG_UP,
        who="Dana Diaz",
        desks={alice: Desk(Status.WRAP_UP, card=WRAP_UP)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1),
    )


def test_outbound_hold_and_unhold(sim, alice):
    """Alice puts Dana on hold (the wallboard sees her waiting), takes her back, and Dana
    hangs up."""
    board = Board()
    call = connected(sim, alice)
    buttons.member_hold(actor=alice.user, member_id=leg(call, DANA).pk)
    sim.advance(SETTLE)
    assert leg(call, DANA).state == S.ON_HOLD
    assert wallboard_figures().customers_on_hold == 1
    buttons.member_unhold(actor=alice.user, member_id=leg(call, DANA).pk)
    sim.advance(SETTLE)
    assert leg(call, DANA).state == S.TALKING
    sim.phones.hangup(DANA)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.CUSTOMER_HUNG_UP,
        who="Dana Diaz",
        desks={alice: Desk(Status.WRAP_UP, card=WRAP_UP)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1),
    )


# --- warm transfers ----------------------------------------------------------------------------


def consulting(sim, call: Call, alice: Agent, bob: Agent) -> None:
    """Alice starts a warm transfer to Bob: Dana on hold, Bob answers and they consult."""
    buttons.transfer_warm_start(actor=alice.user, call_id=call.pk, to=bob.endpoint)
    until(sim, in_state(call, bob.endpoint, S.TALKING), what="Bob answering the consult")
    assert leg(call, DANA).state == S.ON_HOLD


def warm_transfer_completed(sim, alice: Agent, bob: Agent) -> Call:
    """Alice consults Bob, brings Dana back to both of them, then leaves: Bob has the call."""
    call = connected(sim, alice)
    consulting(sim, call, alice, bob)
    buttons.transfer_resume(actor=alice.user, call_id=call.pk)
    until(sim, in_state(call, DANA, S.TALKING), what="everyone talking")
    sim.phones.hangup(alice.endpoint)
    until(sim, lambda: owner_of(call) == bob, what="Bob owning the call")
    sim.advance(SETTLE)
    return call


def test_warm_transfer_resumed_then_the_first_agent_leaves(sim, alice, bob):
    """Alice consults Bob, brings Dana back with both of them, then leaves: Bob owns the
    call and Alice wraps up her part at once; when Dana hangs up, Bob wraps up his."""
    board = Board()
    call = warm_transfer_completed(sim, alice, bob)
    assert call.is_live and status_of(alice) == (Status.WRAP_UP, "")
    sim.phones.hangup(DANA)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.CUSTOMER_HUNG_UP,
        who="Dana Diaz",
        desks={alice: Desk(Status.WRAP_UP, card=WRAP_UP), bob: Desk(Status.WRAP_UP, card=WRAP_UP)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1, transfers_warm=1),
    )


def test_warm_transfer_first_agent_sees_her_disposition_card_at_once(sim, alice, bob):
    """Once Alice has left Dana with Bob, her desktop asks for her part's disposition while
    Bob still talks."""
    call = warm_transfer_completed(sim, alice, bob)
    card = Card.of(agent=alice, call=call)
    assert (card.placement, card.asks_disposition) == (WRAP_UP, True)


CONSULTATION_LEFT = (
    "Bob left the consultation: the transfer did not go through, and Dana Diaz is back with you."
)


@pytest.mark.parametrize("ended_by", ["her Abort", "his phone", "his desktop"])
def test_warm_transfer_aborted(sim, alice, bob, ended_by):
    """Alice consults Bob, then takes Dana back herself (Abort), or Bob hangs up first (on his
    phone, or with his desktop's Hang up): Dana is back with Alice, Bob is straight back to
    Available with nothing to wrap up, the wallboard counts an aborted consult and no
    transfer. When Bob left, Alice's card says so for a moment (else it would be Connected
    again without a word, as after her own Abort)."""
    board = Board()
    call = connected(sim, alice)
    consulting(sim, call, alice, bob)
    if ended_by == "her Abort":
        buttons.transfer_abort(actor=alice.user, call_id=call.pk)
    elif ended_by == "his phone":
        sim.phones.hangup(bob.endpoint)
    else:
        buttons.member_hangup(actor=bob.user, member_id=leg(call, bob.endpoint).pk)
    until(sim, in_state(call, bob.endpoint, S.LEFT), what="Bob gone")
    until(sim, in_state(call, DANA, S.TALKING), what="Dana back with Alice")
    sim.advance(SETTLE)
    assert status_of(bob) == (Status.AVAILABLE, "")
    assert Card.of(agent=bob, call=call).placement == NONE
    card = html.unescape(render_full_state(agent=Agent.objects.get(pk=alice.pk)))
    if ended_by == "her Abort":
        assert "left the consultation" not in card and "did not go through" not in card
    else:
        assert CONSULTATION_LEFT in card
    buttons.member_hangup(actor=alice.user, member_id=leg(call, DANA).pk)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.AGENT_HUNG_UP,
        who="Dana Diaz",
        desks={alice: Desk(Status.WRAP_UP, card=WRAP_UP), bob: Desk(Status.AVAILABLE)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1, consults_aborted=1),
    )


def test_warm_transfer_target_busy(sim, alice, bob):
    """Bob's phone is busy when Alice tries to consult him: Dana comes back to Alice, Bob is
    not ready (saying why), and nothing was transferred."""
    sim.phones.set_mode(bob.endpoint, "busy")
    board = Board()
    call = connected(sim, alice)
    buttons.transfer_warm_start(actor=alice.user, call_id=call.pk, to=bob.endpoint)
    until(sim, in_state(call, bob.endpoint, S.BUSY), what="Bob busy")
    until(sim, in_state(call, DANA, S.TALKING), what="Dana back with Alice")
    call.refresh_from_db()
    assert call.transfer_kind == "" and call.owner == alice
    sim.phones.hangup(DANA)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.CUSTOMER_HUNG_UP,
        who="Dana Diaz",
        desks={alice: Desk(Status.WRAP_UP, card=WRAP_UP), bob: Desk(Status.AWAY, DECLINED_REASON)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1),
    )


def test_warm_transfer_ring_a_supervisor_stops(sim, alice, bob, sam):
    """Bob's phone rings for Alice's consult but Bob is not at his desk; Sam stops it ringing
    from the wallboard. Dana is back with Alice, whose card says why for a moment; Bob is
    Away saying why (not offered the next caller), and nothing was transferred."""
    sim.phones.set_mode(bob.endpoint, "manual")
    board = Board()
    call = connected(sim, alice)
    buttons.transfer_warm_start(actor=alice.user, call_id=call.pk, to=bob.endpoint)
    until(sim, in_state(call, bob.endpoint, S.DIALLING), what="Bob ringing")
    buttons.member_hangup(actor=sam, member_id=leg(call, bob.endpoint).pk)
    until(sim, in_state(call, DANA, S.TALKING), what="Dana back with Alice")
    card = render_full_state(agent=Agent.objects.get(pk=alice.pk))
    assert "The ring to Bob was stopped: the transfer did not go through." in html.unescape(card)
    assert status_of(bob) == (Status.AWAY, OFFER_WITHDRAWN_REASON)
    sim.phones.hangup(DANA)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.CUSTOMER_HUNG_UP,
        who="Dana Diaz",
        desks={
            alice: Desk(Status.WRAP_UP, card=WRAP_UP),
            bob: Desk(Status.AWAY, OFFER_WITHDRAWN_REASON),
            sam.agent: Desk(Status.AVAILABLE),
        },
        board=board,
        figures=Figures(calls_today=1, calls_handled=1),
    )


# --- cold transfers ----------------------------------------------------------------------------


def cold_transfer_answered(sim, alice: Agent, bob: Agent) -> Call:
    """Alice hands Dana to Bob, who answers: Alice is off the call, Bob talks with Dana."""
    call = connected(sim, alice)
    buttons.transfer_cold(actor=alice.user, call_id=call.pk, to=bob.endpoint)
    until(sim, lambda: owner_of(call) == bob, what="Bob answering")
    until(sim, in_state(call, alice.endpoint, S.LEFT), what="Alice handed over")
    sim.advance(SETTLE)
    assert leg(call, DANA).state == S.TALKING
    return call


def test_cold_transfer_answered(sim, alice, bob):
    """Alice hands Dana to Bob: when Bob answers, Alice is off the call and wraps up her
    part at once; Bob owns the call and wraps it up when Dana hangs up."""
    board = Board()
    call = cold_transfer_answered(sim, alice, bob)
    assert status_of(alice) == (Status.WRAP_UP, "")
    sim.phones.hangup(DANA)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.CUSTOMER_HUNG_UP,
        who="Dana Diaz",
        desks={alice: Desk(Status.WRAP_UP, card=WRAP_UP), bob: Desk(Status.WRAP_UP, card=WRAP_UP)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1, transfers_cold=1),
    )


def test_a_cold_transfer_back_to_the_first_agent_that_she_declines_stays_failed(sim, alice, bob):
    """Alice hands Dana to Bob; Bob tries to hand her back, and Alice declines. When Dana
    hangs up, the call is Bob's and that transfer failed: Alice's own answered leg from
    before it is not her answering it (the call was counted as transferred back to her,
    and she was asked for its disposition)."""
    board = Board()
    call = cold_transfer_answered(sim, alice, bob)
    sim.phones.set_mode(alice.endpoint, "manual")
    assert agent_end_wrap_up(agent=alice)
    buttons.transfer_cold(actor=bob.user, call_id=call.pk, to=alice.endpoint)
    until(sim, in_state(call, alice.endpoint, S.DIALLING), what="Alice ringing")
    sim.phones.reject(alice.endpoint)
    until(sim, lambda: not Call.objects.get(pk=call.pk).transfer_kind, what="transfer failed")
    sim.advance(SETTLE)
    assert owner_of(call) == bob
    sim.phones.hangup(DANA)
    call = ended(sim, call)
    assert owner_of(call) == bob
    assert list(call.transfers.values_list("outcome", flat=True)) == ["completed", "failed"]
    story_end(
        sim=sim,
        call=call,
        outcome=Outcome.CUSTOMER_HUNG_UP,
        who="Dana Diaz",
        desks={
            alice: Desk(Status.AWAY, reason=DECLINED_REASON, card=WRAP_UP),
            bob: Desk(Status.WRAP_UP, card=WRAP_UP),
        },
        board=board,
        figures=Figures(calls_today=1, calls_handled=1, transfers_cold=1),
    )


def test_cold_transfer_first_agent_sees_her_disposition_card_at_once(sim, alice, bob):
    """Once Bob has answered Alice's cold transfer, her desktop asks for her part's
    disposition while Bob still talks with Dana."""
    call = cold_transfer_answered(sim, alice, bob)
    card = Card.of(agent=alice, call=call)
    assert (card.placement, card.asks_disposition) == (WRAP_UP, True)
    # Her part was owed as Bob answered, a moment before the provider took her out and
    # her wrap-up began: the bar counts it all the same.
    assert "1 call to wrap up" in render_status(agent=Agent.objects.get(pk=alice.pk))


HANDED_OVER = {
    "warm": (warm_transfer_completed, "transfers_warm"),
    "cold": (cold_transfer_answered, "transfers_cold"),
}


def part_text(*, agent: Agent, call: Call) -> str:
    """What the agent's card says of how their own part of the call ended ("" if nothing)."""
    page = render_full_state(agent=Agent.objects.get(pk=agent.pk))
    found = re.search(rf'<p class="call-part" id="call-{call.pk}-part">(.*?)</p>', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip() if found else ""


def wallboard_row(agent: Agent) -> tuple[str, int | None]:
    """The agent's status group on the wallboard, and the live call shown on their row."""
    for group in wallboard_agents():
        for row in group.agents:
            if row.agent.pk == agent.pk:
                return group.status, row.call.pk if row.call else None
    raise AssertionError(f"{agent} is not on the wallboard")


@pytest.mark.parametrize("kind", HANDED_OVER)
def test_first_agent_wraps_up_her_part_and_takes_the_next_call_while_the_call_goes_on(
    sim, alice, bob, kind
):
    """Alice hands Dana over to Bob. While they talk, her card asks for her part's
    disposition and says whom she gave the call to, and the wallboard has her in wrap-up;
    she saves it and is Available for the next call. The call goes on with Bob, who wraps
    it up at its end; its disposition is his, hers stays her part's."""
    hand_over, counted = HANDED_OVER[kind]
    board = Board()
    call = hand_over(sim, alice, bob)
    assert part_text(agent=alice, call=call) == (
        "You transferred Dana Diaz to Bob. The call goes on without you."
    )
    assert (wallboard_row(alice), wallboard_row(bob)) == (
        (Status.WRAP_UP, None),
        (Status.ON_CALL, call.pk),
    )
    assert Card.of(agent=bob, call=call).placement == LIVE
    client = Client()
    client.force_login(alice.user)
    saved = client.post(
        f"/desktop/calls/{call.pk}/wrap-up/",
        {"disposition": "Escalated", "notes": "Billing question, Bob has it."},
        HTTP_HX_REQUEST="true",
    )
    assert saved.status_code == 200 and "Wrap-up saved: Dana Diaz (Escalated)" in saved.text
    assert status_of(alice) == (Status.AVAILABLE, "")
    assert alice in agents_by_longest_wait()  # routing may give her the next call
    assert Card.of(agent=alice, call=call).placement == NONE
    assert Card.of(agent=bob, call=call).placement == LIVE
    call.refresh_from_db()
    assert call.is_live and call.disposition == ""
    assert wallboard_figures().calls_in_progress == 1
    sim.phones.hangup(DANA)
    call = ended(sim, call)
    owed = call.wrap_ups.values_list("agent__user__username", "disposition", "done_at")
    assert sorted((who, what, done is None) for who, what, done in owed) == [
        ("alice", "Escalated", False),
        ("bob", "", True),
    ]
    story_end(
        sim=sim,
        call=call,
        outcome=Outcome.CUSTOMER_HUNG_UP,
        who="Dana Diaz",
        desks={alice: Desk(Status.AVAILABLE), bob: Desk(Status.WRAP_UP, card=WRAP_UP)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1, **{counted: 1}),
    )


@pytest.mark.parametrize("first_part", ["saved", "left without a disposition"])
def test_transferred_back_to_the_first_agent_after_she_wrapped_up_her_part(
    sim, alice, bob, first_part
):
    """Alice hands Dana over to Bob and wraps up her part at once (or ends her wrap-up
    time without a disposition); Bob later gives Dana back to her with a warm transfer of
    his own. Alice owes a disposition again, for the part that ends with the call, and is
    in wrap-up for it; Bob owes one for his."""
    board = Board()
    call = warm_transfer_completed(sim, alice, bob)
    if first_part == "saved":
        wrap_up_saved = call_wrap_up_save(
            actor=alice.user, call_id=call.pk, disposition="Escalated", notes=""
        )
        assert wrap_up_saved.is_live
    else:
        assert agent_end_wrap_up(agent=alice)
    assert status_of(alice) == (Status.AVAILABLE, "")
    buttons.transfer_warm_start(actor=bob.user, call_id=call.pk, to=alice.endpoint)
    until(sim, in_state(call, alice.endpoint, S.TALKING), what="Alice answering the consult")
    buttons.transfer_resume(actor=bob.user, call_id=call.pk)
    until(sim, in_state(call, DANA, S.TALKING), what="everyone talking")
    sim.phones.hangup(bob.endpoint)
    until(sim, lambda: owner_of(call) == alice, what="Alice owning the call again")
    sim.advance(SETTLE)
    assert Card.of(agent=alice, call=call).placement == LIVE
    sim.phones.hangup(DANA)
    # The first part's disposition is kept beside the one now owed (it was wiped); one left
    # without a disposition is simply still owed, now for the call's end.
    parts = call.wrap_ups.filter(agent=alice).order_by("created_at", "pk")
    if first_part == "saved":
        until(sim, lambda: parts.count() == 2, what="her second part owed")
        assert [(w.disposition, w.done_at is None) for w in parts] == [
            ("Escalated", False),
            ("", True),
        ]
    else:
        assert [(w.disposition, w.done_at is None) for w in parts] == [("", True)]
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.CUSTOMER_HUNG_UP,
        who="Dana Diaz",
        desks={alice: Desk(Status.WRAP_UP, card=WRAP_UP), bob: Desk(Status.WRAP_UP, card=WRAP_UP)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1, transfers_warm=2),
    )


# Not PHLO's vocabulary reordered: there the cut-off may read as Dana hanging up.
@pytest.mark.parametrize("sim", ["phlo", "mpc", "mpc-chaos"], indirect=True)
def test_a_later_transfer_not_taken_is_told_to_whoever_has_the_call(sim, alice, bob):
    """Alice hands Dana to Bob (a warm transfer); Bob gives her back; Alice then hands Dana
    to an outside number and puts her phone down while it rings, and nobody answers: Dana is
    cut off. While it rang, Alice's card spoke of that transfer, not of her first one to Bob;
    at the end it is Alice's to call Dana back, and Bob's card, still waiting for his part's
    disposition, says so rather than telling him to."""
    board = Board()
    call = warm_transfer_completed(sim, alice, bob)
    buttons.transfer_warm_start(actor=bob.user, call_id=call.pk, to=alice.endpoint)
    until(sim, in_state(call, alice.endpoint, S.TALKING), what="Alice answering the consult")
    buttons.transfer_resume(actor=bob.user, call_id=call.pk)
    until(sim, in_state(call, DANA, S.TALKING), what="everyone talking")
    sim.phones.hangup(bob.endpoint)
    until(sim, lambda: owner_of(call) == alice, what="Alice owning the call again")
    buttons.transfer_cold(actor=alice.user, call_id=call.pk, to=NO_ANSWER)
    until(sim, in_state(call, NO_ANSWER, S.DIALLING), what="the number ringing")
    sim.phones.hangup(alice.endpoint)
    until(sim, in_state(call, alice.endpoint, S.LEFT), what="Alice gone")
    sim.advance(SETTLE)
    page = html.unescape(render_full_state(agent=Agent.objects.get(pk=alice.pk)))
    assert "You left while your transfer to" in page
    assert "You transferred Dana Diaz to Bob" not in page
    story_end(
        sim=sim,
        call=ended(sim, call, within=RING_TIMEOUT + 10),
        outcome=Outcome.TRANSFER_NOT_TAKEN,
        who="Dana Diaz",
        desks={
            alice: Desk(Status.WRAP_UP, card=WRAP_UP),
            bob: Desk(
                Status.WRAP_UP,
                card=WRAP_UP,
                message=(
                    "Dana Diaz was cut off later, when a transfer after yours was not taken."
                    " Alice is asked to call them back."
                ),
            ),
        },
        board=board,
        figures=Figures(calls_today=1, calls_handled=1, transfers_warm=2),
    )


def transfer_left_ringing(sim, alice: Agent, bob: Agent, *, kind: str) -> Call:
    """Alice hands Dana to Bob (a cold transfer, or a warm one: she starts consulting him)
    and puts her phone down while his still rings. Nothing is handed on yet: Dana waits on
    hold for Bob, the call still Alice's, who wraps up her part at once (her card saying whom
    Dana waits for) and may no longer take Dana off hold; Bob's phone rings as a transfer to
    him, which he may decline; no page counts a transfer."""
    sim.phones.set_mode(bob.endpoint, "manual")
    transfers = {"cold": "transfers_cold", "warm": "transfers_warm"}[kind]
    before = getattr(wallboard_figures(), transfers)
    start = {"cold": buttons.transfer_cold, "warm": buttons.transfer_warm_start}[kind]
    call = connected(sim, alice)
    start(actor=alice.user, call_id=call.pk, to=bob.endpoint)
    until(sim, in_state(call, bob.endpoint, S.DIALLING), what="Bob ringing")
    sim.phones.hangup(alice.endpoint)
    until(sim, in_state(call, alice.endpoint, S.LEFT), what="Alice gone")
    sim.advance(SETTLE)
    call.refresh_from_db()
    assert (call.owner, call.transfer_kind) == (alice, kind)
    assert leg(call, DANA).state == S.ON_HOLD
    assert status_of(alice) == (Status.WRAP_UP, "")
    card = Card.of(agent=alice, call=call)
    assert (card.placement, card.asks_disposition) == (WRAP_UP, True)
    page = html.unescape(render_full_state(agent=Agent.objects.get(pk=alice.pk)))
    assert (
        "You left while your transfer to Bob rang: Dana Diaz waits on hold until it is"
        " answered." in page
    )
    assert "Not answered" not in page  # his phone still rings: a row, not folded away
    with pytest.raises(NotAllowed, match="You are not on this call"):
        buttons.member_unhold(actor=alice.user, member_id=leg(call, DANA).pk)
    page = html.unescape(render_full_state(agent=Agent.objects.get(pk=bob.pk)))
    # No briefing to expect from Alice: answering takes Dana at once.
    assert "Dana Diaz waits on hold for you: Alice transferred the call and left." in page
    assert f'id="call-{call.pk}-reject"' in page
    assert getattr(wallboard_figures(), transfers) == before
    return call


@pytest.mark.parametrize("kind", ["cold", "warm"])
def test_first_agent_hangs_up_before_the_target_answers(sim, alice, bob, kind):
    """Alice hands Dana to Bob and puts her phone down while Bob's still rings; Bob answers:
    Dana comes off hold talking to him, the call and its wrap-up are his, and the transfer
    counts as done."""
    board = Board()
    call = transfer_left_ringing(sim, alice, bob, kind=kind)
    sim.phones.answer(bob.endpoint)
    until(sim, lambda: owner_of(call) == bob, what="Bob answering")
    until(sim, in_state(call, DANA, S.TALKING), what="Dana off hold with Bob")
    sim.phones.hangup(bob.endpoint)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.AGENT_HUNG_UP,
        who="Dana Diaz",
        desks={alice: Desk(Status.WRAP_UP, card=WRAP_UP), bob: Desk(Status.WRAP_UP, card=WRAP_UP)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1, **{f"transfers_{kind}": 1}),
    )


@pytest.mark.parametrize("kind", ["cold", "warm"])
@pytest.mark.parametrize("bob_does", ["declines", "lets it ring out"])
def test_transfer_not_taken_after_the_first_agent_left(sim, alice, bob, bob_does, kind):
    """Alice hands Dana to Bob and puts her phone down while Bob's rings, as the desktop
    allows; Bob declines (or lets it ring out). Dana, alone on the call, is cut off by the
    provider. Nobody ended the call on purpose: the call stayed Alice's, her card says Dana
    was cut off and asks her to call back, the admin says so, Bob is not ready (saying why),
    and nothing was transferred."""
    board = Board()
    call = transfer_left_ringing(sim, alice, bob, kind=kind)
    declined = bob_does == "declines"
    if declined:
        sim.phones.reject(bob.endpoint)
    story_end(
        sim=sim,
        call=ended(sim, call, within=RING_TIMEOUT + 10),
        outcome=Outcome.TRANSFER_NOT_TAKEN,
        who="Dana Diaz",
        desks={
            alice: Desk(Status.WRAP_UP, card=WRAP_UP),
            bob: Desk(Status.AWAY, DECLINED_REASON if declined else MISSED_CALL_REASON),
        },
        board=board,
        figures=Figures(calls_today=1, calls_handled=1),
    )
    # The outcome says she had left: not said twice (PHLO's reordered exits may tell of
    # Dana hanging up instead, after which it is said).
    call = Call.objects.get(pk=call.pk)
    if call.outcome == Outcome.TRANSFER_NOT_TAKEN:
        page = html.unescape(render_full_state(agent=Agent.objects.get(pk=alice.pk)))
        assert "You left the call" not in page
        # Her after-call time runs from when she could know, not from when she left.
        agent = Agent.objects.get(pk=alice.pk)
        assert agent.wrap_up_until > call.ended_at + timedelta(seconds=50)


# Not PHLO's vocabulary reordered: its exits do not tell that the ring outlived Alice, so
# the cut-off may read as Dana hanging up (UNKNOWABLE_WHEN_REORDERED), and nobody is told.
@pytest.mark.parametrize("sim", ["phlo", "mpc", "mpc-chaos"], indirect=True)
@pytest.mark.parametrize("kind", ["cold", "warm"])
def test_transfer_not_taken_after_the_first_agent_wrapped_up_her_part(sim, alice, bob, kind):
    """Alice hands Dana to Bob, puts her phone down while his rings and saves her wrap-up at
    once, as her card asks: she is Available. Bob declines; Dana is cut off. Alice could not
    have known when she wrapped up: she is back in wrap-up for the call, from now, her card
    saying Dana was cut off and to call back, and asking again for its disposition."""
    board = Board()
    call = transfer_left_ringing(sim, alice, bob, kind=kind)
    call_wrap_up_save(actor=alice.user, call_id=call.pk, disposition="Resolved", notes="")
    assert status_of(alice) == (Status.AVAILABLE, "")
    assert Card.of(agent=alice, call=call).placement == NONE
    sim.phones.reject(bob.endpoint)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.TRANSFER_NOT_TAKEN,
        who="Dana Diaz",
        desks={
            alice: Desk(Status.WRAP_UP, card=WRAP_UP),
            bob: Desk(Status.AWAY, DECLINED_REASON),
        },
        board=board,
        figures=Figures(calls_today=1, calls_handled=1),
    )
    # Her after-call time runs from when she could know.
    assert Agent.objects.get(pk=alice.pk).wrap_up_until > call.ended_at + timedelta(seconds=50)


def test_cold_transfer_to_a_number_that_rings_out(sim, alice):
    """Alice hands Dana to a number nobody answers: Dana comes back to Alice, the call goes
    on, and Alice wraps it up when it ends."""
    board = Board()
    call = connected(sim, alice)
    buttons.transfer_cold(actor=alice.user, call_id=call.pk, to="+1 500 555 0002")
    until(sim, in_state(call, NO_ANSWER, S.NO_ANSWER), within=RING_TIMEOUT + 10, what="ring-out")
    until(sim, in_state(call, DANA, S.TALKING), what="Dana back with Alice")
    call.refresh_from_db()
    assert call.is_live and call.transfer_kind == "" and call.owner == alice
    assert leg(call, alice.endpoint).state == S.TALKING
    sim.phones.hangup(DANA)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.CUSTOMER_HUNG_UP,
        who="Dana Diaz",
        desks={alice: Desk(Status.WRAP_UP, card=WRAP_UP)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1),
    )


def test_cold_transfer_to_an_outside_number_that_hangs_up(sim, alice):
    """Alice hands Dana to a number outside the contact center, which answers and later
    hangs up: the call ended on the outside party's side, not by one of our agents."""
    board = Board()
    call = connected(sim, alice)
    buttons.transfer_cold(actor=alice.user, call_id=call.pk, to=OUTSIDE)
    until(sim, in_state(call, OUTSIDE, S.TALKING), what="the outside number answering")
    until(sim, in_state(call, alice.endpoint, S.LEFT), what="Alice handed over")
    sim.phones.hangup(OUTSIDE)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.OUTSIDE_HUNG_UP,
        who="Dana Diaz",
        desks={alice: Desk(Status.WRAP_UP, card=WRAP_UP)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1, transfers_cold=1),
    )


def test_cold_transfer_to_an_outside_number_agent_wraps_up_while_it_goes_on(sim, alice):
    """Alice hands Dana to an outside number. No agent takes the call over, so it stays
    hers, but her part is over: her card asks for its disposition at once, saving it is
    accepted while Dana still talks with the outside party, and she is Available. The
    call's end later asks her for nothing more."""
    board = Board()
    call = connected(sim, alice)
    buttons.transfer_cold(actor=alice.user, call_id=call.pk, to=OUTSIDE)
    until(sim, in_state(call, OUTSIDE, S.TALKING), what="the outside number answering")
    until(sim, in_state(call, alice.endpoint, S.LEFT), what="Alice handed over")
    assert Card.of(agent=alice, call=call).asks_disposition
    client = Client()
    client.force_login(alice.user)
    saved = client.post(
        f"/desktop/calls/{call.pk}/wrap-up/", {"disposition": "Escalated"}, HTTP_HX_REQUEST="true"
    )
    assert saved.status_code == 200, saved.text
    assert status_of(alice) == (Status.AVAILABLE, "")
    assert Card.of(agent=alice, call=call).placement == NONE
    call.refresh_from_db()
    assert call.is_live and call.disposition == "Escalated"
    sim.phones.hangup(OUTSIDE)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.OUTSIDE_HUNG_UP,
        who="Dana Diaz",
        desks={alice: Desk(Status.AVAILABLE)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1, transfers_cold=1),
    )


# --- supervisors -------------------------------------------------------------------------------


def barged(sim, alice: Agent, sam) -> Call:
    """Sam joins Alice's call with Dana from his own phone."""
    call = connected(sim, alice)
    buttons.call_join(actor=sam, call_id=call.pk)
    until(sim, in_state(call, sam.agent.endpoint, S.TALKING), what="Sam joining")
    return call


def test_supervisor_barges_in_then_the_customer_hangs_up(sim, alice, sam):
    """Sam joins Alice's call with Dana; Dana hangs up: Alice wraps up, Sam is straight back
    to Available."""
    board = Board()
    call = barged(sim, alice, sam)
    sim.phones.hangup(DANA)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.CUSTOMER_HUNG_UP,
        who="Dana Diaz",
        desks={alice: Desk(Status.WRAP_UP, card=WRAP_UP), sam.agent: Desk(Status.AVAILABLE)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1),
    )


def test_supervisor_barges_in_then_the_agent_leaves(sim, alice, sam):
    """Alice leaves Dana with Sam, who barged in: her part is over, so she wraps it up at
    once; Sam ends the call and is straight back to Available."""
    board = Board()
    call = barged(sim, alice, sam)
    sim.phones.hangup(alice.endpoint)
    until(sim, in_state(call, alice.endpoint, S.LEFT), what="Alice leaving")
    sim.advance(SETTLE)
    assert Call.objects.get(pk=call.pk).is_live
    assert status_of(alice) == (Status.WRAP_UP, "")
    # The wallboard's card no longer says she is on it.
    assert "Agent Alice (left the call)" in html.unescape(render_live_call(call_id=call.pk))
    buttons.member_hangup(actor=sam, member_id=leg(call, DANA).pk)
    # Alice's card says who ended it: "on our side" would read as if she had.
    by_sam = Desk(Status.WRAP_UP, card=WRAP_UP, message="Sam ended the call with Dana Diaz.")
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.AGENT_HUNG_UP,
        who="Dana Diaz",
        desks={alice: by_sam, sam.agent: Desk(Status.AVAILABLE)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1),
    )


def test_supervisor_hangs_up_the_customer(sim, alice, sam):
    """From the wallboard, Sam hangs up Dana on Alice's call: it ends for everyone, and
    nobody counts it as abandoned."""
    board = Board()
    call = connected(sim, alice)
    buttons.member_hangup(actor=sam, member_id=leg(call, DANA).pk)
    # Alice's card says who ended it: "on our side" would read as if she had.
    by_sam = Desk(Status.WRAP_UP, card=WRAP_UP, message="Sam ended the call with Dana Diaz.")
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.AGENT_HUNG_UP,
        who="Dana Diaz",
        desks={alice: by_sam, sam.agent: Desk(Status.AVAILABLE)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1),
    )


# --- inbound -----------------------------------------------------------------------------------


def test_inbound_answered_caller_hangs_up(sim, floor):
    """Dana calls in; Alice, who has waited longest, answers; Dana hangs up."""
    alice, bob = floor
    board = Board()
    call = incoming(sim)
    answers(sim, call, alice)
    sim.phones.hangup(DANA)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.CUSTOMER_HUNG_UP,
        who="Dana Diaz",
        desks={alice: Desk(Status.WRAP_UP, card=WRAP_UP), bob: Desk(Status.AVAILABLE)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1),
    )


def test_inbound_declined_goes_to_the_next_agent(sim, floor):
    """Alice declines Dana's call: it rings Bob, who takes it. Alice is not ready, saying
    why, with no card and nothing to wrap up; Bob wraps up when Dana hangs up."""
    alice, bob = floor
    board = Board()
    call = incoming(sim)
    ringing_for(sim, call, alice)
    ringing_leg_reject(actor=alice.user, member_id=leg(call, alice.endpoint).pk)
    answers(sim, call, bob)
    assert status_of(alice) == (Status.AWAY, DECLINED_REASON)
    assert Card.of(agent=alice, call=call).placement == NONE
    sim.phones.hangup(DANA)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.CUSTOMER_HUNG_UP,
        who="Dana Diaz",
        desks={alice: Desk(Status.AWAY, DECLINED_REASON), bob: Desk(Status.WRAP_UP, card=WRAP_UP)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1),
    )
    # The admin's timeline names her button (PHLO was sent a hang-up of her leg).
    assert sent_to_phlo(call) == [("Reject (hang up)", "Alice"), ("Call", "system")]


def sent_to_phlo(call: Call) -> list[tuple[str, str]]:
    """The call's timeline in the admin: each action sent, and who pressed it."""
    return [(row.title, row.who.split(" ")[0]) for row in timeline_rows(call=call) if row.sent]


def test_inbound_offer_a_supervisor_hangs_up_goes_to_the_next_agent(sim, floor, sam):
    """Dana's call rings Alice, who is not at her desk; Sam stops it ringing from the
    wallboard. Alice may only have rejected it herself (no Hang up on her ringing card); she
    is Away saying why, so Dana goes to Bob, who takes her and wraps up when she hangs up."""
    alice, bob = floor
    board = Board()
    call = incoming(sim)
    ringing_for(sim, call, alice)
    with pytest.raises(NotAllowed, match="you can only reject it"):
        buttons.member_hangup(actor=alice.user, member_id=leg(call, alice.endpoint).pk)
    buttons.member_hangup(actor=sam, member_id=leg(call, alice.endpoint).pk)
    answers(sim, call, bob)
    assert status_of(alice) == (Status.AWAY, OFFER_WITHDRAWN_REASON)
    assert Card.of(agent=alice, call=call).placement == NONE
    sim.phones.hangup(DANA)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.CUSTOMER_HUNG_UP,
        who="Dana Diaz",
        desks={
            alice: Desk(Status.AWAY, OFFER_WITHDRAWN_REASON),
            bob: Desk(Status.WRAP_UP, card=WRAP_UP),
            sam.agent: Desk(Status.AVAILABLE),
        },
        board=board,
        figures=Figures(calls_today=1, calls_handled=1),
    )
    assert sent_to_phlo(call) == [("Hang up", "Sam"), ("Call", "system")]


@pytest.mark.parametrize("sim", ["phlo-held", "mpc-held"], indirect=True)
def test_inbound_declined_before_the_callers_join_arrives_goes_to_the_next_agent(sim, floor):
    """Alice declines Dana's call before the provider's word that Dana is on it has arrived:
    the call rings Bob as soon as it does, not when housekeeping finds Dana waiting."""
    alice, bob = floor
    board = Board()
    sim.inbound_call(from_=DANA, to=LINE)
    until(sim, lambda: Call.objects.exists(), what="routing")
    call = Call.objects.get()
    assert leg(call, DANA).state == S.DIALLING  # her join is still on its way
    ringing_leg_reject(actor=alice.user, member_id=leg(call, alice.endpoint).pk)
    assert owner_of(call) is None  # nobody to offer to yet: Dana is not known to wait
    until(sim, lambda: owner_of(call) == bob, within=HELD["hold_seconds"] + 1, what="Bob")
    answers(sim, call, bob)
    assert status_of(alice) == (Status.AWAY, DECLINED_REASON)
    sim.phones.hangup(DANA)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.CUSTOMER_HUNG_UP,
        who="Dana Diaz",
        desks={alice: Desk(Status.AWAY, DECLINED_REASON), bob: Desk(Status.WRAP_UP, card=WRAP_UP)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1),
    )


def test_inbound_rung_out_goes_to_the_next_agent(sim, floor):
    """Alice lets Dana's call ring out: it rings Bob, who takes it and later ends it."""
    alice, bob = floor
    board = Board()
    call = incoming(sim)
    ringing_for(sim, call, alice)
    until(sim, lambda: owner_of(call) == bob, within=RING_TIMEOUT + 10, what="offered to Bob")
    assert status_of(alice) == (Status.AWAY, MISSED_CALL_REASON)
    answers(sim, call, bob)
    sim.phones.hangup(bob.endpoint)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.AGENT_HUNG_UP,
        who="Dana Diaz",
        desks={
            alice: Desk(Status.AWAY, MISSED_CALL_REASON),
            bob: Desk(Status.WRAP_UP, card=WRAP_UP),
        },
        board=board,
        figures=Figures(calls_today=1, calls_handled=1),
    )


def test_inbound_agent_goes_away_while_it_rings(sim, floor):
    """Alice goes to lunch while Dana's call rings her: it goes to Bob, who takes it; Alice
    is Away for the reason she gave."""
    alice, bob = floor
    board = Board()
    call = incoming(sim)
    ringing_for(sim, call, alice)
    agent_choose_status(agent=alice, status=Status.AWAY, reason="Lunch")
    answers(sim, call, bob)
    assert status_of(alice) == (Status.AWAY, "Lunch")
    sim.phones.hangup(DANA)
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.CUSTOMER_HUNG_UP,
        who="Dana Diaz",
        desks={alice: Desk(Status.AWAY, "Lunch"), bob: Desk(Status.WRAP_UP, card=WRAP_UP)},
        board=board,
        figures=Figures(calls_today=1, calls_handled=1),
    )


def test_inbound_declined_by_everyone_gets_the_no_agent_message(sim, floor):
    """Alice and Bob both decline: Dana hears the no-agent message, then the call ends.
    Nobody owes a wrap-up, and Dana did not abandon: she was told nobody could answer."""
    alice, bob = floor
    board = Board()
    call = incoming(sim)
    for agent in (alice, bob):
        ringing_for(sim, call, agent)
        ringing_leg_reject(actor=agent.user, member_id=leg(call, agent.endpoint).pk)
    until(sim, in_state(call, NO_AGENT_MESSAGE, S.TALKING), what="the message playing")
    assert leg(call, NO_AGENT_MESSAGE).role == Member.Role.NO_AGENT
    story_end(
        sim=sim,
        call=ended(sim, call),
        outcome=Outcome.NO_AGENT,
        who="Dana Diaz",
        desks={alice: Desk(Status.AWAY, DECLINED_REASON), bob: Desk(Status.AWAY, DECLINED_REASON)},
        board=board,
        figures=Figures(calls_today=1),
    )


def test_inbound_with_nobody_available(sim, floor):
    """Everyone is at lunch when Dana calls: routing says nobody is free, the flow plays the
    message, and supervisors see the call as one nobody took."""
    alice, bob = floor
    for agent in (alice, bob):
        agent_choose_status(agent=agent, status=Status.AWAY, reason="Lunch")
    board = Board()
    sim.inbound_call(from_=DANA, to=LINE)
    until(sim, lambda: sim.routing_requests, what="the routing request")
    [request] = sim.routing_requests
    assert request.status == 200 and json.loads(request.response)["result"] == "no_agent"
    until(sim, lambda: sim.snapshot()["inbound"][0]["state"] == "ended", what="the message")
    story_end(
        sim=sim,
        call=Call.objects.get(),
        outcome=Outcome.NO_AGENT,
        who="Dana Diaz",
        desks={alice: Desk(Status.AWAY, "Lunch"), bob: Desk(Status.AWAY, "Lunch")},
        board=board,
        figures=Figures(calls_today=1),
    )


def test_inbound_abandoned_while_ringing(sim, floor):
    """Dana hangs up while Alice's phone still rings: an abandoned call; Alice did nothing
    wrong and is straight back to Available, and nobody else is rung for a caller who left."""
    alice, bob = floor
    board = Board()
    call = incoming(sim)
    ringing_for(sim, call, alice)
    sim.phones.hangup(DANA)
    call = ended(sim, call)
    assert not call.members.filter(agent=bob).exists()
    story_end(
        sim=sim,
        call=call,
        outcome=Outcome.ABANDONED,
        who="Dana Diaz",
        desks={alice: Desk(Status.AVAILABLE), bob: Desk(Status.AVAILABLE)},
        board=board,
        figures=Figures(calls_today=1, abandoned=1),
    )
