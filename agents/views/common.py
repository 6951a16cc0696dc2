"""What every desktop view shares: who the agent is, and htmx-aware answers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse

from agents.profiles import agent_for_user

SIGNED_OUT_MESSAGE = "You have been signed out. Log in again to keep working."
NO_AGENT_MESSAGE = "Your account has no agent profile, so it cannot use the desktop."


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def plain_error(message: str, *, status: int) -> HttpResponse:
    """A short reason people can read, as htmx shows it in the page's message area."""
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    response["HX-Reswap"] = "none"
    return response


def agent_required(view: Callable) -> Callable:
    """The logged-in user's agent becomes `request.agent` (the call services take it as
    `actor_agent` rather than fetch it again); otherwise 401/403 with a reason (no redirect:
    htmx would swap the login page into a button)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return plain_error(SIGNED_OUT_MESSAGE, status=401)
        agent = agent_for_user(user=request.user)
        if agent is None:
            return plain_error(NO_AGENT_MESSAGE, status=403)
        request.agent = agent
        return view(request, *args, **kwargs)

    return wrapped
