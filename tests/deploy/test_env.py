"""Settings read from the environment say which variable is wrong and why."""

from __future__ import annotations

import pytest

from contactcenter.env import env_bool, env_float, env_int


def test_a_whole_number_is_read_and_an_empty_value_keeps_the_default(monkeypatch):
    monkeypatch.setenv("CC_TEST_INT", " 42 ")
    assert env_int("CC_TEST_INT", 7) == 42
    monkeypatch.setenv("CC_TEST_INT", "")
    assert env_int("CC_TEST_INT", 7) == 7
    monkeypatch.delenv("CC_TEST_INT")
    assert env_int("CC_TEST_INT", 7) == 7


@pytest.mark.parametrize("raw", ["2.5", "ten", "1e3"])
def test_a_count_that_is_not_a_whole_number_is_refused_by_name(monkeypatch, raw):
    monkeypatch.setenv("CC_TEST_INT", raw)
    with pytest.raises(ValueError, match=f"CC_TEST_INT must be a whole number; got '{raw}'"):
        env_int("CC_TEST_INT", 7)


def test_numbers_and_switches_name_the_variable_when_refused(monkeypatch):
    monkeypatch.setenv("CC_TEST_NUMBER", "soon")
    with pytest.raises(ValueError, match="CC_TEST_NUMBER must be a number"):
        env_float("CC_TEST_NUMBER", 1.0)
    monkeypatch.setenv("CC_TEST_SWITCH", "maybe")
    with pytest.raises(ValueError, match="CC_TEST_SWITCH must be one of"):
        env_bool("CC_TEST_SWITCH", False)
