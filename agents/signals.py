"""Any logout, ours (agents.views.auth) or the admin's (the wallboard's Log out), makes the
agent Offline and closes the desktops and wallboards open in that session at once, in every
process."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest

from agents.presence import agent_signed_out
from agents.profiles import agent_for_user
from calls.events import SessionSignedOut, announce


@receiver(user_logged_out, dispatch_uid="agents.close_live_pages_on_logout")
def close_live_pages_on_logout(sender, *, request: HttpRequest, user, **kwargs) -> None:
    if user is None:
        return  # nobody was signed in, so no socket was let in on this session
    # Sent before the session is flushed: this is still the key the sockets were opened with.
    session = getattr(request, "session", None)
    session_key = (session.session_key if session is not None else None) or ""
    agent = agent_for_user(user=user)
    if agent is not None:
        agent_signed_out(agent=agent)
    if session_key:  # an empty key must not close the sockets of other sessions
        announce(SessionSignedOut(session_key=session_key, agent_id=agent.pk if agent else None))
