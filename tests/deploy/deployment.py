"""The two-process deployment the multi-process tests run against (tests/deploy/conftest.py
builds it): who is in it, and how a test drives it."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field

from calls.simulator import Simulator
from harness.cluster import Cluster, Server, postgres_server_url, unreachable
from tests.deploy.helpers import TIMEOUT, Browser, call_versions, customer_state

ANSWER_DELAY = 1.0
PASSWORD = "a-long-test-password-7"  # throwaway, for a throwaway database


def services_problem() -> str:
    """Why the multi-process tests cannot run here ("" when they can)."""
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        return (
            "needs Redis for the shared channel layer: set REDIS_URL (e.g."
            " redis://127.0.0.1:6379/0; ./test.sh's PostgreSQL + Redis run does)"
        )
    return unreachable(redis_url, 6379) or unreachable(postgres_server_url(), 5432)


@dataclass
class Deployment:
    cluster: Cluster
    sim: Simulator
    a: Server
    b: Server
    people: dict = field(default_factory=dict)

    def browser(self, *, via: Server | None = None) -> Browser:
        """A browser whose requests reach `via` only, or any live process (the proxy)."""
        if via is not None:
            return Browser(self.cluster, backends=[via.address])
        return Browser(self.cluster, backends=self.backends)

    def backends(self) -> list[str]:
        return [s.address for s in self.cluster.servers]

    async def advance(self, seconds: float) -> None:
        """Move the simulator's clock: phones answer, callbacks go out (blocking HTTP)."""
        await asyncio.to_thread(self.sim.advance, seconds)

    def failed_deliveries(self) -> list:
        ok = {a.callback_id for a in self.sim.deliveries if a.ok}
        return [a for a in self.sim.deliveries if a.callback_id not in ok]


AGENTS = ("alice", "bob", "carol", "dave")
CUSTOMERS = {
    "alice": "+14155550101",
    "bob": "+14155550102",
    "carol": "+14155550103",
    "dave": "+14155550104",
}


async def place_call(deployment: Deployment, browser: Browser, *, agent: str, desktop) -> int:
    """Dial the agent's customer from the desktop (via the proxy), let both phones answer,
    and wait until `desktop` shows them talking. Returns the call's id."""
    phone = CUSTOMERS[agent]
    answer = await asyncio.to_thread(browser.click, "/desktop/dial/", {"to": phone})
    assert answer.status_code == 200, answer.text
    await deployment.advance(ANSWER_DELAY)  # the agent's phone answers...
    await deployment.advance(ANSWER_DELAY)  # ...then the customer's, rung once the agent is on
    html = await desktop.receive_until(
        lambda text: customer_state(text) == "talking", timeout=TIMEOUT
    )
    (call_id,) = call_versions(html)
    return call_id
