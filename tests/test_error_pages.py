"""Error pages in the product's look: a plain sentence a person can act on, a way back, and
nothing about the server (no path, setting or traceback)."""

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.test import Client, RequestFactory
from django.views import defaults

from agents.views.errors import server_error

pytestmark = pytest.mark.django_db

STYLED = '<link rel="stylesheet" href="/static/desktop/desktop.css">'


def _page(response) -> str:
    page = response.content.decode()
    assert STYLED in page and 'href="/">Go to the agent desktop</a>' in page
    assert "Traceback" not in page and "settings" not in page
    return page


def test_a_missing_page():
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in _page(response)
    assert "/no-such-page/" not in response.content.decode()


def test_a_server_error_bad_request_and_forbidden_page():
    request = RequestFactory().get("/")
    response = server_error(request)
    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in _page(response)
    response = defaults.bad_request(request, SuspiciousOperation("bad host"))
    assert response.status_code == 400
    assert "<h1>Bad request</h1>" in _page(response)
    assert "bad host" not in response.content.decode()
    response = defaults.permission_denied(request, PermissionDenied("secret reason"))
    assert response.status_code == 403
    assert "<h1>Not allowed</h1>" in _page(response)
    assert "secret reason" not in response.content.decode()


def test_a_form_refused_for_its_csrf_token_is_a_page_and_a_button_gets_a_message():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "alice", "password": "x"})
    assert response.status_code == 403
    page = _page(response)
    assert "<h1>This page is out of date</h1>" in page
    assert "Reload the page and try again." in page
    button = client.post("/login/", {}, HTTP_HX_REQUEST="true")
    assert button.status_code == 403
    assert "Reload the page and try again." in button.content.decode()
    assert STYLED not in button.content.decode()
