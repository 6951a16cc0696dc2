"""With a RealClock the simulator runs by itself: a scheduler thread and a delivery thread."""

import threading

import pytest

from calls.simulator import RealClock
from tests.simulator.helpers import AGENT, CUSTOMER, events, phlo_for


def _sim_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("phlo-sim")}


def test_calls_progress_and_callbacks_go_out_on_their_own(make_phlo_sim, callback_sink, settings):
    sim = make_phlo_sim(callback_url=callback_sink.url, clock=RealClock(), answer_delay=0.05)
    assert {"phlo-sim-events", "phlo-sim-out", "phlo-sim-http"} <= _sim_threads()
    phlo = phlo_for(sim, settings)
    phlo.call()
    callback_sink.wait_for(2)
    phlo.act(CUSTOMER, "hangup")  # ends the call: the agent is taken out too
    delivered = callback_sink.wait_for(4)
    assert sorted(events(r.params for r in delivered)) == sorted(
        [
            ("ConferenceEnter", AGENT, "in-progress"),
            ("ConferenceEnter", CUSTOMER, "in-progress"),
            ("ConferenceExit", CUSTOMER, "completed"),
            ("ConferenceExit", AGENT, "completed"),
        ]
    )
    assert sim.snapshot()["conferences"][0]["status"] == "completed"
    with pytest.raises(RuntimeError, match="ManualClock"):
        sim.advance(1)
    sim.stop()
    assert _sim_threads() == set()


def test_a_slow_webhook_does_not_hold_up_the_calls(make_phlo_sim, callback_sink, settings):
    sim = make_phlo_sim(callback_url=callback_sink.url, clock=RealClock(), answer_delay=0.05)
    callback_sink.block()  # the webhook hangs on the first callback
    phlo = phlo_for(sim, settings)
    phlo.call()
    # Calls still progress and the API still answers while the delivery thread is stuck.
    done = threading.Event()
    for _ in range(100):
        member = sim.member(CUSTOMER)
        if member and member["state"] == "talking":
            done.set()
            break
        done.wait(0.01)
    assert done.is_set()
    phlo.act(CUSTOMER, "hold")
    callback_sink.release()
    callback_sink.wait_for(2)
