import pytest
from django.test.testcases import QuietWSGIRequestHandler

# The page checks live in a helper module: let pytest explain their failed asserts too.
pytest.register_assert_rewrite("tests.scenarios.pages")


@pytest.fixture(autouse=True)
def _live_server_answers_at_once(monkeypatch):
    """The test server writes a response's headers and body separately; with Nagle's
    algorithm on, the body then waits for the client's delayed ACK (40 ms on Linux), which
    every callback of every story would pay."""
    monkeypatch.setattr(QuietWSGIRequestHandler, "disable_nagle_algorithm", True)
