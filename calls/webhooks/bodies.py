"""Turn a callback's HTTP body into flat parameters (no database, no event semantics).

Bodies: `application/x-www-form-urlencoded` (what Plivo sends) and `application/json`. Both
become a flat mapping of text values (a repeated form key becomes a list), which is what the
V3 signature covers and what the dedupe key hashes. `calls.webhooks.notices` reads the
event from those parameters.

A JSON body must be an object nested at most `MAX_DEPTH` levels deep (real callbacks are
flat), read by `calls.untrusted_json`, which also refuses NaN, huge numbers and unpaired
surrogates: the body is read before its signature is checked, so anyone can send one, and
whatever it holds is answered 400. Its values are flattened exactly as the provider's Python
SDK (`plivo.utils.signature_v3.validate_v3_signature`) treats a params dict, so a sender
signing the parsed object with the SDK's algorithm produces the signature we check:
strings as they are, numbers and booleans with Python's `str()` (`17`, `1.5`, `True`), null
as `None`, a list as its sorted values, and a nested object as its own sorted `keyvalue` text.
"""

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from calls.untrusted_json import MAX_DEPTH, UnreadableJSON, load_json

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MAX_FIELDS = 200
_SURROGATE = re.compile("[\ud800-\udfff]")

Params = dict[str, str | list[str]]


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
        _storable_tree(data)  # stored as sent: a key the flat params drop is stored too
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


def _storable_tree(data: Any, *, key: str = "") -> None:
    # Every key and text of the decoded object, at any depth (bounded by _parse_json).
    if isinstance(data, Mapping):
        for name, value in data.items():
            _check_storable(name, name)
            _storable_tree(value, key=name)
    elif isinstance(data, list):
        for item in data:
            _storable_tree(item, key=key)
    elif isinstance(data, str):
        _check_storable(key, data)


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
