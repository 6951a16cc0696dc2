"""The audit trail cannot be edited by anyone, and edits elsewhere stay in their lane."""

from datetime import timedelta

import pytest
from django.contrib.admin.sites import AdminSite
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from agents.models import Agent
from calls.admin import CallAdmin
from calls.models import Action, Call, CallbackEvent, Member
from tests.admin.builders import add_action, add_callback, add_member, full_call
from tests.factories import make_agent, make_call

pytestmark = pytest.mark.django_db

AUDIT = [("calls_action", Action), ("calls_callbackevent", CallbackEvent)]


@pytest.mark.parametrize("who", ["superuser", "group_supervisor"])
@pytest.mark.parametrize(("prefix", "model"), AUDIT)
def test_audit_records_cannot_be_added_changed_or_deleted(who, prefix, model, request, login):
    client = login(request.getfixturevalue(who))
    full_call(index=1)
    record = model.objects.first()
    before = {f.name: getattr(record, f.attname) for f in model._meta.concrete_fields}
    change_url = reverse(f"admin:{prefix}_change", args=[record.pk])

    assert client.get(reverse(f"admin:{prefix}_add")).status_code == 403
    assert client.get(reverse(f"admin:{prefix}_delete", args=[record.pk])).status_code == 403
    delete_url = reverse(f"admin:{prefix}_delete", args=[record.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    page = client.get(change_url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(change_url, {"outcome": "failed", "error": "x"}).status_code == 403

    changelist = client.get(reverse(f"admin:{prefix}_changelist"))
    assert "delete_selected" not in changelist.content.decode()
    bulk = client.post(
        reverse(f"admin:{prefix}_changelist"),
        {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    record.refresh_from_db()
    assert {f.name: getattr(record, f.attname) for f in model._meta.concrete_fields} == before


def test_calls_cannot_be_added_or_deleted_even_by_a_superuser(login, superuser):
    call = full_call(index=1)
    client = login(superuser)
    assert client.get(reverse("admin:calls_call_add")).status_code == 403
    delete_url = reverse("admin:calls_call_delete", args=[call.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Call.objects.filter(pk=call.pk).exists()
    assert client.get(reverse("admin:calls_call_delete", args=[call.pk])).status_code == 403


def test_editing_a_call_changes_only_the_wrap_up_and_bumps_its_version(login, superuser):
    call = full_call(index=1)
    version = call.version
    url = reverse("admin:calls_call_change", args=[call.pk])
    response = login(superuser).post(
        url,
        {
            "disposition": "Escalated",
            "wrap_up_notes": "Called back, escalated to billing.",
            "status": "active",  # not a form field: ignored
            "members-TOTAL_FORMS": "2",
            "members-INITIAL_FORMS": "2",
            "members-MIN_NUM_FORMS": "0",
            "members-MAX_NUM_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    call.refresh_from_db()
    assert call.disposition == "Escalated"
    assert call.wrap_up_notes == "Called back, escalated to billing."
    assert call.status == Call.Status.COMPLETED
    assert call.version == version + 1


def test_an_unknown_disposition_is_refused_with_a_reason(login, superuser):
    call = full_call(index=1)
    response = login(superuser).post(
        reverse("admin:calls_call_change", args=[call.pk]),
        {
            "disposition": "Made up",
            "wrap_up_notes": "",
            "members-TOTAL_FORMS": "2",
            "members-INITIAL_FORMS": "2",
            "members-MIN_NUM_FORMS": "0",
            "members-MAX_NUM_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "Pick a disposition from the list." in response.content.decode()
    call.refresh_from_db()
    assert call.disposition == "Resolved"


def _wrap_up_post(disposition: str, notes: str) -> dict:
    return {
        "disposition": disposition,
        "wrap_up_notes": notes,
        "members-TOTAL_FORMS": "0",
        "members-INITIAL_FORMS": "0",
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "0",
    }


def test_a_live_calls_wrap_up_waits_for_the_end(login, superuser):
    call = make_call(status=Call.Status.ACTIVE)
    client = login(superuser)
    url = reverse("admin:calls_call_change", args=[call.pk])
    assert 'name="disposition"' not in client.get(url).content.decode()
    client.post(url, _wrap_up_post("Resolved", "early"))
    call.refresh_from_db()
    assert (call.disposition, call.wrap_up_notes) == ("", "")


def test_a_wrap_up_the_service_refuses_is_reported_not_claimed(login, superuser, monkeypatch):
    from calls.services.errors import InvalidState

    def refuse(**kwargs):
        raise InvalidState("The call is still in progress; wrap it up when it has ended.")

    monkeypatch.setattr("calls.admin.calls.call_wrap_up_save", refuse)
    call = make_call()
    url = reverse("admin:calls_call_change", args=[call.pk])
    response = login(superuser).post(url, _wrap_up_post("Resolved", ""), follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [
        "The wrap-up was not saved: The call is still in progress; wrap it up when it has ended."
    ]
    call.refresh_from_db()
    assert call.disposition == ""


def test_saving_a_stale_call_form_never_overwrites_newer_state(superuser):
    """A late callback updates the call while the supervisor's form is open: the wrap-up save
    keeps what the callback wrote."""
    call = make_call()
    stale = Call.objects.get(pk=call.pk)
    Call.objects.filter(pk=call.pk).update(conference_uuid="conf-late", version=5)

    model_admin = CallAdmin(Call, AdminSite())
    request = RequestFactory().post("/")
    request.user = superuser
    form_class = model_admin.get_form(request, stale)
    form = form_class(data={"disposition": "Resolved", "wrap_up_notes": "ok"}, instance=stale)
    assert form.is_valid(), form.errors
    model_admin.save_model(request, form.save(commit=False), form, change=True)

    call.refresh_from_db()
    assert (call.conference_uuid, call.version, call.disposition) == ("conf-late", 6, "Resolved")


def test_agent_status_is_shown_but_not_editable(login, superuser):
    agent = make_agent(username="carol", status=Agent.Status.AWAY)
    url = reverse("admin:agents_agent_change", args=[agent.pk])
    client = login(superuser)
    page = client.get(url).content.decode()
    assert 'name="status"' not in page
    assert "Away" in page
    response = client.post(
        url, {"user": agent.user_id, "endpoint": "sip:carol@phones.test", "status": "available"}
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.status == Agent.Status.AWAY


def test_saving_an_agent_keeps_a_status_that_changed_meanwhile(login, superuser):
    agent = make_agent(username="carol", status=Agent.Status.AVAILABLE)
    url = reverse("admin:agents_agent_change", args=[agent.pk])
    client = login(superuser)
    client.get(url)
    # The agent's call starts while the supervisor edits the endpoint.
    Agent.objects.filter(pk=agent.pk).update(status=Agent.Status.ON_CALL)
    response = client.post(url, {"user": agent.user_id, "endpoint": "+1 415 555 0199"})
    assert response.status_code == 302
    agent.refresh_from_db()
    assert (agent.endpoint, agent.status) == ("14155550199", Agent.Status.ON_CALL)


def test_member_rows_are_not_editable_through_the_call_form(login, superuser):
    call = make_call(status=Call.Status.ACTIVE)
    member = add_member(
        call=call, role=Member.Role.CUSTOMER, address="14155550100", state=Member.State.TALKING
    )
    add_action(call=call, kind=Action.Kind.CALL, at=timezone.now() - timedelta(seconds=5))
    add_callback(call=call)
    login(superuser).post(
        reverse("admin:calls_call_change", args=[call.pk]),
        {
            "disposition": "",
            "wrap_up_notes": "",
            "members-TOTAL_FORMS": "1",
            "members-INITIAL_FORMS": "1",
            "members-MIN_NUM_FORMS": "0",
            "members-MAX_NUM_FORMS": "0",
            "members-0-id": member.pk,
            "members-0-call": call.pk,
            "members-0-state": "left",
            "members-0-DELETE": "on",
        },
    )
    member.refresh_from_db()
    assert member.state == Member.State.TALKING


def test_agent_page_shows_the_status_asked_for_after_the_call(login, superuser):
    if not any(f.name == "next_status" for f in Agent._meta.get_fields()):
        pytest.skip("Agent.next_status is not in this version of the model")
    agent = make_agent(username="carol", status=Agent.Status.ON_CALL)
    Agent.objects.filter(pk=agent.pk).update(next_status="away", next_status_reason="lunch")
    html = login(superuser).get(reverse("admin:agents_agent_change", args=[agent.pk]))
    assert "Away (lunch)" in html.content.decode()
