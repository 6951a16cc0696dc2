"""Websocket origins are matched exactly (issue 18, item 2): scheme, host and port, against
the handshake's own address and CSRF_TRUSTED_ORIGINS, as Django's CSRF check matches a form
post's Origin, in development and under contactcenter.settings_production.

Before, Channels' AllowedHostsOriginValidator compared the Origin's host alone with
ALLOWED_HOSTS: a page on another port or scheme of the same host opened alice's socket."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.middleware.csrf import CsrfViewMiddleware
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactcenter.origins import Handshake, origin_refusal
from tests.deploy.production_env import load
from tests.sockets import DESKTOP, WALLBOARD, open_socket, session_of

# Sockets run their consumers in other threads: the data must be committed.
sockets = pytest.mark.django_db(transaction=True)

DEV_HOST = "127.0.0.1:8000"


def _headers(*, host: str, origin: str | None, proto: str | None = None) -> list:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if proto is not None:
        headers.append((b"x-forwarded-proto", proto.encode()))
    return headers


async def _opens(path: str, session: str, headers: list) -> bool:
    socket, connected, _ = await open_socket(path, session, headers=headers)
    await socket.disconnect(timeout=0.2)
    return connected


@pytest.fixture
async def sessions(alice, sam, close_db_connections):
    return {
        DESKTOP: await sync_to_async(session_of)(alice.user),
        WALLBOARD: await sync_to_async(session_of)(sam),
    }


# --- development: the request's own address --------------------------------------------------

REFUSED_IN_DEVELOPMENT = [
    "http://127.0.0.1:9000",  # another port of the same host: the page
    "https://127.0.0.1:8000",  # another scheme
    "http://127.0.0.1",  # no port (80)
    "http://localhost:8000",  # another name for the host is another origin
    "http://127.0.0.1:8000.evil.example",
    "http://evil.example",
    "null",  # a sandboxed frame or a file
    "",
    None,  # no Origin at all
]


@sockets
@pytest.mark.parametrize("path", [DESKTOP, WALLBOARD])
async def test_development_accepts_exactly_the_pages_own_origin(path, sessions):
    assert await _opens(path, sessions[path], _headers(host=DEV_HOST, origin="http://" + DEV_HOST))
    for origin in REFUSED_IN_DEVELOPMENT:
        headers = _headers(host=DEV_HOST, origin=origin)
        assert not await _opens(path, sessions[path], headers), origin


@sockets
async def test_a_rebound_dns_name_is_refused_though_origin_and_host_agree(sessions):
    # evil.example resolving to 127.0.0.1: the page's origin is its own address, but the
    # Host is not one this app serves (ALLOWED_HOSTS).
    headers = _headers(host="evil.example:8000", origin="http://evil.example:8000")
    assert not await _opens(DESKTOP, sessions[DESKTOP], headers)


@sockets
async def test_two_origin_headers_are_refused(sessions):
    own = "http://" + DEV_HOST
    headers = [*_headers(host=DEV_HOST, origin=own), (b"origin", b"http://evil.example")]
    assert not await _opens(DESKTOP, sessions[DESKTOP], headers)


# --- production ------------------------------------------------------------------------------


@pytest.fixture
def production(monkeypatch, settings):
    """What contactcenter.settings_production decides for PUBLIC_BASE_URL
    https://cc.example.com, applied to the settings the origin check reads."""

    def apply(**env: str):
        module = load(monkeypatch, **env)
        for name in ("DEBUG", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "SECURE_PROXY_SSL_HEADER"):
            setattr(settings, name, getattr(module, name))
        return module

    return apply


@sockets
@pytest.mark.parametrize("path", [DESKTOP, WALLBOARD])
async def test_production_accepts_exactly_the_public_origin(path, sessions, production):
    production()
    host = "cc.example.com"
    # Behind the proxy (X-Forwarded-Proto: https), and straight at a process.
    for proto in ("https", None):
        ok = _headers(host=host, origin="https://cc.example.com", proto=proto)
        assert await _opens(path, sessions[path], ok)
    for origin in (
        "http://cc.example.com",  # plain http: the second finding
        "https://cc.example.com:8443",  # another port
        "https://cc.example.com.evil.example",
        "https://evil.cc.example.com",
        "https://example.com",
    ):
        headers = _headers(host=host, origin=origin, proto="https")
        assert not await _opens(path, sessions[path], headers), origin


@sockets
async def test_production_honours_trusted_subdomain_patterns(sessions, production):
    production(DJANGO_CSRF_TRUSTED_ORIGINS="https://*.example.com")
    session = sessions[DESKTOP]
    ok = _headers(host="cc.example.com", origin="https://app.example.com", proto="https")
    assert await _opens(DESKTOP, session, ok)
    bad = _headers(host="cc.example.com", origin="http://app.example.com", proto="https")
    assert not await _opens(DESKTOP, session, bad)


# --- the same verdict as Django's CSRF origin check ------------------------------------------

_names = st.sampled_from(["cc.example.com", "127.0.0.1", "localhost", "evil.example", "[::1]"])
_ports = st.sampled_from(["", ":8000", ":443", ":8443", ":80"])
_netlocs = st.builds(lambda n, p: n + p, _names, _ports)
_origins = st.one_of(
    st.builds(lambda s, n: f"{s}://{n}", st.sampled_from(["http", "https", "ws"]), _netlocs),
    st.sampled_from(["null", "", "http://", "https://[::1", "http://a b"]),
)
_trusted = st.lists(
    st.one_of(
        st.builds(lambda s, n: f"{s}://{n}", st.sampled_from(["http", "https"]), _netlocs),
        st.sampled_from(["https://*.example.com", "http://*.example"]),
    ),
    max_size=3,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    origin=_origins,
    host=_netlocs,
    proto=st.sampled_from([None, "https", "http"]),
    trusted=_trusted,
)
def test_the_verdict_is_djangos_csrf_origin_check(settings, origin, host, proto, trusted):
    settings.ALLOWED_HOSTS = ["cc.example.com", "127.0.0.1", "localhost", "[::1]"]
    settings.CSRF_TRUSTED_ORIGINS = trusted
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    headers = _headers(host=host, origin=origin, proto=proto)
    handshake = Handshake({"type": "websocket", "headers": headers})
    # Django's own check of a form post carrying the same Host, Origin and proxy header.
    django_accepts = CsrfViewMiddleware(lambda request: None)._origin_verified(handshake)
    accepted = origin_refusal(handshake) == ""
    host_allowed = host.rsplit(":", 1)[0] != "evil.example"
    if host_allowed:
        assert accepted == django_accepts, (origin, host, proto, trusted)
    else:
        # Stricter on purpose: a Host this app does not serve is refused whatever the Origin
        # (Django's middleware never gets that far: the request is a 400 before).
        assert not accepted
