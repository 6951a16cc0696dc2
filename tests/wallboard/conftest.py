"""The wallboard tests' people, channel layer and simulator come from tests/conftest.py. The
wallboard is reached through the project's own wiring (contactcenter/urls.py,
contactcenter/asgi.py and calls/publishing.py), as in production."""

import pytest

from calls.wallboard import rendering


@pytest.fixture
def sam(sam):
    """Sam with his last name too, as the demo names him: the wallboard shows full names."""
    sam.last_name = "Supervisor"
    sam.save(update_fields=["last_name"])
    return sam


@pytest.fixture
def renders(monkeypatch) -> list[dict]:
    """Every render of a wallboard change (one call's or one agent's), by its arguments."""
    seen: list[dict] = []
    original = rendering._render_update

    def counting(**kwargs):
        seen.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(rendering, "_render_update", counting)
    return seen
