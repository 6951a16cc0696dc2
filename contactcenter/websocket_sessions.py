"""The session a websocket handshake came with: its cookie's key, put in the scope.

Channels' `AuthMiddlewareStack` resolves the user on the event loop before any consumer
runs: a thread hop of its own per connect, and copies of the scope, a session object with
its decoded data and a user instance kept by every open socket for as long as it is open.
Our sockets need only the session's key. Each consumer reads who it belongs to in the same
thread hop as the rest of its connect (`agents.live.session_user`), and keeps ids.
"""

from __future__ import annotations

from django.conf import settings
from django.http.cookie import parse_cookie

SESSION_KEY_SCOPE = "session_key"


def session_key_of(headers) -> str:
    """The session cookie's value in these ASGI headers ("" without one). As a browser
    sends one Cookie header, the first is read, as Channels' CookieMiddleware does."""
    for name, value in headers:
        if name == b"cookie":
            return parse_cookie(value.decode("latin-1")).get(settings.SESSION_COOKIE_NAME, "")
    return ""


class SessionKeyMiddleware:
    """ASGI middleware: `scope["session_key"]` for websockets, from the session cookie."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            scope = {**scope, SESSION_KEY_SCOPE: session_key_of(scope.get("headers", ()))}
        return await self.application(scope, receive, send)
