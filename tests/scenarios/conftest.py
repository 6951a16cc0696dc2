import os
from pathlib import Path

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


@pytest.fixture(autouse=True)
def _record_for_the_order_property(request, monkeypatch):
    """With ORDER_RECORD_DIR set, record each story run without chaos (tests/order/)."""
    directory = os.environ.get("ORDER_RECORD_DIR")
    params = getattr(getattr(request.node, "callspec", None), "params", {})
    vocabulary = params.get("sim", "")
    # A story told several ways (parametrized) is recorded once for each.
    variant = [str(v).replace(" ", "_") for k, v in sorted(params.items()) if k != "sim"]
    story = "-".join([request.node.originalname, *variant])
    if not directory or vocabulary not in ("phlo", "mpc"):
        yield
        return
    from tests.scenarios.recording import Recorder

    recorder = Recorder()
    recorder.install(monkeypatch)
    yield
    recorder.write(directory=Path(directory), story=story, vocabulary=vocabulary)
