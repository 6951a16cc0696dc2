"""Settings of one simulator run: credentials, ids, URLs, timings and the chaos test mode."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

VOCABULARIES = ("phlo", "mpc")


class ConfigError(ValueError):
    """A configuration value is unusable; the message says which and why."""


@dataclass(frozen=True)
class ChaosConfig:
    """What real providers do to callbacks, on purpose and reproducibly (same seed, same run).

    duplicate: probability (0..1) that a callback is delivered a second time.
    reorder_window: callbacks are collected in groups of this size and sent shuffled (0/1: off).
    hold_seconds: a group that has not filled up is sent after this long anyway.
    """

    seed: int = 0
    duplicate: float = 0.0
    reorder_window: int = 0
    hold_seconds: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.duplicate <= 1.0:
            raise ConfigError(f"chaos duplicate must be between 0 and 1; got {self.duplicate!r}")
        if self.reorder_window < 0:
            raise ConfigError(f"chaos reorder_window must be >= 0; got {self.reorder_window!r}")
        if self.hold_seconds < 0:
            raise ConfigError(f"chaos hold_seconds must be >= 0; got {self.hold_seconds!r}")

    @classmethod
    def parse(cls, text: str) -> ChaosConfig:
        """Read "seed=7,duplicate=0.2,reorder_window=4" (the management command's --chaos)."""
        known = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, raw = part.partition("=")
            key = key.strip()
            if not sep or key not in known:
                raise ConfigError(
                    f"chaos: cannot read {part!r}; use key=value with keys {', '.join(known)}"
                )
            try:
                values[key] = float(raw) if key in ("duplicate", "hold_seconds") else int(raw)
            except ValueError as exc:
                raise ConfigError(f"chaos: {key} must be a number; got {raw!r}") from exc
        return cls(**values)

    @property
    def enabled(self) -> bool:
        return self.duplicate > 0 or self.reorder_window > 1


@dataclass(frozen=True)
class ParticipantSettings:
    """How a multiparty call treats one kind of participant: the settings Plivo's Multiparty
    Call takes per participant (`start_mpc_on_enter`, `end_mpc_on_exit`, `stay_alone`; the
    Python SDK's `add_participant` defaults are True, False, False), as a PHLO node sets them
    for its agents and its customers. See docs/simulator.md, "Call lifecycle"."""

    start_on_enter: bool = True
    end_on_exit: bool = False
    stay_alone: bool = False

    @classmethod
    def parse(cls, text: str, *, base: ParticipantSettings) -> ParticipantSettings:
        """Read "start_on_enter=1,end_on_exit=0,stay_alone=0" over `base` (the command's
        --agent-settings and --customer-settings)."""
        known = {f.name for f in fields(cls)}
        values = {name: getattr(base, name) for name in known}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, raw = part.partition("=")
            key, raw = key.strip(), raw.strip().lower()
            if not sep or key not in known or raw not in _BOOLEANS:
                raise ConfigError(
                    f"participant settings: cannot read {part!r}; use key=1 or key=0 with keys"
                    f" {', '.join(sorted(known))}"
                )
            values[key] = _BOOLEANS[raw]
        return cls(**values)

    def as_dict(self) -> dict[str, bool]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_BOOLEANS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
# PHLO's usual Multiparty Call node: agents start the call when they enter, the customer ends
# it when they leave, and nobody stays alone on the bridge.
AGENT_SETTINGS = ParticipantSettings(start_on_enter=True, end_on_exit=False)
CUSTOMER_SETTINGS = ParticipantSettings(start_on_enter=False, end_on_exit=True)


@dataclass(frozen=True)
class SimulatorConfig:
    auth_id: str
    auth_token: str
    phlo_id: str
    node_id: str
    callback_url: str
    routing_url: str = ""
    routing_token: str = ""
    vocabulary: str = "phlo"
    answer_delay: float = 2.0
    ring_timeout: float = 30.0
    caller_id: str = "14155550000"
    max_retries: int = 5
    chaos: ChaosConfig | dict | None = None
    # Also retry callbacks answered with a 4xx (the provider's optional setting).
    retry_on_4xx: bool = False
    callback_timeout: float = 5.0
    routing_timeout: float = 5.0
    # How long the voicemail message plays before the member is dropped.
    voicemail_drop_seconds: float = 3.0
    # How long an unrouted inbound caller hears the "no agent" message before the hang-up.
    inbound_message_seconds: float = 3.0
    # The longest voicemail a caller may leave (the no-agent outcome "voicemail").
    voicemail_max_seconds: float = 60.0
    agent: ParticipantSettings = AGENT_SETTINGS
    customer: ParticipantSettings = CUSTOMER_SETTINGS
    max_members: int = 10
    phlo_name: str = "Contact center"
    node_name: str = "Multiparty Call"
    # Host names the simulator also answers to, besides the loopback names and the address
    # it listens on (e.g. the host of the app's PHLO_BASE_URL); see own_address.py.
    hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("auth_id", "auth_token", "phlo_id", "node_id", "callback_url"):
            if not getattr(self, name):
                raise ConfigError(f"{name} must be set")
        if self.vocabulary not in VOCABULARIES:
            raise ConfigError(
                f"vocabulary must be one of {', '.join(VOCABULARIES)}; got {self.vocabulary!r}"
            )
        for name in ("answer_delay", "ring_timeout", "callback_timeout", "routing_timeout"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0")
        if self.max_retries < 0:
            raise ConfigError("max_retries must be >= 0")
        for role in ("agent", "customer"):
            value = getattr(self, role)
            if isinstance(value, dict):
                object.__setattr__(self, role, ParticipantSettings(**value))
        if isinstance(self.chaos, dict):
            object.__setattr__(self, "chaos", ChaosConfig(**self.chaos))
        elif isinstance(self.chaos, str):
            object.__setattr__(self, "chaos", ChaosConfig.parse(self.chaos))

    def __repr__(self) -> str:
        # Never show the token (or the routing token) in logs or tracebacks.
        return (
            f"SimulatorConfig(auth_id={self.auth_id!r}, auth_token='***', phlo_id={self.phlo_id!r},"
            f" node_id={self.node_id!r}, callback_url={self.callback_url!r},"
            f" routing_url={self.routing_url!r}, vocabulary={self.vocabulary!r})"
        )

    __str__ = __repr__
