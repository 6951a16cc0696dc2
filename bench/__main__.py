"""Benchmark the live path on this machine and write bench/REPORT.md and bench/report.png.

    .venv/bin/pip install -e '.[bench]'      # matplotlib, for the chart
    .venv/bin/python -m bench                # the full run: ~10 minutes on the shared 2-core box
    .venv/bin/python -m bench --quick        # a smoke run of every phase, ~1 minute, to var/

Needs PostgreSQL (DATABASE_URL if it names one, else postgres://postgres@127.0.0.1:5432) and,
for the multi-process figures, Redis (REDIS_URL, else redis://127.0.0.1:6379/0). It creates
and drops its own database and uses its own channel-layer prefix. Every load goes to
127.0.0.1 only, and every phase is bounded in count and time.

With py-spy (in the bench extra), the ingestion, the heaviest push run, the desktops
connecting, the buttons and the queue each profile one app process's CPU while they load
it; the report's "Where the CPU goes" sums the samples (bench/profile.py) and
var/bench-profiles/ keeps them raw.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.cluster import (
    DEFAULT_REDIS,
    ROOT,
    Cluster,
    ClusterError,
    Server,
    postgres_server_url,
    unreachable,
)


@dataclass(frozen=True)
class Plan:
    render_calls: tuple[int, ...]
    latency_sockets: tuple[int, ...]
    rate: float
    latency_seconds: float
    warmup: float
    ingestion_seconds: float
    bare_seconds: float
    concurrency: int
    capacity_steps: tuple[int, ...]
    actions: int
    rates: tuple[float, ...]
    # The queue phase: callers arriving evenly over queue_seconds, on queue_agents agents.
    queue_callers: int = 200
    queue_seconds: float = 10.0
    queue_agents: int = 20
    # Ended calls already in the database when the queue phase begins (a day's history).
    queue_history: int = 5000


# The in-memory layer serves one process only; production settings need this to allow it.
SINGLE_PROCESS = {"REDIS_URL": "", "DJANGO_SINGLE_PROCESS": "1"}

FULL = Plan(
    render_calls=(10, 100, 1000),
    latency_sockets=(200, 1000),
    rate=100.0,
    latency_seconds=15.0,
    warmup=3.0,
    ingestion_seconds=30.0,
    bare_seconds=10.0,
    concurrency=8,
    capacity_steps=(1000, 2000, 2500),
    actions=200,
    rates=(25.0, 50.0),
)
QUICK = Plan(
    render_calls=(5, 20),
    latency_sockets=(20,),
    rate=20.0,
    latency_seconds=2.0,
    warmup=0.5,
    ingestion_seconds=2.0,
    bare_seconds=1.0,
    concurrency=4,
    capacity_steps=(60,),
    actions=10,
    rates=(10.0,),
    queue_callers=12,
    queue_seconds=2.0,
    queue_agents=3,
    queue_history=200,
)


def say(text: str) -> None:
    print(text, flush=True)


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


@contextlib.contextmanager
def _together(managers: list) -> Iterator[None]:
    """Enter every context manager of `managers` for the one block."""
    with contextlib.ExitStack() as stack:
        for manager in managers:
            stack.enter_context(manager)
        yield


class Bench:
    def __init__(self, plan: Plan, *, redis_url: str | None) -> None:
        from bench.queue import ROUTING_TOKEN
        from calls.simulator import RealClock, Simulator, SimulatorConfig
        from harness.edge import EdgeAdapter

        self.plan = plan
        self.redis_url = redis_url
        self.cluster = Cluster(
            redis_url=redis_url,
            settings_module="bench.settings",
            asgi_application="bench.asgi:application",
            label="ccbench",
            # Production logs at INFO; one line per callback is part of the real cost.
            extra_env={"LOG_LEVEL": "INFO"},
        )
        c = self.cluster
        self.sim = Simulator(
            config=SimulatorConfig(
                auth_id=c.auth_id,
                auth_token=c.auth_token,
                phlo_id=c.phlo_id,
                node_id=c.node_id,
                callback_url=c.public_base_url + "/webhooks/plivo/",
                routing_url=c.public_base_url + "/routing/inbound/",
                routing_token=ROUTING_TOKEN,
                answer_delay=0.1,
            ),
            clock=RealClock(),
        )
        self.sim.start(host="127.0.0.1", port=0)
        for session in (self.sim.delivery._session, self.sim.router._session):
            session.mount(
                c.public_base_url + "/",
                EdgeAdapter(
                    public_base_url=c.public_base_url,
                    backends=lambda: [s.address for s in c.servers if s.running],
                ),
            )
        c.phlo_base_url = self.sim.api_url
        self.rows: list[dict] = []
        self.supervisor_key = ""
        self.actor = None
        self.results: dict = {"machine": machine(), "plan": plan.__dict__}

    def close(self) -> None:
        if self.actor is not None:
            self.actor.http.close()
        self.sim.stop()
        self.cluster.destroy()

    # --- data -----------------------------------------------------------------------------

    def top_up_calls(self, total: int) -> None:
        """Bring the number of agents on a live call (with their sessions) up to `total`."""
        missing = total - len(self.rows)
        if missing <= 0:
            return
        loaded = self.cluster.seed(
            "load", {"agents": missing, "supervisor": not self.supervisor_key}
        )
        self.rows += loaded["agents"]
        if loaded["supervisor"]:
            self.supervisor_key = loaded["supervisor"]["session_key"]

    def layers(self) -> list[tuple[str, int, dict]]:
        """(layer, processes, env) for the latency runs: memory/1, then Redis/2."""
        runs = [("in-memory", 1, SINGLE_PROCESS)]
        if self.redis_url:
            runs.append(("redis", 2, {}))
        return runs

    def production_env(self) -> dict:
        return {} if self.redis_url else SINGLE_PROCESS

    def profiled(self, server: Server, name: str, into: dict):
        """Sample `server`'s CPU while the block runs, into `into["profile"]`
        (bench/profile.py); the raw samples stay in var/bench-profiles/."""
        from bench.profile import sampling

        into["profile"] = profile = {}
        raw = ROOT / "var" / "bench-profiles" / f"{name}.txt"
        return sampling(pid=server.pid, raw_path=raw, result=profile)

    def push_and_echo(
        self, servers: list[Server], *, sockets: int, rate: float, profile_as: str = ""
    ) -> dict:
        """Push latency to `sockets` desktops at `rate`, then the echo baseline through the
        same servers with as many sockets, the same rate and a message of the same size.
        `profile_as`: sample the first server's CPU during the push run, under that name."""
        from bench.cpu import CpuMeter
        from bench.latency import echo_latency, push_latency

        p = self.plan
        self.top_up_calls(sockets)
        found: dict = {}
        meter = CpuMeter(app_pids=[server.pid for server in servers])
        during = [meter]
        if profile_as:
            during.append(self.profiled(servers[0], profile_as, found))
        push = asyncio.run(
            push_latency(
                self.cluster,
                servers,
                self.rows[:sockets],
                rate=rate,
                seconds=p.latency_seconds,
                warmup=p.warmup,
                during=_together(during),
            )
        )
        found["cpu"] = meter.figures()
        echo = asyncio.run(
            echo_latency(
                self.cluster,
                servers,
                sockets,
                rate=rate,
                seconds=p.latency_seconds,
                warmup=p.warmup,
                payload_bytes=push["message_bytes"] or 4000,
            )
        )
        return {"push": push, "echo": echo} | found

    # --- phases ---------------------------------------------------------------------------

    def run(self, phases: list[str]) -> dict:
        started = time.monotonic()
        self.cluster.create()
        say(f"database {self.cluster.database} ready; simulator at {self.sim.api_url}")
        load = self.results.setdefault("load", {})
        speed = self.results.setdefault("python_speed", {})
        from bench.speed import python_speed

        for phase in phases:
            say(f"\n== {phase}")
            speed[phase] = python_speed()
            before = os.getloadavg()[0]
            getattr(self, f"phase_{phase}")()
            # Others share this machine: the 1-minute load average says how much.
            load[phase] = [round(before, 2), round(os.getloadavg()[0], 2)]
        self.results["seconds"] = time.monotonic() - started
        return self.results

    def phase_render(self) -> None:
        from bench.render import render_costs

        server = self.cluster.start_server(
            name="render", BENCH_QUERY_STATS="1", **self.production_env()
        )
        out = []
        try:
            for total in self.plan.render_calls:
                self.top_up_calls(total)
                found = asyncio.run(
                    render_costs(
                        self.cluster,
                        server,
                        agent_row=self.rows[0],
                        supervisor_key=self.supervisor_key,
                        live_calls=total,
                    )
                )
                out.append(found)
                d, w = found["desktop"], found["wallboard"]
                say(
                    f"{total:>5} live calls: desktop {d['server_ms_p50']:.1f} ms"
                    f" {d['queries']} queries; wallboard {w['server_ms_p50']:.1f} ms"
                    f" {w['queries']} queries (HTTP {w['status']}); full state"
                    f" {found['desktop_full_state_ms_p50']:.1f} ms"
                )
        finally:
            self.cluster.stop_servers()
        self.results["render"] = out

    def phase_latency(self) -> None:
        p = self.plan
        self.top_up_calls(max(p.latency_sockets))
        out = []
        for layer, processes, env in self.layers():
            servers = self.cluster.start_servers(processes, **env)
            try:
                for sockets in p.latency_sockets:
                    # The heaviest run on the layer that scales out is the one to explain.
                    last = layer == self.layers()[-1][0] and sockets == max(p.latency_sockets)
                    found = self.push_and_echo(
                        servers,
                        sockets=sockets,
                        rate=p.rate,
                        profile_as=f"latency-{layer}-{sockets}" if last else "",
                    )
                    out.append(
                        {"layer": layer, "processes": processes, "sockets": sockets, **found}
                    )
                    say(f"{layer}/{processes} proc, {sockets} sockets: {_figures(found)}")
            finally:
                self.cluster.stop_servers()
        self.results["latency"] = out

    def phase_rates(self) -> None:
        """Push latency on the last layer with the most sockets at a ladder of offered rates,
        to find the rate the processes carry within the target."""
        p = self.plan
        sockets = max(p.latency_sockets)
        layer, processes, env = self.layers()[-1]
        out = []
        servers = self.cluster.start_servers(processes, **env)
        try:
            for rate in p.rates:
                found = self.push_and_echo(servers, sockets=sockets, rate=rate)
                out.append(
                    {
                        "layer": layer,
                        "processes": processes,
                        "sockets": sockets,
                        "rate": rate,
                        **found,
                    }
                )
                say(f"{rate:.0f} cb/s offered, {layer}/{processes} proc: {_figures(found)}")
        finally:
            self.cluster.stop_servers()
        self.results["rates"] = out

    def phase_ingestion(self) -> None:
        from bench.common import Clock, hold_callback
        from bench.ingestion import bare_view, webhook_ingestion

        p = self.plan
        sockets = min(200, max(p.latency_sockets))
        self.top_up_calls(sockets)
        layer = "redis" if self.redis_url else "in-memory"
        (server,) = self.cluster.start_servers(1, **self.production_env())
        sampled: dict = {}
        try:
            webhook = asyncio.run(
                webhook_ingestion(
                    self.cluster,
                    server,
                    self.rows[:sockets],
                    seconds=p.ingestion_seconds,
                    concurrency=p.concurrency,
                    during=self.profiled(server, "ingestion", sampled),
                )
            )
            sample = hold_callback(self.rows[0], hold=True, stamp=Clock().stamp())
            bare = asyncio.run(
                bare_view(
                    self.cluster,
                    server,
                    seconds=p.bare_seconds,
                    concurrency=p.concurrency,
                    body_like=sample,
                )
            )
        finally:
            self.cluster.stop_servers()
        self.results["ingestion"] = {
            "layer": layer,
            "processes": 1,
            "desktops_open": sockets,
            "concurrency": p.concurrency,
            "webhook": webhook,
            "bare": bare,
            **sampled,
        }
        say(
            f"webhook {webhook['per_second']:.0f}/s over {webhook['seconds']:.0f} s"
            f" (ok {webhook['ok']}, errors {webhook['errors']}, lost {webhook['lost']});"
            f" bare view {bare['per_second']:.0f}/s"
        )
        cpu = webhook.get("cpu")
        if cpu:
            say(
                "CPU ms per callback: "
                + ", ".join(f"{k} {v:.2f}" for k, v in cpu["ms_per_request"].items())
                + f"; machine {100 * cpu['machine_busy_share']:.0f}% busy"
            )

    def phase_capacity(self) -> None:
        from bench.capacity import idle_capacity

        steps = self.plan.capacity_steps
        extra = max(steps) - len(self.rows)
        rows = list(self.rows)
        if extra > 0:
            rows += self.cluster.seed("load", {"agents": 0, "idle_agents": extra})["agents"]
        (server,) = self.cluster.start_servers(1, **self.production_env())
        sampled: dict = {}
        try:
            found = asyncio.run(
                idle_capacity(
                    self.cluster,
                    server,
                    rows,
                    steps=steps,
                    during=self.profiled(server, "capacity", sampled),
                )
            )
        finally:
            self.cluster.stop_servers()
        found |= sampled
        found["layer"] = "redis" if self.redis_url else "in-memory"
        self.results["capacity"] = found
        say(
            f"held {found['held']} idle desktops in one process;"
            f" {found['kb_per_socket']:.1f} KB each; heartbeat p99"
            f" {found['heartbeat_ms']['p99']:.1f} ms"
        )

    def phase_actions(self) -> None:
        from bench.actions import action_overhead, actor_on_a_call

        (server,) = self.cluster.start_servers(1, **self.production_env())
        sampled: dict = {}
        try:
            if self.actor is None:
                self.actor = actor_on_a_call(self.cluster, server, self.sim)
            with self.profiled(server, "actions", sampled):
                found = action_overhead(self.cluster, self.sim, self.actor, count=self.plan.actions)
        finally:
            self.cluster.stop_servers()
        self.results["actions"] = found | sampled
        say(
            f"button → PHLO p50 {found['button_to_phlo']['p50']:.1f} ms, raw requests.post"
            f" p50 {found['raw_to_phlo']['p50']:.1f} ms: overhead"
            f" {found['overhead_p50_ms']:.1f} ms (on the way to Django"
            f" {found['button_way_there']['p50']:.1f}, in Django to PHLO"
            f" {found['button_in_django']['p50']:.1f}; session check round trip"
            f" {found['signed_in_round_trip']['p50']:.1f})"
        )

    def phase_queue(self) -> None:
        """The queue drained by one process, then (with Redis) by two behind the proxy, each
        run with its own queue, agents and callers."""
        # The two-process run is kept inside the phase's results, as "two_processes".
        runs = [1, 2] if self.redis_url else [1]
        if self.plan.queue_history:
            # A working day behind the database, analyzed, as in production (harness.seed).
            self.cluster.seed("history", {"calls": self.plan.queue_history})
        for run, processes in enumerate(runs):
            found = self._queue_run(processes=processes, run=run)
            if processes == 1:
                self.results["queue"] = found
            else:
                self.results["queue"]["two_processes"] = found
            say(
                f"{processes} proc: {found['callers']} callers in {found['arrived_in_s']} s on"
                f" {found['agents']} agents: drained in {found['drained_in_s']} s,"
                f" {found['answered']} answered; wait p50/p99"
                f" {found['wait_ms']['p50']:.0f}/{found['wait_ms']['p99']:.0f} ms;"
                f" offer p50/p99 {found['offer_ms']['p50']:.1f}/{found['offer_ms']['p99']:.1f} ms"
                f" (press to record {found['offer_in_app_ms']['p50']:.1f}/"
                f"{found['offer_in_app_ms']['p99']:.1f}, record to PHLO"
                f" {found['offer_to_phlo_ms']['p50']:.1f}/{found['offer_to_phlo_ms']['p99']:.1f};"
                f" baseline {found['bare_request_ms']['p50']:.1f}/"
                f"{found['bare_request_ms']['p99']:.1f})"
                f" ({found['error_count']} errors)" + _cores(found.get("cpu"))
            )

    def _queue_run(self, *, processes: int, run: int) -> dict:
        from bench.cpu import CpuMeter
        from bench.queue import ROUTING_TOKEN, queue_drain, queue_floor

        p = self.plan
        env = {"ROUTING_API_TOKEN": ROUTING_TOKEN, **self.production_env()}
        servers = self.cluster.start_servers(processes, **env)
        sampled: dict = {}
        meter = CpuMeter(app_pids=[server.pid for server in servers])
        try:
            floor = queue_floor(self.cluster, agents=p.queue_agents, run=run)
            with self.profiled(servers[0], f"queue-{processes}", sampled), meter:
                found = queue_drain(
                    self.cluster,
                    self.sim,
                    floor,
                    callers=p.queue_callers,
                    seconds=p.queue_seconds,
                    talk=0.3,
                    run=run,
                )
            for _, http, _ in floor:
                http.close()
        finally:
            self.cluster.stop_servers()
        cpu = meter.figures()
        return found | {"processes": processes} | sampled | ({"cpu": cpu} if cpu else {})


def _figures(found: dict) -> str:
    push, echo = found["push"], found["echo"]
    return (
        f"sent {push['rate']:.1f}/s, push p50/p95/p99"
        f" {push['p50']:.1f}/{push['p95']:.1f}/{push['p99']:.1f} ms (lost {push['lost']},"
        f" errors {push['errors']}, not sent {push['not_sent_saturated']});"
        f" echo {echo['p50']:.1f}/{echo['p95']:.1f}/{echo['p99']:.1f} ms" + _cores(found.get("cpu"))
    )


def _cores(cpu: dict | None) -> str:
    if not cpu:
        return ""
    busy = cpu["cores_busy"]
    return (
        f"; cores busy: app {busy['app processes']:.2f} (kernel"
        f" {busy['app processes, in the kernel']:.2f}), PostgreSQL {busy['PostgreSQL']:.2f},"
        f" bench {busy['bench (load, simulator)']:.2f}"
        f" (machine {100 * cpu['machine_busy_share']:.0f}%)"
    )


PHASES = ["render", "latency", "rates", "ingestion", "capacity", "actions", "queue"]


def current_phases(results: dict) -> dict:
    """`results` without the figures, load and dates of phases this version no longer runs:
    a results.json from an older run may hold some (such as "whatif" and "sustained")."""
    ran = set(results.get("load", {})) | set(results.get("phase_started", {}))
    retired = (ran | {"whatif", "sustained"}) - set(PHASES)
    kept = {k: v for k, v in results.items() if k not in retired}
    for key in ("load", "python_speed", "phase_started"):
        if key in kept:
            kept[key] = {p: v for p, v in kept[key].items() if p in PHASES}
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--only", default=",".join(PHASES), help=f"comma-separated phases ({','.join(PHASES)})"
    )
    parser.add_argument(
        "--out",
        default=None,
        help="directory for REPORT.md, report.png and results.json (default: bench/, or"
        " var/bench-quick/ with --quick so the committed report stays)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other phases' figures from the results.json in --out",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite REPORT.md and report.png from the results.json in --out, without running",
    )
    args = parser.parse_args(argv)
    args.out = args.out or str(ROOT / ("var/bench-quick" if args.quick else "bench"))
    if args.report_only:
        from bench.report import write_report

        out = Path(args.out)
        results = current_phases(json.loads((out / "results.json").read_text()))
        say(f"wrote {', '.join(str(p) for p in write_report(results, out))}")
        return 0
    phases = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        parser.error(f"unknown phase(s): {', '.join(unknown)}")

    pg = postgres_server_url()
    if problem := unreachable(pg, 5432):
        say(f"The benchmark needs PostgreSQL: {problem}. Set DATABASE_URL to a server.")
        return 2
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    if problem := unreachable(redis_url, 6379):
        say(f"No Redis ({problem}): the two-process figures are skipped.")
        redis_url = None

    # Stopped with SIGTERM: still stop the app processes and drop the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    plan = QUICK if args.quick else FULL
    bench = Bench(plan, redis_url=redis_url)
    started = datetime.now(UTC)
    try:
        results = bench.run(phases)
    except ClusterError as exc:
        say(f"The benchmark could not run: {exc}")
        return 1
    finally:
        bench.close()
    results["started"] = started.isoformat(timespec="seconds")
    results["mode"] = "quick" if args.quick else "full"
    results["phase_started"] = {p: results["started"] for p in phases}

    from bench.report import write_report

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.merge and (out / "results.json").exists():
        earlier = current_phases(json.loads((out / "results.json").read_text()))
        load = earlier.get("load", {}) | results.get("load", {})
        speed = earlier.get("python_speed", {}) | results.get("python_speed", {})
        seconds = earlier.get("seconds", 0) + results["seconds"]
        # Each phase keeps the date of the run that measured it; the header names both.
        dates = {p: earlier.get("started", "") for p in PHASES if p in earlier}
        dates |= earlier.get("phase_started", {}) | results["phase_started"]
        results = earlier | {k: v for k, v in results.items() if k in phases}
        results |= {
            "load": load,
            "python_speed": speed,
            "seconds": seconds,
            "phase_started": dates,
        }
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    written = write_report(results, out)
    say(f"\nwrote {', '.join(str(p) for p in written)} in {results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
