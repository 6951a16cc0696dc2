"""What a browser and the provider do to a deployed cluster, over real sockets.

`Browser` logs in through the real login form and clicks buttons through the stand-in proxy
(`harness.edge`), and opens desktop websockets straight to one app process with the headers
the proxy would pass. `post_callback` signs a callback the way Plivo does, against the
public URL, and posts it to one process.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import requests

from calls.signature import NONCE_HEADER, SIGNATURE_HEADER, compute_signature
from harness.cluster import Cluster, Server
from harness.edge import Backends, edge_session, proxy_headers
from harness.wsclient import WebSocket

WS_PATH = "/ws/desktop/"
TIMEOUT = 5.0

_CSRF_FORM = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_CSRF_HTMX = re.compile(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'")
_MEMBER = re.compile(
    r'<tr id="member-(?P<pk>\d+)" class="member member--(?P<state>[a-z_]+)[^"]*"'
    r' data-role="(?P<role>[a-z]+)"'
)
_CALL = re.compile(r'<article id="call-(?P<pk>\d+)"[^>]*data-version="(?P<version>\d+)"')


@dataclass(frozen=True)
class MemberRow:
    pk: int
    state: str
    role: str


def members(html: str) -> list[MemberRow]:
    return [MemberRow(int(m["pk"]), m["state"], m["role"]) for m in _MEMBER.finditer(html)]


def customer_state(html: str) -> str | None:
    return next((m.state for m in members(html) if m.role == "customer"), None)


def call_versions(html: str) -> dict[int, int]:
    return {int(m["pk"]): int(m["version"]) for m in _CALL.finditer(html)}


def is_full_state(html: str) -> bool:
    return 'data-full-state="true"' in html


class Browser:
    """One person's browser. HTTP goes through the proxy to `backends`."""

    def __init__(self, cluster: Cluster, *, backends: Backends) -> None:
        self.cluster = cluster
        self.public = cluster.public_base_url
        self.http: requests.Session = edge_session(public_base_url=self.public, backends=backends)
        # Browsers send Origin on every POST; Django's CSRF check over HTTPS relies on it.
        self.http.headers["Origin"] = self.public
        self.csrf_token = ""

    def route_to(self, backends: Backends) -> None:
        """From now on, the proxy sends this browser's requests to `backends`."""
        self.http.get_adapter(self.url("/"))._backends = backends

    def url(self, path: str) -> str:
        return self.public + path

    def login(self, *, username: str, password: str) -> str:
        """Log in through the form; returns the desktop page it lands on."""
        page = self.http.get(self.url("/login/"), timeout=TIMEOUT)
        page.raise_for_status()
        token = _CSRF_FORM.search(page.text)
        assert token, "the login page has no CSRF token"
        answer = self.http.post(
            self.url("/login/"),
            data={"username": username, "password": password, "csrfmiddlewaretoken": token[1]},
            headers={"Referer": self.url("/login/")},
            timeout=TIMEOUT,
        )
        assert answer.status_code == 200 and urlsplit(answer.url).path == "/", (
            f"login as {username} failed: HTTP {answer.status_code} at {answer.url}"
        )
        return self.refresh_token(answer.text)

    def refresh_token(self, desktop_html: str) -> str:
        found = _CSRF_HTMX.search(desktop_html)
        assert found, "the desktop page carries no CSRF token for htmx"
        self.csrf_token = found[1]
        return desktop_html

    @property
    def session_cookie(self) -> str:
        value = self.http.cookies.get("sessionid")
        assert value, "not logged in"
        return value

    def click(self, path: str, data: dict | None = None) -> requests.Response:
        """A button: an htmx POST with the page's CSRF token."""
        return self.http.post(
            self.url(path),
            data=data or {},
            headers={"HX-Request": "true", "X-CSRFToken": self.csrf_token},
            timeout=15,
        )

    async def open_desktop(self, server: Server) -> WebSocket:
        """The desktop's websocket, held on `server`, as the proxy would forward it."""
        headers = [
            *proxy_headers(self.public).items(),
            ("Origin", self.public),
            ("Cookie", f"sessionid={self.session_cookie}"),
        ]
        return await WebSocket.connect(
            host="127.0.0.1", port=server.port, path=WS_PATH, headers=headers
        )


def sign(cluster: Cluster, params: dict[str, str], *, path: str = "/webhooks/plivo/") -> dict:
    """Headers Plivo would send: a V3 signature over the public URL, a fresh nonce."""
    nonce = str(secrets.randbelow(10**20))
    signature = compute_signature(
        url=cluster.public_base_url + path,
        params=params,
        nonce=nonce,
        auth_token=cluster.auth_token,
    )
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        SIGNATURE_HEADER: signature,
        NONCE_HEADER: nonce,
    }


def post_callback(cluster: Cluster, server: Server, params: dict[str, str]) -> requests.Response:
    """POST a signed callback to one process, through the proxy's headers."""
    session = edge_session(public_base_url=cluster.public_base_url, backends=[server.address])
    with session:
        return session.post(
            cluster.public_base_url + "/webhooks/plivo/",
            data=urlencode(params),
            headers=sign(cluster, params),
            timeout=TIMEOUT,
        )
