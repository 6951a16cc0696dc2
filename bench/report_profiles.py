"""The report's "Where the CPU goes" section: the phases' py-spy profiles side by side."""

from __future__ import annotations


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _samples(profile: dict) -> str:
    failed = profile.get("failed", 0)
    return f"{profile['samples']:,}" + (f" ({failed:,} reads failed)" if failed else "")


def profiled_runs(results: dict) -> list[tuple[str, dict]]:
    """(label, profile) for every phase of `results` that was sampled, in report order."""
    found: list[tuple[str, dict]] = []
    ingestion = results.get("ingestion") or {}
    if "profile" in ingestion:
        found.append(("webhook ingestion", ingestion["profile"]))
    for run in results.get("latency") or []:
        if "profile" in run:
            label = (
                f"push, {run['layer']}, {run['processes']} proc, {run['sockets']:,} desktops,"
                f" {run['push']['rate']:.0f} cb/s sent"
            )
            found.append((label, run["profile"]))
    capacity = results.get("capacity") or {}
    if "profile" in capacity:
        found.append(("desktops connecting", capacity["profile"]))
    actions = results.get("actions") or {}
    if "profile" in actions:
        found.append(("hold/unhold buttons", actions["profile"]))
    queue = results.get("queue") or {}
    for run in (queue, queue.get("two_processes") or {}):
        if "profile" in run:
            processes = run.get("processes", 1)
            found.append((f"queue, {processes} proc (the first)", run["profile"]))
    return found


def profiles_section(results: dict) -> list[str]:
    runs = profiled_runs(results)
    if not runs:
        return []
    out = [
        "## Where the CPU goes",
        "",
        "py-spy sampled one app process during each of these runs, 100 times a second, taking"
        " the thread that held the GIL (`bench/profile.py`): a sample is Python work being"
        " done, so waiting on PostgreSQL or Redis with the GIL released is not in it. Shares"
        " are percent of the samples. How busy the process was is from /proc (1.00 is one"
        " core, about all that one GIL gives): py-spy misses the process's time in the kernel"
        " (sockets, thread wake-ups) and its work with the GIL released, and reads of a"
        " running process that fail, so its count of samples is not that measure.",
        "",
    ]
    missing = [(label, p["missing"]) for label, p in runs if p.get("missing")]
    runs = [(label, p) for label, p in runs if not p.get("missing")]
    out += [f"- No profile of the {label}: {reason}." for label, reason in missing]
    if missing:
        out.append("")
    if not runs:
        return out
    head = "| | " + " | ".join(label for label, _ in runs) + " |"
    rule = "|---" * (len(runs) + 1) + "|"
    out += [
        head,
        rule,
        "| CPU, cores (from /proc) | " + " | ".join(_f(p.get("cpu_cores")) for _, p in runs) + " |",
        "| samples | " + " | ".join(_samples(p) for _, p in runs) + " |",
        "",
        "**By step of the path** (a sample counts once, in the most specific step on its stack)",
        "",
        head,
        rule,
        *_rows(runs, "steps"),
        "",
        "**By kind of work** (the library nearest the top of the stack)",
        "",
        head,
        rule,
        *_rows(runs, "kinds"),
        "",
        "**Our functions** (share of samples that pass through each, callees included)",
        "",
    ]
    for label, p in runs:
        top = ", ".join(f"`{name}` {share:.0f}%" for name, share in p["functions"]) or "-"
        out.append(f"- {label}: {top}")
    out.append("")
    return out


def _rows(runs: list[tuple[str, dict]], key: str) -> list[str]:
    shares = [dict(p[key]) for _, p in runs]
    names: list[str] = []
    for one in shares:
        names += [n for n in one if n not in names]
    # Largest first, by the largest share any run gives it.
    names.sort(key=lambda n: -max(s.get(n, 0.0) for s in shares))
    return [
        f"| {name} | " + " | ".join(_share(s.get(name)) for s in shares) + " |" for name in names
    ]


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
