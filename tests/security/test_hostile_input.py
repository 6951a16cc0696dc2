"""Hostile input gets a clear 4xx, never a 500 or a dropped connection (issue 18, item 4):
an id past the database's integers in any URL, a websocket to a path that has none, a
customer search longer than anything that can be dialled. The last two also through a real
daphne, where the 500 and the hang-up happened."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from agents.services.dialing import MAX_INPUT
from contactcenter.converters import MAX_ID
from contactcenter.websockets import CLOSE_NO_SUCH_SOCKET
from tests.browser_stack import free_port, wait_for_port
from tests.factories import login
from tests.security.routes import http_routes
from tests.sockets import open_socket, session_of

ROOT = Path(__file__).resolve().parents[2]
HTMX = {"HTTP_HX_REQUEST": "true"}
ID_ROUTES = [route for route in http_routes() if route.takes_ids]


def fill(pattern: str, *, ids: int | str) -> str:
    """A path for `pattern` with every id `ids` and every other part a plausible value."""
    path = re.sub(r"<id:\w+>", str(ids), pattern)
    return "/" + re.sub(r"<slug:\w+>", "hold", path)


def test_every_id_route_is_known():
    # The routes below are the URLconf's own, so a new <id:...> route is covered by itself.
    assert {r.name for r in ID_ROUTES} >= {
        "wallboard:agent-status",
        "wallboard:call-join",
        "desktop-notes",
        "desktop-member-action",
    }
    # Django's <int:...> takes any number of digits: none is left.
    assert not [r.pattern for r in http_routes() if "<int:" in r.pattern]


@pytest.mark.django_db
def test_the_request_in_the_issue_is_404_not_500(sam):
    client = login(sam)
    url = "/wallboard/agents/99999999999999999999999/status/"
    response = client.post(url, {"status": "available"}, **HTMX)
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("route", ID_ROUTES, ids=lambda r: r.pattern)
@pytest.mark.parametrize("ids", [MAX_ID + 1, 10**22, "0" * 30 + "1" * 25, "9" * 5000])
def test_an_id_past_the_databases_integers_matches_no_route(sam, route, ids):
    client = login(sam)
    assert client.post(fill(route.pattern, ids=ids), **HTMX).status_code == 404
    assert client.get(fill(route.pattern, ids=ids), **HTMX).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("route", ID_ROUTES, ids=lambda r: r.pattern)
def test_the_widest_id_reaches_the_view_which_answers_with_a_4xx(sam, route):
    response = login(sam).post(fill(route.pattern, ids=MAX_ID), **HTMX)
    # Not found, or the form's own refusal (an empty disposition) before the lookup.
    assert response.status_code in (400, 404), response.content[:300]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/ws/nope/", "/ws/desktop/extra/", "/", "/ws/wallboard"])
async def test_a_websocket_to_a_path_without_one_is_refused(path, alice, close_db_connections):
    for session in (None, await _session(alice)):
        socket_, connected, code = await open_socket(path, session)
        assert (connected, code) == (False, CLOSE_NO_SUCH_SOCKET)
        await socket_.disconnect(timeout=0.2)


async def _session(agent) -> str:
    from asgiref.sync import sync_to_async

    return await sync_to_async(session_of)(agent.user)


@pytest.mark.django_db
def test_a_search_longer_than_anything_dialable_is_400_with_the_reason(alice):
    client = login(alice.user)
    page = client.get("/")
    assert f'maxlength="{MAX_INPUT}"' in page.content.decode()  # the dial box stops there
    url = "/desktop/customers/search/"
    assert client.get(url, {"to": "x" * MAX_INPUT}, **HTMX).status_code == 200
    for length in (MAX_INPUT + 1, 60_000):
        response = client.get(url, {"to": "x" * length}, **HTMX)
        assert response.status_code == 400
        text = response.content.decode()
        assert f"at most {MAX_INPUT} characters; that was {length}" in text


# --- through a real daphne --------------------------------------------------------------------


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    """The project's ASGI application under daphne, as `run.sh` serves it. The requests
    below are answered before any database is needed."""
    tmp = tmp_path_factory.mktemp("daphne")
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "PHLO_", "PLIVO_"))
    }
    env |= {"DJANGO_SETTINGS_MODULE": "contactcenter.settings", "CONTACTCENTER_VAR_DIR": str(tmp)}
    log = tmp / "daphne.log"
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    with open(log, "w") as out:
        server = subprocess.Popen(
            [*command, "contactcenter.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, process=server)
        yield port, log
    finally:
        server.terminate()
        server.wait(10)


def _handshake(port: int, path: str) -> bytes:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:{port}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        return sock.recv(200)


def test_daphne_refuses_a_websocket_to_an_unknown_path_with_403_and_no_traceback(daphne):
    port, log = daphne
    assert _handshake(port, "/ws/nope/").startswith(b"HTTP/1.1 403 ")
    assert _handshake(port, "/ws/nope/").startswith(b"HTTP/1.1 403 ")  # and again
    assert "Traceback" not in log.read_text()


def test_daphne_answers_a_60000_character_search_with_414(daphne):
    port, _ = daphne
    url = f"http://127.0.0.1:{port}/desktop/customers/search/"
    response = requests.get(url, params={"to": "x" * 60_000}, timeout=10)
    assert response.status_code == 414
    assert "too long" in response.text
    # A header too long to read: 431. A search that fits is answered by the app (signed out).
    huge = requests.get(url, headers={"X-Long": "y" * 20_000}, timeout=10)
    assert huge.status_code == 431
    assert requests.get(url, params={"to": "x" * 300}, timeout=10).status_code == 401
