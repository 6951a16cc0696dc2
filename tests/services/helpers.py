"""Helpers for the service tests.

`settle` stands in for the webhook (tested elsewhere): it moves the simulator's clock, then
copies each leg's state from the simulator into our models through `calls.state`, the same
functions the webhook uses. The services under test still talk to the simulator over HTTP.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.models import Call, Member
from calls.state import (
    call_changed,
    lock_call,
    member_set_state,
    on_member_answered,
    on_member_gone,
)

S = Member.State
# Seconds: the agent's phone answers after the simulator's answer delay (2 s), then the
# number they called rings and answers after as long again.
ANSWER = 5.0

_LIVE = {
    "ringing": S.DIALLING,
    "talking": S.TALKING,
    "on_hold": S.ON_HOLD,
    "voicemail": S.VOICEMAIL,
}
_GONE = {
    "completed": S.LEFT,
    "canceled": S.LEFT,
    "busy": S.BUSY,
    "no-answer": S.NO_ANSWER,
    "failed": S.FAILED,
}


def conference_for(sim, call: Call) -> dict:
    addresses = set(call.members.values_list("address", flat=True))
    for conference in reversed(sim.snapshot()["conferences"]):
        if addresses & {m["address"] for m in conference["members"]}:
            return conference
    raise AssertionError(f"no conference in the simulator for call {call.pk}")


def sim_states(sim, call: Call) -> dict[str, str]:
    """address -> state of the newest leg at that address in the call's conference."""
    return {m["address"]: m["state"] for m in conference_for(sim, call)["members"]}


def settle(sim, call: Call, seconds: float = ANSWER) -> Call:
    if seconds:
        sim.advance(seconds)
    legs = {m["address"]: m for m in conference_for(sim, call)["members"]}
    with transaction.atomic():
        locked = lock_call(call_id=call.pk)
        at = timezone.now()
        for member in locked.members.filter(state__in=Member.LIVE_STATES):
            leg = legs.get(member.address)
            if leg is None:
                continue
            state = _GONE[leg["exit_cause"]] if leg["state"] == "gone" else _LIVE[leg["state"]]
            if state == S.TALKING and leg.get("wait_music"):
                state = S.WAITING  # on the call before any agent
            cause = {"completed": Member.EndCause.FAR_END, "canceled": Member.EndCause.TAKEN_OUT}
            was_answered = member.answered_at is not None
            if not member_set_state(
                member=member, state=state, at=at, cause=cause.get(leg["exit_cause"], "")
            ):
                continue
            if state in Member.TERMINAL_STATES:
                on_member_gone(call=locked, member=member, at=at)
            elif state in (S.TALKING, S.VOICEMAIL, S.WAITING) and not was_answered:
                on_member_answered(call=locked, member=member, at=at)
        call_changed(call=locked, at=at)
    call.refresh_from_db()
    return call


def states(call: Call) -> dict[str, str]:
    """address -> state of the newest leg at each address."""
    return {m.address: m.state for m in call.members.order_by("pk")}


def queries_until_phlo(sim, send: Callable[[], object]) -> tuple[object, list[str]]:
    """`send()`'s result, and the SQL this thread had run when the simulator received the one
    PHLO request `send` makes: the simulator's thread counts as the request arrives, while
    ours waits for the answer."""
    arrived: list[int] = []
    handle = sim.api.handle

    def counting(**request):
        arrived.append(len(queries.captured_queries))
        return handle(**request)

    # This thread's connection itself: `django.db.connection` would resolve, in the
    # simulator's thread, to that thread's own.
    with CaptureQueriesContext(connections["default"]) as queries:
        sim.api.handle = counting
        try:
            result = send()
        finally:
            del sim.api.handle  # the class's method again
    assert len(arrived) == 1, arrived
    # Long enough to tell the queries apart in a failure's message.
    return result, [q["sql"][:150] for q in queries.captured_queries[: arrived[0]]]


@contextmanager
def phlo_requests(sim) -> Iterator[list[dict]]:
    """The PHLO API requests the simulator receives inside the block, as they arrive."""
    seen: list[dict] = []
    handle = sim.api.handle

    def recording(**request):
        seen.append(request)
        return handle(**request)

    sim.api.handle = recording
    try:
        yield seen
    finally:
        del sim.api.handle  # the class's method again
