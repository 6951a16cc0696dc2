"""The desktop page and its small helpers: status, dial box, customer search, transfer picker."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from agents.availability import transfer_targets
from agents.permissions import is_supervisor
from agents.presence import (
    NOT_IN_WRAP_UP,
    StatusChangeRefused,
    agent_choose_status,
    agent_end_wrap_up,
    agent_extend_wrap_up,
    agent_wrap_up_due,
    agent_wrap_up_expire,
)
from agents.profiles import agent_for_user
from agents.rendering import desktop_context, render_call, render_status
from agents.selectors import agent_with_user, call_for_desktop, call_view, customer_search
from agents.services.dialing import MAX_INPUT, desktop_call_place
from agents.views.common import (
    acting_agent_required,
    agent_required,
    back_to_page,
    plain_error,
)
from calls.addresses import display_address
from calls.services.errors import ServiceError

EXTEND_SECONDS = 30


@login_required
@require_GET
def desktop(request: HttpRequest) -> HttpResponse:
    agent = agent_for_user(user=request.user)
    if agent is None:
        context = {"is_supervisor": is_supervisor(request.user)}
        return render(request, "desktop/no_agent.html", context, status=403)
    agent = agent_with_user(agent_id=agent.pk)  # the profile carries only who they are
    if agent_wrap_up_due(agent=agent):  # flip it before the page shows it
        agent_wrap_up_expire(agent_id=agent.pk)
        agent = agent_with_user(agent_id=agent.pk)
    context = desktop_context(agent=agent) | {"oob": False, "live_script": "desktop/desktop.js"}
    return render(request, "desktop/desktop.html", context)


@require_GET
def session_check(request: HttpRequest) -> HttpResponse:
    """204 while logged in, 401 after: the page asks when its websocket keeps failing."""
    return HttpResponse(status=204 if request.user.is_authenticated else 401)


@require_POST
@acting_agent_required  # the services lock the agent's row and read it there
def status_change(request: HttpRequest) -> HttpResponse:
    agent = request.agent
    op = request.POST.get("op", "")
    error = ""
    try:
        if op == "end_wrap_up":
            agent_end_wrap_up(agent=agent)
        elif op == "extend":
            if not agent_extend_wrap_up(agent=agent, seconds=EXTEND_SECONDS):
                error = NOT_IN_WRAP_UP
        else:
            agent_choose_status(
                agent=agent,
                status=request.POST.get("status", ""),
                reason=request.POST.get("reason", ""),
            )
    except StatusChangeRefused as exc:
        error = exc.message
    # The whole row in one read: the cached profile carries only who they are, and a
    # refresh would read each status field on its own.
    agent = agent_with_user(agent_id=agent.pk)
    if not request.htmx:
        return back_to_page(request, page="desktop", error=error)
    html = render_status(agent=agent, oob=False, error=error)
    return HttpResponse(html, status=400 if error else 200)


@require_POST
@agent_required
def dial(request: HttpRequest) -> HttpResponse:
    text = request.POST.get("to", "")
    raw_id = request.POST.get("customer_id", "").strip()
    error, notice, notice_call, extra, status = "", "", None, "", 200
    try:
        customer_id = int(raw_id) if raw_id else None
    except ValueError:
        customer_id, error, status = None, "Pick the customer from the list again.", 400
    if not error:
        try:
            call = desktop_call_place(
                actor=request.user,
                actor_agent=request.agent,
                text=text,
                customer_id=customer_id,
            )
        except ServiceError as exc:
            error, status = exc.message, exc.http_status
        else:
            full = call_for_desktop(call_id=call.pk)
            view = call_view(call=full, agent=request.agent) if full else None
            who = view.title if view else display_address(text)
            notice = f"Calling {who}. Your phone rings first: answer it to connect."
            notice_call = call.pk
            if view is not None:
                extra = render_call(view=view, call=full, oob=True)
            text, customer_id = "", None
    if not request.htmx:
        return back_to_page(request, page="desktop", error=error)
    context = {
        "to": text,
        "customer_id": customer_id or "",
        "error": error,
        "notice": notice,
        "notice_call": notice_call,
        "max_input": MAX_INPUT,
    }
    html = render(request, "desktop/_dial.html", context).content.decode() + extra
    return HttpResponse(html, status=status)


@require_GET
@agent_required
def customers_search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("to", request.GET.get("q", ""))
    if len(query) > MAX_INPUT:
        # Nothing that long can be dialled or matched; searching for it is only work.
        return plain_error(
            f"Search with at most {MAX_INPUT} characters; that was {len(query)}.", status=400
        )
    results = customer_search(query=query)
    return render(
        request, "desktop/_search_results.html", {"results": results, "query": query.strip()}
    )


@require_GET
@agent_required
def transfer_picker(request: HttpRequest) -> HttpResponse:
    """Fresh list of agents to transfer to, fetched when the field gets focus."""
    try:
        call_id = int(request.GET.get("call", ""))
    except ValueError:
        return HttpResponse("Say which call the list is for (?call=<id>).", status=400)
    targets = transfer_targets(exclude_agent_id=request.agent.pk)
    return render(
        request, "desktop/_transfer_targets.html", {"call_id": call_id, "targets": targets}
    )
