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


def _errors(response, field: str) -> list[str]:
    assert response.status_code == 200, response.status_code
    return list(response.context["adminform"].form.errors.get(field, []))


def test_a_bad_number_or_a_second_default_gets_the_reason_on_its_field(login, superuser):
    Queue.objects.create(name="Support", number="14155550000", is_default=True)
    client = login(superuser)
    add = reverse("admin:calls_queue_add")
    assert (
        "is not a valid phone number"
        in _errors(client.post(add, _form(number="call me")), "number")[0]
    )
    assert _errors(client.post(add, _form(is_default="on")), "is_default") == [
        "“Support” is the default queue: untick it there first (one queue takes the callers"
        " of numbers no queue serves)."
    ]
    for taken in ("+1 415 555 0000", "(415) 555-0000", "14155550000"):
        assert _errors(client.post(add, _form(number=taken)), "number") == [
            "“Support” already serves +14155550000: a number reaches one queue."
        ], taken
    assert not Queue.objects.filter(name="Sales").exists()


def test_a_queues_number_is_read_as_the_dial_box_reads_it(login, superuser):
    """Callers dial it: without "+" a number is local to PHONE_DEFAULT_REGION, and one that
    cannot exist is refused, or callers of the number meant reach the default queue."""
    client = login(superuser)
    add = reverse("admin:calls_queue_add")
    for typed in ("+1 123 456 7890", "123", "+999 1234", "+1 415 55"):
        [error] = _errors(client.post(add, _form(number=typed)), "number")
        assert error.startswith(f"'{typed}' is not a valid phone number"), error
    assert not Queue.objects.exists()
    response = client.post(add, _form(number="(415) 555-0500"))
    assert response.status_code == 302
    assert Queue.objects.get(name="Sales").number == "14155550500"
    sip = client.post(add, _form(name="Desk", number="sip:Desk@PBX.example.com"))
    assert sip.status_code == 302
    assert Queue.objects.get(name="Desk").number == "sip:Desk@pbx.example.com"


def test_a_queue_name_taken_in_another_case_is_refused(login, superuser):
    Queue.objects.create(name="Support")
    response = login(superuser).post(reverse("admin:calls_queue_add"), _form(name=" support "))
    assert _errors(response, "name") == ["A queue named “Support” already exists."]
    assert Queue.objects.count() == 1


def test_a_queues_music_is_a_web_address(login, superuser):
    client = login(superuser)
    add = reverse("admin:calls_queue_add")
    for url in (
        "ftp://music.example.com/calm.mp3",
        "file:///tmp/calm.mp3",
        "javascript:alert(1)",  # once with Django's "Enter a valid URL." beside ours
    ):
        errors = _errors(client.post(add, _form(wait_music_url=url)), "wait_music_url")
        assert errors == ["Give a web address (https://…): only one of those can be played."], url
    assert client.post(add, _form(wait_music_url="music.example.com/calm.mp3")).status_code == 302
    assert Queue.objects.get().wait_music_url == "https://music.example.com/calm.mp3"


def test_a_queues_waits_are_bounded_at_a_day(login, superuser):
    client = login(superuser)
    add = reverse("admin:calls_queue_add")
    for field in ("max_wait_seconds", "service_level_seconds"):
        huge = client.post(add, _form(**{field: "99999999999999"}))
        assert _errors(huge, field) == ["At most 86,400 seconds (24 hours)."], field
    # A 0 s service level would count every caller missed; a 0 s wait is an exit at once.
    none = client.post(add, _form(service_level_seconds="0"))
    assert _errors(none, "service_level_seconds") == [
        "At 0 seconds every caller would count as missed: use 1 or more."
    ]
    assert not Queue.objects.exists()
    day = client.post(add, _form(max_wait_seconds="86400", service_level_seconds="1"))
    assert day.status_code == 302
    assert Queue.objects.get().max_wait_seconds == 86_400
    at_once = client.post(add, _form(name="Now", number="+14155550999", max_wait_seconds="0"))
    assert at_once.status_code == 302
    assert Queue.objects.get(name="Now").max_wait_seconds == 0


def test_saving_a_queue_unchanged_keeps_its_own_number_name_and_default(login, superuser):
    support = Queue.objects.create(name="Support", number="14155550000", is_default=True)
    response = login(superuser).post(
        reverse("admin:calls_queue_change", args=[support.pk]),
        _form(name="Support", number="+14155550000", is_default="on"),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    support.refresh_from_db()
    assert (support.number, support.is_default) == ("14155550000", True)


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
        assert "Sales has 1 caller waiting: deleting it now would strand them." in page
    assert Queue.objects.filter(pk=sales.pk).exists()
    changelist = client.get(reverse("admin:calls_queue_changelist")).content.decode()
    assert "delete_selected" not in changelist  # no bulk delete around the check

    Call.objects.filter(pk=waiting.pk).update(status="completed")
    confirm = client.get(url).content.decode()
    assert "no longer count in any queue&#x27;s figures" in confirm
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Queue.objects.filter(pk=sales.pk).exists()


def test_a_queue_exit_that_is_not_set_up_is_refused(login, superuser, settings):
    settings.INBOUND_VOICEMAIL_ENDPOINT = ""
    client = login(superuser)
    refused = client.post(reverse("admin:calls_queue_add"), _form(at_max_wait="voicemail"))
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["at_max_wait"] == [
        "No voicemail is set up for callers to be sent to (INBOUND_VOICEMAIL_ENDPOINT is empty):"
        " pick the other exit, or ask whoever runs the app to set it."
    ]
    taken = client.post(reverse("admin:calls_queue_add"), _form(at_max_wait="message"))
    assert taken.status_code == 302
    assert Queue.objects.get().at_max_wait == "message"
