"""A participant's rights on a call end with their part (issue 18, item 1), through the
desktop's HTTP views: Bob, who left Alice's call after taking a warm transfer, and Carol, who
only rejected one, can neither overwrite its notes, nor record its wrap-up, nor dismiss it,
nor name its customer, live or ended. Alice (while on it, then while she owes its wrap-up)
and supervisors can. The rules: agents/services/wrap_up.py."""

from __future__ import annotations

import pytest

from calls.models import Call, WrapUp
from calls.services import buttons
from tests.security.world import build_world
from tests.services.helpers import settle
from tests.sockets import login

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
KEPT_NOTES = "Alice's notes"


def _world(phlo_sim, alice, bob, carol, dana, *, ended: bool):
    world = build_world(phlo_sim, alice=alice, bob=bob, carol=carol, dana=dana, ended=ended)
    Call.objects.filter(pk=world.call.pk).update(wrap_up_notes=KEPT_NOTES)
    return world


ATTEMPTS = {
    "notes": {"notes": "overwritten"},
    "wrap-up": {"disposition": "Wrong number", "notes": "overwritten"},
    "dismiss": {},
    "customer": {"name": "Mallory", "notes": "overwritten"},
}


def _post(user, call_id: int, what: str, body: dict):
    return login(user).post(f"/desktop/calls/{call_id}/{what}/", body, **HTMX)


@pytest.mark.parametrize("ended", [False, True], ids=["live", "ended"])
@pytest.mark.parametrize("who", ["bob", "carol", "dave"], ids=["left", "rejected", "other"])
def test_an_agent_whose_part_ended_or_never_began_changes_nothing(
    phlo_sim, alice, bob, carol, dave, dana, ended, who
):
    world = _world(phlo_sim, alice, bob, carol, dana, ended=ended)
    user = {"bob": bob, "carol": carol, "dave": dave}[who].user
    before = Call.objects.values("wrap_up_notes", "disposition", "customer_id").get(
        pk=world.call.pk
    )
    owed = list(WrapUp.objects.values("agent_id", "disposition", "done_at"))
    for what, body in ATTEMPTS.items():
        response = _post(user, world.call.pk, what, body)
        assert response.status_code == 403, (what, response.status_code, response.content)
        # The refusal says why, and shows nothing of the call.
        assert f'id="call-{world.call.pk}"' not in response.content.decode()
    after = Call.objects.values("wrap_up_notes", "disposition", "customer_id").get(pk=world.call.pk)
    assert after == before
    assert list(WrapUp.objects.values("agent_id", "disposition", "done_at")) == owed


def test_the_calls_agent_takes_notes_live_and_wraps_up_after(phlo_sim, alice, bob, carol, dana):
    world = _world(phlo_sim, alice, bob, carol, dana, ended=False)
    call_id = world.call.pk
    assert _post(alice.user, call_id, "notes", {"notes": "Live notes"}).status_code == 200
    live = _post(alice.user, call_id, "wrap-up", {"disposition": "Resolved"})
    assert live.status_code == 409  # hers, but not yet
    phlo_sim.phones.hangup(dana.phone)
    settle(phlo_sim, world.call, 0.1)
    assert _post(alice.user, call_id, "notes", {"notes": "After"}).status_code == 200
    done = _post(alice.user, call_id, "wrap-up", {"disposition": "Resolved", "notes": "Done"})
    assert done.status_code == 200
    call = Call.objects.get(pk=call_id)
    assert (call.disposition, call.wrap_up_notes) == ("Resolved", "Done")
    # Wrapped up, her part is over too: no more notes.
    assert _post(alice.user, call_id, "notes", {"notes": "Later"}).status_code == 403


@pytest.mark.parametrize("ended", [False, True], ids=["live", "ended"])
def test_a_supervisor_may_write_on_any_call(phlo_sim, alice, bob, carol, dana, sam, ended):
    world = _world(phlo_sim, alice, bob, carol, dana, ended=ended)
    assert _post(sam, world.call.pk, "notes", {"notes": "Coached"}).status_code == 200
    assert Call.objects.get(pk=world.call.pk).wrap_up_notes == "Coached"
    wrap_up = _post(sam, world.call.pk, "wrap-up", {"disposition": "Escalated"})
    assert wrap_up.status_code == (200 if ended else 409)


def test_a_consulted_agent_owes_a_wrap_up_only_where_the_rules_say_so(
    phlo_sim, alice, bob, carol, dana, settings
):
    # AGENT_WRAP_UP_AFTER_CONSULT=1: Bob, who talked, owes one for his part; Carol does not.
    settings.AGENT_WRAP_UP_AFTER_CONSULT = True
    world = _world(phlo_sim, alice, bob, carol, dana, ended=True)
    bobs = _post(bob.user, world.call.pk, "wrap-up", {"disposition": "Resolved"})
    assert bobs.status_code == 200
    assert WrapUp.objects.get(agent=bob).disposition == "Resolved"
    assert Call.objects.get(pk=world.call.pk).disposition == ""  # the call's is Alice's
    carols = _post(carol.user, world.call.pk, "wrap-up", {"disposition": "Resolved"})
    assert carols.status_code == 403


def _handed_over_to_bob(phlo_sim, alice, bob, dana) -> Call:
    """Alice consults Bob, then leaves Dana with him: the call goes on, Bob owns it."""
    call = settle(phlo_sim, buttons.call_start(actor=alice.user, to=dana.phone))
    buttons.transfer_warm_start(actor=alice.user, call_id=call.pk, to=bob.endpoint)
    settle(phlo_sim, call)
    phlo_sim.phones.hangup(alice.endpoint)
    settle(phlo_sim, call, 0.1)
    call.refresh_from_db()
    assert call.is_live and call.owner == bob
    Call.objects.filter(pk=call.pk).update(wrap_up_notes=KEPT_NOTES)
    return call


def test_an_agent_who_handed_the_call_over_wraps_up_her_part_while_it_goes_on(
    phlo_sim, alice, bob, dave, dana
):
    call = _handed_over_to_bob(phlo_sim, alice, bob, dana)
    # Dave was never on it: still nothing.
    for what, body in ATTEMPTS.items():
        assert _post(dave.user, call.pk, what, body).status_code == 403, what
    # Bob is on it: notes yes, his wrap-up at the end.
    assert _post(bob.user, call.pk, "wrap-up", {"disposition": "Resolved"}).status_code == 409
    # Alice's part is over: she wraps it up now, and the call's disposition stays Bob's to give.
    assert _post(alice.user, call.pk, "notes", {"notes": "Handed to Bob"}).status_code == 200
    done = _post(alice.user, call.pk, "wrap-up", {"disposition": "Escalated", "notes": "Mine"})
    assert done.status_code == 200
    call.refresh_from_db()
    assert call.is_live and (call.disposition, call.wrap_up_notes) == ("", "Mine")
    assert WrapUp.objects.get(call=call, agent=alice).disposition == "Escalated"
    assert not WrapUp.objects.filter(call=call, agent=bob).exists()
    # Wrapped up, her part is over for good: no more notes, no second wrap-up.
    assert _post(alice.user, call.pk, "notes", {"notes": "Later"}).status_code == 403
    again = _post(alice.user, call.pk, "wrap-up", {"disposition": "Resolved"})
    assert again.status_code == 403


@pytest.mark.parametrize("changed", [False, True], ids=["untouched", "changed"])
def test_notes_sent_back_unchanged_leave_newer_ones_alone(phlo_sim, alice, bob, dana, changed):
    """Alice's card started from KEPT_NOTES; Bob, still on the call, has saved newer ones
    since. Her wrap-up writes her notes only if she changed them."""
    call = _handed_over_to_bob(phlo_sim, alice, bob, dana)
    assert _post(bob.user, call.pk, "notes", {"notes": "Bob's notes"}).status_code == 200
    hers = f"{KEPT_NOTES}, and more" if changed else KEPT_NOTES
    body = {"disposition": "Escalated", "notes": hers, "notes_seen": KEPT_NOTES}
    assert _post(alice.user, call.pk, "wrap-up", body).status_code == 200
    expected = hers if changed else "Bob's notes"
    assert Call.objects.get(pk=call.pk).wrap_up_notes == expected


@pytest.mark.parametrize("ended", [False, True], ids=["live", "ended"])
def test_saved_notes_redraw_the_call_for_everyone_who_was_on_it(
    phlo_sim, alice, bob, carol, dana, monkeypatch, ended
):
    """Notes are the call's: once saved they are pushed to every page of the call (a newer
    version, so no page keeps an older copy), which is what lets a colleague write on top
    of them. Sent again unchanged (a blur after the save) they change nothing."""
    from calls.events import CallChanged, publishing

    world = _world(phlo_sim, alice, bob, carol, dana, ended=ended)
    pushed = []
    monkeypatch.setattr(publishing, "publish", pushed.append)
    version = Call.objects.get(pk=world.call.pk).version

    assert _post(alice.user, world.call.pk, "notes", {"notes": "Refund sent"}).status_code == 200
    call = Call.objects.get(pk=world.call.pk)
    assert (call.wrap_up_notes, call.version) == ("Refund sent", version + 1)
    [event] = [e for e in pushed if isinstance(e, CallChanged)]
    assert event.version == version + 1 and not event.legs_came_or_went
    assert event.agent_ids == {alice.pk, bob.pk, carol.pk}

    pushed.clear()
    assert _post(alice.user, world.call.pk, "notes", {"notes": "Refund sent "}).status_code == 200
    assert pushed == [] and Call.objects.get(pk=world.call.pk).version == version + 1
