"""Fixtures for the simulator's own tests (helpers in tests/simulator/helpers.py)."""

from __future__ import annotations

import pytest

from tests.simulator.helpers import Phlo, RoutingServer, phlo_for


@pytest.fixture
def phlo(phlo_sim, settings) -> Phlo:
    return phlo_for(phlo_sim, settings)


@pytest.fixture
def routing():
    server = RoutingServer()
    yield server
    server.stop()
