"""The simulator's HTTP/1.1 keep-alive, over real sockets: connections are reused like the
real runner's, cut when the simulator stops, and never left out of step by a bad request."""

from __future__ import annotations

import http.client
import socket
import time

import pytest
import requests

from calls import phlo_client
from calls.phlo_client import PhloError, get_phlo_client
from calls.simulator.server import MAX_BODY, SimulatorHTTPServer
from tests.simulator.helpers import AGENT, CUSTOMER, node_read, phlo_for

# No Host header: no browser sends such a request, so the Host check lets it through.
STATE = b"GET /_sim/state HTTP/1.1\r\n\r\n"


@pytest.fixture
def sim(accepted, make_phlo_sim, callback_sink):
    return make_phlo_sim(callback_url=callback_sink.url)


@pytest.fixture
def raw(sim):
    """A plain socket to the simulator, for what `requests` would hide or refuse to send."""
    host, port = sim.base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    yield sock
    sock.close()


def exchange(sock: socket.socket, data: bytes, *, method: str = "GET") -> http.client.HTTPResponse:
    sock.sendall(data)
    response = http.client.HTTPResponse(sock, method=method)
    response.begin()
    response.body = response.read()  # exactly Content-Length bytes, nothing of what follows
    return response


def closed_by_server(sock: socket.socket, *, within: float = 3.0) -> bool:
    """True once the server ends the connection having sent nothing more."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def members(sim) -> int:
    return sum(len(c["members"]) for c in sim.snapshot()["conferences"])


# --- reuse --------------------------------------------------------------------------------------


def test_requests_on_one_session_share_one_connection(sim, accepted, settings):
    phlo = phlo_for(sim, settings)
    assert phlo.session.get(phlo.node_url, auth=phlo.auth, timeout=5).status_code == 200
    phlo.call()
    phlo.act(CUSTOMER, "hangup")
    assert len(accepted) == 1
    pools = phlo.session.get_adapter(phlo.node_url).poolmanager.pools
    # RecentlyUsedContainer refuses plain iteration.
    assert [pools[key].num_connections for key in pools.keys()] == [1]  # noqa: SIM118


def test_the_phlo_client_keeps_its_connection_to_the_simulator(sim, accepted, settings):
    client = get_phlo_client()
    assert client.send(node_read(settings)).status == 200
    client.node_action(action="call", trigger_source=AGENT, to=CUSTOMER, role="customer")
    assert get_phlo_client() is client
    client.member_action(member_address=CUSTOMER, action="hangup")
    assert len(accepted) == 1


def test_error_answers_keep_the_connection_in_step(sim, accepted, settings):
    phlo = phlo_for(sim, settings)
    assert phlo.session.get(sim.base_url + "/nothing", timeout=5).status_code == 404
    assert phlo.session.post(phlo.node_url, json={}, timeout=5).status_code == 401
    bad_json = phlo.session.post(phlo.node_url, data=b"{nope", auth=phlo.auth, timeout=5)
    assert "not valid JSON" in phlo.error(bad_json)
    phlo.call()
    assert len(accepted) == 1
    assert members(sim) == 1  # the agent rings; the customer once the agent answers


def test_the_server_closes_a_connection_the_client_asks_to_close(raw):
    response = exchange(raw, STATE.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
    assert response.status == 200 and response.getheader("Connection") == "close"
    assert closed_by_server(raw)


def test_an_http_1_0_request_is_answered_then_closed(raw):
    response = exchange(raw, b"GET /_sim/state HTTP/1.0\r\n\r\n")
    assert response.status == 200
    assert closed_by_server(raw)


# --- idle connections end -----------------------------------------------------------------------


def test_the_idle_timeout_outlasts_the_clients_idle_drop():
    assert SimulatorHTTPServer.idle_timeout > phlo_client.KEEPALIVE_IDLE_SECONDS


def test_an_idle_kept_alive_connection_is_closed_by_the_server(monkeypatch, make_phlo_sim):
    monkeypatch.setattr(SimulatorHTTPServer, "idle_timeout", 0.3)
    sim = make_phlo_sim()
    with socket.create_connection(("127.0.0.1", int(sim.base_url.rsplit(":", 1)[1]))) as sock:
        sock.settimeout(5)
        assert exchange(sock, STATE).status == 200
        assert exchange(sock, STATE).status == 200  # still open between requests
        started = time.monotonic()
        assert closed_by_server(sock)
        assert time.monotonic() - started < 2.5
    # A client that stalls mid-body is dropped the same way, unanswered.
    with socket.create_connection(("127.0.0.1", int(sim.base_url.rsplit(":", 1)[1]))) as sock:
        sock.sendall(b"POST /_sim/faults HTTP/1.1\r\nContent-Length: 10\r\n\r\n{")
        assert closed_by_server(sock)


# --- stopping the simulator ---------------------------------------------------------------------


def test_stop_cuts_kept_alive_connections(sim, raw, settings):
    phlo = phlo_for(sim, settings)
    phlo.call()
    client = get_phlo_client()
    assert client.send(node_read(settings)).status == 200
    assert exchange(raw, STATE).status == 200
    before = members(sim)
    sim.stop()

    assert closed_by_server(raw)
    with pytest.raises(requests.ConnectionError):
        phlo.call(source=AGENT, to="14155550199")
    with pytest.raises(PhloError) as error:
        client.node_action(action="call", trigger_source=AGENT, to="14155550198", role="customer")
    assert error.value.kind == "connection"
    assert members(sim) == before  # nothing was handled after the stop


# --- faults and refused requests ---------------------------------------------------------------


def test_the_disconnect_fault_closes_without_an_answer(sim, accepted, raw, settings):
    phlo = phlo_for(sim, settings)
    phlo.call()
    before = members(sim)
    sim.inject_fault(disconnect=True)
    with pytest.raises(requests.ConnectionError):
        phlo.node(action="call", trigger_source=AGENT, to="14155550199", role="customer")
    assert members(sim) == before  # not applied
    phlo.call(source=AGENT, to="14155550199")  # a fresh connection works
    assert members(sim) > before
    assert len(accepted) == 3  # session, raw socket, session again

    sim.inject_fault(disconnect=True)
    auth = requests.Request("GET", "http://x", auth=phlo.auth).prepare().headers["Authorization"]
    raw.sendall(f"GET {phlo.node_url} HTTP/1.1\r\nAuthorization: {auth}\r\n\r\n".encode())
    assert closed_by_server(raw)


@pytest.mark.parametrize(
    "headers, status, error",
    [
        (f"Content-Length: {MAX_BODY + 1}", 413, "too large"),
        # More digits than int() reads from text.
        ("Content-Length: " + "9" * 5000, 413, "too large"),
        ("Content-Length: ten", 400, "Bad Content-Length"),
        ("Content-Length: -5", 400, "Bad Content-Length"),
        ("Transfer-Encoding: chunked", 411, "Content-Length"),
    ],
)
def test_a_body_that_is_not_read_is_refused_and_the_connection_closed(
    sim, raw, headers, status, error
):
    # Were the connection kept, the unread body would be parsed as the next request.
    smuggled = b"GET /_sim/state HTTP/1.1\r\n\r\n"
    request = f"POST /_sim/faults HTTP/1.1\r\n{headers}\r\n\r\n".encode()
    response = exchange(raw, request + smuggled)
    assert response.status == status
    assert error in response.body.decode()
    assert response.getheader("Connection") == "close"
    assert int(response.getheader("Content-Length")) == len(response.body)
    assert closed_by_server(raw)  # and the "body" was not answered as a request
    assert sim.faults.pending() == []


@pytest.mark.parametrize(
    "request_, status",
    [
        (b"GET /_sim/state extra HTTP/1.1\r\n\r\n", 400),
        (b"GET /_sim/state HTTP/1.1\r\nX-Big: " + b"x" * 70_000 + b"\r\n\r\n", 431),
    ],
)
def test_a_garbled_or_oversized_head_gets_its_error_and_a_close(raw, request_, status):
    response = exchange(raw, request_)
    assert response.status == status
    assert response.getheader("Connection") == "close"
    assert closed_by_server(raw)


def test_a_target_urlsplit_refuses_is_400_and_the_connection_kept(raw):
    # An absolute target with a malformed IPv6 host: refused, and the connection lives on.
    response = exchange(raw, b"GET http://[x/_sim/state HTTP/1.1\r\n\r\n")
    assert response.status == 400
    assert "Bad request target" in response.body.decode()
    assert exchange(raw, STATE).status == 200


def test_head_is_answered_without_a_body(raw):
    response = exchange(raw, b"HEAD /_sim/state HTTP/1.1\r\n\r\n", method="HEAD")
    assert response.status == 501
    assert int(response.getheader("Content-Length")) > 0
    assert response.body == b""
    assert closed_by_server(raw)  # no stray body bytes before the close


def test_answers_on_a_kept_alive_connection_are_not_held_back(sim, settings):
    # With Nagle's algorithm on, the body (a second write after the headers) waits for the
    # client's delayed ACK: ~40 ms a request on a kept-alive connection. The server's end of
    # the connection must have it off (checked on the socket, not timed: machines are noisy).
    phlo = phlo_for(sim, settings)
    assert phlo.session.get(phlo.node_url, auth=phlo.auth, timeout=5).status_code == 200
    server = sim._server
    with server._connections_lock:
        (connection,) = server._connections
        assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
