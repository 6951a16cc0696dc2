"""Login and logout. Any logout, this one or the admin's, makes the agent Offline and closes
their open desktops (agents.signals)."""

from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from agents.views.common import refuse_unstorable


class DesktopLoginView(LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # Django's login form lets an unpaired surrogate through (a multipart form declared
        # utf-7), and checking the password then raises: refuse it as every desktop form does.
        return refuse_unstorable(request) or super().post(request, *args, **kwargs)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("login")
