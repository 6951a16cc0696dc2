"""Fixtures for the security tests. The people of the authorization matrix and a channel layer
of the test's own come from tests/conftest.py; sessions and sockets from sockets.py."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.db import connections


@pytest.fixture
async def close_db_connections():
    """Connections opened for consumers live in worker threads: close them, or PostgreSQL
    cannot drop the test database."""
    yield
    await sync_to_async(connections.close_all)()
