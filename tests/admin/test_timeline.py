"""A call's page: members as they are now, and the timeline of actions and callbacks."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from calls.addresses import display_address
from calls.models import Action, Call, CallbackEvent, Member, WrapUp
from tests.admin.builders import add_action, add_callback, add_member, caller_sent_to_voicemail
from tests.factories import make_agent, make_call, make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def call_with_history():
    start = timezone.now() - timedelta(minutes=30)
    agent = make_agent(username="bob")
    customer = make_customer(name="Eli Evans", phone="+1 415 555 0102")
    call = make_call(owner=agent, customer=customer, status=Call.Status.ACTIVE, created_at=start)
    leg = add_member(
        call=call,
        role=Member.Role.CUSTOMER,
        address=customer.phone,
        customer=customer,
        state=Member.State.ON_HOLD,
        hold_started_at=start + timedelta(seconds=9),
    )
    add_member(
        call=call,
        role=Member.Role.AGENT,
        address=agent.endpoint,
        agent=agent,
        state=Member.State.TALKING,
    )
    # Inserted out of order on purpose: the timeline orders by time, not by insertion.
    add_callback(
        call=call,
        event="ConferenceEnter",
        outcome=CallbackEvent.Outcome.IGNORED,
        at=start + timedelta(seconds=40),
        member=leg,
        note="Late ConferenceEnter for a member who already left; kept as left.",
    )
    add_action(
        call=call,
        kind=Action.Kind.CALL,
        actor=agent.user,
        at=start + timedelta(seconds=1),
        target=customer.phone,
        http_status=201,
        request={
            "method": "POST",
            "path": "/v1/phlo/p/multi_party_call/n",
            "body": {"action": "call", "to": customer.phone, "role": "customer"},
        },
    )
    add_callback(
        call=call,
        event="ConferenceEnter",
        at=start + timedelta(seconds=5),
        member=leg,
        params={
            "event": "ConferenceEnter",
            "from": "sip:bob@phones.test",
            "to": customer.phone,
            "call_uuid": "uuid-leg-1",
        },
    )
    add_action(
        call=call,
        kind=Action.Kind.HOLD,
        actor=agent.user,
        at=start + timedelta(seconds=9),
        target=customer.phone,
    )
    add_action(
        call=call,
        kind=Action.Kind.WARM_TRANSFER,
        actor=agent.user,
        outcome=Action.Outcome.FAILED,
        at=start + timedelta(seconds=30),
        target="sip:carol@phones.test",
        http_status=400,
        error_kind="rejected",
        error="PHLO refused the request: Invalid value provided for role.",
    )
    add_callback(
        call=call,
        event="ParticipantExit",
        outcome=CallbackEvent.Outcome.FAILED,
        at=start + timedelta(seconds=50),
        error="KeyError: 'MemberID' while applying",
    )
    other = make_call(owner=agent)
    add_action(call=other, kind=Action.Kind.HANGUP, error="belongs to another call")
    return call


def _timeline_rows(html: str) -> list[str]:
    section = html.split('id="call-timeline"', 1)[1]
    return re.findall(r"<tr class=\"(?:sent|received)[^\"]*\".*?</tr>", section, re.S)


def test_timeline_merges_actions_and_callbacks_by_time(login, superuser, call_with_history):
    url = reverse("admin:calls_call_change", args=[call_with_history.pk])
    html = login(superuser).get(url).content.decode()
    rows = _timeline_rows(html)
    titles = [re.search(r'<a href="[^"]+">([^<]+)</a>', row).group(1) for row in rows]
    assert titles == [
        "Call",
        "ConferenceEnter",
        "Hold",
        "Warm transfer",
        "ConferenceEnter",
        "ParticipantExit",
    ]
    assert "+0:01" in rows[0] and "+0:50" in rows[-1]
    assert "sent to PHLO" in rows[0] and "callback" in rows[1]
    assert "belongs to another call" not in html


def test_timeline_shows_failures_with_their_errors_and_ignored_callbacks_with_notes(
    login, superuser, call_with_history
):
    url = reverse("admin:calls_call_change", args=[call_with_history.pk])
    rows = _timeline_rows(login(superuser).get(url).content.decode())
    failed_action, ignored, failed_callback = rows[3], rows[4], rows[5]
    assert "problem" in failed_action.split(">")[0]
    assert "rejected: PHLO refused the request: Invalid value provided for role." in failed_action
    assert "<td>400</td>" in failed_action
    assert "Failed" in failed_action
    assert "Ignored" in ignored
    assert "Late ConferenceEnter for a member who already left; kept as left." in ignored
    assert "problem" not in ignored.split(">")[0]
    assert "KeyError: &#x27;MemberID&#x27; while applying" in failed_callback
    assert "problem" in failed_callback.split(">")[0]


def test_timeline_details_show_request_and_params(login, superuser, call_with_history):
    url = reverse("admin:calls_call_change", args=[call_with_history.pk])
    rows = _timeline_rows(login(superuser).get(url).content.decode())
    assert "POST /v1/phlo/p/multi_party_call/n" in rows[0]
    assert "<dt>body.role</dt><dd>customer</dd>" in rows[0]
    assert "<dt>call_uuid</dt><dd>uuid-leg-1</dd>" in rows[1]
    assert "+14155550102" in rows[0]  # the target, as a person reads it


def test_call_without_history_says_so(login, superuser):
    # Ended (as a caller the PHLO flow's no-agent branch answered): nothing more will come.
    call = make_call()
    html = login(superuser).get(reverse("admin:calls_call_change", args=[call.pk])).content
    assert b"No action was sent and no callback received for this call.</p>" in html
    # A live one may still have some.
    Call.objects.filter(pk=call.pk).update(status=Call.Status.DIALLING, ended_at=None)
    html = login(superuser).get(reverse("admin:calls_call_change", args=[call.pk])).content
    assert b"No action was sent and no callback received for this call yet.</p>" in html


def test_members_inline_shows_live_state_read_only(login, superuser, call_with_history):
    url = reverse("admin:calls_call_change", args=[call_with_history.pk])
    html = login(superuser).get(url).content.decode()
    inline = html.split('id="members-group"', 1)[1].split('id="call-timeline"', 1)[0]
    assert "On hold" in inline and "Talking" in inline
    assert "Eli Evans" in inline and "+14155550102" in inline
    # Nothing to edit, add or delete in the inline.
    assert 'name="members-0-state"' not in inline
    assert "members-0-DELETE" not in inline
    assert 'name="members-MAX_NUM_FORMS" value="0"' in inline  # so no "add another" row


def test_timeline_costs_the_same_queries_however_long_it_is(login, superuser, call_with_history):
    client = login(superuser)
    url = reverse("admin:calls_call_change", args=[call_with_history.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as short:
        client.get(url)
    for i in range(20):
        add_action(call=call_with_history, kind=Action.Kind.UNHOLD, actor=superuser)
        add_callback(call=call_with_history, event=f"E{i}")
    with CaptureQueriesContext(connection) as long:
        client.get(url)
    assert len(long) == len(short)


def test_each_agents_wrap_up_of_their_part_is_shown_read_only(login, superuser, call_with_history):
    """Alice handed the call to Bob and wrapped up her part while it went on; Bob owes his:
    the call's own disposition (Bob's, at the end) says nothing of hers."""
    alice = make_agent(username="alice")
    WrapUp.objects.create(
        call=call_with_history, agent=alice, disposition="Escalated", done_at=timezone.now()
    )
    WrapUp.objects.create(call=call_with_history, agent=call_with_history.owner)
    url = reverse("admin:calls_call_change", args=[call_with_history.pk])
    html = login(superuser).get(url).content.decode()
    table = html.split('class="agents-wrap-ups"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    texts = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)).strip() for r in rows][1:]
    assert [t.split(" ")[:4] for t in texts] == [
        ["alice", "A", "disposition", "Escalated"],
        ["bob", "A", "disposition", "—"],
    ]
    assert not texts[0].endswith("Not yet") and texts[1].endswith("Not yet")
    assert 'name="agents_wrap_ups"' not in html  # shown, never a field to post


def test_a_call_nobody_owes_a_wrap_up_for_says_so(login, superuser, call_with_history):
    url = reverse("admin:calls_call_change", args=[call_with_history.pk])
    html = login(superuser).get(url).content.decode()
    assert "Nobody owes a wrap-up for this call yet." in html


def _wrap_up_texts(html: str) -> list[str]:
    table = html.split('class="agents-wrap-ups"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)).strip() for r in rows]


def test_a_wrap_up_whose_time_ran_out_says_so(login, superuser):
    """The call has ended. Bob's wrap-up time is over without a disposition (it ran out, or he
    ended it: he is Available again, and may still give it from the card); Carol is still in
    hers."""
    bob, carol = make_agent(username="bob"), make_agent(username="carol", status="wrap_up")
    carol.wrap_up_until = timezone.now() + timedelta(seconds=20)
    carol.save()
    call = make_call(owner=bob, outcome=Call.Outcome.CUSTOMER_HUNG_UP)
    WrapUp.objects.create(call=call, agent=bob)
    WrapUp.objects.create(call=call, agent=carol)
    url = reverse("admin:calls_call_change", args=[call.pk])
    bob_row, carol_row = _wrap_up_texts(login(superuser).get(url).content.decode())
    assert bob_row.endswith("No disposition yet; wrap-up time over")
    assert carol_row.endswith("Not yet")


def test_a_wrap_up_expired_but_not_yet_flipped_has_run_out(login, superuser):
    """Nobody has looked since Bob's wrap-up time ended: his status still says Wrap-up."""
    bob = make_agent(username="bob", status="wrap_up")
    bob.wrap_up_until = timezone.now() - timedelta(seconds=1)
    bob.save()
    call = make_call(owner=bob, outcome=Call.Outcome.CUSTOMER_HUNG_UP)
    WrapUp.objects.create(call=call, agent=bob)
    url = reverse("admin:calls_call_change", args=[call.pk])
    [row] = _wrap_up_texts(login(superuser).get(url).content.decode())
    assert row.endswith("No disposition yet; wrap-up time over")


def test_abort_and_resume_name_the_transfers_target_not_its_starter(login, superuser):
    """PHLO's abort and resume requests are addressed to Bob, who started the transfer; the
    person they affect is Carol, its target."""
    from calls.models import CallTransfer
    from tests.admin.builders import add_transfer

    start = timezone.now() - timedelta(minutes=5)
    bob = make_agent(username="bob")
    carol = make_agent(username="carol")
    carol.user.first_name, carol.user.last_name = "Carol", "Chen"
    carol.user.save()
    call = make_call(owner=bob, created_at=start)
    add_transfer(
        call=call,
        kind=Call.TransferKind.WARM,
        outcome=CallTransfer.Outcome.ABORTED,
        to_address=carol.endpoint,
        to_agent=carol,
        from_agent=bob,
        at=start + timedelta(seconds=10),
    )
    for kind, second in ((Action.Kind.RESUME_CALL, 15), (Action.Kind.ABORT_TRANSFER, 16)):
        add_action(
            call=call,
            kind=kind,
            actor=bob.user,
            target=bob.endpoint,
            at=start + timedelta(seconds=second),
        )
    url = reverse("admin:calls_call_change", args=[call.pk])
    rows = _timeline_rows(login(superuser).get(url).content.decode())
    assert len(rows) == 2
    for row in rows:
        assert "bob → Carol Chen" in row
        assert "sip:bob@phones.test" not in row


def test_members_who_left_have_no_time_in_state(login, superuser, call_with_history):
    add_member(
        call=call_with_history,
        role=Member.Role.AGENT,
        address="sip:carol@phones.test",
        state=Member.State.LEFT,
        left_at=timezone.now(),
        state_changed_at=timezone.now(),
    )
    url = reverse("admin:calls_call_change", args=[call_with_history.pk])
    html = login(superuser).get(url).content.decode()
    cells = re.findall(r'class="field-in_state_for">\s*<p>(.*?)</p>', html, re.S)
    assert cells[-1] == "—"
    assert all(cell != "—" for cell in cells[:-1])


def test_a_callback_row_names_the_leg_without_its_state_now(login, superuser, call_with_history):
    """A row read "ConferenceEnter · Customer +1… (On hold)": the leg's state now, not at
    that event. It names who the event was about."""
    url = reverse("admin:calls_call_change", args=[call_with_history.pk])
    rows = _timeline_rows(login(superuser).get(url).content.decode())
    entered = next(row for row in rows if "ConferenceEnter" in row)
    leg = call_with_history.members.get(role=Member.Role.CUSTOMER)
    assert f"Customer {display_address(leg.address)}" in unescape(entered)
    assert "(On hold)" not in unescape(entered)


def test_members_nobody_answered_say_how_their_ring_ended(login, superuser, call_with_history):
    """The admin said "Left" where the desktop and the wallboard said Declined or Cancelled."""
    add_member(
        call=call_with_history,
        role=Member.Role.AGENT,
        address="sip:carol@phones.test",
        end_cause=Member.EndCause.DECLINED,
    )
    add_member(
        call=call_with_history,
        role=Member.Role.AGENT,
        address="sip:dave@phones.test",
        end_cause=Member.EndCause.TAKEN_OUT,
    )
    url = reverse("admin:calls_call_change", args=[call_with_history.pk])
    html = login(superuser).get(url).content.decode()
    inline = html.split('id="members-group"', 1)[1].split('id="call-timeline"', 1)[0]
    assert "Declined" in inline and "Cancelled" in inline


def test_a_caller_sent_to_voicemail_reads_so_once_ended(login, superuser, settings):
    """The live row said "Voicemail"; once ended it said only "No agent". It now says where
    the caller was sent, and an ended call nobody owed a wrap-up for says so in the past."""
    from tests.scenarios.pages import admin_row

    call = caller_sent_to_voicemail(voicemail=settings.INBOUND_VOICEMAIL_ENDPOINT)
    assert "No agent: voicemail" in unescape(admin_row(call))
    url = reverse("admin:calls_call_change", args=[call.pk])
    assert "Nobody owed a wrap-up for this call." in login(superuser).get(url).content.decode()


def test_the_call_page_says_how_the_call_stands_as_the_list_does(login, superuser):
    """It showed the stored status: "Failed" for a caller who hung up while waiting."""
    call = make_call(
        direction=Call.Direction.INBOUND, status=Call.Status.FAILED, outcome=Call.Outcome.ABANDONED
    )
    url = reverse("admin:calls_call_change", args=[call.pk])
    html = login(superuser).get(url).content.decode()
    field = html.split("field-state_display", 1)[1].split("field-direction", 1)[0]
    assert "Abandoned" in field and "Failed" not in field, field
