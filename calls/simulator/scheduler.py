"""Run callables at a time on the simulator's clock, in due-time order.

With a ManualClock nothing runs until `run_until(t)` is called (from `Simulator.advance`),
which runs every due task in the caller's thread. With a RealClock, `start()` runs a
worker thread that wakes for each due task. Tasks run without the scheduler's lock held,
so a task may schedule more tasks.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from calls.simulator.clock import Clock, ManualClock

logger = logging.getLogger(__name__)


@dataclass(order=True)
class Task:
    due: float
    seq: int
    fn: Callable[[], None] = field(compare=False)
    label: str = field(compare=False, default="")
    cancelled: bool = field(compare=False, default=False)

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    def __init__(self, *, clock: Clock, name: str = "scheduler") -> None:
        self.clock = clock
        self.name = name
        self._heap: list[Task] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def schedule(self, delay: float, fn: Callable[[], None], *, label: str = "") -> Task:
        """Run `fn` `delay` seconds from now (0: on the next tick, after tasks already due)."""
        task = Task(self.clock.now() + max(delay, 0.0), next(self._seq), fn, label)
        with self._cond:
            heapq.heappush(self._heap, task)
            self._cond.notify()
        return task

    def pending(self) -> list[Task]:
        with self._cond:
            return sorted(t for t in self._heap if not t.cancelled)

    def _pop_due(self, until: float) -> Task | None:
        with self._cond:
            while self._heap and self._heap[0].cancelled:
                heapq.heappop(self._heap)
            if self._heap and self._heap[0].due <= until:
                return heapq.heappop(self._heap)
            return None

    def _run(self, task: Task) -> None:
        try:
            task.fn()
        except Exception:
            # One broken task must not stop the simulator; the trace says which.
            logger.exception("simulator task %r failed", task.label)

    def run_until(self, until: float) -> int:
        """ManualClock only: run every task due by `until`, moving the clock to each task's
        time first, then to `until`. Returns how many tasks ran."""
        if not isinstance(self.clock, ManualClock):
            raise RuntimeError("run_until() needs a ManualClock; a RealClock runs by itself")
        ran = 0
        while (task := self._pop_due(until)) is not None:
            self.clock.move_to(task.due)
            self._run(task)
            ran += 1
        self.clock.move_to(until)
        return ran

    # --- RealClock worker ----------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name=f"phlo-sim-{self.name}")
        self._thread.daemon = True
        self._thread.start()

    def stop(self, *, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    while self._heap and self._heap[0].cancelled:
                        heapq.heappop(self._heap)
                    now = self.clock.now()
                    if self._heap and self._heap[0].due <= now:
                        break
                    wait = self._heap[0].due - now if self._heap else None
                    self._cond.wait(wait)
                if self._stopping:
                    return
                task = heapq.heappop(self._heap)
            self._run(task)
