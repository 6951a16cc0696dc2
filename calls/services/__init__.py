"""Services: everything that changes a call on a user's behalf. One function per button.

Views and consumers call these and show `ServiceError.message` as is.
"""

from calls.services.actions import (
    call_join,
    call_start,
    member_hangup,
    member_hold,
    member_unhold,
    member_voicemail_drop,
    transfer_abort,
    transfer_cold,
    transfer_resume,
    transfer_warm_start,
)
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
    "call_join",
    "call_start",
    "member_hangup",
    "member_hold",
    "member_unhold",
    "member_voicemail_drop",
    "transfer_abort",
    "transfer_cold",
    "transfer_resume",
    "transfer_warm_start",
]
