"""Customers created from the desktop: an unknown caller becomes a customer in one step."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q

from agents.permissions import is_supervisor
from agents.profiles import agent_for_user
from agents.services.wrap_up import may_write_on_call
from calls.models import Call, Customer, Member, WrapUp
from calls.services.errors import InvalidInput, InvalidState, NotAllowed, NotFound
from calls.state import call_changed, lock_call

MAX_NAME = 200
MAX_NOTES = 5000
MAX_PHONE = Customer._meta.get_field("phone").max_length


def customer_create_for_call(
    *, actor: AbstractBaseUser, call_id: int, name: str, notes: str = ""
) -> Customer:
    """Create the customer behind a call's unknown number and attach them to the call. A
    call that has its customer already is refused. If someone created a customer with that
    number meanwhile, that one is attached instead, and the agent is told (InvalidState,
    raised once the attachment has committed): nobody new was created."""
    name = (name or "").strip()
    notes = (notes or "").strip()
    if not name:
        raise InvalidInput("Enter the customer's name.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"A name can be at most {MAX_NAME} characters.")
    if len(notes) > MAX_NOTES:
        raise InvalidInput(f"Notes can be at most {MAX_NOTES} characters.")
    agent = agent_for_user(user=actor)
    with transaction.atomic():
        try:
            call = lock_call(call_id=call_id)
        except Call.DoesNotExist as exc:
            raise NotFound("That call no longer exists.") from exc
        # The same right as the call's notes: an agent whose part has ended may not.
        if not is_supervisor(actor) and not may_write_on_call(call=call, agent=agent):
            raise NotAllowed("This call is not yours to name the customer of.")
        if call.customer_id is not None:
            raise InvalidState(
                f"This call's customer is {call.customer.name} already: nobody new was"
                " created. Their details can be changed in the admin."
            )
        leg = call.members.filter(role=Member.Role.CUSTOMER).order_by("created_at", "pk").first()
        if leg is None:
            raise InvalidInput("This call has no customer leg to name.")
        customer = Customer.objects.filter(phone=leg.address).first()
        existed = customer is not None
        if customer is None and len(leg.address) > MAX_PHONE:
            # A SIP caller's address can be wider than a customer's number column.
            raise InvalidInput(
                f"This caller's address is longer than a customer's number can be"
                f" ({MAX_PHONE} characters), so it cannot be saved as a customer."
            )
        if customer is None:
            try:
                with transaction.atomic():
                    customer = Customer.objects.create(phone=leg.address, name=name, notes=notes)
            except IntegrityError:
                customer, existed = Customer.objects.get(phone=leg.address), True
        call.customer = customer
        call.members.filter(role=Member.Role.CUSTOMER, address=leg.address).update(
            customer=customer
        )
        call_changed(call=call)
    if existed:
        raise InvalidState(
            f"This number is {customer.name}'s already: they are on the call now, and nobody"
            " new was created."
        )
    return customer


def customer_changed(*, customer_id: int) -> int:
    """A customer's card was edited (their name, number or notes): redraw every call card
    that shows it now, on every desktop and wallboard. The calls on a desktop: live ones,
    and ended ones still waiting for a wrap-up. Returns how many calls were redrawn."""
    owed = WrapUp.objects.filter(call=OuterRef("pk"), done_at__isnull=True)
    shown = Call.objects.filter(customer_id=customer_id).filter(
        Q(status__in=Call.LIVE_STATUSES) | Exists(owed)
    )
    redrawn = 0
    for call_id in shown.values_list("pk", flat=True):
        with transaction.atomic():
            try:
                call = lock_call(call_id=call_id)
            except Call.DoesNotExist:
                continue  # deleted meanwhile: nothing to redraw
            call_changed(call=call)
            redrawn += 1
    return redrawn
