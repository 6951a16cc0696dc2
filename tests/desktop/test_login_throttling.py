"""Repeated failed logins are slowed down (django-axes): per username and per address, on
the desktop's login and the admin's, with a page that says why."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

GOOD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 3


@pytest.fixture
def alice(alice):
    """Alice, with a password to sign in with."""
    alice.user.set_password(GOOD)
    alice.user.save()
    return alice


def log_in(client: Client, username: str, password: str, *, address: str = "10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_a_username_that_keeps_failing_is_paused_and_told_why(alice):
    client = Client()
    for _ in range(2):
        assert log_in(client, "alice", "wrong").status_code == 200  # the form, with an error
    paused = log_in(client, "alice", "wrong")
    assert paused.status_code == 429
    page = paused.content.decode()
    assert "Too many failed logins" in page and "10 minutes" in page
    # Even the right password waits now, from anywhere.
    assert log_in(Client(), "alice", GOOD, address="10.0.0.9").status_code == 429


def test_an_address_that_tries_many_usernames_is_paused(alice):
    for name in ("bob", "carol", "dan"):
        answer = log_in(Client(), name, "guess", address="10.0.0.66")
    assert answer.status_code == 429
    assert log_in(Client(), "alice", GOOD, address="10.0.0.66").status_code == 429
    # Alice from elsewhere is not held up by someone else's guessing.
    assert log_in(Client(), "alice", GOOD, address="10.0.0.2").status_code == 302


def test_a_success_clears_the_failures(alice):
    client = Client()
    log_in(client, "alice", "wrong")
    log_in(client, "alice", "wrong")
    assert log_in(client, "alice", GOOD).status_code == 302
    client.post("/logout/")
    for _ in range(2):
        log_in(client, "alice", "wrong")
    assert log_in(client, "alice", GOOD).status_code == 302


def test_only_the_username_counts_when_the_office_shares_one_address(alice, settings):
    settings.AXES_LOCKOUT_PARAMETERS = ["username"]
    for name in ("bob", "carol", "dan", "erin"):
        log_in(Client(), name, "typo", address="10.0.0.50")
    assert log_in(Client(), "alice", GOOD, address="10.0.0.50").status_code == 302


def test_the_admins_login_is_guarded_too(alice):
    client = Client()
    for _ in range(3):
        answer = client.post(
            "/admin/login/?next=/admin/",
            {"username": "alice", "password": "wrong"},
            REMOTE_ADDR="10.0.0.3",
        )
    assert answer.status_code == 429
