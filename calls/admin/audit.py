"""The calls' audit trail: every action sent to PHLO and every callback received, read-only
for everyone, with secrets redacted."""

from django.contrib import admin

from calls.addresses import display_address
from calls.admin.display import call_link, excerpt, person, redacted_table
from calls.admin.redaction import redact
from calls.admin.search import WidenedSearchMixin
from calls.models import Action, CallbackEvent
from contactcenter.admin import ReadOnlyModelAdmin, date_range_filter, distinct_values_filter


class AuditTrailAdmin(WidenedSearchMixin, ReadOnlyModelAdmin):
    """What actions and callbacks share: a link to their call, found by "#42", and an error."""

    search_call_field = "call_id"

    @admin.display(description="Call", ordering="call_id")
    def call_display(self, obj: Action | CallbackEvent) -> str:
        return call_link(obj.call_id)

    @admin.display(description="Error")
    def error_excerpt(self, obj: Action | CallbackEvent) -> str:
        return excerpt(redact(obj.error)) or "—"

    @admin.display(description="Error")
    def error_display(self, obj: Action | CallbackEvent) -> str:
        return redact(obj.error) or "—"


class ActionAdmin(AuditTrailAdmin):
    list_display = [
        "created_at",
        "call_display",
        "kind",
        "actor_display",
        "target_display",
        "outcome",
        "http_status",
        "error_excerpt",
    ]
    list_filter = [
        "outcome",
        "kind",
        distinct_values_filter("error_kind", "error kind", none_label="No error"),
        date_range_filter("created_at", "date"),
    ]
    list_select_related = ["actor"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-pk"]  # newest first, unlike the timeline
    search_fields = ["target", "error", "error_kind", "api_id", "actor__username"]
    search_address_fields = ("target",)
    search_help_text = "Call number (#42), target address (any format), error, api_id or actor."
    fields = [
        "created_at",
        "finished_at",
        "call_display",
        "member",
        "actor_display",
        "kind",
        "target_display",
        "outcome",
        "http_status",
        "api_id",
        "error_kind",
        "error_display",
        "request_display",
    ]
    readonly_fields = fields

    @admin.display(description="Actor", ordering="actor__username")
    def actor_display(self, obj: Action) -> str:
        return person(obj.actor)

    @admin.display(description="Target", ordering="target")
    def target_display(self, obj: Action) -> str:
        return display_address(obj.target) if obj.target else "—"

    @admin.display(description="Request sent")
    def request_display(self, obj: Action) -> str:
        return redacted_table(obj.request)


class CallbackEventAdmin(AuditTrailAdmin):
    list_display = [
        "received_at",
        "event_display",
        "vocabulary",
        "outcome",
        "call_display",
        "member",
        "note",
        "deliveries",
        "error_excerpt",
    ]
    list_filter = [
        "outcome",
        "vocabulary",
        distinct_values_filter("event", "event", none_label="No event name"),
        date_range_filter("received_at", "date"),
    ]
    list_select_related = ["member"]
    date_hierarchy = "received_at"
    ordering = ["-received_at", "-pk"]
    search_fields = [
        "event",
        "note",
        "error",
        "member__address",
        "member__call_uuid",
        "params",
    ]
    search_address_fields = ("member__address",)
    search_help_text = "Call number (#42), event, note, error, address, call uuid or any parameter."
    fields = [
        "received_at",
        "processed_at",
        "event_display",
        "sequence",
        "vocabulary",
        "outcome",
        "note",
        "error_display",
        "call_display",
        "member",
        "deliveries",
        "content_type",
        "dedupe_key",
        "params_display",
    ]
    readonly_fields = fields

    @admin.display(description="Event", ordering="event")
    def event_display(self, obj: CallbackEvent) -> str:
        return obj.event or "(no event name)"

    @admin.display(description="Parameters")
    def params_display(self, obj: CallbackEvent) -> str:
        return redacted_table(obj.params)
