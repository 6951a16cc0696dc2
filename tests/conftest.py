import pytest

pytest_plugins = ["tests.fixtures_simulator", "tests.browser_support"]


@pytest.fixture(autouse=True)
def _phlo_test_settings(settings):
    """Every test talks to a simulator (never the real Plivo) with throwaway credentials."""
    settings.PHLO_SIMULATOR = True
    settings.PLIVO_AUTH_ID = "MATESTTESTTESTTEST00"
    settings.PLIVO_AUTH_TOKEN = "test-auth-token"
    settings.PHLO_ID = "11111111-2222-4333-8444-555555555555"
    settings.PHLO_MPC_NODE_ID = "66666666-7777-4888-8999-000000000000"
    settings.PUBLIC_BASE_URL = "http://testserver"
    # The default hasher costs ~0.2 s per user; tests create many.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CHANNEL_LAYERS = settings.CHANNEL_LAYERS  # keep whatever REDIS_URL selected
