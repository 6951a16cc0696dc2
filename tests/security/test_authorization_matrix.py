"""The authorization matrix: every HTTP route and websocket route, for every kind of person a
call's rules tell apart (issue 18). The routes are read from the URLconf and the websocket
routing (tests/security/routes.py): a route missing here, or listed here but gone, fails
`test_the_matrix_covers_every_route`, so a new route cannot be forgotten.

The people: anonymous; Alice, the call's agent; Bob, a former participant (he took a warm
transfer, talked and left); Carol, who rejected a transfer of it; Dave, another agent; Sam, a
supervisor (with a phone of his own). Two calls of Alice's, built through the real services
and the simulator (tests/security/world.py): one live, one ended that she owes a wrap-up.

Each row is a request and what each person gets, in that order (anonymous, owner, former,
rejecter, other, supervisor), one letter each:

- `A`: let through: the view did its work or refused on the call's state or the input
  (2xx, 3xx, 400, 404, 409...), never a 5xx;
- `D`: denied: 401 or 403;
- `L`: sent to a login page.

Requests are sent in that order, so the people who are refused go first and find the call
as it was built. What a refused request must not change is checked in the item tests
(tests/security/test_wrap_up_rights.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from tests.factories import login
from tests.security.routes import http_routes, websocket_routes
from tests.security.world import Floor, build_floor
from tests.sockets import DESKTOP, WALLBOARD, open_socket, session_of

ROLES = ("anonymous", "owner", "former", "rejecter", "other", "supervisor")
HTMX = {"HTTP_HX_REQUEST": "true"}
LOGIN_PAGES = ("/login/", "/admin/login/")


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # with {placeholders} from Floor.ids
    expect: str  # one letter per role, in ROLES order
    data: dict = field(default_factory=dict)


def get(path: str, expect: str, **data) -> Row:
    return Row("GET", path, expect, data)


def post(path: str, expect: str, **data) -> Row:
    return Row("POST", path, expect, data)


# Every agent alike; only a supervisor; nobody without the provider's credentials.
AGENTS, SUPERVISOR, NOBODY = "DAAAAA", "DDDDDA", "DDDDDD"
# The call's own people: its agent and supervisors, not those whose part ended.
CALLS_OWN = "DADDDA"


def _admin_model(app_model: str, obj: str, *, view: str, add: str, delete: str) -> dict:
    """The six routes the admin makes for one model; `view`/`add`/`delete`: what Sam gets.
    Supervisors view the contact center's own models (contactcenter/admin.py); adding and
    deleting follow Django's model permissions, which the Supervisors group does not hold."""
    base = f"admin/{app_model}/"
    page = "L" + "D" * 4
    return {
        base: [get(f"/{base}", page + view)],
        f"{base}add/": [get(f"/{base}add/", page + add)],
        f"{base}<path:object_id>/history/": [get(f"/{base}{obj}/history/", page + view)],
        f"{base}<path:object_id>/delete/": [get(f"/{base}{obj}/delete/", page + delete)],
        f"{base}<path:object_id>/change/": [get(f"/{base}{obj}/change/", page + view)],
        # The old address of the change page only redirects there.
        f"{base}<path:object_id>/": [get(f"/{base}{obj}/", page + "A")],
    }


ADMIN_PAGE = "LDDDDA"

MATRIX: dict[str, list[Row]] = {
    # --- the desktop ---------------------------------------------------------------------
    "": [get("/", "LAAAAA")],
    "login/": [get("/login/", "AAAAAA")],
    "logout/": [post("/logout/", "LLLLLL")],
    "desktop/session/": [get("/desktop/session/", AGENTS)],
    "desktop/status/": [post("/desktop/status/", AGENTS, status="away", reason="Break")],
    "desktop/dial/": [post("/desktop/dial/", AGENTS, to="")],
    "desktop/customers/search/": [get("/desktop/customers/search/", AGENTS, to="Da")],
    "desktop/transfer-targets/": [get("/desktop/transfer-targets/", AGENTS, call="{call}")],
    "desktop/members/<id:member_id>/actions/<slug:kind>/": [
        post("/desktop/members/{customer_leg}/actions/hold/", CALLS_OWN),
        post("/desktop/members/{ended_customer_leg}/actions/hold/", CALLS_OWN),
    ],
    "desktop/members/<id:member_id>/reject/": [
        # Only the phone's own agent: Alice's leg (talking: refused on its state) ...
        post("/desktop/members/{alice_leg}/reject/", "DADDDD"),
        # ... and Carol's (already rejected).
        post("/desktop/members/{carol_leg}/reject/", "DDDADD"),
    ],
    "desktop/calls/<id:call_id>/actions/<slug:kind>/": [
        post("/desktop/calls/{call}/actions/abort_transfer/", CALLS_OWN),
        post("/desktop/calls/{ended}/actions/abort_transfer/", CALLS_OWN),
    ],
    "desktop/calls/<id:call_id>/wrap-up/": [
        post("/desktop/calls/{call}/wrap-up/", CALLS_OWN, disposition="Resolved"),
        post("/desktop/calls/{ended}/wrap-up/", CALLS_OWN, disposition="Resolved"),
    ],
    "desktop/calls/<id:call_id>/notes/": [
        post("/desktop/calls/{call}/notes/", CALLS_OWN, notes="Matrix"),
        post("/desktop/calls/{ended}/notes/", CALLS_OWN, notes="Matrix"),
    ],
    "desktop/calls/<id:call_id>/dismiss/": [
        # Only the agent the outcome is owed to; a disposition owed cannot be dismissed.
        post("/desktop/calls/{call}/dismiss/", "DADDDD"),
        post("/desktop/calls/{ended}/dismiss/", "DADDDD"),
    ],
    "desktop/calls/<id:call_id>/customer/": [
        post("/desktop/calls/{call}/customer/", CALLS_OWN, name="Dana Diaz"),
        post("/desktop/calls/{ended}/customer/", CALLS_OWN, name="Erin Eve"),
    ],
    # --- the wallboard -------------------------------------------------------------------
    "wallboard/": [get("/wallboard/", "LDDDDA")],
    "wallboard/session/": [get("/wallboard/session/", SUPERVISOR)],
    "wallboard/members/<id:member_id>/actions/<slug:kind>/": [
        post("/wallboard/members/{customer_leg}/actions/hold/", SUPERVISOR),
    ],
    "wallboard/calls/<id:call_id>/join/": [post("/wallboard/calls/{call}/join/", SUPERVISOR)],
    "wallboard/agents/<id:agent_id>/status/": [
        post("/wallboard/agents/{agent}/status/", SUPERVISOR, status="away"),
    ],
    # --- the provider's callers: their own credentials, whoever is signed in ----------------
    "^webhooks/plivo/?$": [post("/webhooks/plivo/", NOBODY, event="ConferenceEnter")],
    "^routing/inbound/?$": [post("/routing/inbound/", NOBODY, call_uuid="u1")],
    # --- the admin -----------------------------------------------------------------------
    "admin/": [get("/admin/", ADMIN_PAGE)],
    "admin/login/": [get("/admin/login/", "AAAAAA")],
    # Anyone signed in may sign out, and lands on the login page.
    "admin/logout/": [post("/admin/logout/", "ALLLLL")],
    "admin/password_change/": [get("/admin/password_change/", ADMIN_PAGE)],
    "admin/password_change/done/": [get("/admin/password_change/done/", ADMIN_PAGE)],
    "admin/autocomplete/": [get("/admin/autocomplete/", "LDDDDD")],
    "admin/jsi18n/": [get("/admin/jsi18n/", ADMIN_PAGE)],
    "admin/r/<path:content_type_id>/<path:object_id>/": [
        get("/admin/r/{call_type}/{call}/", ADMIN_PAGE),
    ],
    "admin/auth/user/<id>/password/": [get("/admin/auth/user/{user}/password/", "LDDDDD")],
    # Users and groups: only for those Django's model permissions allow (a superuser).
    **_admin_model("auth/user", "{user}", view="D", add="D", delete="D"),
    **_admin_model("auth/group", "{group}", view="D", add="D", delete="D"),
    **_admin_model("calls/customer", "{customer}", view="A", add="D", delete="D"),
    **_admin_model("calls/call", "{call}", view="A", add="D", delete="D"),
    "admin/calls/call/export/": [get("/admin/calls/call/export/", ADMIN_PAGE)],
    # The audit trail: read-only for everyone.
    **_admin_model("calls/action", "{action}", view="A", add="D", delete="D"),
    **_admin_model("calls/callbackevent", "{event}", view="A", add="D", delete="D"),
    **_admin_model("agents/agent", "{agent}", view="A", add="D", delete="D"),
    **_admin_model("calls/queue", "{queue}", view="A", add="D", delete="D"),
    "admin/^(?P<app_label>auth|calls|agents)/$": [get("/admin/calls/", ADMIN_PAGE)],
    "admin/(?P<url>.*)$": [get("/admin/nope/", ADMIN_PAGE)],
}

# Who may open each websocket (`A`: accepted; `D`: refused at the handshake).
SOCKETS = {
    "ws/desktop/": "DAAAAA",
    "ws/wallboard/": "DDDDDA",
    "": "DDDDDD",  # any other path: no socket there
}


# --- the floor -------------------------------------------------------------------------------


@pytest.fixture
def floor(phlo_sim, alice, bob, carol, dave, sam) -> Floor:
    return build_floor(phlo_sim, alice=alice, bob=bob, carol=carol, dave=dave, sam=sam)


def _client(user) -> Client:
    return Client() if user is None else login(user)


def outcome(response) -> str:
    status = response.status_code
    if status >= 500:
        return "5"
    if status in (401, 403):
        return "D"
    if status in (301, 302, 303) and urlsplit(response["Location"]).path in LOGIN_PAGES:
        return "L"
    return "A"


def _send(row: Row, user, ids: dict):
    client = _client(user)
    path = row.path.format(**ids)
    data = {key: str(value).format(**ids) for key, value in row.data.items()}
    send: Callable = client.get if row.method == "GET" else client.post
    return send(path, data, **HTMX)


# --- the tests -------------------------------------------------------------------------------


def test_the_matrix_covers_every_route():
    routes = {route.pattern for route in http_routes()}
    assert sorted(routes - MATRIX.keys()) == [], "routes missing from the matrix"
    assert sorted(MATRIX.keys() - routes) == [], "the matrix lists routes that are gone"
    sockets = set(websocket_routes())
    assert sockets == SOCKETS.keys(), "websocket routes and the matrix differ"
    for rows in MATRIX.values():
        assert rows and all(len(row.expect) == len(ROLES) for row in rows)


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", sorted(MATRIX))
def test_who_gets_what_on_each_route(floor, pattern):
    for row in MATRIX[pattern]:
        got = ""
        for role in ROLES:
            got += outcome(_send(row, floor.people[role], floor.ids))
        assert got == row.expect, f"{row.method} {row.path}: {ROLES} expected {row.expect}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("pattern", sorted(SOCKETS))
async def test_who_may_open_each_socket_and_what_the_desktop_shows(
    pattern, phlo_sim, alice, bob, carol, dave, sam, close_db_connections
):
    floor = await sync_to_async(build_floor)(
        phlo_sim, alice=alice, bob=bob, carol=carol, dave=dave, sam=sam
    )
    path = {"ws/desktop/": DESKTOP, "ws/wallboard/": WALLBOARD}.get(pattern, "/ws/nope/")
    got = ""
    for role in ROLES:
        user = floor.people[role]
        session = await sync_to_async(session_of)(user) if user is not None else None
        socket, connected, _ = await open_socket(path, session)
        got += "A" if connected else "D"
        if connected and path == DESKTOP:
            html = await socket.receive_from(timeout=3)
            # Only Alice's desktop shows her calls: the live one, and the one she owes.
            shown = {
                name
                for name, world in (("live", floor.live), ("ended", floor.ended))
                if f'id="call-{world.call.pk}"' in html
            }
            assert shown == ({"live", "ended"} if role == "owner" else set()), role
        await socket.disconnect(timeout=0.2)
    assert got == SOCKETS[pattern]
