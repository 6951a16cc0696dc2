"""Small template helpers for the live pages: times for the ticking timers, addresses,
labels, and their buttons' URLs."""

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone

from agents.services.wrap_up import MAX_NOTES
from calls import outcomes
from calls.addresses import display_address
from calls.models import Action, Member

register = template.Library()


@register.simple_tag
def max_notes() -> int:
    """The longest wrap-up notes the service takes: the field stops typing and pasting
    there, rather than the save failing later."""
    return MAX_NOTES


@register.filter
def iso(value: datetime | None) -> str:
    """A timestamp the page's timers read (UTC, millisecond precision)."""
    if not value:
        return ""
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


@register.simple_tag
def elapsed(since: datetime | None, now: datetime | None = None) -> str:
    """m:ss or h:mm:ss since `since`, as first drawn; the page keeps it ticking."""
    if not since:
        return ""
    seconds = max(0, int(((now or timezone.now()) - since).total_seconds()))
    return format_seconds(seconds)


@register.simple_tag
def remaining(until: datetime | None, now: datetime | None = None) -> str:
    if not until:
        return ""
    seconds = max(0, int((until - (now or timezone.now())).total_seconds() + 0.999))
    return format_seconds(seconds)


@register.simple_tag
def fold_delay(member: Member, now: datetime | None = None) -> str:
    """Seconds until the row of a leg that left folds away (`calls.outcomes.fold_delay`):
    its fade's delay, so a card drawn later still folds it on time."""
    return f"{outcomes.fold_delay(member, at=now or timezone.now()):.2f}"


def format_seconds(seconds: float) -> str:
    """m:ss, or h:mm:ss from an hour up: the live pages' one duration format (the timers in
    static/live/timers.js tick in it too)."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def mmss(seconds: float | None) -> str:
    """A number of seconds as the live pages write durations (`format_seconds`)."""
    return "" if seconds is None else format_seconds(seconds)


@register.filter
def addr(value: str) -> str:
    return display_address(value or "")


@register.filter
def action_label(kind: str) -> str:
    """The button label for an action kind: exactly the product's wording."""
    return Action.Kind(kind).label


# The call buttons' keyboard shortcuts (the desktop's key list says the same).
_ACTION_KEYS = {
    Action.Kind.WARM_TRANSFER: "w",
    Action.Kind.COLD_TRANSFER: "c",
    Action.Kind.RESUME_CALL: "r",
    Action.Kind.ABORT_TRANSFER: "a",
}


@register.filter
def action_key(kind: str) -> str:
    """A call button's shortcut key ("" for none), for `data-key` and `aria-keyshortcuts`."""
    return _ACTION_KEYS.get(kind, "")


@register.filter
def minutes(value: timedelta | None) -> str:
    """A wait for people: "10 minutes", "1 minute", "30 seconds"."""
    if not value:
        return ""
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    whole = round(seconds / 60)
    return f"{whole} minute{'s' if whole != 1 else ''}"


@register.simple_tag
def live_url(name: str, *args: int | str) -> str:
    """`{% url %}` for the live fragments, which every push renders again with the same
    buttons: each URL is reversed once, not at every render (Django's reverse was an eighth
    of a call's render; bench/NOTES.md). Escaped as `{% url %}`'s output is."""
    return _reversed(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF, name, args)


@lru_cache(maxsize=8192)
def _reversed(prefix: str, urlconf: str, name: str, args: tuple) -> str:
    # Keyed by the script prefix and URLconf too: both can differ between requests or tests.
    return reverse(name, urlconf=urlconf, args=args)
