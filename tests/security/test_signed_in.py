"""Who a request is signed in as, with the session and the user from the cache
(`agents.signed_in`, `contactcenter.session_store`): no query for either once an agent's page
has loaded, and every change that ends a sign-in still ends it at the next request."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents import signed_in
from agents.signed_in import session_sign_in
from contactcenter import session_store
from contactcenter.session_store import SessionStore
from tests.factories import at_work, login

pytestmark = pytest.mark.django_db

SESSION_CHECK = "/desktop/session/"  # 204 signed in, 401 not


def _check(client) -> tuple[int, int]:
    """(status, queries) of one signed-in request."""
    with CaptureQueriesContext(connection) as queries:
        status = client.get(SESSION_CHECK).status_code
    return status, len(queries)


def test_an_agent_at_work_is_known_without_a_query(alice):
    client = login(alice)  # the sign-in caches who signed in
    assert _check(client) == (204, 0)
    assert _check(client) == (204, 0)


def test_a_user_not_cached_is_read_once(alice):
    client = login(alice)
    signed_in.forget_signed_in_user(user_id=alice.user.pk)  # evicted, say
    assert _check(client) == (204, 1)
    assert _check(client) == (204, 0)


def test_the_cache_keeps_no_password_hash(alice):
    client = at_work(login(alice))
    session = SessionStore(session_key=client.cookies["sessionid"].value)
    user = session_sign_in(session=session).user
    assert user == alice.user
    assert "password" not in user.__dict__  # deferred: read from the database if needed
    cached = signed_in.cache.get(signed_in._entry_key(alice.user.pk))
    assert alice.user.password not in repr(cached)
    assert user.password == alice.user.password  # fetched on demand


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda user: user.set_password("a-new-password-9"), id="password changed"),
        pytest.param(lambda user: setattr(user, "is_active", False), id="deactivated"),
    ],
)
def test_a_change_elsewhere_signs_the_session_out_at_the_next_request(alice, change):
    client = at_work(login(alice))
    user = get_user_model().objects.get(pk=alice.user.pk)  # another process's copy
    change(user)
    user.save()
    assert client.get(SESSION_CHECK).status_code == 401


def test_a_deleted_user_is_signed_out(alice):
    client = at_work(login(alice))
    alice.user.delete()
    assert client.get(SESSION_CHECK).status_code == 401


def test_a_session_row_deleted_ends_it_at_once(alice):
    client = at_work(login(alice))
    Session.objects.all().delete()  # the admin, clearsessions
    assert client.get(SESSION_CHECK).status_code == 401


def test_no_session_is_cached_longer_than_the_backstop():
    """A row deleted behind the ORM's back is honoured no longer than CACHE_SECONDS."""
    timeouts = []

    class Recorder:
        def set(self, key, value, timeout=None, version=None):
            timeouts.append(timeout)

    short = session_store._ShortLived(Recorder())
    for asked in (14 * 24 * 3600, None, 5):
        short.set("key", "value", asked)
    assert timeouts == [session_store.CACHE_SECONDS, session_store.CACHE_SECONDS, 5]
    assert isinstance(SessionStore()._cache, session_store._ShortLived)


def test_a_user_read_while_they_change_is_not_believed_after_the_change(alice, monkeypatch):
    """The race: a request reads the user, the password changes (and its entry is forgotten),
    then the request caches what it read. The next request must not believe it."""
    client = login(alice)
    signed_in.forget_signed_in_user(user_id=alice.user.pk)  # so that the request reads it
    from django.contrib.auth.backends import ModelBackend

    read = ModelBackend.get_user

    def read_then_change(self, user_id):
        user = read(self, user_id)
        other = get_user_model().objects.get(pk=user_id)
        other.set_password("changed-meanwhile-9")
        other.save()
        return user

    monkeypatch.setattr(ModelBackend, "get_user", read_then_change)
    assert client.get(SESSION_CHECK).status_code == 204  # as Django: the row it read
    monkeypatch.setattr(ModelBackend, "get_user", read)
    assert client.get(SESSION_CHECK).status_code == 401


def test_an_entry_made_under_other_secrets_is_not_believed(alice, settings):
    settings.SECRET_KEY = "the-secret-before-the-rotation-" + "x" * 40
    client = at_work(login(alice))  # cached under the old secret
    settings.SECRET_KEY = "a-new-secret-with-no-fallback-" + "y" * 40
    assert client.get(SESSION_CHECK).status_code == 401  # as Django: no fallback, no sign-in


def test_a_session_signed_under_a_fallback_secret_is_re_signed(alice, settings):
    settings.SECRET_KEY = "the-secret-before-the-rotation-" + "x" * 40
    client = at_work(login(alice))
    old_key = client.cookies["sessionid"].value
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "the-secret-after-the-rotation-" + "z" * 40
    assert client.get(SESSION_CHECK).status_code == 204
    new_key = client.cookies["sessionid"].value
    assert new_key != old_key  # cycled, as Django does, and signed with the new secret
    settings.SECRET_KEY_FALLBACKS = []
    assert client.get(SESSION_CHECK).status_code == 204


def test_an_entry_of_another_release_is_read_again(alice):
    """An entry whose fields are not the model's (a release added or dropped one) would put
    values in the wrong fields: it is a miss."""
    client = login(alice)
    key = signed_in._entry_key(alice.user.pk)
    cached = list(signed_in.cache.get(key))
    names_at, values_at = 3, 4  # _Entry's order: version, secrets, backend, names, values
    cached[names_at] = ("dropped_since", *cached[names_at])
    cached[values_at] = ("its value", *cached[values_at])
    signed_in.cache.set(key, tuple(cached), signed_in.USER_SECONDS)
    assert _check(client) == (204, 1)
    assert _check(client) == (204, 0)


def test_a_wallboards_heartbeat_asks_the_database_nothing_while_cached(gina, sam):
    """Every wallboard re-checks its viewer every 4 s: who it is and the supervisor flag
    come from the cache, and a right taken away still counts at the next one."""
    from calls.wallboard.consumers import _supervisor_of
    from tests.sockets import session_of

    for supervisor in (gina, sam):  # by the permission, and through the group
        key = session_of(supervisor)
        assert _supervisor_of(session_key=key) == (supervisor.pk, True)
        with CaptureQueriesContext(connection) as queries:
            assert _supervisor_of(session_key=key) == (supervisor.pk, True)
        assert len(queries) == 0, [q["sql"] for q in queries.captured_queries]
    sam.groups.clear()
    assert _supervisor_of(session_key=session_of(sam)) == (sam.pk, False)
