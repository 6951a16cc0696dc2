"""The wallboard tests' people, channel layer and simulator come from tests/conftest.py. The
wallboard is reached through the project's own wiring (contactcenter/urls.py,
contactcenter/asgi.py and calls/publishing.py), as in production."""

import pytest


@pytest.fixture
def sam(sam):
    """Sam with his last name too, as the demo names him: the wallboard shows full names."""
    sam.last_name = "Supervisor"
    sam.save(update_fields=["last_name"])
    return sam
