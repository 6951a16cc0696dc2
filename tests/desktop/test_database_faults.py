"""A button or page while the database is not answering: 503 with a reason, not a 500 page.

(tests/faults/test_postgres.py presses a real button against a real PostgreSQL that is down.)
"""

import pytest
from django.db import OperationalError
from django.test import Client

from agents.views import common, inbound_routing
from agents.views.errors import DATABASE_UNAVAILABLE_API_MESSAGE, DATABASE_UNAVAILABLE_MESSAGE

pytestmark = pytest.mark.django_db


def _refused(**kwargs):
    raise OperationalError("connection refused")


def test_a_button_gets_503_with_a_reason_for_the_message_area(alice_client, monkeypatch, htmx):
    # A button finds its agent through the profile cache, which reads the database on a miss.
    monkeypatch.setattr(common, "acting_profile", _refused)
    response = alice_client.post("/desktop/members/1/actions/hold/", **htmx)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["HX-Reswap"] == "none"  # the call stays as it was on the page
    assert response.content.decode() == DATABASE_UNAVAILABLE_MESSAGE


def test_a_page_without_htmx_gets_the_same_reason(alice_client, monkeypatch):
    monkeypatch.setattr(common, "acting_profile", _refused)
    response = alice_client.post("/desktop/members/1/actions/hold/", HTTP_ACCEPT="text/html")
    assert (response.status_code, response.content.decode()) == (503, DATABASE_UNAVAILABLE_MESSAGE)


def test_a_machine_gets_json(client, settings, monkeypatch):
    # The PHLO HTTP Request node asking whom to route a call to.
    settings.ROUTING_API_TOKEN = "routing-token"
    monkeypatch.setattr(inbound_routing, "inbound_route", _refused)
    response = client.post(
        "/routing/inbound/",
        {"call_uuid": "c1", "from": "+14155550101", "to": "+14155550000"},
        headers={"Authorization": "Bearer routing-token", "Accept": "application/json"},
    )
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert response.json() == {"error": DATABASE_UNAVAILABLE_API_MESSAGE}


class RefusingMiddleware:
    """A middleware that meets the database down, outside any view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raise OperationalError("the database system is starting up")


def test_outside_a_view_it_is_a_503_too_and_other_errors_stay_500(settings, monkeypatch):
    settings.MIDDLEWARE = [f"{__name__}.RefusingMiddleware", *settings.MIDDLEWARE]
    response = Client(raise_request_exception=False).get("/", HTTP_ACCEPT="text/html")
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert DATABASE_UNAVAILABLE_MESSAGE in response.content.decode()

    def _bug(self, request):
        raise RuntimeError("a bug")

    monkeypatch.setattr(RefusingMiddleware, "__call__", _bug)
    assert Client(raise_request_exception=False).get("/").status_code == 500
