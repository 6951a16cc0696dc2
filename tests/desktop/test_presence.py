"""Agent status rules: chosen statuses, following calls, wrap-up and its expiry."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.availability import agents_by_longest_wait
from agents.models import Agent
from agents.presence import (
    MISSED_CALL_REASON,
    OFFER_WITHDRAWN_REASON,
    UNREACHABLE_REASON,
    StatusChangeRefused,
    agent_choose_status,
    agent_end_wrap_up,
    agent_extend_wrap_up,
    agent_signed_out,
    agent_wrap_up_expire,
    agents_expire_wrap_ups,
    agents_follow_calls,
)
from calls.models import Call, Member, WrapUp
from tests.factories import make_agent, make_customer

pytestmark = pytest.mark.django_db

S = Agent.Status


@pytest.fixture
def agent():
    return make_agent(username="alice", status=S.AVAILABLE)


def leg(agent, *, state=Member.State.TALKING, answered=True, direction="outbound", owner=None):
    customer = make_customer()
    call = Call.objects.create(
        status=Call.Status.ACTIVE, direction=direction, owner=owner or agent, customer=customer
    )
    now = timezone.now()
    return Member.objects.create(
        call=call,
        address=agent.endpoint,
        role=Member.Role.AGENT,
        agent=agent,
        state=state,
        answered_at=now if answered else None,
    )


def end(member, state=Member.State.LEFT):
    """End the leg and its call. What the call's rules would record (calls.state): the owner
    who answered owes a wrap-up for the conversation they handled."""
    member.state = state
    member.left_at = timezone.now()
    member.save()
    Call.objects.filter(pk=member.call_id).update(status=Call.Status.COMPLETED)
    if member.answered_at and member.call.owner_id == member.agent_id:
        WrapUp.objects.create(call_id=member.call_id, agent=member.agent)


def test_away_needs_a_reason(agent):
    with pytest.raises(StatusChangeRefused, match="reason"):
        agent_choose_status(agent=agent, status=S.AWAY, reason="  ")
    agent = agent_choose_status(agent=agent, status=S.AWAY, reason="Lunch")
    assert (agent.status, agent.status_reason) == (S.AWAY, "Lunch")


def test_call_driven_statuses_cannot_be_chosen(agent):
    for status in (S.ON_CALL, S.WRAP_UP, "nonsense"):
        with pytest.raises(StatusChangeRefused):
            agent_choose_status(agent=agent, status=status)


def test_status_change_restarts_the_time_in_status(agent):
    Agent.objects.filter(pk=agent.pk).update(status_changed_at=timezone.now() - timedelta(hours=1))
    agent.refresh_from_db()
    before = agent.status_changed_at
    agent = agent_choose_status(agent=agent, status=S.OFFLINE)
    assert agent.status_changed_at > before


def test_a_live_leg_puts_the_agent_on_a_call_and_talking_leads_to_wrap_up(agent, settings):
    settings.AGENT_WRAP_UP_SECONDS = 45
    member = leg(agent)
    agents_follow_calls(agent_ids=[agent.pk])
    agent.refresh_from_db()
    assert agent.status == S.ON_CALL
    end(member)
    at = timezone.now()
    agents_follow_calls(agent_ids=[agent.pk], at=at)
    agent.refresh_from_db()
    assert agent.status == S.WRAP_UP
    assert agent.wrap_up_until == at + timedelta(seconds=45)


def test_an_unanswered_outbound_call_needs_no_wrap_up(agent):
    member = leg(agent, state=Member.State.DIALLING, answered=False)
    agents_follow_calls(agent_ids=[agent.pk])
    end(member, Member.State.LEFT)
    agents_follow_calls(agent_ids=[agent.pk])
    agent.refresh_from_db()
    assert agent.status == S.AVAILABLE


def test_a_missed_inbound_call_makes_the_agent_away(agent):
    member = leg(agent, state=Member.State.DIALLING, answered=False, direction="inbound")
    agents_follow_calls(agent_ids=[agent.pk])
    end(member, Member.State.NO_ANSWER)
    agents_follow_calls(agent_ids=[agent.pk])
    agent.refresh_from_db()
    assert (agent.status, agent.status_reason) == (S.AWAY, MISSED_CALL_REASON)


def test_a_transfer_that_fails_on_the_agents_phone_makes_them_away(agent):
    other = make_agent(username="bob")
    member = leg(agent, state=Member.State.DIALLING, answered=False, owner=other)
    agents_follow_calls(agent_ids=[agent.pk])
    end(member, Member.State.FAILED)
    agents_follow_calls(agent_ids=[agent.pk])
    agent.refresh_from_db()
    assert (agent.status, agent.status_reason) == (S.AWAY, UNREACHABLE_REASON)


def test_away_chosen_during_a_call_applies_after_wrap_up(agent):
    member = leg(agent)
    agents_follow_calls(agent_ids=[agent.pk])
    agent = agent_choose_status(agent=agent, status=S.AWAY, reason="Lunch")
    assert agent.status == S.ON_CALL and agent.next_status == S.AWAY
    end(member)
    agents_follow_calls(agent_ids=[agent.pk])
    agent.refresh_from_db()
    assert agent.status == S.WRAP_UP
    assert agent_end_wrap_up(agent=agent)
    agent.refresh_from_db()
    assert (agent.status, agent.status_reason, agent.next_status) == (S.AWAY, "Lunch", "")


def test_available_chosen_during_a_call_cancels_a_pending_away(agent):
    leg(agent)
    agents_follow_calls(agent_ids=[agent.pk])
    agent_choose_status(agent=agent, status=S.OFFLINE)
    agent = agent_choose_status(agent=agent, status=S.AVAILABLE)
    assert agent.status == S.ON_CALL and agent.next_status == ""


def test_a_call_reaching_an_away_agent_returns_them_to_away(agent):
    agent = agent_choose_status(agent=agent, status=S.AWAY, reason="Training")
    member = leg(agent, answered=False, state=Member.State.DIALLING)
    agents_follow_calls(agent_ids=[agent.pk])
    end(member)
    agents_follow_calls(agent_ids=[agent.pk])
    agent.refresh_from_db()
    assert (agent.status, agent.status_reason) == (S.AWAY, "Training")


def test_a_call_after_an_offer_withdrawn_returns_them_to_plain_away(agent):
    """Away for a call's reason (an offer withdrawn) is no choice of theirs: after their
    next call they are Away again, but not for an offer withdrawn a second time."""
    Agent.objects.filter(pk=agent.pk).update(status=S.AWAY, status_reason=OFFER_WITHDRAWN_REASON)
    member = leg(agent)
    agents_follow_calls(agent_ids=[agent.pk])
    agent.refresh_from_db()
    assert (agent.status, agent.next_status, agent.next_status_reason) == (S.ON_CALL, S.AWAY, "")
    end(member)
    agents_follow_calls(agent_ids=[agent.pk])
    assert agent_end_wrap_up(agent=agent)
    agent.refresh_from_db()
    assert (agent.status, agent.status_reason) == (S.AWAY, "")


def test_wrap_up_expiry_is_applied_once_and_dated_when_it_ended(
    agent, django_capture_on_commit_callbacks, monkeypatch
):
    ended = timezone.now() - timedelta(seconds=5)
    Agent.objects.filter(pk=agent.pk).update(status=S.WRAP_UP, wrap_up_until=ended)
    agent.refresh_from_db()
    assert agent in agents_by_longest_wait()  # routable before anyone flips it
    sent = []
    monkeypatch.setattr("calls.publishing._send", lambda groups, message: sent.append(message))
    with django_capture_on_commit_callbacks(execute=True):
        assert agent_wrap_up_expire(agent_id=agent.pk) is True
        assert agent_wrap_up_expire(agent_id=agent.pk) is False
    agent.refresh_from_db()
    assert agent.status == S.AVAILABLE and agent.wrap_up_until is None
    assert agent.status_changed_at == ended
    assert [m["status"] for m in sent if m["type"] == "agent.changed"] == [S.AVAILABLE] * 2
    # (one to the supervisors, one to the agent's desktops: a single change)


def test_wrap_up_not_yet_over_is_left_alone(agent):
    Agent.objects.filter(pk=agent.pk).update(
        status=S.WRAP_UP, wrap_up_until=timezone.now() + timedelta(seconds=30)
    )
    assert agents_expire_wrap_ups() == 0
    agent.refresh_from_db()
    assert agent.status == S.WRAP_UP
    assert agent_extend_wrap_up(agent=agent, seconds=30)
    agent.refresh_from_db()
    assert agent.wrap_up_until > timezone.now() + timedelta(seconds=55)


def test_signing_out_goes_offline_now_or_after_the_call(agent):
    agent_signed_out(agent=agent)
    agent.refresh_from_db()
    assert agent.status == S.OFFLINE
    agent_choose_status(agent=agent, status=S.AVAILABLE)
    leg(agent)
    agents_follow_calls(agent_ids=[agent.pk])
    agent_signed_out(agent=agent)
    agent.refresh_from_db()
    assert agent.status == S.ON_CALL and agent.next_status == S.OFFLINE


def test_logging_in_again_during_the_call_cancels_the_offline_after_it(agent):
    """Logging out mid-call asked for Offline after the call; logging back in kept it, so the
    agent, working, went Offline when the call ended. A login, through Django's own signal,
    cancels it."""
    from django.contrib.auth.signals import user_logged_in
    from django.test import RequestFactory

    agent_choose_status(agent=agent, status=S.AVAILABLE)
    leg(agent)
    agents_follow_calls(agent_ids=[agent.pk])
    agent_signed_out(agent=agent)
    user_logged_in.send(sender=type(agent.user), request=RequestFactory().get("/"), user=agent.user)
    agent.refresh_from_db()
    assert (agent.status, agent.next_status) == (S.ON_CALL, "")


def test_logging_in_again_during_the_wrap_up_after_it_cancels_the_offline_too(agent):
    """Logged out mid-call, the agent is in wrap-up when the call ends, then Offline; logging
    back in during that wrap-up means they are back: Available after it."""
    from django.contrib.auth.signals import user_logged_in
    from django.test import RequestFactory

    Agent.objects.filter(pk=agent.pk).update(
        status=S.WRAP_UP,
        wrap_up_until=timezone.now() + timedelta(seconds=30),
        next_status=S.OFFLINE,
    )
    user_logged_in.send(sender=type(agent.user), request=RequestFactory().get("/"), user=agent.user)
    agent.refresh_from_db()
    assert (agent.status, agent.next_status) == (S.WRAP_UP, "")
