"""Phone numbers and SIP URIs as PHLO sees them: one canonical text form per address.

Plivo writes numbers in E.164 without the "+" (`14155550123`), so that is the canonical
form: a leading "+" or "00", spaces, dashes, dots and brackets are dropped. SIP URIs keep
their user part and lower-case the scheme and host. Customers' numbers, agents' endpoints
and members' addresses are all stored this way, so callbacks match with plain equality.
"""

import re

# The width of the columns addresses are stored in (Member.address, Agent.endpoint).
MAX_ADDRESS = 255
_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")
_PHONE = re.compile(r"^[0-9]{3,15}$")
# The user part excludes control characters and unpaired surrogates: neither can be stored.
_SIP = re.compile(
    r"^(?P<scheme>sips?):(?P<user>[^@\s:;/\x00-\x1f\x7f-\x9f\ud800-\udfff]+)"
    r"@(?P<host>[A-Za-z0-9.\-]+)(?P<port>:\d{1,5})?$",
    re.IGNORECASE,
)


class InvalidAddress(ValueError):
    """The text is neither a phone number nor a SIP URI; the message says why."""


def is_sip(address: str) -> bool:
    return address.lower().startswith(("sip:", "sips:"))


def normalize_address(raw: str) -> str:
    text = (raw or "").strip()
    if not text:
        raise InvalidAddress("Enter a phone number or a SIP address.")
    if len(text) > MAX_ADDRESS:
        raise InvalidAddress(f"An address can be at most {MAX_ADDRESS} characters long.")
    if is_sip(text):
        match = _SIP.match(text)
        if not match:
            raise InvalidAddress(
                f"{text!r} is not a valid SIP address; use the form sip:user@host."
            )
        port = match["port"] or ""
        return f"{match['scheme'].lower()}:{match['user']}@{match['host'].lower()}{port}"
    phone = _PHONE_PUNCTUATION.sub("", text)
    if phone.startswith("+"):
        phone = phone[1:]
    elif phone.startswith("00"):
        phone = phone[2:]
    if not _PHONE.match(phone):
        raise InvalidAddress(
            f"{text!r} is not a valid phone number; use 3 to 15 digits with an optional"
            " leading +, for example +14155550123."
        )
    return phone


def display_address(address: str) -> str:
    """How a person reads an address: numbers get their "+" back."""
    return address if is_sip(address) or not address else f"+{address}"
