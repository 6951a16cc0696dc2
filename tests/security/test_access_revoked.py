"""Sockets die with their credentials (issue 18, item 3): a password change, a deactivation
or the loss of the supervisor permission closes that user's desktops and wallboards at
once, without waiting for a heartbeat, through the real ASGI application and the channel
layer (agents.signals announces `AccessRevoked`, the pages' consumers close). A socket the
user may still hold is closed with 4000 and let in again on reconnect; one they may not,
with 4401 (signed out) or 4403 (no longer a supervisor), and the reconnect is refused.
Other users' sockets stay open. Across processes: tests/deploy/test_multiprocess.py."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group, Permission
from django.test import Client

from agents.live import CLOSE_RECHECK
from tests.sockets import (
    DESKTOP,
    WALLBOARD,
    close_code,
    open_live,
    open_socket,
    session_of,
)
from tests.wallboard.sockets import assert_still_open

pytestmark = pytest.mark.django_db(transaction=True)

SIGNED_OUT, NOT_SUPERVISOR = 4401, 4403


def _supervise() -> Permission:
    return Permission.objects.get(codename="supervise", content_type__app_label="calls")


@pytest.fixture
async def floor(alice, bob, sam, gina, close_db_connections):
    """Alice's and Bob's desktops, Sam's desktop and wallboard, Gina's wallboard: each in a
    session of its own."""
    sessions = {
        name: await sync_to_async(session_of)(user)
        for name, user in (("alice", alice.user), ("bob", bob.user), ("sam", sam), ("gina", gina))
    }
    sockets = {
        "alice": await open_live(DESKTOP, sessions["alice"]),
        "bob": await open_live(DESKTOP, sessions["bob"]),
        "sam_desktop": await open_live(DESKTOP, sessions["sam"]),
        "sam_wallboard": await open_live(WALLBOARD, sessions["sam"]),
        "gina": await open_live(WALLBOARD, sessions["gina"]),
    }
    yield sessions, sockets
    for socket in sockets.values():
        await socket.disconnect(timeout=0.2)


async def _reopens(path: str, session: str) -> bool:
    socket, connected, _ = await open_socket(path, session)
    await socket.disconnect(timeout=0.2)
    return connected


async def _still_open(sockets: dict, *names: str) -> None:
    for name in names:
        await assert_still_open(sockets[name])


def _change_password(user) -> None:
    user.set_password("a-new-password-9")
    user.save()


async def test_a_password_change_closes_that_users_desktop_and_the_old_session_is_refused(
    floor, alice
):
    sessions, sockets = floor
    await sync_to_async(_change_password)(alice.user)
    # Alice is still active: the page may reconnect, and the handshake decides (her session
    # was opened with the old password, so it no longer signs her in).
    assert await close_code(sockets["alice"]) == CLOSE_RECHECK
    assert not await _reopens(DESKTOP, sessions["alice"])
    await _still_open(sockets, "bob", "sam_desktop", "sam_wallboard", "gina")


async def test_a_password_change_in_the_admin_closes_them_too(floor, alice, root_client):
    sessions, sockets = floor
    url = f"/admin/auth/user/{alice.user.pk}/password/"
    body = {"password1": "a-new-password-9", "password2": "a-new-password-9"}
    answer = await sync_to_async(root_client.post)(url, body | {"usable_password": "true"})
    assert answer.status_code == 302, answer.content[:500]
    assert await close_code(sockets["alice"]) == CLOSE_RECHECK
    assert not await _reopens(DESKTOP, sessions["alice"])


async def test_deactivation_closes_desktop_and_wallboard_as_signed_out(floor, sam):
    sessions, sockets = floor
    sam.is_active = False
    await sync_to_async(sam.save)()
    assert await close_code(sockets["sam_desktop"]) == SIGNED_OUT
    assert await close_code(sockets["sam_wallboard"]) == SIGNED_OUT
    assert not await _reopens(DESKTOP, sessions["sam"])
    assert not await _reopens(WALLBOARD, sessions["sam"])
    await _still_open(sockets, "alice", "bob", "gina")


@pytest.mark.parametrize(
    "take_away",
    [
        pytest.param(
            lambda sam: sam.groups.remove(Group.objects.get(name="Supervisors")),
            id="user.groups.remove",
        ),
        pytest.param(lambda sam: sam.groups.clear(), id="user.groups.clear"),
        pytest.param(
            lambda sam: Group.objects.get(name="Supervisors").user_set.remove(sam),
            id="group.user_set.remove",
        ),
        pytest.param(
            lambda sam: Group.objects.get(name="Supervisors").permissions.remove(_supervise()),
            id="group.permissions.remove",
        ),
        pytest.param(lambda sam: _supervise().group_set.clear(), id="permission.group_set.clear"),
        pytest.param(lambda sam: Group.objects.get(name="Supervisors").delete(), id="group.delete"),
    ],
)
async def test_losing_the_supervisor_group_closes_the_wallboard_and_resets_the_desktop(
    floor, sam, take_away
):
    sessions, sockets = floor
    await sync_to_async(take_away)(sam)
    assert await close_code(sockets["sam_wallboard"]) == NOT_SUPERVISOR
    # The desktop closes too (it showed a supervisor's buttons) and reopens as an agent's.
    assert await close_code(sockets["sam_desktop"]) == CLOSE_RECHECK
    assert await _reopens(DESKTOP, sessions["sam"])
    assert not await _reopens(WALLBOARD, sessions["sam"])
    await _still_open(sockets, "alice", "bob", "gina")


@pytest.mark.parametrize(
    "take_away",
    [
        pytest.param(
            lambda gina: gina.user_permissions.remove(_supervise()), id="user_permissions.remove"
        ),
        pytest.param(
            lambda gina: _supervise().user_set.remove(gina), id="permission.user_set.remove"
        ),
    ],
)
async def test_losing_the_permission_granted_directly_closes_the_wallboard(floor, gina, take_away):
    sessions, sockets = floor
    await sync_to_async(take_away)(gina)
    assert await close_code(sockets["gina"]) == NOT_SUPERVISOR
    assert not await _reopens(WALLBOARD, sessions["gina"])
    await _still_open(sockets, "alice", "bob", "sam_desktop", "sam_wallboard")


def _unrelated_changes(alice, sam) -> None:
    alice.user.first_name = "Alicia"
    alice.user.save()
    alice.user.save(update_fields=["last_login"])
    other = Group.objects.create(name="Night shift")
    sam.groups.add(other)
    sam.groups.remove(other)  # Sam is still a supervisor through Supervisors
    other.delete()
    Client().force_login(alice.user)  # another session: a login is no revocation


async def test_changes_that_take_nothing_away_close_nothing(floor, alice, sam):
    _, sockets = floor
    await sync_to_async(_unrelated_changes)(alice, sam)
    await _still_open(sockets, "alice", "bob", "sam_desktop", "sam_wallboard", "gina")


@pytest.fixture
def root_client(db):
    from tests.factories import make_user

    client = Client()
    client.force_login(make_user(username="root", is_superuser=True, is_staff=True))
    return client
