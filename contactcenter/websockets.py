"""Websocket routes of every app, gathered in one place for asgi.py."""

from django.urls import re_path

from agents.websockets import websocket_urlpatterns as desktop_routes
from calls.wallboard.websockets import websocket_urlpatterns as wallboard_routes

# Close code for a path with no socket (4000-4999 are free for applications).
CLOSE_NO_SUCH_SOCKET = 4404


async def no_such_socket(scope, receive, send) -> None:
    """Any other path: refused at the handshake (daphne answers 403). Without this route the
    router raises, and daphne answers 500 with a traceback in the log."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": CLOSE_NO_SUCH_SOCKET})


websocket_urlpatterns: list = [
    *desktop_routes,
    *wallboard_routes,
    # Last: matches every path the routes above did not.
    re_path(r"", no_such_socket),
]
