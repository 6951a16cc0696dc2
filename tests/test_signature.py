"""The V3 signature against the reference's test vectors (computed with the provider's SDK)."""

import pytest

from calls.signature import compute_signature, is_valid_signature, signed_string

URL = "https://cc.example.com/plivo/callback/"
PARAMS = {
    "event": "ConferenceEnter",
    "member_id": "17",
    "call_uuid": "a1b2",
    "conference_name": "Sales 1",
}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, "AlzNphb4Ok/furg4gY4Sf2U9qS71QrQR01bOPKwcpps="),
        (PARAMS, "6zeEegWyaG0lR1R09KM+yGUEot6Qd2RwxoiSa93Havc="),
    ],
)
def test_reference_vectors(params, expected):
    assert (
        compute_signature(url=URL, params=params, nonce="12345", auth_token="my_auth_token")
        == expected
    )


def test_signed_string_matches_reference():
    assert signed_string(url=URL, params=PARAMS, nonce="12345") == (
        "https://cc.example.com/plivo/callback/?call_uuida1b2conference_nameSales 1"
        "eventConferenceEntermember_id17.12345"
    )


def test_query_string_is_sorted_and_params_follow_a_dot():
    text = signed_string(url="https://h/p/?b=2&a=1", params={"z": "9"}, nonce="n")
    assert text == "https://h/p/?a=1&b=2.z9.n"


def test_list_values_are_sorted():
    assert signed_string(
        url="https://h/", params={"k": ["b", "a"]}, nonce="n"
    ) == "https://h/?ka kb.n".replace(" ", "")


def test_upper_case_keys_sort_first():
    assert (
        signed_string(url="https://h/", params={"a": "1", "B": "2"}, nonce="n")
        == "https://h/?B2a1.n"
    )


def test_any_of_several_signatures_and_tokens_is_accepted():
    good = compute_signature(url=URL, params=PARAMS, nonce="12345", auth_token="new-token")
    header = f"bogus=, {good}"
    assert is_valid_signature(
        url=URL, params=PARAMS, nonce="12345", header=header, auth_tokens=["old", "new-token"]
    )


def test_tampered_body_or_wrong_token_or_missing_nonce_is_refused():
    good = compute_signature(url=URL, params=PARAMS, nonce="12345", auth_token="my_auth_token")
    tampered = {**PARAMS, "member_id": "18"}
    assert not is_valid_signature(
        url=URL, params=tampered, nonce="12345", header=good, auth_tokens=["my_auth_token"]
    )
    assert not is_valid_signature(
        url=URL, params=PARAMS, nonce="12345", header=good, auth_tokens=["other"]
    )
    assert not is_valid_signature(
        url=URL, params=PARAMS, nonce="", header=good, auth_tokens=["my_auth_token"]
    )
    assert not is_valid_signature(
        url=URL, params=PARAMS, nonce="12345", header="", auth_tokens=["my_auth_token"]
    )
