"""Queue: callers arrive faster than agents take them (200 in 10 s on 20 agents), wait in an
inbound queue, and drain as agents come free.

Every agent starts Away. The simulator's callers call the queue's number at an even rate
while each agent, from their own logged-in session, presses Available (the first time) or
End wrap-up (after each call): the app offers them the caller who has waited longest. The
agent's (simulated) phone answers, they talk a moment and hang up, which ends the call and
puts them in wrap-up, and they press again. An agent stops when pressing brings no offer.

Offer latency: from the press being sent to the offer's PHLO `call` request (the agent rung
into the caller's multiparty call) reaching the simulator. The press answers only once the
offer is made (it is made after the status change commits, in the same request), so this is
the time from an agent becoming available to the provider being asked to ring them. It is
also split where the press reached Django (bench.middleware.request_started): the press on
its way (proxy, server, the hop into a thread) and the app's own time to the offer.
Baseline: just before each press, the same agent's smallest signed-in request (the session
check) through the same session, proxy and process, timed to its answer: what any request
costs at that moment. The
waits are the callers' own, from the database: arrival to an agent answering.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field

import requests

from bench.actions import logged_in
from bench.common import ms
from bench.stats import summary
from calls.simulator import Simulator
from harness.cluster import Cluster

QUEUE_NUMBER = "+14155558000"
FIRST_CALLER = 14155560000
# Each run of the phase (one process, then two) has its own queue, agents and callers, so
# that a run's figures count only its own calls.
RUN_NUMBER_STEP = 1
RUN_CALLER_STEP = 10_000
PASSWORD = "bench-queue-agent-1"  # throwaway accounts in a throwaway database
ROUTING_TOKEN = "bench-routing-token-0123456789abcdef"
# How often an agent with no call checks whether every caller has been answered.
NO_OFFER_AFTER = 1.0
# The longest a callback may take to reach the app and be applied before a step fails.
LATE = 60.0


@dataclass
class OfferLog:
    """Wraps the simulator's API handler to note when each offer (a `call` that rings an
    address into a multiparty call) arrives, by the address rung."""

    arrivals: dict[str, list[float]] = field(default_factory=dict)
    # The same arrivals on the wall clock, to set beside the app's own timestamps.
    wall: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, sim: Simulator) -> None:
        original = sim.api.handle

        def handle(**kwargs):
            arrived, wall = time.monotonic(), time.time()
            try:
                body = json.loads(kwargs.get("body") or b"{}")
            except ValueError:
                body = {}
            if isinstance(body, dict) and body.get("action") == "call":
                with self.lock:
                    self.arrivals.setdefault(str(body.get("to", "")), []).append(arrived)
                    self.wall.setdefault(str(body.get("to", "")), []).append(wall)
            return original(**kwargs)

        sim.api.handle = handle

    def count(self, address: str) -> int:
        with self.lock:
            return len(self.arrivals.get(address, []))

    def after(self, address: str, seen: int) -> float | None:
        with self.lock:
            times = self.arrivals.get(address, [])
            return times[seen] if len(times) > seen else None

    def wall_after(self, address: str, seen: int) -> float:
        with self.lock:
            return self.wall[address][seen]


def _wait(predicate, *, timeout: float, every: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


# Database checks poll this often: each opens a connection, and twenty agents polling every
# 10 ms load the machine more than the app they measure.
DB_POLL = 0.25


def queue_number(run: int) -> str:
    return f"+{int(QUEUE_NUMBER) + run * RUN_NUMBER_STEP}"


def queue_floor(
    cluster: Cluster, *, agents: int, run: int = 0
) -> list[tuple[str, requests.Session, dict]]:
    """`agents` agents in one queue (run `run`'s), Away, each logged in: (endpoint, session,
    headers)."""
    people = [
        {
            "username": f"q{run}-agent-{i}",
            "password": PASSWORD,
            "endpoint": f"sip:q{run}-{i}@bench.test",
            "status": "away",
        }
        for i in range(agents)
    ]
    cluster.seed(
        "people",
        {
            "agents": people,
            "queues": [
                {
                    "name": f"Bench {run}",
                    "number": queue_number(run),
                    "agents": [p["username"] for p in people],
                }
            ],
        },
    )
    return [
        (p["endpoint"], *logged_in(cluster, username=p["username"], password=PASSWORD))
        for p in people
    ]


def queue_drain(
    cluster: Cluster,
    sim: Simulator,
    floor: list[tuple[str, requests.Session, dict]],
    *,
    callers: int,
    seconds: float,
    talk: float,
    run: int = 0,
) -> dict:
    number = queue_number(run)
    queue_id = cluster.sql("select id from calls_queue where number = %s", number.lstrip("+"))[0][0]
    offers = OfferLog()
    offers.attach(sim)
    base = cluster.public_base_url
    latencies: list[float] = []
    bare: list[float] = []
    # (endpoint, press on the wall clock, offer's arrival on the wall clock), to split each
    # measured offer at the moment the app recorded it (its action's created_at).
    measured: list[tuple[str, float, float]] = []
    # (press reaching Django, offer's arrival), both on the wall clock: the app's own time.
    in_django: list[float] = []
    on_the_way: list[float] = []
    handled: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def offered(endpoint: str, seen: int) -> bool:
        return offers.after(endpoint, seen) is not None

    def talking(endpoint: str) -> bool:
        return (sim.member(endpoint) or {}).get("state") == "talking"

    def status_of(endpoint: str) -> str:
        return cluster.sql("select status from agents_agent where endpoint = %s", endpoint)[0][0]

    arrived = threading.Event()

    def all_answered() -> bool:
        """Every caller has called, been routed and answered (or gone): nobody waits."""
        if not arrived.is_set():
            return False
        total, waiting = cluster.sql(
            "select count(*), count(*) filter (where answered_at is null and status in"
            " ('dialling', 'active')) from calls_call where queue_id = %s",
            queue_id,
        )[0]
        return total >= callers and waiting == 0

    def work(endpoint: str, http: requests.Session, headers: dict) -> None:
        press, done = {"status": "available"}, 0
        seen = offers.count(endpoint)
        try:
            while time.monotonic() < deadline:
                if press:
                    # The baseline, just before the press, through the same session, proxy
                    # and process: the smallest signed-in request (the session check, 204).
                    before = time.monotonic()
                    http.get(f"{base}/desktop/session/", timeout=30).raise_for_status()
                    with lock:
                        bare.append(ms(time.monotonic() - before))
                pressed, pressed_wall = time.monotonic(), time.time()
                if press:
                    answer = http.post(
                        f"{base}/desktop/status/", data=press, headers=headers, timeout=30
                    )
                    if answer.status_code != 200:
                        raise RuntimeError(f"{endpoint}: {press} answered {answer.status_code}")
                    reached = float(answer.headers.get("X-Bench-Started") or "nan")
                # Rung: by an offer from the queue, or routed a new caller directly; or, with
                # every caller answered, done. A loaded app applies callbacks late: wait.
                rung = lambda: offered(endpoint, seen) or sim.member(endpoint) is not None  # noqa: B023, E731
                while not _wait(rung, timeout=NO_OFFER_AFTER):
                    if all_answered() or time.monotonic() > deadline:
                        return
                if press and offered(endpoint, seen):  # only a queue's offer after a press
                    arrived_wall = offers.wall_after(endpoint, seen)
                    with lock:
                        latencies.append(ms(offers.after(endpoint, seen) - pressed))
                        measured.append((endpoint, pressed_wall, arrived_wall))
                        if not math.isnan(reached):  # the header was there
                            in_django.append(ms(arrived_wall - reached))
                            on_the_way.append(ms(reached - pressed_wall))
                # The phone answers by itself; they talk, then hang up.
                if not _wait(lambda: talking(endpoint), timeout=LATE):
                    raise RuntimeError(f"{endpoint}: the offered call never connected")
                time.sleep(talk)
                seen = offers.count(endpoint)  # an offer from now on is for the next caller
                sim.phones.hangup(endpoint)
                done += 1
                # Off the call: in wrap-up (they press End wrap-up), or Available and maybe
                # offered the next caller already (no press is due).
                off = lambda: offered(endpoint, seen) or status_of(endpoint) != "on_call"  # noqa: B023, E731
                if not _wait(off, timeout=LATE, every=DB_POLL):
                    raise RuntimeError(f"{endpoint}: never left the call")
                press = {"op": "end_wrap_up"} if status_of(endpoint) == "wrap_up" else None
        except Exception as exc:  # reported in the results; the other agents go on
            with lock:
                errors.append(str(exc))
        finally:
            with lock:
                handled.append(done)

    started = time.monotonic()
    deadline = started + seconds + callers * (talk + 2) + 120  # every phase is bounded
    threads = [threading.Thread(target=work, args=row, daemon=True) for row in floor]
    for thread in threads:
        thread.start()
    for k in range(callers):
        due = started + k * seconds / callers
        time.sleep(max(0.0, due - time.monotonic()))
        sim.inbound_call(from_=f"+{FIRST_CALLER + run * RUN_CALLER_STEP + k}", to=number)
    arrived_in = time.monotonic() - started
    arrived.set()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()) + 5)
    drained_in = time.monotonic() - started

    rows = cluster.sql(
        "select extract(epoch from answered_at - created_at), outcome, status from calls_call"
        " where queue_id = %s",
        queue_id,
    )
    waits = [float(r[0]) * 1000 for r in rows if r[0] is not None]
    in_app, to_phlo = _split_at_the_record(cluster, measured)
    unanswered = [r for r in rows if r[0] is None]
    return {
        "callers": callers,
        "agents": len(floor),
        "arrived_in_s": round(arrived_in, 2),
        "drained_in_s": round(drained_in, 2),
        "answered": len(waits),
        "not_answered": len(unanswered),
        "still_live": sum(1 for r in unanswered if r[2] in ("dialling", "active")),
        "wait_ms": summary(waits),
        "offer_ms": summary(latencies),
        "bare_request_ms": summary(bare),
        "offer_in_app_ms": summary(in_app),
        "offer_to_phlo_ms": summary(to_phlo),
        "offer_in_django_ms": summary(in_django),
        "press_on_the_way_ms": summary(on_the_way),
        "offers_measured": len(latencies),
        "calls_per_agent": summary([float(h) for h in handled]),
        "errors": errors[:5],
        "error_count": len(errors),
    }


def _split_at_the_record(
    cluster: Cluster, measured: list[tuple[str, float, float]]
) -> tuple[list[float], list[float]]:
    """Each measured offer, split where the app recorded its action (before sending): the
    press to the record (the HTTP request, the status change, finding the caller, locking
    the call and reserving the agent), and the record to the simulator (the leg and the
    call saved, the commit, the PHLO request and its arrival). One machine, one clock."""
    rows = cluster.sql(
        "select target, extract(epoch from created_at) from calls_action where kind = 'call'"
    )
    recorded: dict[str, list[float]] = {}
    for target, at in rows:
        recorded.setdefault(target, []).append(float(at))
    in_app, to_phlo = [], []
    for endpoint, pressed, arrived in measured:
        # The offer's action: the last one recorded before its request arrived.
        at = max((t for t in recorded.get(endpoint, []) if t <= arrived), default=None)
        if at is not None and at >= pressed:
            in_app.append(ms(at - pressed))
            to_phlo.append(ms(arrived - at))
    return in_app, to_phlo
