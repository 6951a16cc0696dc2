"""Services: everything that changes a call on a user's behalf. One function per button.

Views and consumers call these and show `ServiceError.message` as is.
"""

from calls.services.buttons import *  # noqa: F403 - the buttons, as `buttons` lists them
from calls.services.buttons import __all__ as _buttons
from calls.services.errors import (
    CallBusy,
    InvalidInput,
    InvalidState,
    NotAllowed,
    NotFound,
    PhloFailed,
    ServiceError,
)

__all__ = [
    "CallBusy",
    "InvalidInput",
    "InvalidState",
    "NotAllowed",
    "NotFound",
    "PhloFailed",
    "ServiceError",
    *_buttons,
]
