"""Signed callbacks to the app's webhook, with the provider's retries and optional chaos.

Each attempt is a form-encoded POST signed afresh (new nonce) with V3 signatures, and is
recorded. Failed attempts (connection error, timeout, 5xx, and 4xx when configured) are
retried after 1, 2, 4, 8, 16 s on the simulator's clock, up to `max_retries` times.
Nothing here runs inside an API request: `enqueue` only schedules.
"""

from __future__ import annotations

import itertools
import logging
import random
import secrets
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests

from calls.signature import NONCE_HEADER, SIGNATURE_HEADER, compute_signature
from calls.simulator.clock import Clock
from calls.simulator.config import ChaosConfig, SimulatorConfig
from calls.simulator.scheduler import Scheduler, Task

logger = logging.getLogger(__name__)

USER_AGENT = "PHLO-Simulator/1.0"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def new_nonce() -> str:
    """A fresh random nonce per attempt, digits like the provider's."""
    return f"{secrets.randbelow(10**20):020d}"


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST of one callback: what was sent and what came back."""

    callback_id: int
    attempt: int
    url: str
    params: dict[str, str]
    headers: dict[str, str]
    status: int | None
    error: str
    at: float
    duplicate: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass
class _Callback:
    callback_id: int
    params: dict[str, str]
    duplicate: bool = False


@dataclass
class _Window:
    items: list[_Callback] = field(default_factory=list)
    flush_task: Task | None = None


class CallbackDelivery:
    def __init__(
        self,
        *,
        config: SimulatorConfig,
        clock: Clock,
        scheduler: Scheduler,
        nonce_factory: Callable[[], str] = new_nonce,
    ) -> None:
        self.config = config
        self.clock = clock
        self.scheduler = scheduler
        self._nonce = nonce_factory
        self._session = requests.Session()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._attempts: list[DeliveryAttempt] = []
        self._callbacks: list[dict[str, str]] = []
        chaos = config.chaos if isinstance(config.chaos, ChaosConfig) else None
        self._chaos = chaos if chaos and chaos.enabled else None
        self._rng = random.Random(self._chaos.seed if self._chaos else 0)
        self._window = _Window()

    # --- reading -------------------------------------------------------------------------

    @property
    def attempts(self) -> list[DeliveryAttempt]:
        with self._lock:
            return list(self._attempts)

    @property
    def callbacks(self) -> list[dict[str, str]]:
        """Every callback in the order the calls produced them (before chaos and retries)."""
        with self._lock:
            return [dict(p) for p in self._callbacks]

    def clear(self) -> None:
        with self._lock:
            self._attempts.clear()
            self._callbacks.clear()

    # --- sending -------------------------------------------------------------------------

    def enqueue(self, params: dict[str, str]) -> None:
        """Queue one callback; it goes out on the next tick of the delivery worker."""
        with self._lock:
            item = _Callback(next(self._ids), dict(params))
            self._callbacks.append(dict(params))
            chaos = self._chaos
            if chaos is None or chaos.reorder_window < 2:
                self._schedule_locked(item)
                return
            self._window.items.append(item)
            if len(self._window.items) >= chaos.reorder_window:
                self._flush_locked()
            elif self._window.flush_task is None:
                self._window.flush_task = self.scheduler.schedule(
                    chaos.hold_seconds, self._flush, label="chaos window"
                )

    def _flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        batch, task = self._window.items, self._window.flush_task
        self._window = _Window()
        if task:
            task.cancel()
        self._rng.shuffle(batch)
        for item in batch:
            self._schedule_locked(item)

    def _schedule_locked(self, item: _Callback) -> None:
        self.scheduler.schedule(0, lambda: self._attempt(item, 1), label="callback")
        if self._chaos and self._chaos.duplicate and self._rng.random() < self._chaos.duplicate:
            twin = _Callback(item.callback_id, item.params, duplicate=True)
            self.scheduler.schedule(0, lambda: self._attempt(twin, 1), label="callback twin")

    def prepare(self, *, url: str, params: dict[str, str], nonce: str) -> dict[str, str]:
        """The headers of one attempt: content type and the V3 signature over url + params."""
        signature = compute_signature(
            url=url, params=params, nonce=nonce, auth_token=self.config.auth_token
        )
        return {
            "Content-Type": FORM_CONTENT_TYPE,
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: signature,
            NONCE_HEADER: nonce,
        }

    def _attempt(self, item: _Callback, number: int) -> None:
        url = self.config.callback_url
        headers = self.prepare(url=url, params=item.params, nonce=self._nonce())
        status: int | None = None
        error = ""
        try:
            response = self._session.post(
                url,
                data=urlencode(item.params),
                headers=headers,
                timeout=self.config.callback_timeout,
                allow_redirects=False,
            )
            status = response.status_code
            response.close()
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except requests.Timeout:
            error = f"timed out after {self.config.callback_timeout} s"
        except requests.RequestException as exc:
            error = f"connection error: {type(exc).__name__}"
        attempt = DeliveryAttempt(
            callback_id=item.callback_id,
            attempt=number,
            url=url,
            params=dict(item.params),
            headers=headers,
            status=status,
            error=error,
            at=self.clock.now(),
            duplicate=item.duplicate,
        )
        with self._lock:
            self._attempts.append(attempt)
        if attempt.ok:
            return
        logger.info("callback %s attempt %s to %s failed: %s", item.callback_id, number, url, error)
        if self._should_retry(status) and number <= self.config.max_retries:
            self.scheduler.schedule(
                2.0 ** (number - 1), lambda: self._attempt(item, number + 1), label="retry"
            )

    def _should_retry(self, status: int | None) -> bool:
        if status is None or status >= 500:
            return True
        return 400 <= status < 500 and self.config.retry_on_4xx

    def close(self) -> None:
        self._session.close()
