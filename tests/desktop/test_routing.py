"""POST /routing/inbound/: auth, input checks, the longest-waiting choice, reservations."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from agents.models import Agent
from agents.services.routing import inbound_request_parse, inbound_route
from calls.models import Call, Member
from tests.factories import make_agent, make_customer

TOKEN = "routing-test-token"
URL = "/routing/inbound/"
S = Agent.Status


@pytest.fixture(autouse=True)
def _token(settings):
    settings.ROUTING_API_TOKEN = TOKEN


def post(body, *, token=TOKEN, as_json=True, client=None):
    client = client or Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    if as_json:
        return client.post(URL, json.dumps(body), content_type="application/json", **headers)
    return client.post(URL, body, **headers)


def body(call_uuid="c0ffee00-0000-4000-8000-000000000001", from_="+1 415 555 0199"):
    return {"call_uuid": call_uuid, "from": from_, "to": "+14155550000", "direction": "inbound"}


def waiting(username, *, minutes, status=S.AVAILABLE, **extra):
    agent = make_agent(username=username, status=status)
    Agent.objects.filter(pk=agent.pk).update(
        status_changed_at=timezone.now() - timedelta(minutes=minutes), **extra
    )
    agent.refresh_from_db()
    return agent


@pytest.mark.django_db
class TestAuth:
    def test_no_token_is_401_with_a_reason(self):
        response = post(body(), token=None)
        assert response.status_code == 401
        assert "Bearer" in response.json()["error"]
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_wrong_token_is_403(self):
        response = post(body(), token="not-the-token")
        assert response.status_code == 403
        assert response.json() == {"error": "The routing token is not valid."}

    def test_other_scheme_is_401(self):
        response = Client().post(
            URL, body(), content_type="application/json", HTTP_AUTHORIZATION=f"Basic {TOKEN}"
        )
        assert response.status_code == 401

    def test_no_configured_token_refuses_everyone(self, settings):
        settings.ROUTING_API_TOKEN = ""
        response = post(body(), token="")
        assert response.status_code == 503
        assert "ROUTING_API_TOKEN" in response.json()["error"]

    def test_get_is_not_allowed(self):
        assert Client().get(URL).status_code == 405


@pytest.mark.django_db
class TestInput:
    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"call_uuid": ""}, "call_uuid is required."),
            ({"call_uuid": "x" * 65}, "call_uuid must be at most 64"),
            ({"from": "not a number"}, "from: "),
            ({"from": ""}, "from: "),
            ({"to": "sip:bad"}, "to: "),
            ({"direction": "outbound"}, "direction must be 'inbound'"),
            ({"call_uuid": 42}, "call_uuid must be a string."),
            # Values that PostgreSQL or UTF-8 cannot store, or too long for the column.
            ({"call_uuid": "c0ffee\x00"}, "call_uuid must be at most 64 printable"),
            ({"call_uuid": "c0ffee\ud800"}, "unpaired surrogate"),
            ({"from": "sip:a\x00b@phones.test"}, "from: "),
            ({"from": "sip:alice@" + "x" * 300}, "from: An address can be at most 255"),
            ({"to": "sip:a\x01@phones.test"}, "to: "),
        ],
    )
    def test_bad_fields_are_400_with_the_reason(self, change, message):
        waiting("alice", minutes=1)
        response = post(body() | change)
        assert response.status_code == 400
        assert message in response.json()["error"]
        assert not Call.objects.exists()

    def test_bad_json_is_400(self):
        response = Client().post(
            URL, "{nope", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
        )
        assert response.status_code == 400
        assert response.json()["error"].startswith("The body is not valid JSON: ")

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            # Deeper than Python's recursion limit, within the 16 KB body limit.
            ('{"a":' * 2000 + "1" + "}" * 2000, "more than 4 levels deep"),
            ("[" * 5000, "more than 4 levels deep"),
            ('{"call_uuid": "x", "from": NaN}', "holds NaN"),
            ('{"call_uuid": ' + "9" * 5000 + "}", "more than 100 digits"),
        ],
    )
    def test_hostile_json_is_400_with_the_reason(self, raw, message):
        waiting("alice", minutes=1)
        response = Client().post(
            URL, raw, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
        )
        assert response.status_code == 400
        assert message in response.json()["error"]
        assert not Call.objects.exists()

    @pytest.mark.parametrize(
        ("raw", "content_type"),
        [
            (
                b"call_uuid=x&from=%2B14155550199",
                "application/x-www-form-urlencoded; charset=utf-7",
            ),
            (b"--x--", "multipart/form-data"),
            (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
        ],
    )
    def test_unreadable_forms_are_400_with_the_reason_as_json(self, raw, content_type):
        waiting("alice", minutes=1)
        # generic(), not post(): post() re-encodes a body into the content type's charset.
        response = Client().generic(
            "POST", URL, raw, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
        )
        assert response.status_code == 400
        assert response.json()["error"]
        assert not Call.objects.exists()

    def test_json_that_is_not_an_object_is_400(self):
        response = post(["call_uuid"])
        assert response.status_code == 400

    def test_other_content_types_are_400(self):
        response = Client().post(
            URL, "call_uuid=x", content_type="text/plain", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
        )
        assert response.status_code == 400
        assert "Send JSON" in response.json()["error"]

    def test_a_form_body_works_like_json(self):
        agent = waiting("alice", minutes=1)
        response = post(body(), as_json=False)
        assert response.status_code == 200
        assert response.json()["agent_endpoint"] == agent.endpoint

    def test_trailing_slash_is_optional(self):
        waiting("alice", minutes=1)
        response = Client().post(
            URL.rstrip("/"),
            json.dumps(body()),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
        )
        assert response.status_code == 200


@pytest.mark.django_db
class TestChoice:
    def test_nobody_available_is_a_documented_no_agent_answer(self):
        waiting("alice", minutes=10, status=S.AWAY)
        waiting("bob", minutes=10, status=S.OFFLINE)
        response = post(body())
        assert response.status_code == 200
        # The PHLO flow's no-agent branch plays the message (or takes a voicemail).
        assert response.json() == {"result": "no_agent", "agent_endpoint": "", "outcome": "message"}
        # The caller is recorded, so supervisors see who nobody was free for.
        call = Call.objects.get()
        assert (call.direction, call.status, call.outcome, call.owner) == (
            "inbound",
            "failed",
            Call.Outcome.NO_AGENT,
            None,
        )
        # A retry of the same request gets the same answer and records nothing more.
        assert post(body()).json()["result"] == "no_agent"
        assert Call.objects.count() == 1

    def test_the_no_agent_outcome_can_be_a_voicemail(self, settings):
        settings.INBOUND_NO_AGENT_OUTCOME = "voicemail"
        assert post(body()).json()["outcome"] == "voicemail"

    def test_the_longest_waiting_available_agent_gets_the_call_and_is_reserved(self):
        waiting("alice", minutes=2)
        bob = waiting("bob", minutes=9)
        waiting("carol", minutes=20, status=S.AWAY)
        dana = make_customer(name="Dana Diaz", phone="+14155550199")
        response = post(body())
        assert response.status_code == 200
        data = response.json()
        call = Call.objects.get()
        assert data == {
            "result": "agent",
            "agent_endpoint": bob.endpoint,
            "agent": "bob",
            "call_id": call.pk,
            "queue": "",
            "wait_music_url": "",
        }
        bob.refresh_from_db()
        assert bob.status == S.ON_CALL
        assert (call.direction, call.owner, call.customer) == ("inbound", bob, dana)
        customer, agent_leg = call.members.order_by("pk")
        assert (customer.role, customer.address, customer.call_uuid, customer.state) == (
            "customer",
            "14155550199",
            body()["call_uuid"],
            "dialling",
        )
        assert (agent_leg.role, agent_leg.agent, agent_leg.address, agent_leg.state) == (
            "agent",
            bob,
            bob.endpoint,
            "dialling",
        )
        # The next call goes to the next in line.
        second = post(body(call_uuid="c0ffee00-0000-4000-8000-000000000002")).json()
        assert second["agent"] == "alice"
        assert post(body(call_uuid="c0ffee00-0000-4000-8000-000000000003")).json() == {
            "result": "no_agent",
            "agent_endpoint": "",
            "outcome": "message",
        }

    def test_an_expired_wrap_up_counts_as_waiting_since_it_ended(self):
        now = timezone.now()
        # Wrap-up started 30 min ago and ended 20 min ago: waiting for 20 min.
        carol = waiting(
            "carol", minutes=30, status=S.WRAP_UP, wrap_up_until=now - timedelta(minutes=20)
        )
        waiting("alice", minutes=10)
        # Still wrapping up: not routable.
        waiting("bob", minutes=60, status=S.WRAP_UP, wrap_up_until=now + timedelta(minutes=1))
        assert post(body()).json()["agent"] == carol.user.username

    def test_an_agent_already_on_a_live_leg_is_skipped_whatever_their_status(self):
        alice = waiting("alice", minutes=30)
        call = Call.objects.create(status=Call.Status.ACTIVE, owner=alice)
        Member.objects.create(
            call=call, address=alice.endpoint, role="agent", agent=alice, state="talking"
        )
        bob = waiting("bob", minutes=1)
        assert post(body()).json()["agent_endpoint"] == bob.endpoint

    def test_a_retried_request_gets_the_same_answer(self):
        waiting("alice", minutes=3)
        waiting("bob", minutes=2)
        first = post(body()).json()
        again = post(body()).json()
        assert again == first
        assert Call.objects.count() == 1

    def test_inactive_users_are_never_chosen(self):
        alice = waiting("alice", minutes=30)
        alice.user.is_active = False
        alice.user.save()
        assert post(body()).json()["result"] == "no_agent"

    def test_the_agents_desktops_hear_about_the_reservation(
        self, django_capture_on_commit_callbacks, monkeypatch
    ):
        alice = waiting("alice", minutes=3)
        sent = []
        monkeypatch.setattr("calls.publishing._send", lambda g, m: sent.append((list(g), m)))
        with django_capture_on_commit_callbacks(execute=True):
            post(body())
        to_alice = [m for groups, m in sent if groups == [f"agent.{alice.pk}"]]
        assert {m["type"] for m in to_alice} == {"agent.changed", "call.changed"}
        call_push = next(m for m in to_alice if m["type"] == "call.changed")
        assert 'data-ringing="true"' in call_push["html"]


def test_parse_accepts_a_missing_direction_and_to():
    parsed = inbound_request_parse(data={"call_uuid": "abc", "from": "sip:Caller@Example.COM"})
    assert (parsed.from_, parsed.to) == ("sip:Caller@example.com", "")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_get_the_same_agent():
    """Eight requests at once for three agents: three different agents, five no_agent."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (DATABASE_URL): the race needs concurrent writers and row"
            " locks; SQLite serialises writers"
        )
    agents = [waiting(f"agent{i}", minutes=10 - i) for i in range(3)]
    barrier = threading.Barrier(8)
    results: list[dict] = []
    errors: list[BaseException] = []

    def route(n: int) -> None:
        try:
            barrier.wait(5)
            parsed = inbound_request_parse(
                data={"call_uuid": f"concurrent-{n}", "from": f"+1415555{n:04d}"}
            )
            results.append(inbound_route(request=parsed).as_json())
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=route, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    chosen = [r["agent"] for r in results if r["result"] == "agent"]
    assert sorted(chosen) == sorted(a.user.username for a in agents)
    assert sum(r["result"] == "no_agent" for r in results) == 5
    assert Agent.objects.filter(status=S.ON_CALL).count() == 3
    # Each caller nobody was free for is recorded too, as a call nobody took.
    assert Call.objects.filter(owner__isnull=False).count() == 3
    assert Call.objects.filter(owner__isnull=True, outcome=Call.Outcome.NO_AGENT).count() == 5
