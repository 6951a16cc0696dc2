"""Addresses people and providers send us: what may be dialled (`dialable_address`) against
what the provider may send (`normalize_address`: canonical when usable, else InvalidAddress),
and the start-up check of the default region."""

import pytest

from calls.addresses import (
    MAX_ADDRESS,
    InvalidAddress,
    dialable_address,
    display_address,
    normalize_address,
)
from calls.checks import phone_default_region


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


@pytest.mark.parametrize("port", ["0", "65536", "99999"])
def test_a_sip_port_no_network_has_is_refused(port):
    with pytest.raises(InvalidAddress, match="a port is 1 to 65535"):
        normalize_address(f"sip:user@host.test:{port}")
    assert normalize_address("sip:user@host.test:65535") == "sip:user@host.test:65535"


def dial(text: str, region: str = "US") -> str:
    return dialable_address(text, default_region=region)


def refusal(text: str, region: str = "US") -> str:
    with pytest.raises(InvalidAddress) as caught:
        dial(text, region)
    return str(caught.value)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # The simulator's special numbers (NANP 500 numbers) and the demo's numbers.
        ("+1 500 555 0001", "15005550001"),
        ("+1 500 555 0005", "15005550005"),
        ("+1 (415) 555-0101", "14155550101"),
        ("+44 20 7946 0999", "442079460999"),
        ("+81 3 5555 0105", "81355550105"),
        ("15005550004", "15005550004"),
    ],
)
def test_documented_numbers_are_dialled(typed, expected):
    assert dial(typed) == expected


@pytest.mark.parametrize("region", ["US", "GB", "FR", "JP"])
def test_a_number_given_back_with_its_plus_is_itself_in_any_region(region):
    for address in ("14155550101", "442079460999", "15005550003", "sip:bob@pbx.test"):
        assert dial(display_address(address), region) == address


def test_a_truncated_number_is_refused_with_the_reason():
    assert refusal("+1 415 55") == (
        "'+1 415 55' is not a valid phone number: it is too short for +1. Check the digits."
    )
    assert "too long for +1" in refusal("+1 415 555 01011")
    assert "is not a valid phone number: it is too short" in refusal("+1 2")


def test_a_number_of_the_right_length_that_cannot_exist_is_refused():
    """Why `is_valid_number` and not `is_possible_number`: no NANP area code starts with 1."""
    assert "no +1 number starts that way" in refusal("+1 123 456 7890")
    assert "no country has that code" in refusal("+999 1234 5678")


def test_local_numbers_are_read_in_the_default_region():
    assert dial("415 555 0101") == "14155550101"
    assert dial("(415) 555-0101") == "14155550101"
    assert dial("1 415 555 0101") == "14155550101"  # with the national prefix
    assert dial("020 7946 0999", "GB") == "442079460999"
    assert dial("020 7946 0999", "gb") == "442079460999"
    # Each country's own international prefix.
    assert dial("011 44 20 7946 0999", "US") == "442079460999"
    assert dial("00 44 20 7946 0999", "GB") == "442079460999"


def test_a_local_number_that_is_not_one_there_names_the_region():
    message = refusal("415 555 0101", "GB")
    assert message.startswith("'415 555 0101' is not a valid phone number in GB:")
    assert "needs + and its country code" in message
    assert "lacks its area code" in refusal("555 0101")


@pytest.mark.parametrize("typed", ["+1 415 555 0101 x12", "call me 4155550101", "1-800-FLOWERS"])
def test_only_digits_and_phone_punctuation(typed):
    assert "may hold only digits" in refusal(typed)


def test_sip_addresses_as_normalize_address_reads_them():
    assert dial("sip:Someone@Example.COM") == "sip:Someone@example.com"
    assert dial("sip:100@pbx.test:5060") == "sip:100@pbx.test:5060"  # a short user is fine
    assert "not a valid SIP address" in refusal("sip:nohost")
    assert refusal("  ") == "Enter a phone number or a SIP address."


def test_normalize_address_still_takes_what_the_provider_sends():
    """Callbacks and the simulator keep the lenient, form-only reading."""
    assert normalize_address("+1 415 55") == "141555"
    assert normalize_address("15005550001") == "15005550001"


def test_the_default_region_is_checked_at_start_up(settings):
    settings.PHONE_DEFAULT_REGION = "GB"
    assert phone_default_region(None) == []
    settings.PHONE_DEFAULT_REGION = "USA"
    [error] = phone_default_region(None)
    assert error.id == "calls.E002" and "'USA'" in error.msg
