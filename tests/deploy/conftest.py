"""A real two-process deployment for the multi-process tests (module-scoped: ~5 s to build).

Production settings, two daphne processes sharing a throwaway PostgreSQL database and one
Redis channel-layer prefix, static files collected, and a PHLO simulator (manual clock,
Multiparty Call status callbacks) whose callbacks reach the processes through the stand-in
proxy, signed against the public URL exactly as Plivo signs them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from calls.simulator import ManualClock, Simulator, SimulatorConfig
from harness.cluster import Cluster
from harness.edge import EdgeAdapter
from tests.deploy.deployment import (
    AGENTS,
    ANSWER_DELAY,
    CUSTOMERS,
    PASSWORD,
    Deployment,
    services_problem,
)


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    if problem := services_problem():
        pytest.skip(f"multi-process tests skipped: {problem}")
    cluster = Cluster(redis_url=os.environ["REDIS_URL"])
    sim = Simulator(
        config=SimulatorConfig(
            auth_id=cluster.auth_id,
            auth_token=cluster.auth_token,
            phlo_id=cluster.phlo_id,
            node_id=cluster.node_id,
            callback_url=cluster.public_base_url + "/webhooks/plivo/",
            vocabulary="mpc",
            answer_delay=ANSWER_DELAY,
        ),
        clock=ManualClock(),
    )
    try:
        sim.start(host="127.0.0.1", port=0)
        # The simulator reaches the app the way Plivo does: through the proxy, to any process.
        sim.delivery._session.mount(
            cluster.public_base_url + "/",
            EdgeAdapter(
                public_base_url=cluster.public_base_url,
                backends=lambda: [s.address for s in cluster.servers],
            ),
        )
        cluster.phlo_base_url = sim.api_url
        cluster.create()
        people = cluster.seed(
            "people",
            {
                "agents": [
                    {"username": name, "password": PASSWORD, "endpoint": f"sip:{name}@phones.test"}
                    for name in AGENTS
                ],
                "customers": [
                    {"name": f"Customer of {name}", "phone": phone}
                    for name, phone in CUSTOMERS.items()
                ],
            },
        )
        a, b = cluster.start_servers(2)
        yield Deployment(cluster=cluster, sim=sim, a=a, b=b, people=people)
    finally:
        sim.stop()
        cluster.destroy()
