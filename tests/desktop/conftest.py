"""Fixtures for the desktop tests: a logged-in client (people, the simulator reaching this
app and a channel layer of the test's own come from tests/conftest.py)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import login
from tests.fixtures_people import agent_fixture

# The desktop tests read agents by username (no first names): "bob is transferring...".
alice = agent_fixture("alice", named=False)
bob = agent_fixture("bob", named=False)


@pytest.fixture
def alice_client(alice) -> Client:
    return login(alice)
