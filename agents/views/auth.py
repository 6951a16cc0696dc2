"""Login and logout. Logging out makes the agent Offline and closes their open desktops."""

from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from agents.presence import agent_signed_out
from agents.selectors import agent_for_user
from calls.publishing import publish_desktop_signed_out


class DesktopLoginView(LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    agent = agent_for_user(user=request.user)
    session_key = request.session.session_key or ""
    if agent is not None:
        agent_signed_out(agent=agent)
        publish_desktop_signed_out(agent_id=agent.pk, session_key=session_key)
    logout(request)
    return redirect("login")
