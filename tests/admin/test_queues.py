"""Queues in the supervisors' admin: a number stored canonical, its agents picked on the
queue's page (or each agent's), and how many callers wait in each, in the list."""

import pytest
from django.urls import reverse

from calls.models import Call, Queue
from tests.factories import make_agent

pytestmark = pytest.mark.django_db


def _form(**fields) -> dict:
    return {
        "name": "Sales",
        "number": "",
        "wait_music_url": "",
        "max_wait_seconds": "120",
        "at_max_wait": "voicemail",
        "service_level_seconds": "20",
        **fields,
    }


def test_a_supervisor_makes_a_queue_and_picks_its_agents(login, superuser):
    alice, bob = make_agent(username="alice"), make_agent(username="bob")
    response = login(superuser).post(
        reverse("admin:calls_queue_add"),
        _form(number="+1 (415) 555-0000", agents=[alice.pk, bob.pk]),
    )
    assert response.status_code == 302, response.content
    queue = Queue.objects.get(name="Sales")
    assert queue.number == "14155550000"
    assert set(queue.agents.all()) == {alice, bob}

    page = login(superuser).get(reverse("admin:calls_queue_change", args=[queue.pk]))
    assert set(page.context["adminform"].form.fields["agents"].initial) == {alice, bob}


def test_a_bad_number_or_a_second_default_gets_the_reason(login, superuser):
    Queue.objects.create(name="Support", is_default=True)
    client = login(superuser)
    bad = client.post(reverse("admin:calls_queue_add"), _form(number="call me"))
    assert bad.status_code == 200
    assert "is not a valid phone number" in bad.content.decode()
    second = client.post(reverse("admin:calls_queue_add"), _form(is_default="on"))
    assert second.status_code == 200
    assert "Constraint “queue_one_default” is violated." in second.content.decode()
    assert not Queue.objects.filter(name="Sales").exists()


def test_the_list_says_how_many_wait_in_each_queue(login, superuser):
    sales = Queue.objects.create(name="Sales")
    sales.agents.add(make_agent(username="alice"))
    for status in ("dialling", "dialling", "completed"):
        Call.objects.create(queue=sales, direction="inbound", status=status)
    page = login(superuser).get(reverse("admin:calls_queue_changelist")).content.decode()
    row = page[page.index(">Sales<") :]
    row = row[: row.index("</tr>")]
    assert '<td class="field-agent_count">1</td>' in row
    assert '<td class="field-waiting_now">2</td>' in row


def test_an_agents_page_sets_their_queues(login, superuser):
    alice = make_agent(username="alice")
    sales = Queue.objects.create(name="Sales")
    response = login(superuser).post(
        reverse("admin:agents_agent_change", args=[alice.pk]),
        {"user": alice.user_id, "endpoint": alice.endpoint, "queues": [sales.pk]},
    )
    assert response.status_code == 302, response.content
    assert list(alice.queues.all()) == [sales]


def test_a_supervisor_who_may_only_view_sees_the_queues_agents(login, group_supervisor):
    sales = Queue.objects.create(name="Sales")
    sales.agents.add(make_agent(username="alice"))
    page = login(group_supervisor).get(reverse("admin:calls_queue_change", args=[sales.pk]))
    assert page.status_code == 200
    assert "alice" in page.content.decode()


def test_the_demo_seeds_a_default_queue_every_demo_agent_serves_and_sam_may_edit(settings):
    from django.core.management import call_command

    settings.PHLO_SIMULATOR = True
    call_command("seed_demo", stdout=None)
    assert not Queue.objects.exists()  # plain seed_demo: no queue (the browser tests' floor)
    call_command("seed_demo", queues=True, stdout=None)
    call_command("seed_demo", queues=True, stdout=None)  # twice: still one queue
    queue = Queue.objects.get()
    assert (queue.name, queue.number, queue.is_default) == ("Support", "14155550000", True)
    assert sorted(a.user.username for a in queue.agents.all()) == ["alice", "bob", "carol"]
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.get(username="sam").has_perm("calls.change_queue")


def test_a_queue_with_callers_waiting_is_not_deleted_and_the_page_says_why(login, superuser):
    """Deleting a queue while callers wait in it would strand them (their calls lose their
    queue, and with it their place and their exit): the admin refuses, and says what to do.
    Once nobody waits it is deleted, after a warning that its calls leave the figures."""
    sales = Queue.objects.create(name="Sales")
    waiting = Call.objects.create(queue=sales, direction="inbound", status="dialling")
    client = login(superuser)
    url = reverse("admin:calls_queue_delete", args=[sales.pk])
    for send in (client.get, lambda u: client.post(u, {"post": "yes"})):
        response = send(url)
        assert response.status_code == 302
        page = client.get(response["Location"]).content.decode()
        assert "Sales has 1 caller(s) waiting: deleting it now would strand them." in page
    assert Queue.objects.filter(pk=sales.pk).exists()
    changelist = client.get(reverse("admin:calls_queue_changelist")).content.decode()
    assert "delete_selected" not in changelist  # no bulk delete around the check

    Call.objects.filter(pk=waiting.pk).update(status="completed")
    confirm = client.get(url).content.decode()
    assert "no longer count in any queue&#x27;s figures" in confirm
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Queue.objects.filter(pk=sales.pk).exists()
