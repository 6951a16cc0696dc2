"""contactcenter.cache while its Redis cannot be reached: an empty cache, not an error. What
the app caches is a copy of PostgreSQL's rows, so signed-in pages and buttons keep working
through a Redis outage (docs/operations.md). No Redis needed: the cache points at a port
where nothing listens."""

from __future__ import annotations

import logging

import pytest
from django.core.cache import caches

from contactcenter import cache as forgiving
from tests.factories import login

pytestmark = pytest.mark.django_db

NOBODY_LISTENS = "redis://127.0.0.1:1/0"


@pytest.fixture
def unreachable_cache(settings, monkeypatch):
    settings.CACHES = {
        "default": {
            "BACKEND": "contactcenter.cache.SharedRedisCache",
            "LOCATION": NOBODY_LISTENS,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    monkeypatch.setattr(forgiving, "_warned_at", float("-inf"))
    return caches["default"]


def test_it_answers_as_an_empty_cache(unreachable_cache):
    cache = unreachable_cache
    cache.set("key", "value")
    cache.set_many({"a": 1, "b": 2})
    assert cache.get("key") is None and cache.get("key", "default") == "default"
    assert cache.get_many(["a", "b"]) == {}
    assert "key" not in cache
    assert cache.add("key", "value") is False
    assert cache.touch("key") is False
    assert cache.delete("key") is False
    cache.delete_many(["a", "b"])
    with pytest.raises(ValueError):
        cache.incr("counter")


def test_it_warns_once_in_a_while_not_at_every_call(unreachable_cache, caplog):
    with caplog.at_level(logging.WARNING, logger="contactcenter.cache"):
        for _ in range(5):
            unreachable_cache.get("key")
    warnings = [r for r in caplog.records if r.name == "contactcenter.cache"]
    assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()


def test_signed_in_pages_and_the_session_check_keep_working(alice, unreachable_cache):
    client = login(alice)  # the session saved to PostgreSQL; the cache's copy dropped
    assert client.get("/desktop/session/").status_code == 204
    assert client.get("/").status_code == 200  # the desktop: the agent's profile too
    client.post("/logout/")
    assert client.get("/desktop/session/").status_code == 401
