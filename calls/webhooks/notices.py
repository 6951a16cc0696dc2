"""Read one normalised event (`CallbackNotice`) from a callback's flat parameters.

Vocabularies: the PHLO Multiparty Call node variables (`event`: ConferenceEnter,
ConferenceExit, Redirect) and the Multiparty Call status callbacks (`EventName`: MPCStart,
ParticipantJoin, ...). Both normalise to a `CallbackNotice` that says which member state the
event asks for, keyed by the leg's address, leg uuid and conference uuid. The parameters come
from `calls.webhooks.bodies` (a request) or from a stored callback (a replay).
"""

import enum
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from calls.addresses import InvalidAddress, normalize_address
from calls.models import CallbackEvent, Member
from calls.webhooks.bodies import MalformedCallback, Params

State = Member.State
Vocabulary = CallbackEvent.Vocabulary


class NoticeKind(enum.StrEnum):
    MEMBER = "member"  # moves one member to `member_state`
    END = "end"  # the whole conference ended
    INFO = "info"  # kept for the timeline; binds ids, changes no state
    UNKNOWN = "unknown"  # an event name we do not know


@dataclass(frozen=True)
class CallbackNotice:
    vocabulary: str
    event: str
    kind: NoticeKind
    member_state: str | None = None
    address: str = ""
    call_uuid: str = ""
    conference_uuid: str = ""
    conference_name: str = ""
    member_id: str = ""
    is_machine: bool = False
    # An exit's cause as the provider said it ("completed", "busy", ...); "" for other events.
    exit_cause: str = ""
    event_at: datetime | None = None
    # The provider's order of events in the conference (Multiparty Call SequenceNumber);
    # None in PHLO's vocabulary, which has none.
    sequence: int | None = None
    # Why the event was read the way it was, when that is not obvious (kept on the record).
    note: str = ""

    @property
    def has_participant(self) -> bool:
        return bool(self.call_uuid or self.address)

    @property
    def leaves_the_bridge(self) -> bool:
        """A leg that was on the call leaving it (hung up, or taken out as the call ended),
        as opposed to a dial that ended unanswered."""
        return self.member_state == State.LEFT and self.exit_cause == "completed"

    @property
    def is_entering(self) -> bool:
        """A leg entering the call (as opposed to, say, coming off hold)."""
        return self.event in ("ConferenceEnter", "ParticipantJoin")


PHLO_EVENTS = ("ConferenceEnter", "ConferenceExit", "Redirect")
MPC_EVENTS = (
    "MPCInitialized",
    "MPCStart",
    "MPCEnd",
    "ParticipantJoin",
    "ParticipantExit",
    "ParticipantHold",
    "ParticipantUnhold",
    "ParticipantMute",
    "ParticipantUnmute",
)
EXIT_STATES = {
    "completed": State.LEFT,
    "canceled": State.LEFT,
    "cancelled": State.LEFT,
    "busy": State.BUSY,
    "no-answer": State.NO_ANSWER,
    "failed": State.FAILED,
}
_TRUE = {"true", "1", "yes"}


def _text(params: Params, key: str) -> str:
    value = params.get(key, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return value.strip()


def _address(raw: str) -> tuple[str, str]:
    """(canonical address, note): an address we cannot read matches nothing but is kept."""
    if not raw:
        return "", ""
    try:
        return normalize_address(raw), ""
    except InvalidAddress:
        return "", f"unreadable address {raw!r}"


def _leg_address(*, direction: str, to: str, from_: str) -> tuple[str, str]:
    # The member is the far end of the leg: who was dialled, or who dialled in.
    return _address(from_ if direction.lower() == "inbound" else to)


def _exit_state(cause: str) -> tuple[str, str]:
    state = EXIT_STATES.get(cause.lower())
    if state:
        return state, ""
    return State.LEFT, f"exit with unknown status {cause!r} taken as left"


def parse_event_time(raw: str) -> datetime | None:
    """The provider's UTC `YYYY-MM-DD HH:MM:SS[.ffffff]` (ISO 8601 with an offset also read)."""
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise MalformedCallback(
            f"EventTimestamp {raw!r} is not a date and time; expected YYYY-MM-DD HH:MM:SS (UTC)."
        ) from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# Up to 18 digits: any order a provider counts fits the column (a signed 64-bit integer).
_SEQUENCE = re.compile(r"[0-9]{1,18}")


def parse_sequence(raw: str) -> tuple[int | None, str]:
    """(SequenceNumber, note): one we cannot read orders nothing, and the event still counts."""
    if not raw:
        return None, ""
    if _SEQUENCE.fullmatch(raw):
        return int(raw), ""
    return None, f"unreadable SequenceNumber {raw[:40]!r} ignored"


def normalise(params: Params) -> CallbackNotice:
    """Read either vocabulary. Raises MalformedCallback when no event field is present."""
    mpc_event = _text(params, "EventName")
    if mpc_event:
        return _normalise_mpc(params, mpc_event)
    phlo_event = _text(params, "event")
    if phlo_event:
        return _normalise_phlo(params, phlo_event)
    raise MalformedCallback(
        "No event field: a PHLO callback has 'event', a Multiparty Call callback 'EventName'."
    )


def _normalise_phlo(params: Params, event: str) -> CallbackNotice:
    address, address_note = _leg_address(
        direction=_text(params, "direction"), to=_text(params, "to"), from_=_text(params, "from")
    )
    ids = {
        "address": address,
        "call_uuid": _text(params, "call_uuid"),
        "conference_uuid": _text(params, "conference_uuid"),
        "conference_name": _text(params, "conference_name"),
        "member_id": _text(params, "member_id"),
    }
    if event not in PHLO_EVENTS:
        return CallbackNotice(
            vocabulary=Vocabulary.UNKNOWN,
            event=event,
            kind=NoticeKind.UNKNOWN,
            note=f"unknown PHLO event {event!r}",
            **ids,
        )
    status = _text(params, "call_status").lower()
    notes = [address_note]
    state = None
    is_machine = False
    exit_cause = status if event == "ConferenceExit" else ""
    if event == "ConferenceEnter":
        if status in ("", "in-progress", "answered"):
            is_machine = _text(params, "machine").lower() in _TRUE
            state = State.VOICEMAIL if is_machine else State.TALKING
        else:
            notes.append(f"enter with call_status {status!r} changes nothing")
    elif event == "ConferenceExit":
        state, note = _exit_state(status)
        notes.append(note)
    return CallbackNotice(
        vocabulary=Vocabulary.PHLO,
        event=event,
        kind=NoticeKind.MEMBER if state else NoticeKind.INFO,
        member_state=state,
        is_machine=is_machine,
        exit_cause=exit_cause,
        note="; ".join(n for n in notes if n),
        **ids,
    )


def _normalise_mpc(params: Params, event: str) -> CallbackNotice:
    address, address_note = _leg_address(
        direction=_text(params, "ParticipantCallDirection"),
        to=_text(params, "ParticipantCallTo"),
        from_=_text(params, "ParticipantCallFrom"),
    )
    ids = {
        "address": address,
        "call_uuid": _text(params, "ParticipantCallUUID"),
        "conference_uuid": _text(params, "MPCUUID"),
        "conference_name": _text(params, "MPCName"),
        "member_id": _text(params, "MemberID"),
        "event_at": parse_event_time(_text(params, "EventTimestamp")),
    }
    sequence, sequence_note = parse_sequence(_text(params, "SequenceNumber"))
    if event not in MPC_EVENTS:
        return CallbackNotice(
            vocabulary=Vocabulary.UNKNOWN,
            event=event,
            kind=NoticeKind.UNKNOWN,
            note=f"unknown Multiparty Call event {event!r}",
            sequence=sequence,
            **ids,
        )
    notes = [address_note, sequence_note]
    is_machine = _text(params, "ParticipantIsMachine").lower() in _TRUE
    state = None
    exit_cause = ""
    kind = NoticeKind.MEMBER
    if event == "ParticipantJoin":
        state = State.VOICEMAIL if is_machine else State.TALKING
    elif event == "ParticipantExit":
        exit_cause = _text(params, "ParticipantExitCause").lower()
        state, note = _exit_state(exit_cause)
        notes.append(note)
    elif event == "ParticipantHold":
        state = State.ON_HOLD
    elif event == "ParticipantUnhold":
        state = State.TALKING
    elif event == "MPCEnd":
        kind = NoticeKind.END
    else:
        kind = NoticeKind.INFO
    return CallbackNotice(
        vocabulary=Vocabulary.MPC,
        event=event,
        kind=kind,
        member_state=state,
        is_machine=is_machine and event == "ParticipantJoin",
        exit_cause=exit_cause,
        sequence=sequence,
        note="; ".join(n for n in notes if n),
        **ids,
    )
