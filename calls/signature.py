"""Plivo request signatures, version 3 (X-Plivo-Signature-V3).

Shared by the webhook, which checks them, and the simulator, which makes them. The
algorithm is the provider's, described in shared/reference/phlo-api.md:

    url [?sorted query k=v&k=v] [? or . then sorted params as keyvalue...] . nonce

signed with HMAC-SHA256 keyed by the Auth Token and base64-encoded.
"""

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qs, urlsplit

SIGNATURE_HEADER = "X-Plivo-Signature-V3"
NONCE_HEADER = "X-Plivo-Signature-V3-Nonce"

Params = Mapping[str, str | list[str]]


def _values(value: str | list[str]) -> list[str]:
    return sorted(value) if isinstance(value, list) else [value]


def signed_string(*, url: str, params: Params, nonce: str) -> str:
    """The exact text that is signed for a POST to `url` with form `params`."""
    parts = urlsplit(url)
    text = f"{parts.scheme}://{parts.netloc}{parts.path}"
    query = parse_qs(parts.query, keep_blank_values=True)
    if query:
        text += "?" + "&".join(
            f"{key}={val}" for key in sorted(query) for val in sorted(query[key])
        )
    if params:
        text += "." if query else "?"
        text += "".join(f"{key}{val}" for key in sorted(params) for val in _values(params[key]))
    return f"{text}.{nonce}"


def compute_signature(*, url: str, params: Params, nonce: str, auth_token: str) -> str:
    digest = hmac.new(
        auth_token.encode(),
        signed_string(url=url, params=params, nonce=nonce).encode(),
        hashlib.sha256,
    ).digest()
    return base64.b64encode(digest).decode()


def is_valid_signature(
    *, url: str, params: Params, nonce: str, header: str, auth_tokens: Iterable[str]
) -> bool:
    """True when any signature in the comma-separated header matches any accepted token.

    Every candidate is compared in constant time, and all of them are compared, so the
    time taken does not tell an attacker which one came close.
    """
    if not header or not nonce:
        return False
    offered = [sig.strip().encode() for sig in header.split(",") if sig.strip()]
    matched = False
    for token in auth_tokens:
        if not token:
            continue
        expected = compute_signature(url=url, params=params, nonce=nonce, auth_token=token).encode()
        for candidate in offered:
            matched |= hmac.compare_digest(expected, candidate)
    return matched
