"""A page's resync is rate-limited per socket (issue 18, item 5): 300 `resync` messages on
one socket made 300 full-state renders. Now a socket renders its full state at most once a
second (agents.live.ResyncThrottleMixin): the resyncs that come sooner are answered by one
render when the second is over, so the page still ends up with the whole, current state."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from agents.consumers import DesktopConsumer
from agents.models import Agent
from calls.wallboard.consumers import WallboardConsumer
from tests.sockets import DESKTOP, TIMEOUT, WALLBOARD, open_live, session_of

pytestmark = pytest.mark.django_db(transaction=True)

STORM = 300
FULL_STATE = 'data-full-state="true"'


def is_heartbeat(text: str) -> bool:
    """The answer to a ping alone (a full state carries a heartbeat element too)."""
    return text.startswith('<div id="heartbeat"') and FULL_STATE not in text


@pytest.fixture
def renders(monkeypatch) -> list[str]:
    """Every full-state render either consumer does, by page."""
    done: list[str] = []
    for page, consumer in (("desktop", DesktopConsumer), ("wallboard", WallboardConsumer)):
        original = consumer.full_state

        def counting(self, _original=original, _page=page):
            done.append(_page)
            return _original(self)

        monkeypatch.setattr(consumer, "full_state", counting)
    return done


async def _until(socket, predicate) -> str:
    """The next message that `predicate` accepts, skipping others."""
    while True:
        text = await socket.receive_from(timeout=TIMEOUT)
        if predicate(text):
            return text


@pytest.mark.parametrize(
    ("path", "page", "who"), [(DESKTOP, "desktop", "alice"), (WALLBOARD, "wallboard", "sam")]
)
async def test_a_storm_of_resyncs_costs_two_renders_and_ends_with_the_current_state(
    path, page, who, alice, sam, renders, close_db_connections
):
    user = {"alice": alice.user, "sam": sam}[who]
    agent = alice
    socket = await open_live(path, await sync_to_async(session_of)(user))
    assert renders == [page]  # the connect's own

    for number in range(STORM):
        if number == STORM // 2:
            # A change no push announces: only a full render made after it shows it.
            await Agent.objects.filter(pk=agent.pk).aupdate(status_reason="Coaching")
            await Agent.objects.filter(pk=agent.pk).aupdate(status=Agent.Status.AWAY)
        await socket.send_json_to({"type": "resync"})
    await socket.send_json_to({"type": "ping"})
    # The heartbeat answers once every resync was read; the ones that came within the
    # second are answered by one render after it, with the state as it is now.
    heartbeat = current = False
    while not (heartbeat and current):
        text = await socket.receive_from(timeout=TIMEOUT)
        heartbeat = heartbeat or is_heartbeat(text)
        current = current or (FULL_STATE in text and "Coaching" in text)
    # Two renders (three on a machine so slow that the storm outlasted the second), not 301.
    assert len(renders) <= 3, len(renders)
    assert set(renders) == {page}
    await socket.disconnect(timeout=0.2)


async def test_a_resync_after_the_interval_is_rendered_at_once(
    alice, renders, monkeypatch, close_db_connections
):
    monkeypatch.setattr(DesktopConsumer, "RESYNC_INTERVAL", 0.0)
    socket = await open_live(DESKTOP, await sync_to_async(session_of)(alice.user))
    for _ in range(3):
        await socket.send_json_to({"type": "resync"})
        await _until(socket, lambda text: FULL_STATE in text)
    assert renders == ["desktop"] * 4
    await socket.disconnect(timeout=0.2)
