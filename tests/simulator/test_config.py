"""Configuration: validation, secrets kept out of reprs, and building from Django settings."""

import pytest
import requests

from calls.simulator import ChaosConfig, ConfigError, ManualClock, Simulator, SimulatorConfig

BASE = {
    "auth_id": "MATESTTESTTESTTEST00",
    "auth_token": "very-secret-token",
    "phlo_id": "p",
    "node_id": "n",
    "callback_url": "http://127.0.0.1:9/webhooks/plivo/",
}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"auth_token": ""}, "auth_token must be set"),
        ({"vocabulary": "xml"}, "vocabulary must be one of phlo, mpc"),
        ({"answer_delay": -1}, "answer_delay must be >= 0"),
        ({"max_retries": -1}, "max_retries must be >= 0"),
        ({"chaos": {"duplicate": 1.5}}, "chaos duplicate must be between 0 and 1"),
    ],
)
def test_bad_config_is_refused_with_a_reason(override, message):
    with pytest.raises(ConfigError, match=message):
        SimulatorConfig(**(BASE | override))


def test_repr_never_shows_the_tokens():
    config = SimulatorConfig(**BASE, routing_token="routing-secret")
    assert "very-secret-token" not in repr(config)
    assert "routing-secret" not in str(config)


def test_chaos_parse():
    chaos = ChaosConfig.parse("seed=7, duplicate=0.25,reorder_window=3,hold_seconds=0.5")
    assert chaos == ChaosConfig(seed=7, duplicate=0.25, reorder_window=3, hold_seconds=0.5)
    assert chaos.enabled
    assert not ChaosConfig().enabled
    with pytest.raises(ConfigError, match="key=value"):
        ChaosConfig.parse("loud")
    with pytest.raises(ConfigError, match="must be a number"):
        ChaosConfig.parse("seed=x")
    assert SimulatorConfig(**BASE, chaos="duplicate=0.5").chaos == ChaosConfig(duplicate=0.5)


def test_from_settings_uses_the_settings_and_overrides(settings):
    settings.PUBLIC_BASE_URL = "https://cc.example.com/"
    settings.ROUTING_API_TOKEN = "rt"
    sim = Simulator.from_settings(clock=ManualClock(), answer_delay=1.5, vocabulary=None)
    config = sim.config
    assert (config.auth_id, config.auth_token) == (
        settings.PLIVO_AUTH_ID,
        settings.PLIVO_AUTH_TOKEN,
    )
    assert (config.phlo_id, config.node_id) == (settings.PHLO_ID, settings.PHLO_MPC_NODE_ID)
    assert config.callback_url == "https://cc.example.com/webhooks/plivo/"
    assert config.routing_url == "https://cc.example.com/routing/inbound/"
    assert config.routing_token == "rt"
    assert (config.answer_delay, config.vocabulary) == (1.5, "phlo")


def test_lifecycle(settings):
    sim = Simulator(config=SimulatorConfig(**BASE), clock=ManualClock())
    with pytest.raises(RuntimeError, match="not running"):
        _ = sim.base_url
    with sim:
        assert sim.running
        assert requests.get(sim.phones_url, timeout=5).status_code == 200
        with pytest.raises(RuntimeError, match="already running"):
            sim.start()
        with pytest.raises(ValueError):
            sim.advance(-1)
    assert not sim.running
    sim.stop()  # idempotent
