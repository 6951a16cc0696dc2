"""The headline figures against scenarios computed by hand, built with the ORM at fixed times.

"Today" is the day in settings.TIME_ZONE: these tests run in New York, where a day can have
23 or 25 hours and starts at 04:00 or 05:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calls.wallboard.figures import today_bounds, wallboard_figures
from tests.factories import make_agent, make_customer
from tests.wallboard.builders import add_action, add_leg, add_transfer, handled_call, scenario_call

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")


def local(hour: int, minute: int = 0, second: int = 0, *, day: int = 12, month: int = 3):
    return datetime(2030, month, day, hour, minute, second, tzinfo=NY)


NOW = local(15, 30)


@pytest.fixture(autouse=True)
def _new_york(settings):
    settings.TIME_ZONE = "America/New_York"


@pytest.fixture
def people():
    return {
        "alice": make_agent(username="alice"),
        "bob": make_agent(username="bob"),
        "dana": make_customer(name="Dana", phone="+14155550101"),
        "eli": make_customer(name="Eli", phone="+14155550102"),
        "fay": make_customer(name="Fay", phone="+14155550103"),
    }


def build_day(p) -> dict:
    """A day at the desk, each call commented with what it must count as."""
    alice, bob, dana, eli, fay = p["alice"], p["bob"], p["dana"], p["eli"], p["fay"]
    calls = {}
    # A: handled. The customer waits 5 s for Alice; handle time 300 s (from Alice's answer).
    calls["a"] = handled_call(
        agent=alice,
        customer=dana,
        start=local(9, 0),
        customer_answer=local(9, 0, 5),
        agent_answer=local(9, 0, 10),
        end=local(9, 5, 10),
    )
    # B: handled, 600 s, with one warm and one cold transfer completed, one that failed (its
    # target never answered), and a consult that was aborted.
    b = calls["b"] = handled_call(
        agent=bob,
        customer=eli,
        start=local(10, 0),
        agent_answer=local(10, 0, 20),
        customer_answer=local(10, 0, 30),
        end=local(10, 10, 20),
    )
    add_transfer(b, kind="warm", at=local(10, 3))
    add_transfer(b, kind="cold", at=local(10, 4), outcome="failed")
    add_transfer(b, kind="warm", at=local(10, 4, 30), outcome="aborted")
    add_transfer(b, kind="cold", at=local(10, 5))
    # C: abandoned. The customer is in the call, hangs up before Alice's phone is answered.
    c = calls["c"] = scenario_call(
        created_at=local(11, 0), owner=alice, customer=fay, answered_at=local(11, 0, 1)
    )
    add_leg(
        c,
        role="customer",
        customer=fay,
        state="left",
        answered_at=local(11, 0, 1),
        left_at=local(11, 0, 30),
    )
    add_leg(c, role="agent", agent=alice, state="no_answer", left_at=local(11, 0, 30))
    c.ended_at = local(11, 0, 30)
    c.save()
    # D: not abandoned. Same, but a supervisor hung the customer up (a recorded action).
    d = calls["d"] = scenario_call(
        created_at=local(11, 10), customer=dana, answered_at=local(11, 10), ended_at=local(11, 11)
    )
    d_leg = add_leg(
        d,
        role="customer",
        customer=dana,
        state="left",
        answered_at=local(11, 10),
        left_at=local(11, 10, 20),
    )
    add_leg(d, role="agent", agent=bob, state="no_answer", left_at=local(11, 11))
    add_action(d, kind="hangup", at=local(11, 10, 20), member=d_leg)
    # E: a voicemail machine answered: neither handled nor abandoned.
    e = calls["e"] = scenario_call(
        created_at=local(12, 0),
        owner=alice,
        customer=eli,
        direction="outbound",
        answered_at=local(12, 0, 5),
        ended_at=local(12, 0, 40),
    )
    add_leg(e, role="agent", agent=alice, state="left", answered_at=local(12, 0, 5))
    add_leg(
        e,
        role="customer",
        customer=eli,
        state="left",
        answered_at=local(12, 0, 10),
        left_at=local(12, 0, 40),
        is_machine=True,
    )
    # F: outbound, the customer never answered: neither.
    f = calls["f"] = scenario_call(
        created_at=local(12, 30),
        owner=alice,
        customer=fay,
        direction="outbound",
        answered_at=local(12, 30, 5),
        ended_at=local(12, 31),
    )
    add_leg(f, role="agent", agent=alice, state="left", answered_at=local(12, 30, 5))
    add_leg(f, role="customer", customer=fay, state="no_answer", left_at=local(12, 31))
    # G: handled yesterday: not today.
    handled_call(
        agent=bob,
        customer=dana,
        start=local(23, 0, day=11),
        agent_answer=local(23, 0, 5, day=11),
        customer_answer=local(23, 0, 5, day=11),
        end=local(23, 50, day=11),
    )
    add_transfer(calls["a"], kind="warm", at=local(23, 59, day=11))
    # H: spans midnight: started yesterday, ended today, handled (240 s); not in today's chart.
    calls["h"] = handled_call(
        agent=bob,
        customer=fay,
        start=local(23, 58, day=11),
        agent_answer=local(23, 58, day=11),
        customer_answer=local(23, 58, day=11),
        end=local(0, 2),
    )
    # I: live, customer on hold since 15:20 (the longest hold), a warm transfer earlier today.
    i = calls["i"] = scenario_call(
        created_at=local(15, 0), status="active", owner=alice, customer=dana, answered_at=local(15)
    )
    add_leg(i, role="agent", agent=alice, state="talking", answered_at=local(15, 0, 3))
    add_leg(
        i,
        role="customer",
        customer=dana,
        state="on_hold",
        answered_at=local(15, 0, 2),
        hold_started_at=local(15, 20),
    )
    add_transfer(i, kind="warm", at=local(15, 10))
    # J: live, still ringing.
    j = calls["j"] = scenario_call(created_at=local(15, 25), status="dialling", customer=eli)
    add_leg(j, role="customer", customer=eli, state="dialling")
    # K: live since 14:00, customer on hold since 15:28.
    k = calls["k"] = scenario_call(
        created_at=local(14, 0), status="active", owner=bob, customer=fay, answered_at=local(14)
    )
    add_leg(k, role="agent", agent=bob, state="talking", answered_at=local(14, 0, 1))
    add_leg(
        k,
        role="customer",
        customer=fay,
        state="on_hold",
        answered_at=local(14, 0, 2),
        hold_started_at=local(15, 28),
    )
    # L: ended, but a leg left "on hold" by a lost callback: not a customer on hold now.
    ell = calls["l"] = scenario_call(
        created_at=local(13, 0), owner=bob, customer=eli, ended_at=local(13, 1)
    )
    add_leg(ell, role="customer", customer=eli, state="on_hold", hold_started_at=local(13, 0, 30))
    return calls


def test_a_day_computed_by_hand(people):
    build_day(people)
    f = wallboard_figures(at=NOW)

    assert f.calls_in_progress == 3  # I, J, K
    assert f.customers_on_hold == 2  # I and K; not L, which has ended
    assert f.longest_hold_since == local(15, 20)
    assert f.longest_hold_seconds == 600
    assert f.calls_handled == 3  # A, B and H (ended today)
    assert f.average_handle_seconds == round((300 + 600 + 240) / 3)  # 380
    assert (f.transfers_warm, f.transfers_cold, f.transfers) == (2, 1, 3)  # B + I; B
    assert f.consults_aborted == 1  # B's aborted consult: not a transfer
    assert f.abandoned == 1  # C


def test_calls_per_hour_of_a_day_computed_by_hand(people):
    build_day(people)
    hours = wallboard_figures(at=NOW).hours

    assert len(hours) == 24
    assert [h.start.hour for h in hours] == list(range(24))
    by_hour = {h.start.hour: (h.calls, h.reached_agent) for h in hours if h.calls}
    assert by_hour == {
        9: (1, 1),  # A
        10: (1, 1),  # B
        11: (2, 0),  # C abandoned, D hung up by a supervisor
        12: (2, 0),  # E voicemail, F no answer
        13: (1, 0),  # L
        14: (1, 1),  # K, live
        15: (2, 1),  # I live and connected, J ringing
    }


def test_an_empty_day():
    f = wallboard_figures(at=NOW)
    assert f.calls_in_progress == f.customers_on_hold == f.calls_handled == 0
    assert f.longest_hold_since is None and f.longest_hold_seconds is None
    assert f.average_handle_seconds is None
    assert f.transfers == f.abandoned == f.calls_today == 0
    assert len(f.hours) == 24


def test_today_follows_the_time_zone_setting(settings, people):
    # 19:30 in New York on the 11th is 23:30 UTC, also on the 11th.
    late = local(19, 30, day=11)
    handled_call(
        agent=people["alice"],
        customer=people["dana"],
        start=late,
        agent_answer=late,
        customer_answer=late,
        end=late + timedelta(minutes=2),
    )
    # 22:00 on the 11th in New York, but already the 12th in UTC.
    at = datetime(2030, 3, 12, 2, 0, tzinfo=UTC)

    assert today_bounds(at=at) == (local(0, day=11), local(0, day=12))
    assert wallboard_figures(at=at).calls_handled == 1
    settings.TIME_ZONE = "UTC"
    assert wallboard_figures(at=at).calls_handled == 0


@pytest.mark.parametrize(
    ("day", "month", "hours", "labels"),
    [
        # Clocks go forward at 02:00: 23 hours, no 02:00 hour.
        (10, 3, 23, [0, 1, 3, 4]),
        # Clocks go back at 02:00: 25 hours, 01:00 twice.
        (3, 11, 25, [0, 1, 1, 2]),
    ],
)
def test_a_day_when_the_clocks_change(people, day, month, hours, labels):
    first = datetime(2030, month, day, 1, 30, tzinfo=NY)  # 01:30, the first time round
    for offset in (timedelta(0), timedelta(hours=1)):
        at = (first.astimezone(UTC) + offset).astimezone(NY)
        scenario_call(created_at=at, owner=people["alice"], ended_at=at)
    noon = datetime(2030, month, day, 12, tzinfo=NY)
    buckets = wallboard_figures(at=noon).hours

    assert len(buckets) == hours
    assert [b.start.hour for b in buckets[:4]] == labels
    assert sum(b.calls for b in buckets) == 2
    # The two calls an hour apart land in two different buckets.
    assert len([b for b in buckets if b.calls]) == 2


def test_a_customer_who_reached_an_agent_and_then_hung_up_is_not_abandoned(people):
    call = scenario_call(created_at=local(9), owner=people["alice"], customer=people["dana"])
    add_leg(
        call,
        role="customer",
        customer=people["dana"],
        state="left",
        answered_at=local(9, 0, 1),
        left_at=local(9, 3),
    )
    add_leg(
        call,
        role="agent",
        agent=people["alice"],
        state="left",
        answered_at=local(9, 0, 2),
        left_at=local(9, 3),
    )
    call.ended_at = local(9, 3)
    call.save()
    f = wallboard_figures(at=NOW)
    assert (f.abandoned, f.calls_handled, f.average_handle_seconds) == (0, 1, 178)


def test_handle_time_ends_when_the_last_agent_leaves_not_with_an_outside_number(people):
    """Alice talked 2 minutes, then cold-transferred Dana to an outside number, who talked
    3 more: the handle time counted all 5 (to the end of the call)."""
    call = scenario_call(created_at=local(9), owner=people["alice"], customer=people["dana"])
    add_leg(
        call,
        role="customer",
        customer=people["dana"],
        state="left",
        answered_at=local(9, 0, 1),
        left_at=local(9, 5),
    )
    add_leg(
        call,
        role="agent",
        agent=people["alice"],
        state="left",
        answered_at=local(9, 0, 2),
        left_at=local(9, 2, 2),
    )
    outside = "14155550190"
    add_leg(
        call,
        role="agent",
        address=outside,
        state="left",
        answered_at=local(9, 2),
        left_at=local(9, 5),
    )
    call.ended_at = local(9, 5)
    call.save()
    f = wallboard_figures(at=NOW)
    assert (f.calls_handled, f.average_handle_seconds) == (1, 120)


def test_an_agent_who_answers_after_the_customer_left_does_not_make_it_handled(people):
    call = scenario_call(
        created_at=local(9), owner=people["alice"], customer=people["dana"], ended_at=local(9, 2)
    )
    add_leg(
        call,
        role="customer",
        customer=people["dana"],
        state="left",
        answered_at=local(9, 0, 1),
        left_at=local(9, 0, 30),
    )
    add_leg(
        call,
        role="agent",
        agent=people["alice"],
        state="left",
        answered_at=local(9, 1),
        left_at=local(9, 2),
    )
    f = wallboard_figures(at=NOW)
    assert (f.abandoned, f.calls_handled) == (1, 0)


def test_a_caller_put_through_to_the_no_agent_message_is_not_abandoned(people):
    """Nobody could take Dana's call: she heard the no-agent message, which then hung up. She
    did not give up waiting; she was told."""
    call = scenario_call(created_at=local(9), customer=people["dana"], ended_at=local(9, 1))
    add_leg(
        call,
        role="customer",
        customer=people["dana"],
        state="left",
        answered_at=local(9, 0, 1),
        left_at=local(9, 1),
    )
    add_leg(call, role="agent", agent=people["alice"], state="busy", left_at=local(9, 0, 20))
    add_leg(
        call,
        role="no_agent",
        state="left",
        answered_at=local(9, 0, 25),
        left_at=local(9, 1),
    )
    f = wallboard_figures(at=NOW)
    assert (f.abandoned, f.calls_handled, f.calls_today) == (0, 0, 1)
