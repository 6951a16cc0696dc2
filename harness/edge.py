"""A stand-in for the TLS-terminating reverse proxy in front of the app (deploy/nginx.conf).

Mounted on a `requests.Session` for the public origin (`https://cc.example.test`), it sends
each request to one of the app processes over plain HTTP, as nginx does: the public Host,
`X-Forwarded-Proto: https` and `X-Forwarded-For`. A backend that refuses the connection is
skipped for the next one (nginx's `proxy_next_upstream error`; safe for POST too, because
nothing was sent). The session keeps seeing https URLs, so Secure cookies, redirects and
CSRF behave as in a browser.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

Backends = Sequence[str] | Callable[[], Sequence[str]]


def proxy_headers(public_base_url: str) -> dict[str, str]:
    """What the proxy adds to every request it forwards."""
    return {
        "Host": urlsplit(public_base_url).netloc,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "127.0.0.1",
    }


def _refused(exc: BaseException) -> bool:
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, NewConnectionError | ConnectionRefusedError):
            return True
        stack += [item.__cause__, item.__context__, *item.args]
        stack.append(getattr(item, "reason", None))
    return False


class EdgeAdapter(HTTPAdapter):
    """Forward https://<public host>/... to http://<backend>/... with the proxy's headers.

    `backends` ("127.0.0.1:8001", ...) may be a callable, read on every request, so a
    restarted process is picked up; requests rotate over them (round robin)."""

    def __init__(self, *, public_base_url: str, backends: Backends) -> None:
        super().__init__()
        self.public = urlsplit(public_base_url.rstrip("/"))
        self._backends = backends
        self._turn = itertools.count()

    def backends(self) -> list[str]:
        found = self._backends() if callable(self._backends) else self._backends
        return list(found)

    def send(self, request, **kwargs):
        backends = self.backends()
        if not backends:
            raise requests.ConnectionError("no app process to send to")
        start = next(self._turn) % len(backends)
        order = backends[start:] + backends[:start]
        path = request.url[len(f"{self.public.scheme}://{self.public.netloc}") :] or "/"
        last: BaseException | None = None
        for backend in order:
            forwarded = request.copy()
            forwarded.url = f"http://{backend}{path}"
            forwarded.headers.update(proxy_headers(self.public.geturl()))
            try:
                response = super().send(forwarded, **kwargs)
            except requests.ConnectionError as exc:
                if not _refused(exc):
                    raise
                last = exc
                continue
            # The caller sees the public URL, so cookies and redirects stay on it.
            response.url = request.url
            response.request = request
            return response
        assert last is not None
        raise last


def edge_session(*, public_base_url: str, backends: Backends) -> requests.Session:
    """A requests session that reaches the app only through the stand-in proxy."""
    session = requests.Session()
    session.trust_env = False
    session.mount(
        public_base_url.rstrip("/") + "/",
        EdgeAdapter(public_base_url=public_base_url, backends=backends),
    )
    return session
