"""The project's ASGI application with the wallboard's websocket route and the publisher
wiring, for tests run before the lead wires them into contactcenter/ (routing.py and
calls/publishing.py). Each piece steps aside once the real wiring is in place."""

from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator

from calls import publishing
from calls.wallboard.consumers import WallboardConsumer
from calls.wallboard.rendering import HTML_KEY, render_wallboard_update
from calls.wallboard.routing import websocket_urlpatterns as wallboard_routes
from contactcenter.routing import websocket_urlpatterns as project_routes


def websocket_routes() -> list:
    mounted = any(
        getattr(p.callback, "consumer_class", None) is WallboardConsumer for p in project_routes
    )
    return list(project_routes) if mounted else [*project_routes, *wallboard_routes]


def websocket_application():
    """What contactcenter/asgi.py serves websockets with, wallboard included."""
    return AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_routes())))


def wired_send(original):
    """calls.publishing._send as it behaves once the publisher renders the wallboard: the
    message for the supervisors group carries the HTML, rendered once per change."""

    def send(groups, message: dict) -> None:
        groups = list(groups)
        kind = message.get("type")
        wired = HTML_KEY in message or kind not in ("call.changed", "agent.changed")
        if publishing.SUPERVISORS_GROUP not in groups or wired:
            original(groups, message)
            return
        others = [g for g in groups if g != publishing.SUPERVISORS_GROUP]
        if others:
            original(others, message)
        if kind == "call.changed":
            extra = render_wallboard_update(call_id=message.get("call_id"))
        else:
            extra = render_wallboard_update(agent_id=message.get("agent_id"))
        original([publishing.SUPERVISORS_GROUP], message | extra)

    return send
