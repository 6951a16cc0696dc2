"""The wallboard's pages and buttons; the project mounts them at /wallboard/."""

from django.urls import path

from calls.wallboard import views
from contactcenter import converters  # noqa: F401  (registers <id:...>)

app_name = "wallboard"

urlpatterns = [
    path("", views.board, name="board"),
    path("session/", views.session, name="session"),
    path(
        "members/<id:member_id>/actions/<slug:kind>/",
        views.member_action,
        name="member-action",
    ),
    path("calls/<id:call_id>/join/", views.call_join, name="call-join"),
    path("agents/<id:agent_id>/status/", views.agent_status, name="agent-status"),
]
