"""Which pages may open our websockets: exactly those a form post is accepted from.

A browser sends a websocket handshake with the page's Origin and the user's cookies, and
no CSRF token can ride on it, so the Origin is all there is to tell our own pages from
another site's. It is matched the way Django's CSRF check matches a form post's Origin
(`CsrfViewMiddleware`), on scheme, host and port exactly:

- the handshake's own address: `https` when the request is secure (behind the proxy:
  `SECURE_PROXY_SSL_HEADER`), else `http`, and the Host header, which must be one of
  `ALLOWED_HOSTS` (so a rebound DNS name is refused too);
- or an entry of `CSRF_TRUSTED_ORIGINS` (production: `PUBLIC_BASE_URL` by default),
  including its `https://*.example.com` subdomain patterns.

Channels' `AllowedHostsOriginValidator`, used before, compared the Origin's host alone with
`ALLOWED_HOSTS`: a page on another port or scheme of the same host was let in.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.http.request import is_same_domain

logger = logging.getLogger(__name__)


class Handshake(HttpRequest):
    """A websocket handshake as Django sees a request: its headers in META, so `get_host()`
    and `scheme` apply Django's own rules (ALLOWED_HOSTS, SECURE_PROXY_SSL_HEADER)."""

    def __init__(self, scope: dict) -> None:
        super().__init__()
        self._ws_scheme = scope.get("scheme") or "ws"
        for raw_name, raw_value in scope.get("headers", []):
            name = "HTTP_" + raw_name.decode("latin-1").upper().replace("-", "_")
            value = raw_value.decode("latin-1")
            # Repeated headers are joined, as Django's ASGI handler does.
            self.META[name] = f"{self.META[name]},{value}" if name in self.META else value
        server = scope.get("server")
        if server and "HTTP_HOST" not in self.META:
            self.META["SERVER_NAME"], self.META["SERVER_PORT"] = str(server[0]), str(server[1])

    def _get_scheme(self) -> str:
        return "https" if self._ws_scheme in ("wss", "https") else "http"


def _trusted_subdomain(origin: str) -> bool:
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        if "*" not in trusted:
            continue
        pattern = urlsplit(trusted)
        if pattern.scheme == parts.scheme and is_same_domain(
            parts.netloc, pattern.netloc.lstrip("*")
        ):
            return True
    return False


def origin_refusal(handshake: HttpRequest) -> str:
    """Why this handshake's Origin may not open a socket ("" when it may)."""
    origin = handshake.META.get("HTTP_ORIGIN")
    if origin is None:
        return "no Origin header"
    if "," in origin:
        return "more than one Origin header"
    if "HTTP_HOST" not in handshake.META and "SERVER_NAME" not in handshake.META:
        return "no Host header"
    try:
        own = f"{handshake.scheme}://{handshake.get_host()}"
    except DisallowedHost:
        return "a Host that is not in ALLOWED_HOSTS"
    if origin == own:
        return ""
    exact = {trusted for trusted in settings.CSRF_TRUSTED_ORIGINS if "*" not in trusted}
    if origin in exact or _trusted_subdomain(origin):
        return ""
    return f"Origin {origin[:100]!r} is neither {own!r} nor in CSRF_TRUSTED_ORIGINS"


class ExactOriginValidator:
    """ASGI middleware: a websocket whose Origin is not allowed (see the module) is refused at
    the handshake (daphne answers 403) before any consumer runs."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            refusal = origin_refusal(Handshake(scope))
            if refusal:
                logger.info("websocket to %s refused: %s", scope.get("path", "")[:100], refusal)
                return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
