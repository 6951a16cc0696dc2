"""Replay a recorded story segment: restore the database it started from, post its callbacks
through the real webhook, read the end state. Each replay runs in a savepoint that is rolled
back, so the next example starts from the same rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core import serializers
from django.core.management.color import no_style
from django.db import connection, transaction

from calls.models import Call, CallbackEvent, Member
from calls.phlo_client import PhloClient, PhloRequest, PhloResult
from tests.scenarios.recording import MODELS
from tests.webhooks.helpers import post_callback

UNSETTLED = (CallbackEvent.Outcome.FAILED, CallbackEvent.Outcome.RECEIVED)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "order"


@dataclass(frozen=True)
class Segment:
    before: list[dict[str, Any]]
    callbacks: list[dict[str, str]]


@dataclass(frozen=True)
class Story:
    name: str
    vocabulary: str
    segments: list[Segment]

    @property
    def key(self) -> str:
        return f"{self.vocabulary}-{self.name}"

    @property
    def callbacks(self) -> int:
        return sum(len(s.callbacks) for s in self.segments)


def load_stories() -> list[Story]:
    stories = []
    for path in sorted(FIXTURES.glob("*.json")):
        data = json.loads(path.read_text())
        segments = [Segment(s["before"], s["callbacks"]) for s in data["segments"]]
        stories.append(Story(data["story"], data["vocabulary"], segments))
    return [s for s in stories if s.callbacks]


def fake_send(self: PhloClient, request: PhloRequest) -> PhloResult:
    """The PHLO runner accepts every request: its answers are in the recorded callbacks."""
    return PhloResult(api_id="replay", status=200, request=request, body={"api_id": "replay"})


class Rollback(Exception):
    pass


def restore(rows: list[dict[str, Any]]) -> None:
    """The recorded rows, and only those (foreign keys are checked at commit, never here)."""
    models = [apps.get_model(label) for label in MODELS]
    for model in reversed(models):
        model._base_manager.all()._raw_delete(connection.alias)
    for obj in serializers.deserialize("python", rows):
        obj.save()
    # PostgreSQL's sequences do not follow explicit keys: new callbacks must not collide.
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)


def replay(*, client, segment: Segment, order: list[dict[str, str]]) -> dict[str, Any]:
    """The end state after posting `order` on the segment's starting rows (then undone)."""
    block = transaction.atomic()
    # Like Django's TestCase blocks: the callbacks' durable transactions may nest in it.
    block._from_testcase = True
    result: dict[str, Any] = {}
    try:
        with block:
            restore(segment.before)
            for params in order:
                response = post_callback(client, params)
                assert response.status_code == 200, response.content
            result = end_state()
            raise Rollback
    except Rollback:
        pass
    return result


def end_state() -> dict[str, Any]:
    agent_model = apps.get_model("agents.Agent")
    wrap_up_model = apps.get_model("calls.WrapUp")
    return {
        "calls": {
            c.pk: (c.status, c.outcome, c.owner_id, c.transfer_kind, c.answered_at is not None)
            for c in Call.objects.all()
        },
        # Not how each leg ended: that records what the app did when the exit arrived (taken
        # out, or its own exit), kept on purpose (tests/webhooks/test_sequence.py).
        "members": {
            m.pk: (m.call_id, m.address, m.role, m.state, m.answered_at is not None)
            for m in Member.objects.all()
        },
        "agents": {a.pk: (a.status, a.status_reason) for a in agent_model.objects.all()},
        "wrap_ups": sorted(
            (w.call_id, w.agent_id, w.done_at is not None) for w in wrap_up_model.objects.all()
        ),
        # Which was applied and which ignored depends on the order; that each is kept once
        # and none failed or waits to be applied does not.
        "callbacks": sorted(CallbackEvent.objects.values_list("dedupe_key", flat=True)),
        "unsettled": sorted(
            CallbackEvent.objects.filter(outcome__in=UNSETTLED).values_list("event", "outcome")
        ),
    }
