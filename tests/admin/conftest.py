"""Users for every row of the admin permission matrix, and a logged-in client per user."""

import pytest
from django.contrib.auth.models import Group, Permission

from tests.factories import make_agent, make_supervisor, make_user


def _supervise_permission() -> Permission:
    return Permission.objects.get(codename="supervise", content_type__app_label="calls")


@pytest.fixture
def supervisors_group(db) -> Group:
    """The "Supervisors" group holding only `calls.supervise`: the minimum that makes a
    supervisor (seed_demo's group also holds the model permissions)."""
    group, _ = Group.objects.get_or_create(name="Supervisors")
    group.permissions.add(_supervise_permission())
    return group


@pytest.fixture
def agent_user(db):
    return make_agent(username="alice").user


@pytest.fixture
def staff_agent_user(db):
    """An agent someone marked is_staff: still not a supervisor, so still kept out."""
    user = make_agent(username="stella").user
    user.is_staff = True
    user.save()
    return user


@pytest.fixture
def group_supervisor(supervisors_group):
    user = make_supervisor(username="gina")
    user.is_staff = False  # supervisors need no staff flag
    user.save()
    return user


@pytest.fixture
def perm_supervisor(db):
    user = make_user(username="pete")
    user.user_permissions.add(_supervise_permission())
    return user


@pytest.fixture
def superuser(root):
    """The matrix's row for a superuser: `root` of tests/conftest.py."""
    return root


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login
