"""The callback parameters the simulator sends, in either vocabulary. The callbacks listen
to the engine (`CallbackFormatter.listener`): the model knows nothing of them.

"phlo": the PHLO Multiparty Call node variables (seed 004): ConferenceEnter/ConferenceExit,
one callback per leg entering or leaving. "mpc": the Multiparty Call status callbacks
(MPCInitialized ... ParticipantUnhold) with a per-conference SequenceNumber.
"""

from __future__ import annotations

from collections.abc import Callable

from calls.addresses import is_sip
from calls.simulator.clock import Clock
from calls.simulator.config import SimulatorConfig
from calls.simulator.model import (
    END,
    EXIT,
    HOLD,
    INITIALIZED,
    JOIN,
    START,
    UNHOLD,
    Conference,
    Member,
)

MPC_EVENT_NAMES = {
    INITIALIZED: "MPCInitialized",
    START: "MPCStart",
    END: "MPCEnd",
    JOIN: "ParticipantJoin",
    EXIT: "ParticipantExit",
    HOLD: "ParticipantHold",
    UNHOLD: "ParticipantUnhold",
}

# Calling-code prefixes for the iso2/country fields; longest prefix wins.
_COUNTRIES = {
    "1": ("US", "United States"),
    "7": ("RU", "Russia"),
    "27": ("ZA", "South Africa"),
    "31": ("NL", "Netherlands"),
    "33": ("FR", "France"),
    "34": ("ES", "Spain"),
    "39": ("IT", "Italy"),
    "44": ("GB", "United Kingdom"),
    "49": ("DE", "Germany"),
    "52": ("MX", "Mexico"),
    "55": ("BR", "Brazil"),
    "61": ("AU", "Australia"),
    "65": ("SG", "Singapore"),
    "81": ("JP", "Japan"),
    "86": ("CN", "China"),
    "91": ("IN", "India"),
    "353": ("IE", "Ireland"),
    "971": ("AE", "United Arab Emirates"),
}


def country_of(address: str) -> tuple[str, str]:
    """(iso2, country) of a canonical phone number; empty strings for SIP or unknown codes."""
    if not address or is_sip(address):
        return "", ""
    for length in (3, 2, 1):
        found = _COUNTRIES.get(address[:length])
        if found:
            return found
    return "", ""


def bill_rate(address: str) -> str:
    return "0.00300" if is_sip(address) else "0.00850"


def _bool(value: bool) -> str:
    return "true" if value else "false"


class CallbackFormatter:
    def __init__(self, *, config: SimulatorConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock

    def format(
        self, *, kind: str, conference: Conference, member: Member | None = None, cause: str = ""
    ) -> dict[str, str] | None:
        """The form parameters for one event, or None when the vocabulary has no such event."""
        if self.config.vocabulary == "mpc":
            return self._mpc(kind=kind, conference=conference, member=member, cause=cause)
        return self._phlo(kind=kind, conference=conference, member=member, cause=cause)

    def _phlo(
        self, *, kind: str, conference: Conference, member: Member | None, cause: str
    ) -> dict[str, str] | None:
        if member is None or kind not in (JOIN, EXIT):
            return None  # PHLO documents no conference-level or hold events
        to_iso2, to_country = country_of(member.callee)
        from_iso2, from_country = country_of(member.caller)
        params = {
            "event": "ConferenceEnter" if kind == JOIN else "ConferenceExit",
            "from": member.caller,
            "to": member.callee,
            "direction": member.direction,
            "caller_name": member.caller,
            "call_status": "in-progress" if kind == JOIN else cause,
            "conference_name": conference.name,
            "conference_uuid": conference.uuid,
            "call_uuid": member.call_uuid,
            "member_id": member.member_id,
            "bill_rate": bill_rate(member.callee),
            "to_iso2": to_iso2,
            "from_iso2": from_iso2,
            "to_country": to_country,
            "from_country": from_country,
        }
        if kind == JOIN:
            params["machine"] = _bool(member.is_machine)
        return params

    def _mpc(
        self, *, kind: str, conference: Conference, member: Member | None, cause: str
    ) -> dict[str, str]:
        params = {
            "EventName": MPC_EVENT_NAMES[kind],
            "EventTimestamp": self.clock.utcnow().strftime("%Y-%m-%d %H:%M:%S.%f"),
            "SequenceNumber": str(conference.next_sequence()),
            "MPCUUID": conference.uuid,
            "MPCName": conference.name,
        }
        if member is not None:
            params.update(
                {
                    "MemberID": member.member_id,
                    "ParticipantRole": member.role.capitalize(),
                    "ParticipantCallUUID": member.call_uuid,
                    "ParticipantCallFrom": member.caller,
                    "ParticipantCallTo": member.callee,
                    "ParticipantCallDirection": member.direction,
                }
            )
            if kind == JOIN:
                params["ParticipantIsMachine"] = _bool(member.is_machine)
            if kind == EXIT:
                params["ParticipantExitCause"] = cause
        return params

    def listener(self, send: Callable[[dict[str, str]], None]):
        """An engine listener that formats each event and hands it to `send` (delivery)."""

        def hear(kind: str, conference: Conference, member: Member | None, cause: str) -> None:
            params = self.format(kind=kind, conference=conference, member=member, cause=cause)
            if params is not None:
                send(params)

        return hear
