"""Phone numbers and SIP URIs as PHLO sees them: one canonical text form per address.

Plivo writes numbers in E.164 without the "+" (`14155550123`), so that is the canonical
form: a leading "+" or "00", spaces, dashes, dots and brackets are dropped. SIP URIs keep
their user part and lower-case the scheme and host. Customers' numbers, agents' endpoints
and members' addresses are all stored this way, so callbacks match with plain equality.

`normalize_address` takes whatever the provider sends (short SIP users, test numbers), so
it checks form only. What we dial goes through `dialable_address` too, which also refuses
numbers that cannot exist, by the `phonenumbers` library's metadata.
"""

import re

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult

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
        if port and not 1 <= int(port[1:]) <= 65535:
            raise InvalidAddress(f"{text!r} is not a valid SIP address: a port is 1 to 65535.")
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


# Only digits, phone punctuation and one leading "+": phonenumbers alone would also pick a
# number out of "call me 4155550123", read letters as keypad digits and drop an extension.
_TYPED_PHONE = re.compile(r"^\+?[0-9]+$")
_WHY_NOT_VALID = {
    ValidationResult.TOO_SHORT: "it is too short",
    ValidationResult.TOO_LONG: "it is too long",
    ValidationResult.INVALID_LENGTH: "it has the wrong number of digits",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "it lacks its area code",
    ValidationResult.INVALID_COUNTRY_CODE: "no country has that code",
}
# Digits-only text that phonenumbers cannot parse at all is mostly too short ("+1 2").
_WHY_NOT_PARSED = {
    NumberParseException.INVALID_COUNTRY_CODE: "no country has that code",
    NumberParseException.TOO_LONG: "it is too long",
}


def dialable_address(text: str, *, default_region: str) -> str:
    """What a person typed, as the canonical address to dial; `InvalidAddress` says why not.

    A SIP URI as `normalize_address` reads it. A number with a leading "+" carries its
    country code; one without is local to `default_region` (ISO 3166 code, e.g. "US"),
    dialled with that country's own prefixes ("011" from the US, "00" from most of Europe).
    An address given back with its "+" (`display_address`) reads as itself in any region."""
    text = (text or "").strip()
    if not text or is_sip(text):
        return normalize_address(text)
    region = None if text.startswith("+") else default_region.upper()
    if not _TYPED_PHONE.match(_PHONE_PUNCTUATION.sub("", text)):
        why = "it may hold only digits, spaces, dots and + - ( )"
        raise InvalidAddress(_not_a_number(text, why=why, region=region))
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        why = _WHY_NOT_PARSED.get(exc.error_type, "it is too short")
        raise InvalidAddress(_not_a_number(text, why=why, region=region)) from None
    # Valid, not merely possible: "possible" checks only the length for the country, so
    # "+1 123 456 7890" (no area code starts with 1) would be dialled. Every number we
    # document is valid by the library's metadata: the simulator's +1 500 555 0001..0005
    # (NANP personal numbers) and the demo's +1 415 555 01xx. The cost: a range opened
    # after the installed phonenumbers release is refused until it is upgraded.
    if not phonenumbers.is_valid_number(number):
        why = _why_not_valid(number, local=region is not None)
        raise InvalidAddress(_not_a_number(text, why=why, region=region))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def _why_not_valid(number: phonenumbers.PhoneNumber, *, local: bool) -> str:
    why = _WHY_NOT_VALID.get(phonenumbers.is_possible_number_with_reason(number))
    if local:  # the message names the region already
        return why or "no number there starts that way"
    code = f"+{number.country_code}"
    return f"{why} for {code}" if why else f"no {code} number starts that way"


def _not_a_number(text: str, *, why: str, region: str | None) -> str:
    if region is None:
        return f"{text!r} is not a valid phone number: {why}. Check the digits."
    return (
        f"{text!r} is not a valid phone number in {region}: {why}. Check the digits; a number"
        " in another country needs + and its country code, for example +44 20 7946 0999."
    )


def display_address(address: str) -> str:
    """How a person reads an address: numbers get their "+" back."""
    return address if is_sip(address) or not address else f"+{address}"
