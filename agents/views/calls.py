"""The buttons on a call: each POST calls one service and answers with the call's partial.

On success the answer is the call as the agent now sees it (empty when it has left their
desktop); on a refusal it is the unchanged call with the service's message, and a 4xx.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from agents.profiles import acting_profile
from agents.rendering import render_call
from agents.selectors import call_for_desktop, call_name, call_view
from agents.services.customers import customer_create_for_call
from agents.services.dialing import transfer_target_resolve
from agents.services.ringing import ringing_leg_reject
from agents.services.wrap_up import call_notes_save, call_wrap_up_save, wrap_up_dismiss
from agents.views.common import (
    acting_agent_required,
    agent_required,
    back_to_page,
    plain_error,
    run_then_answer,
)
from calls.models import Action, Member
from calls.services import buttons
from calls.services.errors import ServiceError

Kind = Action.Kind

MEMBER_ACTIONS: dict[str, Callable] = {
    Kind.HOLD: buttons.member_hold,
    Kind.UNHOLD: buttons.member_unhold,
    Kind.HANGUP: buttons.member_hangup,
    Kind.VOICEMAIL_DROP: buttons.member_voicemail_drop,
}


def _transfer(service: Callable) -> Callable:
    def run(*, request: HttpRequest, call_id: int) -> None:
        target = transfer_target_resolve(text=request.POST.get("to", ""))
        service(
            actor=request.user,
            actor_agent=request.agent,
            call_id=call_id,
            to=target.address,
            to_agent=target.agent,
        )

    return run


def _plain(service: Callable) -> Callable:
    def run(*, request: HttpRequest, call_id: int) -> None:
        service(actor=request.user, actor_agent=request.agent, call_id=call_id)

    return run


CALL_ACTIONS: dict[str, Callable] = {
    Kind.WARM_TRANSFER: _transfer(buttons.transfer_warm_start),
    Kind.COLD_TRANSFER: _transfer(buttons.transfer_cold),
    Kind.RESUME_CALL: _plain(buttons.transfer_resume),
    Kind.ABORT_TRANSFER: _plain(buttons.transfer_abort),
}


def _answer(
    request: HttpRequest, *, call_id: int, error: str = "", status: int = 200
) -> HttpResponse:
    """The call's partial for htmx (or a redirect back to the page without JavaScript)."""
    if not request.htmx:
        return back_to_page(request, page="desktop", error=error)
    call = call_for_desktop(call_id=call_id)
    # The supervisor flag the button's service read, from the user's cached profile.
    supervisor = acting_profile(user=request.user).supervisor
    view = call_view(call=call, agent=request.agent, supervisor=supervisor) if call else None
    if view is None:
        if error:
            return plain_error(error, status=status)
        return HttpResponse("", status=status)
    return HttpResponse(render_call(view=view, call=call, oob=False, error=error), status=status)


def _run(request: HttpRequest, *, call_id: int, work: Callable[[], object]) -> HttpResponse:
    return run_then_answer(work, answer=partial(_answer, request, call_id=call_id))


def _member_call_id(member_id: int) -> int | None:
    return Member.objects.filter(pk=member_id).values_list("call_id", flat=True).first()


@require_POST
@acting_agent_required
def member_action(request: HttpRequest, member_id: int, kind: str) -> HttpResponse:
    service = MEMBER_ACTIONS.get(kind)
    if service is None:
        return plain_error(f"{kind!r} is not something you can do to a participant.", status=404)
    # The service finds the member's call as it reads the call and its members, and takes
    # the agent this request already looked up: nothing is asked twice before PHLO.
    return _run_on_member(
        request,
        member_id=member_id,
        work=lambda: service(actor=request.user, actor_agent=request.agent, member_id=member_id),
    )


@require_POST
@acting_agent_required
def member_reject(request: HttpRequest, member_id: int) -> HttpResponse:
    return _run_on_member(
        request,
        member_id=member_id,
        work=lambda: ringing_leg_reject(
            actor=request.user, actor_agent=request.agent, member_id=member_id
        ),
    )


def _run_on_member(
    request: HttpRequest, *, member_id: int, work: Callable[[], Member]
) -> HttpResponse:
    """`_run` for a member's button, whose call is known from the member `work` returns."""
    try:
        member = work()
    except ServiceError as exc:
        # Looked up only now, for the answer; an unknown member has no call to redraw.
        call_id = _member_call_id(member_id)
        if call_id is None:
            return plain_error(exc.message, status=exc.http_status)
        return _answer(request, call_id=call_id, error=exc.message, status=exc.http_status)
    return _answer(request, call_id=member.call_id)


@require_POST
@acting_agent_required
def call_action(request: HttpRequest, call_id: int, kind: str) -> HttpResponse:
    run = CALL_ACTIONS.get(kind)
    if run is None:
        return plain_error(f"{kind!r} is not something you can do to a call.", status=404)
    return _run(
        request,
        call_id=call_id,
        work=lambda: run(request=request, call_id=call_id),
    )


@require_POST
@agent_required
def wrap_up(request: HttpRequest, call_id: int) -> HttpResponse:
    disposition = request.POST.get("disposition", "")
    try:
        call = call_wrap_up_save(
            actor=request.user,
            call_id=call_id,
            disposition=disposition,
            notes=request.POST.get("notes", ""),
            notes_seen=request.POST.get("notes_seen"),
        )
    except ServiceError as exc:
        return _answer(request, call_id=call_id, error=exc.message, status=exc.http_status)
    if not request.htmx:
        return back_to_page(request, page="desktop")
    toast = format_html(
        '<div id="toast" hx-swap-oob="innerHTML"><p>Wrap-up saved: {} ({}).</p></div>',
        call_name(call=call),
        # The agent's own: the call's is its owner's at the end.
        disposition.strip(),
    )
    # The call leaves the desktop: the empty answer removes it; the toast says it worked.
    return HttpResponse(toast)


@require_POST
@agent_required
def dismiss(request: HttpRequest, call_id: int) -> HttpResponse:
    try:
        wrap_up_dismiss(actor=request.user, call_id=call_id)
    except ServiceError as exc:
        return _answer(request, call_id=call_id, error=exc.message, status=exc.http_status)
    if not request.htmx:
        return back_to_page(request, page="desktop")
    return HttpResponse("")  # the card leaves the desktop


@require_POST
@agent_required
def notes(request: HttpRequest, call_id: int) -> HttpResponse:
    try:
        call_notes_save(actor=request.user, call_id=call_id, notes=request.POST.get("notes", ""))
    except ServiceError as exc:
        return plain_error(exc.message, status=exc.http_status)
    return HttpResponse("Notes saved", content_type="text/plain; charset=utf-8")


@require_POST
@agent_required
def customer_create(request: HttpRequest, call_id: int) -> HttpResponse:
    return _run(
        request,
        call_id=call_id,
        work=lambda: customer_create_for_call(
            actor=request.user,
            call_id=call_id,
            name=request.POST.get("name", ""),
            notes=request.POST.get("notes", ""),
        ),
    )
