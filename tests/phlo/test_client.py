"""calls.phlo_client against the PHLO simulator over real sockets, plus a tiny counting server
where the question is how many requests went out."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from calls import phlo_client
from calls.phlo_client import PhloError, PhloRequest, get_phlo_client

AGENT = "sip:alice@phones.test"
CUSTOMER = "14155550101"


def client_error(call) -> PhloError:
    with pytest.raises(PhloError) as info:
        call()
    return info.value


def start_call(client, *, source: str = AGENT, to: str = CUSTOMER):
    return client.node_action(action="call", trigger_source=source, to=to, role="customer")


def test_call_succeeds_and_reports_what_was_sent(phlo_sim, settings):
    with get_phlo_client() as client:
        result = start_call(client)
    assert result.status == 201
    assert len(result.api_id) == 36
    assert result.request.as_record() == {
        "method": "POST",
        "path": f"/v1/phlo/{settings.PHLO_ID}/multi_party_call/{settings.PHLO_MPC_NODE_ID}",
        "body": {"action": "call", "trigger_source": AGENT, "to": CUSTOMER, "role": "customer"},
    }
    (conference,) = phlo_sim.snapshot()["conferences"]
    # The agent rings first; the customer is dialled once the agent is on the call.
    assert [m["address"] for m in conference["members"]] == [AGENT]
    assert conference["queued"] == [{"address": CUSTOMER, "role": "customer"}]


def test_member_action_percent_encodes_a_sip_address(phlo_sim):
    with get_phlo_client() as client:
        start_call(client)
        phlo_sim.advance(5)
        result = client.member_action(member_address=AGENT, action="hold")
    assert result.request.path.endswith("/members/sip%3Aalice%40phones.test")
    assert phlo_sim.member(AGENT)["state"] == "on_hold"


def test_member_action_on_a_number_keeps_digits(phlo_sim):
    with get_phlo_client() as client:
        start_call(client)
        phlo_sim.advance(5)
        result = client.member_action(member_address=CUSTOMER, action="hold")
    assert result.request.path.endswith(f"/members/{CUSTOMER}")
    assert phlo_sim.member(CUSTOMER)["state"] == "on_hold"


def test_trailing_slash_on_the_base_url(phlo_sim, settings):
    settings.PHLO_BASE_URL = phlo_sim.api_url + "/"
    with get_phlo_client() as client:
        result = start_call(client)
    assert result.status == 201
    assert "//" not in result.request.path


def test_factory_follows_settings_changes(phlo_sim, settings):
    first = get_phlo_client()
    settings.PHLO_ID = "another-phlo"
    second = get_phlo_client()
    assert first.phlo_id != second.phlo_id == "another-phlo"
    first.close()
    second.close()


def test_400_carries_the_provider_reason(phlo_sim):
    with get_phlo_client() as client:
        error = client_error(lambda: client.member_action(member_address=AGENT, action="hold"))
    assert error.kind == "bad_request"
    assert error.status == 400
    assert error.api_id
    assert error.message == (
        "PHLO refused the request: No member sip:alice@phones.test is in a live call on this node."
    )
    assert error.request.body == {"action": "hold"}


def test_400_for_a_missing_parameter(phlo_sim):
    with get_phlo_client() as client:
        error = client_error(lambda: start_call(client, to=""))
    assert error.kind == "bad_request"
    assert "to is a mandatory param." in error.message


def test_401_wrong_token_never_shows_the_token(phlo_sim, settings):
    settings.PLIVO_AUTH_TOKEN = "wrong-secret-token-123"
    with get_phlo_client() as client:
        error = client_error(lambda: start_call(client))
    assert (error.kind, error.status) == ("unauthorized", 401)
    assert "PLIVO_AUTH_ID" in error.message and "PLIVO_AUTH_TOKEN" in error.message
    assert "wrong-secret-token-123" not in error.message
    assert "wrong-secret-token-123" not in repr(error)
    assert phlo_sim.snapshot()["conferences"] == []


@pytest.mark.parametrize("setting", ["PHLO_ID", "PHLO_MPC_NODE_ID"])
def test_404_unknown_phlo_or_node(phlo_sim, settings, setting):
    setattr(settings, setting, "00000000-dead-4000-8000-000000000000")
    with get_phlo_client() as client:
        error = client_error(lambda: start_call(client))
    assert (error.kind, error.status) == ("not_found", 404)
    assert "check PHLO_ID" in error.message and "PHLO_MPC_NODE_ID" in error.message
    assert "00000000-dead-4000-8000-000000000000" in error.message


def test_405_wrong_method(phlo_sim, settings):
    path = f"{urlsplit(settings.PHLO_BASE_URL).path}/phlo/{settings.PHLO_ID}"
    with get_phlo_client() as client:
        error = client_error(lambda: client.send(PhloRequest("POST", path, {"action": "call"})))
    assert (error.kind, error.status) == ("method_not_allowed", 405)
    assert "PHLO_BASE_URL" in error.message


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors(phlo_sim, status):
    phlo_sim.inject_fault(status=status)
    with get_phlo_client() as client:
        error = client_error(lambda: start_call(client))
    assert (error.kind, error.status) == ("server_error", status)
    assert f"HTTP {status}" in error.message
    # The fault replaced the request: nothing happened, and the next request works.
    assert phlo_sim.snapshot()["conferences"] == []
    with get_phlo_client() as client:
        assert start_call(client).status == 201


def test_503_with_an_html_body(phlo_sim):
    phlo_sim.inject_fault(status=503, body="<html><body>Service Unavailable</body></html>")
    with get_phlo_client() as client:
        error = client_error(lambda: start_call(client))
    assert (error.kind, error.status, error.api_id) == ("server_error", 503, "")
    assert "<html>" not in error.message


def test_201_that_is_not_json(phlo_sim):
    phlo_sim.inject_fault(not_json=True)
    with get_phlo_client() as client:
        error = client_error(lambda: start_call(client))
    assert (error.kind, error.status) == ("bad_response", 201)
    assert "not a JSON object" in error.message and "outcome is unknown" in error.message


def test_other_status_is_an_http_error(phlo_sim):
    phlo_sim.inject_fault(status=418)
    with get_phlo_client() as client:
        error = client_error(lambda: start_call(client))
    assert (error.kind, error.status) == ("http_error", 418)


def test_rate_limited(phlo_sim):
    phlo_sim.inject_fault(status=429)
    with get_phlo_client() as client:
        error = client_error(lambda: start_call(client))
    assert error.kind == "rate_limited"


def test_read_timeout_says_the_outcome_is_unknown(phlo_sim, settings):
    settings.PHLO_READ_TIMEOUT = 0.2
    phlo_sim.inject_fault(delay=1.0)
    with get_phlo_client() as client:
        error = client_error(lambda: start_call(client))
    assert (error.kind, error.status) == ("timeout", None)
    assert "outcome is unknown" in error.message and "not retried" in error.message
    assert error.request.body["action"] == "call"


def test_dropped_connection(phlo_sim):
    phlo_sim.inject_fault(disconnect=True)
    with get_phlo_client() as client:
        error = client_error(lambda: start_call(client))
    assert error.kind == "connection"
    assert "outcome is unknown" in error.message


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_refused_connection(settings):
    settings.PHLO_BASE_URL = f"http://127.0.0.1:{_closed_port()}/v1"
    with get_phlo_client() as client:
        error = client_error(lambda: start_call(client))
    assert (error.kind, error.status) == ("connection", None)
    assert "connection refused" in error.message
    assert error.message.startswith("Could not reach PHLO at http://127.0.0.1:")


def test_credentials_in_the_base_url_are_never_shown(settings):
    settings.PHLO_BASE_URL = f"http://user:hunter2@127.0.0.1:{_closed_port()}/v1"
    with get_phlo_client() as client:
        error = client_error(lambda: start_call(client))
    assert "hunter2" not in error.message


@pytest.mark.parametrize("setting", ["PHLO_BASE_URL", "PLIVO_AUTH_TOKEN", "PHLO_ID"])
def test_missing_configuration(settings, setting):
    setattr(settings, setting, "")
    with get_phlo_client() as client:
        error = client_error(lambda: start_call(client))
    assert error.kind == "not_configured"
    assert setting in error.message


def test_invalid_arguments_are_programming_errors(settings):
    with get_phlo_client() as client:
        with pytest.raises(ValueError):
            client.node_action(action="dance", trigger_source=AGENT, to=CUSTOMER, role="agent")
        with pytest.raises(ValueError):
            client.node_action(action="call", trigger_source=AGENT, to=CUSTOMER, role="boss")
        with pytest.raises(ValueError):
            client.member_action(member_address=AGENT, action="mute")


# --- how many requests go out: a counting server ---------------------------------------------


class CountingServer:
    """Answers every request after `delay` seconds with `status`; counts them by method."""

    def __init__(
        self, *, status: int = 201, delay: float = 0.0, headers=None, keep_alive: bool = False
    ) -> None:
        self.counts: dict[str, int] = {}
        self.connections = 0
        self._release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1 keeps a connection open for the next request.
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def setup(self) -> None:
                server.connections += 1
                super().setup()

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                server.counts[self.command] = server.counts.get(self.command, 0) + 1
                server._release.wait(delay)
                body = b'{"api_id": "x", "error": ""}'
                try:
                    self.send_response(status)
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

            do_GET = do_POST = _answer

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def stop(self) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def counting():
    servers = []

    def make(**kwargs) -> CountingServer:
        servers.append(CountingServer(**kwargs))
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


def test_post_is_not_retried_after_a_timeout(counting, settings):
    server = counting(delay=2.0)
    settings.PHLO_BASE_URL = server.url
    settings.PHLO_READ_TIMEOUT = 0.2
    with get_phlo_client() as client:
        error = client_error(lambda: start_call(client))
    assert error.kind == "timeout"
    assert server.counts == {"POST": 1}


def test_post_is_not_retried_after_a_server_error(counting, settings):
    server = counting(status=503)
    settings.PHLO_BASE_URL = server.url
    with get_phlo_client() as client:
        assert client_error(lambda: start_call(client)).kind == "server_error"
    assert server.counts == {"POST": 1}


def test_a_redirect_is_not_followed(counting, settings):
    server = counting(status=301, headers={"Location": "https://phlorunner.example/v1/"})
    settings.PHLO_BASE_URL = server.url
    with get_phlo_client() as client:
        error = client_error(lambda: start_call(client))
    assert (error.kind, error.status) == ("http_error", 301)
    assert "redirect" in error.message and "PHLO_BASE_URL" in error.message
    assert server.counts == {"POST": 1}
    assert urlsplit(server.url).port


def test_ipv6_base_url_keeps_its_brackets(settings):
    settings.PHLO_BASE_URL = f"http://[::1]:{_closed_port()}/v1"
    with get_phlo_client() as client:
        error = client_error(lambda: start_call(client))
    assert error.kind == "connection"
    assert "http://[::1]:" in error.message


# --- one kept-alive client per thread ---------------------------------------------------------


def test_actions_in_one_thread_share_one_connection(counting, settings):
    server = counting(keep_alive=True)
    settings.PHLO_BASE_URL = server.url
    clients = []
    for _ in range(3):
        with get_phlo_client() as client:
            clients.append(client)
            assert start_call(client).status == 201
    assert clients[0] is clients[1] is clients[2]
    assert server.counts == {"POST": 3}
    assert server.connections == 1


@pytest.mark.parametrize(
    "setting, value",
    [
        ("PHLO_BASE_URL", "http://127.0.0.1:9/v1"),
        ("PLIVO_AUTH_ID", "MAOTHERACCOUNT"),
        ("PLIVO_AUTH_TOKEN", "another-token"),
        ("PHLO_ID", "another-phlo"),
        ("PHLO_MPC_NODE_ID", "another-node"),
        ("PHLO_CONNECT_TIMEOUT", 0.5),
        ("PHLO_READ_TIMEOUT", 0.5),
    ],
)
def test_the_client_is_rebuilt_when_a_setting_changes(settings, setting, value):
    first = get_phlo_client()
    assert get_phlo_client() is first
    setattr(settings, setting, value)
    second = get_phlo_client()
    assert second is not first
    assert get_phlo_client() is second
    if setting == "PHLO_READ_TIMEOUT":
        assert second.timeout[1] == 0.5
    if setting == "PLIVO_AUTH_TOKEN":
        assert second.session.auth[1] == "another-token"


def test_each_thread_has_its_own_client(settings):
    mine = get_phlo_client()
    theirs = []
    worker = threading.Thread(target=lambda: theirs.append(get_phlo_client()))
    worker.start()
    worker.join()
    assert theirs and theirs[0] is not mine and theirs[0].session is not mine.session
    assert get_phlo_client() is mine


def test_a_connection_idle_too_long_is_not_reused(counting, settings, monkeypatch):
    server = counting(keep_alive=True)
    settings.PHLO_BASE_URL = server.url
    now = [1000.0]
    monkeypatch.setattr(phlo_client, "_clock", lambda: now[0])
    start_call(get_phlo_client())
    now[0] += phlo_client.KEEPALIVE_IDLE_SECONDS - 1
    start_call(get_phlo_client())
    assert server.connections == 1
    now[0] += phlo_client.KEEPALIVE_IDLE_SECONDS + 1
    start_call(get_phlo_client())
    assert server.counts == {"POST": 3}
    assert server.connections == 2


def test_a_connection_the_server_closed_is_replaced(counting, settings):
    server = counting(keep_alive=False)  # HTTP/1.0: the server closes after each answer
    settings.PHLO_BASE_URL = server.url
    for _ in range(2):
        assert start_call(get_phlo_client()).status == 201
    assert server.counts == {"POST": 2} and server.connections == 2
