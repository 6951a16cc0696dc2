"""What the agent typed into the dial box or a transfer field, turned into something callable.

The dial box takes a customer picked from the search list, a customer's name, a phone
number or a SIP address. A transfer field takes an agent picked from the list (their
username) or any number or SIP address.
"""

from __future__ import annotations

from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser

from agents.models import Agent
from agents.profiles import agent_by_name
from calls.addresses import InvalidAddress, normalize_address
from calls.models import Call, Customer
from calls.services import actions
from calls.services.errors import InvalidInput

MAX_INPUT = 255


def _looks_like_address(text: str) -> bool:
    """Digits and phone punctuation, or a SIP URI: anything else is a name to look up."""
    if text.lower().startswith(("sip:", "sips:")):
        return True
    return any(c.isdigit() for c in text) and all(c.isdigit() or c in "+-(). " for c in text)


def dial_customer_resolve(*, text: str) -> tuple[str, Customer | None]:
    """(what to pass as `to`, customer) for `call_start`. A name must match one customer."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("Type a customer's name, a phone number or a SIP address.")
    if len(text) > MAX_INPUT:
        raise InvalidInput(f"That is too long for an address ({MAX_INPUT} characters at most).")
    if _looks_like_address(text):
        try:
            return normalize_address(text), None
        except InvalidAddress as exc:
            raise InvalidInput(exc.args[0]) from exc
    matches = list(Customer.objects.filter(name__icontains=text).order_by("name")[:3])
    if not matches:
        raise InvalidInput(
            f"No customer is called {text!r}, and it is not a phone number or SIP address."
        )
    exact = [c for c in matches if c.name.lower() == text.lower()]
    if len(exact) == 1:
        matches = exact
    if len(matches) > 1:
        names = ", ".join(c.name for c in matches[:2])
        raise InvalidInput(
            f"Several customers match {text!r} ({names}, …): pick one from the list."
        )
    return "", matches[0]


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
    `call_start` need not fetch it again."""
    if customer_id is not None:
        customer = Customer.objects.filter(pk=customer_id).first()
        if customer is None:
            raise InvalidInput("That customer no longer exists; search again.")
        return actions.call_start(actor=actor, actor_agent=actor_agent, to="", customer=customer)
    to, found = dial_customer_resolve(text=text)
    return actions.call_start(actor=actor, actor_agent=actor_agent, to=to, customer=found)


class TransferTarget(NamedTuple):
    address: str
    agent: Agent | None  # found by name; None when a number or address was typed


def transfer_target_resolve(*, text: str) -> TransferTarget:
    """An agent's username (from the picker) becomes their endpoint, with the agent (the
    transfer services take it as `to_agent` rather than look it up again); anything else must
    be a phone number or SIP address."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("Choose an agent or type a number to transfer to.")
    if len(text) > MAX_INPUT:
        raise InvalidInput(f"That is too long for an address ({MAX_INPUT} characters at most).")
    if not _looks_like_address(text):
        agent = agent_by_name(text=text)
        if agent is None:
            raise InvalidInput(
                f"No agent is called {text!r}; pick one from the list or type a number."
            )
        return TransferTarget(address=agent.endpoint, agent=agent)
    try:
        return TransferTarget(address=normalize_address(text), agent=None)
    except InvalidAddress as exc:
        raise InvalidInput(exc.args[0]) from exc
