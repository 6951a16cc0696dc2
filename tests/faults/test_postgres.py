"""PostgreSQL refusing connections, then restarted, under a deployed app process.

Its own PostgreSQL (initdb'd by the test on a free port) and one daphne process with the
production settings (a connection pool, health checks). While the database is down the
webhook answers 503 with Retry-After (never 500, so the provider retries) and a button
answers 503 with a message for the agent; once it is back, the provider's retries are each
stored and applied exactly once, and a redelivery after that has no second effect. A
callback stored just before the database fails mid-apply is kept, and the retry applies it
(or, when no retry comes, housekeeping does).
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlencode

import pytest
import requests

from harness.cluster import Cluster
from harness.edge import proxy_headers
from tests.deploy.helpers import Browser, sign
from tests.webhooks.helpers import callbacks, load_scenario

pytestmark = pytest.mark.faults

PASSWORD = "a-long-test-password-7"  # throwaway, for a throwaway database
SCENARIO = "phlo_outbound_call"
TIMEOUT = 15.0  # per request: the pool waits DATABASE_POOL_TIMEOUT for a connection
RETRY_FOR = 60.0  # how long the provider keeps retrying once the database is back

# Run in the app's environment: the call our services would have made before asking PHLO.
_BUILD_CALL = """
import json, django
django.setup()
from agents.models import Agent
from calls.models import Customer
from tests.webhooks.helpers import build_call
legs = build_call({scenario!r}, agent=Agent.objects.get(user__username="alice"),
                  customer=Customer.objects.get())
print(json.dumps({{"call": legs.call.pk, "customer_leg": legs.customer_leg.pk}}))
"""


def new_call(cluster: Cluster, tag: str) -> tuple[dict, dict]:
    """A fresh call of the scenario, and its callbacks with ids of its own (`tag`: 2 hex
    digits), so that each test's callbacks are new to the database."""
    out = cluster.run_python("-c", _BUILD_CALL.format(scenario=SCENARIO))
    ids = json.loads(out.strip().splitlines()[-1])
    story = {
        name: {
            k: (tag + v[2:] if k in ("conference_uuid", "call_uuid") else v)
            for k, v in params.items()
        }
        for name, params in callbacks(SCENARIO).items()
    }
    return ids, story


@pytest.fixture(scope="module")
def deployment(own_postgres):
    addresses = load_scenario(SCENARIO)["addresses"]
    cluster = Cluster(
        postgres_url=own_postgres.url,
        label="ccfaults",
        # One process, so the in-memory channel layer will do; a short wait for a pooled
        # connection, so a request meets the dead database in 2 s rather than 10.
        extra_env={"DJANGO_SINGLE_PROCESS": "1", "DATABASE_POOL_TIMEOUT": "2"},
    )
    try:
        cluster.create()
        cluster.seed(
            "people",
            {
                "agents": [
                    {"username": "alice", "password": PASSWORD, "endpoint": addresses["agent"]}
                ],
                "customers": [{"name": "Dana Diaz", "phone": addresses["customer"]}],
            },
        )
        server = cluster.start_server()
        yield cluster, server
    finally:
        for process in cluster.servers:
            process.kill()  # throwaway: no need to wait out a graceful stop
        cluster.destroy()


def post(cluster: Cluster, server, params: dict) -> requests.Response:
    """What the provider sends: a signed, form-encoded POST, straight to the process."""
    headers = sign(cluster, params) | proxy_headers(cluster.public_base_url)
    return requests.post(
        f"http://{server.address}/webhooks/plivo/",
        data=urlencode(params),
        headers=headers,
        timeout=TIMEOUT,
    )


def assert_never_500(server) -> None:
    """Not one answer of the process was a 500 (its access log: `"POST /path" 503 91`)."""
    log = server.log_tail(1000)
    answers = re.findall(r'^\S+ - - \[[^]]+\] "[A-Z]+ [^"]*" (\d{3})', log, re.M)
    assert "503" in answers and "500" not in answers


def retry_until_accepted(cluster: Cluster, server, params: dict) -> requests.Response:
    """The provider's retries: again while the answer is not 200, for at most RETRY_FOR s."""
    deadline = time.monotonic() + RETRY_FOR
    while True:
        response = post(cluster, server, params)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        assert response.status_code == 503, response.text
        time.sleep(0.2)  # a retry's interval, not a wait for the outcome


def test_database_down_answers_503_and_the_retries_after_it_is_back_apply_once(
    deployment, own_postgres
):
    cluster, server = deployment
    ids, story = new_call(cluster, "a1")
    browser = Browser(cluster, backends=[server.address])
    browser.login(username="alice", password=PASSWORD)
    # The process has served requests: its pool holds connections the restart will break.
    own_postgres.stop()
    try:
        for name in ("agent_enters", "customer_enters"):
            down = post(cluster, server, story[name])
            assert down.status_code == 503, down.text
            assert down.headers["Retry-After"] == "5"
            assert "was not stored; send it again" in down.json()["error"]
        button = browser.click(f"/desktop/members/{ids['customer_leg']}/actions/hold/")
        assert button.status_code == 503, button.text
        assert button.headers["Retry-After"] == "5"
        assert button.text.startswith("The database is not answering right now")
    finally:
        own_postgres.start()

    for name in ("agent_enters", "customer_enters"):
        back = retry_until_accepted(cluster, server, story[name])
        assert back.status_code == 200, back.text
        assert (back.json()["outcome"], back.json()["duplicate"]) == ("applied", False)
    again = post(cluster, server, story["agent_enters"])
    assert (again.status_code, again.json()["duplicate"]) == (200, True)

    rows = cluster.sql(
        "SELECT event, outcome, deliveries FROM calls_callbackevent WHERE call_id = %s ORDER BY id",
        ids["call"],
    )
    assert rows == [("ConferenceEnter", "applied", 2), ("ConferenceEnter", "applied", 1)]
    legs = cluster.sql(
        "SELECT role, state FROM calls_member WHERE call_id = %s ORDER BY role", ids["call"]
    )
    assert legs == [("agent", "talking"), ("customer", "talking")]
    (version,) = cluster.sql("SELECT version FROM calls_call WHERE id = %s", ids["call"])[0]
    assert version == 2  # two callbacks, each applied once
    # And the agent's buttons work again.
    assert browser.click(f"/desktop/members/{ids['customer_leg']}/actions/hold/").status_code in (
        200,
        502,  # the deployment's PHLO is a closed port: the service ran and said so
    )
    assert_never_500(server)


# PostgreSQL's own error for a session ended under it (SQLSTATE 57P01, as a restart or
# pg_terminate_backend gives): raised while applying, after the callback is stored.
_FAIL_APPLYING = (
    """CREATE FUNCTION faults_shutdown() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'terminating connection due to administrator command'
        USING ERRCODE = '57P01';
    END $$""",
    """CREATE TRIGGER faults_shutdown BEFORE UPDATE ON calls_member
    FOR EACH ROW EXECUTE FUNCTION faults_shutdown()""",
)
_HEAL = ("DROP TRIGGER faults_shutdown ON calls_member", "DROP FUNCTION faults_shutdown()")


def execute(cluster: Cluster, statements: tuple[str, ...]) -> None:
    import psycopg

    with psycopg.connect(cluster.database_url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def test_stored_but_not_applied_is_kept_and_the_retry_applies_it_once(deployment):
    cluster, server = deployment
    ids, story = new_call(cluster, "b2")
    execute(cluster, _FAIL_APPLYING)
    try:
        failed = post(cluster, server, story["agent_enters"])
    finally:
        execute(cluster, _HEAL)
    assert failed.status_code == 503, failed.text
    assert failed.headers["Retry-After"] == "5"
    body = failed.json()
    assert "was kept but the database stopped answering" in body["error"]
    ((outcome, deliveries),) = cluster.sql(
        "SELECT outcome, deliveries FROM calls_callbackevent WHERE id = %s", body["callback_id"]
    )
    assert (outcome, deliveries) == ("failed", 1)
    assert cluster.sql(
        "SELECT state, call_uuid FROM calls_member WHERE call_id = %s AND role = 'agent'",
        ids["call"],
    ) == [("dialling", "")]  # nothing half-applied

    retry = post(cluster, server, story["agent_enters"])
    assert retry.status_code == 200, retry.text
    assert retry.json() | {"callback_id": 0} == {
        "callback_id": 0,
        "outcome": "applied",
        "note": "",
        "duplicate": True,
    }
    assert retry.json()["callback_id"] == body["callback_id"]
    assert cluster.sql(
        "SELECT outcome, deliveries FROM calls_callbackevent WHERE id = %s", body["callback_id"]
    ) == [("applied", 2)]
    assert cluster.sql(
        "SELECT state FROM calls_member WHERE call_id = %s AND role = 'agent'", ids["call"]
    ) == [("talking",)]
    assert cluster.sql("SELECT version FROM calls_call WHERE id = %s", ids["call"]) == [(1,)]
    assert_never_500(server)


def test_when_the_provider_never_retries_housekeeping_applies_the_kept_callback(deployment):
    cluster, server = deployment
    ids, story = new_call(cluster, "c3")
    execute(cluster, _FAIL_APPLYING)
    try:
        failed = post(cluster, server, story["agent_enters"])
    finally:
        execute(cluster, _HEAL)
    assert failed.status_code == 503, failed.text
    callback_id = failed.json()["callback_id"]
    # No retry comes (Plivo's default retries only timeouts): cron's housekeeping, with the
    # grace for the provider's retry over, applies it.
    out = cluster.run_python("manage.py", "calls_housekeeping", CALLBACK_APPLY_GRACE_SECONDS="0")
    assert "Applied 1 kept callback(s)" in out
    assert cluster.sql(
        "SELECT outcome, deliveries FROM calls_callbackevent WHERE id = %s", callback_id
    ) == [("applied", 1)]
    assert cluster.sql(
        "SELECT state FROM calls_member WHERE call_id = %s AND role = 'agent'", ids["call"]
    ) == [("talking",)]
    # A retry arriving after all is a duplicate, with no second effect.
    late = post(cluster, server, story["agent_enters"])
    assert (late.status_code, late.json()["duplicate"]) == (200, True)
    assert cluster.sql("SELECT version FROM calls_call WHERE id = %s", ids["call"]) == [(1,)]


def test_the_readiness_check_names_the_database_while_it_is_down(deployment, own_postgres):
    _, server = deployment
    # Probed as a proxy or systemd would: straight to the process, its own Host, plain HTTP.
    base = f"http://{server.address}/health"
    assert requests.get(f"{base}/ready/", timeout=TIMEOUT).status_code == 200
    own_postgres.stop()
    try:
        down = requests.get(f"{base}/ready/", timeout=TIMEOUT)
        live = requests.get(f"{base}/live/", timeout=TIMEOUT)
    finally:
        own_postgres.start()
    assert (down.status_code, live.status_code) == (503, 200)
    checks = down.json()["checks"]
    assert checks["database"]["ok"] is False
    assert checks["channel_layer"]["ok"] is True
    deadline = time.monotonic() + RETRY_FOR
    while requests.get(f"{base}/ready/", timeout=TIMEOUT).status_code != 200:
        assert time.monotonic() < deadline, "not ready again after the database came back"
        time.sleep(0.2)
