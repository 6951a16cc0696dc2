"""What the agent typed into the dial box or a transfer field, turned into something callable.

The dial box takes a customer picked from the search list, a customer's whole name, a phone
number or a SIP address. A transfer field takes an agent picked from the list (their
username) or any number or SIP address. Numbers are checked as the services check what they
dial (`calls.addresses.dialable_address`); a name that is only part of a customer's is not
dialled, so that a typo never calls whoever it happens to match.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q

from agents.models import Agent
from agents.profiles import agent_by_name
from agents.services.wrap_up import wrap_ups_dismiss_seen
from calls.addresses import display_address
from calls.models import Call, Customer
from calls.services import buttons
from calls.services.errors import InvalidInput
from calls.services.execution import dialable

MAX_INPUT = 255
SUGGESTIONS = 3  # names offered to pick from when a typed name is not a whole one
CANDIDATES = 50  # rows ranked to find those


def _looks_like_address(text: str) -> bool:
    """Digits and phone punctuation, or a SIP URI: anything else is a name to look up."""
    if text.lower().startswith(("sip:", "sips:")):
        return True
    return any(c.isdigit() for c in text) and all(c.isdigit() or c in "+-(). " for c in text)


def _typed(text: str, *, empty: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(empty)
    if len(text) > MAX_INPUT:
        raise InvalidInput(f"That is too long for an address ({MAX_INPUT} characters at most).")
    return text


def _to_dial(text: str) -> str:
    """A typed number or SIP address, refused here as the service would refuse it, and given
    back with its "+" so that the service reads the same number whatever the default region."""
    return display_address(dialable(text))


def dial_customer_resolve(*, text: str) -> tuple[str, Customer | None]:
    """(what to pass as `to`, customer) for `call_start`. A name must be one customer's whole
    name (any case); part of one gets the closest names to pick from, and is not dialled."""
    text = _typed(text, empty="Type a customer's name, a phone number or a SIP address.")
    if _looks_like_address(text):
        return _to_dial(text), None
    return "", _customer_named(name=" ".join(text.split()))


def _customer_named(*, name: str) -> Customer:
    exact = list(Customer.objects.filter(name__iexact=name)[:2])
    if len(exact) == 1:
        return exact[0]
    if exact:
        raise InvalidInput(f"Several customers are called {name!r}: pick one from the list.")
    close = _close_matches(name=name)
    if not close:
        raise InvalidInput(
            f"No customer is called {name!r}, and it is not a phone number or SIP address."
        )
    if len(close) == 1:
        raise InvalidInput(
            f"No customer is called {name!r}. Did you mean {close[0].name}? Pick them from"
            " the list, or type the whole name."
        )
    names = ", ".join(c.name for c in close[:SUGGESTIONS]) + (
        ", …" if len(close) > SUGGESTIONS else ""
    )
    raise InvalidInput(f"Several customers match {name!r} ({names}): pick one from the list.")


def _close_matches(*, name: str) -> list[Customer]:
    """Customers whose name holds what was typed, or one of its words, most alike first
    (what was typed, then one letter off): up to SUGGESTIONS, and one more if there are
    more."""
    condition = Q(name__icontains=name)
    for word in name.split():
        if len(word) > 1:
            condition |= Q(name__icontains=word)
    found = Customer.objects.filter(condition).order_by("name")[:CANDIDATES]
    typed = name.lower()

    def unlikeness(customer: Customer) -> tuple[bool, float]:
        theirs = customer.name.lower()
        return typed not in theirs, -SequenceMatcher(None, typed, theirs).ratio()

    return sorted(found, key=unlikeness)[: SUGGESTIONS + 1]


def desktop_call_place(
    *,
    actor: AbstractBaseUser,
    text: str,
    customer_id: int | None = None,
    actor_agent: Agent | None = None,
) -> Call:
    """Place a call from the dial box: a customer picked from the search list (the page forgets
    the pick as soon as the text is edited), else whatever was typed. `actor_agent`: the
    actor's agent, when the caller already has it. The customer found here is handed on, so
    `call_start` need not fetch it again. Placing it clears the outcomes of earlier attempts
    that reached nobody from the desktop: the agent has seen them."""
    if customer_id is not None:
        customer = Customer.objects.filter(pk=customer_id).first()
        if customer is None:
            raise InvalidInput("That customer no longer exists; search again.")
        call = buttons.call_start(actor=actor, actor_agent=actor_agent, to="", customer=customer)
    else:
        to, found = dial_customer_resolve(text=text)
        call = buttons.call_start(actor=actor, actor_agent=actor_agent, to=to, customer=found)
    wrap_ups_dismiss_seen(agent=call.owner)
    return call


class TransferTarget(NamedTuple):
    address: str  # what to pass as the transfer's `to`
    agent: Agent | None  # found by name; None when a number or address was typed


def transfer_target_resolve(*, text: str) -> TransferTarget:
    """An agent's username (from the picker) becomes their endpoint, with the agent (the
    transfer services take it as `to_agent` rather than look it up again); anything else must
    be a phone number or SIP address that can be dialled."""
    text = _typed(text, empty="Choose an agent or type a number to transfer to.")
    if _looks_like_address(text):
        return TransferTarget(address=_to_dial(text), agent=None)
    agent = agent_by_name(text=text)
    if agent is None:
        raise InvalidInput(f"No agent is called {text!r}; pick one from the list or type a number.")
    return TransferTarget(address=display_address(agent.endpoint), agent=agent)
