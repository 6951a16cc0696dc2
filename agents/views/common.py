"""What every desktop view shares: who the agent is, and htmx-aware answers."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect
from django_htmx.http import reswap

from agents.models import Agent
from agents.profiles import acting_profile, agent_for_user
from calls.services.errors import ServiceError

SIGNED_OUT_MESSAGE = "You have been signed out. Log in again to keep working."
NO_AGENT_MESSAGE = "Your account has no agent profile, so it cannot use the desktop."
# PostgreSQL refuses NUL in text, and UTF-8 (so either database) unpaired surrogates, which
# a multipart form in a charset such as utf-7 decodes to. Nobody types either.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def plain_error(message: str, *, status: int) -> HttpResponse:
    """A short reason people can read, as htmx shows it in the page's message area (the
    desktop's and the wallboard's); nothing on the page is swapped."""
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    return reswap(response, "none")


def back_to_page(request: HttpRequest, *, page: str, error: str = "") -> HttpResponse:
    """A live page's button answered without htmx (no JavaScript): back to the page (a URL
    name), which shows the message."""
    if error:
        messages.error(request, error)
    return redirect(page)


def run_then_answer(
    work: Callable[[], object], *, answer: Callable[..., HttpResponse]
) -> HttpResponse:
    """Runs a live page's button (`work`, a service call) and answers with what it acted
    on: `answer()`, or `answer(error=..., status=...)` with the service's refusal."""
    try:
        work()
    except ServiceError as exc:
        return answer(error=exc.message, status=exc.http_status)
    return answer()


def refuse_unstorable(request: HttpRequest) -> HttpResponse | None:
    """A 400 naming the first submitted field (query or form) whose text no database can
    store, or None. Checked before the view reads any: such text fails deep inside a query
    or a save, as a 500, and none of it should be stored anyway."""
    try:
        sources = (request.GET, request.POST)
    except (BadRequest, SuspiciousOperation, MultiPartParserError, ValueError, LookupError) as exc:
        # A charset Python cannot decode text with (rot13...), a broken multipart body.
        return plain_error(f"The form cannot be read: {exc}", status=400)
    for data in sources:
        for key, values in data.lists():
            if any(_UNSTORABLE.search(text) for text in [key, *values]):
                return plain_error(
                    f"The field {key!r} holds a character that cannot be saved (NUL or an"
                    " unpaired surrogate). Remove it and try again.",
                    status=400,
                )
    return None


def agent_required(view: Callable) -> Callable:
    """The logged-in user's agent becomes `request.agent` (the call services take it as
    `actor_agent` rather than fetch it again); otherwise 401/403 with a reason (no redirect:
    htmx would swap the login page into a button). A field no database can store is a 400."""
    return _with_agent(view, find=lambda user: agent_for_user(user=user))


def acting_agent_required(view: Callable) -> Callable:
    """`agent_required` for the call buttons: the agent comes from the user's cached profile
    (`agents.profiles.acting_profile`, no query once cached), with its id and endpoint; any
    other field is read when first used. The services read the supervisor flag there too."""
    return _with_agent(view, find=lambda user: acting_profile(user=user).agent)


def _with_agent(view: Callable, *, find: Callable[[object], Agent | None]) -> Callable:
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return plain_error(SIGNED_OUT_MESSAGE, status=401)
        agent = find(request.user)
        if agent is None:
            return plain_error(NO_AGENT_MESSAGE, status=403)
        refusal = refuse_unstorable(request)
        if refusal is not None:
            return refusal
        request.agent = agent
        return view(request, *args, **kwargs)

    return wrapped
