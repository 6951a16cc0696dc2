"""Who acts, and what a button asks the database before its PHLO request leaves.

The desktop's views hand the services what they already looked up in the request (the agent,
the member's call); the services check it and ask for nothing twice. The counts come from
the simulator's own thread as the PHLO request arrives.
"""

import pytest
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import Permission
from django.db import transaction

from agents.models import Agent
from agents.permissions import is_supervisor
from agents.services.ringing import ringing_leg_reject
from calls import selectors
from calls.models import Action, Call, Member
from calls.services import InvalidState, NotAllowed, NotFound, buttons
from calls.services.execution import actor_for, load_member
from calls.state import call_changed, lock_call, member_set_state
from tests.factories import make_agent, make_customer, make_supervisor, make_user
from tests.services.helpers import (
    S,
    phlo_requests,
    queries_until_phlo,
    sim_states,
)

pytestmark = pytest.mark.django_db

DANA = "14155550101"
GONE = "That participant is no longer on record."


def dana_leg(call: Call) -> Member:
    return call.members.get(address=DANA)


def fresh(user):
    """The user as a request would load it: no permissions cached on the object yet."""
    return type(user).objects.get(pk=user.pk)


class SupervisesEveryoneNamedSue(BaseBackend):
    """An extra authentication backend that grants the permission its own way."""

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        return perm == "calls.supervise" and user_obj.get_username() == "sue"


# --- actor_for ------------------------------------------------------------------------------


def test_an_agent_already_fetched_is_used_not_fetched_again(alice, django_assert_num_queries):
    user = fresh(alice.user)
    with django_assert_num_queries(1):  # the supervisor check only
        who = actor_for(user, agent=alice)
    assert who.agent is alice and who.user is user and who.supervisor is False
    user = fresh(alice.user)
    with django_assert_num_queries(0):  # then the profile is cached (agents.profiles)
        assert actor_for(user).agent == alice


def test_without_an_agent_the_profile_costs_two_queries_once(alice, django_assert_num_queries):
    user = fresh(alice.user)
    with django_assert_num_queries(2):  # the agent, then the supervisor check
        who = actor_for(user)
    assert who.agent == alice and who.agent.endpoint == alice.endpoint
    user = fresh(alice.user)
    with django_assert_num_queries(0):
        assert actor_for(user).agent == alice


def test_someone_elses_agent_is_a_programming_error(alice, bob):
    with pytest.raises(ValueError, match="is not user"):
        actor_for(alice.user, agent=bob)


def test_the_supervisor_flag_is_is_supervisor_in_one_query_at_most(
    alice, django_assert_max_num_queries
):
    direct = make_agent(username="direct")
    direct.user.user_permissions.add(
        Permission.objects.get(codename="supervise", content_type__app_label="calls")
    )
    users = {
        "agent": alice.user,
        "group": make_supervisor(username="sam", with_agent=True),
        "direct": direct.user,
        "superuser": make_user(username="root", is_superuser=True),
        "profile-less": make_user(username="nobody"),
    }
    flags = {}
    for name, user in users.items():
        user = fresh(user)
        with django_assert_max_num_queries(2):  # the agent, then the supervisor check
            flags[name] = actor_for(user).supervisor
        assert flags[name] is is_supervisor(fresh(user))
    assert flags == {
        "agent": False,
        "group": True,
        "direct": True,
        "superuser": True,
        "profile-less": False,
    }


def test_another_authentication_backend_is_still_asked(settings, plain_user):
    sue = make_user(username="sue")
    assert actor_for(fresh(sue)).supervisor is False
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        f"{__name__}.SupervisesEveryoneNamedSue",
    ]
    assert actor_for(fresh(sue)).supervisor is True
    assert actor_for(fresh(plain_user)).supervisor is False


def test_signed_out_and_inactive_users_are_refused_even_with_an_agent(alice):
    alice.user.is_active = False
    with pytest.raises(NotAllowed, match="Sign in"):
        actor_for(alice.user, agent=alice)


# --- load_member ----------------------------------------------------------------------------


def test_a_known_call_is_checked_against_the_member(phlo_sim, talking_call, alice):
    dana = dana_leg(talking_call)
    call, members, member = load_member(member_id=dana.pk, call_id=talking_call.pk)
    assert (call, member) == (talking_call, dana) and dana in members
    other = buttons.call_start(actor=make_agent(username="eve").user, to="+14155550199")
    for wrong in (other.pk, 424242):  # another call; a call that is gone
        with pytest.raises(NotFound) as info:
            load_member(member_id=dana.pk, call_id=wrong)
        assert info.value.message == GONE
    with pytest.raises(NotFound) as info:
        load_member(member_id=424242)
    assert info.value.message == GONE


def test_a_button_with_the_wrong_call_does_nothing(phlo_sim, talking_call, alice):
    other = buttons.call_start(actor=make_agent(username="eve").user, to="+14155550199")
    with pytest.raises(NotFound, match=GONE):
        buttons.member_hold(actor=alice.user, member_id=dana_leg(talking_call).pk, call_id=other.pk)
    assert not Action.objects.filter(kind="hold").exists()
    assert sim_states(phlo_sim, talking_call)[DANA] == "talking"


# --- queries before PHLO --------------------------------------------------------------------


def test_hold_queries_before_phlo(phlo_sim, talking_call, alice):
    """The call with its members (found by the member), the action's INSERT and the claim,
    which finds the call at the version read: nothing is read again after it. The agent and
    the supervisor flag come from the profile cached when Alice placed the call."""
    dana = dana_leg(talking_call)
    user = fresh(alice.user)
    held, sql = queries_until_phlo(
        phlo_sim, lambda: buttons.member_hold(actor=user, member_id=dana.pk)
    )
    assert held.state == S.ON_HOLD
    # was 11, then 9; then 5 before the profile was cached: the member's call, and the call
    # and its members again after the claim, the agent and the supervisor check
    assert len(sql) == 4, "\n".join(sql)  # +1: the address check (calls.services.addressing)

    # What the desktop's view already knows saves the agent.
    user = fresh(alice.user)
    unheld, sql = queries_until_phlo(
        phlo_sim,
        lambda: buttons.member_unhold(
            actor=user, actor_agent=alice, member_id=dana.pk, call_id=talking_call.pk
        ),
    )
    assert unheld.state == S.TALKING
    assert len(sql) == 4, "\n".join(sql)  # was 7
    assert Action.objects.filter(actor=alice.user, outcome="succeeded").count() == 3


def test_a_supervisor_acting_from_the_wallboard_is_checked_in_one_query(phlo_sim, talking_call):
    sue = fresh(make_supervisor(username="sue"))
    dana = dana_leg(talking_call)
    held, sql = queries_until_phlo(
        phlo_sim, lambda: buttons.member_hold(actor=sue, member_id=dana.pk)
    )
    assert held.state == S.ON_HOLD
    # was 10: two permission queries, and the member's call looked up twice; then 9
    assert len(sql) == 6, "\n".join(sql)  # +1: the address check (calls.services.addressing)
    assert sum("auth_user_user_permissions" in q for q in sql) == 1


def test_call_buttons_queries_before_phlo(phlo_sim, talking_call, alice, bob):
    user = fresh(alice.user)
    _, sql = queries_until_phlo(
        phlo_sim,
        lambda: buttons.transfer_warm_start(
            actor=user, actor_agent=alice, call_id=talking_call.pk, to=bob.endpoint
        ),
    )
    # The supervisor check, the call and its members, the target agent and whether they are
    # on another call, the INSERT and the claim, then the call, its members and whether the
    # target is on another call, as the claim left them.
    assert len(sql) == 10, "\n".join(sql)  # was 12, then 10 (the supervisor check, now cached)
    _, sql = queries_until_phlo(
        phlo_sim,
        lambda: buttons.transfer_abort(actor=user, actor_agent=alice, call_id=talking_call.pk),
    )
    assert len(sql) == 7, "\n".join(sql)  # was 9, then 7 (the supervisor check, now cached)
    talking_call.refresh_from_db()
    assert talking_call.transfer_kind == ""


def test_a_transfer_to_an_agent_already_found(phlo_sim, talking_call, alice, bob):
    """The transfer picker names an agent: the service takes that agent rather than look
    them up again by endpoint."""
    user = fresh(alice.user)
    _, sql = queries_until_phlo(
        phlo_sim,
        lambda: buttons.transfer_cold(
            actor=user,
            actor_agent=alice,
            call_id=talking_call.pk,
            to=bob.endpoint,
            to_agent=bob,
        ),
    )
    assert len(sql) == 9, "\n".join(sql)  # 9 without `to_agent`
    talking_call.refresh_from_db()
    assert (talking_call.transfer_kind, talking_call.transfer_to_agent) == ("cold", bob)
    assert Action.objects.get(kind="cold_transfer").member.agent == bob


def test_an_agent_not_at_the_address_is_not_taken_for_it(phlo_sim, talking_call, alice, bob):
    carol = make_agent(username="carol")
    buttons.transfer_warm_start(
        actor=alice.user, call_id=talking_call.pk, to=bob.endpoint, to_agent=carol
    )
    talking_call.refresh_from_db()
    # Looked up by the address, as without `to_agent`.
    assert (talking_call.transfer_to_address, talking_call.transfer_to_agent) == (
        bob.endpoint,
        bob,
    )


def test_call_start_queries_before_phlo(phlo_sim, alice, bob, dana):
    """The agent, the supervisor check, the customer, whether the number is an agent's;
    then in one transaction (opening and closing it count): the agent locked, whether they
    are on a call, the call, its two legs, the action and the call's claim."""
    user = fresh(alice.user)
    call, sql = queries_until_phlo(
        phlo_sim, lambda: buttons.call_start(actor=user, to="+1 415 555 0101")
    )
    assert call.customer == dana
    assert len(sql) == 14, "\n".join(sql)  # was 14: the new legs were read back

    # Handed the agent and the customer, as the dial box does: neither is fetched again.
    eli = make_customer(name="Eli Evans", phone="+14155550102")
    user = fresh(bob.user)
    call, sql = queries_until_phlo(
        phlo_sim,
        lambda: buttons.call_start(actor=user, actor_agent=bob, to="", customer=eli),
    )
    assert (call.owner, call.customer) == (bob, eli)
    assert call.members.get(role="customer").address == eli.phone
    # was 14 with customer_id: the agent and the customer fetched again, the legs read back
    assert len(sql) == 12, "\n".join(sql)


def test_call_start_checks_what_it_is_handed(phlo_sim, alice, bob, dana):
    eli = make_customer(name="Eli Evans", phone="+14155550102")
    with pytest.raises(ValueError, match="is not customer_id"):
        buttons.call_start(actor=alice.user, to="", customer=dana, customer_id=eli.pk)
    with pytest.raises(ValueError, match="is not user"):
        buttons.call_start(actor=alice.user, actor_agent=bob, to=DANA)
    assert not Call.objects.exists() and not Action.objects.exists()
    assert phlo_sim.snapshot()["conferences"] == []
    # The same customer both ways is fine.
    call = buttons.call_start(actor=alice.user, to="", customer=eli, customer_id=eli.pk)
    assert call.customer == eli


def test_reject_queries_before_phlo(phlo_sim, alice, bob, dana):
    """The agent, the leg, the supervisor check, the call with its members, the action's
    INSERT and the claim."""
    first = buttons.call_start(actor=alice.user, to=DANA)
    mine = first.members.get(agent=alice)
    user = fresh(alice.user)
    gone, sql = queries_until_phlo(
        phlo_sim, lambda: ringing_leg_reject(actor=user, member_id=mine.pk)
    )
    assert gone.state == S.LEFT
    # was 11: the agent fetched again, and the leg's call looked up again; then 9, as the
    # call and its members were read again after the claim; the supervisor check is cached
    assert len(sql) == 6, "\n".join(sql)  # +1: the address check (calls.services.addressing)

    # Handed the agent, as the desktop's view does: one query fewer.
    second = buttons.call_start(actor=bob.user, to="+14155550102")
    mine = second.members.get(agent=bob)
    user = fresh(bob.user)
    gone, sql = queries_until_phlo(
        phlo_sim, lambda: ringing_leg_reject(actor=user, actor_agent=bob, member_id=mine.pk)
    )
    assert gone.state == S.LEFT
    assert len(sql) == 5, "\n".join(sql)  # was 8, then 5 (the supervisor check, now cached)
    assert Action.objects.get(kind="hangup", member=mine).actor == bob.user


def test_reject_with_someone_elses_agent_is_a_programming_error(phlo_sim, alice, bob, dana):
    call = buttons.call_start(actor=bob.user, to=DANA)
    bobs = call.members.get(agent=bob)
    with pytest.raises(ValueError, match="is not user"):
        ringing_leg_reject(actor=alice.user, actor_agent=bob, member_id=bobs.pk)
    bobs.refresh_from_db()
    assert bobs.state == S.DIALLING
    assert not Action.objects.filter(kind="hangup").exists()


def test_join_queries_before_phlo(phlo_sim, talking_call, sam):
    """The supervisor check, the call and its members, whether the supervisor is on another
    call, the action's INSERT and the claim, then the call, its members and whether the
    supervisor is on another call, as the claim left them."""
    agent = Agent.objects.select_related("user").get(user=sam)
    with pytest.raises(ValueError, match="is not user"):
        buttons.call_join(actor=sam, actor_agent=make_agent(), call_id=talking_call.pk)
    user = fresh(sam)
    call, sql = queries_until_phlo(
        phlo_sim,
        lambda: buttons.call_join(actor=user, actor_agent=agent, call_id=talking_call.pk),
    )
    assert call.members.get(role="supervisor").agent == agent
    assert len(sql) == 9, "\n".join(sql)  # 9 without the agent; the supervisor check cached


def test_a_call_changed_between_the_read_and_the_claim_is_read_again(
    phlo_sim, talking_call, alice, monkeypatch
):
    """The claim skips reading the call again only when it finds the version it read: here
    someone else holds Dana in between, so the hold reads again and is refused, and PHLO
    hears nothing."""
    dana = dana_leg(talking_call)
    read = selectors.members_with_their_call

    def read_then_someone_holds(**kwargs):
        found = read(**kwargs)
        if not Member.objects.filter(pk=dana.pk, state=S.ON_HOLD).exists():
            with transaction.atomic():
                call = lock_call(call_id=talking_call.pk)
                member_set_state(member=Member.objects.get(pk=dana.pk), state=S.ON_HOLD)
                call_changed(call=call)
        return found

    monkeypatch.setattr(selectors, "members_with_their_call", read_then_someone_holds)
    with phlo_requests(phlo_sim) as sent, pytest.raises(InvalidState, match="not talking"):
        buttons.member_hold(actor=alice.user, actor_agent=alice, member_id=dana.pk)
    assert sent == []
    action = Action.objects.get(kind="hold")
    assert (action.outcome, action.request) == ("failed", {})
    talking_call.refresh_from_db()
    assert talking_call.pending_action is None


# --- the cached profile (agents.profiles) ---------------------------------------------------


def test_the_cached_profile_follows_every_change_of_rights(alice, django_assert_num_queries):
    assert actor_for(fresh(alice.user)).supervisor is False  # cached now
    group = make_supervisor(username="sam").groups.get(name="Supervisors")
    alice.user.groups.add(group)
    assert actor_for(fresh(alice.user)).supervisor is True
    group.permissions.clear()  # the group's rights: everyone's profile is forgotten
    assert actor_for(fresh(alice.user)).supervisor is False
    alice.user.groups.remove(group)
    direct = Permission.objects.get(codename="supervise", content_type__app_label="calls")
    alice.user.user_permissions.add(direct)
    assert actor_for(fresh(alice.user)).supervisor is True
    direct.user_set.remove(alice.user)
    assert actor_for(fresh(alice.user)).supervisor is False
    type(alice.user).objects.filter(pk=alice.user.pk).update(is_superuser=True)
    assert actor_for(fresh(alice.user)).supervisor is True  # the flag is in the key


def test_the_cached_profile_follows_its_agent_but_not_its_status(alice, django_assert_num_queries):
    assert actor_for(fresh(alice.user)).agent.endpoint == alice.endpoint
    alice.status = "away"
    alice.save(update_fields=["status"])  # presence, many times a day: kept
    user = fresh(alice.user)
    with django_assert_num_queries(1):  # the status is read when used, never stale
        assert actor_for(user).agent.status == "away"
    alice.endpoint = "sip:alice-desk@phones.test"
    alice.save()
    assert actor_for(fresh(alice.user)).agent.endpoint == "sip:alice-desk@phones.test"
    alice.delete()
    assert actor_for(fresh(alice.user)).agent is None
