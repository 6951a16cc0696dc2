"""Housekeeping ends dialling calls that nothing else will end, so no agent stays stuck
"on a call": the rule, its safety when several processes run it, the cron command and the
desktops' heartbeat that drives it. Time is controlled by `at=` and by the rows' own times."""

from __future__ import annotations

import io
import json
import threading
import uuid
from datetime import datetime, timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.utils import timezone

from agents.models import Agent
from agents.presence import MISSED_CALL_REASON
from agents.pushes import agent_group
from calls.models import Action, Call, CallbackEvent, Member
from calls.services import housekeeping
from calls.services.housekeeping import (
    calls_expire_stale,
    calls_stale_dialling,
    dial_grace,
    housekeeping_due,
)
from calls.state import call_changed
from tests.factories import make_agent, make_customer
from tests.fixtures_people import agent_fixture
from tests.sockets import DESKTOP, drain, open_socket, session_of

S = Member.State

# The cron command's report names agents by username ("call #1: alice / ...").
alice = agent_fixture("alice", named=False)
bob = agent_fixture("bob", named=False)


def dialling_call(
    agent: Agent,
    *,
    age: float = 0,
    to: str = "14155550199",
    direction: str = Call.Direction.OUTBOUND,
) -> Call:
    """A call as call_start or inbound routing leaves it: both legs ringing, the agent on a
    call; created `age` seconds ago, with nothing heard since."""
    at = timezone.now() - timedelta(seconds=age)
    with transaction.atomic():
        call = Call.objects.create(owner=agent, direction=direction, created_at=at)
        for address, role, who in ((agent.endpoint, "agent", agent), (to, "customer", None)):
            Member.objects.create(
                call=call, address=address, role=role, agent=who, created_at=at, state_changed_at=at
            )
        call_changed(call=call, at=at)
    agent.refresh_from_db()
    assert agent.status == Agent.Status.ON_CALL
    return call


def grace() -> float:
    return dial_grace().total_seconds()


def after_grace(extra: float = 1) -> datetime:
    return timezone.now() + timedelta(seconds=grace() + extra)


def legs(call: Call) -> set[str]:
    return set(call.members.values_list("state", flat=True))


# --- the rule ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_call_within_its_grace_is_left_alone(alice):
    call = dialling_call(alice)
    assert calls_expire_stale() == 0
    assert calls_expire_stale(at=after_grace(-2)) == 0
    call.refresh_from_db()
    assert call.status == Call.Status.DIALLING


@pytest.mark.django_db
def test_a_stale_call_is_ended_and_its_agent_freed(alice, django_capture_on_commit_callbacks):
    call = dialling_call(alice)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(agent_group(alice.pk), channel)
    at = after_grace()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert calls_expire_stale(at=at) == 1
        messages = async_to_sync(drain)(layer, channel)
    finally:
        async_to_sync(layer.group_discard)(agent_group(alice.pk), channel)

    call.refresh_from_db()
    alice.refresh_from_db()
    assert (call.status, call.ended_at, call.pending_action) == (Call.Status.FAILED, at, None)
    # Nothing was ever heard from PHLO: the call never got going.
    assert legs(call) == {S.FAILED}
    assert alice.status == Agent.Status.AVAILABLE  # she never talked: no wrap-up
    kinds = {(m["type"], m.get("call_id"), m.get("status")) for m in messages}
    assert ("call.changed", call.pk, None) in kinds
    assert ("agent.changed", None, "available") in kinds
    # Idempotent: a second run (another process, a later tick) finds nothing.
    assert calls_expire_stale(at=at) == 0
    assert calls_expire_stale(at=after_grace(60)) == 0


@pytest.mark.django_db
def test_the_grace_period_is_a_setting(alice, settings):
    settings.CALL_DIAL_GRACE_SECONDS = 10
    dialling_call(alice)
    assert calls_expire_stale(at=timezone.now() + timedelta(seconds=9)) == 0
    assert calls_expire_stale(at=timezone.now() + timedelta(seconds=11)) == 1
    del settings.CALL_DIAL_GRACE_SECONDS
    assert dial_grace() == timedelta(seconds=120)


def test_agents_are_told_how_long_a_call_can_linger(settings):
    settings.CALL_DIAL_GRACE_SECONDS = 120
    settings.CALL_HOUSEKEEPING_INTERVAL_SECONDS = 30
    assert housekeeping.stale_call_cleared_within() == "3 minutes"  # 120 s + 2 x 30 s
    settings.CALL_DIAL_GRACE_SECONDS = 30
    settings.CALL_HOUSEKEEPING_INTERVAL_SECONDS = 10
    assert housekeeping.stale_call_cleared_within() == "1 minute"


def _recent_callback(call: Call) -> None:
    CallbackEvent.objects.create(
        dedupe_key=uuid.uuid4().hex, vocabulary="phlo", event="Redirect", params={}, call=call
    )


def _recent_action(call: Call) -> None:
    Action.objects.create(call=call, actor=call.owner.user, kind=Action.Kind.HANGUP)


def _answered_long_ago(call: Call) -> None:
    # A voicemail machine answered: the call stays "dialling" (nobody talks) but it connected.
    long_ago = timezone.now() - timedelta(seconds=grace() * 2)
    call.members.filter(role="customer").update(
        state=S.VOICEMAIL, answered_at=long_ago, state_changed_at=long_ago
    )


def _leg_changed_recently(call: Call) -> None:
    call.members.filter(role="customer").update(state_changed_at=timezone.now())


def _nothing(call: Call) -> None:
    pass


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("news", "ended"),
    [
        (_nothing, 1),
        (_recent_callback, 0),
        (_recent_action, 0),
        (_answered_long_ago, 0),
        (_leg_changed_recently, 0),
    ],
)
def test_any_sign_of_life_keeps_the_call(alice, news, ended):
    call = dialling_call(alice, age=grace() + 60)
    news(call)
    assert calls_expire_stale() == ended
    call.refresh_from_db()
    assert call.is_live is not bool(ended)


@pytest.mark.django_db
def test_legs_ring_out_when_phlo_had_reported_the_call(alice):
    """PHLO had told us about this call (so it was placed), then nothing: an inbound call the
    agent's phone rang for and nobody took. The agent missed it, as when it rings out."""
    call = dialling_call(alice, age=grace() + 60, direction=Call.Direction.INBOUND)
    event = CallbackEvent.objects.create(
        dedupe_key=uuid.uuid4().hex, vocabulary="mpc", event="MPCInitialized", params={}, call=call
    )
    CallbackEvent.objects.filter(pk=event.pk).update(
        received_at=timezone.now() - timedelta(seconds=grace() + 30)
    )
    assert calls_expire_stale() == 1
    call.refresh_from_db()
    alice.refresh_from_db()
    assert call.status == Call.Status.FAILED
    assert legs(call) == {S.NO_ANSWER}
    assert (alice.status, alice.status_reason) == (Agent.Status.AWAY, MISSED_CALL_REASON)


@pytest.mark.django_db
def test_a_forgotten_claim_is_abandoned_with_the_call(alice):
    call = dialling_call(alice, age=grace() + 60)
    old = Action.objects.create(call=call, actor=alice.user, kind=Action.Kind.CALL)
    Action.objects.filter(pk=old.pk).update(created_at=call.created_at)
    Call.objects.filter(pk=call.pk).update(pending_action=old)
    assert calls_expire_stale() == 1
    call.refresh_from_db()
    old.refresh_from_db()
    assert call.pending_action is None
    assert (old.outcome, old.error_kind) == ("failed", "abandoned")
    assert "housekeeping" in old.error


@pytest.mark.django_db
def test_only_dialling_calls_are_considered(alice, bob):
    customer = make_customer(phone="+14155550123")
    long_ago = timezone.now() - timedelta(seconds=grace() * 3)
    active = Call.objects.create(
        owner=bob, customer=customer, status="active", created_at=long_ago, answered_at=long_ago
    )
    Member.objects.create(
        call=active, address=bob.endpoint, role="agent", agent=bob, state="talking"
    )
    Call.objects.create(owner=alice, status="completed", created_at=long_ago, ended_at=long_ago)
    assert calls_stale_dialling() == []
    assert calls_expire_stale() == 0
    active.refresh_from_db()
    assert active.status == "active"


@pytest.mark.django_db
def test_one_broken_call_does_not_keep_the_others_stuck(alice, bob, monkeypatch):
    first = dialling_call(alice, age=grace() + 60)
    second = dialling_call(bob, age=grace() + 30)
    real = housekeeping.call_expire_if_stale

    def flaky(*, call_id, at=None):
        if call_id == first.pk:
            raise RuntimeError("boom")
        return real(call_id=call_id, at=at)

    monkeypatch.setattr(housekeeping, "call_expire_if_stale", flaky)
    report = housekeeping.calls_expire_stale_report()
    assert (report.ended, report.failed) == ([second.pk], [first.pk])
    with pytest.raises(CommandError, match=f"#{first.pk}"):
        call_command("calls_housekeeping", stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_several_processes_end_each_call_exactly_once():
    """Two workers run housekeeping at the same instant over the same stale calls, each with
    its own database connection: every call is ended once, by one of them."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (DATABASE_URL): the race needs concurrent writers and row"
            " locks; SQLite serialises writers"
        )
    agents = [make_agent(username=f"agent{i}") for i in range(4)]
    calls = [
        dialling_call(agent, age=grace() + 60, to=f"1415555020{i}")
        for i, agent in enumerate(agents)
    ]
    versions = {c.pk: Call.objects.get(pk=c.pk).version for c in calls}
    barrier = threading.Barrier(2)
    ended: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(5)
            ended.append(calls_expire_stale())
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert sorted(ended) != [] and sum(ended) == len(calls)
    for call in calls:
        call.refresh_from_db()
        assert call.status == Call.Status.FAILED
        assert call.version == versions[call.pk] + 1  # changed once, not twice
    assert set(Agent.objects.values_list("status", flat=True)) == {Agent.Status.AVAILABLE}


# --- cron ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_cron_command(alice, bob):
    stale = dialling_call(alice, age=grace() + 60)
    fresh = dialling_call(bob)

    out = io.StringIO()
    call_command("calls_housekeeping", "--dry-run", stdout=out)
    text = out.getvalue()
    assert f"call #{stale.pk}: alice / unknown customer, dialling for" in text
    assert f"#{fresh.pk}" not in text and "1 call(s) dialling with no news" in text
    stale.refresh_from_db()
    assert stale.status == Call.Status.DIALLING

    out = io.StringIO()
    call_command("calls_housekeeping", stdout=out)
    assert out.getvalue() == (
        f"Ended 1 call(s) dialling with no news for over {grace():g} s: #{stale.pk}.\n"
    )
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, fresh.status) == (Call.Status.FAILED, Call.Status.DIALLING)

    out = io.StringIO()
    call_command("calls_housekeeping", stdout=out)
    assert out.getvalue() == ""  # quiet for cron when there is nothing to do

    # A wrap-up whose countdown ran out while no page was open to time it.
    ran_out = timezone.now() - timedelta(seconds=1)
    Agent.objects.filter(pk=bob.pk).update(status="wrap_up", wrap_up_until=ran_out)
    out = io.StringIO()
    call_command("calls_housekeeping", stdout=out)
    assert out.getvalue() == "Ended 1 wrap-up(s) whose countdown had run out.\n"
    bob.refresh_from_db()
    assert bob.status == "available"


# --- the desktops' heartbeat ---------------------------------------------------------------


def test_housekeeping_is_due_once_per_interval_per_process(settings, monkeypatch):
    monkeypatch.setattr(housekeeping, "_next_run", 0.0)
    settings.CALL_HOUSEKEEPING_INTERVAL_SECONDS = 30
    assert housekeeping_due(now=1000.0) is True
    assert housekeeping_due(now=1000.0) is False  # a second desktop at the same moment
    assert housekeeping_due(now=1029.9) is False
    assert housekeeping_due(now=1030.0) is True
    assert housekeeping_due(now=1031.0) is False


async def _receive_until(communicator, needle: str) -> str:
    while True:
        text = await communicator.receive_from(timeout=3)
        if needle in text:
            return text


@pytest.mark.django_db(transaction=True)
async def test_an_open_desktop_heartbeat_frees_a_stuck_agent(monkeypatch):

    monkeypatch.setattr(housekeeping, "_next_run", 0.0)
    alice = await sync_to_async(make_agent)(username="alice")
    bob = await sync_to_async(make_agent)(username="bob")
    stuck = await sync_to_async(dialling_call)(alice, age=grace() + 60)
    session = await sync_to_async(lambda: session_of(alice.user))()
    socket, connected, _ = await open_socket(DESKTOP, session)
    try:
        assert connected
        assert 'data-status="on_call"' in await socket.receive_from(timeout=3)

        await socket.send_to(text_data=json.dumps({"type": "ping"}))
        assert 'id="heartbeat"' in await socket.receive_from(timeout=3)
        # The same heartbeat ran housekeeping: her desktop hears she is free.
        await _receive_until(socket, 'data-status="available"')
        await sync_to_async(stuck.refresh_from_db)()
        assert stuck.status == Call.Status.FAILED

        # Throttled: the next heartbeats in this process do not query again for a while.
        late = await sync_to_async(dialling_call)(bob, age=grace() + 60)
        await socket.send_to(text_data=json.dumps({"type": "ping"}))
        await _receive_until(socket, 'id="heartbeat"')
        # Messages are handled in order: once the resync is answered, the ping is done.
        await socket.send_to(text_data=json.dumps({"type": "resync"}))
        await _receive_until(socket, 'data-full-state="true"')
        await sync_to_async(late.refresh_from_db)()
        assert late.status == Call.Status.DIALLING
    finally:
        await socket.disconnect(timeout=0.2)
        await sync_to_async(connections.close_all)()
