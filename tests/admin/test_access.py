"""Who reaches the admin: the permission matrix over every page of the domain admin."""

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse

from calls.models import Action, CallbackEvent, Customer
from tests.admin.builders import full_call
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

SUPERVISORS = ["group_supervisor", "perm_supervisor", "superuser"]
OUTSIDERS = ["agent_user", "staff_agent_user"]


@pytest.fixture
def pages(db) -> dict[str, str]:
    call = full_call(index=1)
    action = Action.objects.filter(call=call).first()
    callback = CallbackEvent.objects.filter(call=call).first()
    return {
        "index": reverse("admin:index"),
        "calls app": reverse("admin:app_list", args=["calls"]),
        "agents app": reverse("admin:app_list", args=["agents"]),
        "agent list": reverse("admin:agents_agent_changelist"),
        "agent page": reverse("admin:agents_agent_change", args=[call.owner_id]),
        "customer list": reverse("admin:calls_customer_changelist"),
        "customer page": reverse("admin:calls_customer_change", args=[call.customer_id]),
        "call list": reverse("admin:calls_call_changelist"),
        "call page": reverse("admin:calls_call_change", args=[call.pk]),
        "call export": reverse("admin:calls_call_export"),
        "action list": reverse("admin:calls_action_changelist"),
        "action page": reverse("admin:calls_action_change", args=[action.pk]),
        "callback list": reverse("admin:calls_callbackevent_changelist"),
        "callback page": reverse("admin:calls_callbackevent_change", args=[callback.pk]),
    }


def _login_redirect(url: str) -> str:
    return f"{reverse('admin:login')}?next={url}"


def test_anonymous_is_sent_to_the_login_page_from_every_page(client, pages):
    wrong = {}
    for name, url in pages.items():
        response = client.get(url)
        if response.status_code != 302 or response["Location"] != _login_redirect(url):
            wrong[name] = (response.status_code, response.get("Location"))
    assert wrong == {}


@pytest.mark.parametrize("who", OUTSIDERS)
def test_agents_are_kept_out_of_every_page(who, request, login, pages):
    client = login(request.getfixturevalue(who))
    wrong = {}
    for name, url in pages.items():
        response = client.get(url)
        if response.status_code != 403 or "Supervisors only" not in response.content.decode():
            wrong[name] = (response.status_code, response.get("Location"))
    assert wrong == {}


def test_an_agent_is_told_why_and_shown_the_way_back_to_the_desktop(login, agent_user):
    url = reverse("admin:calls_call_changelist")
    response = login(agent_user).get(url)
    assert response.status_code == 403
    assert "no-cache" in response["Cache-Control"]
    page = response.content.decode()
    assert "The admin is for supervisors. Your account (alice) is not one." in page
    assert f'href="{reverse("desktop")}">Back to the agent desktop</a>' in page
    # ...or to sign in as someone who is a supervisor.
    assert f'href="{reverse("admin:login")}?next=/admin/calls/call/"' in page


def test_an_agent_can_still_log_out_through_the_admin(login, agent_user):
    client = login(agent_user)
    response = client.post(reverse("admin:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("who", SUPERVISORS)
def test_supervisors_reach_every_page(who, request, login, pages):
    client = login(request.getfixturevalue(who))
    wrong = {}
    for name, url in pages.items():
        response = client.get(url)
        if response.status_code != 200:
            wrong[name] = response.status_code
    assert wrong == {}


@pytest.mark.parametrize("who", ["anonymous", *OUTSIDERS])
def test_export_action_is_refused_to_non_supervisors(who, request, client, login, pages):
    if who != "anonymous":
        login(request.getfixturevalue(who))
    url = pages["call list"]
    response = client.post(url, {"action": "export_selected_csv", "_selected_action": ["1"]})
    if who == "anonymous":
        assert response.status_code == 302
        assert response["Location"] == _login_redirect(url)
    else:
        assert response.status_code == 403
        assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("who", SUPERVISORS)
def test_export_action_works_for_supervisors(who, request, login, pages):
    client = login(request.getfixturevalue(who))
    from calls.models import Call

    call = Call.objects.get()
    response = client.post(
        pages["call list"], {"action": "export_selected_csv", "_selected_action": [call.pk]}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_inactive_supervisor_is_kept_out(login, group_supervisor, pages):
    group_supervisor.is_active = False
    group_supervisor.save()
    response = login(group_supervisor).get(pages["index"])
    assert response.status_code == 302


def test_supervisor_without_staff_flag_logs_in_through_the_admin_form(client, group_supervisor):
    assert not group_supervisor.is_staff
    response = client.post(
        reverse("admin:login"),
        {"username": "gina", "password": "pw", "next": reverse("admin:index")},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize("who", OUTSIDERS)
def test_agent_login_through_the_admin_form_is_refused_with_a_reason(who, request, client):
    user = request.getfixturevalue(who)
    response = client.post(reverse("admin:login"), {"username": user.username, "password": "pw"})
    assert response.status_code == 200
    assert "for a supervisor account" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_app_index_lists_the_domain_but_not_users_for_plain_supervisors(login, perm_supervisor):
    names = {
        m["object_name"]
        for app in login(perm_supervisor).get(reverse("admin:index")).context["app_list"]
        for m in app["models"]
    }
    assert names == {"Agent", "Customer", "Call", "Action", "CallbackEvent", "Queue"}


def test_superuser_also_manages_users_and_groups_there(login, superuser):
    names = {
        m["object_name"]
        for app in login(superuser).get(reverse("admin:index")).context["app_list"]
        for m in app["models"]
    }
    assert {"User", "Group", "Call"} <= names


def test_supervise_permission_alone_gives_view_only_pages(login, perm_supervisor):
    customer = make_customer(name="Dana Diaz")
    client = login(perm_supervisor)
    url = reverse("admin:calls_customer_change", args=[customer.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    refused = client.post(url, {"name": "Changed", "phone": customer.phone, "notes": ""})
    assert refused.status_code == 403
    assert Customer.objects.get(pk=customer.pk).name == "Dana Diaz"
    assert client.get(reverse("admin:calls_customer_add")).status_code == 403


def test_seeded_supervisor_with_model_permissions_edits_customers(client):
    call_command("seed_demo", stdout=None)
    from django.contrib.auth import get_user_model

    sam = get_user_model().objects.get(username="sam")
    assert sam.has_perm("calls.change_customer")
    customer = Customer.objects.get(name="Gus Garcia")
    client.force_login(sam)
    url = reverse("admin:calls_customer_change", args=[customer.pk])
    response = client.post(url, {"name": "Gus Garcia", "phone": "+1 415 555 0104", "notes": "VIP"})
    assert response.status_code == 302
    assert Customer.objects.get(pk=customer.pk).notes == "VIP"


def test_supervise_permission_is_what_counts_not_other_model_permissions(login):
    from tests.factories import make_user

    user = make_user(username="viewer", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_call", content_type__app_label="calls")
    )
    response = login(user).get(reverse("admin:calls_call_changelist"))
    assert response.status_code == 403
