"""Adding and editing customers and agents: addresses are canonical, bad input explained."""

import pytest
from django.urls import reverse

from agents.models import Agent
from calls.models import Customer
from tests.factories import make_agent, make_customer, make_user

pytestmark = pytest.mark.django_db


def test_customer_phone_is_stored_canonical(login, superuser):
    response = login(superuser).post(
        reverse("admin:calls_customer_add"),
        {"name": "Fatima Farouk", "phone": "+44 (20) 7946-0103", "notes": "Mornings"},
    )
    assert response.status_code == 302
    assert Customer.objects.get(name="Fatima Farouk").phone == "442079460103"


def test_customer_bad_phone_gets_the_reason(login, superuser):
    response = login(superuser).post(
        reverse("admin:calls_customer_add"), {"name": "X", "phone": "call me", "notes": ""}
    )
    assert response.status_code == 200
    assert (
        "is not a valid phone number in US: it may hold only digits, spaces, dots and + - ( )."
        in (response.content.decode())
    )
    assert not Customer.objects.filter(name="X").exists()


@pytest.mark.parametrize("typed", ["+1-415-555-0101", "(415) 555-0101"])
def test_customer_duplicate_phone_in_another_format_is_refused(login, superuser, typed):
    """Also in local format, read as the dial box reads it (it was stored as +4155550101,
    and so not a duplicate)."""
    make_customer(name="Dana Diaz", phone="+1 415 555 0101")
    response = login(superuser).post(
        reverse("admin:calls_customer_add"), {"name": "Dana Again", "phone": typed, "notes": ""}
    )
    assert response.status_code == 200
    assert "Customer with this Phone already exists." in response.content.decode()


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("(415) 555-0101", "14155550101"), ("011 44 20 7946 0105", "442079460105")],
)
def test_a_customer_number_is_read_as_the_dial_box_reads_it(login, superuser, typed, stored):
    """Without "+", local to PHONE_DEFAULT_REGION (US here), with its international prefix;
    it was stored as +4155550101, a number nobody could dial or be matched to."""
    response = login(superuser).post(
        reverse("admin:calls_customer_add"), {"name": "Gus", "phone": typed, "notes": ""}
    )
    assert response.status_code == 302
    assert Customer.objects.get(name="Gus").phone == stored


@pytest.mark.parametrize("typed", ["+1 123 456 7890", "+1 415 55"])
def test_a_customer_number_that_cannot_exist_is_refused(login, superuser, typed):
    response = login(superuser).post(
        reverse("admin:calls_customer_add"), {"name": "Gus", "phone": typed, "notes": ""}
    )
    assert response.status_code == 200
    assert f"&#x27;{typed}&#x27; is not a valid phone number" in response.content.decode()
    assert not Customer.objects.filter(name="Gus").exists()


def test_new_agent_gets_a_canonical_endpoint_and_starts_offline(login, superuser):
    user = make_user(username="dave")
    response = login(superuser).post(
        reverse("admin:agents_agent_add"), {"user": user.pk, "endpoint": "sip:dave@Phones.Test"}
    )
    assert response.status_code == 302
    agent = Agent.objects.get(user=user)
    assert (agent.endpoint, agent.status) == ("sip:dave@phones.test", Agent.Status.OFFLINE)


def test_an_agents_phone_number_is_read_as_the_dial_box_reads_it(login, superuser):
    """The app dials it: "(415) 555-0123" is +1 415 555 0123 in the US, and a number that
    cannot exist is refused with the reason."""
    client = login(superuser)
    dave, erin = make_user(username="dave"), make_user(username="erin")
    add = reverse("admin:agents_agent_add")
    bad = client.post(add, {"user": dave.pk, "endpoint": "+1 123 456 7890"})
    [error] = bad.context["adminform"].form.errors["endpoint"]
    assert error.startswith("'+1 123 456 7890' is not a valid phone number"), error
    assert client.post(add, {"user": dave.pk, "endpoint": "(415) 555-0123"}).status_code == 302
    assert Agent.objects.get(user=dave).endpoint == "14155550123"
    assert client.post(add, {"user": erin.pk, "endpoint": "+44 20 7946 0999"}).status_code == 302
    assert Agent.objects.get(user=erin).endpoint == "442079460999"


def test_an_agent_saved_unchanged_keeps_a_number_of_another_country(login, superuser):
    agent = make_agent(username="erin", endpoint="+44 20 7946 0999")
    client = login(superuser)
    url = reverse("admin:agents_agent_change", args=[agent.pk])
    form = client.get(url).context["adminform"].form
    assert form.initial["endpoint"] == "+442079460999"
    response = client.post(url, {"user": agent.user_id, "endpoint": form.initial["endpoint"]})
    assert response.status_code == 302, response.context["adminform"].form.errors
    agent.refresh_from_db()
    assert agent.endpoint == "442079460999"


def test_agent_form_offers_only_users_who_are_not_agents_yet(login, superuser):
    make_agent(username="alice")
    make_user(username="dave")
    form = login(superuser).get(reverse("admin:agents_agent_add")).context["adminform"].form
    usernames = {u.username for u in form.fields["user"].queryset}
    assert "dave" in usernames and "alice" not in usernames


def test_agent_bad_or_taken_endpoint_gets_the_reason(login, superuser):
    make_agent(username="alice", endpoint="sip:alice@phones.test")
    client = login(superuser)
    user = make_user(username="dave")
    bad = client.post(reverse("admin:agents_agent_add"), {"user": user.pk, "endpoint": "sip:dave"})
    assert "is not a valid SIP address; use the form sip:user@host." in bad.content.decode()
    taken = client.post(
        reverse("admin:agents_agent_add"), {"user": user.pk, "endpoint": "sip:alice@PHONES.test"}
    )
    assert "Agent with this Endpoint already exists." in taken.content.decode()
    assert not Agent.objects.filter(user=user).exists()


@pytest.mark.django_db(transaction=True)  # the pushes leave after commit
def test_a_customer_edit_redraws_the_open_cards_of_their_calls(login, superuser, monkeypatch):
    """A supervisor adds to Dana's notes while Alice talks with her: Alice's card shows the
    new notes at once (pushed), not at the call's end or her next reload."""
    from calls.models import Call, Member

    sent = []
    monkeypatch.setattr("calls.publishing._send", lambda groups, message: sent.append(message))
    alice = make_agent(username="alice", status="on_call")
    dana = make_customer(name="Dana Diaz", phone="+1 415 555 0101")
    call = Call.objects.create(status="active", owner=alice, customer=dana)
    Member.objects.create(call=call, address=alice.endpoint, role="agent", agent=alice,
                          state="talking")  # fmt: skip
    Member.objects.create(call=call, address=dana.phone, role="customer", customer=dana,
                          state="talking")  # fmt: skip
    Call.objects.create(status="completed", outcome="busy", customer=dana)  # nothing to redraw
    response = login(superuser).post(
        reverse("admin:calls_customer_change", args=[dana.pk]),
        {"name": "Dana Diaz", "phone": "+1 415 555 0101", "notes": "VIP since Dec 2026."},
    )
    assert response.status_code == 302
    to_alice = [m for m in sent if m.get("call_id") == call.pk and "html" in m]
    assert any("VIP since Dec 2026." in m["html"] for m in to_alice)
    assert {m.get("call_id") for m in sent if m.get("type") == "call.changed"} == {call.pk}


def test_edit_forms_show_a_number_as_the_pages_write_it(login, superuser):
    """Stored as digits, shown as everywhere else (+1…): saved back unchanged, it stays."""
    from calls.models import Queue

    dana = make_customer(name="Dana Diaz", phone="+1 415 555 0101")
    support = Queue.objects.create(name="Support", number="14155550001")
    client = login(superuser)
    page = client.get(reverse("admin:calls_customer_change", args=[dana.pk])).content.decode()
    assert 'name="phone" value="+14155550101"' in page
    page = client.get(reverse("admin:calls_queue_change", args=[support.pk])).content.decode()
    assert 'name="number" value="+14155550001"' in page
    response = client.post(
        reverse("admin:calls_customer_change", args=[dana.pk]),
        {"name": "Dana Diaz", "phone": "+14155550101", "notes": ""},
    )
    assert response.status_code == 302
    dana.refresh_from_db()
    assert dana.phone == "14155550101"


def test_customer_notes_are_as_long_as_an_agents_notes_may_be(login, superuser):
    """Shown on the desktop's customer card: 100,000 pasted characters were saved."""
    add = reverse("admin:calls_customer_add")
    form = {"name": "Gus", "phone": "+1 415 555 0177"}
    long = login(superuser).post(add, {**form, "notes": "x" * 5001})
    assert long.status_code == 200
    assert "at most 5000 characters" in long.content.decode()
    assert login(superuser).post(add, {**form, "notes": "x" * 5000}).status_code == 302
