"""Who a websocket handshake is signed in as: the session cookie's key, read by the consumer
in its own thread hop (`agents.live.session_user`), with Django's rules for a request and
without ever writing the session, since a socket cannot set a cookie."""

from __future__ import annotations

from datetime import datetime

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.models import Session

from agents.live import session_user
from contactcenter.websocket_sessions import SessionKeyMiddleware
from tests.sockets import DESKTOP, WALLBOARD, open_live, open_socket, session_of


def _session_row(key: str) -> tuple[str, datetime] | None:
    row = Session.objects.filter(session_key=key).values_list("session_data", "expire_date")
    return row.first()


def _rewrite(key: str, **changes) -> None:
    session = Session.objects.get(session_key=key)
    data = session.get_decoded() | changes
    Session.objects.save(key, data, session.expire_date)


@pytest.mark.django_db
def test_a_signed_in_session_names_its_active_user(alice):
    assert session_user(session_key=session_of(alice)) == alice.user


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "no-such-session-key-0123456789", "x" * 300, "';--"])
def test_no_session_or_an_unknown_one_is_nobody(key):
    assert session_user(session_key=key) is None


@pytest.mark.django_db
def test_an_inactive_user_is_nobody(alice):
    key = session_of(alice)
    alice.user.is_active = False
    alice.user.save()
    assert session_user(session_key=key) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({SESSION_KEY: "not-a-number"}, id="unreadable user id"),
        pytest.param({SESSION_KEY: "999999"}, id="no such user"),
        pytest.param({BACKEND_SESSION_KEY: "some.other.Backend"}, id="backend not configured"),
    ],
)
def test_a_session_that_names_no_usable_user_is_nobody(alice, changes):
    key = session_of(alice)
    _rewrite(key, **changes)
    assert session_user(session_key=key) is None


@pytest.mark.django_db
def test_a_password_changed_since_signs_the_session_out_without_deleting_it(alice):
    key = session_of(alice)
    alice.user.set_password("a-new-password-9")
    alice.user.save()
    before = _session_row(key)
    assert session_user(session_key=key) is None
    # Left for the next page load to flush, with a cookie to clear: a socket cannot.
    assert _session_row(key) == before


@pytest.mark.django_db
def test_a_session_signed_under_a_rotated_secret_still_signs_in_unchanged(alice, settings):
    settings.SECRET_KEY = "the-secret-before-the-rotation-" + "x" * 40
    key = session_of(alice)
    before = _session_row(key)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "the-secret-after-the-rotation-" + "y" * 40
    assert session_user(session_key=key) == alice.user
    # Not renewed under the new secret here: that would give it a key the browser never gets.
    assert _session_row(key) == before
    settings.SECRET_KEY_FALLBACKS = []
    assert session_user(session_key=key) is None


async def _scope_seen_by_the_app(scope: dict) -> dict:
    seen = {}

    async def app(scope, receive, send):
        seen.update(scope)

    await SessionKeyMiddleware(app)(scope, None, None)
    return seen


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ([], ""),
        ([(b"cookie", b"other=1")], ""),
        ([(b"cookie", b"other=1; sessionid=abc123")], "abc123"),
        # A browser sends one Cookie header; the first is read, as Channels did.
        ([(b"cookie", b"sessionid=first"), (b"cookie", b"sessionid=second")], "first"),
    ],
)
async def test_the_handshake_keeps_only_the_session_cookies_key(headers, key):
    seen = await _scope_seen_by_the_app({"type": "websocket", "headers": headers})
    assert seen["session_key"] == key
    # Nothing an open socket would keep all day: no session object, user or cookie jar.
    assert not {"session", "user", "cookies"} & seen.keys()


async def test_http_scopes_pass_unchanged():
    scope = {"type": "http", "headers": [(b"cookie", b"sessionid=abc123")]}
    assert await _scope_seen_by_the_app(scope) == scope


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_db_connections")
async def test_a_refused_handshake_leaves_the_session_for_the_page(alice, sam):
    """A password changed elsewhere: the desktop and wallboard refuse the old session's
    handshake, and the session is still there for the next page load to end properly."""
    desktop_key = await sync_to_async(session_of)(alice)
    wallboard_key = await sync_to_async(session_of)(sam)

    def change_passwords():
        for user in (alice.user, sam):
            user.set_password("a-new-password-9")
            user.save()

    await sync_to_async(change_passwords)()
    for path, key in ((DESKTOP, desktop_key), (WALLBOARD, wallboard_key)):
        socket, connected, code = await open_socket(path, key)
        await socket.disconnect(timeout=0.2)
        assert not connected, (path, code)
        assert await sync_to_async(_session_row)(key) is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_db_connections")
async def test_a_session_under_a_rotated_secret_opens_both_pages(alice, sam, settings):
    settings.SECRET_KEY = "the-secret-before-the-rotation-" + "x" * 40
    desktop_key = await sync_to_async(session_of)(alice)
    wallboard_key = await sync_to_async(session_of)(sam)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "the-secret-after-the-rotation-" + "y" * 40
    for path, key in ((DESKTOP, desktop_key), (WALLBOARD, wallboard_key)):
        socket = await open_live(path, key)
        await socket.disconnect(timeout=0.2)
