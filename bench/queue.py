"""Queue: callers arrive faster than agents take them (200 in 10 s on 20 agents), wait in an
inbound queue, and drain as agents come free.

The database has a day behind it (`Plan.queue_history` ended calls, analyzed, as autovacuum
keeps production's statistics), so the burst's live rows are newer than the statistics the
planner works from, as in a contact center's morning.

Every agent starts Away. The simulator's callers call the queue's number at an even rate
while each agent, from their own logged-in session, presses Available (the first time) or
End wrap-up (after each call): the app offers them the caller who has waited longest. The
agent's (simulated) phone answers, they talk a moment and hang up, which ends the call and
puts them in wrap-up, and they press again. An agent stops when pressing brings no offer.

Offer latency: from the press being sent to the offer's PHLO `call` request (the agent rung
into the caller's multiparty call) reaching the simulator. The press answers only once the
offer is made (it is made after the status change commits, in the same request), so this is
the time from an agent becoming available to the provider being asked to ring them. When
the caller began to wait only after the press (their leg still connecting), the offer is
timed from then: that time is the caller's. It is also split where the press reached Django
(bench.middleware.request_started): the press on its way (proxy, server, the hop into a
thread) and the app's own time to the offer.
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
from bench.common import ms, reached_django
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
    # Each measured offer on the wall clock: (endpoint, press sent, press reached Django,
    # offer's arrival), to split it where the app recorded it and where the press reached
    # the app, and to start it when the caller began to wait if that came after the press.
    measured: list[tuple[str, float, float, float]] = []
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
                    reached = reached_django(answer)
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
                        measured.append((endpoint, pressed_wall, reached, arrived_wall))
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
    clocks, before_the_wait = _offer_clocks(cluster, measured)
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
        **{key: summary(values) for key, values in clocks.items()},
        "offers_before_the_caller_waited": before_the_wait,
        "offers_measured": len(latencies),
        "calls_per_agent": summary([float(h) for h in handled]),
        "errors": errors[:5],
        "error_count": len(errors),
    }


def _offer_clocks(
    cluster: Cluster, measured: list[tuple[str, float, float, float]]
) -> tuple[dict[str, list[float]], int]:
    """The measured offers' times, and how many of them found the caller not yet waiting.

    Each offer starts at the later of the press and the caller beginning to wait (their
    leg's answer, when they hear the queue's music, as the app recorded it): an agent who
    comes free while the caller's leg is still connecting is offered them when it connects,
    and that time is the caller's, not the offer's. The offer's action is the last `call` to
    its agent recorded before its request arrived. One machine, one clock.

    - offer_from_free_ms: from that start to the offer's request reaching the simulator;
    - offer_in_app_ms / offer_to_phlo_ms: the same, split where the app recorded the offer;
    - offer_in_django_ms: from the later of the press reaching Django and the caller
      waiting, to the simulator: the app's own time;
    - press_on_the_way_ms: the press's way to Django (proxy, server, the hop to a thread)."""
    rows = cluster.sql(
        "select a.target, extract(epoch from a.created_at), extract(epoch from min(m.answered_at))"
        " from calls_action a join calls_member m on m.call_id = a.call_id"
        " and m.role = 'customer' where a.kind = 'call' group by a.id"
    )
    recorded: dict[str, list[tuple[float, float]]] = {}
    for target, at, waiting in rows:
        if waiting is not None:
            recorded.setdefault(target, []).append((float(at), float(waiting)))
    clocks: dict[str, list[float]] = {
        key: []
        for key in (
            "offer_from_free_ms",
            "offer_in_app_ms",
            "offer_to_phlo_ms",
            "offer_in_django_ms",
            "press_on_the_way_ms",
        )
    }
    before_the_wait = 0
    for endpoint, pressed, reached, arrived in measured:
        found = [r for r in recorded.get(endpoint, []) if r[0] <= arrived]
        if not found:
            continue
        at, waiting = max(found)
        before_the_wait += waiting > pressed
        start = max(pressed, waiting)
        clocks["offer_from_free_ms"].append(ms(arrived - start))
        clocks["offer_in_app_ms"].append(ms(at - start))
        clocks["offer_to_phlo_ms"].append(ms(arrived - at))
        if not math.isnan(reached):  # the header was there
            clocks["offer_in_django_ms"].append(ms(arrived - max(reached, waiting)))
            clocks["press_on_the_way_ms"].append(ms(reached - pressed))
    return clocks, before_the_wait
