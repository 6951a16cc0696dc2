"""After-call work: notes and a disposition saved on the call, shown in the customer's history.

Notes can be typed (and are saved as they are typed) during the call; the disposition comes
at the end. Saving the wrap-up of the agent's last waiting call ends their wrap-up time.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from agents.models import Agent
from agents.permissions import is_supervisor
from agents.presence import agent_end_wrap_up
from agents.profiles import agent_for_user
from calls.models import Call
from calls.selectors import calls_awaiting_disposition
from calls.services.errors import InvalidInput, InvalidState, NotAllowed, NotFound
from calls.state import call_changed, lock_call

MAX_NOTES = 5000


def dispositions() -> list[str]:
    return list(getattr(settings, "CALL_DISPOSITIONS", []))


def _check_may_wrap_up(*, actor: AbstractBaseUser, call: Call) -> Agent | None:
    agent = agent_for_user(user=actor)
    if is_supervisor(actor):
        return agent
    if agent is None:
        raise NotAllowed("You need an agent profile to wrap up calls.")
    if call.owner_id != agent.pk and not call.members.filter(agent=agent).exists():
        raise NotAllowed("You were not on this call, so you cannot wrap it up.")
    return agent


def _clean_notes(notes: str) -> str:
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise InvalidInput(f"Notes can be at most {MAX_NOTES} characters; these are {len(notes)}.")
    return notes


def call_notes_save(*, actor: AbstractBaseUser, call_id: int, notes: str) -> None:
    """Save the notes typed so far, during the call or at wrap-up."""
    notes = _clean_notes(notes)
    call = Call.objects.filter(pk=call_id).first()
    if call is None:
        raise NotFound("That call no longer exists.")
    _check_may_wrap_up(actor=actor, call=call)
    Call.objects.filter(pk=call_id).update(wrap_up_notes=notes)


def call_wrap_up_save(
    *, actor: AbstractBaseUser, call_id: int, disposition: str, notes: str
) -> Call:
    """Record how the call ended. The call leaves the desktop of everyone who had it."""
    disposition = (disposition or "").strip()
    notes = _clean_notes(notes)
    if disposition not in dispositions():
        raise InvalidInput("Pick a disposition from the list.")
    with transaction.atomic():
        try:
            call = lock_call(call_id=call_id)
        except Call.DoesNotExist as exc:
            raise NotFound("That call no longer exists.") from exc
        agent = _check_may_wrap_up(actor=actor, call=call)
        if call.is_live:
            raise InvalidState("The call is still in progress; wrap it up when it has ended.")
        call.disposition = disposition
        call.wrap_up_notes = notes
        call_changed(call=call)
    if agent is not None and not calls_awaiting_disposition(agent_id=agent.pk).exists():
        agent_end_wrap_up(agent=agent)
    return call
