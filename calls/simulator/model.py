"""The simulator's model of a PHLO Multiparty Call: conferences, their members and
transfers, inbound calls waiting for routing. Plain data; the rules that change it live in
`calls.simulator.engine`, and nothing here knows how it is reached (HTTP) or reported
(callbacks)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from calls.addresses import InvalidAddress, display_address, normalize_address
from calls.simulator.config import ParticipantSettings
from calls.simulator.errors import SimulatorError
from calls.simulator.scheduler import Task

RINGING = "ringing"
TALKING = "talking"
ON_HOLD = "on_hold"
VOICEMAIL = "voicemail"
GONE = "gone"
ANSWERED_STATES = (TALKING, ON_HOLD, VOICEMAIL)

AGENT = "agent"
CUSTOMER = "customer"
ROLES = (AGENT, CUSTOMER)

WARM = "warm"
COLD = "cold"

NODE_ACTIONS = ("call", "warm_transfer", "cold_transfer")
MEMBER_ACTIONS = ("hold", "unhold", "hangup", "resume_call", "abort_transfer", "voicemail_drop")

# Exit causes (call_status of a ConferenceExit).
COMPLETED = "completed"
BUSY = "busy"
NO_ANSWER = "no-answer"
FAILED = "failed"
CANCELED = "canceled"

# Ended conferences and inbound calls kept for the state view.
HISTORY = 200


def who(address: str) -> str:
    """An address as people read it, for error messages."""
    return display_address(address)


def canonical(address: str, *, field: str = "address") -> str:
    try:
        return normalize_address(address)
    except InvalidAddress as exc:
        raise SimulatorError(f"Invalid value provided for {field}: {exc}") from exc


# What happened, told to whoever listens to the engine (the callbacks, see
# `calls.simulator.callbacks`), whatever vocabulary reports it.
INITIALIZED = "initialized"
START = "start"
END = "end"
JOIN = "join"
EXIT = "exit"
HOLD = "hold"
UNHOLD = "unhold"


@dataclass
class Member:
    member_id: str
    address: str
    role: str
    call_uuid: str
    direction: str
    caller: str
    callee: str
    created_at: float
    state: str = RINGING
    is_machine: bool = False
    exit_cause: str = ""
    answered_at: float | None = None
    ended_at: float | None = None
    playing_message: bool = False
    # A stand-in for no agent: "message" plays a message and hangs up, "voicemail" records
    # until the caller hangs up (see `modes.MESSAGE_BOX`, `modes.VOICEMAIL_BOX`).
    box: str = ""
    settings: ParticipantSettings = field(default_factory=ParticipantSettings)
    tasks: list[Task] = field(default_factory=list, repr=False)

    @property
    def live(self) -> bool:
        return self.state != GONE

    @property
    def answered(self) -> bool:
        """On the bridge: answered (by a person or a machine) and not gone."""
        return self.state in ANSWERED_STATES

    def cancel_tasks(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.tasks.clear()

    def as_dict(self) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "address": self.address,
            "role": self.role,
            "call_uuid": self.call_uuid,
            "direction": self.direction,
            "from": self.caller,
            "to": self.callee,
            "state": self.state,
            "hold_music": self.state == ON_HOLD,
            "settings": self.settings.as_dict(),
            "is_machine": self.is_machine,
            "playing_message": self.playing_message,
            "box": self.box,
            "exit_cause": self.exit_cause,
            "created_at": self.created_at,
            "answered_at": self.answered_at,
            "ended_at": self.ended_at,
        }


@dataclass
class Transfer:
    kind: str
    from_member_id: str
    to_member_id: str
    started_at: float


@dataclass
class Conference:
    uuid: str
    name: str
    origin: str
    created_at: float
    members: list[Member] = field(default_factory=list)
    status: str = "live"
    started: bool = False
    ended_at: float | None = None
    transfer: Transfer | None = None
    # Dials waiting for the call's first participant to answer: (address, role). A `call`
    # rings the agent first and the target only once the agent is on the bridge.
    queued: list[tuple[str, str]] = field(default_factory=list)
    # What plays while nobody has started the call: the queue's music from the routing
    # answer, or "" for the flow's default.
    wait_music_url: str = ""
    _sequence: int = 0
    _member_ids: Any = field(default_factory=lambda: itertools.count(1), repr=False)

    @property
    def live(self) -> bool:
        return self.status == "live"

    def _music_for(self, member: Member) -> dict[str, Any]:
        playing = member.answered and not self.started
        return {"wait_music": playing, "wait_music_url": self.wait_music_url if playing else ""}

    def next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    def new_member_id(self) -> str:
        return str(next(self._member_ids))

    def live_members(self) -> list[Member]:
        return [m for m in self.members if m.live]

    def live_member(self, address: str) -> Member | None:
        return next((m for m in self.members if m.live and m.address == address), None)

    def member_by_id(self, member_id: str) -> Member | None:
        return next((m for m in self.members if m.member_id == member_id), None)

    def as_dict(self) -> dict[str, Any]:
        transfer = None
        if self.transfer:
            source = self.member_by_id(self.transfer.from_member_id)
            target = self.member_by_id(self.transfer.to_member_id)
            transfer = {
                "kind": self.transfer.kind,
                "from": source.address if source else "",
                "to": target.address if target else "",
                "from_member_id": self.transfer.from_member_id,
                "to_member_id": self.transfer.to_member_id,
                "started_at": self.transfer.started_at,
            }
        return {
            "uuid": self.uuid,
            "name": self.name,
            "origin": self.origin,
            "status": self.status,
            "created_at": self.created_at,
            "ended_at": self.ended_at,
            "started": self.started,
            "transfer": transfer,
            "queued": [{"address": a, "role": r} for a, r in self.queued],
            # Wait music plays to whoever is on the bridge before the call has started.
            "members": [m.as_dict() | self._music_for(m) for m in self.members],
        }


@dataclass
class InboundCall:
    """A customer calling in, before (and after) the routing decision."""

    call_uuid: str
    caller: str
    callee: str
    created_at: float
    # routing -> connected | queued | message -> ended | voicemail -> ended
    state: str = "routing"
    agent_endpoint: str = ""
    reason: str = ""
    conference_uuid: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "call_uuid": self.call_uuid,
            "from": self.caller,
            "to": self.callee,
            "state": self.state,
            "agent_endpoint": self.agent_endpoint,
            "reason": self.reason,
            "conference_uuid": self.conference_uuid,
            "created_at": self.created_at,
        }
