"""Who an agent is, from a signed-in user or a name typed on the desktop."""

from __future__ import annotations

from agents.models import Agent


def agent_for_user(*, user) -> Agent | None:
    if not user or not user.is_authenticated:
        return None
    return Agent.objects.select_related("user").filter(user=user).first()


def agent_by_name(*, text: str) -> Agent | None:
    """An agent named by username (what the transfer picker submits), case-insensitively."""
    text = (text or "").strip()
    if not text or any(c.isspace() for c in text):
        return None
    return Agent.objects.select_related("user").filter(user__username__iexact=text).first()
