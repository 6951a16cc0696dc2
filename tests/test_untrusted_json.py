"""JSON from outside: refused with a reason when it could crash a reader, else as json.loads."""

import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.untrusted_json import MAX_DEPTH, UnreadableJSON, load_json, nests_deeper_than


def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


@pytest.mark.parametrize(
    ("text", "deeper_than_2"),
    [
        ("{}", False),
        ('{"a": [1]}', False),
        ('{"a": [[1]]}', True),
        ('{"a": "[[[[{{{{"}', False),
        ('{"a": "\\"[[[[", "b": "]]]"}', False),
        ('["\\\\", [[1]]]', True),
        ("[[]]", False),
        ("[[], [], []]", False),
    ],
)
def test_depth_scan_counts_only_brackets_outside_strings(text, deeper_than_2):
    assert nests_deeper_than(text, 2) is deeper_than_2


def test_the_limit_itself_is_accepted():
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert _depth(load_json(text)) == MAX_DEPTH
    with pytest.raises(UnreadableJSON, match=f"more than {MAX_DEPTH} levels deep"):
        load_json("[" + text + "]")


def test_a_hundred_thousand_levels_are_refused_without_recursion():
    with pytest.raises(UnreadableJSON, match="levels deep"):
        load_json('{"a":' * 100_000 + "1" + "}" * 100_000)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("NaN", "The body holds NaN"),
        ("[Infinity]", "holds Infinity"),
        ("-1e400", "too large to represent"),
        ("1" * 101, "more than 100 digits"),
        ('"\\ud800"', "unpaired surrogate"),
        ('"\\udc00\\ud800"', "unpaired surrogate"),
        (b'"\xed\xa0\x80"', "not UTF-8"),
        (b"\xff", "not UTF-8"),
        ("{", "The body is not valid JSON: "),
        ("", "The body is not valid JSON: "),
    ],
)
def test_what_could_crash_a_reader_is_refused_with_a_reason(data, reason):
    with pytest.raises(UnreadableJSON, match=reason.replace("(", r"\(")):
        load_json(data)


def test_the_message_names_the_input():
    with pytest.raises(UnreadableJSON, match=r"^The request body holds NaN"):
        load_json("NaN", what="The request body")


@pytest.mark.parametrize(
    "data",
    [
        '"\\ud83d\\ude00"',  # a valid surrogate pair is one character
        "1" * 100,
        '{"a": [1.5, -2, true, null, "x"]}',
        '"\\u0000"',  # NUL is text; whoever stores it decides
        "{}".encode("utf-16"),  # with its byte order mark
    ],
)
def test_ordinary_json_reads_as_json_loads_reads_it(data):
    text = data.decode("utf-16") if isinstance(data, bytes) else data
    assert load_json(data) == json.loads(text)


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, print_blob=True)
@given(_json)
def test_any_json_is_read_back_or_refused_for_its_depth(value):
    text = json.dumps(value)
    if _depth(value) > MAX_DEPTH:
        with pytest.raises(UnreadableJSON, match="levels deep"):
            load_json(text)
    elif _has_lone_surrogate(value):
        with pytest.raises(UnreadableJSON, match="surrogate"):
            load_json(text)
    else:
        assert load_json(text) == json.loads(text)


def _has_lone_surrogate(value) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    return False


# Mostly JSON's own characters, so that the text is often nearly JSON.
_TOKENS = [*'{}[]",:0123456789.eE+- ', "\\", "\\ud800", "true", "NaN", "Infinity", '"a":']
_JSONISH = st.lists(st.sampled_from(_TOKENS), max_size=100).map("".join)


@settings(
    max_examples=300,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.binary(max_size=200) | st.text(max_size=200) | _JSONISH)
def test_any_input_is_read_or_refused_never_raises_anything_else(data):
    with contextlib.suppress(UnreadableJSON):
        load_json(data)
