"""What every page says at the end of a call story, read the way people read it.

- the agents' statuses (`Agent`), and each agent's desktop as rendered for them: whether the
  call's card is there, where it sits (live, a wrap-up asking for a disposition, or an
  attempt that reached nobody, shown until dismissed) and its outcome message;
- the wallboard's figures, as changes over the story (`Board`);
- the admin's call list, as a supervisor gets it over HTTP: the call's row, its outcome and
  whether it has a duration.

`story_end` checks all of it at once, and that nothing is left live, here or at the
provider.
"""

from __future__ import annotations

import html
import re
import warnings
from dataclasses import dataclass, fields

from django.test import Client

from agents.models import Agent
from agents.rendering import render_full_state
from calls.models import Call, CallbackEvent
from calls.wallboard.figures import wallboard_figures
from tests.factories import make_user

Status = Agent.Status
Outcome = Call.Outcome

# How the admin's call list names each outcome, as supervisors read it.
ADMIN_LABELS = {
    Outcome.CUSTOMER_HUNG_UP: "Customer hung up",
    Outcome.AGENT_HUNG_UP: "Ended on our side",
    Outcome.OUTSIDE_HUNG_UP: "Outside number hung up",
    Outcome.TRANSFER_NOT_TAKEN: "Cut off, transfer not taken",
    Outcome.VOICEMAIL_LEFT: "Voicemail, message left",
    Outcome.VOICEMAIL: "Voicemail, no message",
    Outcome.BUSY: "Busy",
    Outcome.NO_ANSWER: "No answer",
    Outcome.FAILED: "Failed",
    Outcome.CANCELLED: "Cancelled",
    Outcome.AGENT_UNREACHABLE: "Agent's phone did not answer",
    Outcome.ABANDONED: "Abandoned",
    Outcome.NO_AGENT: "No agent",
    Outcome.ENDED_WHILE_WAITING: "Ended while waiting",
}
# Calls that reached nobody: no conversation, so no duration in the admin.
REACHED_NOBODY = {
    Outcome.BUSY,
    Outcome.NO_ANSWER,
    Outcome.FAILED,
    Outcome.CANCELLED,
    Outcome.AGENT_UNREACHABLE,
    Outcome.ABANDONED,
    Outcome.NO_AGENT,
    Outcome.ENDED_WHILE_WAITING,
}


# --- the desktop -------------------------------------------------------------------------------

LIVE, WRAP_UP, ENDED, NONE = "live", "wrap_up", "ended", ""


@dataclass(frozen=True)
class Card:
    """One call's card on one agent's desktop, as rendered for them."""

    placement: str  # LIVE, WRAP_UP, ENDED, or NONE when the card is not there
    message: str = ""  # the outcome message, unescaped
    asks_disposition: bool = False  # the "Save wrap-up" form
    dismissable: bool = False  # the "Dismiss" button

    @classmethod
    def of(cls, *, agent: Agent, call: Call) -> Card:
        page = render_full_state(agent=Agent.objects.get(pk=agent.pk))
        found = re.search(
            rf'<article id="call-{call.pk}" class="call call--(\w+)[^"]*".*?</article>', page, re.S
        )
        if found is None:
            return cls(placement=NONE)
        card = found.group(0)
        message = re.search(r'<p class="call-outcome"[^>]*>.*?<strong>(.*?)</strong>', card, re.S)
        return cls(
            placement=found.group(1),
            message=html.unescape(message.group(1)) if message else "",
            asks_disposition='<form class="wrap-up"' in card and "Save wrap-up" in card,
            dismissable=f'id="call-{call.pk}-dismiss"' in card and "Dismiss" in card,
        )


@dataclass(frozen=True)
class Desk:
    """What one agent should end a story with: a status (and its reason), and where the
    call's card sits on their desktop (NONE: not there). A card there says the outcome."""

    status: str
    reason: str = ""
    card: str = NONE
    message: str = ""  # the card's outcome message, when not the outcome's usual one


# What a card says of each outcome, about `who` the call was with.
MESSAGES = {
    Outcome.CUSTOMER_HUNG_UP: "{who} hung up.",
    Outcome.AGENT_HUNG_UP: "The call with {who} was ended on our side.",
    Outcome.OUTSIDE_HUNG_UP: "{who} was handed to an outside number, which hung up.",
    Outcome.TRANSFER_NOT_TAKEN: (
        "{who} was cut off: the transfer was not taken after you left. Call them back."
    ),
    Outcome.VOICEMAIL_LEFT: "{who}'s voicemail answered; your message was left.",
    Outcome.VOICEMAIL: "{who}'s voicemail answered; no message was left.",
    Outcome.BUSY: "{who} was busy.",
    Outcome.NO_ANSWER: "{who} did not answer.",
    Outcome.FAILED: "The call to {who} failed: the number could not be reached.",
    Outcome.CANCELLED: "Cancelled before {who} answered.",
    Outcome.AGENT_UNREACHABLE: "Your phone did not answer, so {who} was not called.",
}


def expected_card(desk: Desk, *, outcome: str, who: str) -> Card:
    if desk.card == NONE:
        return Card(placement=NONE)
    return Card(
        placement=desk.card,
        message=desk.message or MESSAGES[outcome].format(who=who),
        asks_disposition=desk.card == WRAP_UP,
        dismissable=desk.card == ENDED,
    )


def check_desk(*, agent: Agent, call: Call, desk: Desk, outcome: str, who: str) -> None:
    agent = Agent.objects.get(pk=agent.pk)
    name = agent.user.username
    assert (agent.status, agent.status_reason) == (desk.status, desk.reason), name
    card = Card.of(agent=agent, call=call)
    assert card == expected_card(desk, outcome=outcome, who=who), name


# --- the wallboard -----------------------------------------------------------------------------

COUNTED = (
    "calls_today",
    "calls_handled",
    "transfers_warm",
    "transfers_cold",
    "consults_aborted",
    "abandoned",
)


@dataclass(frozen=True)
class Figures:
    """The wallboard's headline counts that a story changes."""

    calls_today: int = 0
    calls_handled: int = 0
    transfers_warm: int = 0
    transfers_cold: int = 0
    consults_aborted: int = 0
    abandoned: int = 0

    @classmethod
    def of(cls, board) -> Figures:
        """The counted figures of a `calls.wallboard.figures.Figures`."""
        return cls(**{name: getattr(board, name) for name in COUNTED})

    def __sub__(self, other: Figures) -> Figures:
        return Figures(
            **{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)}
        )


class Board:
    """The wallboard's figures when a story starts; `check_board` compares the end's."""

    def __init__(self) -> None:
        self.before = Figures.of(wallboard_figures())


def check_board(board: Board, expected: Figures) -> None:
    now = wallboard_figures()
    assert (now.calls_in_progress, now.customers_on_hold) == (0, 0)
    assert Figures.of(now) - board.before == expected
    # The figures add up: every call is today's, ended, and handled, abandoned or neither.
    assert now.calls_today == Call.objects.count()
    assert now.calls_handled + now.abandoned <= now.calls_today
    assert sum(h.reached_agent for h in now.hours) == now.calls_handled


# --- the admin ---------------------------------------------------------------------------------


def admin_row(call: Call) -> str:
    """The call's row in the admin's call list, as a superuser gets it."""
    client = Client()
    client.force_login(make_user(is_staff=True, is_superuser=True))
    response = client.get("/admin/calls/call/")
    assert response.status_code == 200
    page = response.content.decode()
    start = page.index(f">#{call.pk}</a>")
    return page[start : page.index("</tr>", start)]


def check_admin(call: Call, outcome: str) -> None:
    row = admin_row(call)
    state = re.search(r'class="field-state_display">(.*?)</td>', row, re.S).group(1)
    duration = re.search(r'class="field-duration">(.*?)</td>', row, re.S).group(1)
    # "No agent" says where the caller was sent: "No agent: voicemail" / ": message".
    assert html.unescape(state).split(":")[0] == ADMIN_LABELS[outcome], state
    assert (duration == "—") == (outcome in REACHED_NOBODY), duration


# --- the whole story ---------------------------------------------------------------------------


class ReorderedOutcome(UserWarning):
    """A story's outcome came out as one of its partners in UNKNOWABLE_WHEN_REORDERED."""


# Who ended a call, when the callbacks arrive out of order. The leg whose leaving ended the
# call and the legs the provider then took out all exit "completed"; when a taken-out leg's
# exit arrives first, it reads as that side hanging up (and an inbound caller taken out by a
# conference end that arrives before their own exit reads as nobody having taken the call).
# PHLO's node variables carry no time or order, so who left first cannot be known: only
# under chaos in that vocabulary, and only between these pairs, may the outcome differ, and
# every page must then agree with the outcome there is (the story passes, with a
# ReorderedOutcome warning). The Multiparty Call callbacks number their events
# (SequenceNumber) and the app follows that order: there the outcome must be exact.
UNKNOWABLE_WHEN_REORDERED = {
    Outcome.CUSTOMER_HUNG_UP: (Outcome.AGENT_HUNG_UP, Outcome.TRANSFER_NOT_TAKEN),
    Outcome.AGENT_HUNG_UP: (Outcome.CUSTOMER_HUNG_UP,),
    Outcome.ABANDONED: (Outcome.NO_AGENT,),
    # The outside number's exit, the customer's, and the first agent's (handed over earlier)
    # may arrive in any order: whoever's reads as last of our side, or the customer's first.
    Outcome.OUTSIDE_HUNG_UP: (Outcome.CUSTOMER_HUNG_UP, Outcome.AGENT_HUNG_UP),
    # The ring's end and the customer's exit likewise.
    Outcome.TRANSFER_NOT_TAKEN: (Outcome.CUSTOMER_HUNG_UP, Outcome.AGENT_HUNG_UP),
}


def reordered(sim) -> bool:
    chaos = sim.config.chaos
    return bool(chaos and chaos.reorder_window > 1)


def settled_outcome(*, sim, call: Call, expected: str) -> str:
    """The outcome the pages must show: the expected one, but for the PHLO vocabulary's
    reordered exits (see UNKNOWABLE_WHEN_REORDERED)."""
    actual = call.outcome
    if actual == expected or not reordered(sim) or sim.config.vocabulary != "phlo":
        assert actual == expected, describe(call)
        return expected
    assert actual in UNKNOWABLE_WHEN_REORDERED.get(expected, ()), describe(call)
    why = (
        f"call {call.pk}: {actual} instead of {expected} (chaos {sim.config.chaos},"
        f" {sim.config.vocabulary}): {describe(call)}"
    )
    warnings.warn(ReorderedOutcome(why), stacklevel=3)
    return actual


def describe(call: Call) -> str:
    """The call's legs, for a failure's message."""
    legs = [
        f"{m.role} {m.address}: {m.state}"
        f"{f' ({m.end_cause})' if m.end_cause else ''}{'' if m.answered_at else ', unanswered'}"
        for m in call.members.order_by("pk")
    ]
    return f"call {call.pk} {call.status} {call.outcome or '-'}; " + "; ".join(legs)


def check_nothing_live(sim) -> None:
    """No call live here, nor at the provider."""
    live = Call.objects.filter(status__in=Call.LIVE_STATUSES)
    assert not live.exists(), [describe(c) for c in live]
    state = sim.snapshot()
    assert all(c["status"] == "completed" for c in state["conferences"]), state["conferences"]
    assert all(c["state"] in ("connected", "ended") for c in state["inbound"]), state["inbound"]


def check_callbacks(sim) -> None:
    """Every callback the provider sent reached the webhook and was taken in."""
    assert all(d.ok for d in sim.deliveries), [d.error for d in sim.deliveries if not d.ok]
    assert not CallbackEvent.objects.filter(outcome=CallbackEvent.Outcome.FAILED).exists()


def story_end(
    *,
    sim,
    call: Call,
    outcome: str,
    who: str,
    desks: dict[Agent, Desk],
    board: Board,
    figures: Figures,
) -> None:
    """The end of a story on every page: nothing live, the call's outcome, each agent's
    status and desktop (every agent there is must be named; a card says the outcome about
    `who`), the wallboard's figures and the call's admin row."""
    check_nothing_live(sim)
    check_callbacks(sim)
    call.refresh_from_db()
    outcome = settled_outcome(sim=sim, call=call, expected=outcome)
    assert {a.pk for a in desks} == set(Agent.objects.values_list("pk", flat=True))
    for agent, desk in desks.items():
        check_desk(agent=agent, call=call, desk=desk, outcome=outcome, who=who)
    check_board(board, figures)
    check_admin(call, outcome)
