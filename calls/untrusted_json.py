"""Read JSON that anyone can send, so that no body can crash whoever reads it.

Plain `json.loads` is not safe on hostile input: it recurses once per level of nesting (a
body nested 100,000 deep raises RecursionError), reads `NaN`, `Infinity` and `1e999` as
floats that no JSON column accepts, keeps `"\\ud800"` escapes as unpaired surrogates that
cannot be encoded (so saving, signing or hashing them raises), and turns a 5,000-digit
number into a ValueError that advises changing the interpreter's limits.

`load_json` refuses all of these with an `UnreadableJSON` whose message says why, in a
sentence the caller can answer with. Depth is checked by a flat scan before parsing, so
neither the parser nor anything that walks the result later can recurse deeply.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Everything we receive is a flat object; a few levels leave room for the odd nested field.
MAX_DEPTH = 4
# Far more than any id or count we read; well under Python's int-from-text limit (4300).
MAX_DIGITS = 100

# A JSON string, escapes included; its brackets are text, not nesting.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class UnreadableJSON(ValueError):
    """The input cannot be accepted as JSON; the message is a sentence saying why."""


def nests_deeper_than(text: str, limit: int) -> bool:
    """True when arrays and objects in `text` nest more than `limit` levels; no recursion.

    Made for input that is about to be parsed: on text that is not JSON the answer may be
    either, and the parser refuses that text anyway.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    depth = 0
    for char in brackets:
        depth += 1 if char in "[{" else -1
        if depth > limit:
            return True
    return False


def load_json(data: str | bytes, *, what: str = "The body", max_depth: int = MAX_DEPTH) -> Any:
    """The decoded value, or UnreadableJSON. `what` names the input in the message."""
    text = _text(data, what=what)
    if nests_deeper_than(text, max_depth):
        raise UnreadableJSON(
            f"{what} nests objects or lists more than {max_depth} levels deep;"
            " nothing we accept is nested that far."
        )
    try:
        value = json.loads(
            text, parse_constant=_refuse_constant, parse_float=_finite, parse_int=_short_int
        )
    except UnreadableJSON as exc:
        raise UnreadableJSON(f"{what} {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise UnreadableJSON(f"{what} is not valid JSON: {exc}.") from exc
    _refuse_surrogates(value, what=what)
    return value


def _text(data: str | bytes, *, what: str) -> str:
    if isinstance(data, str):
        return data
    try:
        # As json.loads does, but strict: it lets encoded surrogates through.
        return data.decode(json.detect_encoding(data))
    except UnicodeDecodeError as exc:
        raise UnreadableJSON(f"{what} is not UTF-8, UTF-16 or UTF-32 text.") from exc


def _refuse_constant(name: str) -> Any:
    raise UnreadableJSON(f"holds {name}, which is not a number JSON allows.")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnreadableJSON(f"holds the number {text[:20]}, too large to represent.")
    return value


def _short_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise UnreadableJSON(f"holds a number with more than {MAX_DIGITS} digits.")
    return int(text)


def _refuse_surrogates(value: Any, *, what: str) -> None:
    # json.loads pairs valid surrogate escapes into one character; only lone ones remain,
    # and they are what UTF-8 cannot encode. The depth check bounds dumps' recursion.
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError as exc:
        raise UnreadableJSON(
            f"{what} holds an unpaired surrogate escape (\\ud800 to \\udfff), which is not text."
        ) from exc
