"""End to end: a "call" whose answer PHLO never gave in time, then the simulator's own
signed callbacks, over HTTP to the real webhook on `live_server`, bring the call to its true
state; and one that PHLO never placed is ended by housekeeping, freeing the agent.

Time is the simulator's manual clock (callbacks) and `at=` (housekeeping): no sleeps.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Agent
from calls.models import Action, Call, CallbackEvent, Member
from calls.services import buttons
from calls.services.errors import PhloOutcomeUnknown
from calls.services.housekeeping import calls_expire_stale, dial_grace
from tests.services.helpers import states

pytestmark = pytest.mark.django_db(transaction=True)

ANSWER = 5.0  # seconds: the agent answers after 2 s, then the number they called
SLOW = 0.2  # the simulator holds its answer this long (real time)...
READ_TIMEOUT = 0.05  # ...and the client gives up after this
S = Member.State


@pytest.fixture
def sim(app_sim_each_vocabulary, settings):
    settings.PHLO_READ_TIMEOUT = READ_TIMEOUT
    return app_sim_each_vocabulary


def past_grace():
    return timezone.now() + dial_grace() + timedelta(seconds=1)


def test_timed_out_call_is_brought_to_life_by_its_callbacks(sim, alice, dana):
    sim.inject_fault(delay=SLOW)
    with pytest.raises(PhloOutcomeUnknown, match="watch your phone"):
        buttons.call_start(actor=alice.user, to="+1 415 555 0101")
    call = Call.objects.get()
    assert call.status == Call.Status.DIALLING
    alice.refresh_from_db()
    assert alice.status == Agent.Status.ON_CALL

    assert sim.wait_api_idle()  # PHLO carries the call out after all
    sim.advance(ANSWER)
    call.refresh_from_db()
    assert call.status == Call.Status.ACTIVE and call.conference_uuid
    assert states(call) == {alice.endpoint: S.TALKING, dana.phone: S.TALKING}
    assert all(m.call_uuid for m in call.members.all())
    applied = CallbackEvent.objects.filter(call=call, outcome="applied")
    assert applied.exists()
    assert not CallbackEvent.objects.filter(outcome__in=["unmatched", "failed"]).exists()

    # Housekeeping leaves a call that connected alone, whatever the time.
    assert calls_expire_stale(at=past_grace()) == 0

    sim.phones.hangup(dana.phone)  # the call ends for Alice too
    sim.advance(0.1)
    call.refresh_from_db()
    alice.refresh_from_db()
    assert call.status == Call.Status.COMPLETED
    assert call.outcome == Call.Outcome.CUSTOMER_HUNG_UP
    assert alice.status == Agent.Status.WRAP_UP
    assert Action.objects.get(call=call).error_kind == "outcome_unknown"


def test_timed_out_call_nobody_answers_ends_by_its_callbacks(sim, alice):
    sim.inject_fault(delay=SLOW)
    with pytest.raises(PhloOutcomeUnknown):
        buttons.call_start(actor=alice.user, to="+1 500 555 0002")  # rings out
    assert sim.wait_api_idle()
    sim.advance(120)
    call = Call.objects.get()
    assert states(call)["15005550002"] == S.NO_ANSWER
    # Nobody answered: the call ended with no second hang-up from Alice.
    assert not call.is_live
    assert call.outcome == Call.Outcome.NO_ANSWER


def test_a_call_phlo_never_placed_is_expired_and_frees_the_agent(sim, alice, dana):
    sim.inject_fault(disconnect=True)  # the request is dropped unapplied: no call, no callback
    with pytest.raises(PhloOutcomeUnknown, match="connection to PHLO dropped"):
        buttons.call_start(actor=alice.user, to=dana.phone)
    sim.advance(ANSWER * 10)
    call = Call.objects.get()
    alice.refresh_from_db()
    assert call.status == Call.Status.DIALLING and alice.status == Agent.Status.ON_CALL
    assert not CallbackEvent.objects.exists()

    assert calls_expire_stale(at=timezone.now() + dial_grace() - timedelta(seconds=5)) == 0
    assert calls_expire_stale(at=past_grace()) == 1
    call.refresh_from_db()
    alice.refresh_from_db()
    assert call.status == Call.Status.FAILED and call.ended_at
    assert set(states(call).values()) == {S.FAILED}
    assert alice.status == Agent.Status.AVAILABLE
    assert calls_expire_stale(at=past_grace()) == 0  # idempotent

    # She can call again straight away, and this time it works.
    call = buttons.call_start(actor=alice.user, to=dana.phone)
    sim.advance(ANSWER)
    call.refresh_from_db()
    assert call.status == Call.Status.ACTIVE
