"""The call list's sidebar filters: live or ended, agent, customer, transfer and
disposition."""

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q, QuerySet

from agents.models import Agent
from agents.services.wrap_up import dispositions
from calls.admin.queries import completed_transfers, transfer_attempts
from calls.models import Call, Customer, WrapUp
from contactcenter.admin import NONE_VALUE, DistinctValuesFilter, unknown_filter_value


def _filtered(spec: admin.SimpleListFilter, queryset: QuerySet, conditions: dict) -> QuerySet:
    """`queryset` under the condition the filter's value names; an unknown value is said
    (`changelist_filter_errors`) and filters nothing."""
    value = spec.value()
    if not value:
        return queryset
    if value not in conditions:
        spec.errors = [unknown_filter_value(value=value, title=spec.title)]
        return queryset
    return queryset.filter(conditions[value])


class LiveFilter(admin.SimpleListFilter):
    """Live or ended. Not the stored status: "failed" holds callers who hung up while
    waiting, "completed" busy and unanswered attempts; the outcome filter says how it ended."""

    title = "live or ended"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("ended", "Ended")]

    def queryset(self, request, queryset):
        live = Q(status__in=Call.LIVE_STATUSES)
        conditions = {"live": live, "ended": ~live}
        return _filtered(self, queryset, conditions)


class TransferFilter(admin.SimpleListFilter):
    """Calls that had a transfer: a completed one, as the wallboard counts them (an aborted
    or failed attempt is not a transfer). The call's own transfer fields only describe one
    in progress."""

    title = "transfer"
    parameter_name = "transfer"

    def lookups(self, request, model_admin):
        return [
            ("warm", "Had a warm transfer"),
            ("cold", "Had a cold transfer"),
            ("any", "Had any transfer"),
            ("none", "No transfer"),
            ("in_progress", "Transfer in progress now"),
            ("not_completed", "Had an aborted or failed transfer"),
        ]

    def queryset(self, request, queryset):
        warm = Exists(completed_transfers(kind=Call.TransferKind.WARM))
        cold = Exists(completed_transfers(kind=Call.TransferKind.COLD))
        conditions = {
            "warm": warm,
            "cold": cold,
            "any": warm | cold,
            "none": ~warm & ~cold,
            "in_progress": ~Q(transfer_kind=""),
            "not_completed": Exists(transfer_attempts()),
        }
        return _filtered(self, queryset, conditions)


class DispositionFilter(DistinctValuesFilter):
    """The call's disposition or any agent's own for their part (a WrapUp's): a call handed
    over is found by the disposition of either agent."""

    title = "disposition"
    parameter_name = "disposition"
    field_name = "disposition"
    none_label = "No disposition"

    def extra_values(self) -> list[str]:
        recorded = WrapUp.objects.exclude(disposition="").order_by().values_list("disposition")
        return [*dispositions(), *(value for (value,) in recorded.distinct())]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        parts = WrapUp.objects.filter(call=OuterRef("pk")).exclude(disposition="")
        if value == NONE_VALUE:
            return queryset.filter(Q(disposition="") & ~Exists(parts))
        return queryset.filter(Q(disposition=value) | Exists(parts.filter(disposition=value)))


class _CallPartyFilter(admin.SimpleListFilter):
    """Calls by the object in their foreign key `parameter_name`, or calls without one.
    Only objects that have calls are offered (one query)."""

    none_label = ""

    def parties(self) -> QuerySet:
        raise NotImplementedError

    def lookups(self, request, model_admin):
        return [*((str(p.pk), str(p)) for p in self.parties()), (NONE_VALUE, self.none_label)]

    def queryset(self, request, queryset):
        value = self.value()
        if value == NONE_VALUE:
            return queryset.filter(**{f"{self.parameter_name}__isnull": True})
        if value and value.isdigit():
            return queryset.filter(**{f"{self.parameter_name}_id": int(value)})
        if value:
            self.errors = [unknown_filter_value(value=value, title=self.title)]
        return queryset


class OwnerFilter(_CallPartyFilter):
    """Calls an agent owns or had a part in (a call handed on is also the first agent's:
    their part's wrap-up says so); labels need the user, joined here."""

    title = "agent"
    parameter_name = "owner"
    none_label = "No agent"

    def parties(self) -> QuerySet:
        owned = Call.objects.filter(owner=OuterRef("pk"))
        parts = WrapUp.objects.filter(agent=OuterRef("pk"))
        return (
            Agent.objects.filter(Exists(owned) | Exists(parts))
            .select_related("user")
            .order_by("user__username")
        )

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            part = WrapUp.objects.filter(call=OuterRef("pk"), agent_id=int(value))
            return queryset.filter(Q(owner_id=int(value)) | Exists(part))
        return super().queryset(request, queryset)


class CustomerFilter(_CallPartyFilter):
    """The customers who have calls."""

    title = "customer"
    parameter_name = "customer"
    none_label = "No customer"

    def parties(self) -> QuerySet:
        return Customer.objects.filter(Exists(Call.objects.filter(customer=OuterRef("pk"))))
