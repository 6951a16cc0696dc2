"""The machine's speed, read as each phase begins (bench/speed.py)."""

from bench.speed import effective_cores, python_speed


def test_the_speed_is_read_alone_and_on_every_core_at_once():
    speed = python_speed()
    assert speed["alone"] > 0 and speed["together"] > 0 and speed["cores"] >= 1


def test_two_cores_at_half_speed_together_are_one_cores_worth():
    assert effective_cores({"alone": 60.0, "together": 120.0, "cores": 2}) == 1.0
    assert effective_cores({"alone": 60.0, "together": 60.0, "cores": 2}) == 2.0
    # Slower alone than together: a neighbour's load between the readings, not more cores.
    assert effective_cores({"alone": 70.0, "together": 60.0, "cores": 2}) == 2.0
