"""Supervisor actions from the wallboard, through the agents' own services: hold, unhold,
hang up and join go over HTTP to the PHLO simulator (manual clock), whose signed callbacks
come back through the real webhook; setting an agent's status is the wallboard's service."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.urls import reverse

from agents.models import Agent
from agents.presence import agent_choose_status
from calls.models import Action, Call, Member
from calls.services import buttons as services
from calls.services.errors import InvalidInput, InvalidState, NotAllowed, NotFound
from calls.wallboard.agent_status import agent_status_set, settable_statuses
from tests.factories import at_work, login
from tests.services.helpers import queries_until_phlo
from tests.wallboard.builders import add_leg, scenario_call

pytestmark = pytest.mark.django_db(transaction=True)

ANSWER = 3.0  # seconds of simulator time: longer than its answer delay


def member_url(member: Member, kind: str) -> str:
    return reverse("wallboard:member-action", args=[member.pk, kind])


@pytest.fixture
def call(app_sim, alice, dana) -> Call:
    """Alice talking with Dana, placed from Alice's desktop service and answered."""
    placed = services.call_start(actor=alice.user, to="+1 415 555 0101")
    app_sim.advance(ANSWER)
    placed.refresh_from_db()
    assert placed.status == Call.Status.ACTIVE
    return placed


def customer_of(call: Call) -> Member:
    return call.members.get(role="customer")


class TestCallActions:
    def test_hold_and_unhold_any_member(self, call, sam, htmx, app_sim):
        client = login(sam)
        dana = customer_of(call)

        held = client.post(member_url(dana, "hold"), **htmx)
        assert held.status_code == 200
        html = held.content.decode()
        assert f'id="wb-call-{call.pk}"' in html and "hx-swap-oob" not in html
        assert f'id="wb-member-{dana.pk}-unhold"' in html
        assert f'id="wb-member-{dana.pk}-hold"' not in html  # only legal buttons
        dana.refresh_from_db()
        assert dana.state == Member.State.ON_HOLD
        assert app_sim.member(dana.address)["hold_music"] is True

        unheld = client.post(member_url(dana, "unhold"), **htmx)
        assert unheld.status_code == 200
        dana.refresh_from_db()
        assert dana.state == Member.State.TALKING
        # The same audit trail as the agents' buttons, with the supervisor as the actor.
        trail = list(Action.objects.filter(call=call).order_by("pk").values_list("kind", "actor"))
        assert trail[-2:] == [("hold", sam.pk), ("unhold", sam.pk)]

    def test_a_refusal_is_shown_inline_with_the_services_message(self, call, sam, htmx):
        client = login(sam)
        dana = customer_of(call)
        client.post(member_url(dana, "hold"), **htmx)

        again = client.post(member_url(dana, "hold"), **htmx)
        assert again.status_code == 409
        html = again.content.decode()
        assert f'id="wb-call-{call.pk}-error"' in html
        assert "Dana Diaz is not talking (on hold), so cannot be held." in html

    def test_a_phlo_failure_is_shown_and_nothing_changes(self, call, sam, htmx, app_sim):
        app_sim.inject_fault(status=500, body='{"error": "internal trouble"}')
        dana = customer_of(call)
        answer = login(sam).post(member_url(dana, "hold"), **htmx)
        assert answer.status_code == 502
        assert "Could not put Dana Diaz on hold" in answer.content.decode()
        dana.refresh_from_db()
        assert dana.state == Member.State.TALKING
        failed = Action.objects.filter(call=call, kind="hold").get()
        assert (failed.outcome, failed.actor_id) == ("failed", sam.pk)

    def test_hanging_up_the_customer_ends_the_call_for_everyone(
        self, call, sam, alice, htmx, app_sim
    ):
        client = login(sam)
        dana = customer_of(call)
        answer = client.post(member_url(dana, "hangup"), **htmx)
        # The call has ended: the empty answer removes it from the page.
        assert (answer.status_code, answer.content) == (200, b"")
        dana.refresh_from_db()
        assert dana.state == Member.State.LEFT
        assert app_sim.member(dana.address) is None
        call.refresh_from_db()
        assert call.status == Call.Status.COMPLETED
        assert call.members.get(agent=alice).state == Member.State.LEFT
        assert app_sim.member(alice.endpoint) is None

    def test_hanging_up_an_agent_of_three_leaves_the_others_talking(
        self, call, sam, alice, htmx, app_sim
    ):
        client = login(sam)
        assert (
            client.post(reverse("wallboard:call-join", args=[call.pk]), **htmx).status_code == 200
        )
        app_sim.advance(5)
        sam_leg = call.members.get(role=Member.Role.SUPERVISOR)
        sam_leg.refresh_from_db()
        answer = client.post(member_url(call.members.get(agent=alice), "hangup"), **htmx)
        assert answer.status_code == 200
        call.refresh_from_db()
        assert call.is_live

    def test_join_rings_the_supervisors_phone_into_the_call(self, call, sam, htmx, app_sim):
        answer = login(sam).post(reverse("wallboard:call-join", args=[call.pk]), **htmx)
        assert answer.status_code == 200
        leg = call.members.get(role=Member.Role.SUPERVISOR)
        assert leg.agent == sam.agent and leg.state == Member.State.DIALLING
        assert f'id="wb-member-{leg.pk}"' in answer.content.decode()

        app_sim.advance(ANSWER)
        leg.refresh_from_db()
        assert leg.state == Member.State.TALKING
        # Sam is on it now: the rules refuse a second join.
        again = login(sam).post(reverse("wallboard:call-join", args=[call.pk]), **htmx)
        assert again.status_code == 409
        assert "You are already on this call." in again.content.decode()

    def test_join_without_an_agent_profile_gets_a_clear_message(self, call, gina, htmx):
        answer = login(gina).post(reverse("wallboard:call-join", args=[call.pk]), **htmx)
        assert answer.status_code == 403
        assert (
            "You need an agent profile with a phone endpoint to join a call."
            in answer.content.decode()
        )
        assert not call.members.filter(role=Member.Role.SUPERVISOR).exists()

    def test_without_htmx_the_page_shows_the_message(self, call, gina):
        client = login(gina)
        answer = client.post(reverse("wallboard:call-join", args=[call.pk]), follow=True)
        assert answer.redirect_chain == [(reverse("wallboard:board"), 302)]
        assert "You need an agent profile" in answer.content.decode()


class TestQueriesBeforePhlo:
    """What a supervisor's button costs before its PHLO request leaves (bench/NOTES.md,
    point 3), as tests/desktop/test_views.py counts the agents'."""

    # Was 14: the service looked the member's call up again; then 13, as it read the call
    # and its members in two queries, and again after the claim.
    # Then 8: the session and the user from the cache (agents.signed_in).
    HOLD = 9  # +1: is an address live in another call (calls.services.addressing)
    # Unchanged, pinned so that it cannot grow unseen. Its one repeat is the supervisor
    # check: the page's (ModelBackend's two queries) then the service's own.
    JOIN = 13

    def test_hold(self, call, sam, htmx, app_sim):
        """The page's supervisor check (ModelBackend's two), the service's agent and
        supervisor check, the member's call, the call with its members, the action's INSERT
        and the claim (which finds the call at the version read)."""
        client = at_work(login(sam))
        url = member_url(customer_of(call), "hold")
        answer, sql = queries_until_phlo(app_sim, lambda: client.post(url, **htmx))
        assert answer.status_code == 200
        assert customer_of(call).state == Member.State.ON_HOLD
        assert Action.objects.get(kind="hold").actor_id == sam.pk
        assert len(sql) == self.HOLD, "\n".join(sql)

    def test_join(self, call, sam, htmx, app_sim):
        client = at_work(login(sam))
        url = reverse("wallboard:call-join", args=[call.pk])
        answer, sql = queries_until_phlo(app_sim, lambda: client.post(url, **htmx))
        assert answer.status_code == 200
        assert call.members.get(role=Member.Role.SUPERVISOR).agent == sam.agent
        assert len(sql) == self.JOIN, "\n".join(sql)


class TestAgentStatus:
    def status_url(self, agent: Agent) -> str:
        return reverse("wallboard:agent-status", args=[agent.pk])

    def test_free_a_stuck_agent(self, sam, alice, htmx):
        # On a call by their status, on none by their legs: a lost callback, say.
        Agent.objects.filter(pk=alice.pk).update(status="on_call")
        alice.refresh_from_db()
        assert settable_statuses(agent=alice, on_live_leg=False) == (
            "available",
            "away",
            "offline",
        )
        client = login(sam)
        page = client.get(reverse("wallboard:board")).content.decode()
        assert "On no live call: set a status to free them" in page
        assert f'id="wb-agent-{alice.pk}-available"' in page

        answer = client.post(self.status_url(alice), {"status": "available"}, **htmx)
        assert answer.status_code == 200
        html = answer.content.decode()
        assert f'id="wb-agent-{alice.pk}" class="wb-agent" data-status="available"' in html
        alice.refresh_from_db()
        assert alice.status == "available"
        entry = LogEntry.objects.get(object_id=str(alice.pk))
        assert (entry.user_id, entry.action_flag) == (sam.pk, CHANGE)
        assert entry.get_change_message() == (
            "Status changed from On a call to Available on the wallboard."
        )

    def test_every_status_says_who_set_it(self, sam, alice):
        for status in ("away", "available", "offline"):
            agent = agent_status_set(actor=sam, agent_id=alice.pk, status=status)
            assert (agent.status, agent.status_reason) == (status, "Set by Sam Supervisor")
        # Her own choice next says nothing of Sam.
        agent_choose_status(agent=alice, status="available")
        alice.refresh_from_db()
        assert (alice.status, alice.status_reason) == ("available", "")

    def test_an_agent_on_a_live_call_follows_the_call(self, sam, alice, dana, htmx):
        call = scenario_call(created_at=alice.status_changed_at, status="active", owner=alice)
        add_leg(call, role="agent", agent=alice, state="talking")
        Agent.objects.filter(pk=alice.pk).update(status="on_call")
        alice.refresh_from_db()
        assert settable_statuses(agent=alice, on_live_leg=True) == ()

        answer = login(sam).post(self.status_url(alice), {"status": "offline"}, **htmx)
        assert answer.status_code == 409
        html = answer.content.decode()
        assert f'id="wb-agent-{alice.pk}-error"' in html
        assert "is on a call, and their status follows it" in html
        alice.refresh_from_db()
        assert alice.status == "on_call"

    @pytest.mark.parametrize(
        ("status", "error", "message"),
        [
            ("wrap_up", InvalidInput, "Choose Available, Away or Offline"),
            ("", InvalidInput, "Choose Available, Away or Offline"),
            ("available", InvalidState, "is already Available."),
        ],
    )
    def test_refusals(self, sam, alice, status, error, message):
        with pytest.raises(error, match=message):
            agent_status_set(actor=sam, agent_id=alice.pk, status=status)

    def test_an_unknown_agent(self, sam, htmx):
        with pytest.raises(NotFound):
            agent_status_set(actor=sam, agent_id=999999, status="away")
        answer = login(sam).post(
            reverse("wallboard:agent-status", args=[999999]), {"status": "away"}, **htmx
        )
        assert answer.status_code == 404
        assert "That agent no longer exists." in answer.content.decode()

    def test_only_supervisors(self, alice, bob):
        with pytest.raises(NotAllowed, match="Only supervisors"):
            agent_status_set(actor=alice.user, agent_id=bob.pk, status="away")
        bob.refresh_from_db()
        assert bob.status == "available" and not LogEntry.objects.exists()
