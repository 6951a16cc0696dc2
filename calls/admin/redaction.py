"""Nothing secret is shown in the admin: stored parameters and requests are redacted on display."""

from collections.abc import Mapping

from django.conf import settings

REDACTED = "[redacted]"
# Parameter names that are credentials or transport headers, never call data.
_SECRET_NAME_PARTS = (
    "signature",
    "nonce",
    "authoriz",
    "token",
    "secret",
    "password",
    "passwd",
    "cookie",
    "api_key",
    "apikey",
    "credential",
)
_SECRET_SETTINGS = ("PLIVO_AUTH_TOKEN", "PLIVO_AUTH_ID", "ROUTING_API_TOKEN", "SECRET_KEY")


def configured_secrets() -> list[str]:
    """The configured credentials, to blank out wherever they appear in text."""
    values = (str(getattr(settings, name, "") or "") for name in _SECRET_SETTINGS)
    return [value for value in values if len(value) >= 6]


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith(("http_", "x-")) or any(p in lowered for p in _SECRET_NAME_PARTS)


def redact(value, *, secrets: list[str] | None = None):
    """A copy of `value` (JSON-like) without credential-looking keys or configured secrets."""
    secrets = configured_secrets() if secrets is None else secrets
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if is_secret_name(str(k)) else redact(v, secrets=secrets)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, secrets=secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
    return value
