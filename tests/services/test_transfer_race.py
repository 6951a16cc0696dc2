"""Two people press transfer, resume or abort on one call at the same instant, 100 times.

Each time exactly one press wins, the other is refused with a 409 that names who is doing
what, nothing of the loser's reaches PHLO, and the call is left as the winner made it, with
no claim left behind. Threads with their own database connections, so PostgreSQL only.
"""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from calls.models import Action, Call, Member
from calls.services import CallBusy, InvalidState, ServiceError, buttons
from tests.services.helpers import S, conference_for, settle, sim_states

RACES = 100  # presses at the same instant: half transfer starts, half resume against abort
DANA = "14155550101"
# Numbers whose phones answer by themselves, one per racer's transfer target.
TARGETS = {"alice": "+14155550201", "sam": "+14155550202"}
# The winner's request is held this long at the simulator, so the loser's arrives meanwhile.
IN_FLIGHT = 0.05


def race(presses: dict[str, Callable[[], Call]]) -> dict[str, object]:
    """Run both presses from their own threads, released together; name -> Call or error."""
    barrier = threading.Barrier(len(presses))
    results: dict[str, object] = {}

    def press(name: str, act: Callable[[], Call]) -> None:
        try:
            barrier.wait(5)
            results[name] = act()
        except ServiceError as error:
            results[name] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=item) for item in presses.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(t.is_alive() for t in threads), "a press never returned"
    return results


def one_winner(
    results: dict[str, object], *, names: dict[str, tuple[str, ...]]
) -> tuple[str, ServiceError]:
    """The winner's key and the loser's refusal, a 409 saying who is doing what: the winner
    by name while the winner's press holds the call, or, once it has gone through, the
    transfer it started (named for the leg it came from, and its target)."""
    winners = [k for k, r in results.items() if isinstance(r, Call)]
    losers = [k for k, r in results.items() if isinstance(r, ServiceError)]
    assert len(winners) == 1 and len(losers) == 1, results
    refusal = results[losers[0]]
    assert refusal.http_status == 409, refusal
    assert any(word in refusal.message for word in names[winners[0]]), refusal.message
    return winners[0], refusal


def settled_without_claims(
    call: Call, *, kinds: tuple[str, ...], before: int, refusal: ServiceError
) -> None:
    """The round's actions: the winner's succeeded, and the loser's failed as refused, with
    no claim left. A loser refused as busy had claimed, so its action is recorded; one that
    came after the winner's press had gone through is refused by the button's first check,
    before it records anything (the thread was late: a loaded machine)."""
    call.refresh_from_db()
    assert call.pending_action is None
    outcomes = sorted(
        Action.objects.filter(call=call, kind__in=kinds, pk__gt=before).values_list(
            "outcome", "error_kind"
        )
    )
    assert outcomes[-1:] == [("succeeded", "")], outcomes
    if isinstance(refusal, CallBusy) or len(outcomes) == 2:
        assert len(outcomes) == 2, outcomes
        assert outcomes[0][0] == "failed" and outcomes[0][1] in ("call_busy", "invalid_state")
    else:
        assert isinstance(refusal, InvalidState) and len(outcomes) == 1, (refusal, outcomes)


def rung(sim, call: Call) -> list[str]:
    """Every leg the simulator ever had on the call, by address."""
    return sorted(m["address"].lstrip("+") for m in conference_for(sim, call)["members"])


def last_action() -> int:
    return Action.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.mark.django_db(transaction=True)
def test_simultaneous_transfer_presses_have_one_winner_each_time(
    phlo_sim, talking_call, alice, sam
):
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (DATABASE_URL): the race needs concurrent writers and row"
            " locks; SQLite serialises writers"
        )
    call_id = talking_call.pk  # the same call all along; `call` is its latest reading
    call = talking_call
    names = {name: (first, TARGETS[name]) for name, first in (("alice", "Alice"), ("sam", "Sam"))}
    users = {"alice": alice.user, "sam": sam}
    for _ in range(RACES // 2):
        # Both start a warm transfer, each to their own target.
        before, legs_before = last_action(), rung(phlo_sim, call)
        phlo_sim.inject_fault(delay=IN_FLIGHT)
        started = race(
            {
                name: (
                    lambda user=user, to=TARGETS[name]: buttons.transfer_warm_start(
                        actor=user, call_id=call_id, to=to
                    )
                )
                for name, user in users.items()
            }
        )
        winner, refusal = one_winner(started, names=names)
        settled_without_claims(call, kinds=("warm_transfer",), before=before, refusal=refusal)
        call = settle(phlo_sim, call)
        target = TARGETS[winner].lstrip("+")
        assert (call.transfer_kind, call.transfer_to_address.lstrip("+")) == ("warm", target)
        assert rung(phlo_sim, call) == sorted([*legs_before, target])  # the loser's never rang
        assert sim_states(phlo_sim, call)[target] == "talking"

        # One resumes the call while the other aborts the transfer.
        before = last_action()
        phlo_sim.inject_fault(delay=IN_FLIGHT)
        finished = race(
            {
                "alice": lambda: buttons.transfer_resume(actor=alice.user, call_id=call_id),
                "sam": lambda: buttons.transfer_abort(actor=sam, call_id=call_id),
            }
        )
        finisher, refusal = one_winner(finished, names=names)
        resumed = finisher == "alice"
        settled_without_claims(
            call, kinds=("resume_call", "abort_transfer"), before=before, refusal=refusal
        )
        call = settle(phlo_sim, call)
        assert call.transfer_kind == "" and call.is_live
        legs = sim_states(phlo_sim, call)
        assert legs[DANA] == "talking"  # off hold either way
        assert legs[target] == ("talking" if resumed else "gone"), legs
        if resumed:
            phlo_sim.phones.hangup(TARGETS[winner])  # the target leaves: back to two
            call = settle(phlo_sim, call)
        live = call.members.filter(state__in=Member.LIVE_STATES)
        live = dict(live.values_list("address", "state"))
        assert live == {alice.endpoint: S.TALKING, DANA: S.TALKING}, live
