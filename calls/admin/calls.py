"""Calls in the supervisors' admin: the list with its filters and CSV export, and a call's page
with its legs, its timeline and, once it has ended, its wrap-up (with each agent's wrap-up of
their own part)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.urls import path
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join

from agents.services.wrap_up import call_wrap_up_save
from calls.addresses import display_address
from calls.admin.display import (
    call_answered_at,
    call_duration_seconds,
    call_state_text,
    caller_address,
    caller_wait_seconds,
    change_link,
    live_talk_seconds,
    transfers_text,
    who_took_it,
)
from calls.admin.export import calls_csv_response
from calls.admin.filters import (
    CustomerFilter,
    DispositionFilter,
    LiveFilter,
    OwnerFilter,
    TransferFilter,
)
from calls.admin.forms import CallForm
from calls.admin.members import MemberInline
from calls.admin.queries import count_of
from calls.admin.search import WidenedSearchMixin
from calls.admin.timeline import timeline_rows
from calls.admin.wrap_ups import agents_wrap_ups_table
from calls.models import Call, Member
from calls.services.errors import ServiceError
from contactcenter.admin import (
    SupervisorModelAdmin,
    changelist_filter_errors,
    date_range_filter,
    format_duration,
)

# A call's page, section by section; all read-only but the wrap-up.
SUMMARY_FIELDS = [
    # As the list says it: its phase while live, how it ended after (not the stored status,
    # which puts an abandoned caller under Failed and a busy number under Completed).
    "state_display",
    "direction",
    "owner_link",
    "customer_link",
    "created_at",
    "queue_display",
    "waited_display",
    "answered_display",
    "ended_at",
    "duration",
]
TRANSFER_FIELDS = [
    "transfer_kind",
    "transfer_from",
    "transfer_to_display",
    "transfer_to_agent",
    "transfer_started_at",
]
PROVIDER_FIELDS = ["conference_name", "conference_uuid", "pending_action_link", "version"]


class CallAdmin(WidenedSearchMixin, SupervisorModelAdmin):
    form = CallForm
    inlines = [MemberInline]
    list_display = [
        "call_label",
        "created_at",
        "direction",
        "state_display",
        "owner_display",
        "customer_display",
        "queue_display",
        "waited_display",
        "duration",
        "legs",
        "transfers",
        "own_disposition",
    ]
    list_display_links = ["call_label"]
    list_filter = [
        LiveFilter,
        "outcome",
        "direction",
        "queue",
        date_range_filter("created_at", "date"),
        OwnerFilter,
        CustomerFilter,
        TransferFilter,
        DispositionFilter,
    ]
    list_select_related = ["owner__user", "customer", "queue"]
    date_hierarchy = "created_at"
    search_fields = [
        "customer__name",
        "customer__phone",
        "owner__user__username",
        "owner__user__first_name",
        "owner__user__last_name",
        # An agent who handed the call on is found too, by their part's wrap-up.
        "wrap_ups__agent__user__username",
        "wrap_ups__agent__user__first_name",
        "wrap_ups__agent__user__last_name",
        "disposition",
        "wrap_up_notes",
        "conference_name",
        "conference_uuid",
    ]
    search_address_fields = ("customer__phone", "owner__endpoint")
    search_call_field = "pk"
    search_help_text = (
        "Call number (#42), customer name or phone (any format), agent, disposition or notes."
    )
    actions = ["export_selected_csv"]
    readonly_fields = [*SUMMARY_FIELDS, *TRANSFER_FIELDS, *PROVIDER_FIELDS, "agents_wrap_ups"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": SUMMARY_FIELDS})]
        if obj is not None and obj.transfer_kind:
            fieldsets.append(("Transfer in progress", {"fields": TRANSFER_FIELDS}))
        fieldsets += [
            ("Wrap-up", {"fields": ["disposition", "wrap_up_notes", "agents_wrap_ups"]}),
            ("Provider", {"fields": PROVIDER_FIELDS, "classes": ["collapse"]}),
        ]
        return fieldsets

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("owner__user", "customer", "queue")
            # Legs for each row's phase, caller and who it rang (with their agents' names),
            # transfers for its counts: one query each.
            .prefetch_related(
                Prefetch("members", queryset=Member.objects.select_related("agent__user")),
                "transfers",
            )
            .annotate(
                member_count=count_of(Member.objects.filter(call=OuterRef("pk")), per="call"),
            )
        )

    def address_search_condition(self, address: str) -> Q | None:
        # Every leg's address too: a call reaches more than its customer and its agent.
        leg = Member.objects.filter(call=OuterRef("pk"), address__icontains=address)
        return super().address_search_condition(address) | Exists(leg)

    # Calls start from the desktop and are the record of what happened: never added or
    # deleted by hand. Only the wrap-up of an ended call can be changed.
    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_live:
            # Wrap-up comes after the call, as on the desktop.
            return [*self.readonly_fields, "disposition", "wrap_up_notes"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        if not {"disposition", "wrap_up_notes"} & set(form.changed_data):
            return
        try:
            call_wrap_up_save(
                actor=request.user,
                call_id=obj.pk,
                disposition=form.cleaned_data["disposition"],
                notes=form.cleaned_data["wrap_up_notes"],
            )
        except ServiceError as exc:
            # Only a race gets here (the form checks the same rules first); say so on the page.
            request.wrap_up_error = exc.message

    def response_change(self, request, obj):
        error = getattr(request, "wrap_up_error", None)
        if error:
            messages.error(request, f"The wrap-up was not saved: {error}")
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["timeline"] = timeline_rows(call=obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- CSV export ---

    def get_urls(self):
        export = path(
            "export/",
            self.admin_site.admin_view(self.export_view),
            name="calls_call_export",
        )
        return [export, *super().get_urls()]

    def export_view(self, request):
        """Everything the change list shows with the same filters, search and order: all
        pages, not just the current one."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.build_changelist(request)
        except admin.options.IncorrectLookupParameters as exc:
            return HttpResponseBadRequest(f"Those filters are not valid: {exc}")
        errors = changelist_filter_errors(changelist)
        if errors:
            return HttpResponseBadRequest(" ".join(errors))
        return calls_csv_response(request=request, queryset=changelist.queryset)

    @admin.action(description="Export selected calls to CSV", permissions=["view"])
    def export_selected_csv(self, request, queryset):
        return calls_csv_response(request=request, queryset=queryset)

    # --- Columns and fields ---

    @admin.display(description="Call", ordering="pk")
    def call_label(self, obj: Call) -> str:
        return f"#{obj.pk}"

    @admin.display(description="Agent", ordering="owner__user__username")
    def owner_display(self, obj: Call) -> str:
        owner, rang = who_took_it(obj, members=obj.members.all())
        if owner is not None:
            return owner.display_name
        if rang:
            return f"— (rang {', '.join(a.display_name for a in rang)})"
        return "—"

    @admin.display(description="Customer", ordering="customer__name")
    def customer_display(self, obj: Call) -> str:
        if obj.customer:
            return str(obj.customer)
        return caller_address(obj, members=obj.members.all()) or "—"

    @admin.display(description="Agent")
    def owner_link(self, obj: Call) -> str:
        owner, rang = who_took_it(obj, members=obj.members.all())
        if owner is not None:
            return change_link(view="agents_agent", pk=owner.pk, label=owner.display_name)
        if not rang:
            return "—"
        links = format_html_join(
            ", ",
            "{}",
            ((change_link(view="agents_agent", pk=a.pk, label=a.display_name),) for a in rang),
        )
        return format_html("— (rang {})", links)

    @admin.display(description="Customer")
    def customer_link(self, obj: Call) -> str:
        if not obj.customer:
            return "—"
        return change_link(view="calls_customer", pk=obj.customer_id, label=str(obj.customer))

    @admin.display(description="Status", ordering="outcome")
    def state_display(self, obj: Call) -> str:
        return call_state_text(obj, members=obj.members.all())

    @admin.display(description="Answered at")
    def answered_display(self, obj: Call) -> str:
        answered = call_answered_at(obj, members=obj.members.all())
        return formats.localize(timezone.template_localtime(answered)) if answered else "—"

    @admin.display(description="Duration")
    def duration(self, obj: Call) -> str:
        seconds = call_duration_seconds(obj, members=obj.members.all())
        if seconds is not None:
            return format_duration(seconds)
        live = live_talk_seconds(obj, members=obj.members.all(), at=timezone.now())
        return "—" if live is None else f"{format_duration(live)} (live)"

    @admin.display(description="Queue", ordering="queue__name")
    def queue_display(self, obj: Call) -> str:
        return obj.queue.name if obj.queue_id and obj.queue else "—"

    @admin.display(description="Waited", ordering="waited_seconds")
    def waited_display(self, obj: Call) -> str:
        """How long the caller waited for an agent (what the queue's figures count)."""
        seconds = caller_wait_seconds(obj, at=timezone.now())
        if seconds is None:
            return "—"
        waiting = obj.is_live and obj.waited_seconds is None
        return f"{format_duration(seconds)} (waiting)" if waiting else format_duration(seconds)

    @admin.display(description="Legs", ordering="member_count")
    def legs(self, obj: Call) -> int:
        return getattr(obj, "member_count", 0)

    @admin.display(description="Transfers")
    def transfers(self, obj: Call) -> str:
        return transfers_text(obj, transfers=obj.transfers.all())

    # An agent's own disposition for their part is on the call's page and in the filter.
    @admin.display(description="Call's disposition", ordering="disposition")
    def own_disposition(self, obj: Call) -> str:
        return obj.disposition or "—"

    @admin.display(description="Transfer to")
    def transfer_to_display(self, obj: Call) -> str:
        return display_address(obj.transfer_to_address) if obj.transfer_to_address else "—"

    @admin.display(description="Action in flight")
    def pending_action_link(self, obj: Call) -> str:
        if not obj.pending_action_id:
            return "—"
        label = f"Action #{obj.pending_action_id}"
        return change_link(view="calls_action", pk=obj.pending_action_id, label=label)

    @admin.display(description="Agents' own parts")
    def agents_wrap_ups(self, obj: Call) -> str:
        return agents_wrap_ups_table(call=obj)
