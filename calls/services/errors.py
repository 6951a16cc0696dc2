"""Errors the services raise. `message` is shown to people as is; `code` is for code.

`http_status` is the answer a view should give, so every view maps errors the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calls.phlo_client import PhloError


class ServiceError(Exception):
    code = "error"
    http_status = 400

    def __init_subclass__(cls, *, code: str = "", http_status: int = 0, **kwargs) -> None:
        # Each kind of error names its code and answer in its `class` line.
        super().__init_subclass__(**kwargs)
        if code:
            cls.code = code
        if http_status:
            cls.http_status = http_status

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code

    def __str__(self) -> str:
        return self.message


class NotAllowed(ServiceError, code="not_allowed", http_status=403):
    """The user may not do this (not on the call and not a supervisor, no agent profile...)."""


class NotFound(ServiceError, code="not_found", http_status=404):
    """The call or member does not exist (any more)."""


class InvalidInput(ServiceError, code="invalid_input", http_status=400):
    """What the user typed or picked cannot be used (bad address, unknown customer...)."""


class InvalidState(ServiceError, code="invalid_state", http_status=409):
    """The call's current state does not allow this action (ended, no transfer to resume...)."""


class CallBusy(ServiceError, code="call_busy", http_status=409):
    """Someone else's action on this call is in flight; the message names them."""


class PhloFailed(ServiceError, code="phlo_failed", http_status=502):
    """PHLO did not do it. Keeps the client error's kind and status; nothing was changed."""

    def __init__(self, message: str, *, error: PhloError) -> None:
        super().__init__(message)
        self.error = error
        self.kind = error.kind
        self.status = error.status
        self.api_id = error.api_id


class PhloOutcomeUnknown(PhloFailed, code="phlo_outcome_unknown", http_status=504):
    """PHLO may have done it: the request timed out, or the connection dropped after it was
    sent. Nothing was changed here; the provider's callbacks (or the next action) bring the
    truth. `kind` is still the client's ("timeout" or "connection")."""

    # What the Action records as its `error_kind`.
    error_kind = "outcome_unknown"


class DatabaseUnavailable(ServiceError, code="database_unavailable", http_status=503):
    """The database refused a connection or dropped it (down, restarting, out of
    connections). Transient: the same request later should work, hence 503 with
    Retry-After rather than a 500 that says something is broken."""

    retry_after_seconds = 5


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be reached, rather than that a query was
    wrong: OperationalError (refused, terminated, restarting) or InterfaceError (a
    connection already closed)."""
    from django.db import InterfaceError, OperationalError

    return isinstance(exc, OperationalError | InterfaceError)
