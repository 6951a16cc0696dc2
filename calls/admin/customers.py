"""Customers in the supervisors' admin, with how many calls they had and when the last was."""

from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from agents.services.customers import customer_changed
from calls.addresses import display_address
from calls.admin.display import calls_list_link, excerpt
from calls.admin.forms import CustomerForm
from calls.admin.queries import count_of
from calls.admin.search import WidenedSearchMixin
from calls.models import Call, Customer
from contactcenter.admin import SupervisorModelAdmin, date_range_filter


class CustomerAdmin(WidenedSearchMixin, SupervisorModelAdmin):
    form = CustomerForm
    list_display = ["name", "phone_display", "notes_excerpt", "calls_link", "last_call_at"]
    search_fields = ["name", "phone", "notes"]
    search_address_fields = ("phone",)
    search_help_text = "Name, phone (any format) or notes."
    list_filter = [date_range_filter("created_at", "date added")]
    fields = ["name", "phone", "notes", "calls_link", "last_call_at", "created_at"]
    readonly_fields = ["calls_link", "last_call_at", "created_at"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change and form.changed_data:
            # Open cards of this customer's calls show the new name, number or notes now.
            customer_changed(customer_id=obj.pk)

    def get_queryset(self, request):
        calls = Call.objects.filter(customer=OuterRef("pk")).order_by()
        return (
            super()
            .get_queryset(request)
            .annotate(
                call_count=count_of(calls, per="customer"),
                last_call=Subquery(calls.order_by("-created_at").values("created_at")[:1]),
            )
        )

    @admin.display(description="Phone", ordering="phone")
    def phone_display(self, obj: Customer) -> str:
        return display_address(obj.phone)

    @admin.display(description="Notes")
    def notes_excerpt(self, obj: Customer) -> str:
        return excerpt(obj.notes) or "—"

    @admin.display(description="Calls", ordering="call_count")
    def calls_link(self, obj: Customer) -> str:
        if not obj.pk:
            return "—"
        return calls_list_link(filter_by="customer", pk=obj.pk, count=getattr(obj, "call_count", 0))

    @admin.display(description="Last call", ordering="last_call")
    def last_call_at(self, obj: Customer) -> str:
        last = getattr(obj, "last_call", None)
        return timezone.localtime(last).strftime("%Y-%m-%d %H:%M") if last else "—"
