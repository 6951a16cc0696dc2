"""Each agent's wrap-up of their part of a call, on the call's admin page.

The call's own disposition is its owner's at the end; an agent who handed the call over
(or, where the rules ask, was consulted) records theirs for their part, often while the
call went on. Read-only: written by the call's rules and the wrap-up service only. Shown as
a read-only field, not an inline, so the call's form stays the wrap-up form it is.
"""

from datetime import datetime

from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from agents.models import Agent
from calls.admin.display import change_link
from calls.models import Call, Member, WrapUp


def agents_wrap_ups_table(*, call: Call) -> SafeString | str:
    """A table of who owed what for their part of the call, and what they recorded."""
    wrap_ups = list(WrapUp.objects.filter(call=call).select_related("agent__user"))
    now = timezone.now()
    if not wrap_ups:
        if not call.is_live:
            return "Nobody owed a wrap-up for this call."
        return "Nobody owes a wrap-up for this call yet."
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                change_link(view="agents_agent", pk=w.agent_id, label=w.agent.display_name),
                "A disposition" if w.disposition_required else "Only a look at the outcome",
                w.disposition or "—",
                _when(w.created_at),
                _wrapped_up(w, call=call, at=now),
            )
            for w in wrap_ups
        ),
    )
    return format_html(
        '<table class="agents-wrap-ups"><thead><tr><th scope="col">Agent</th>'
        '<th scope="col">Asked for</th><th scope="col">Disposition</th>'
        '<th scope="col">Part ended</th><th scope="col">Wrapped up</th></tr></thead>'
        "<tbody>{}</tbody></table>",
        rows,
    )


def _wrapped_up(wrap_up: WrapUp, *, call: Call, at: datetime) -> str:
    """When it was done; else whether the agent is still in its wrap-up time. Out of it (the
    time ran out, or they ended it early: neither is recorded apart), the call's card stays
    on their desktop and the disposition may still come."""
    if wrap_up.done_at:
        return _when(wrap_up.done_at)
    if wrap_up.disposition_required and not call.is_live and not _in_its_time(wrap_up, at=at):
        return "No disposition yet; wrap-up time over"
    return "Not yet"


def _in_its_time(wrap_up: WrapUp, *, at: datetime) -> bool:
    """Whether the agent is in wrap-up for this part now: in a wrap-up time not yet run out
    (agents.presence flips an expired one only when someone looks), with no leg since this
    part ended (a later call's wrap-up is not this one's)."""
    agent = wrap_up.agent
    ran_out = agent.wrap_up_until is not None and agent.wrap_up_until <= at
    if agent.status != Agent.Status.WRAP_UP or ran_out:
        return False
    later = Member.objects.filter(agent_id=agent.pk, created_at__gt=wrap_up.created_at)
    return not later.exists()


def _when(at: datetime) -> str:
    """As the admin shows its own date fields."""
    return formats.localize(timezone.template_localtime(at))
