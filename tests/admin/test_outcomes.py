"""The admin shows how each call ended: a busy or unanswered attempt is not "Completed" with a
talk time, and supervisors can filter by outcome."""

import pytest
from django.db import transaction

from calls.models import Call, Member
from calls.state import call_changed, lock_call, member_set_state
from tests.factories import make_customer
from tests.webhooks.helpers import build_call, callbacks, post_callback

pytestmark = pytest.mark.django_db

UNREACHABLE = callbacks("phlo_customer_unreachable")
OUTBOUND = callbacks("phlo_outbound_call")


def ended_by_callbacks(client, scenario: str, *names: str) -> Call:
    legs = build_call(scenario)
    for name in names:
        assert post_callback(client, callbacks(scenario)[name]).status_code == 200
    legs.call.refresh_from_db()
    return legs.call


def _busy_call(*, agent) -> Call:
    """An attempt whose customer was busy, ended by the same rules as a callback would."""
    legs = build_call("phlo_customer_unreachable", agent=agent, customer=make_customer())
    for member, state in ((legs.agent_leg, Member.State.TALKING), (legs.customer_leg, "busy")):
        with transaction.atomic():
            call = lock_call(call_id=legs.call.pk)
            member.refresh_from_db()
            member_set_state(member=member, state=state)
            call_changed(call=call)
    legs.call.refresh_from_db()
    return legs.call


def row_of(html: str, call: Call) -> str:
    start = html.index(f">#{call.pk}</a>")
    return html[start : html.index("</tr>", start)]


def test_each_call_says_how_it_ended_and_only_conversations_have_a_duration(
    client, login, superuser
):
    talked = ended_by_callbacks(
        client, "phlo_outbound_call", "agent_enters", "customer_enters", "customer_leaves"
    )
    busy = _busy_call(agent=talked.owner)
    assert (busy.outcome, talked.outcome) == (Call.Outcome.BUSY, Call.Outcome.CUSTOMER_HUNG_UP)
    html = login(superuser).get("/admin/calls/call/").content.decode()
    busy_row, talked_row = row_of(html, busy), row_of(html, talked)
    assert "Busy" in busy_row and "Completed" not in busy_row
    assert 'class="field-duration">—<' in busy_row
    assert "Customer hung up" in talked_row
    assert 'class="field-duration">—<' not in talked_row

    filtered = login(superuser).get("/admin/calls/call/?outcome=busy").content.decode()
    assert f">#{busy.pk}</a>" in filtered and f">#{talked.pk}</a>" not in filtered
