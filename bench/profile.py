"""Where an app process spends its CPU during a phase: py-spy samples it from outside, and
the samples are summed by step of our path and by kind of work.

py-spy samples the thread that holds the GIL (`--gil`), 100 times a second, without pausing
the process (`--nonblocking`): a sample is Python work being done, so the shares say where
the process's CPU goes, not where its threads wait. The share of ticks with a sample
understates how busy the process was (its time in the kernel has no sample, nor a tick
whose read failed: py-spy counts those as errors): how much CPU it used comes from /proc.
Without py-spy (the bench extra), or where the kernel refuses to let it read another
process (ptrace), the report says so and the phase runs as before.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness.cluster import process_cpu_seconds

RATE = 100  # samples per second

# Each sample is counted once, in the first step whose marker is in its stack; the order
# goes from the most specific to the least.
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("callback: stored", ("callback_store (calls/",)),
    ("callback: applied under the call's lock", ("_apply (calls/services/callbacks.py",)),
    ("callback: signature and parsing", ("calls/webhooks/",)),
    ("queue: routing and offers", ("agents/services/routing.py", "calls/services/offers.py")),
    ("button: view and service", ("agents/views/", "calls/services/")),
    ("push: rendered for the desktops", ("agents/pushes.py",)),
    ("push: rendered for the wallboard", ("calls/wallboard/pushes.py",)),
    ("push: sent to the channel layer", ("send_messages (calls/", "group_send (")),
    # Not `bind_to_server` (calls/publisher.py): it wraps the whole ASGI application.
    ("push: other", ("(calls/publishing.py", "Publisher.", "send_messages (calls/")),
    (
        "websockets: consumers and heartbeats",
        ("channels/", "agents/consumers.py", "calls/wallboard/consumers.py"),
    ),
    ("request: Django's handler and middleware", ("django/core/handlers/",)),
    ("server: daphne, Twisted, asyncio, thread hops", ("daphne", "twisted", "asyncio", "asgiref")),
)

# What the work is: the frame nearest the leaf that belongs to one of these.
KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("PostgreSQL driver (psycopg)", ("psycopg/",)),
    ("ORM: building SQL, rows into models", ("django/db/",)),
    ("templates", ("django/template/", "django/utils/formats.py", "django/utils/html.py")),
    ("Redis client and channel layer", ("redis/", "channels_redis/")),
    ("server: daphne, Twisted, autobahn", ("daphne/", "twisted/", "autobahn/")),
    ("asyncio, asgiref and threads", ("asyncio/", "asgiref/", "threading.py", "concurrent/")),
    ("our code itself", ("(agents/", "(calls/", "(contactcenter/")),
    ("Django, other", ("django/",)),
)

OUR_CODE = ("(agents/", "(calls/", "(contactcenter/")


@dataclass
class Profile:
    """A phase's profile: shares in percent of the samples, largest first."""

    samples: int = 0
    seconds: float = 0.0
    steps: list[tuple[str, float]] = field(default_factory=list)
    kinds: list[tuple[str, float]] = field(default_factory=list)
    # Our functions by the share of samples that pass through them (a caller includes its
    # callees), the innermost few that matter.
    functions: list[tuple[str, float]] = field(default_factory=list)
    missing: str = ""  # why there is no profile
    failed: int = 0  # ticks whose read of the process failed (py-spy's "errors")
    cpu_cores: float | None = None  # the process's CPU over the run, from /proc

    @property
    def busy(self) -> float:
        """Percent of the ticks with a sample (a lower bound of how busy the process was:
        see `failed`)."""
        ticks = self.seconds * RATE
        return 100.0 * self.samples / ticks if ticks else 0.0

    def as_dict(self) -> dict:
        if self.missing:
            return {"missing": self.missing}
        return {
            "samples": self.samples,
            "failed": self.failed,
            "cpu_cores": None if self.cpu_cores is None else round(self.cpu_cores, 2),
            "seconds": round(self.seconds, 1),
            "busy_percent": round(self.busy, 1),
            "steps": [[name, round(share, 1)] for name, share in self.steps],
            "kinds": [[name, round(share, 1)] for name, share in self.kinds],
            "functions": [[name, round(share, 1)] for name, share in self.functions],
        }


def summarise(raw: str, *, seconds: float, top: int = 8) -> Profile:
    """Sum py-spy's raw (collapsed) output: one line per distinct stack, frames joined by
    ';' from the thread down to the leaf, then a space and the number of samples."""
    steps: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    below: dict[str, set[str]] = {}  # our functions seen called, directly or not, by each
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        steps[_first_match(STEPS, [stack]) or "other"] += n
        kinds[_first_match(KINDS, list(reversed(frames))) or "other"] += n
        ours = list(dict.fromkeys(_function(f) for f in frames if any(m in f for m in OUR_CODE)))
        for i, name in enumerate(ours):
            functions[name] += n
            below.setdefault(name, set()).update(ours[i + 1 :])
    if not total:
        return Profile(seconds=seconds, missing="py-spy took no samples")

    def shares(counter: Counter[str], limit: int | None = None) -> list[tuple[str, float]]:
        return [(k, 100.0 * v / total) for k, v in counter.most_common(limit)]

    return Profile(
        samples=total,
        seconds=seconds,
        steps=shares(steps),
        kinds=shares(kinds),
        functions=_innermost(shares(functions), below=below, top=top),
    )


def _first_match(table, texts: list[str]) -> str | None:
    for text in texts:
        for name, markers in table:
            if any(m in text for m in markers):
                return name
    return None


def _function(frame: str) -> str:
    """`name (path/to/module.py:123)` → `name (path/to/module.py)`."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0].rstrip(')')})" if where else name


def _innermost(
    ranked: list[tuple[str, float]], *, below: dict[str, set[str]], top: int
) -> list[tuple[str, float]]:
    """The functions that say where the time goes: not one whose time is almost all in a
    callee of ours (a wrapper), nor one that more than half of the samples pass through
    (an entry point such as the view)."""
    share = dict(ranked)
    kept = [
        (name, s)
        for name, s in ranked
        if s <= 50.0 and not any(share[c] >= s - 1.0 for c in below.get(name, ()))
    ]
    return kept[:top]


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def sampling(*, pid: int, raw_path: Path, result: dict) -> Iterator[None]:
    """Sample process `pid` for as long as the block runs; then `result` holds the
    profile's `as_dict()` (or why there is none)."""
    binary = py_spy()
    if binary is None:
        result |= {"missing": "py-spy is not installed (pip install -e '.[bench]')"}
        yield
        return
    raw_path.parent.mkdir(parents=True, exist_ok=True)
    command = [binary, "record", "--pid", str(pid), "--rate", str(RATE), "--nonblocking"]
    command += ["--gil", "--format", "raw", "--output", str(raw_path)]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    started, cpu = time.monotonic(), _cpu_seconds(pid)
    try:
        yield
    finally:
        seconds = time.monotonic() - started
        used = _cpu_seconds(pid)
        profile = _stop(process, raw_path=raw_path, seconds=seconds)
        if cpu is not None and used is not None and seconds > 0:
            profile.cpu_cores = (used - cpu) / seconds
        result |= profile.as_dict()


def _cpu_seconds(pid: int) -> float | None:
    try:
        return process_cpu_seconds(pid)
    except (OSError, ValueError, IndexError):
        return None


# py-spy's last words: "Wrote raw flamegraph data to '...'. Samples: 5348 Errors: 4085"
_ERRORS = re.compile(r"Errors: (\d+)")


def _stop(process: subprocess.Popen, *, raw_path: Path, seconds: float) -> Profile:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # py-spy writes what it has, then exits
    try:
        _, errors = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, errors = process.communicate()
    if not raw_path.exists():
        last = (errors or "").strip().splitlines()[-1:] or ["no output"]
        return Profile(missing=f"py-spy could not sample the process: {last[0][:200]}")
    profile = summarise(raw_path.read_text(), seconds=seconds)
    found = _ERRORS.findall(errors or "")
    profile.failed = int(found[-1]) if found else 0
    return profile
