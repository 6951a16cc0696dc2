"""One action in flight per call: the claim, its loser's message, stale claims, and no
transaction held while PHLO is asked."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from calls.models import Action, Call
from calls.phlo_client import PhloClient
from calls.services import CallBusy, InvalidState, ServiceError, buttons, claims
from tests.services.helpers import S, settle, states

DANA = "14155550101"


def claim_for(call: Call, *, user, kind: str = "warm_transfer", age: timedelta = timedelta()):
    """An action of `user`'s in flight on `call` (as if their request were still running)."""
    action = Action.objects.create(
        call=call, actor=user, kind=kind, created_at=timezone.now() - age
    )
    Call.objects.filter(pk=call.pk).update(pending_action=action)
    return action


@pytest.mark.django_db
class TestExistingClaim:
    def test_loser_is_told_who_is_doing_what(self, phlo_sim, talking_call, alice, bob, carol):
        held_by = claim_for(talking_call, user=bob.user)
        with pytest.raises(CallBusy) as info:
            buttons.transfer_warm_start(
                actor=alice.user, call_id=talking_call.pk, to=carol.endpoint
            )
        assert info.value.message == (
            "Bob is already doing a warm transfer on this call. Try again when it has finished."
        )
        assert (info.value.code, info.value.http_status) == ("call_busy", 409)
        # Nothing was sent; the attempt is on record; the claim is still Bob's.
        assert states(talking_call) == {alice.endpoint: S.TALKING, DANA: S.TALKING}
        assert phlo_sim.member(carol.endpoint) is None
        lost = Action.objects.get(actor=alice.user, kind="warm_transfer")
        assert (lost.outcome, lost.error_kind) == ("failed", "call_busy")
        assert lost.request == {}
        talking_call.refresh_from_db()
        assert talking_call.pending_action == held_by

    def test_member_actions_wait_too(self, phlo_sim, talking_call, alice, bob):
        claim_for(talking_call, user=bob.user, kind="hold")
        dana = talking_call.members.get(address=DANA)
        with pytest.raises(CallBusy, match="Bob is already putting someone on hold"):
            buttons.member_hangup(actor=alice.user, member_id=dana.pk)
        assert phlo_sim.member(DANA)["state"] == "talking"

    def test_your_own_action_in_flight(self, phlo_sim, talking_call, alice):
        claim_for(talking_call, user=alice.user, kind="hold")
        with pytest.raises(CallBusy, match="You are already putting someone on hold"):
            buttons.member_hold(
                actor=alice.user, member_id=talking_call.members.get(address=DANA).pk
            )

    def test_stale_claim_is_taken_over(self, phlo_sim, talking_call, alice, bob):
        stale = claims.stale_after() + timedelta(seconds=1)
        old = claim_for(talking_call, user=bob.user, kind="hold", age=stale)
        dana = talking_call.members.get(address=DANA)
        assert buttons.member_hold(actor=alice.user, member_id=dana.pk).state == S.ON_HOLD
        old.refresh_from_db()
        assert (old.outcome, old.error_kind) == ("failed", "abandoned")
        talking_call.refresh_from_db()
        assert talking_call.pending_action is None

    def test_a_recent_claim_is_not_stale(self, phlo_sim, talking_call, alice, bob):
        recent = claims.stale_after() - timedelta(seconds=2)
        claim_for(talking_call, user=bob.user, kind="hold", age=recent)
        with pytest.raises(CallBusy):
            buttons.member_hold(
                actor=alice.user, member_id=talking_call.members.get(address=DANA).pk
            )

    def test_stale_after_follows_the_client_timeouts(self, settings):
        settings.PHLO_CONNECT_TIMEOUT = 2
        settings.PHLO_READ_TIMEOUT = 8
        assert claims.stale_after() == timedelta(seconds=10 + claims.STALE_MARGIN_SECONDS)

    def test_no_claim_on_an_ended_call(self, alice, dana):
        call = Call.objects.create(status="completed", owner=alice, customer=dana)
        action = Action.objects.create(call=call, actor=alice.user, kind="hold")
        with pytest.raises(InvalidState, match="ended"):
            claims.claim(call_id=call.pk, action=action)

    def test_released_only_by_its_holder(self, alice, dana, bob):
        call = Call.objects.create(owner=alice, customer=dana)
        mine = claim_for(call, user=alice.user)
        other = Action.objects.create(call=call, actor=bob.user, kind="hold")
        claims.release(call_id=call.pk, action=other)
        call.refresh_from_db()
        assert call.pending_action == mine
        claims.release(call_id=call.pk, action=mine)
        call.refresh_from_db()
        assert call.pending_action is None

    def test_a_bug_mid_action_still_releases_the_claim(
        self, phlo_sim, talking_call, alice, monkeypatch
    ):
        def broken(self, request):
            raise RuntimeError("boom")

        monkeypatch.setattr(PhloClient, "send", broken)
        with pytest.raises(RuntimeError):
            buttons.member_hold(
                actor=alice.user, member_id=talking_call.members.get(address=DANA).pk
            )
        talking_call.refresh_from_db()
        assert talking_call.pending_action is None
        action = Action.objects.get(kind="hold")
        assert (action.outcome, action.error_kind) == ("failed", "internal")


@pytest.mark.django_db(transaction=True)
def test_no_transaction_is_open_while_phlo_is_asked(phlo_sim, alice, bob, dana, monkeypatch):
    seen: list[bool] = []
    original = PhloClient.send

    def spy(self, request):
        seen.append(connection.in_atomic_block)
        return original(self, request)

    monkeypatch.setattr(PhloClient, "send", spy)
    call = buttons.call_start(actor=alice.user, to=dana.phone)
    settle(phlo_sim, call)
    buttons.member_hold(actor=alice.user, member_id=call.members.get(address=dana.phone).pk)
    buttons.transfer_warm_start(actor=alice.user, call_id=call.pk, to=bob.endpoint)
    settle(phlo_sim, call)
    buttons.transfer_resume(actor=alice.user, call_id=call.pk)
    assert seen == [False, False, False, False]


@pytest.mark.django_db(transaction=True)
def test_two_users_race_to_transfer(phlo_sim, talking_call, alice, bob, carol, sam):
    """Alice and supervisor Sam start a warm transfer at the same instant, from two threads
    with their own database connections. Exactly one wins; the other is told who did."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (DATABASE_URL): the race needs concurrent writers and row"
            " locks; SQLite serialises writers"
        )
    # Hold the winner's request at the simulator so the loser arrives while it is in flight.
    phlo_sim.inject_fault(delay=0.3)
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def attempt(name: str, user, to: str) -> None:
        try:
            barrier.wait(5)
            results[name] = buttons.transfer_warm_start(actor=user, call_id=talking_call.pk, to=to)
        except ServiceError as error:
            results[name] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=attempt, args=("alice", alice.user, bob.endpoint)),
        threading.Thread(target=attempt, args=("sam", sam, carol.endpoint)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    winners = [name for name, r in results.items() if isinstance(r, Call)]
    losers = [name for name, r in results.items() if isinstance(r, ServiceError)]
    assert len(winners) == 1 and len(losers) == 1, results
    error = results[losers[0]]
    winner_name = {"alice": "Alice", "sam": "Sam"}[winners[0]]
    assert isinstance(error, CallBusy | InvalidState)
    assert winner_name in error.message
    talking_call.refresh_from_db()
    assert talking_call.transfer_kind == "warm" and talking_call.pending_action is None
    assert Action.objects.filter(kind="warm_transfer", outcome="succeeded").count() == 1
    assert len([m for m in phlo_sim.snapshot()["conferences"][0]["members"]]) == 3


@pytest.mark.django_db(transaction=True)
def test_claim_is_atomic_across_connections(alice, bob, dana):
    """The conditional UPDATE, from two connections at once: one row updated in total."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (DATABASE_URL): the race needs concurrent writers and row"
            " locks; SQLite serialises writers"
        )
    call = Call.objects.create(owner=alice, customer=dana)
    mine = Action.objects.create(call=call, actor=alice.user, kind="hold")
    theirs = Action.objects.create(call=call, actor=bob.user, kind="hold")
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def attempt(action: Action) -> None:
        try:
            with transaction.atomic():
                barrier.wait(5)
                claims.claim(call_id=call.pk, action=action)
                outcomes[action.pk] = "won"
                # Keep the row locked a moment so the other UPDATE has to wait on it.
                Call.objects.filter(pk=call.pk).select_for_update().get()
        except CallBusy:
            outcomes[action.pk] = "busy"
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(a,)) for a in (mine, theirs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes.values()) == ["busy", "won"]
    call.refresh_from_db()
    assert outcomes[call.pending_action_id] == "won"


@pytest.mark.django_db
def test_busy_message_while_a_supervisor_joins(phlo_sim, talking_call, alice, sam):
    claim_for(talking_call, user=sam, kind="call")
    with pytest.raises(CallBusy) as info:
        buttons.member_hold(actor=alice.user, member_id=talking_call.members.get(address=DANA).pk)
    assert info.value.message == (
        "Sam is already adding someone to this call. Try again when it has finished."
    )
