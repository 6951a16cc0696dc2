"""After-call work: notes, a disposition for each agent's part of a call, and dismissing the
outcome of an attempt that reached nobody.

Who owes what is decided by the call's rules (`calls.state`, recorded as `WrapUp` rows): the
agent who handled the customer conversation owes a disposition (including the agent who
handed a call over with a transfer, for their part); an attempt that reached nobody only
shows its outcome until dismissed. An agent whose part ended while the call goes on with
others wraps it up at once, without waiting for the call's end. Notes can be typed (and are
saved as they are typed) during the call by the agents on it, and at wrap-up by those who
owe one; supervisors may do both on any call. Saving the dispositions of the calls that put an
agent in wrap-up ends it; an older call whose wrap-up ran out keeps its card, not the agent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from agents.models import Agent
from agents.permissions import is_supervisor
from agents.presence import agent_end_wrap_up
from agents.profiles import agent_for_user
from calls.events import AgentChanged, announce
from calls.models import Call, Member, WrapUp
from calls.selectors import wrap_up_window
from calls.services.errors import InvalidInput, InvalidState, NotAllowed, NotFound
from calls.state import call_changed, call_details_changed, lock_call

MAX_NOTES = 5000


def dispositions() -> list[str]:
    return list(settings.CALL_DISPOSITIONS)


def _clean_notes(notes: str) -> str:
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise InvalidInput(f"Notes can be at most {MAX_NOTES} characters; these are {len(notes)}.")
    return notes


def _pending_wrap_up(*, call: Call, agent: Agent | None) -> WrapUp | None:
    if agent is None:
        return None
    return WrapUp.objects.filter(
        call=call,
        agent=agent,
        done_at__isnull=True,
        created_at__gte=timezone.now() - wrap_up_window(),
    ).first()


def _on_it(*, call: Call, agent: Agent) -> bool:
    """In the live conversation: a live leg of theirs. Owning the call is not enough: one
    handed to an outside number stays its agent's, whose part is over (and an offer they
    declined with nobody else free stays theirs as its last offer)."""
    return call.is_live and call.members.filter(agent=agent, state__in=Member.LIVE_STATES).exists()


def may_write_on_call(*, call: Call, agent: Agent | None) -> bool:
    """Whether an agent may write on a call (its notes, its wrap-up, its customer): while the
    call is live and they own it or have a live leg on it, and afterwards while they still
    owe its wrap-up. A part that has ended ends the right: an agent who left after a
    transfer, or only rejected one, may not. Supervisors are asked separately."""
    if agent is None:
        return False
    return _on_it(call=call, agent=agent) or _pending_wrap_up(call=call, agent=agent) is not None


def call_notes_save(*, actor: AbstractBaseUser, call_id: int, notes: str) -> None:
    """Save the notes typed so far: during the call by an agent on it, afterwards by an agent
    who owes its wrap-up, at any time by a supervisor."""
    notes = _clean_notes(notes)
    with transaction.atomic():
        try:
            call = lock_call(call_id=call_id)
        except Call.DoesNotExist as exc:
            raise NotFound("That call no longer exists.") from exc
        if not is_supervisor(actor):
            agent = agent_for_user(user=actor)
            if agent is None:
                raise NotAllowed("You need an agent profile to take notes on calls.")
            if not may_write_on_call(call=call, agent=agent):
                raise NotAllowed("This call is not yours to take notes on.")
        if call.wrap_up_notes == notes:
            return  # sent again unchanged (a blur after a save): nothing to redraw
        call.wrap_up_notes = notes
        # Everyone on the call sees them at once: a colleague writes on top of them, not
        # on an older copy.
        call_details_changed(call=call, fields=["wrap_up_notes"])


def call_wrap_up_save(
    *,
    actor: AbstractBaseUser,
    call_id: int,
    disposition: str,
    notes: str,
    notes_seen: str | None = None,
) -> Call:
    """Record how the agent's part of the call ended. The call leaves their desktop; it is
    the call's own disposition when they owned it at the end (or a supervisor saves it).

    An agent whose part is over while the call goes on (they handed it over) may save theirs
    at once; the call's own disposition waits for whoever owns it at the end. `notes_seen`:
    the notes as the agent's card first showed them; notes sent back unchanged are not
    written, so they cannot undo what another agent on the call saved meanwhile."""
    disposition = (disposition or "").strip()
    notes = _clean_notes(notes)
    if disposition not in dispositions():
        raise InvalidInput("Pick a disposition from the list.")
    agent = agent_for_user(user=actor)
    supervisor = is_supervisor(actor)
    with transaction.atomic():
        try:
            call = lock_call(call_id=call_id)
        except Call.DoesNotExist as exc:
            raise NotFound("That call no longer exists.") from exc
        # Who may first, then when: nobody learns how a call stands that is not theirs.
        if not supervisor and not may_write_on_call(call=call, agent=agent):
            raise NotAllowed("This call asks you for no wrap-up.")
        owed = _pending_wrap_up(call=call, agent=agent)
        if call.is_live and (owed is None or _on_it(call=call, agent=agent)):
            raise InvalidState("The call is still in progress; wrap it up when it has ended.")
        if owed is None and not supervisor:
            raise NotAllowed("This call asks you for no wrap-up.")
        at = timezone.now()
        if owed is not None:
            owed.disposition = disposition
            owed.done_at = at
            owed.save(update_fields=["disposition", "done_at"])
        if notes_seen is None or notes != (notes_seen or "").strip():
            call.wrap_up_notes = notes
        if owed is None or call.owner_id == owed.agent_id:
            call.disposition = disposition
            # The owner's disposition is the call's: it answers what the owner owed.
            WrapUp.objects.filter(call=call, agent_id=call.owner_id, done_at__isnull=True).update(
                disposition=disposition, done_at=at
            )
        call_changed(call=call, extra_agent_ids=[agent.pk] if agent else [])
    if agent is not None:
        _after_a_save(agent=agent)
    return call


def _after_a_save(*, agent: Agent) -> None:
    """Wrap-up ends once the calls that ended into it have their dispositions; a call whose
    own wrap-up ran out earlier keeps its card, and does not hold the agent in wrap-up."""
    now = Agent.objects.filter(pk=agent.pk).values("status", "status_changed_at").first()
    if now is None or now["status"] != Agent.Status.WRAP_UP:
        return
    if not _owed(agent=agent, since=now["status_changed_at"]).exists():
        agent_end_wrap_up(agent=agent)
    else:  # another call of this wrap-up still asks for one: the bar says how many
        announce(AgentChanged(agent_id=agent.pk, status=now["status"]))


def wrap_up_dismiss(*, actor: AbstractBaseUser, call_id: int) -> Call:
    """The agent has seen how an attempt that reached nobody ended: its card goes."""
    agent = agent_for_user(user=actor)
    with transaction.atomic():
        try:
            call = lock_call(call_id=call_id)
        except Call.DoesNotExist as exc:
            raise NotFound("That call no longer exists.") from exc
        owed = _pending_wrap_up(call=call, agent=agent)
        if owed is None and agent is not None and _on_it(call=call, agent=agent):
            raise InvalidState("The call is still in progress; it leaves your desktop at its end.")
        if owed is None:
            raise NotAllowed("This call is not on your desktop.")
        if owed.disposition_required:
            raise InvalidState("Pick a disposition for this call; it cannot just be dismissed.")
        owed.done_at = timezone.now()
        owed.save(update_fields=["done_at"])
        call_changed(call=call, extra_agent_ids=[agent.pk])
    return call


def wrap_ups_dismiss_seen(*, agent: Agent) -> int:
    """Placing a new call dismisses the outcomes of earlier attempts: they have been seen.
    Their cards leave the desktop. Returns how many."""
    seen = list(
        WrapUp.objects.filter(
            agent=agent, disposition_required=False, done_at__isnull=True
        ).values_list("pk", "call_id")
    )
    for wrap_up_id, call_id in seen:
        with transaction.atomic():
            call = lock_call(call_id=call_id)
            WrapUp.objects.filter(pk=wrap_up_id).update(done_at=timezone.now())
            call_changed(call=call, extra_agent_ids=[agent.pk])
    return len(seen)


def _owed(*, agent: Agent, since: datetime | None = None) -> QuerySet[WrapUp]:
    owed = WrapUp.objects.filter(
        agent=agent,
        disposition_required=True,
        done_at__isnull=True,
        created_at__gte=timezone.now() - wrap_up_window(),
    )
    return owed.filter(created_at__gte=since) if since else owed


# A part handed over with a cold transfer is owed when the target answers; the agent's own
# leg ends a moment later, as the provider takes them out, and wrap-up begins then.
_HANDED_OVER_JUST_BEFORE = timedelta(seconds=2)


def dispositions_owed(*, agent: Agent) -> int:
    """How many calls of the agent's current wrap-up still ask for a disposition: what
    keeps them in wrap-up after they saved one."""
    if agent.status != Agent.Status.WRAP_UP:
        return 0
    owed = _owed(agent=agent, since=agent.status_changed_at).count()
    if owed:
        return owed
    # Only a part handed over just before wrap-up began put them in it.
    since = agent.status_changed_at - _HANDED_OVER_JUST_BEFORE
    return _owed(agent=agent, since=since).count()
