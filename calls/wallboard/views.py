"""The wallboard page and the supervisor's buttons on it.

Supervisors only (`agents.permissions.is_supervisor`): the page sends anyone signed out to
the admin login and answers other users 403. Each button is a POST that calls one service
(the agents' own for calls) and answers htmx with the fragment it acted on, the service's
message inline on a refusal, with the service's status code. Without htmx it redirects back
to the page with the message.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial, wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from agents.permissions import is_supervisor
from agents.presence import agents_expire_wrap_ups
from agents.profiles import agent_for_user
from agents.views.common import back_to_page, plain_error, run_then_answer
from calls.models import Action, Member
from calls.services import buttons as call_services
from calls.services.errors import ServiceError
from calls.wallboard.agent_status import agent_status_set
from calls.wallboard.rendering import page_context, render_agent_rows, render_live_call
from calls.wallboard.selectors import agent_rows, wallboard_board

Kind = Action.Kind

SIGNED_OUT_MESSAGE = "You have been signed out. Log in again as a supervisor."
NOT_SUPERVISOR_MESSAGE = "Only supervisors can use the wallboard."

MEMBER_ACTIONS: dict[str, Callable] = {
    Kind.HOLD: call_services.member_hold,
    Kind.UNHOLD: call_services.member_unhold,
    Kind.HANGUP: call_services.member_hangup,
}


def supervisor_page(view: Callable) -> Callable:
    """Signed out: to the admin login, and back here after. Not a supervisor: 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not is_supervisor(request.user):
            return render(request, "wallboard/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def supervisor_action(view: Callable) -> Callable:
    """For buttons: 401/403 with a reason instead of a redirect (htmx would swap a login page
    into the button)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return plain_error(SIGNED_OUT_MESSAGE, status=401)
        if not is_supervisor(request.user):
            return plain_error(NOT_SUPERVISOR_MESSAGE, status=403)
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@supervisor_page
def board(request: HttpRequest) -> HttpResponse:
    # A wrap-up that ran out while nobody watched is flipped before it is shown.
    agents_expire_wrap_ups()
    context = page_context(board=wallboard_board()) | {
        "viewer_agent": agent_for_user(user=request.user),
        # templates/base.html loads htmx and the live pages' shared scripts before it.
        "live_script": "wallboard/wallboard.js",
    }
    return render(request, "wallboard/wallboard.html", context)


@require_GET
def session(request: HttpRequest) -> HttpResponse:
    """204 while the viewer may watch; 401 signed out, 403 no longer a supervisor. The page
    asks when its websocket keeps failing."""
    if not request.user.is_authenticated:
        return HttpResponse(status=401)
    return HttpResponse(status=204 if is_supervisor(request.user) else 403)


def _answer_call(
    request: HttpRequest, *, call_id: int, error: str = "", status: int = 200
) -> HttpResponse:
    if not request.htmx:
        return back_to_page(request, page="wallboard:board", error=error)
    html = render_live_call(call_id=call_id, error=error)
    if html is None:
        # The call has ended (or never was): the empty answer removes it from the page.
        return plain_error(error, status=status) if error else HttpResponse("", status=status)
    return HttpResponse(html, status=status)


def _run_on_call(request: HttpRequest, *, call_id: int, work: Callable[[], object]) -> HttpResponse:
    return run_then_answer(work, answer=partial(_answer_call, request, call_id=call_id))


@require_POST
@supervisor_action
def member_action(request: HttpRequest, member_id: int, kind: str) -> HttpResponse:
    service = MEMBER_ACTIONS.get(kind)
    if service is None:
        return plain_error(
            f"{kind!r} is not something a supervisor can do to a participant here.", status=404
        )
    call_id = Member.objects.filter(pk=member_id).values_list("call_id", flat=True).first()
    if call_id is None:
        return plain_error("That participant is no longer on record.", status=404)
    # The member's call, just looked up, saves the service asking again before PHLO.
    act = partial(service, actor=request.user, member_id=member_id, call_id=call_id)
    return _run_on_call(request, call_id=call_id, work=act)


@require_POST
@supervisor_action
def call_join(request: HttpRequest, call_id: int) -> HttpResponse:
    join = partial(call_services.call_join, actor=request.user, call_id=call_id)
    return _run_on_call(request, call_id=call_id, work=join)


@require_POST
@supervisor_action
def agent_status(request: HttpRequest, agent_id: int) -> HttpResponse:
    error, status = "", 200
    try:
        agent_status_set(
            actor=request.user, agent_id=agent_id, status=request.POST.get("status", "")
        )
    except ServiceError as exc:
        error, status = exc.message, exc.http_status
    if not request.htmx:
        return back_to_page(request, page="wallboard:board", error=error)
    # The agent's row alone (3 queries), with the message on it; the page moves it to its
    # status group.
    rows = agent_rows(agent_ids=[agent_id])
    if not rows:
        return plain_error(error or "That agent no longer exists.", status=status if error else 404)
    html = render_agent_rows(
        rows=rows, at=timezone.now(), oob=False, error=error, error_agent_id=agent_id
    )
    return HttpResponse(html, status=status)
