"""How many examples the order property ran, for the run's summary line (see conftest)."""

from collections import Counter

EXAMPLES: Counter[str] = Counter()


def count(*, story: str) -> None:
    EXAMPLES[story] += 1
