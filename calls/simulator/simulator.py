"""The simulator as one object: engine, phones, callback delivery, routing and HTTP server."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

from calls.simulator.api import PhloApi
from calls.simulator.callbacks import CallbackFormatter
from calls.simulator.clock import Clock, ManualClock, RealClock
from calls.simulator.config import SimulatorConfig
from calls.simulator.delivery import CallbackDelivery, DeliveryAttempt
from calls.simulator.engine import Engine
from calls.simulator.errors import SimulatorError
from calls.simulator.faults import FaultQueue, make_fault
from calls.simulator.http_request_node import InboundRouter, RoutingRequest
from calls.simulator.model import canonical
from calls.simulator.modes import PhoneModes
from calls.simulator.phones import Phones
from calls.simulator.scheduler import Scheduler
from calls.simulator.server import SimulatorHTTPServer, stop_server

# The most callers one burst starts (the bench's queue phase uses 200).
MAX_BURST = 500


def _url_host(url: str) -> tuple[str, ...]:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return ()
    return (host,) if host else ()


class Simulator:
    """A local PHLO runner. With a ManualClock nothing happens until `advance()`; with a
    RealClock (the default) a scheduler thread and a delivery thread run after `start()`."""

    def __init__(
        self,
        *,
        config: SimulatorConfig,
        clock: Clock | None = None,
        default_host: str = "127.0.0.1",
        default_port: int = 0,
    ) -> None:
        self.config = config
        self.clock: Clock = clock if clock is not None else RealClock()
        self.manual = isinstance(self.clock, ManualClock)
        self._events = Scheduler(clock=self.clock, name="events")
        # One queue under a ManualClock keeps everything in time order in advance(); with a
        # RealClock, slow webhooks must not delay the calls, so HTTP out gets its own thread.
        self._outbound = self._events if self.manual else Scheduler(clock=self.clock, name="out")
        self.delivery = CallbackDelivery(config=config, clock=self.clock, scheduler=self._outbound)
        self.router = InboundRouter(config=config, scheduler=self._outbound)
        modes = PhoneModes()
        formatter = CallbackFormatter(config=config, clock=self.clock)
        self.engine = Engine(
            config=config,
            clock=self.clock,
            scheduler=self._events,
            listener=formatter.listener(self.delivery.enqueue),
            route=self.router.route,
            modes=modes,
        )
        self.router.engine = self.engine
        self._phones = Phones(engine=self.engine, modes=modes)
        self.faults = FaultQueue()
        self._stopping = threading.Event()
        self.api = PhloApi(
            config=config, engine=self.engine, faults=self.faults, stopping=self._stopping
        )
        self._default_address = (default_host, default_port)
        self._server: SimulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._advance_lock = threading.Lock()

    @classmethod
    def from_settings(cls, **overrides: Any) -> Simulator:
        """Build from Django settings (credentials, ids, PUBLIC_BASE_URL, ROUTING_API_TOKEN,
        PHLO_SIMULATOR_HOST/PORT). Keyword overrides win; None means "use the setting";
        `clock`, `host` and `port` are accepted too."""
        from django.conf import settings

        base = settings.PUBLIC_BASE_URL.rstrip("/")
        clock = overrides.pop("clock", None)
        host = overrides.pop("host", None) or settings.PHLO_SIMULATOR_HOST
        port = overrides.pop("port", None)
        port = settings.PHLO_SIMULATOR_PORT if port is None else port
        values: dict[str, Any] = {
            "auth_id": settings.PLIVO_AUTH_ID,
            "auth_token": settings.PLIVO_AUTH_TOKEN,
            "phlo_id": settings.PHLO_ID,
            "node_id": settings.PHLO_MPC_NODE_ID,
            "callback_url": f"{base}/webhooks/plivo/",
            "routing_url": f"{base}/routing/inbound/",
            "routing_token": settings.ROUTING_API_TOKEN,
            "vocabulary": settings.PHLO_SIMULATOR_VOCABULARY or "phlo",
            # The name the app reaches it by is one of its own (see own_address).
            "hosts": _url_host(settings.PHLO_BASE_URL),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(
            config=SimulatorConfig(**values), clock=clock, default_host=host, default_port=port
        )

    # --- lifecycle -----------------------------------------------------------------------

    def start(self, *, host: str | None = None, port: int | None = None) -> Simulator:
        """Listen (port 0 picks a free port) and return once the server accepts requests."""
        if self._server is not None:
            raise RuntimeError("The simulator is already running.")
        address = (
            host or self._default_address[0],
            self._default_address[1] if port is None else port,
        )
        self._stopping.clear()
        self._server = SimulatorHTTPServer(address, self, hosts=self.config.hosts)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="phlo-sim-http"
        )
        self._thread.daemon = True
        self._thread.start()
        if not self.manual:
            self._events.start()
            self._outbound.start()
        return self

    def stop(self) -> None:
        """Stop serving and the worker threads. Callbacks not yet delivered are dropped."""
        self._stopping.set()
        if self._server is not None:
            stop_server(self._server)
        if self._thread is not None:
            self._thread.join(5)
        self._server = self._thread = None
        if not self.manual:
            self._events.stop()
            self._outbound.stop()
        self.delivery.close()
        self.router.close()

    def __enter__(self) -> Simulator:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("The simulator is not running; call start() first.")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/v1"

    @property
    def phones_url(self) -> str:
        return self.base_url + "/phones/"

    # --- time ----------------------------------------------------------------------------

    def advance(self, seconds: float) -> int:
        """ManualClock: move time forward, running everything due (state changes, callback
        deliveries and their retries) in time order in this thread. Returns tasks run."""
        if not self.manual:
            raise RuntimeError("advance() needs a ManualClock; a RealClock runs by itself.")
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        with self._advance_lock:
            return self._events.run_until(self.clock.now() + seconds)

    def run_pending(self) -> int:
        return self.advance(0)

    # --- what tests and tools use --------------------------------------------------------

    @property
    def phones(self) -> Phones:
        return self._phones

    @property
    def deliveries(self) -> list[DeliveryAttempt]:
        return self.delivery.attempts

    @property
    def callbacks(self) -> list[dict[str, str]]:
        """Every callback produced, in order, before chaos and retries."""
        return self.delivery.callbacks

    @property
    def routing_requests(self) -> list[RoutingRequest]:
        return self.router.requests

    def inbound_call(self, *, from_: str, to: str) -> str:
        """A customer calls in; returns the call's uuid. Routing happens on the next tick."""
        return self.engine.inbound_start(caller=from_, callee=to).call_uuid

    def inbound_burst(self, *, count: int, to: str, first_from: str) -> list[str]:
        """`count` customers call in at once, from `first_from` and the numbers after it (a
        campaign start, an outage: a queue fills). Returns their calls' uuids."""
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BURST:
            raise SimulatorError(f"count must be a whole number from 1 to {MAX_BURST}.")
        first = canonical(first_from, field="from")
        if not first.isdigit() or len(str(int(first) + count - 1)) > len(first):
            raise SimulatorError(
                "from must be a phone number with room for the burst after it, such as"
                " +14155553000."
            )
        return [self.inbound_call(from_=f"+{int(first) + i}", to=to) for i in range(count)]

    def snapshot(self) -> dict[str, Any]:
        return self.engine.snapshot()

    def member(self, address: str) -> dict[str, Any] | None:
        """The live member at `address` (newest call), or None."""
        return self.engine.live_member(address)

    def inject_fault(
        self,
        *,
        status: int | None = None,
        body: str | None = None,
        not_json: bool = False,
        delay: float = 0.0,
        disconnect: bool = False,
        times: int = 1,
    ) -> None:
        """Make the next `times` PHLO API requests fail (see calls/simulator/faults.py)."""
        fault = make_fault(
            status=status, body=body, not_json=not_json, delay=delay, disconnect=disconnect
        )
        self.faults.add(fault, times=times)

    def clear_faults(self) -> None:
        self.faults.clear()

    def wait_api_idle(self, *, timeout: float = 5.0) -> bool:
        """Wait until no PHLO API request is in progress, e.g. one held by a `delay` fault
        whose client already timed out. Returns False if still busy after `timeout`."""
        return self.api.wait_idle(timeout=timeout)
