"""calls.publishing: one message per change and group, with each agent's render attached."""

import pytest

from agents.models import Agent
from calls.events import AgentChanged, CallChanged, announce
from calls.models import Call, Member
from tests.factories import make_agent, make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    messages = []
    monkeypatch.setattr(
        "calls.publishing._send", lambda groups, message: messages.append((list(groups), message))
    )
    return messages


def test_call_change_goes_plain_to_watchers_and_rendered_to_each_agent(
    sent, django_capture_on_commit_callbacks
):
    alice = make_agent(username="alice", status="on_call")
    bob = make_agent(username="bob")
    dana = make_customer()
    call = Call.objects.create(status="active", owner=alice, customer=dana, version=4)
    Member.objects.create(
        call=call, address=alice.endpoint, role="agent", agent=alice, state="talking"
    )
    with django_capture_on_commit_callbacks(execute=True):
        announce(CallChanged(call_id=call.pk, version=4, agent_ids=frozenset([alice.pk, bob.pk])))
        assert sent == []  # nothing before the commit
    plain = {"type": "call.changed", "call_id": call.pk, "version": 4}
    by_group = {tuple(groups): message for groups, message in sent}
    assert len(sent) == len(by_group) == 4  # one message per group, each group once
    assert by_group[(f"call.{call.pk}",)] == plain
    # The wallboards' render (if any) rides on the supervisors' message.
    assert by_group[("supervisors",)].items() >= plain.items()
    to_alice = by_group[(f"agent.{alice.pk}",)]
    assert to_alice.items() >= plain.items()
    assert f'<article id="call-{call.pk}"' in to_alice["html"]
    assert 'data-version="4"' in to_alice["html"]
    # Bob is told too, and the call leaves his desktop: it is not his.
    assert 'hx-swap-oob="delete"' in by_group[(f"agent.{bob.pk}",)]["html"]


def test_a_render_failure_still_sends_the_change(
    sent, monkeypatch, django_capture_on_commit_callbacks
):
    alice = make_agent(username="alice")
    call = Call.objects.create(status="active", owner=alice)

    def broken(**kwargs):
        raise RuntimeError("template trouble")

    monkeypatch.setattr("agents.rendering.render_call_for_agents", broken)
    with django_capture_on_commit_callbacks(execute=True):
        announce(CallChanged(call_id=call.pk, version=1, agent_ids=frozenset([alice.pk])))
    assert (
        [f"agent.{alice.pk}"],
        {"type": "call.changed", "call_id": call.pk, "version": 1},
    ) in sent


def test_agent_change_carries_the_status_bar_and_the_wrap_up_end(
    sent, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    alice = make_agent(username="alice")
    until = timezone.now() + timedelta(seconds=30)
    Agent.objects.filter(pk=alice.pk).update(status="wrap_up", wrap_up_until=until)
    with django_capture_on_commit_callbacks(execute=True):
        announce(AgentChanged(agent_id=alice.pk, status="wrap_up"))
    plain = {"type": "agent.changed", "agent_id": alice.pk, "status": "wrap_up"}
    by_group = {tuple(groups): message for groups, message in sent}
    assert len(sent) == 2 and by_group[("supervisors",)].items() >= plain.items()
    message = by_group[(f"agent.{alice.pk}",)]
    assert message.items() >= plain.items()
    assert 'id="agent-status"' in message["html"] and "End wrap-up" in message["html"]
    assert message["wrap_up_until"] == until.isoformat()
