"""Generated requests against every route and socket (issue 18): random paths, ids past
the database's integers, odd slugs and object ids, long and hostile values, as anyone,
an agent or a supervisor. Whatever arrives, nothing answers 5xx and no socket breaks.

The routes come from the URLconf (tests/security/routes.py), each gets examples of its
own (paths of its shape, any method, any of the people, forms of any fields), so a new one
is fuzzed as soon as it exists; then any path at all. The sockets get any message, and a
socket to any path. The calls are real ones, built through the services and the simulator
(tests/security/world.py), and their ids are drawn too, so that requests also reach the
code behind the lookups. Examples are derandomized (tests/conftest.py): the same run each
time; HYPOTHESIS_PROFILE=explore looks for new failures. Request lines and headers longer
than daphne reads are tested against a real daphne in test_hostile_input.py.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client
from hypothesis import event, given, settings
from hypothesis import strategies as st

from calls.models import Action
from contactcenter.converters import MAX_ID
from tests.factories import login
from tests.security.routes import Route, http_routes
from tests.security.world import build_floor
from tests.sockets import DESKTOP, TIMEOUT, WALLBOARD, open_socket, session_of
from tests.strategies import FUZZ, SPECIAL_TEXTS, encodable, form_text, json_bodies

# Every route gets its own examples, so none is left to chance.
PER_ROUTE = settings(FUZZ, max_examples=25)
ROUTES = http_routes()
CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
FORM_TYPE = "application/x-www-form-urlencoded"

# --- values ------------------------------------------------------------------------------------

# Hypothesis tries the first of a list first: the most hostile come first.
_hostile_ids = st.sampled_from(
    [str(MAX_ID + 1), "9" * 25, str(MAX_ID), "1" + "0" * 4400, "0", "00000001", "-1", "1e3"]
)
_slugs = st.one_of(
    st.sampled_from([*Action.Kind.values, "join", "nope", "HOLD", "-", "_" * 300]),
    st.from_regex(r"[-a-zA-Z0-9_]{1,40}", fullmatch=True),
)
_segments = st.one_of(  # admin object ids: any text, quoted or not
    st.text(max_size=30),
    st.sampled_from(["..", "%00", "_5F", "_2F", "%2F", "%ff", "\u2028", "x" * 3000]),
)
_long = st.integers(1_000, 70_000).map(lambda n: "x" * n)
_values = st.one_of(form_text, _long, st.sampled_from([t for t in SPECIAL_TEXTS if encodable(t)]))
_fields = st.sampled_from(
    [
        *("to", "q", "call", "customer_id", "status", "reason", "op", "disposition", "notes"),
        *("name", "event", "call_uuid", "from", "next", "username", "password", "o"),
    ]
)
_forms = st.dictionaries(st.one_of(_fields, form_text), _values, max_size=5)


def _id_values(ids: list[int]) -> st.SearchStrategy[str]:
    return st.one_of(_hostile_ids, st.sampled_from(ids).map(str), st.integers(0, 2**70).map(str))


def _path_for(route: Route, data, ids: list[int]) -> str:
    """A path this route's pattern matches, or nearly: each <...> drawn for its converter,
    each regular expression drawn from itself."""
    path = ""
    for is_regex, text in route.parts:
        if is_regex:
            path += data.draw(st.from_regex(text, fullmatch=True).filter(encodable))
            continue

        def value(match: re.Match) -> str:
            kind = match[1] or "str"
            if kind == "id":
                return data.draw(_id_values(ids))
            if kind == "slug":
                return data.draw(_slugs)
            if kind == "path":
                return data.draw(st.one_of(_id_values(ids), _segments.filter(encodable)))
            return data.draw(st.one_of(_id_values(ids), _segments.filter(lambda t: "/" not in t)))

        path += CONVERTER.sub(value, text)
    return "/" + quote(path, safe="/%:@")


_random_paths = st.one_of(
    st.text(max_size=80).map(lambda t: "/" + t),
    st.lists(st.sampled_from(["desktop", "calls", "admin", "wallboard", "1", "..", "%2e"])).map(
        lambda parts: "/" + "/".join(parts) + "/"
    ),
).filter(encodable)


# --- HTTP ----------------------------------------------------------------------------------------


@pytest.fixture
def floor(phlo_sim, alice, bob, carol, dave, sam):
    return build_floor(phlo_sim, alice=alice, bob=bob, carol=carol, dave=dave, sam=sam)


def _client(who: str, floor) -> Client:
    user = floor.people[who]
    return Client() if user is None else login(user)


def _send(client: Client, method: str, path: str, form: dict, headers: dict):
    if method == "GET":
        return client.get(path, form, **headers)
    body = urlencode(form).encode()
    return client.generic(method, path, body, content_type=FORM_TYPE, **headers)


def _judge(response, *, method: str, path: str, who: str) -> None:
    event(f"{method} answered {response.status_code // 100}xx")
    assert response.status_code < 500, (method, path[:200], who, response.content[:300])


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.pattern)
@PER_ROUTE
@given(data=st.data())
def test_any_request_to_each_route_is_answered_below_500(floor, route, data):
    ids = [value for value in floor.ids.values() if isinstance(value, int)]
    path = _path_for(route, data, ids)
    method = data.draw(st.sampled_from(["POST", "GET", "POST", "GET", "PUT", "DELETE", "HEAD"]))
    # Mostly those who get furthest: a supervisor and the call's agent; and mostly as htmx
    # sends them (the views answer htmx with more of the page).
    who = data.draw(st.sampled_from(["supervisor", "owner", "supervisor", "former", "anonymous"]))
    form = data.draw(_forms, label="form")
    htmx = data.draw(st.sampled_from([True, True, False]))
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = _send(_client(who, floor), method, path, form, headers)
    _judge(response, method=method, path=path, who=who)


@pytest.mark.django_db
@FUZZ
@given(path=_random_paths, method=st.sampled_from(["GET", "POST"]), form=_forms)
def test_any_path_at_all_is_answered_below_500(floor, path, method, form):
    for who in ("anonymous", "supervisor"):
        response = _send(_client(who, floor), method, path, form, {})
        _judge(response, method=method, path=path, who=who)


# --- sockets -------------------------------------------------------------------------------------

SOCKET_FUZZ = settings(FUZZ, max_examples=25)
_frames = st.one_of(
    json_bodies.map(lambda body: body.decode("utf-8", errors="replace")),
    st.sampled_from(['{"type": "resync"}', '{"type": "ping"}', '{"type": ["resync"]}', "null"]),
    _long.map(lambda text: '{"type": "' + text + '"}'),
)


async def _exchange(path: str, session: str, frames: list[str]) -> None:
    socket, connected, code = await open_socket(path, session)
    assert connected, code
    await socket.receive_from(timeout=TIMEOUT)
    for frame in frames:
        await socket.send_to(text_data=frame or " ")
    # Still alive and answering, after whatever came.
    await socket.send_json_to({"type": "ping"})
    while True:
        output = await socket.receive_output(timeout=TIMEOUT)
        assert output["type"] == "websocket.send", output
        if "data-server-now" in output.get("text", ""):
            break
    await socket.disconnect(timeout=0.2)


@pytest.mark.django_db(transaction=True)
@SOCKET_FUZZ
@given(path=st.sampled_from([DESKTOP, WALLBOARD]), frames=st.lists(_frames, max_size=8))
def test_any_message_on_a_socket_leaves_it_answering(sam, path, frames):
    session = session_of(sam)
    async_to_sync(_exchange)(path, session, frames)


async def _knock(path: str, session: str) -> None:
    socket, connected, _ = await open_socket(path, session)
    if connected:
        await socket.receive_from(timeout=TIMEOUT)
    await socket.disconnect(timeout=0.2)


@pytest.mark.django_db(transaction=True)
@SOCKET_FUZZ
@given(path=st.one_of(_random_paths, st.text(max_size=40).map(lambda t: "/ws/" + t)))
def test_a_socket_to_any_path_is_accepted_or_refused_never_broken(sam, path):
    # The router raising would surface here, from the communicator.
    async_to_sync(_knock)(path, session_of(sam))


@pytest.fixture(autouse=True)
def _close_thread_connections():
    yield
    from django.db import connections

    async_to_sync(sync_to_async(connections.close_all))()
