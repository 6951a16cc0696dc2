"""Action overhead: from an agent's button POST to the PHLO request arriving at the PHLO
runner (the simulator, in this process), against a raw `requests.post` of the same request
to the same simulator. Hold and unhold alternate on a live call's customer, so every
request changes state and the run ends as it began.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import requests

from bench.common import ms, reached_django
from bench.stats import summary
from calls.simulator import Simulator
from harness.cluster import Cluster, Server
from harness.edge import edge_session

PASSWORD = "bench-actor-password-1"  # a throwaway account in a throwaway database
ACTOR = "bench-actor"
CUSTOMER = "+14155559900"
_CSRF_FORM = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_CSRF_HTMX = re.compile(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'")
_CUSTOMER_ROW = re.compile(r'<tr id="member-(\d+)" class="member[^"]*" data-role="customer"')


class ArrivalLog:
    """Wraps the simulator's API handler to note when each PHLO request arrives (and on the
    wall clock, to set beside the app's X-Bench-Started)."""

    def __init__(self, sim: Simulator) -> None:
        self.times: list[float] = []
        self.wall: list[float] = []
        original = sim.api.handle

        def handle(**kwargs):
            self.times.append(time.monotonic())
            self.wall.append(time.time())
            return original(**kwargs)

        sim.api.handle = handle


def _wait(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)  # the simulator's phones answer on its own real clock


@dataclass
class Actor:
    """A logged-in agent (through the proxy) on a live call; `member_pk` is the customer."""

    http: requests.Session
    headers: dict
    member_pk: int
    arrivals: ArrivalLog


def logged_in(cluster: Cluster, *, username: str, password: str) -> tuple[requests.Session, dict]:
    """A session logged in through the login form (through the proxy), and the headers an
    htmx request from its desktop carries."""
    base = cluster.public_base_url
    http = edge_session(
        public_base_url=base, backends=lambda: [s.address for s in cluster.servers if s.running]
    )
    http.headers["Origin"] = base
    page = http.get(base + "/login/", timeout=10)
    http.post(
        base + "/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": _CSRF_FORM.search(page.text)[1],
        },
        headers={"Referer": base + "/login/"},
        timeout=10,
    ).raise_for_status()
    desktop = http.get(base + "/", timeout=10).text
    return http, {"HX-Request": "true", "X-CSRFToken": _CSRF_HTMX.search(desktop)[1]}


def actor_on_a_call(cluster: Cluster, server: Server, sim: Simulator) -> Actor:
    """Log an agent in through the form, dial a customer from the desktop, and wait until
    both phones answered (the simulator's callbacks reach the app through the proxy)."""
    cluster.seed(
        "people",
        {
            "agents": [
                {"username": ACTOR, "password": PASSWORD, "endpoint": "sip:actor@bench.test"}
            ],
            "customers": [{"name": "Bench customer", "phone": CUSTOMER}],
        },
    )
    base = cluster.public_base_url
    http, headers = logged_in(cluster, username=ACTOR, password=PASSWORD)
    dialled = http.post(base + "/desktop/dial/", data={"to": CUSTOMER}, headers=headers, timeout=10)
    dialled.raise_for_status()
    _wait(
        lambda: (sim.member(CUSTOMER) or {}).get("state") == "talking",
        timeout=15,
        what="the customer to answer",
    )
    _wait(
        lambda: (
            cluster.sql(
                "select count(*) from calls_member where address = %s and state = 'talking'",
                CUSTOMER.lstrip("+"),
            )[0][0]
            == 1
        ),
        timeout=15,
        what="the app to see the customer talking",
    )
    member_pk = int(_CUSTOMER_ROW.search(http.get(base + "/", timeout=10).text)[1])
    return Actor(http=http, headers=headers, member_pk=member_pk, arrivals=ArrivalLog(sim))


def action_overhead(cluster: Cluster, sim: Simulator, actor: Actor, *, count: int) -> dict:
    base = cluster.public_base_url
    http, headers, member_pk, arrivals = actor.http, actor.headers, actor.member_pk, actor.arrivals
    app_to_phlo, app_round_trip, errors = [], [], 0
    # The button split where it reached Django: its way there (client, proxy, daphne, the
    # hop into a thread), then Django's own time (middleware, view, service) to PHLO.
    way_there, in_django = [], []
    for k in range(count):
        kind = "hold" if k % 2 == 0 else "unhold"
        seen = len(arrivals.times)
        started, started_wall = time.monotonic(), time.time()
        answer = http.post(
            f"{base}/desktop/members/{member_pk}/actions/{kind}/", headers=headers, timeout=15
        )
        done = time.monotonic()
        if answer.status_code != 200 or len(arrivals.times) != seen + 1:
            errors += 1
            continue
        app_to_phlo.append(ms(arrivals.times[-1] - started))
        app_round_trip.append(ms(done - started))
        reached = reached_django(answer)
        if not math.isnan(reached):  # the header was there
            way_there.append(ms(reached - started_wall))
            in_django.append(ms(arrivals.wall[-1] - reached))

    # Baseline for the server stack: the smallest signed-in request (the session check,
    # 204) through the same session, proxy and process, timed to its answer.
    signed_in = []
    for _ in range(count):
        started = time.monotonic()
        if http.get(f"{base}/desktop/session/", timeout=15).status_code != 204:
            errors += 1
            continue
        signed_in.append(ms(time.monotonic() - started))

    url = (
        f"{sim.api_url}/phlo/{cluster.phlo_id}/multi_party_call/{cluster.node_id}"
        f"/members/{quote(CUSTOMER.lstrip('+'), safe='')}"
    )
    raw_to_phlo, raw_round_trip = [], []
    for k in range(count):
        kind = "hold" if k % 2 == 0 else "unhold"
        seen = len(arrivals.times)
        started = time.monotonic()
        answer = requests.post(
            url, json={"action": kind}, auth=(cluster.auth_id, cluster.auth_token), timeout=15
        )
        done = time.monotonic()
        if answer.status_code != 201 or len(arrivals.times) != seen + 1:
            errors += 1
            continue
        raw_to_phlo.append(ms(arrivals.times[-1] - started))
        raw_round_trip.append(ms(done - started))
    app, raw = summary(app_to_phlo), summary(raw_to_phlo)
    return {
        "count": count,
        "errors": errors,
        "button_to_phlo": app,
        "raw_to_phlo": raw,
        "button_round_trip": summary(app_round_trip),
        "raw_round_trip": summary(raw_round_trip),
        "button_way_there": summary(way_there),
        "button_in_django": summary(in_django),
        "signed_in_round_trip": summary(signed_in),
        "overhead_p50_ms": app["p50"] - raw["p50"],
    }
