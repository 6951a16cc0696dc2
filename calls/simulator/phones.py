"""A person's hands on the simulated phones: how each address behaves, and answer, reject
and hang up. What the phones page and the control API (and tests) act through."""

from __future__ import annotations

from calls.simulator.engine import Engine
from calls.simulator.model import canonical
from calls.simulator.modes import MODE_HELP, MODES, SPECIAL_NUMBERS, PhoneModes

__all__ = ["MODES", "MODE_HELP", "SPECIAL_NUMBERS", "Phones"]


class Phones:
    def __init__(self, *, engine: Engine, modes: PhoneModes) -> None:
        self._engine = engine
        self._modes = modes

    def mode_of(self, address: str) -> str:
        return self._modes.mode_of(address)

    def modes(self) -> dict[str, str]:
        """Modes set at run time (special numbers not included)."""
        return self._modes.modes()

    def set_mode(self, address: str, mode: str) -> str:
        """Set how `address` behaves on its next dial; returns the canonical address."""
        return self._modes.set_mode(address, mode)

    def answer(self, address: str, *, call_uuid: str = "") -> None:
        self._engine.phone_answer(address=canonical(address), call_uuid=call_uuid)

    def reject(self, address: str, *, call_uuid: str = "") -> None:
        self._engine.phone_reject(address=canonical(address), call_uuid=call_uuid)

    def hangup(self, address: str, *, call_uuid: str = "") -> None:
        self._engine.phone_hangup(address=canonical(address), call_uuid=call_uuid)
