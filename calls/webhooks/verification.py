"""Check a callback's X-Plivo-Signature-V3 against the URL the provider called.

The URL is rebuilt from `settings.PUBLIC_BASE_URL` plus the request's path and query string,
never from the Host header: behind a proxy or tunnel the Host we see is not the one Plivo
signed, and trusting Host would let a caller choose the URL being checked.

Accepted keys are the Auth Token plus `PLIVO_PREVIOUS_AUTH_TOKENS` (a comma-separated list,
or a list), so a token rotation does not reject callbacks signed a moment before it.
"""

from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

from calls.signature import NONCE_HEADER, SIGNATURE_HEADER, Params, is_valid_signature

V2_HEADER = "X-Plivo-Signature-V2"


class SignatureRejected(Exception):
    """The request is not proven to come from the provider (answered with 403)."""


class WebhookNotConfigured(Exception):
    """Our own configuration makes checking impossible (answered with 503)."""


def _as_list(value: str | Iterable[str] | None) -> list[str]:
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else value
    return [item.strip() for item in items if item and item.strip()]


def accepted_auth_tokens() -> list[str]:
    """The current Auth Token first, then any previous ones still accepted."""
    tokens = _as_list([getattr(settings, "PLIVO_AUTH_TOKEN", "") or ""])
    for token in _as_list(getattr(settings, "PLIVO_PREVIOUS_AUTH_TOKENS", "")):
        if token not in tokens:
            tokens.append(token)
    return tokens


def public_url(request: HttpRequest) -> str:
    """The URL the provider called: PUBLIC_BASE_URL + path (+ the raw query string).

    `request.path` includes any SCRIPT_NAME, so PUBLIC_BASE_URL holds only what the proxy
    strips before Django sees the request (usually just scheme and host).
    """
    base = (getattr(settings, "PUBLIC_BASE_URL", "") or "").rstrip("/")
    if not base:
        raise WebhookNotConfigured(
            "PUBLIC_BASE_URL is not set, so callback signatures cannot be checked."
        )
    url = f"{base}{request.path}"
    query = request.META.get("QUERY_STRING", "")
    return f"{url}?{query}" if query else url


def signature_headers(request: HttpRequest) -> tuple[str, str]:
    """(signature, nonce), or SignatureRejected when the V3 headers are missing.

    Checked before the body is read, so an unsigned request is turned away cheaply.
    """
    signature = request.headers.get(SIGNATURE_HEADER, "").strip()
    nonce = request.headers.get(NONCE_HEADER, "").strip()
    if not signature:
        if request.headers.get(V2_HEADER):
            raise SignatureRejected(
                f"Only {V2_HEADER} was sent. It does not cover the body, so it is not accepted:"
                f" {SIGNATURE_HEADER} is required."
            )
        raise SignatureRejected(f"Missing {SIGNATURE_HEADER} header.")
    if not nonce:
        raise SignatureRejected(f"Missing {NONCE_HEADER} header.")
    return signature, nonce


def verify_request(*, request: HttpRequest, params: Params) -> None:
    """Raise SignatureRejected unless one offered signature matches one accepted token."""
    signature, nonce = signature_headers(request)
    tokens = accepted_auth_tokens()
    if not tokens:
        raise WebhookNotConfigured(
            "PLIVO_AUTH_TOKEN is not set, so callback signatures cannot be checked."
        )
    url = public_url(request)
    if not is_valid_signature(
        url=url, params=params, nonce=nonce, header=signature, auth_tokens=tokens
    ):
        raise SignatureRejected(
            f"{SIGNATURE_HEADER} does not match this request, checked against {url}"
            " (is PUBLIC_BASE_URL the address Plivo calls?)."
        )
