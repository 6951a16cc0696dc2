"""The desktop's HTTP side: page, dial box, buttons, wrap-up, status, helpers.

Buttons go through the real services to a simulator on a manual clock, whose callbacks
reach the real webhook over HTTP; nothing of ours is mocked.
"""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from agents.models import Agent
from agents.selectors import call_for_desktop, call_view
from agents.views.common import SIGNED_OUT_MESSAGE
from calls.models import Action, Call, Customer, Member
from calls.services import buttons
from tests.factories import at_work, login, make_agent, make_customer, make_supervisor, make_user
from tests.services.helpers import queries_until_phlo

ANSWER = 3.0  # seconds on the simulator's clock: longer than its answer delay
S = Member.State


def answered_call(sim, agent, customer) -> Call:
    call = buttons.call_start(actor=agent.user, to=customer.phone)
    sim.advance(ANSWER)
    call.refresh_from_db()
    assert call.status == Call.Status.ACTIVE
    return call


def text(response) -> str:
    return unescape(response.content.decode())


def leg(call, role="customer") -> Member:
    return call.members.get(role=role)


# --- page, login, helpers ---------------------------------------------------------------------


@pytest.mark.django_db
class TestPage:
    def test_anonymous_users_are_sent_to_log_in(self):
        response = Client().get("/")
        assert response.status_code == 302 and response["Location"] == "/login/?next=/"

    def test_login_page_and_login(self, alice):
        page = Client().get("/login/")
        assert page.status_code == 200 and b'autocomplete="current-password"' in page.content
        client = Client()
        bad = client.post("/login/", {"username": "alice", "password": "wrong"})
        assert bad.status_code == 200 and b'role="alert"' in bad.content
        good = client.post("/login/", {"username": "alice", "password": "pw"})
        assert good.status_code == 302 and good["Location"] == "/"

    def test_the_desktop_has_everything_in_place(self, alice_client, alice):
        response = alice_client.get("/")
        html = text(response)
        assert response.status_code == 200
        assert 'ws-connect="/ws/desktop/"' in html and 'hx-ext="ws"' in html
        assert "/static/vendor/htmx-2.0.11.min.js" in html
        assert "/static/vendor/htmx-ext-ws-2.0.4.js" in html
        assert 'id="agent-status"' in html and 'data-status="available"' in html
        assert 'id="dial-to"' in html and "Keyboard shortcuts" in html
        assert "No calls right now" in html
        # The CSRF token rides on every htmx request; no secret of the app is on the page.
        assert '"X-CSRFToken"' in html
        assert "test-auth-token" not in html

    def test_the_page_ends_a_wrap_up_that_ran_out_and_keeps_one_still_running(
        self, alice_client, alice
    ):
        from datetime import timedelta

        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from django.utils import timezone

        running_until = timezone.now() + timedelta(seconds=30)
        Agent.objects.filter(pk=alice.pk).update(status="wrap_up", wrap_up_until=running_until)
        with CaptureQueriesContext(connection) as queries:
            html = text(alice_client.get("/"))
        assert 'data-status="wrap_up"' in html
        alice.refresh_from_db()
        assert (alice.status, alice.wrap_up_until) == ("wrap_up", running_until)
        # Nothing due: the agent's row is read, not locked.
        assert not any("FOR UPDATE" in q["sql"] for q in queries.captured_queries)

        Agent.objects.filter(pk=alice.pk).update(
            wrap_up_until=timezone.now() - timedelta(seconds=1)
        )
        html = text(alice_client.get("/"))
        assert 'data-status="available"' in html
        alice.refresh_from_db()
        assert (alice.status, alice.wrap_up_until) == ("available", None)

    def test_a_user_without_agent_profile_gets_an_explanation(self):
        client = Client()
        client.force_login(make_user(username="viewer"))
        response = client.get("/")
        assert response.status_code == 403 and b"No agent profile" in response.content

    def test_session_check(self, alice_client):
        assert alice_client.get("/desktop/session/").status_code == 204
        assert Client().get("/desktop/session/").status_code == 401

    def test_customer_search_by_name_or_digits(self, alice_client, dana, htmx):
        make_customer(name="Eli Evans", phone="+14155550102")
        by_name = alice_client.get("/desktop/customers/search/", {"to": "dan"}, **htmx)
        assert b"Dana Diaz" in by_name.content and b"Eli" not in by_name.content
        by_digits = alice_client.get("/desktop/customers/search/", {"to": "555 0102"}, **htmx)
        assert b"Eli Evans" in by_digits.content and b"Dana" not in by_digits.content
        nothing = alice_client.get("/desktop/customers/search/", {"to": "zz"}, **htmx)
        assert b"No customer matches" in nothing.content
        too_short = alice_client.get("/desktop/customers/search/", {"to": "d"}, **htmx)
        assert too_short.content.strip() == b""

    def test_transfer_picker_lists_free_agents_but_not_me(self, alice_client, alice, bob):
        make_agent(username="carol", status="away")
        response = alice_client.get("/desktop/transfer-targets/", {"call": "7"})
        html = text(response)
        assert 'id="call-7-targets"' in html and 'value="bob"' in html
        assert 'value="alice"' not in html and 'value="carol"' not in html
        assert alice_client.get("/desktop/transfer-targets/").status_code == 400

    def test_post_endpoints_refuse_get_and_anonymous_users(self):
        wrong = Client().get("/desktop/dial/")
        assert (wrong.status_code, wrong.content, wrong["Allow"]) == (405, b"Use POST.", "POST")
        assert Client().post("/desktop/customers/search/").content == b"Use GET."
        response = Client().post("/desktop/dial/", {"to": "123"})
        assert response.status_code == 401
        assert b"signed out" in response.content

    def test_csrf_is_enforced_with_a_readable_answer(self, alice, htmx):
        client = Client(enforce_csrf_checks=True)
        client.force_login(alice.user)
        response = client.post("/desktop/status/", {"status": "available"}, **htmx)
        assert response.status_code == 403
        assert b"Reload the page" in response.content

    def test_a_button_pressed_by_nobody_signed_in_says_so_whatever_the_token(self, htmx):
        """No session and no CSRF cookie (signed out, cookies cleared): the CSRF check comes
        first, and says signed out, not "out of date"; the login form's own refusal stays."""
        client = Client(enforce_csrf_checks=True)
        button = client.post("/desktop/status/", {"status": "available"}, **htmx)
        assert (button.status_code, button.content) == (401, SIGNED_OUT_MESSAGE.encode())
        page = client.post("/desktop/status/", {"status": "available"})
        assert page.status_code == 302 and page["Location"].startswith("/login/")
        login_form = client.post("/login/", {"username": "alice", "password": "x"})
        assert login_form.status_code == 403 and b"Reload the page" in login_form.content


# --- input no database can store ----------------------------------------------------------------

UTF7_SURROGATE = b"+2AA-"  # utf-7 for an unpaired surrogate, which UTF-8 cannot encode


def multipart_utf7(**fields: bytes) -> tuple[bytes, str]:
    """A multipart form declared utf-7: Django decodes its fields with that codec."""
    parts = [
        b'--b\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (k.encode(), v)
        for k, v in fields.items()
    ]
    return b"".join(parts) + b"--b--\r\n", "multipart/form-data; boundary=b; charset=utf-7"


@pytest.mark.django_db
class TestUnstorableInput:
    """NUL (PostgreSQL refuses it) and unpaired surrogates (UTF-8 cannot encode them) failed
    inside a query or a save, as a 500; they are a 400 naming the field, and nothing is saved."""

    @pytest.mark.parametrize(
        ("method", "url", "data", "field"),
        [
            ("post", "/desktop/status/", {"status": "away", "reason": "Lu\x00nch"}, "reason"),
            ("post", "/desktop/dial/", {"to": "Dana\x00"}, "to"),
            ("get", "/desktop/customers/search/", {"q": "Da\x00na"}, "q"),
            ("get", "/desktop/transfer-targets/", {"call": "1", "x\x00": ""}, "x\x00"),
        ],
    )
    def test_a_nul_is_400_naming_the_field(
        self, alice_client, alice, htmx, method, url, data, field
    ):
        response = getattr(alice_client, method)(url, data, **htmx)
        assert response.status_code == 400
        assert f"The field {field!r} holds a character that cannot be saved" in text(response)
        alice.refresh_from_db()
        assert (alice.status, alice.status_reason) == ("available", "")
        assert not Action.objects.exists()

    def test_a_surrogate_from_a_utf7_form_is_400_and_the_notes_are_unchanged(
        self, alice_client, alice, htmx
    ):
        call = Call.objects.create(owner=alice, status=Call.Status.ACTIVE, wrap_up_notes="Kept")
        body, content_type = multipart_utf7(notes=b"Billing " + UTF7_SURROGATE)
        response = alice_client.generic(
            "POST", f"/desktop/calls/{call.pk}/notes/", body, content_type=content_type, **htmx
        )
        assert response.status_code == 400
        assert "'notes' holds a character that cannot be saved" in text(response)
        call.refresh_from_db()
        assert call.wrap_up_notes == "Kept"

    def test_the_login_form_refuses_a_surrogate_instead_of_failing(self, alice):
        body, content_type = multipart_utf7(username=b"alice", password=UTF7_SURROGATE)
        response = Client().generic("POST", "/login/", body, content_type=content_type)
        assert response.status_code == 400
        assert "'password' holds a character that cannot be saved" in text(response)
        assert "_auth_user_id" not in Client().session

    def test_a_caller_address_too_wide_for_a_customer_number_is_a_clear_400(
        self, alice_client, alice, htmx
    ):
        call = Call.objects.create(
            owner=alice, status=Call.Status.ACTIVE, direction=Call.Direction.INBOUND
        )
        address = "sip:" + "c" * 80 + "@phones.test"
        Member.objects.create(call=call, address=address, role=Member.Role.CUSTOMER)
        Member.objects.create(
            call=call, address=alice.endpoint, role=Member.Role.AGENT, agent=alice, state=S.TALKING
        )
        response = alice_client.post(
            f"/desktop/calls/{call.pk}/customer/", {"name": "Ivy Ito"}, **htmx
        )
        assert response.status_code == 400
        assert "longer than a customer's number can be (64 characters)" in text(response)
        assert not Customer.objects.exists()


# --- status -------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestStatus:
    def test_choose_away_with_reason_then_available(self, alice_client, alice, htmx):
        response = alice_client.post(
            "/desktop/status/", {"status": "away", "reason": "Lunch"}, **htmx
        )
        assert response.status_code == 200
        assert b"Away" in response.content and b"Lunch" in response.content
        alice.refresh_from_db()
        assert (alice.status, alice.status_reason) == ("away", "Lunch")
        alice_client.post("/desktop/status/", {"status": "available"}, **htmx)
        alice.refresh_from_db()
        assert alice.status == "available" and alice.status_reason == ""

    def test_bad_choice_is_400_with_the_message_in_the_partial(self, alice_client, alice, htmx):
        response = alice_client.post("/desktop/status/", {"status": "away", "reason": ""}, **htmx)
        assert response.status_code == 400
        assert b'role="alert">Pick a reason for being away.' in response.content
        response = alice_client.post("/desktop/status/", {"status": "on_call"}, **htmx)
        assert response.status_code == 400
        alice.refresh_from_db()
        assert alice.status == "available"

    def test_end_and_extend_wrap_up(self, alice_client, alice, htmx):
        from datetime import timedelta

        from django.utils import timezone

        Agent.objects.filter(pk=alice.pk).update(
            status="wrap_up", wrap_up_until=timezone.now() + timedelta(seconds=20)
        )
        response = alice_client.post("/desktop/status/", {"op": "extend"}, **htmx)
        assert b"End wrap-up" in response.content and b"data-until" in response.content
        alice.refresh_from_db()
        assert alice.wrap_up_until > timezone.now() + timedelta(seconds=45)
        alice_client.post("/desktop/status/", {"op": "end_wrap_up"}, **htmx)
        alice.refresh_from_db()
        assert alice.status == "available"
        # Pressed after it ended (another tab, or it ran out): End wrap-up is where she is
        # already; Extend is said to have nothing to extend. Nothing changes.
        again = alice_client.post("/desktop/status/", {"op": "end_wrap_up"}, **htmx)
        assert again.status_code == 200
        late = alice_client.post("/desktop/status/", {"op": "extend"}, **htmx)
        assert late.status_code == 400 and b"nothing to extend" in late.content
        alice.refresh_from_db()
        assert (alice.status, alice.wrap_up_until) == ("available", None)

    def test_without_javascript_it_redirects_back(self, alice_client):
        response = alice_client.post("/desktop/status/", {"status": "offline"})
        assert response.status_code == 302 and response["Location"] == "/"

    def test_the_answer_reads_the_agent_once_after_the_change(self, alice_client, htmx):
        """The cached profile carries only who the agent is (agents.profiles): the status
        the answer shows is read in one query, not one per field."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        alice_client.post("/desktop/status/", {"status": "away", "reason": "Lunch"}, **htmx)
        with CaptureQueriesContext(connection) as queries:
            response = alice_client.post("/desktop/status/", {"status": "offline"}, **htmx)
        assert b"Offline" in response.content
        sql = [q["sql"] for q in queries.captured_queries]
        changed = max(i for i, q in enumerate(sql) if q.startswith('UPDATE "agents_agent"'))
        reads = [q for q in sql[changed + 1 :] if 'FROM "agents_agent"' in q]
        assert len(reads) == 1, "\n".join(reads)


# --- dial box -----------------------------------------------------------------------------------


@pytest.mark.django_db
class TestDialInput:
    @pytest.mark.parametrize(
        ("typed", "message"),
        [
            ("", "Type a customer's name, a phone number or a SIP address."),
            ("sip:nohost", "is not a valid SIP address"),
            ("+1 2", "is not a valid phone number"),
            ("+1 415 55", "'+1 415 55' is not a valid phone number: it is too short for +1."),
            ("Nobody Known", "No customer is called"),
        ],
    )
    def test_bad_input_gets_a_clear_message_inline(self, alice_client, typed, message, htmx):
        response = alice_client.post("/desktop/dial/", {"to": typed}, **htmx)
        assert response.status_code == 400
        html = text(response)
        assert 'id="dial-error" role="alert"' in html and message in html
        assert not Call.objects.exists()

    def test_part_of_a_name_is_not_dialled(self, alice_client, htmx):
        make_customer(name="Gus Garcia", phone="+14155550111")
        response = alice_client.post("/desktop/dial/", {"to": "Gus Garci"}, **htmx)
        assert response.status_code == 400
        html = text(response)
        assert 'id="dial-error" role="alert"' in html and "Did you mean Gus Garcia?" in html
        assert 'value="Gus Garci"' in html  # kept, to correct
        assert not Call.objects.exists()

    def test_an_ambiguous_name_asks_to_pick(self, alice_client, htmx):
        make_customer(name="Dana Diaz", phone="+14155550101")
        make_customer(name="Dana Dunn", phone="+14155550109")
        response = alice_client.post("/desktop/dial/", {"to": "Dana"}, **htmx)
        assert response.status_code == 400
        assert "Several customers match" in text(response)

    def test_a_vanished_customer_pick(self, alice_client, htmx):
        response = alice_client.post("/desktop/dial/", {"to": "x", "customer_id": "999"}, **htmx)
        assert response.status_code == 400 and b"no longer exists" in response.content
        response = alice_client.post("/desktop/dial/", {"to": "x", "customer_id": "abc"}, **htmx)
        assert response.status_code == 400


@pytest.mark.django_db(transaction=True)
class TestDialCalls:
    def test_a_customer_by_name_is_called(self, app_sim, alice, dana, htmx):
        client = login(alice)
        response = client.post("/desktop/dial/", {"to": "dana diaz"}, **htmx)
        assert response.status_code == 200
        html = text(response)
        call = Call.objects.get()
        assert "Calling Dana Diaz" in html and 'id="dial-to"' in html
        # The new call rides along, out of band, for the list.
        assert f'id="call-{call.pk}"' in html and 'hx-swap-oob="true"' in html
        assert call.customer == dana and call.owner == alice
        app_sim.advance(ANSWER)
        assert {m.state for m in call.members.all()} == {S.TALKING}

    def test_a_picked_customer_and_a_sip_address(self, app_sim, alice, dana, htmx):
        client = login(alice)
        assert (
            client.post(
                "/desktop/dial/", {"to": "Dana Diaz", "customer_id": dana.pk}, **htmx
            ).status_code
            == 200
        )
        assert Call.objects.get().customer == dana
        Call.objects.all().delete()
        response = client.post("/desktop/dial/", {"to": "sip:Someone@Example.COM"}, **htmx)
        assert response.status_code == 200
        assert leg(Call.objects.get()).address == "sip:Someone@example.com"

    def test_the_phlo_refusing_is_shown_inline(self, app_sim, alice, dana, htmx):
        app_sim.inject_fault(status=500)
        response = login(alice).post("/desktop/dial/", {"to": "Dana Diaz"}, **htmx)
        assert response.status_code == 502
        assert 'role="alert"' in text(response)


# --- call buttons -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def bob_rings_for_a_warm_transfer(app_sim, alice, bob, dana, htmx):
    """Alice, talking with Dana, warm-transfers her to Bob, whose phone rings (answered by
    hand). Returns the call and Alice's client."""
    call = answered_call(app_sim, alice, dana)
    app_sim.phones.set_mode(bob.endpoint, "manual")
    client = login(alice)
    response = client.post(
        f"/desktop/calls/{call.pk}/actions/warm_transfer/", {"to": "bob"}, **htmx
    )
    assert response.status_code == 200, response.content
    app_sim.advance(1.0)
    return call, client


class TestCallButtons:
    def test_hold_then_unhold_answers_with_the_call_partial(self, app_sim, alice, dana, htmx):
        call = answered_call(app_sim, alice, dana)
        client = login(alice)
        customer = leg(call)
        response = client.post(f"/desktop/members/{customer.pk}/actions/hold/", **htmx)
        assert response.status_code == 200
        html = text(response)
        assert html.lstrip().startswith(f'<article id="call-{call.pk}"')
        assert "hx-swap-oob" not in html.split(">")[0]
        assert 'class="state state--on_hold"' in html
        assert (
            f'id="member-{customer.pk}-unhold"' in html
            and f'id="member-{customer.pk}-hold"' not in html
        )
        customer.refresh_from_db()
        assert customer.state == S.ON_HOLD
        response = client.post(f"/desktop/members/{customer.pk}/actions/unhold/", **htmx)
        assert response.status_code == 200
        customer.refresh_from_db()
        assert customer.state == S.TALKING

    def test_a_refused_action_shows_the_services_message_and_changes_nothing(
        self, app_sim, alice, dana, htmx
    ):
        call = buttons.call_start(actor=alice.user, to=dana.phone)  # still ringing
        customer = leg(call)
        response = login(alice).post(f"/desktop/members/{customer.pk}/actions/hold/", **htmx)
        assert response.status_code == 409
        html = text(response)
        assert f'id="call-{call.pk}-error"' in html and "cannot be held" in html
        customer.refresh_from_db()
        assert customer.state == S.PENDING

    def test_a_phlo_failure_is_reported_and_nothing_changes(self, app_sim, alice, dana, htmx):
        call = answered_call(app_sim, alice, dana)
        customer = leg(call)
        app_sim.inject_fault(status=503)
        response = login(alice).post(f"/desktop/members/{customer.pk}/actions/hold/", **htmx)
        assert response.status_code == 502
        assert "Could not put Dana Diaz on hold" in text(response)
        customer.refresh_from_db()
        assert customer.state == S.TALKING

    def test_someone_elses_call_is_refused(self, app_sim, alice, bob, dana, htmx):
        call = answered_call(app_sim, alice, dana)
        response = login(bob).post(f"/desktop/members/{leg(call).pk}/actions/hangup/", **htmx)
        assert response.status_code == 403
        assert leg(call).state == S.TALKING

    def test_unknown_actions_and_participants_are_404(self, alice_client, htmx):
        assert alice_client.post("/desktop/members/1/actions/explode/", **htmx).status_code == 404
        assert alice_client.post("/desktop/calls/1/actions/explode/", **htmx).status_code == 404
        # An unknown participant is said in a line, as an unknown call is, not a 404 page.
        for path, says in (
            ("/desktop/members/999/actions/hold/", "That participant is no longer on record."),
            ("/desktop/members/999/reject/", "That call is no longer ringing."),
        ):
            response = alice_client.post(path, **htmx)
            assert (response.status_code, response.content.decode()) == (404, says)

    def test_warm_transfer_to_an_agent_picked_by_name_then_abort(
        self, app_sim, alice, bob, dana, htmx
    ):
        call = answered_call(app_sim, alice, dana)
        client = login(alice)
        response = client.post(
            f"/desktop/calls/{call.pk}/actions/warm_transfer/", {"to": "bob"}, **htmx
        )
        assert response.status_code == 200, response.content
        call.refresh_from_db()
        assert (call.transfer_kind, call.transfer_to_address) == ("warm", bob.endpoint)
        html = text(response)
        assert "Your warm transfer to bob in progress." in html  # on her own desktop
        assert "Abort transfer" in html
        assert "alice's warm transfer to you in progress." in text(login(bob).get("/"))
        response = client.post(f"/desktop/calls/{call.pk}/actions/abort_transfer/", **htmx)
        assert response.status_code == 200
        call.refresh_from_db()
        assert call.transfer_kind == ""

    def test_a_transfer_that_did_not_go_through_says_why_for_a_moment(
        self, app_sim, alice, dana, htmx
    ):
        """Alice hands Dana to a busy number: Dana is back with her, and the card says why
        (it had only a new "Busy" row), until the row folds away."""
        call = answered_call(app_sim, alice, dana)
        client = login(alice)
        response = client.post(
            f"/desktop/calls/{call.pk}/actions/cold_transfer/", {"to": "+1 500 555 0001"}, **htmx
        )
        assert response.status_code == 200, response.content
        app_sim.advance(ANSWER)
        page = text(client.get("/"))
        assert "+15005550001 was busy: the transfer did not go through." in page
        assert "Busy</span>" in page and "Declined</span>" not in page  # a number, not an agent
        assert "transfer in progress" not in page
        call.refresh_from_db()
        later = timezone.now() + timedelta(seconds=10)
        assert not call_view(
            call=call_for_desktop(call_id=call.pk), agent=alice, at=later
        ).transfer_failed_text

    def test_a_transfer_declined_on_the_targets_handset_says_declined_as_the_row_does(
        self, app_sim, alice, bob, dana, htmx
    ):
        """The provider reports Bob's reject on his handset as busy: Alice's banner says he
        declined, as his row ("Declined") and a reject from his desktop say, not "was busy"."""
        call, client = bob_rings_for_a_warm_transfer(app_sim, alice, bob, dana, htmx)
        app_sim.phones.reject(bob.endpoint)
        app_sim.advance(1.0)
        assert call.members.get(agent=bob).state == S.BUSY
        page = text(client.get("/"))
        assert "bob declined: the transfer did not go through." in page
        assert "Declined</span>" in page and "was busy" not in page

    def test_every_shortcut_key_is_declared_on_its_control(self, app_sim, alice, bob, dana, htmx):
        """Screen readers learn a control's key from `aria-keyshortcuts`: every element the
        page's keys act on (`data-key`) declares the same key, the transfer buttons too."""
        page = text(login(alice).get("/"))
        _, client = bob_rings_for_a_warm_transfer(app_sim, alice, bob, dana, htmx)
        app_sim.phones.answer(bob.endpoint)
        app_sim.advance(1.0)
        page += text(client.get("/"))
        tags = re.findall(r"<[a-z]+\b[^>]*\bdata-key=[^>]*>", page)
        keys = {}
        for tag in tags:
            key = re.search(r'data-key="([^"]*)"', tag).group(1)
            declared = re.search(r'aria-keyshortcuts="([^"]*)"', tag)
            assert declared and declared.group(1) == key, tag
            keys[key] = tag
        # The call's own buttons, offered now: Resume call and Abort transfer (no Unhold on
        # the customer, held by the warm transfer).
        assert {"r", "a", "n"} <= set(keys), sorted(keys)

    def test_a_transfer_ring_a_supervisor_stops_says_so_on_the_agents_card(
        self, app_sim, alice, bob, dana, sam, htmx
    ):
        """Bob's phone rings for Alice's warm transfer; Sam hangs it up from the wallboard.
        Dana is back with Alice, whose card says why instead of only a "Cancelled" row."""
        call, client = bob_rings_for_a_warm_transfer(app_sim, alice, bob, dana, htmx)
        ringing = call.members.get(agent=bob, state=S.DIALLING)
        response = login(sam).post(f"/wallboard/members/{ringing.pk}/actions/hangup/", **htmx)
        assert response.status_code == 200, response.content
        app_sim.advance(1.0)
        page = text(client.get("/"))
        assert "The ring to bob was stopped: the transfer did not go through." in page
        assert "transfer in progress" not in page

    def test_a_bad_transfer_target_is_a_clear_400(self, app_sim, alice, dana, htmx):
        call = answered_call(app_sim, alice, dana)
        client = login(alice)
        for typed, message in [
            ("", "Choose an agent"),
            ("nobody", "No agent is called"),
            ("+1 415 55", "'+1 415 55' is not a valid phone number"),
        ]:
            response = client.post(
                f"/desktop/calls/{call.pk}/actions/cold_transfer/", {"to": typed}, **htmx
            )
            assert response.status_code == 400
            assert message in text(response)
        call.refresh_from_db()
        assert call.transfer_kind == ""

    def test_reject_hangs_up_my_ringing_leg_only(self, app_sim, alice, bob, dana, htmx):
        app_sim.phones.set_mode(alice.endpoint, "manual")
        call = buttons.call_start(actor=alice.user, to=dana.phone)
        mine = leg(call, "agent")
        response = login(bob).post(f"/desktop/members/{mine.pk}/reject/", **htmx)
        assert response.status_code == 403
        response = login(alice).post(f"/desktop/members/{leg(call).pk}/reject/", **htmx)
        assert response.status_code == 403  # not her own leg
        response = login(alice).post(f"/desktop/members/{mine.pk}/reject/", **htmx)
        assert response.status_code == 200
        mine.refresh_from_db()
        assert mine.state == S.LEFT


@pytest.mark.django_db(transaction=True)
class TestQueriesBeforePhlo:
    """What a button costs before its PHLO request leaves (bench/NOTES.md, point 3). A hold:
    the session and the user, the call with its members (found by the member), the action's
    INSERT and the claim, which finds the call at the version read. The agent's profile
    (their agent and supervisor flag) comes from the cache, read from the database once per
    user (`agents.profiles`). A repeated lookup creeping back fails here."""

    # Before they were cut: 15, 16 and 12 (the agent fetched twice, two permission queries,
    # and the member's call looked up three times); a transfer to an agent picked by name
    # then 14, as the service looked the agent up again by endpoint.
    # Was 11, then 7 (the member's call, and the call and its members after the claim, cut),
    # then 5: the agent and the supervisor check cached; then 3: the session and the user
    # cached too (agents.signed_in), for an agent whose page has loaded (`at_work`).
    HOLD = 4  # +1: is an address live in another call (calls.services.addressing)
    # The first button of a user whose profile is not cached yet: the agent and the check.
    HOLD_FIRST = 6
    WARM_TRANSFER = 10
    ABORT = 7
    # Were 17 for a number, 18 for a name or a pick (the agent fetched again, the customer
    # fetched again by id, the new legs read back), and 15 (the agent fetched twice more,
    # the leg's call looked up again).
    DIAL = 14
    REJECT = 5  # was 12: the leg's call in the view, the call read twice, the cached two

    def test_hold(self, app_sim, alice, dana, htmx):
        call = answered_call(app_sim, alice, dana)
        client = at_work(login(alice))
        url = f"/desktop/members/{leg(call).pk}/actions/hold/"
        response, sql = queries_until_phlo(app_sim, lambda: client.post(url, **htmx))
        assert response.status_code == 200 and leg(call).state == S.ON_HOLD
        assert len(sql) == self.HOLD, "\n".join(sql)

    def test_hold_by_a_supervisor_with_a_phone_costs_the_same(self, app_sim, alice, dana, htmx):
        call = answered_call(app_sim, alice, dana)
        sam = make_supervisor(username="sam", with_agent=True)
        client = Client()
        client.force_login(sam)
        at_work(client)
        url = f"/desktop/members/{leg(call).pk}/actions/"
        response, sql = queries_until_phlo(app_sim, lambda: client.post(url + "hold/", **htmx))
        assert response.status_code == 200 and leg(call).state == S.ON_HOLD
        assert len(sql) == self.HOLD_FIRST, "\n".join(sql)  # Sam's profile, read once
        response, sql = queries_until_phlo(app_sim, lambda: client.post(url + "unhold/", **htmx))
        assert response.status_code == 200 and leg(call).state == S.TALKING
        assert len(sql) == self.HOLD, "\n".join(sql)

    def test_warm_transfer_then_abort(self, app_sim, alice, bob, dana, htmx):
        call = answered_call(app_sim, alice, dana)
        client = at_work(login(alice))
        start = f"/desktop/calls/{call.pk}/actions/warm_transfer/"
        response, sql = queries_until_phlo(
            app_sim, lambda: client.post(start, {"to": "bob"}, **htmx)
        )
        assert response.status_code == 200, response.content
        # Against a hold's: the agent picked by name and whether that agent is on another
        # call (before the claim, then again after it), but no member's call to look up.
        assert len(sql) == self.WARM_TRANSFER, "\n".join(sql)
        abort = f"/desktop/calls/{call.pk}/actions/abort_transfer/"
        response, sql = queries_until_phlo(app_sim, lambda: client.post(abort, **htmx))
        assert response.status_code == 200
        call.refresh_from_db()
        assert call.transfer_kind == ""
        # A call's button needs no member lookup: one query fewer than a hold.
        assert len(sql) == self.ABORT, "\n".join(sql)

    @pytest.mark.parametrize("typed", ["a number", "a name", "a picked customer"])
    def test_dial(self, app_sim, alice, dana, htmx, typed):
        """The agent, the customer (by number, name or pick), the supervisor check (this
        user's first button: then cached) and whether the number is an agent's; then, in one
        transaction (BEGIN and COMMIT count): the agent locked, whether they are on a call,
        the call, its two legs, the action and the call's claim."""
        data = {
            "a number": {"to": "+1 415 555 0101"},
            "a name": {"to": "dana diaz"},
            "a picked customer": {"to": "Dana Diaz", "customer_id": dana.pk},
        }[typed]
        client = at_work(login(alice))
        response, sql = queries_until_phlo(
            app_sim, lambda: client.post("/desktop/dial/", data, **htmx)
        )
        assert response.status_code == 200, response.content
        assert Call.objects.get().customer == dana
        assert len(sql) == self.DIAL, "\n".join(sql)

    def test_reject(self, app_sim, alice, dana, htmx):
        """The agent, the leg, the supervisor check, the call with its members, the action's
        INSERT and the claim."""
        app_sim.phones.set_mode(alice.endpoint, "manual")
        call = buttons.call_start(actor=alice.user, to=dana.phone)
        mine = leg(call, "agent")
        client = at_work(login(alice))
        url = f"/desktop/members/{mine.pk}/reject/"
        response, sql = queries_until_phlo(app_sim, lambda: client.post(url, **htmx))
        assert response.status_code == 200
        mine.refresh_from_db()
        assert mine.state == S.LEFT
        assert Action.objects.get(kind="hangup", member=mine).actor == alice.user
        assert len(sql) == self.REJECT, "\n".join(sql)


# --- wrap-up and customers ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
class TestWrapUp:
    def end(self, sim, call):
        sim.phones.hangup(leg(call).address)
        sim.advance(0.1)
        call.refresh_from_db()
        if call.is_live:
            sim.phones.hangup(leg(call, "agent").address)
            sim.advance(0.1)
            call.refresh_from_db()
        assert not call.is_live

    def test_the_notes_field_stops_at_the_length_the_save_takes(self, app_sim, alice, dana):
        """21,000 pasted characters were taken by the field, then every autosave failed and
        Save wrap-up said 'at most 5000 characters'. The field now stops there."""
        from agents.services.wrap_up import MAX_NOTES

        call = answered_call(app_sim, alice, dana)
        page = text(login(alice).get("/"))
        field = re.search(rf'<textarea id="call-{call.pk}-notes"[^>]*>', page).group(0)
        assert f'maxlength="{MAX_NOTES}"' in field

    def test_wrap_up_saves_disposition_and_notes_into_the_history(self, app_sim, alice, dana, htmx):
        call = answered_call(app_sim, alice, dana)
        client = login(alice)
        url = f"/desktop/calls/{call.pk}/wrap-up/"
        live = client.post(url, {"disposition": "Resolved"}, **htmx)
        assert live.status_code == 409 and b"still in progress" in live.content
        notes = client.post(
            f"/desktop/calls/{call.pk}/notes/", {"notes": "Asked about billing"}, **htmx
        )
        assert notes.status_code == 200
        self.end(app_sim, call)
        alice.refresh_from_db()
        assert alice.status == "wrap_up"
        page = client.get("/").content.decode()
        assert f'id="call-{call.pk}-disposition"' in page and "Asked about billing" in page

        bad = client.post(url, {"disposition": "Made up", "notes": "x"}, **htmx)
        assert bad.status_code == 400 and b"Pick a disposition" in bad.content
        done = client.post(url, {"disposition": "Resolved", "notes": "Billing fixed"}, **htmx)
        assert done.status_code == 200
        assert b'id="toast" hx-swap-oob="innerHTML"' in done.content
        call.refresh_from_db()
        assert (call.disposition, call.wrap_up_notes) == ("Resolved", "Billing fixed")
        alice.refresh_from_db()
        assert alice.status == "available"  # the last wrap-up done ends wrap-up time
        assert f'id="call-{call.pk}"' not in client.get("/").content.decode()

        # The next call with Dana shows it in her card.
        second = answered_call(app_sim, alice, dana)
        html = client.get("/").content.decode()
        assert f'id="call-{second.pk}"' in html
        assert "Resolved" in html and "Billing fixed" in html
        # Today's earlier call says so, as the card's own "at 12:22" does (not "7 Dec").
        when = re.search(r'<span class="h-when">([^<]*)</span>', html).group(1)
        assert re.fullmatch(r"Today, \d\d:\d\d", when), when

    def test_the_saved_toast_names_an_unknown_number_not_an_internal_id(self, app_sim, alice, htmx):
        call = buttons.call_start(actor=alice.user, to="+1 650 555 0199")
        app_sim.advance(ANSWER)
        self.end(app_sim, call)
        done = login(alice).post(
            f"/desktop/calls/{call.pk}/wrap-up/", {"disposition": "Resolved"}, **htmx
        )
        assert done.status_code == 200
        assert "Wrap-up saved: +16505550199 (Resolved)." in text(done)

    def test_the_history_says_how_a_call_no_agent_took_ended_and_credits_nobody(
        self, app_sim, alice, dana
    ):
        """Dana hung up while her call rang on Alice's phone (its owner was who it was
        offered to), and another time heard the no-agent message: her card's history says
        "Abandoned" and "No agent", not Alice's name and a missing disposition."""
        ended = {"status": Call.Status.FAILED, "direction": Call.Direction.INBOUND}
        Call.objects.create(customer=dana, owner=alice, outcome="abandoned", **ended)
        Call.objects.create(customer=dana, outcome="no_agent", **ended)
        call = answered_call(app_sim, alice, dana)
        html = login(alice).get("/").content.decode()
        card = html[html.index(f'id="call-{call.pk}"') :]
        history = [unescape(item) for item in card.split('class="history"')[1].split("<li>")[1:3]]
        assert all("Alice" not in item and "No disposition" not in item for item in history)
        assert "Abandoned" in history[1] and "No agent" in history[0]

    def test_the_history_gives_the_outcome_of_an_attempt_that_reached_nobody(
        self, app_sim, alice, dana
    ):
        """Alice called Dana, who was busy, and another time did not answer: nothing to
        dispose of, so the history says "Busy" and "No answer", not "No disposition"."""
        ended = {"status": Call.Status.COMPLETED, "direction": Call.Direction.OUTBOUND}
        Call.objects.create(customer=dana, owner=alice, outcome="busy", **ended)
        Call.objects.create(customer=dana, owner=alice, outcome="no_answer", **ended)
        Call.objects.create(customer=dana, owner=alice, outcome="customer_hung_up", **ended)
        call = answered_call(app_sim, alice, dana)
        html = login(alice).get("/").content.decode()
        card = html[html.index(f'id="call-{call.pk}"') :]
        history = [unescape(item) for item in card.split('class="history"')[1].split("<li>")[1:4]]
        dispositions = [item.split('class="h-disp">')[1].split("<")[0] for item in history]
        assert dispositions == ["No disposition", "No answer", "Busy"]

    def test_saving_the_call_that_put_you_in_wrap_up_ends_it_an_older_one_waits(
        self, app_sim, alice, dana, htmx
    ):
        """Alice left her first call's wrap-up to take a second. Saving the second's
        disposition ends wrap-up (it waited on the first too, kept on the desktop for hours,
        with nothing saying why); the first keeps its card. The bar counts what keeps her in
        wrap-up."""
        first = answered_call(app_sim, alice, dana)
        self.end(app_sim, first)
        second = answered_call(app_sim, alice, dana)
        self.end(app_sim, second)
        client = login(alice)

        def bar() -> str:
            page = unescape(client.get("/").content.decode())
            return page.split('id="agent-status"')[1].split("</p>")[0]

        assert "Wrap-up" in bar() and "1 call to wrap up" in bar()
        # The call just finished comes first, each ended card saying when it ended.
        page = client.get("/").content.decode()
        assert page.index(f'id="call-{second.pk}"') < page.index(f'id="call-{first.pk}"')
        assert page.count('class="call-ended-at"') == 2
        done = client.post(
            f"/desktop/calls/{second.pk}/wrap-up/", {"disposition": "Resolved"}, **htmx
        )
        assert done.status_code == 200
        alice.refresh_from_db()
        assert alice.status == "available"
        assert "to wrap up" not in bar()
        page = client.get("/").content.decode()
        assert f'id="call-{first.pk}-disposition"' in page  # still there to fill in

    def test_only_people_on_the_call_can_wrap_it_up(self, app_sim, alice, bob, dana, htmx):
        call = answered_call(app_sim, alice, dana)
        self.end(app_sim, call)
        response = login(bob).post(
            f"/desktop/calls/{call.pk}/wrap-up/", {"disposition": "Resolved"}, **htmx
        )
        assert response.status_code == 403
        assert (
            login(bob).post(f"/desktop/calls/{call.pk}/notes/", {"notes": "x"}, **htmx).status_code
            == 403
        )

    def test_unknown_caller_becomes_a_customer(self, app_sim, alice, htmx):
        call = buttons.call_start(actor=alice.user, to="+1 415 555 0177")
        client = login(alice)
        url = f"/desktop/calls/{call.pk}/customer/"
        assert "Create customer" in client.get("/").content.decode()
        empty = client.post(url, {"name": " "}, **htmx)
        assert empty.status_code == 400 and b"Enter the customer" in empty.content
        response = client.post(url, {"name": "Ivy Ito", "notes": "New lead"}, **htmx)
        assert response.status_code == 200
        assert "Ivy Ito" in text(response)
        ivy = Customer.objects.get(phone="14155550177")
        call.refresh_from_db()
        assert call.customer == ivy and leg(call).customer == ivy


@pytest.mark.django_db
class TestCustomerCreatedTwice:
    def test_a_call_with_its_customer_refuses_another_and_creates_nobody(
        self, app_sim, alice, htmx
    ):
        call = buttons.call_start(actor=alice.user, to="+1 415 555 0177")
        url = f"/desktop/calls/{call.pk}/customer/"
        client = login(alice)
        assert client.post(url, {"name": "Ivy Ito"}, **htmx).status_code == 200
        again = client.post(url, {"name": "Second Person"}, **htmx)
        assert again.status_code == 409
        assert "This call's customer is Ivy Ito already: nobody new was created." in text(again)
        assert list(Customer.objects.values_list("name", flat=True)) == ["Ivy Ito"]

    def test_a_number_someone_saved_meanwhile_is_attached_and_the_agent_told(
        self, app_sim, alice, htmx
    ):
        call = buttons.call_start(actor=alice.user, to="+1 415 555 0177")
        # A colleague adds the number in the admin while Alice's card still offers Create.
        Customer.objects.create(name="Ivy Ito", phone="14155550177")
        response = login(alice).post(
            f"/desktop/calls/{call.pk}/customer/", {"name": "Ivy Eto"}, **htmx
        )
        assert response.status_code == 409
        assert "This number is Ivy Ito's already: they are on the call now" in text(response)
        call.refresh_from_db()
        assert call.customer.name == "Ivy Ito" and Customer.objects.count() == 1
