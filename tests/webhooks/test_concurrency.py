"""Two workers receiving the same callback at the same moment apply it once (PostgreSQL:
real row locks and a real unique-index wait; SQLite serialises writers anyway)."""

import threading

import pytest
from django.db import connection, connections

from calls.models import CallbackEvent, Member
from calls.services.callbacks import callback_receive
from calls.webhooks.bodies import flatten_params
from tests.webhooks.helpers import build_call, callbacks

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks: run with DATABASE_URL=postgres://...")


def test_simultaneous_deliveries_apply_once():
    legs = build_call("phlo_outbound_call")
    params = flatten_params(callbacks("phlo_outbound_call")["customer_enters"])
    workers = 4
    start = threading.Barrier(workers)
    results, errors = [], []

    def deliver():
        try:
            start.wait(timeout=5)
            results.append(callback_receive(params=params, stored_params=params, content_type=""))
        except Exception as exc:  # reported below; a thread cannot fail the test itself
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert not errors, errors
    assert sorted(r.duplicate for r in results) == [False] + [True] * (workers - 1)
    event = CallbackEvent.objects.get()
    assert (event.outcome, event.deliveries) == ("applied", workers)
    legs.refresh()
    # On the call before any agent: the customer waits (wait music), once.
    assert legs.customer_leg.state == Member.State.WAITING
    assert legs.call.version == 1
