"""Turn a callback's body into parameters, and parameters into one normalised event.

Bodies: `application/x-www-form-urlencoded` (what Plivo sends) and `application/json`. Both
become a flat mapping of text values (a repeated form key becomes a list), which is what the
V3 signature covers and what the dedupe key hashes.

A JSON body must be an object nested at most `MAX_DEPTH` levels deep (real callbacks are
flat), read by `calls.untrusted_json`, which also refuses NaN, huge numbers and unpaired
surrogates: the body is read before its signature is checked, so anyone can send one, and
whatever it holds is answered 400. Its values are flattened exactly as the provider's Python
SDK (`plivo.utils.signature_v3.validate_v3_signature`) treats a params dict, so a sender
signing the parsed object with the SDK's algorithm produces the signature we check:
strings as they are, numbers and booleans with Python's `str()` (`17`, `1.5`, `True`), null
as `None`, a list as its sorted values, and a nested object as its own sorted `keyvalue` text.

Vocabularies: the PHLO Multiparty Call node variables (`event`: ConferenceEnter,
ConferenceExit, Redirect) and the Multiparty Call status callbacks (`EventName`: MPCStart,
ParticipantJoin, ...). Both normalise to a `CallbackNotice` that says which member state the
event asks for, keyed by the leg's address, leg uuid and conference uuid.
"""

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from calls.addresses import InvalidAddress, normalize_address
from calls.models import CallbackEvent, Member
from calls.untrusted_json import MAX_DEPTH, UnreadableJSON, load_json

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MAX_FIELDS = 200
_SURROGATE = re.compile("[\ud800-\udfff]")

Params = dict[str, str | list[str]]
State = Member.State
Vocabulary = CallbackEvent.Vocabulary


class MalformedCallback(ValueError):
    """The request cannot be read as a callback; the message says why (answered with 400)."""


# --- bodies -----------------------------------------------------------------------------------


def parse_body(*, content_type: str, charset: str | None, body: bytes) -> tuple[Params, Any]:
    """Return (flat params, params as stored) for a callback body.

    The stored form is the body as the provider sent it: the flat params for a form, the
    decoded object for JSON.
    """
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == FORM:
        params = _parse_form(body=body, charset=charset or "utf-8")
        return _storable(params), params
    if kind == JSON:
        data = _parse_json(body=body, charset=charset or "utf-8")
        return _storable(flatten_params(data)), data
    shown = kind or "none"
    raise MalformedCallback(
        f"Unsupported Content-Type {shown!r}: send {FORM} (as Plivo does) or {JSON}."
    )


def _storable(params: Params) -> Params:
    # Every text of the body is in the flat params (nested ones inside their key's text).
    for key, value in params.items():
        for text in [key, *(value if isinstance(value, list) else [value])]:
            _check_storable(key, text)
    return params


def _check_storable(key: str, text: str) -> None:
    # PostgreSQL cannot store NUL in text, and no real callback carries one.
    if "\x00" in text:
        raise MalformedCallback(f"Field {key!r} contains a NUL character.")
    # Charsets such as utf-7 decode to unpaired surrogates, which cannot be signed or saved.
    if not text.isascii() and _SURROGATE.search(text):
        raise MalformedCallback(f"Field {key!r} contains an unpaired surrogate, which is not text.")


def _decode(body: bytes, charset: str) -> str:
    shown = charset[:40]
    try:
        return body.decode(charset)
    except LookupError as exc:
        raise MalformedCallback(f"Unknown charset {shown!r}.") from exc
    except ValueError as exc:
        # UnicodeDecodeError; UnicodeError from codecs such as punycode; a NUL in the name.
        raise MalformedCallback(f"The body is not valid {shown} text.") from exc


def _parse_form(*, body: bytes, charset: str) -> Params:
    text = _decode(body, charset)
    try:
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            max_num_fields=MAX_FIELDS,
            encoding=charset,
            errors="strict",
        )
    except UnicodeError as exc:
        raise MalformedCallback(f"A form value is not valid {charset[:40]} once decoded.") from exc
    except ValueError as exc:
        raise MalformedCallback(f"Too many form fields (more than {MAX_FIELDS}).") from exc
    params: Params = {}
    for key, value in pairs:
        if key in params:
            previous = params[key]
            params[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            params[key] = value
    return params


def _parse_json(*, body: bytes, charset: str) -> dict:
    try:
        data = load_json(_decode(body, charset), what="The body", max_depth=MAX_DEPTH)
    except UnreadableJSON as exc:
        raise MalformedCallback(str(exc)) from exc
    if not isinstance(data, dict):
        raise MalformedCallback(
            f"The JSON body must be an object of callback fields, not {type(data).__name__}."
        )
    if len(data) > MAX_FIELDS:
        raise MalformedCallback(f"Too many fields (more than {MAX_FIELDS}).")
    return data


def _scalar_text(value: Any) -> str:
    # str() for numbers, booleans and null, as the provider's SDK formats them.
    return value if isinstance(value, str) else str(value)


def _nested_text(value: Mapping) -> str:
    parts = []
    for key in sorted(value):
        item = value[key]
        if isinstance(item, Mapping):
            parts.append(f"{key}{_nested_text(item)}")
        elif isinstance(item, list):
            parts.append("".join(f"{key}{v}" for v in sorted(_list_texts(key, item))))
        else:
            parts.append(f"{key}{_scalar_text(item)}")
    return "".join(parts)


def _list_texts(key: str, items: list) -> list[str]:
    if any(isinstance(item, (list, Mapping)) for item in items):
        raise MalformedCallback(f"Field {key!r} holds a list of lists or objects; not supported.")
    return [_scalar_text(item) for item in items]


def flatten_params(data: Mapping) -> Params:
    """Flat text params for a decoded JSON object (or already-flat form params).

    Recursive for nested objects: only give it what `parse_body` accepted (or stored), whose
    depth is bounded.
    """
    flat: Params = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            flat[key] = _nested_text(value)
        elif isinstance(value, list):
            flat[key] = _list_texts(key, value)
        else:
            flat[key] = _scalar_text(value)
    return flat


def canonical_text(params: Params) -> str:
    """One text per set of params, whatever their order: the input of the dedupe key."""
    ordered = {
        key: sorted(value) if isinstance(value, list) else value
        for key, value in sorted(params.items())
    }
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))


# --- events -----------------------------------------------------------------------------------


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
