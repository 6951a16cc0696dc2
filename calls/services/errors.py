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

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code

    def __str__(self) -> str:
        return self.message


class NotAllowed(ServiceError):
    """The user may not do this (not on the call and not a supervisor, no agent profile...)."""

    code = "not_allowed"
    http_status = 403


class NotFound(ServiceError):
    """The call or member does not exist (any more)."""

    code = "not_found"
    http_status = 404


class InvalidInput(ServiceError):
    """What the user typed or picked cannot be used (bad address, unknown customer...)."""

    code = "invalid_input"
    http_status = 400


class InvalidState(ServiceError):
    """The call's current state does not allow this action (ended, no transfer to resume...)."""

    code = "invalid_state"
    http_status = 409


class CallBusy(ServiceError):
    """Someone else's action on this call is in flight; the message names them."""

    code = "call_busy"
    http_status = 409


class PhloFailed(ServiceError):
    """PHLO did not do it. Keeps the client error's kind and status; nothing was changed."""

    code = "phlo_failed"
    http_status = 502

    def __init__(self, message: str, *, error: PhloError) -> None:
        super().__init__(message)
        self.error = error
        self.kind = error.kind
        self.status = error.status
        self.api_id = error.api_id


class PhloOutcomeUnknown(PhloFailed):
    """PHLO may have done it: the request timed out, or the connection dropped after it was
    sent. Nothing was changed here; the provider's callbacks (or the next action) bring the
    truth. `kind` is still the client's ("timeout" or "connection")."""

    code = "phlo_outcome_unknown"
    http_status = 504
    # What the Action records as its `error_kind`.
    error_kind = "outcome_unknown"


class DatabaseUnavailable(ServiceError):
    """The database refused a connection or dropped it (down, restarting, out of
    connections). Transient: the same request later should work, hence 503 with
    Retry-After rather than a 500 that says something is broken."""

    code = "database_unavailable"
    http_status = 503
    retry_after_seconds = 5


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be reached, rather than that a query was
    wrong: OperationalError (refused, terminated, restarting) or InterfaceError (a
    connection already closed)."""
    from django.db import InterfaceError, OperationalError

    return isinstance(exc, OperationalError | InterfaceError)
