"""The people every test folder shares, and the headers and clients they use.

- Agents `alice`, `bob`, `carol`, `dave`: an agent each, Available, with a phone at
  `sip:<name>@phones.test` and a first name ("Alice"...); `agent_fixture` makes variants.
- `sam`: a supervisor through the Supervisors group, with a phone of his own (first name Sam).
- `gina`: a supervisor through the permission granted directly, with no agent profile.
- `root`: a superuser. `dana`: a customer, Dana Diaz, +1 415 555 0101.
- `htmx`: the headers of a request made by htmx.
A folder or module overrides one of them only where its tests need someone else, and says
how they differ.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from tests.factories import make_agent, make_customer, make_supervisor, make_user


def agent_fixture(username: str, *, named: bool = True, status: str = "available"):
    """A fixture `username`: an agent with a phone at sip:<username>@phones.test, in `status`,
    whose first name is the username capitalized (or, `named=False`, who has none, so pages
    call them by username)."""

    @pytest.fixture(name=username)
    def agent(db):
        agent = make_agent(username=username, endpoint=f"sip:{username}@phones.test", status=status)
        if named:
            agent.user.first_name = username.capitalize()
            agent.user.save(update_fields=["first_name"])
        return agent

    return agent


alice = agent_fixture("alice")
bob = agent_fixture("bob")
carol = agent_fixture("carol")
dave = agent_fixture("dave")


@pytest.fixture
def sam(db):
    """A supervisor (Supervisors group) with an agent profile and phone of his own."""
    user = make_supervisor(username="sam", with_agent=True)
    user.first_name = "Sam"
    user.save(update_fields=["first_name"])
    return user


@pytest.fixture
def gina(db):
    """A supervisor through the permission alone, with no agent profile (no phone)."""
    user = make_user(username="gina", first_name="Gina")
    user.user_permissions.add(
        Permission.objects.get(codename="supervise", content_type__app_label="calls")
    )
    return user


@pytest.fixture
def root(db):
    return make_user(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def dana(db):
    return make_customer(name="Dana Diaz", phone="+14155550101")


@pytest.fixture
def htmx():
    """Headers of a request made by htmx."""
    return {"HTTP_HX_REQUEST": "true"}
