"""Any order and any duplication of a story's callbacks ends where in-order delivery does.

For every story of the scenario catalogue (tests/scenarios/test_stories.py, recorded into
tests/fixtures/order/ by scripts/record-order-fixtures), each segment of callbacks that
arrived with nothing else writing in between is posted, signed, to the real webhook in an
order hypothesis draws, with redeliveries of any callback so far mixed in. The end state
(each call's status and outcome, each member's state, the agents, the wrap-ups owed, the
callbacks kept) must equal the in-order replay's, every callback kept once, none failed.

The Multiparty Call vocabulary numbers its events: there, every order must give the same
end. PHLO's does not: the outcome may instead be a partner in UNKNOWABLE_WHEN_REORDERED
(who left first cannot be known); all else must agree.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from calls.phlo_client import PhloClient
from tests.order import summary
from tests.order.replay import Segment, Story, fake_send, load_stories, replay
from tests.scenarios.pages import UNKNOWABLE_WHEN_REORDERED

pytestmark = pytest.mark.django_db

# Found by this property and not fixed yet. An end that arrives before older callbacks is
# applied at once; the older ones then retell how the call went (calls.state._retell_the_end:
# it was answered, an inbound call is the agent's who took it, a cut-short cold transfer had
# completed, the owner owes a wrap-up, agents still resting from the end settle again). What
# is left: who owns the call when a hand-over was made on a leg that, by the provider's order,
# had already left or been busy; and what the app did meanwhile (re-offering the call to the
# next agent) cannot be undone by a callback that comes later.
HAND_OVER = (
    "a hand-over made on the state we knew (a successor still on the call, a transfer target"
    " still ringing) that the provider's order later shows had already left or was busy: the"
    " owner, and so who wraps up, depends on the arrival order"
)
REOFFERED = (
    "the app acted on the order it heard: an offer that rang out was offered to the next agent"
    " (or not) before the caller's exit arrived, and a later callback cannot undo that"
)
CUT_OFF_UNTOLD = (
    "PHLO numbers no exits: when the ring's end reaches us after the customer's, the cut-off"
    " reads as the customer hanging up (UNKNOWABLE_WHEN_REORDERED), so the agent who had"
    " already wrapped up her part is not called back to it"
)
KNOWN = {
    "mpc-test_cold_transfer_answered": HAND_OVER,
    "mpc-test_first_agent_hangs_up_before_the_target_answers-cold": HAND_OVER,
    "mpc-test_warm_transfer_resumed_then_the_first_agent_leaves": HAND_OVER,
    "phlo-test_cold_transfer_answered": HAND_OVER,
    "phlo-test_first_agent_hangs_up_before_the_target_answers-cold": HAND_OVER,
    "phlo-test_warm_transfer_resumed_then_the_first_agent_leaves": HAND_OVER,
    "phlo-test_first_agent_hangs_up_before_the_target_answers-warm": HAND_OVER,
    "mpc-test_transferred_back_to_the_first_agent_after_she_wrapped_up_her_part-saved": HAND_OVER,
    (
        "mpc-test_transferred_back_to_the_first_agent_after_she_wrapped_up_her_part"
        "-left_without_a_disposition"
    ): HAND_OVER,
    "phlo-test_transfer_not_taken_after_the_first_agent_wrapped_up_her_part-cold": CUT_OFF_UNTOLD,
    "phlo-test_transfer_not_taken_after_the_first_agent_wrapped_up_her_part-warm": CUT_OFF_UNTOLD,
    "mpc-test_inbound_rung_out_goes_to_the_next_agent": REOFFERED,
    "phlo-test_inbound_rung_out_goes_to_the_next_agent": REOFFERED,
}
STORIES = load_stories()
PASSING = [s for s in STORIES if s.key not in KNOWN]
# At least 1,000 examples in all among the stories that pass (a failing one stops early).
EXAMPLES = int(os.environ.get("ORDER_EXAMPLES", 0)) or max(10, -(-1000 // len(PASSING)))
# A known gap shows only in some orders: enough examples that the same (derandomized) draw
# finds it on every run, so its strict xfail holds until the gap is closed.
KNOWN_EXAMPLES = max(EXAMPLES, 100)


def story_params() -> list:
    return [
        pytest.param(
            s,
            id=s.key,
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN[s.key])] if s.key in KNOWN else [],
        )
        for s in STORIES
    ]


def schedules(*, segment: Segment, earlier: list[dict[str, str]]) -> st.SearchStrategy:
    """The segment's callbacks in any order, with up to 3 redeliveries of any callback so far
    (this segment's or an earlier one's) put anywhere."""
    own = segment.callbacks
    pool = earlier + own

    @st.composite
    def schedule(draw) -> list[dict[str, str]]:
        order = list(draw(st.permutations(own)))
        for _ in range(draw(st.integers(0, 3))):
            twin = draw(st.sampled_from(pool))
            order.insert(draw(st.integers(0, len(order))), twin)
        return order

    return schedule()


def comparable(state: dict, *, vocabulary: str, expected: dict) -> dict:
    """`state`, with PHLO's unknowable outcome set to the expected one."""
    if vocabulary != "phlo":
        return state
    calls = dict(state["calls"])
    for pk, (status, outcome, *rest) in state["calls"].items():
        want = expected["calls"].get(pk, (None, None))[1]
        if outcome != want and outcome in UNKNOWABLE_WHEN_REORDERED.get(want, ()):
            calls[pk] = (status, want, *rest)
    return {**state, "calls": calls}


@pytest.mark.parametrize("story", story_params())
def test_any_order_of_a_storys_callbacks_ends_as_in_order(story: Story, client, monkeypatch):
    monkeypatch.setattr(PhloClient, "send", fake_send)
    earlier: list[dict[str, str]] = []
    cases = []
    for segment in story.segments:
        in_order = replay(client=client, segment=segment, order=segment.callbacks)
        assert not in_order["unsettled"], in_order["unsettled"]
        cases.append((segment, list(earlier), in_order))
        earlier += segment.callbacks

    @settings(
        max_examples=KNOWN_EXAMPLES if story.key in KNOWN else EXAMPLES,
        deadline=None,
        # No shrinking: a story's callbacks are few and read well unshrunk; shrinking a
        # failure costs minutes.
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def any_order(data) -> None:
        summary.count(story=story.key)
        # One segment an example: as many orders tried, at a fraction of the restores.
        segment, before, in_order = data.draw(st.sampled_from(cases), label="segment")
        order = data.draw(schedules(segment=segment, earlier=before), label="callbacks")
        state = replay(client=client, segment=segment, order=order)
        assert not state["unsettled"], state["unsettled"]
        got = comparable(state, vocabulary=story.vocabulary, expected=in_order)
        assert got == in_order

    any_order()
