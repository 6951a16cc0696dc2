"""Addresses people and providers send us: canonical when usable, else InvalidAddress."""

import pytest

from calls.addresses import MAX_ADDRESS, InvalidAddress, normalize_address


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 (415) 555-0100", "14155550100"),
        ("+1\xa0415\xa0555\xa00100", "14155550100"),  # pasted with no-break spaces
        ("SIP:Alice@Phones.Example.com:5060", "sip:Alice@phones.example.com:5060"),
        ("sip:jos\xe9@phones.test", "sip:jos\xe9@phones.test"),
    ],
)
def test_usable_addresses_are_canonical(raw, expected):
    assert normalize_address(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        # Neither PostgreSQL (NUL) nor UTF-8 (unpaired surrogates) can store these.
        ("sip:a\x00b@phones.test", "not a valid SIP address"),
        ("sip:a\x1bb@phones.test", "not a valid SIP address"),
        ("sip:a\x85b@phones.test", "not a valid SIP address"),
        ("sip:a\ud800b@phones.test", "not a valid SIP address"),
        ("+1415\x00555", "not a valid phone number"),
        # Wider than the columns addresses are stored in.
        ("sip:a@" + "x" * MAX_ADDRESS, f"at most {MAX_ADDRESS} characters"),
        ("1" * 100_000, f"at most {MAX_ADDRESS} characters"),
    ],
)
def test_what_cannot_be_stored_is_invalid(raw, reason):
    with pytest.raises(InvalidAddress, match=reason):
        normalize_address(raw)
