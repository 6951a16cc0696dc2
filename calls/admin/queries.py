"""Subqueries the calls admin lists annotate and filter with, so each list is one query."""

from django.db.models import Count, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from calls.models import CallTransfer


def count_of(rows: QuerySet, *, per: str) -> Coalesce:
    """How many of `rows` belong to the outer row (0, not NULL, when none).

    `rows` is filtered on an OuterRef through the field `per`, e.g. `call=OuterRef("pk")`.
    """
    counted = rows.order_by().values(per).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), Value(0))


def completed_transfers(*, kind: str) -> QuerySet:
    """The outer call's completed transfers of `kind`: what the wallboard counts. A request
    PHLO accepted may still have been aborted or failed."""
    completed = CallTransfer.objects.filter(
        call=OuterRef("pk"), outcome=CallTransfer.Outcome.COMPLETED
    )
    return completed.order_by().filter(kind=kind)


def transfer_attempts() -> QuerySet:
    """The outer call's transfers that were aborted or failed."""
    ended = (CallTransfer.Outcome.ABORTED, CallTransfer.Outcome.FAILED)
    return CallTransfer.objects.filter(call=OuterRef("pk"), outcome__in=ended).order_by()
