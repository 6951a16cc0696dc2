import pytest
from hypothesis import settings

from tests.order import summary

# The order checks live in a helper module: let pytest explain their failed asserts too.
pytest.register_assert_rewrite("tests.order.replay")


def pytest_terminal_summary(terminalreporter, config) -> None:
    """One line: examples run, over how many stories, and how to draw them again."""
    if not summary.EXAMPLES:
        return
    current = settings()
    seed = config.getoption("hypothesis_seed", default=None)
    how = (
        "derandomized (the same examples every run)"
        if current.derandomize
        else f"seed {seed}"
        if seed is not None
        else "random seed (printed with any failure)"
    )
    terminalreporter.write_line(
        f"order property: {sum(summary.EXAMPLES.values())} examples over"
        f" {len(summary.EXAMPLES)} stories, hypothesis profile {settings._current_profile},"
        f" {how}"
    )
