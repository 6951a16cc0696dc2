"""Subqueries the calls admin lists annotate and filter with, so each list is one query."""

from django.db.models import Count, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from calls.models import Action


def count_of(rows: QuerySet, *, per: str) -> Coalesce:
    """How many of `rows` belong to the outer row (0, not NULL, when none).

    `rows` is filtered on an OuterRef through the field `per`, e.g. `call=OuterRef("pk")`.
    """
    counted = rows.order_by().values(per).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), Value(0))


def succeeded_actions(*, kind: str) -> QuerySet:
    """The outer call's actions of `kind` that PHLO accepted: a transfer that happened."""
    succeeded = Action.objects.filter(call=OuterRef("pk"), outcome=Action.Outcome.SUCCEEDED)
    return succeeded.order_by().filter(kind=kind)
