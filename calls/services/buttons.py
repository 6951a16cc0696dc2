"""One service per agent-desktop button, by family: `placing`, `members`, `transfers`,
`supervision`; this module is their index.

Each service checks that the user may act and that the call's state allows it
(`calls.services.rules`), records an `Action` and claims the call (`claims`), asks PHLO with
no transaction open, then applies the change the action implies through `calls.state` in a
short transaction with the call locked. PHLO sends no callback for hold, transfer starts
and the like, so our own successful action is a source of truth. On any failure nothing
else changes and a `ServiceError` says why.

When PHLO's answer is unknown (a timeout, or a connection dropped after sending) the action
may still have happened: `PhloOutcomeUnknown` is raised and nothing changes, except that a
new call stays dialling, so the provider's callbacks find it if PHLO did place it (and
`calls.services.housekeeping` ends it if none ever come).

The buttons' services also take what their caller already looked up in this request, to save
asking the database again before PHLO: `actor_agent`, the acting user's agent, and for a
member's button `call_id`, that member's call. Both are checked against what they belong to.
Placing a call also takes the `customer` picked or found by name, and a transfer the
`to_agent` picked by name (used only when it is the agent at `to`).
"""

from calls.services.members import (
    member_decline,
    member_hangup,
    member_hold,
    member_unhold,
    member_voicemail_drop,
)
from calls.services.placing import call_start
from calls.services.supervision import call_join
from calls.services.transfers import (
    transfer_abort,
    transfer_cold,
    transfer_resume,
    transfer_warm_start,
)

__all__ = [
    "call_join",
    "call_start",
    "member_decline",
    "member_hangup",
    "member_hold",
    "member_unhold",
    "member_voicemail_drop",
    "transfer_abort",
    "transfer_cold",
    "transfer_resume",
    "transfer_warm_start",
]
