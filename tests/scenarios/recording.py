"""Record the callbacks each story's simulator sends, for the order property (tests/order/).

With ORDER_RECORD_DIR set, every story run without chaos writes one JSON file there: its
callbacks cut into segments, each with the database as it was before its first callback.
A segment ends where something other than a callback wrote (a button, a routing request):
within a segment only the provider's callbacks moved the state, so any order and any
duplication of them must end where the in-order delivery did. `scripts/record-order-fixtures`
runs it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core import serializers

from calls.simulator.delivery import CallbackDelivery

# Everything a callback reads or writes, and what those rows point at.
MODELS = (
    "auth.User",
    "agents.Agent",
    "calls.Customer",
    "calls.Call",
    "calls.Member",
    "calls.Action",
    "calls.CallTransfer",
    "calls.WrapUp",
    "calls.CallbackEvent",
)


def snapshot() -> list[dict[str, Any]]:
    """Every row of MODELS, as Django's serializer writes them."""
    rows: list[dict[str, Any]] = []
    for label in MODELS:
        model = apps.get_model(label)
        rows += json.loads(serializers.serialize("json", model.objects.order_by("pk")))
    return rows


class Recorder:
    """Wraps the simulator's delivery: the database before and after each delivered callback."""

    def __init__(self) -> None:
        self.steps: list[tuple[dict[str, str], list, list]] = []

    def install(self, monkeypatch) -> None:
        original = CallbackDelivery._attempt
        recorder = self

        def attempt(delivery: CallbackDelivery, item, number: int) -> None:
            before = snapshot()
            original(delivery, item, number)
            if delivery.attempts and delivery.attempts[-1].ok:
                recorder.steps.append((dict(item.params), before, snapshot()))

        monkeypatch.setattr(CallbackDelivery, "_attempt", attempt)

    def segments(self) -> list[dict[str, Any]]:
        """Runs of callbacks with no other write between them."""
        segments: list[dict[str, Any]] = []
        previous_after = None
        for params, before, after in self.steps:
            if previous_after is None or before != previous_after:
                segments.append({"before": before, "callbacks": []})
            segments[-1]["callbacks"].append(params)
            previous_after = after
        return segments

    def write(self, *, directory: Path, story: str, vocabulary: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        body = {"story": story, "vocabulary": vocabulary, "segments": self.segments()}
        (directory / f"{vocabulary}-{story}.json").write_text(json.dumps(body, sort_keys=True))
