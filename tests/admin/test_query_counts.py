"""Every list page, and the export, costs the same number of queries for 3 rows or 40."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calls.models import Action, Member
from tests.admin.builders import add_action, add_callback, add_member, full_call
from tests.factories import at_work, make_agent, make_call, make_customer

pytestmark = pytest.mark.django_db

# Generous absolute ceiling; the real check is that the count does not grow.
MAX_QUERIES = 16


def _agent_row(i: int) -> None:
    agent = make_agent()
    call = make_call(owner=agent, status="active" if i % 2 else "completed")
    if i % 2:
        add_member(
            call=call, role=Member.Role.AGENT, address=agent.endpoint, agent=agent, state="talking"
        )


def _customer_row(i: int) -> None:
    customer = make_customer(name=f"Customer {i}")
    make_call(customer=customer)


def _action_row(i: int) -> None:
    agent = make_agent()
    call = make_call(owner=agent)
    member = add_member(call=call, role=Member.Role.AGENT, address=agent.endpoint, agent=agent)
    action = add_action(
        call=call,
        kind=Action.Kind.HOLD,
        actor=agent.user,
        target=agent.endpoint,
        outcome="failed" if i % 3 == 0 else "succeeded",
        error_kind=f"k{i % 4}",
    )
    Action.objects.filter(pk=action.pk).update(member=member)


def _callback_row(i: int) -> None:
    call = make_call()
    member = add_member(call=call, role=Member.Role.CUSTOMER, address=f"1415555{i:04d}")
    add_callback(call=call, member=member, event=f"Event{i % 5}")


PAGES = {
    "calls": (reverse("admin:calls_call_changelist"), lambda i: full_call(index=i)),
    "agents": (reverse("admin:agents_agent_changelist"), _agent_row),
    "customers": (reverse("admin:calls_customer_changelist"), _customer_row),
    "actions": (reverse("admin:calls_action_changelist"), _action_row),
    "callbacks": (reverse("admin:calls_callbackevent_changelist"), _callback_row),
}


def _count(client, url: str, rows: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        assert response.status_code == 200
        body = response.content if not response.streaming else b"".join(response.streaming_content)
    if "cl" in (response.context or {}):
        assert response.context["cl"].result_count == rows
    else:
        assert body.count(b"\n") == rows + 1
    return len(queries)


@pytest.mark.parametrize("page", PAGES)
def test_list_page_query_count_does_not_grow_with_rows(page, login, group_supervisor):
    url, add_row = PAGES[page]
    client = at_work(login(group_supervisor))  # its user read once, as a page at work
    for i in range(3):
        add_row(i)
    few = _count(client, url, 3)
    for i in range(3, 40):
        add_row(i)
    many = _count(client, url, 40)
    assert few == many
    assert many <= MAX_QUERIES


@pytest.mark.parametrize("query", ["", "?transfer=any&q=customer", "?_facets=1"])
def test_filtered_and_faceted_call_list_query_count_does_not_grow(query, login, group_supervisor):
    url = reverse("admin:calls_call_changelist") + query
    client = at_work(login(group_supervisor))  # its user read once, as a page at work
    for i in range(3):
        full_call(index=i)
    few = _count(client, url, 3)
    for i in range(3, 40):
        full_call(index=i)
    assert _count(client, url, 40) == few


def test_csv_export_query_count_does_not_grow_with_rows(login, group_supervisor):
    url = reverse("admin:calls_call_export")
    client = at_work(login(group_supervisor))  # its user read once, as a page at work
    for i in range(3):
        full_call(index=i)
    few = _count(client, url, 3)
    for i in range(3, 40):
        full_call(index=i)
    assert _count(client, url, 40) == few
