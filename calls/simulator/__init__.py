"""A local stand-in for Plivo's PHLO runner (Multiparty Call node); see docs/simulator.md."""

from calls.simulator.clock import ManualClock, RealClock
from calls.simulator.config import ChaosConfig, ConfigError, SimulatorConfig
from calls.simulator.delivery import DeliveryAttempt
from calls.simulator.errors import SimulatorError
from calls.simulator.simulator import Simulator

__all__ = [
    "ChaosConfig",
    "ConfigError",
    "DeliveryAttempt",
    "ManualClock",
    "RealClock",
    "Simulator",
    "SimulatorConfig",
    "SimulatorError",
]
