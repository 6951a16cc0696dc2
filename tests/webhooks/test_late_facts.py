"""The conference's end reaches us before how the call went: the late callbacks retell it.

The provider reorders callbacks. When the end comes first, the call ends on what we knew
(nobody had answered); the older callbacks that follow say otherwise, and the call, its
owner's wrap-up and the agent's status end as they would have in order
(`calls.state._retell_the_end`, `agents.presence.agents_settle_again`).
"""

import pytest
from django.utils import timezone

from agents.models import Agent
from agents.presence import agent_choose_status, agents_follow_calls
from calls.models import Call, CallTransfer, Member, WrapUp
from calls.state import call_changed, lock_call, member_set_state, transfer_begin
from tests.factories import make_agent
from tests.webhooks.helpers import build_call, callbacks, post_callback

pytestmark = pytest.mark.django_db

State = Member.State
MPC = callbacks("mpc_call_lifecycle")


def _post(client, params) -> dict:
    response = post_callback(client, params)
    assert response.status_code == 200, response.content
    return response.json()


def _placed(scenario: str = "mpc_call_lifecycle"):
    """A call as our services leave it once placed: the agent's phone rings, they are on a call."""
    legs = build_call(scenario)
    agents_follow_calls(agent_ids=[legs.agent_leg.agent_id])
    return legs


def _end_first(client, legs, *, first: str = "customer_leaves") -> None:
    """The end reaches us first: a leg's exit (which ties the conference to the call and
    leaves nobody to talk to) and the conference's end."""
    _post(client, MPC[first])
    _post(client, MPC["ended"])
    legs.refresh()
    assert legs.call.status == Call.Status.FAILED  # on what we knew: nobody had answered


def test_an_answered_call_whose_end_came_first_ends_answered_and_owes_a_wrap_up(client):
    legs = _placed()
    _end_first(client, legs)
    alice = Agent.objects.get(pk=legs.agent_leg.agent_id)
    assert alice.status == Agent.Status.AVAILABLE

    late = _post(client, MPC["agent_joins"])
    assert late["outcome"] == "applied"
    assert "it had answered" in late["note"]
    for name in ("customer_joins", "agent_leaves"):
        _post(client, MPC[name])

    legs.refresh()
    assert legs.call.status == Call.Status.COMPLETED
    assert legs.call.answered_at is not None
    assert legs.call.answered_at <= legs.call.ended_at
    assert legs.call.outcome == Call.Outcome.CUSTOMER_HUNG_UP
    assert legs.agent_leg.state == State.LEFT and legs.customer_leg.state == State.LEFT
    owed = WrapUp.objects.get(call=legs.call, agent_id=alice.pk)
    assert owed.disposition_required and owed.done_at is None
    alice.refresh_from_db()
    assert alice.status == Agent.Status.WRAP_UP


def test_an_agent_who_moved_on_since_the_end_keeps_their_status(client):
    legs = _placed()
    _end_first(client, legs)
    alice = Agent.objects.get(pk=legs.agent_leg.agent_id)
    agent_choose_status(agent=alice, status=Agent.Status.AWAY, reason="Lunch")

    for name in ("agent_joins", "customer_joins", "agent_leaves"):
        _post(client, MPC[name])

    alice.refresh_from_db()
    assert (alice.status, alice.status_reason) == (Agent.Status.AWAY, "Lunch")
    # What she owes is still recorded: the desktop asks for it when she is back.
    assert WrapUp.objects.get(call=legs.call, agent_id=alice.pk).disposition_required


def test_a_wrap_up_already_done_is_never_reopened(client):
    legs = _placed()
    _end_first(client, legs)
    owed = WrapUp.objects.get(call=legs.call, agent_id=legs.agent_leg.agent_id)
    assert not owed.disposition_required  # nobody reached: only the outcome to see
    WrapUp.objects.filter(pk=owed.pk).update(done_at=legs.call.ended_at)

    for name in ("agent_joins", "customer_joins", "agent_leaves"):
        _post(client, MPC[name])

    owed.refresh_from_db()
    assert owed.done_at is not None and not owed.disposition_required
    assert Agent.objects.get(pk=legs.agent_leg.agent_id).status == Agent.Status.AVAILABLE


def test_a_late_busy_for_a_number_the_end_took_out_as_never_dialled(client):
    legs = _placed()
    # The agent's exit first: their phone seems never to have answered, the number is
    # taken out as never dialled.
    _end_first(client, legs, first="agent_leaves")
    assert legs.customer_leg.end_cause == Member.EndCause.NOT_DIALLED
    assert legs.call.outcome == Call.Outcome.AGENT_UNREACHABLE

    busy = {**MPC["customer_leaves"], "ParticipantExitCause": "busy"}
    _post(client, busy)  # before or after the agent's join: the same end
    _post(client, MPC["agent_joins"])

    legs.refresh()
    assert legs.customer_leg.state == State.BUSY
    assert legs.call.status == Call.Status.COMPLETED
    assert legs.call.outcome == Call.Outcome.BUSY


def test_a_cold_transfer_cut_short_by_the_end_whose_target_had_answered_completed():
    legs = _placed()
    call, alice_leg = legs.call, legs.agent_leg
    bob = make_agent(endpoint="sip:bob@phones.test", status="available")
    for leg in (alice_leg, legs.customer_leg):
        member_set_state(member=leg, state=State.TALKING)
    call_changed(call=lock_call(call_id=call.pk))
    call = lock_call(call_id=call.pk)
    transfer_begin(
        call=call,
        kind=Call.TransferKind.COLD,
        from_agent_id=alice_leg.agent_id,
        to_address=bob.endpoint,
        to_agent=bob,
        at=timezone.now(),
    )
    bob_leg = Member.objects.create(
        call=call, address=bob.endpoint, role=Member.Role.AGENT, agent=bob
    )
    call_changed(call=call)
    # The end reaches us first: everyone is taken out, the transfer failed with the call.
    for leg in (legs.customer_leg, alice_leg, bob_leg):
        leg.refresh_from_db()
        member_set_state(member=leg, state=State.LEFT, cause=Member.EndCause.TAKEN_OUT)
    call_changed(call=lock_call(call_id=call.pk))
    assert CallTransfer.objects.get(call=call).outcome == CallTransfer.Outcome.FAILED

    # Then bob's answer, which came before the end.
    bob_leg.refresh_from_db()
    assert not member_set_state(member=bob_leg, state=State.TALKING)
    call_changed(call=lock_call(call_id=call.pk))

    call.refresh_from_db()
    assert call.owner_id == bob.pk
    assert CallTransfer.objects.get(call=call).outcome == CallTransfer.Outcome.COMPLETED
    assert set(WrapUp.objects.filter(call=call).values_list("agent_id", flat=True)) == {
        alice_leg.agent_id,
        bob.pk,
    }
