"""Who may use the wallboard: anonymous, agent and supervisor (group, permission, superuser),
for every page, button and the websocket; through the project's own URLconf and ASGI
application (contactcenter/asgi.py: origin check, session auth, router)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from tests.factories import login, make_user
from tests.wallboard.sockets import TIMEOUT, connect


def _buttons(agent_id: int) -> list[tuple[str, dict]]:
    """Every button, aimed at things that do not exist (the permission check comes first)
    or at a harmless status change."""
    return [
        (reverse("wallboard:member-action", args=[999999, "hold"]), {}),
        (reverse("wallboard:member-action", args=[999999, "unhold"]), {}),
        (reverse("wallboard:member-action", args=[999999, "hangup"]), {}),
        (reverse("wallboard:call-join", args=[999999]), {}),
        (reverse("wallboard:agent-status", args=[agent_id]), {"status": "away"}),
    ]


@pytest.mark.django_db
class TestPage:
    def test_anonymous_users_are_sent_to_the_admin_login(self, client):
        response = client.get(reverse("wallboard:board"))
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('admin:login')}?next=/wallboard/"

    def test_agents_get_403_with_a_reason(self, alice):
        response = login(alice.user).get(reverse("wallboard:board"))
        assert response.status_code == 403
        assert "The wallboard is for supervisors" in response.content.decode()

    def test_a_staff_flag_does_not_make_a_supervisor(self, alice):
        alice.user.is_staff = True
        alice.user.save()
        assert login(alice.user).get(reverse("wallboard:board")).status_code == 403

    @pytest.mark.parametrize("who", ["sam", "gina", "root"])
    def test_supervisors_see_it(self, request, who):
        user = request.getfixturevalue(who)
        response = login(user).get(reverse("wallboard:board"))
        assert response.status_code == 200
        html = response.content.decode()
        assert 'ws-connect="/ws/wallboard/"' in html
        assert 'id="wb-figures"' in html and 'id="wb-agents"' in html
        assert "No calls in progress." in html

    def test_a_supervisor_without_a_phone_is_told_they_cannot_join(self, gina):
        html = login(gina).get(reverse("wallboard:board")).content.decode()
        assert "no agent profile, so cannot join calls" in html

    def test_inactive_supervisors_are_signed_out(self, sam):
        client = login(sam)
        sam.is_active = False
        sam.save()
        assert client.get(reverse("wallboard:board")).status_code == 302

    def test_session_check(self, client, alice, sam):
        url = reverse("wallboard:session")
        assert client.get(url).status_code == 401
        assert login(alice.user).get(url).status_code == 403
        assert login(sam).get(url).status_code == 204


@pytest.mark.django_db
class TestButtons:
    def test_anonymous_users_get_401(self, client, alice, htmx):
        for url, data in _buttons(alice.pk):
            response = client.post(url, data, **htmx)
            assert response.status_code == 401, url
            assert "signed out" in response.content.decode()
            assert response["HX-Reswap"] == "none"

    def test_agents_get_403(self, alice, bob, htmx):
        client = login(alice.user)
        for url, data in _buttons(bob.pk):
            response = client.post(url, data, **htmx)
            assert response.status_code == 403, url
            assert response.content.decode() == "Only supervisors can use the wallboard."
        bob.refresh_from_db()
        assert bob.status == "available"

    @pytest.mark.parametrize("who", ["sam", "gina", "root"])
    def test_supervisors_get_through_to_the_services(self, request, who, alice, htmx):
        client = login(request.getfixturevalue(who))
        answers = [client.post(url, data, **htmx) for url, data in _buttons(alice.pk)]
        assert [a.status_code for a in answers] == [404, 404, 404, 404, 200]
        assert "no longer on record" in answers[0].content.decode()
        assert "This call no longer exists." in answers[3].content.decode()
        alice.refresh_from_db()
        assert alice.status == "away"

    def test_buttons_only_take_posts(self, sam, alice):
        client = login(sam)
        for url, _ in _buttons(alice.pk):
            assert client.get(url).status_code == 405

    def test_buttons_need_the_csrf_token(self, sam, alice, htmx):
        client = Client(enforce_csrf_checks=True)
        client.force_login(sam)
        url = reverse("wallboard:agent-status", args=[alice.pk])
        refused = client.post(url, {"status": "away"}, **htmx)
        assert refused.status_code == 403
        alice.refresh_from_db()
        assert alice.status == "available"

        page = client.get(reverse("wallboard:board"))
        token = page.context["csrf_token"]
        assert f'"X-CSRFToken": "{token}"' in page.content.decode()
        accepted = client.post(url, {"status": "away"}, HTTP_X_CSRFTOKEN=str(token), **htmx)
        assert accepted.status_code == 200

    def test_an_unknown_action_is_a_404_with_a_reason(self, sam, htmx):
        url = reverse("wallboard:member-action", args=[1, "voicemail_drop"])
        response = login(sam).post(url, **htmx)
        assert response.status_code == 404
        assert "not something a supervisor can do" in response.content.decode()


# --- websocket -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_db_connections")
class TestWebsocket:
    async def test_anonymous_users_are_refused(self):
        communicator, connected, code = await connect(None)
        assert (connected, code) == (False, 4401)
        await communicator.disconnect()

    async def test_agents_are_refused(self, alice):
        communicator, connected, code = await connect(alice.user)
        assert (connected, code) == (False, 4403)
        await communicator.disconnect()

    async def test_users_without_an_agent_profile_or_the_role_are_refused(self):
        user = await sync_to_async(make_user)(username="viewer")
        communicator, connected, code = await connect(user)
        assert (connected, code) == (False, 4403)
        await communicator.disconnect()

    @pytest.fixture(params=["sam", "gina", "root"])
    def supervisor(self, request):
        return request.getfixturevalue(request.param)

    async def test_supervisors_connect_and_get_the_full_state(self, supervisor):
        communicator, connected, _ = await connect(supervisor)
        assert connected
        state = await communicator.receive_from(timeout=TIMEOUT)
        assert 'id="wb-figures"' in state and 'id="wb-agents"' in state
        assert '<div id="wb-calls" class="wb-calls" data-limit="50" hx-swap-oob="true">' in state
        assert 'data-full-state="true"' in state
        await communicator.disconnect()

    async def test_a_foreign_origin_is_refused_even_for_a_supervisor(self, sam):
        communicator, connected, _ = await connect(sam, origin=(b"origin", b"http://evil.test"))
        assert not connected
        await communicator.disconnect()

    async def test_a_supervisor_who_logs_out_is_closed_at_the_next_heartbeat(self, sam):
        communicator, connected, _ = await connect(sam)
        assert connected
        await communicator.receive_from(timeout=TIMEOUT)
        await communicator.send_json_to({"type": "ping"})
        assert "data-server-now" in await communicator.receive_from(timeout=TIMEOUT)

        from django.contrib.sessions.models import Session

        await sync_to_async(Session.objects.all().delete)()
        await communicator.send_json_to({"type": "ping"})
        closed = await communicator.receive_output(timeout=TIMEOUT)
        assert closed == {"type": "websocket.close", "code": 4401}
        await communicator.disconnect()

    async def test_a_supervisor_who_loses_the_role_is_closed_at_once(self, gina):
        communicator, connected, _ = await connect(gina)
        assert connected
        await communicator.receive_from(timeout=TIMEOUT)
        await sync_to_async(gina.user_permissions.clear)()
        # No heartbeat: the change itself closes it (agents.signals, access.revoked).
        closed = await communicator.receive_output(timeout=TIMEOUT)
        assert closed == {"type": "websocket.close", "code": 4403}
        await communicator.disconnect()

    async def test_a_session_ended_without_a_logout_is_closed_at_the_next_heartbeat(self, gina):
        communicator, connected, _ = await connect(gina)
        assert connected
        await communicator.receive_from(timeout=TIMEOUT)
        await Session.objects.all().adelete()  # e.g. clearsessions, or a cleared cache
        await communicator.send_json_to({"type": "ping"})
        closed = await communicator.receive_output(timeout=TIMEOUT)
        assert closed == {"type": "websocket.close", "code": 4401}
        await communicator.disconnect()
