"""Where a caller nobody takes is put through: the no-agent exits, by kind, and the
settings that hold their addresses. One place, so that routing, the guards, the checks and
the pages agree on what an exit's address is."""

from __future__ import annotations

from django.conf import settings

MESSAGE = "message"
VOICEMAIL = "voicemail"

# Each exit's address, by kind (`INBOUND_NO_AGENT_OUTCOME` and a queue's exit name one).
SETTINGS = {MESSAGE: "INBOUND_MESSAGE_ENDPOINT", VOICEMAIL: "INBOUND_VOICEMAIL_ENDPOINT"}


def exit_address(kind: str) -> str:
    """The address the `kind` exit rings; "" when it is not set up."""
    return getattr(settings, SETTINGS[kind]) or ""


def exit_kind(address: str) -> str:
    """The exit `address` rings ("voicemail" or "message"), or "" for any other address."""
    if address:
        for kind in SETTINGS:
            if address == exit_address(kind):
                return kind
    return ""
