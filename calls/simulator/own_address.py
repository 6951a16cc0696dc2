"""Who may talk to the simulator: requests addressed to it, sent by no page or by its own.

/_sim/ and /phones/ have no authentication (the simulator is a local tool), and the PHLO
API's demo credentials are public, so a browser must not become the way in:

- **Host** must name the simulator: a loopback name (127.0.0.1, localhost, [::1]), the
  address it listens on, or a name it was configured with (the host of the app's
  `PHLO_BASE_URL`), with its port. A page on a rebound DNS name (evil.example resolving to
  127.0.0.1) sends `Host: evil.example` and is refused: it can neither read nor drive it.
- **Origin**, when there is one, must be the simulator's own (`http://` one of those names,
  its port): another site's form post to /phones/ or no-cors fetch to /_sim/ is refused.
  Servers (the app, the `plivo` SDK, scripts) send no Origin, and neither does a browser
  following a link to the phones page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Listening on every interface names no host of its own.
_ANY_INTERFACE = ("", "0.0.0.0", "::")
DEFAULT_PORT = 80


def _split(netloc: str) -> tuple[str, int] | None:
    """(host name, port) of `host[:port]`, lowercased, IPv6 without brackets; None if bad."""
    try:
        parts = urlsplit(f"//{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    if parts.path or parts.query or parts.fragment:
        return None
    return parts.hostname, DEFAULT_PORT if port is None else port


@dataclass(frozen=True)
class OwnAddress:
    names: frozenset[str]
    port: int

    @classmethod
    def of(cls, *, host: str, port: int, extra: Iterable[str] = ()) -> OwnAddress:
        """The simulator listening on (host, port), also known by the `extra` names."""
        names = {*LOOPBACK, *(name.strip("[]").lower() for name in extra if name)}
        if host not in _ANY_INTERFACE:
            names.add(host.strip("[]").lower())
        return cls(names=frozenset(names), port=port)

    def _is_own(self, netloc: str) -> bool:
        found = _split(netloc)
        return found is not None and found[0] in self.names and found[1] == self.port

    def host_refusal(self, host: str | None) -> str:
        """Why a request with this Host header is refused ("" when it is not). No Host at
        all (HTTP/1.0 tools) is no browser's, so it is let through."""
        if host is None or self._is_own(host.strip()):
            return ""
        return (
            f"Host {host[:100]!r} is not this simulator's address: use 127.0.0.1 or"
            f" localhost with port {self.port}."
        )

    def origin_refusal(self, origin: str | None) -> str:
        """Why a request from a page of this Origin is refused ("" when it is not)."""
        if origin is None:
            return ""
        scheme, _, netloc = origin.strip().partition("://")
        if scheme.lower() == "http" and self._is_own(netloc):
            return ""
        return (
            f"Requests from another site's pages are refused (Origin {origin[:100]!r}); open"
            " the phones page itself, or call the API from a program."
        )
