"""Search and filters supervisors use, on the real change lists."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from calls.models import Action, Call, CallbackEvent, Member
from tests.admin.builders import add_action, add_callback, add_member, add_transfer
from tests.factories import make_agent, make_call, make_customer

pytestmark = pytest.mark.django_db

CALLS = reverse("admin:calls_call_changelist")


def _at(day: int, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime(2030, 5, day, hour, 0))


@pytest.fixture
def floor():
    """Four calls covering every filter value."""
    alice, bob = make_agent(username="alice"), make_agent(username="bob")
    dana = make_customer(name="Dana Diaz", phone="+1 415 555 0101")
    eli = make_customer(name="Eli Evans", phone="+1 415 555 0102")
    warm = make_call(owner=alice, customer=dana, created_at=_at(1), disposition="Resolved")
    add_transfer(call=warm, kind=Call.TransferKind.WARM)
    cold = make_call(owner=bob, customer=eli, created_at=_at(2), disposition="Escalated")
    add_transfer(call=cold, kind=Call.TransferKind.COLD)
    add_action(call=cold, kind=Action.Kind.WARM_TRANSFER, outcome=Action.Outcome.FAILED)
    add_transfer(call=cold, kind=Call.TransferKind.WARM, outcome="aborted")  # not a transfer
    failed = make_call(
        owner=alice,
        customer=eli,
        status=Call.Status.FAILED,
        direction=Call.Direction.INBOUND,
        created_at=_at(3, hour=23),
    )
    live = make_call(customer=dana, status=Call.Status.ACTIVE, created_at=_at(4))
    Call.objects.filter(pk=live.pk).update(
        transfer_kind="warm",
        transfer_to_address="sip:carol@phones.test",
        transfer_started_at=_at(4),
    )
    add_member(call=live, role=Member.Role.AGENT, address="sip:zoe@phones.test", state="talking")
    return {
        "warm": warm,
        "cold": cold,
        "failed": failed,
        "live": live,
        "alice": alice,
        "dana": dana,
        "eli": eli,
    }


@pytest.fixture
def shown(login, superuser):
    client = login(superuser)

    def _shown(url: str, query: str = "") -> set[int]:
        response = client.get(url + query)
        assert response.status_code == 200, response
        return {obj.pk for obj in response.context["cl"].result_list}

    return _shown


def _pks(floor, *names) -> set[int]:
    return {floor[name].pk for name in names}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?status__exact=completed", ("warm", "cold")),
        ("?status__exact=failed", ("failed",)),
        ("?direction__exact=inbound", ("failed",)),
        ("?disposition=Resolved", ("warm",)),
        ("?disposition=__none__", ("failed", "live")),
        ("?transfer=warm", ("warm",)),
        ("?transfer=cold", ("cold",)),
        ("?transfer=any", ("warm", "cold")),
        ("?transfer=none", ("failed", "live")),
        ("?transfer=in_progress", ("live",)),
        ("?owner=__none__", ("live",)),
        ("?created_at__year=2030&created_at__month=5&created_at__day=2", ("cold",)),
        ("?created_at_from=2030-05-02&created_at_to=2030-05-03", ("cold", "failed")),
        ("?created_at_from=2030-05-03", ("failed", "live")),
        ("?created_at_to=2030-05-01", ("warm",)),
        ("?status__exact=completed&transfer=cold", ("cold",)),
    ],
)
def test_call_filters(shown, floor, query, expected):
    assert shown(CALLS, query) == _pks(floor, *expected)


def test_call_filters_by_agent_and_customer(shown, floor):
    assert shown(CALLS, f"?owner={floor['alice'].pk}") == _pks(floor, "warm", "failed")
    assert shown(CALLS, f"?customer={floor['eli'].pk}") == _pks(floor, "cold", "failed")


def test_filter_sidebar_offers_agents_customers_and_configured_dispositions(
    login, superuser, floor
):
    html = login(superuser).get(CALLS).content.decode()
    for label in ("By agent", "By customer", "By transfer", "By disposition", "By date range"):
        assert label in html
    assert "Dana Diaz (+14155550101)" in html
    assert "Voicemail left" in html  # from settings.CALL_DISPOSITIONS, though unused yet
    assert "Had a warm transfer" in html


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("dana", ("warm", "live")),
        ("+1 (415) 555-0102", ("cold", "failed")),
        ("0044 415 555 0101", ()),
        ("alice", ("warm", "failed")),
        ("Escalated", ("cold",)),
        ("sip:ZOE@Phones.test", ("live",)),
    ],
)
def test_call_search(shown, floor, term, expected):
    from urllib.parse import urlencode

    assert shown(CALLS, "?" + urlencode({"q": term})) == _pks(floor, *expected)


def test_call_search_by_number(shown, floor):
    assert shown(CALLS, f"?q=%23{floor['cold'].pk}") == _pks(floor, "cold")


def test_a_bad_date_is_reported_and_ignored(login, superuser, floor):
    response = login(superuser).get(CALLS + "?created_at_from=05/02/2030&status__exact=failed")
    assert response.status_code == 200
    assert {c.pk for c in response.context["cl"].result_list} == {floor["failed"].pk}
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [
        "'05/02/2030' is not a date for the start of the date range; use YYYY-MM-DD."
        " That bound was ignored."
    ]
    # The form shows what was typed, and keeps the other filters as hidden fields.
    html = response.content.decode()
    assert 'value="05/02/2030"' in html
    assert '<input type="hidden" name="status__exact" value="failed">' in html


def test_a_reversed_range_is_reported(login, superuser, floor):
    response = login(superuser).get(CALLS + "?created_at_from=2030-05-04&created_at_to=2030-05-01")
    assert len(response.context["cl"].result_list) == 4
    assert "starts (2030-05-04) after it ends (2030-05-01)" in response.content.decode()


def test_date_range_uses_the_site_time_zone(login, superuser, settings):
    settings.TIME_ZONE = "America/New_York"
    timezone.activate("America/New_York")
    try:
        # 02:00 UTC on the 2nd is still the 1st in New York.
        call = make_call(created_at=datetime(2030, 5, 2, 2, 0, tzinfo=UTC))
        client = login(superuser)
        first = client.get(CALLS + "?created_at_from=2030-05-01&created_at_to=2030-05-01")
        assert [c.pk for c in first.context["cl"].result_list] == [call.pk]
    finally:
        timezone.deactivate()


ACTIONS = reverse("admin:calls_action_changelist")
CALLBACKS = reverse("admin:calls_callbackevent_changelist")


@pytest.fixture
def trail(floor):
    call = floor["cold"]
    ok = add_action(call=call, kind=Action.Kind.HOLD, target="14155550102", at=_at(2))
    bad = add_action(
        call=call,
        kind=Action.Kind.HANGUP,
        outcome=Action.Outcome.FAILED,
        error_kind="timeout",
        error="PHLO did not answer within 10 s.",
        at=_at(3),
    )
    applied = add_callback(
        call=call,
        event="ConferenceEnter",
        at=_at(2),
        params={"event": "ConferenceEnter", "call_uuid": "aaaa-1111"},
    )
    ignored = add_callback(
        call=call,
        event="ConferenceExit",
        outcome=CallbackEvent.Outcome.IGNORED,
        at=_at(3),
        note="duplicate exit",
    )
    unmatched = add_callback(
        call=None, event="MPCStart", outcome=CallbackEvent.Outcome.UNMATCHED, at=_at(4)
    )
    return {
        "ok": ok,
        "bad": bad,
        "applied": applied,
        "ignored": ignored,
        "unmatched": unmatched,
        "call": call,
    }


def test_action_filters_and_search(shown, trail):
    failed = set(Action.objects.filter(outcome="failed").values_list("pk", flat=True))
    assert trail["bad"].pk in failed and len(failed) == 2
    assert shown(ACTIONS, "?outcome__exact=failed") == failed
    assert shown(ACTIONS, "?kind__exact=hold") == {trail["ok"].pk}
    assert shown(ACTIONS, "?error_kind=timeout") == {trail["bad"].pk}
    assert trail["bad"].pk not in shown(ACTIONS, "?error_kind=__none__")
    assert shown(ACTIONS, "?q=did+not+answer") == {trail["bad"].pk}
    assert shown(ACTIONS, "?q=%2B1+415+555+0102") == {trail["ok"].pk}
    by_call = shown(ACTIONS, f"?q=%23{trail['call'].pk}")
    assert by_call == set(Action.objects.filter(call=trail["call"]).values_list("pk", flat=True))
    assert shown(ACTIONS, "?created_at_from=2030-05-03&created_at_to=2030-05-03") == {
        trail["bad"].pk
    }


def test_callback_filters_and_search(shown, trail):
    assert shown(CALLBACKS, "?outcome__exact=ignored") == {trail["ignored"].pk}
    assert shown(CALLBACKS, "?outcome__exact=unmatched") == {trail["unmatched"].pk}
    assert shown(CALLBACKS, "?vocabulary__exact=phlo") == {
        trail[k].pk for k in ("applied", "ignored", "unmatched")
    }
    assert shown(CALLBACKS, "?event=ConferenceExit") == {trail["ignored"].pk}
    assert shown(CALLBACKS, "?q=duplicate") == {trail["ignored"].pk}
    assert shown(CALLBACKS, "?q=aaaa-1111") == {trail["applied"].pk}  # inside the params
    assert shown(CALLBACKS, f"?q=%23{trail['call'].pk}") == {
        trail["applied"].pk,
        trail["ignored"].pk,
    }
    assert shown(CALLBACKS, "?received_at_from=2030-05-04") == {trail["unmatched"].pk}


CUSTOMERS = reverse("admin:calls_customer_changelist")
AGENTS = reverse("admin:agents_agent_changelist")


def test_customer_search_by_name_phone_and_notes(shown, floor):
    floor["eli"].notes = "Prefers mornings"
    floor["eli"].save()
    assert shown(CUSTOMERS, "?q=diaz") == {floor["dana"].pk}
    assert shown(CUSTOMERS, "?q=%2B1+%28415%29+555-0101") == {floor["dana"].pk}
    assert shown(CUSTOMERS, "?q=555+0102") == {floor["eli"].pk}
    assert shown(CUSTOMERS, "?q=mornings") == {floor["eli"].pk}


def test_customer_list_counts_and_links_their_calls(login, superuser, floor):
    html = login(superuser).get(CUSTOMERS).content.decode()
    assert f'href="{CALLS}?customer={floor["dana"].pk}">2</a>' in html
    assert "2030-05-04 12:00" in html  # Dana's last call


def test_agent_list_search_status_filter_and_time_in_status(shown, login, superuser, floor):
    alice = floor["alice"]
    alice.status = "away"
    alice.status_changed_at = timezone.now() - timedelta(hours=2, minutes=5, seconds=20)
    alice.save()
    assert shown(AGENTS, "?status__exact=away") == {alice.pk}
    assert shown(AGENTS, "?q=sip:ALICE@phones.test") == {alice.pk}
    html = login(superuser).get(AGENTS + "?status__exact=away").content.decode()
    assert "2 h 05 min" in html
    assert f'href="{CALLS}?owner={alice.pk}">2</a>' in html


def test_agent_list_shows_the_live_call_and_who_supervises(
    login, superuser, group_supervisor, floor
):
    from agents.models import Agent

    sup_agent = Agent.objects.create(user=group_supervisor, endpoint="sip:gina@phones.test")
    add_member(
        call=floor["live"],
        role=Member.Role.AGENT,
        address=floor["alice"].endpoint,
        agent=floor["alice"],
        state="talking",
    )
    response = login(superuser).get(AGENTS)
    rows = {a.pk: a for a in response.context["cl"].result_list}
    assert rows[floor["alice"].pk].live_call_id == floor["live"].pk
    assert rows[sup_agent.pk].is_supervisor is True
    assert rows[floor["alice"].pk].is_supervisor is False
    assert f"Call #{floor['live'].pk}" in response.content.decode()


def test_a_call_no_agent_took_is_not_shown_as_the_agents(login, superuser):
    """Dana hung up while her call rang on Alice's phone: the list and the call's page say
    nobody took it and whom it rang, not that it was Alice's."""
    alice = make_agent(username="alice")
    alice.user.first_name, alice.user.last_name = "Alice", "Archer"
    alice.user.save()
    call = make_call(
        owner=alice,
        status=Call.Status.FAILED,
        direction=Call.Direction.INBOUND,
        outcome=Call.Outcome.ABANDONED,
    )
    client = login(superuser)
    listing = client.get(CALLS).content.decode()
    assert "— (rang Alice Archer)" in listing
    page = client.get(reverse("admin:calls_call_change", args=[call.pk])).content.decode()
    assert "— (rang <a href=" in page


def test_disposition_filter_finds_an_agents_own_disposition_for_their_part(login, superuser, shown):
    """Alice handed the call to Bob and wrapped up her part as Escalated; Bob's disposition
    is the call's. Either finds the call; the list shows the call's own, and says so."""
    from calls.models import WrapUp

    alice, bob = make_agent(username="alice"), make_agent(username="bob")
    handed = make_call(owner=bob, disposition="Resolved")
    WrapUp.objects.create(call=handed, agent=alice, disposition="Escalated", done_at=_at(1))
    WrapUp.objects.create(call=handed, agent=bob, disposition="Resolved", done_at=_at(1))
    theirs = make_call(owner=alice)
    WrapUp.objects.create(call=theirs, agent=alice, disposition="Escalated", done_at=_at(1))
    plain = make_call(owner=bob)
    assert shown(CALLS, "?disposition=Escalated") == {handed.pk, theirs.pk}
    assert shown(CALLS, "?disposition=Resolved") == {handed.pk}
    assert shown(CALLS, "?disposition=__none__") == {plain.pk}
    html = login(superuser).get(CALLS).content.decode()
    assert "Call&#x27;s disposition" in html or "Call's disposition" in html


def test_an_agent_who_handed_a_call_on_finds_it_by_filter_and_by_search(login, superuser, shown):
    """Bob answered, talked, and cold-transferred to Carol, who owns the call now. Searching
    "bob" found nothing and the agent filter did not offer him: his part only showed on the
    call's own page."""
    from calls.models import WrapUp

    bob, carol = make_agent(username="bob"), make_agent(username="carol")
    handed = make_call(owner=carol)
    WrapUp.objects.create(call=handed, agent=bob, disposition="Escalated", done_at=_at(1))
    WrapUp.objects.create(call=handed, agent=carol)
    carols = make_call(owner=carol)
    assert shown(CALLS, f"?owner={bob.pk}") == {handed.pk}
    assert shown(CALLS, f"?owner={carol.pk}") == {handed.pk, carols.pk}
    assert shown(CALLS, "?q=bob") == {handed.pk}
    html = login(superuser).get(CALLS).content.decode()
    assert f'?owner={bob.pk}"' in html  # offered in the agent filter


@pytest.mark.parametrize(
    ("param", "title"),
    [
        ("owner", "agent"),
        ("customer", "customer"),
        ("state", "live or ended"),
        ("transfer", "transfer"),
    ],
)
def test_an_unknown_value_in_the_link_says_so(login, superuser, shown, param, title):
    """?owner=abc quietly showed every call, as if the filter had been applied."""
    make_call(owner=make_agent(username="alice"))
    page = login(superuser).get(f"{CALLS}?{param}=abc", follow=True).content.decode()
    assert f"&#x27;abc&#x27; is not one of the {title} filter&#x27;s choices; showing all" in page


def test_a_lookup_django_cannot_apply_says_so(login, superuser):
    """Django answers a parameter it cannot filter by (?bogus=1, a stale link) with the whole
    list under ?e=1, without a word."""
    make_call(owner=make_agent(username="alice"))
    page = login(superuser).get(f"{CALLS}?bogus=1", follow=True)
    assert page.redirect_chain and page.redirect_chain[-1][0].endswith("?e=1")
    assert "A filter in that link could not be applied" in page.content.decode()
