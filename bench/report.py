"""Write REPORT.md (figures, baselines beside them, targets and verdicts) and report.png.

The chart needs matplotlib (`pip install -e '.[bench]'`); without it the report is still
written and says how to get the chart.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

from bench.cpu import APP_KERNEL
from bench.report_profiles import profiles_section
from bench.report_reasons import reasons_section
from bench.speed import effective_cores

TARGETS = {
    "push_p99_ms": 50.0,
    "push_vs_echo": 1.5,
    "ingestion_vs_bare": 0.5,
    "idle_sockets": 2000,
    "kb_per_socket": 30.0,
    "action_overhead_ms": 5.0,
    "queue_offer_p99_ms": 100.0,
    "reconnects_per_second": 200.0,
    "wallboard_ms": 300.0,
    "wallboard_kb": 1024.0,
}

# Whose CPU the bench's meter reads (bench/cpu.py), in the order the report shows them.
_PARTS = ("app processes", APP_KERNEL, "PostgreSQL", "Redis", "bench (load, simulator)", "other")


def _f(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def _verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "**missed**")


def _cpu_section(*, webhook: dict | None, bare: dict | None) -> list[str]:
    """Whose CPU each request of the ingestion phase used (bench/cpu.py)."""
    if not all(run and "ms_per_request" in run for run in (webhook, bare)):
        return []  # not measured (no /proc), or nothing was served
    parts = [part for part in _PARTS if part in webhook["ms_per_request"]]
    rows = [
        f"| {part} | {_f(webhook['ms_per_request'][part], 2)}"
        f" | {_f(webhook['cores_busy'][part], 2)} | {_f(bare['ms_per_request'][part], 2)}"
        f" | {_f(bare['cores_busy'][part], 2)} |"
        for part in parts
    ]
    return [
        "CPU per request, by whose it was (from /proc: the app process, every PostgreSQL and"
        " Redis process, the bench process with its load generator and simulator, and the"
        " rest of the machine's busy time), and the cores each kept busy on average. The"
        f" machine has {webhook['cores']} cores; it was"
        f" {_f(100 * webhook['machine_busy_share'], 0)}% busy during the webhook's run and"
        f" {_f(100 * bare['machine_busy_share'], 0)}% during the bare view's.",
        "",
        "| part | webhook: CPU ms per callback | cores busy | bare view: CPU ms per request"
        " | cores busy |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ]


def verdicts(results: dict) -> list[tuple[str, str, str, bool | None]]:
    """(target, measured, baseline, met?) for the summary table."""
    rows: list[tuple[str, str, str, bool | None]] = []
    latency = results.get("latency") or []
    for run in latency:
        if run["sockets"] != max(r["sockets"] for r in latency):
            continue
        push, echo = run["push"], run["echo"]
        ratio = push["p99"] / echo["p99"] if echo["p99"] else math.nan
        rows.append(
            (
                f"push p99 ≤ {TARGETS['push_p99_ms']:.0f} ms and ≤ {TARGETS['push_vs_echo']}x"
                f" echo ({run['layer']}, {run['processes']} proc, {run['sockets']} sockets,"
                f" {push.get('offered_rate', push['rate']):.0f} cb/s offered)",
                f"p99 {_f(push['p99'])} ms ({_f(ratio, 2)}x echo), lost {push['lost']}"
                + (
                    f", {push['not_sent_saturated']} not sent (saturated)"
                    if push.get("not_sent_saturated")
                    else ""
                ),
                f"echo p99 {_f(echo['p99'])} ms",
                push["p99"] <= TARGETS["push_p99_ms"]
                and ratio <= TARGETS["push_vs_echo"]
                and push["lost"] == 0
                and push["errors"] == 0
                and not push.get("not_sent_saturated"),
            )
        )
    ingestion = results.get("ingestion")
    if ingestion:
        w, b = ingestion["webhook"], ingestion["bare"]
        ratio = w["per_second"] / b["per_second"] if b["per_second"] else math.nan
        rows.append(
            (
                f"ingestion ≥ {TARGETS['ingestion_vs_bare']}x bare view, 0 lost",
                f"{_f(w['per_second'], 0)}/s ({_f(ratio, 2)}x), lost {w['lost']}",
                f"bare view {_f(b['per_second'], 0)}/s",
                ratio >= TARGETS["ingestion_vs_bare"] and w["lost"] == 0 and w["errors"] == 0,
            )
        )
    capacity = results.get("capacity")
    if capacity:
        rows.append(
            (
                f"≥ {TARGETS['idle_sockets']:,} idle sockets per process at"
                f" ≤ {TARGETS['kb_per_socket']:.0f} KB each",
                f"{capacity['held']:,} held, {_f(capacity['kb_per_socket'])} KB each",
                "-",
                capacity["held"] >= TARGETS["idle_sockets"]
                and capacity["kb_per_socket"] <= TARGETS["kb_per_socket"],
            )
        )
        rate = reconnect_rate(capacity)
        if rate is not None:
            rows.append(
                (
                    f"≥ {TARGETS['reconnects_per_second']:.0f} desktop (re)connects a second"
                    " per process, each sent its full state",
                    f"{_f(rate, 0)}/s over {capacity['held'] - capacity['points'][0]['sockets']:,}"
                    f" desktops{_cpu_per_connect(capacity)}{_reconnected(capacity)}",
                    "-",
                    rate >= TARGETS["reconnects_per_second"],
                )
            )
    render = results.get("render") or []
    if render:
        for page in ("desktop", "wallboard"):
            counts = [tuple(r[page]["queries"]) for r in render if r[page]["status"] == 200]
            measured = ", ".join(
                f"{r['live_calls']:,}: {'/'.join(map(str, r[page]['queries'])) or '-'}"
                for r in render
            )
            ok = len(set(counts)) == 1 and len(counts) == len(render) if counts else None
            rows.append(
                (
                    f"{page} query count constant from {render[0]['live_calls']:,} to"
                    f" {render[-1]['live_calls']:,} live calls",
                    measured,
                    "-",
                    ok,
                )
            )
        largest = render[-1]
        board = largest["wallboard"]
        rows.append(
            (
                f"wallboard full render ≤ {TARGETS['wallboard_ms']:.0f} ms and"
                f" ≤ {TARGETS['wallboard_kb'] / 1024:.0f} MB at {largest['live_calls']:,}"
                " live calls",
                f"{_f(board['server_ms_p50'])} ms, {_f(board['bytes'] / 1024)} KB",
                f"desktop {_f(largest['desktop']['server_ms_p50'])} ms",
                board["status"] == 200
                and board["server_ms_p50"] <= TARGETS["wallboard_ms"]
                and board["bytes"] / 1024 <= TARGETS["wallboard_kb"],
            )
        )
    actions = results.get("actions")
    if actions:
        rows.append(
            (
                f"action overhead ≤ {TARGETS['action_overhead_ms']:.0f} ms p50",
                f"{_f(actions['overhead_p50_ms'])} ms"
                f" (button → PHLO p50 {_f(actions['button_to_phlo']['p50'])} ms)",
                f"raw requests.post p50 {_f(actions['raw_to_phlo']['p50'])} ms",
                actions["overhead_p50_ms"] <= TARGETS["action_overhead_ms"]
                and actions["errors"] == 0,
            )
        )
    for queue in _queue_runs(results):
        rows += _queue_verdicts(queue)
    return rows


def _action_split(actions: dict) -> list[str]:
    """Where a button's time goes: on the way to Django, then in it; and what the smallest
    signed-in request costs through the same proxy and process (runs before this split was
    measured have none of it)."""
    way, inside = actions.get("button_way_there"), actions.get("button_in_django")
    signed_in = actions.get("signed_in_round_trip")
    if not (way and inside and signed_in and way.get("n")):
        return []
    rows = [
        ("the button on its way to Django (client, proxy, daphne, the hop into a thread)", way),
        ("the button in Django to PHLO (middleware, view, service)", inside),
        ("baseline: the session check (204) through the same session, full round trip",
         signed_in),
    ]  # fmt: skip
    return [
        "| of the button's time | n | p50 | p95 | p99 |",
        "|---|---|---|---|---|",
        *(
            f"| {label} | {s['n']} | {_f(s['p50'])} | {_f(s['p95'])} | {_f(s['p99'])} |"
            for label, s in rows
        ),
        "",
    ]


def _queue_runs(results: dict) -> list[dict]:
    """The queue phase's runs: one process, then two (when measured)."""
    queue = results.get("queue")
    if not queue:
        return []
    two = queue.get("two_processes")
    return [queue, two] if two else [queue]


def _carried(run: dict) -> bool:
    """Within the push target, with nothing lost, failed or refused for saturation."""
    p = run["push"]
    return (
        p["p99"] <= TARGETS["push_p99_ms"]
        and p["lost"] == 0
        and p["errors"] == 0
        and not p.get("not_sent_saturated")
    )


def _rates_section(rates: list[dict]) -> list[str]:
    if not rates:
        return []
    first = rates[0]
    out = [
        "## Push latency by offered rate",
        "",
        f"The same measure at a ladder of rates: {first['processes']} processes on the"
        f" {first['layer']} channel layer, {first['sockets']:,} desktops open, production"
        " settings, each rate beside the echo baseline at that rate.",
        "",
        "| rate offered | sent/s | push p50 | p95 | p99 | lost | not sent (saturated)"
        " | echo p50 | echo p99 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rates:
        p, e = r["push"], r["echo"]
        lost = f"{p['lost']}" + (f" (+{p['errors']} errors)" if p["errors"] else "")
        out.append(
            f"| {_f(r['rate'], 0)} | {_f(p['rate'], 1)} | {_f(p['p50'])} | {_f(p['p95'])}"
            f" | {_f(p['p99'])} | {lost} | {p.get('not_sent_saturated', 0)}"
            f" | {_f(e['p50'])} | {_f(e['p99'])} |"
        )
    carried = [r for r in rates if _carried(r)]
    rule = f"push p99 ≤ {TARGETS['push_p99_ms']:.0f} ms with nothing lost, failed or not sent"
    if carried:
        best = max(carried, key=lambda r: r["rate"])
        verdict = (
            f"The highest offered rate with {rule}: **{_f(best['rate'], 0)} callbacks/s**"
            f" (p99 {_f(best['push']['p99'])} ms)."
        )
    else:
        verdict = f"None of the offered rates had {rule}."
    return [
        *out,
        "",
        "All times in milliseconds. " + verdict,
        *_heartbeat_note(rates),
        "",
        *_push_cpu_table(rates, label=lambda r: f"{_f(r['rate'], 0)} cb/s"),
    ]


def _push_cpu_table(runs: list[dict], *, label, what: str = "push run") -> list[str]:
    """The cores each part kept busy during each `what` (bench/cpu.py), when measured."""
    measured = [r for r in runs if r.get("cpu")]
    if not measured:
        return []
    cores = measured[0]["cpu"]["cores"]
    out = [
        f"CPU during each {what}, in cores busy on average (from /proc; the machine has"
        f" {cores}): one app process can use at most about one core, its GIL's; the bench"
        " process drives every desktop and callback and runs the simulator.",
        "",
        "| run | " + " | ".join(_PARTS) + " | machine busy |",
        "|---" * (len(_PARTS) + 2) + "|",
    ]
    for r in measured:
        busy = r["cpu"]["cores_busy"]
        out.append(
            f"| {label(r)} | "
            + " | ".join(_f(busy.get(part), 2) for part in _PARTS)
            + f" | {_f(100 * r['cpu']['machine_busy_share'], 0)}% |"
        )
    return [*out, ""]


def markdown(results: dict, *, chart: str | None, notes: str = "") -> str:
    m = results["machine"]
    out = [
        "# Benchmark report",
        "",
        f"Run {results.get('started', '')} ({results.get('mode', 'full')} mode,"
        f" {results.get('seconds', 0):.0f} s) on {m['cpus']} x {m['cpu_model'] or 'CPU'},"
        f" {m['memory']} RAM, Python {m['python']}. Load generator, app processes,"
        " PostgreSQL and Redis all share this machine, so every figure sits beside a"
        " baseline measured in the same run. Regenerate with `.venv/bin/python -m bench`.",
        "",
    ]
    dates = results.get("phase_started") or {}
    if len(set(dates.values())) > 1:
        # A merged report (--merge): say which phases were measured when.
        by_date: dict[str, list[str]] = {}
        for phase, date in dates.items():
            by_date.setdefault(date, []).append(phase)
        out += [
            "Merged from several runs (`--merge`); phases by the run that measured them: "
            + "; ".join(f"{date}: {', '.join(ps)}" for date, ps in sorted(by_date.items()))
            + ". Figures from different runs were taken on different code and machine load:"
            " compare each with the baseline beside it, not with the other runs' figures.",
            "",
        ]
    load = results.get("load")
    if load:
        out += [
            "Load average (1 min) at the start and end of each phase, a measure of how busy"
            " the shared machine was: "
            + "; ".join(f"{phase} {a:.1f} → {b:.1f}" for phase, (a, b) in load.items())
            + ".",
            "",
        ]
    speed = results.get("python_speed")
    if speed:
        out += [
            "How fast the machine ran Python as each phase began: milliseconds for a million"
            " additions in a loop on one core while the others idle, then on every core at"
            " once, and so how many cores' worth it had (lower milliseconds are faster;"
            " machines of one kind differ and one machine drifts with its neighbours' load,"
            " so compare runs through these and the baselines): "
            + "; ".join(
                f"{phase} {s['alone']:.0f} / {s['together']:.0f} ms"
                f" ({effective_cores(s):.1f} of {s['cores']})"
                for phase, s in speed.items()
            )
            + ".",
            "",
        ]
    if chart:
        out += [f"![Benchmark chart]({chart})", ""]
    out += [
        "## Targets",
        "",
        "| target | measured | baseline | verdict |",
        "|---|---|---|---|",
    ]
    out += [f"| {t} | {m_} | {b} | {_verdict(ok)} |" for t, m_, b, ok in verdicts(results)]
    out.append("")
    capacity = results.get("capacity")
    out += reasons_section(
        results,
        targets=TARGETS,
        reconnect_rate=reconnect_rate(capacity) if capacity else None,
    )

    latency = results.get("latency")
    if latency:
        out += [
            "## Callback → browser latency",
            "",
            "Production settings as shipped. Open loop at the given rate; each callback's"
            " clock starts when it is due. Push: signed `ParticipantHold`/`Unhold` → webhook"
            " (verify, store, apply, answer) → the process renders the push after the"
            " response → channel layer → the agent's desktop socket receives the call"
            " fragment with the new state. Echo: a bare view does one `group_send` of a"
            " message of the same size to a one-socket group, through the same servers and"
            " layer.",
            "",
            "| layer | processes | sockets | sent/s | push p50 | p95 | p99 | max"
            " | echo p50 | p95 | p99 | lost | errors | not sent (saturated) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in latency:
            p, e = r["push"], r["echo"]
            out.append(
                f"| {r['layer']} | {r['processes']} | {r['sockets']:,} | {_f(p['rate'], 0)}"
                f" | {_f(p['p50'])} | {_f(p['p95'])} | {_f(p['p99'])} | {_f(p['max'])}"
                f" | {_f(e['p50'])} | {_f(e['p95'])} | {_f(e['p99'])}"
                f" | {p['lost']} | {p['errors']} | {p.get('not_sent_saturated', 0)} |"
            )
        out += [
            "",
            "All times in milliseconds. Sent/s below the offered rate means the servers were"
            f" saturated: at most {16} callbacks may be in flight per process, and the rest"
            " were counted as not sent rather than queued without bound.",
            *_heartbeat_note(latency),
            "",
            *_push_cpu_table(
                latency,
                label=lambda r: f"{r['layer']}, {r['processes']} proc, {r['sockets']:,}",
            ),
        ]

    out += _rates_section(results.get("rates") or [])

    ingestion = results.get("ingestion")
    if ingestion:
        w, b = ingestion["webhook"], ingestion["bare"]
        out += [
            "## Webhook ingestion",
            "",
            f"One process ({ingestion['layer']} channel layer), {ingestion['concurrency']}"
            f" clients in a closed loop, {ingestion['desktops_open']} agents' desktops open"
            " (each pinging every 4 s, as the page does)."
            " Every callback is a real state change that is stored, applied, rendered and"
            " pushed. Lost = answered 200 but not applied in the database.",
            "",
            "| endpoint | seconds | requests/s | p50 ms | p99 ms | ok | errors | lost |",
            "|---|---|---|---|---|---|---|---|",
            f"| `POST /webhooks/plivo/` (signed) | {_f(w['seconds'], 0)}"
            f" | {_f(w['per_second'], 0)} | {_f(w['latency']['p50'])}"
            f" | {_f(w['latency']['p99'])} | {w['ok']:,} | {w['errors']} | {w['lost']} |",
            f"| bare Django view (baseline) | {_f(b['seconds'], 0)} | {_f(b['per_second'], 0)}"
            f" | {_f(b['latency']['p50'])} | {_f(b['latency']['p99'])} | {b['ok']:,}"
            f" | {b['errors']} | - |",
            "",
        ]
        out += _cpu_section(webhook=w.get("cpu"), bare=b.get("cpu"))

    capacity = results.get("capacity")
    if capacity:
        out += [
            "## Idle websocket capacity",
            "",
            f"One process ({capacity['layer']} channel layer); each socket is a different"
            " agent's logged-in desktop that received its full state.",
            "",
            "| sockets held | process RSS (MB) | connects/s in this step"
            " | process CPU per connect (ms) |",
            "|---|---|---|---|",
        ]
        for point in capacity["points"]:
            out.append(
                f"| {point['sockets']:,} | {_f(point['rss_kb'] / 1024)}"
                f" | {_f(point.get('connect_per_second'), 0)}"
                f" | {_f(point.get('cpu_ms_per_connect'))} |"
            )
        hb = capacity["heartbeat_ms"]
        out += [
            "",
            f"Memory per connection: **{_f(capacity['kb_per_socket'])} KB**. With all"
            f" sockets held, heartbeat round trip p50 {_f(hb['p50'])} ms, p99 {_f(hb['p99'])}"
            " ms.",
            "",
        ]
        again = capacity.get("reconnect")
        if again:
            out += [
                f"Reconnects: {again['desktops']:,} of those desktops closed and opened again"
                " (each again signed in and sent its full state), as after a restart or a"
                f" network blip: **{_f(again['connect_per_second'], 0)}/s**, at"
                f" {_f(again['cpu_ms_per_connect'])} ms of the process's CPU each. The steps"
                " above open desktops this process and its caches had never seen.",
                "",
            ]

    render = results.get("render")
    if render:
        out += [
            "## Cost growth with live calls",
            "",
            "Time in Django (server side, median of 15) and database queries per page."
            " Desktop: one agent's page with their own call among N. Wallboard: the"
            " supervisor's page with every call. Full state: what a desktop reconnect costs,"
            " timed from the client.",
            "",
            "| live calls | desktop ms | desktop queries | wallboard ms | wallboard queries"
            " | wallboard KB | desktop full state ms |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in render:
            d, w = r["desktop"], r["wallboard"]
            wall_ms = _f(w["server_ms_p50"]) if w["status"] == 200 else f"HTTP {w['status']}"
            out.append(
                f"| {r['live_calls']:,} | {_f(d['server_ms_p50'])}"
                f" | {'/'.join(map(str, d['queries']))} | {wall_ms}"
                f" | {'/'.join(map(str, w['queries'])) or '-'} | {_f(w['bytes'] / 1024)}"
                f" | {_f(r['desktop_full_state_ms_p50'])} |"
            )
        out.append("")

    actions = results.get("actions")
    if actions:
        a, r = actions["button_to_phlo"], actions["raw_to_phlo"]
        ba, rr = actions["button_round_trip"], actions["raw_round_trip"]
        out += [
            "## Action overhead",
            "",
            f"{actions['count']} hold/unhold button POSTs (htmx, through one process) against"
            " the same number of raw `requests.post` calls to the simulator's member endpoint."
            " Measured to the moment the PHLO request reaches the simulator.",
            "",
            "| path | to PHLO p50 | p95 | p99 | full round trip p50 |",
            "|---|---|---|---|---|",
            f"| button POST | {_f(a['p50'])} | {_f(a['p95'])} | {_f(a['p99'])} | {_f(ba['p50'])} |",
            f"| raw `requests.post` | {_f(r['p50'])} | {_f(r['p95'])} | {_f(r['p99'])}"
            f" | {_f(rr['p50'])} |",
            "",
            f"Overhead at p50: **{_f(actions['overhead_p50_ms'])} ms**.",
            "",
        ]
        out += _action_split(actions)
    runs = _queue_runs(results)
    if runs:
        first = runs[0]
        out += [
            "## Inbound queue",
            "",
            f"{first['callers']} callers call one queue's number evenly over"
            f" {first['arrived_in_s']:.1f} s while {first['agents']} agents of the queue, each"
            " from their own logged-in session, press Available (then End wrap-up after each"
            " call); their phones answer, they talk 0.3 s and hang up. Production settings,"
            " on one process, then (with Redis) on two behind the proxy, each run with a queue,"
            " agents and callers of its own, on a database with a day behind it"
            f" ({results.get('plan', {}).get('queue_history', 0):,} ended calls, analyzed, as"
            " autovacuum keeps production's statistics; the burst is newer than them)."
            " Offer: to the PHLO `call` that rings the agent"
            " reaching the simulator, from the press, or from the moment the caller began to"
            " wait when that came later (an agent free while the caller's leg still connects"
            " is offered them once it has: that time is the caller's). It is split where the"
            " app recorded the offer's action (before sending it), and where the press reached"
            " Django (a header the bench adds): the press's way there (proxy, server, the hop"
            " into a thread), then the app's own time. Wait: the caller's, from the database"
            " (arrival to an agent answering).",
            "",
        ]
        for queue in runs:
            w, o = queue["wait_ms"], queue["offer_ms"]
            processes = queue.get("processes", 1)
            out += [
                f"**{processes} process{'es' if processes > 1 else ''}**",
                "",
                "| | n | p50 | p95 | p99 | max |",
                "|---|---|---|---|---|---|",
                f"| offer after the press, as sent (ms) | {o['n']} | {_f(o['p50'])}"
                f" | {_f(o['p95'])}"
                f" | {_f(o['p99'])} | {_f(o['max'])} |",
                *_offer_split_rows(queue),
                f"| caller's wait (ms) | {w['n']} | {_f(w['p50'], 0)} | {_f(w['p95'], 0)}"
                f" | {_f(w['p99'], 0)} | {_f(w['max'], 0)} |",
                "",
                f"Answered {queue['answered']} of {queue['callers']}; the queue drained"
                f" {queue['drained_in_s']:.1f} s after the first caller; calls per agent p50"
                f" {_f(queue['calls_per_agent']['p50'], 0)}, max"
                f" {_f(queue['calls_per_agent']['max'], 0)}; errors {queue['error_count']}"
                + (f" ({'; '.join(queue['errors'])})" if queue["errors"] else "")
                + ".",
                "",
            ]
        out += _push_cpu_table(
            runs,
            label=lambda r: f"{r.get('processes', 1)} proc",
            what="queue run (the whole drain)",
        )
    out += profiles_section(results)
    if notes:
        out += [notes.strip(), ""]
    return "\n".join(out)


def chart(results: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    fig.suptitle("Contact center live path on this machine (baselines in grey)", fontsize=13)

    ax = axes[0][0]
    # The 100 callbacks/s runs, then the rate ladder: where the processes keep up.
    offered = (results.get("plan") or {}).get("rate") or 0
    latency = [
        *(r | {"rate": offered} for r in results.get("latency") or []),
        *(results.get("rates") or []),
    ]
    labels = [
        f"{r['layer']}\n{r['processes']}p/{r['sockets']}s\n{r['rate']:.0f}/s" for r in latency
    ]
    xs = range(len(latency))
    for offset, key in ((-0.3, "p50"), (-0.1, "p95"), (0.1, "p99")):
        ax.bar(
            [x + offset for x in xs],
            [r["push"][key] for r in latency],
            width=0.18,
            label=f"push {key}",
        )
    ax.bar(
        [x + 0.3 for x in xs],
        [r["echo"]["p99"] for r in latency],
        width=0.18,
        color="grey",
        label="echo p99",
    )
    ax.axhline(TARGETS["push_p99_ms"], color="red", linestyle="--", linewidth=1, label="target")
    ax.set_xticks(list(xs), labels, fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("ms (log)")
    ax.set_title("Callback → browser latency")
    ax.legend(fontsize=7)

    ax = axes[0][1]
    ingestion = results.get("ingestion")
    if ingestion:
        values = [ingestion["webhook"]["per_second"], ingestion["bare"]["per_second"]]
        ax.bar(["signed webhook", "bare view"], values, color=["tab:blue", "grey"])
        ax.axhline(
            ingestion["bare"]["per_second"] * TARGETS["ingestion_vs_bare"],
            color="red",
            linestyle="--",
            linewidth=1,
            label="target (0.5x bare)",
        )
        for i, v in enumerate(values):
            ax.text(i, v, f"{v:.0f}/s", ha="center", va="bottom", fontsize=9)
        ax.legend(fontsize=7)
    ax.set_title("Ingestion, one process (requests/s)")

    ax = axes[0][2]
    capacity = results.get("capacity")
    if capacity:
        points = capacity["points"]
        ax.plot([p["sockets"] for p in points], [p["rss_kb"] / 1024 for p in points], marker="o")
        ax.set_xlabel("idle desktop sockets")
        ax.set_ylabel("process RSS (MB)")
        ax.set_title(f"Capacity: {capacity['kb_per_socket']:.1f} KB per socket")

    render = results.get("render") or []
    calls = [r["live_calls"] for r in render]
    ax = axes[1][0]
    if render:
        ax.plot(calls, [r["desktop"]["server_ms_p50"] for r in render], marker="o", label="desktop")
        wall = [
            r["wallboard"]["server_ms_p50"] if r["wallboard"]["status"] == 200 else math.nan
            for r in render
        ]
        ax.plot(calls, wall, marker="s", label="wallboard")
        ax.plot(
            calls,
            [r["desktop_full_state_ms_p50"] for r in render],
            marker="^",
            label="desktop full state (ws)",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("live calls")
        ax.set_ylabel("ms (median)")
        ax.legend(fontsize=7)
    ax.set_title("Render time")

    ax = axes[1][1]
    if render:
        for page, marker in (("desktop", "o"), ("wallboard", "s")):
            ax.plot(
                calls,
                [max(r[page]["queries"] or [math.nan]) for r in render],
                marker=marker,
                label=page,
            )
        ax.set_xscale("log")
        ax.set_xlabel("live calls")
        tallest = max(max(r[p]["queries"] or [0]) for r in render for p in ("desktop", "wallboard"))
        ax.set_ylim(0, tallest + 3)
        ax.legend(fontsize=7)
    ax.set_title("Queries per page")

    ax = axes[1][2]
    actions = results.get("actions")
    if actions:
        keys = ["p50", "p95", "p99"]
        xs = range(len(keys))
        ax.bar(
            [x - 0.2 for x in xs],
            [actions["button_to_phlo"][k] for k in keys],
            width=0.4,
            label="button POST → PHLO",
        )
        ax.bar(
            [x + 0.2 for x in xs],
            [actions["raw_to_phlo"][k] for k in keys],
            width=0.4,
            color="grey",
            label="raw requests.post",
        )
        ax.set_xticks(list(xs), keys)
        ax.set_ylabel("ms")
        ax.legend(fontsize=7)
    ax.set_title("Action → PHLO request")

    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def write_report(results: dict, out: Path) -> list[Path]:
    png = out / "report.png"
    drawn = chart(results, png)
    notes_file = out / "NOTES.md"
    notes = notes_file.read_text() if notes_file.exists() else ""
    if not drawn:
        notes = (
            "_No chart: install the bench extra (`pip install -e '.[bench]'`) for"
            " matplotlib._\n\n" + notes
        )
    report = out / "REPORT.md"
    report.write_text(markdown(results, chart="report.png" if drawn else None, notes=notes))
    return [report, png] if drawn else [report]


def _offer_split_rows(queue: dict) -> list[str]:
    rows = []
    for key, label in (
        (
            "offer_from_free_ms",
            "offer after the press or the caller's wait began, the later (ms)",
        ),
        ("offer_in_app_ms", "of which: to the offer recorded (ms)"),
        ("offer_to_phlo_ms", "of which: recorded to the simulator (ms)"),
        ("press_on_the_way_ms", "the press on its way to the app (proxy, server) (ms)"),
        (
            "offer_in_django_ms",
            "the app's own time: from the press reaching it (or the wait, the later) to the"
            " simulator (ms)",
        ),
        ("bare_request_ms", "baseline: the session check just before the press (ms)"),
    ):
        part = queue.get(key)
        if part and part.get("n"):
            rows.append(
                f"| {label} | {part['n']} | {_f(part['p50'])} | {_f(part['p95'])}"
                f" | {_f(part['p99'])} | {_f(part['max'])} |"
            )
    return rows


def _bare_baseline(queue: dict) -> str:
    bare = queue.get("bare_request_ms")
    if not bare or not bare.get("n"):
        return "-"
    return f"session check p99 {_f(bare['p99'])} ms (p50 {_f(bare['p50'])})"


def _heartbeat_note(runs: list[dict]) -> list[str]:
    pings = sum(r["push"].get("pings", 0) for r in runs)
    if not pings:
        return []  # a run from before the desktops pinged
    pongs = sum(r["push"].get("pongs", 0) for r in runs)
    return [
        f"Every desktop pinged every 4 s, as the page does: {pings:,} pings, {pongs:,}"
        " answered before the sockets closed."
    ]


def _queue_verdicts(queue: dict) -> list[tuple[str, str, str, bool | None]]:
    processes = queue.get("processes", 1)
    runs = f"{processes} process{'es' if processes > 1 else ''}"
    whole = queue["answered"] == queue["callers"] and queue["error_count"] == 0
    target = TARGETS["queue_offer_p99_ms"]
    # Results from before the offers were started at the caller's wait have the press only.
    offer = queue.get("offer_from_free_ms") or queue["offer_ms"]
    late = queue.get("offers_before_the_caller_waited")
    rows = [
        (
            f"queue offer ≤ {target:.0f} ms p99 after an agent becomes available"
            + (" (or the caller begins to wait, the later)" if late is not None else "")
            + f" ({queue['callers']} callers in {queue['arrived_in_s']:.0f} s,"
            f" {queue['agents']} agents, {runs}), every caller answered",
            f"p99 {_f(offer['p99'])} ms (p50 {_f(offer['p50'])}, {offer['n']} offers"
            + (f", {late} of them before the caller waited" if late else "")
            + f"); {queue['answered']} of {queue['callers']} answered",
            _bare_baseline(queue),
            offer["p99"] <= target and whole,
        )
    ]
    in_app = queue.get("offer_in_django_ms")
    if in_app and in_app.get("n"):
        # The same offers from the moment the press reached the app: the app's own time,
        # without the press's way through the proxy and the server on a loaded machine.
        on_the_way = queue["press_on_the_way_ms"]
        rows.append(
            (
                f"the same, from the press reaching the app ({runs})",
                f"p99 {_f(in_app['p99'])} ms (p50 {_f(in_app['p50'])}, {in_app['n']} offers)",
                f"the press on its way to the app: p99 {_f(on_the_way['p99'])} ms"
                f" (p50 {_f(on_the_way['p50'])})",
                in_app["p99"] <= target and whole,
            )
        )
    return rows


def _cpu_per_connect(capacity: dict) -> str:
    """ ", the process's CPU per connect" over the timed steps ("" from an older run)."""
    points = capacity["points"]
    steps = [
        (later["sockets"] - earlier["sockets"], later.get("cpu_ms_per_connect"))
        for earlier, later in itertools.pairwise(points)
    ]
    if not steps or any(cpu is None for _, cpu in steps):
        return ""
    added = sum(n for n, _ in steps)
    return f", {_f(sum(n * cpu for n, cpu in steps) / added)} ms of its CPU each"


def _reconnected(capacity: dict) -> str:
    """ "; the same desktops reconnecting ..." when the run timed it ("" from an older run)."""
    again = capacity.get("reconnect")
    if not again:
        return ""
    return (
        f"; the same desktops reconnecting: {_f(again['connect_per_second'], 0)}/s,"
        f" {_f(again['cpu_ms_per_connect'])} ms each"
    )


def reconnect_rate(capacity: dict) -> float | None:
    """Desktops connected per second over the capacity phase's steps (each one handshaken,
    signed in and sent its full state), or None without a timed step."""
    steps = [
        (later["sockets"] - earlier["sockets"], later.get("connect_per_second") or 0.0)
        for earlier, later in zip(capacity["points"], capacity["points"][1:], strict=False)
    ]
    timed = [(added, rate) for added, rate in steps if added > 0 and rate > 0]
    if not timed:
        return None
    return sum(added for added, _ in timed) / sum(added / rate for added, rate in timed)
