"""How each dialled address behaves: every address answers by itself after `answer_delay`
("auto") unless a special number or a mode set at run time says otherwise. A mode applies
to the next dial of that address."""

from __future__ import annotations

import threading

from calls.simulator.errors import SimulatorError
from calls.simulator.model import canonical

AUTO = "auto"
MANUAL = "manual"
BUSY = "busy"
NO_ANSWER = "no_answer"
VOICEMAIL = "voicemail"
FAIL = "fail"
MESSAGE_BOX = "message_box"
VOICEMAIL_BOX = "voicemail_box"
MODES = (AUTO, MANUAL, BUSY, NO_ANSWER, VOICEMAIL, FAIL, MESSAGE_BOX, VOICEMAIL_BOX)

MODE_HELP = {
    AUTO: "answers after the answer delay",
    MANUAL: "rings until a person answers or rejects it (or the ring timeout)",
    BUSY: "is busy",
    NO_ANSWER: "never answers (no-answer after the ring timeout)",
    VOICEMAIL: "is answered by a voicemail machine",
    FAIL: "fails (carrier failure)",
    MESSAGE_BOX: "answers, plays the no-agent message to the call and hangs up",
    VOICEMAIL_BOX: "answers and takes a voicemail until the caller hangs up",
}

# Documented numbers that always behave one way, so every branch can be reached on purpose.
SPECIAL_NUMBERS = {
    "15005550001": BUSY,
    "15005550002": NO_ANSWER,
    "15005550003": VOICEMAIL,
    "15005550004": FAIL,
    "15005550005": MANUAL,
    # Where the app sends a caller nobody took (INBOUND_MESSAGE_ENDPOINT and
    # INBOUND_VOICEMAIL_ENDPOINT in simulator mode).
    "15005550006": MESSAGE_BOX,
    "15005550007": VOICEMAIL_BOX,
}


class PhoneModes:
    """Per-address behaviour, set at run time or by the special numbers."""

    def __init__(self) -> None:
        self._modes: dict[str, str] = {}
        self._lock = threading.Lock()

    def mode_of(self, address: str) -> str:
        with self._lock:
            if address in self._modes:
                return self._modes[address]
        return SPECIAL_NUMBERS.get(address, AUTO)

    def modes(self) -> dict[str, str]:
        """Modes set at run time (special numbers not included)."""
        with self._lock:
            return dict(self._modes)

    def set_mode(self, address: str, mode: str) -> str:
        """Set how `address` behaves on its next dial; returns the canonical address."""
        if mode not in MODES:
            raise SimulatorError(
                f"Invalid value provided for mode: {mode!r}. Use one of {', '.join(MODES)}."
            )
        key = canonical(address)
        with self._lock:
            self._modes[key] = mode
        return key
