"""What the call core announces: a call changed, a member changed, an agent's status changed,
a session signed out, a user's access was revoked. The core owns these types; the layers
above subscribe at app start.

Two kinds of subscriber, both registered once in an `AppConfig.ready()`:

- `listen(EventType, handler)`: runs synchronously inside the announcer's transaction, with
  the call's row still locked, so what it changes commits or rolls back with the change
  (presence: agents follow their calls).
- live pages register with `calls.publishing.register_page`: the event is pushed after
  commit, and each page type renders it for its own viewers.

So the core never imports presence, routing or any page: it says what happened and the
layers above decide what it means for them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from calls import publishing

# Ordered by role: the `type` of each is the Channels message type its push carries.


@dataclass(frozen=True)
class CallChanged:
    """A call or its members changed. `agent_ids`: every agent the change concerns (the
    owner, those on it, and any who just left it). `legs_came_or_went`: False only when
    every leg that was live is still live, none became live, the call is as live as it was and
    keeps its owner (a hold, a leg that starts ringing), so nobody's presence can follow."""

    call_id: int
    version: int
    agent_ids: frozenset[int]
    at: datetime | None = field(default=None, compare=False)
    legs_came_or_went: bool = field(default=True, compare=False)

    type = "call.changed"

    @property
    def key(self) -> tuple[str, int]:
        return ("call", self.call_id)

    def merged(self, later: CallChanged) -> CallChanged:
        # Everyone either change concerned hears of it: an agent who left is told too.
        return CallChanged(
            call_id=self.call_id,
            version=max(self.version, later.version),
            agent_ids=self.agent_ids | later.agent_ids,
            at=later.at,
            legs_came_or_went=self.legs_came_or_went or later.legs_came_or_went,
        )

    def message(self) -> dict:
        return {"type": self.type, "call_id": self.call_id, "version": self.version}


@dataclass(frozen=True)
class MemberChanged:
    """One leg moved from `previous` to `state` (`calls.models.Member.State` values). Heard
    only in the transaction (never pushed on its own: its call's `CallChanged` follows)."""

    call_id: int
    member_id: int
    role: str
    agent_id: int | None
    previous: str
    state: str
    # Why a leg that ended ended (`Member.EndCause`), when known.
    cause: str = ""
    at: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class CallEndRetold:
    """A call that had ended changed: most often a late callback told more of how it went
    (a leg had answered, a dial was busy). The agents whose part ended with it settle again
    on what they owe. Heard only in the transaction (its `CallChanged` is what is pushed)."""

    call_id: int
    agent_ids: frozenset[int]
    at: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class CustomerCutOff:
    """The customer an agent had handed on and left was cut off (nobody took the transfer):
    the agent owes the call a wrap-up again, if they had done theirs, and has their full
    after-call time from now, to call the customer back (presence listens). Heard only in
    the transaction."""

    call_id: int
    agent_id: int
    at: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class AgentChanged:
    """An agent's status (or what is pending after their call) changed."""

    agent_id: int
    status: str

    type = "agent.changed"

    @property
    def key(self) -> tuple[str, int]:
        return ("agent", self.agent_id)

    def merged(self, later: AgentChanged) -> AgentChanged:
        return later  # renders read the current status anyway

    def message(self) -> dict:
        return {"type": self.type, "agent_id": self.agent_id, "status": self.status}


@dataclass(frozen=True)
class QueueChanged:
    """Who waits in an inbound queue may have changed: a caller joined it, was offered,
    answered, or left. The same for every viewer, so it is rendered once per change."""

    queue_id: int

    type = "queue.changed"

    @property
    def key(self) -> tuple[str, int]:
        return ("queue", self.queue_id)

    def merged(self, later: QueueChanged) -> QueueChanged:
        return later  # renders read the current queue anyway

    def message(self) -> dict:
        return {"type": self.type, "queue_id": self.queue_id}


@dataclass(frozen=True)
class AgentQueuesChanged:
    """Which queues an agent serves changed: their desktops follow the queues they serve now."""

    agent_id: int

    type = "agent.queues_changed"

    @property
    def key(self) -> tuple[str, int]:
        return ("agent-queues", self.agent_id)

    def merged(self, later: AgentQueuesChanged) -> AgentQueuesChanged:
        return later

    def message(self) -> dict:
        return {"type": self.type, "agent_id": self.agent_id}


@dataclass(frozen=True)
class SessionSignedOut:
    """A session logged out: the live pages opened in it close. `agent_id`: whose desktops,
    None for a user without an agent profile."""

    session_key: str
    agent_id: int | None = None

    type = "session.signed_out"

    @property
    def key(self) -> tuple[str, str, int | None]:
        return ("signed-out", self.session_key, self.agent_id)

    def merged(self, later: SessionSignedOut) -> SessionSignedOut:
        return self

    def message(self) -> dict:
        return {"type": self.type, "session_key": self.session_key}


@dataclass(frozen=True)
class AccessRevoked:
    """A user's credentials or rights were taken away: their password changed, they were
    deactivated or deleted, or they are no longer a supervisor. Every live page they have
    open closes at once, and is let in again only if the user still may. `agent_id`: whose
    desktops, None for a user without an agent profile."""

    user_id: int
    agent_id: int | None = None

    type = "access.revoked"

    @property
    def key(self) -> tuple[str, int]:
        return ("access-revoked", self.user_id)

    def merged(self, later: AccessRevoked) -> AccessRevoked:
        return AccessRevoked(user_id=self.user_id, agent_id=later.agent_id or self.agent_id)

    def message(self) -> dict:
        return {"type": self.type, "user_id": self.user_id}


Event = (
    CallChanged
    | CallEndRetold
    | MemberChanged
    | AgentChanged
    | QueueChanged
    | AgentQueuesChanged
    | SessionSignedOut
    | AccessRevoked
)
# Events the live pages hear, after commit.
PUSHED = (
    CallChanged,
    AgentChanged,
    QueueChanged,
    AgentQueuesChanged,
    SessionSignedOut,
    AccessRevoked,
)

Handler = Callable[[Event], None]
_listeners: dict[type, list[Handler]] = defaultdict(list)


def _call_watchers(event: CallChanged, bare: dict) -> list[publishing.Message]:
    return [(publishing.call_group(event.call_id), bare)]


publishing.register_page(page="call", event_type=CallChanged, render=_call_watchers)


def listen(event_type: type, handler: Handler) -> None:
    """Call `handler(event)` inside the transaction of every `event_type` announced. Idempotent
    per (type, handler), so an app's ready() may run twice (tests) without doubling it."""
    if handler not in _listeners[event_type]:
        _listeners[event_type].append(handler)


def announce(event: Event) -> None:
    """Tell the listeners now, in the caller's transaction; push to the live pages after
    commit. A listener's exception propagates: the change it belongs to rolls back."""
    for handler in list(_listeners.get(type(event), ())):
        handler(event)
    if isinstance(event, PUSHED):
        publishing.publish(event)
