"""The report's "Why the missed targets are missed" section, worked out from the run itself.

An app process does about one core's work at most (its GIL), so the CPU it spends per unit
of work bounds its rate: 1,000 / (CPU ms per unit) a second. Each line puts that bound, or
the baseline measured at the same moments, beside the target, and the profile's largest
steps in milliseconds (their share of the samples times the process's CPU outside the
kernel, which is the time py-spy can see). A target met, or a figure the run did not
measure, gets no line.
"""

from __future__ import annotations

from bench.cpu import APP_KERNEL
from bench.speed import effective_cores

APP = "app processes"


def _ms(value: float) -> str:
    return f"{value:,.1f} ms"


def _machine(cpu: dict | None) -> str:
    """ "; through the run the machine was x% busy ..." from the run's CPU meter."""
    if not cpu:
        return ""
    busy = cpu["cores_busy"]
    return (
        f"; through the run the machine was {100 * cpu['machine_busy_share']:.0f}% busy of"
        f" its {cpu['cores']} cores (the app processes {busy.get(APP, 0.0):.2f} cores,"
        f" PostgreSQL {busy.get('PostgreSQL', 0.0):.2f}, the bench's callers and simulator"
        f" {busy.get('bench (load, simulator)', 0.0):.2f})"
    )


def _cores_worth(results: dict, phase: str) -> str:
    """ " (as the phase began, its N cores all busy ran x cores' worth of Python)"."""
    speed = (results.get("python_speed") or {}).get(phase)
    if not speed:
        return ""
    return (
        f" (as the phase began, its {speed['cores']} cores all busy at once ran"
        f" {effective_cores(speed):.1f} cores' worth of Python)"
    )


def _per_second(ms_per_unit: float) -> str:
    return f"{1000.0 / ms_per_unit:,.0f}" if ms_per_unit > 0 else "-"


def _largest_steps(profile: dict | None, *, python_ms: float | None, count: int = 3) -> str:
    """ "; by the profile: <step> ~x ms, ..." for the largest steps other than "other"."""
    if not profile or profile.get("missing") or not profile.get("steps"):
        return ""
    steps = [(name, share) for name, share in profile["steps"] if name != "other" and share >= 1.0][
        :count
    ]
    if python_ms:
        parts = [f"{name} ~{python_ms * share / 100:.1f} ms" for name, share in steps]
    else:
        parts = [f"{name} {share:.0f}%" for name, share in steps]
    return "; by the profile: " + ", ".join(parts)


def _ingestion(results: dict, *, target: float) -> str | None:
    ingestion = results.get("ingestion") or {}
    webhook, bare = ingestion.get("webhook"), ingestion.get("bare")
    if not (webhook and bare and bare.get("per_second")):
        return None
    ratio = webhook["per_second"] / bare["per_second"]
    w = (webhook.get("cpu") or {}).get("ms_per_request")
    b = (bare.get("cpu") or {}).get("ms_per_request")
    if ratio >= target and webhook["lost"] == 0:
        return None
    if not (w and b and w.get(APP) and b.get(APP)):
        return f"**Ingestion** ({ratio:.2f}x): the run has no CPU figures (no /proc)."
    callback, request = w[APP], b[APP]
    return (
        f"**Ingestion** ({ratio:.2f}x the bare view; target {target}x). A callback took"
        f" {_ms(callback)} of the process's CPU ({_ms(w.get(APP_KERNEL, 0.0))} of it in the"
        f" kernel), the bare view's request {_ms(request)}: one process can then serve at"
        f" most {_per_second(callback)} callbacks a second against {_per_second(request)}"
        " requests, a"
        f" ratio of {request / callback:.2f} before anything else. {target}x needs a callback"
        f" in at most {_ms(request / target)} of CPU, all of it: storing, applying under the"
        " lock, rendering and sending the push, the request and the server"
        + _largest_steps(ingestion.get("profile"), python_ms=callback - w.get(APP_KERNEL, 0.0))
        + "."
    )


def _push(results: dict, *, p99_target: float) -> list[str]:
    """Each missed push run: what its rate cost in CPU, against the machine's cores."""
    lines = []
    for run in results.get("latency") or []:
        push, cpu = run["push"], run.get("cpu")
        missed = push["p99"] > p99_target or push.get("not_sent_saturated") or push["lost"]
        if not missed or not cpu or not push.get("rate"):
            continue
        busy = cpu["cores_busy"]
        per_callback = 1000.0 * busy.get(APP, 0.0) / push["rate"]
        per_process = busy.get(APP, 0.0) / run["processes"]
        if per_process >= 0.9:
            bound = "each app process was at its one core (its GIL): it cannot go faster"
        else:
            bound = (
                f"the machine was {100 * cpu['machine_busy_share']:.0f}% busy of its"
                f" {cpu['cores']} cores{_cores_worth(results, 'latency')}: at that load each"
                " callback waits in the CPU's queue"
            )
        lines.append(
            f"**Push at {push.get('offered_rate', push['rate']):.0f} callbacks/s** ({run['layer']},"
            f" {run['processes']} process{'es' if run['processes'] > 1 else ''},"
            f" {run['sockets']:,} desktops; p99 {push['p99']:,.0f} ms). The app processes kept"
            f" {busy.get(APP, 0.0):.2f} cores busy ({_ms(per_callback)} per callback sent, the"
            f" desktops' heartbeats included) and PostgreSQL {busy.get('PostgreSQL', 0.0):.2f};"
            f" {bound}, and the wait grows over the run. The bound is the CPU per callback, as"
            " in ingestion, not the channel layer (the echo beside it)."
        )
    return lines


def _reconnects(results: dict, *, target: float, rate: float | None) -> str | None:
    capacity = results.get("capacity") or {}
    again = capacity.get("reconnect")
    if rate is None or rate >= target or not again or not again.get("cpu_ms_per_connect"):
        return None
    cpu = again["cpu_ms_per_connect"]
    return (
        f"**Desktop (re)connects** ({rate:,.0f}/s first,"
        f" {again.get('connect_per_second', 0.0):,.0f}/s reconnecting; target"
        f" {target:,.0f}/s). A reconnect took"
        f" {_ms(cpu)} of the process's CPU: at most {_per_second(cpu)} a second a process."
        f" {target:,.0f}/s"
        f" needs at most {_ms(1000.0 / target)} each, for the websocket handshake, the"
        " session and the user, and the agent's full state"
        + _largest_steps(capacity.get("profile"), python_ms=None)
        + "."
    )


def _action(results: dict, *, target: float) -> str | None:
    actions = results.get("actions") or {}
    inside, way = actions.get("button_in_django"), actions.get("button_way_there")
    if not actions or actions["overhead_p50_ms"] <= target or not (inside and way):
        return None
    signed_in = actions.get("signed_in_round_trip") or {}
    return (
        f"**Button overhead** ({_ms(actions['overhead_p50_ms'])} p50; target {_ms(target)}):"
        f" the press on its way to Django p50 {_ms(way['p50'])}, in Django to PHLO p50"
        f" {_ms(inside['p50'])}; the smallest signed-in request (the session check) takes"
        f" {_ms(signed_in.get('p50', float('nan')))} for its whole round trip through the same"
        " proxy and process" + _largest_steps(actions.get("profile"), python_ms=None) + "."
    )


def _wallboard(results: dict, *, ms_target: float, kb_target: float) -> str | None:
    render = [r for r in results.get("render") or [] if r["wallboard"]["status"] == 200]
    if not render:
        return None
    largest, smallest = render[-1], render[0]
    board = largest["wallboard"]
    if board["server_ms_p50"] <= ms_target and board["bytes"] / 1024 <= kb_target:
        return None
    steps = ", ".join(
        f"{r['live_calls']:,} calls {r['wallboard']['server_ms_p50']:,.0f} ms"
        f" ({r['wallboard']['bytes'] / 1024:,.0f} KB)"
        for r in render
    )
    return (
        f"**Wallboard render** ({_ms(board['server_ms_p50'])} at {largest['live_calls']:,}"
        f" live calls; target {_ms(ms_target)}). By live calls: {steps}, the same queries at"
        " each. The board lists a capped number of calls, so what grows from the smallest"
        " to the largest is the cards it draws (their size says how many) and the day's"
        " figures; the desktop page beside it took"
        f" {_ms(largest['desktop']['server_ms_p50'])} ({_ms(smallest['desktop']['server_ms_p50'])}"
        f" at {smallest['live_calls']:,}), on the same machine at the same moments."
    )


def _queue(results: dict, *, target: float) -> list[str]:
    queue = results.get("queue") or {}
    lines = []
    for run in (queue, queue.get("two_processes") or {}):
        offer = run.get("offer_from_free_ms") or run.get("offer_ms")
        if not offer or offer["p99"] <= target:
            continue
        bare = run.get("bare_request_ms") or {}
        way = run.get("press_on_the_way_ms") or {}
        inside = run.get("offer_in_django_ms") or {}
        processes = run.get("processes", 1)
        lines.append(
            f"**Queue offer, {processes} process{'es' if processes > 1 else ''}** (p99"
            f" {_ms(offer['p99'])}; target {_ms(target)}). At the same moments the session"
            f" check, a signed-in request that does nothing, took p99"
            f" {_ms(bare.get('p99', float('nan')))}; the press's way into the app p99"
            f" {_ms(way.get('p99', float('nan')))} and the app's own time to the offer p99"
            f" {_ms(inside.get('p99', float('nan')))} (p50"
            f" {_ms(inside.get('p50', float('nan')))}, the session check's"
            f" {_ms(bare.get('p50', float('nan')))}). The press's status change and routing"
            " are about a dozen database round trips (pinned in tests/desktop/test_queues.py),"
            " and on a machine this busy each waits its turn for a core"
            + _machine(run.get("cpu"))
            + _cores_worth(results, "queue")
            + _largest_steps(run.get("profile"), python_ms=None)
            + "."
        )
    return lines


def reasons_section(results: dict, *, targets: dict, reconnect_rate: float | None) -> list[str]:
    lines = [
        *_push(results, p99_target=targets["push_p99_ms"]),
        _ingestion(results, target=targets["ingestion_vs_bare"]),
        _reconnects(results, target=targets["reconnects_per_second"], rate=reconnect_rate),
        _wallboard(results, ms_target=targets["wallboard_ms"], kb_target=targets["wallboard_kb"]),
        _action(results, target=targets["action_overhead_ms"]),
        *_queue(results, target=targets["queue_offer_p99_ms"]),
    ]
    lines = [line for line in lines if line]
    if not lines:
        return []
    return [
        "## Why the missed targets are missed",
        "",
        "Worked out from this run's own figures (`bench/report_reasons.py`): one app process"
        " does about one core's work (its GIL), so its CPU per unit of work bounds its rate;"
        " a profile step's milliseconds are its share of the samples times the process's CPU"
        " outside the kernel. What each change bought is in the notes below.",
        "",
        *(f"- {line}" for line in lines),
        "",
    ]
