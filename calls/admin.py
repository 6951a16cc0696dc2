"""Customers, calls and the calls' audit trail in the supervisors' admin.

- A call's page shows its members (read-only: their state is live) and a timeline of every
  action sent and callback received, failures included.
- The call list filters by agent, customer, date, status, disposition and transfer, and
  exports to CSV (selected calls, or everything the current filters match), streamed.
- Actions and callbacks are an audit trail: read-only for everyone.
- Nothing secret is shown: parameters and requests are redacted on display as well.
- Every list is a fixed number of queries: related rows are joined and counts are subqueries.
"""

import csv
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponseBadRequest, HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from agents.models import Agent
from agents.permissions import is_supervisor
from agents.services.wrap_up import MAX_NOTES, call_wrap_up_save, dispositions
from calls.addresses import display_address
from calls.models import Action, Call, CallbackEvent, Customer, Member
from calls.selectors import call_timeline
from calls.services.errors import ServiceError
from contactcenter.admin import (
    NONE_VALUE,
    DistinctValuesFilter,
    ReadOnlyModelAdmin,
    SupervisorModelAdmin,
    address_form_field_clean,
    changelist_filter_errors,
    date_range_filter,
    distinct_values_filter,
    format_duration,
    normalized_search_address,
    search_call_id,
    site,
)

# --- Secrets never shown ---------------------------------------------------------------------

REDACTED = "[redacted]"
# Parameter names that are credentials or transport headers, never call data.
_SECRET_NAME_PARTS = (
    "signature",
    "nonce",
    "authoriz",
    "token",
    "secret",
    "password",
    "passwd",
    "cookie",
    "api_key",
    "apikey",
    "credential",
)


def _secret_values() -> list[str]:
    names = ("PLIVO_AUTH_TOKEN", "PLIVO_AUTH_ID", "ROUTING_API_TOKEN", "SECRET_KEY")
    return [v for v in (str(getattr(settings, n, "") or "") for n in names) if len(v) >= 6]


def _is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith(("http_", "x-")) or any(p in lowered for p in _SECRET_NAME_PARTS)


def redact(value, *, secrets: list[str] | None = None):
    """A copy of `value` (JSON-like) without credential-looking keys or configured secrets."""
    secrets = _secret_values() if secrets is None else secrets
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if _is_secret_name(str(k)) else redact(v, secrets=secrets)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, secrets=secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
    return value


def _flat_items(value, prefix: str = "") -> list[tuple[str, str]]:
    """Nested JSON as sorted (dotted key, text) pairs, for a compact readable listing."""
    if isinstance(value, Mapping):
        items: list[tuple[str, str]] = []
        for key in sorted(value, key=str):
            items += _flat_items(value[key], f"{prefix}{key}.")
        return items
    if isinstance(value, list):
        return [(prefix.rstrip("."), ", ".join(str(v) for v in value))]
    return [(prefix.rstrip("."), "" if value is None else str(value))]


def _key_value_html(pairs: Iterable[tuple[str, str]]):
    rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", pairs)
    return format_html('<table class="cc-kv">{}</table>', rows) if rows else "—"


# --- Shared display helpers ------------------------------------------------------------------


def _call_link(call_id: int | None):
    if not call_id:
        return "—"
    url = reverse("admin:calls_call_change", args=[call_id])
    return format_html('<a href="{}">Call #{}</a>', url, call_id)


def _person(user) -> str:
    if user is None:
        return "system"
    return user.get_full_name() or user.get_username()


def _excerpt(text: str, words: int = 12) -> str:
    return Truncator(text).words(words) if text else ""


def _offset(at: datetime, origin: datetime) -> str:
    seconds = int((at - origin).total_seconds())
    sign = "-" if seconds < 0 else "+"
    minutes, secs = divmod(abs(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"{sign}{minutes}:{secs:02d}"


def _call_duration_seconds(call: Call) -> int | None:
    """Talk time: from answer to end. None while live or when never answered."""
    if call.answered_at and call.ended_at:
        return int((call.ended_at - call.answered_at).total_seconds())
    return None


def _address_search_q(term: str, *fields: str) -> Q | None:
    address = normalized_search_address(term)
    if not address or not fields:
        return None
    q = Q()
    for field in fields:
        q |= Q(**{f"{field}__icontains": address})
    return q


def _widen_search(queryset: QuerySet, results: QuerySet, extra: Q | None) -> QuerySet:
    """Django's word search OR an extra condition (a call number, a normalized address)."""
    if extra is None:
        return results
    return queryset.filter(Q(pk__in=results.values("pk")) | extra)


# --- The call timeline -----------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineRow:
    at: datetime
    offset: str
    sent: bool  # True: an action we sent to PHLO; False: a callback PHLO sent us.
    title: str
    who: str
    outcome: str
    outcome_label: str
    problem: bool
    http_status: int | None
    error: str
    note: str
    details: list[tuple[str, str]]
    url: str


def _action_row(action: Action, *, origin: datetime, secrets: list[str]) -> TimelineRow:
    request = redact(action.request or {}, secrets=secrets)
    details: list[tuple[str, str]] = []
    if request.get("method") or request.get("path"):
        details.append(("request", f"{request.get('method', '')} {request.get('path', '')}"))
    details += [(f"body.{k}", v) for k, v in _flat_items(request.get("body") or {})]
    if action.api_id:
        details.append(("api_id", action.api_id))
    if action.finished_at:
        took = (action.finished_at - action.created_at).total_seconds()
        details.append(("answered after", f"{took:.2f} s"))
    error = redact(
        f"{action.error_kind}: {action.error}" if action.error_kind else action.error,
        secrets=secrets,
    )
    target = display_address(action.target) if action.target else ""
    who = _person(action.actor) + (f" → {target}" if target else "")
    return TimelineRow(
        at=action.created_at,
        offset=_offset(action.created_at, origin),
        sent=True,
        title=action.get_kind_display(),
        who=who,
        outcome=action.outcome,
        outcome_label=action.get_outcome_display(),
        problem=action.outcome == Action.Outcome.FAILED,
        http_status=action.http_status,
        error=error,
        note="",
        details=details,
        url=reverse("admin:calls_action_change", args=[action.pk]),
    )


def _callback_row(event: CallbackEvent, *, origin: datetime, secrets: list[str]) -> TimelineRow:
    params = redact(event.params or {}, secrets=secrets)
    if event.member_id:
        who = str(event.member)
    else:
        ends = [display_address(str(params[k])) for k in ("from", "to") if params.get(k)]
        who = " → ".join(ends)
    details = [("vocabulary", event.get_vocabulary_display())]
    if event.deliveries > 1:
        details.append(("deliveries", f"received {event.deliveries} times"))
    details += _flat_items(params)
    return TimelineRow(
        at=event.received_at,
        offset=_offset(event.received_at, origin),
        sent=False,
        title=event.event or "(no event name)",
        who=who,
        outcome=event.outcome,
        outcome_label=event.get_outcome_display(),
        problem=event.outcome in (CallbackEvent.Outcome.FAILED, CallbackEvent.Outcome.UNMATCHED),
        http_status=None,
        error=redact(event.error, secrets=secrets),
        note=event.note,
        details=details,
        url=reverse("admin:calls_callbackevent_change", args=[event.pk]),
    )


def timeline_rows(*, call: Call) -> list[TimelineRow]:
    """The call's timeline (calls.selectors.call_timeline: actions and callbacks merged by
    time), ready to read: redacted, with offsets from the call's start."""
    secrets = _secret_values()
    return [
        _action_row(entry.item, origin=call.created_at, secrets=secrets)
        if entry.is_action
        else _callback_row(entry.item, origin=call.created_at, secrets=secrets)
        for entry in call_timeline(call_id=call.pk)
    ]


# --- CSV export ------------------------------------------------------------------------------

CSV_HEADER = [
    "Call",
    "Created",
    "Answered",
    "Ended",
    "Duration (s)",
    "Direction",
    "Status",
    "Agent",
    "Agent username",
    "Customer",
    "Customer phone",
    "Disposition",
    "Notes",
    "Warm transfers",
    "Cold transfers",
]
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value) -> str:
    """Text a spreadsheet shows as text: a leading formula character is escaped, except in
    plain numbers such as +14155550101."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_PREFIXES) and not text[1:].replace(" ", "").isdigit():
        return "'" + text
    return text


def _csv_time(value: datetime | None) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def call_csv_row(call: Call) -> list[str]:
    """One export row. Needs the CallAdmin queryset: owner__user and customer joined, and the
    warm_transfers/cold_transfers counts annotated."""
    owner = call.owner
    customer = call.customer
    duration = _call_duration_seconds(call)
    values = [
        call.pk,
        _csv_time(call.created_at),
        _csv_time(call.answered_at),
        _csv_time(call.ended_at),
        "" if duration is None else duration,
        call.get_direction_display(),
        call.get_status_display(),
        owner.display_name if owner else "",
        owner.user.get_username() if owner else "",
        customer.name if customer else "",
        display_address(customer.phone) if customer else "",
        call.disposition,
        call.wrap_up_notes,
        getattr(call, "warm_transfers", ""),
        getattr(call, "cold_transfers", ""),
    ]
    return [_csv_cell(v) for v in values]


class _Echo:
    """csv.writer writes into this and gets the line back, so rows stream one at a time."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(queryset: QuerySet) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # The byte-order mark makes spreadsheet programs read the file as UTF-8.
    yield "\ufeff" + writer.writerow(CSV_HEADER)
    for call in queryset.iterator(chunk_size=500):
        yield writer.writerow(call_csv_row(call))


async def _csv_lines_async(queryset: QuerySet) -> AsyncIterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(CSV_HEADER)
    async for call in queryset.aiterator(chunk_size=500):
        yield writer.writerow(call_csv_row(call))


def calls_csv_response(*, request, queryset: QuerySet) -> StreamingHttpResponse:
    """Stream `queryset` as CSV; asynchronously under ASGI, so the server never buffers it."""
    lines = _csv_lines_async(queryset) if isinstance(request, ASGIRequest) else _csv_lines(queryset)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    filename = f"calls-{timezone.localtime():%Y%m%d-%H%M%S}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


# --- Filters ---------------------------------------------------------------------------------


class TransferFilter(admin.SimpleListFilter):
    """Calls that had a transfer: a warm or cold transfer PHLO accepted. The call's own
    transfer fields only describe one in progress."""

    title = "transfer"
    parameter_name = "transfer"

    def lookups(self, request, model_admin):
        return [
            ("warm", "Had a warm transfer"),
            ("cold", "Had a cold transfer"),
            ("any", "Had any transfer"),
            ("none", "No transfer"),
            ("in_progress", "Transfer in progress now"),
        ]

    def queryset(self, request, queryset):
        done = Action.objects.filter(call=OuterRef("pk"), outcome=Action.Outcome.SUCCEEDED)
        warm = Exists(done.filter(kind=Action.Kind.WARM_TRANSFER))
        cold = Exists(done.filter(kind=Action.Kind.COLD_TRANSFER))
        conditions = {
            "warm": warm,
            "cold": cold,
            "any": warm | cold,
            "none": ~warm & ~cold,
            "in_progress": ~Q(transfer_kind=""),
        }
        condition = conditions.get(self.value() or "")
        return queryset if condition is None else queryset.filter(condition)


class DispositionFilter(DistinctValuesFilter):
    title = "disposition"
    parameter_name = "disposition"
    field_name = "disposition"
    none_label = "No disposition"

    def extra_values(self) -> list[str]:
        return dispositions()


class OwnerFilter(admin.SimpleListFilter):
    """The agents who own calls (one query: labels need the user, joined here)."""

    title = "agent"
    parameter_name = "owner"

    def lookups(self, request, model_admin):
        agents = (
            Agent.objects.filter(Exists(Call.objects.filter(owner=OuterRef("pk"))))
            .select_related("user")
            .order_by("user__username")
        )
        return [*((str(a.pk), a.display_name) for a in agents), (NONE_VALUE, "No agent")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == NONE_VALUE:
            return queryset.filter(owner__isnull=True)
        if value and value.isdigit():
            return queryset.filter(owner_id=int(value))
        return queryset


class CustomerFilter(admin.SimpleListFilter):
    """The customers who have calls (one query)."""

    title = "customer"
    parameter_name = "customer"

    def lookups(self, request, model_admin):
        customers = Customer.objects.filter(Exists(Call.objects.filter(customer=OuterRef("pk"))))
        return [*((str(c.pk), str(c)) for c in customers), (NONE_VALUE, "No customer")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == NONE_VALUE:
            return queryset.filter(customer__isnull=True)
        if value and value.isdigit():
            return queryset.filter(customer_id=int(value))
        return queryset


# --- Customers -------------------------------------------------------------------------------


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = ["name", "phone", "notes"]
        help_texts = {"phone": "Any format: +1 415 555 0100, 0044 20 7946 0103, sip:…"}

    def clean_phone(self) -> str:
        return address_form_field_clean(self.cleaned_data["phone"])


@admin.register(Customer, site=site)
class CustomerAdmin(SupervisorModelAdmin):
    form = CustomerForm
    list_display = ["name", "phone_display", "notes_excerpt", "calls_link", "last_call_at"]
    search_fields = ["name", "phone", "notes"]
    search_help_text = "Name, phone (any format) or notes."
    list_filter = [date_range_filter("created_at", "date added")]
    fields = ["name", "phone", "notes", "calls_link", "last_call_at", "created_at"]
    readonly_fields = ["calls_link", "last_call_at", "created_at"]

    def get_queryset(self, request):
        calls = Call.objects.filter(customer=OuterRef("pk")).order_by()
        return (
            super()
            .get_queryset(request)
            .annotate(
                call_count=Coalesce(
                    Subquery(calls.values("customer").annotate(n=Count("pk")).values("n")),
                    Value(0),
                ),
                last_call=Subquery(calls.order_by("-created_at").values("created_at")[:1]),
            )
        )

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        extra = _address_search_q(search_term, "phone")
        return _widen_search(queryset, results, extra), may_have_duplicates

    @admin.display(description="Phone", ordering="phone")
    def phone_display(self, obj: Customer) -> str:
        return display_address(obj.phone)

    @admin.display(description="Notes")
    def notes_excerpt(self, obj: Customer) -> str:
        return _excerpt(obj.notes) or "—"

    @admin.display(description="Calls", ordering="call_count")
    def calls_link(self, obj: Customer):
        if not obj.pk:
            return "—"
        url = reverse("admin:calls_call_changelist") + f"?customer={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, getattr(obj, "call_count", 0))

    @admin.display(description="Last call", ordering="last_call")
    def last_call_at(self, obj: Customer):
        last = getattr(obj, "last_call", None)
        return timezone.localtime(last).strftime("%Y-%m-%d %H:%M") if last else "—"


# --- Calls -----------------------------------------------------------------------------------


class MemberInline(admin.TabularInline):
    """Each leg as it is now. Read-only: member state changes only through calls.state."""

    model = Member
    extra = 0
    can_delete = False
    fields = [
        "role",
        "address_display",
        "who",
        "state",
        "in_state_for",
        "is_machine",
        "answered_at",
        "hold_started_at",
        "left_at",
        "member_id",
        "call_uuid",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("agent__user", "customer")

    def has_view_permission(self, request, obj=None) -> bool:
        return is_supervisor(request.user)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Address")
    def address_display(self, obj: Member) -> str:
        return display_address(obj.address)

    @admin.display(description="Who")
    def who(self, obj: Member):
        if obj.agent_id:
            url = reverse("admin:agents_agent_change", args=[obj.agent_id])
            return format_html('<a href="{}">{}</a>', url, obj.agent.display_name)
        if obj.customer_id:
            url = reverse("admin:calls_customer_change", args=[obj.customer_id])
            return format_html('<a href="{}">{}</a>', url, obj.customer.name)
        return "—"

    @admin.display(description="In state for")
    def in_state_for(self, obj: Member) -> str:
        end = obj.left_at if obj.is_terminal and obj.left_at else timezone.now()
        return format_duration((end - obj.state_changed_at).total_seconds())


class CallForm(forms.ModelForm):
    """The wrap-up of an ended call; saved through the same service as the agent desktop's."""

    _pick = "Pick a disposition from the list."
    disposition = forms.ChoiceField(
        error_messages={"required": _pick, "invalid_choice": _pick},
    )
    wrap_up_notes = forms.CharField(
        label="Notes", required=False, max_length=MAX_NOTES, widget=forms.Textarea
    )

    class Meta:
        model = Call
        fields = ["disposition", "wrap_up_notes"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "disposition" in self.fields:  # read-only while the call is live
            self.fields["disposition"].choices = [("", "—"), *((d, d) for d in dispositions())]


@admin.register(Call, site=site)
class CallAdmin(SupervisorModelAdmin):
    form = CallForm
    inlines = [MemberInline]
    list_display = [
        "call_label",
        "created_at",
        "direction",
        "status",
        "owner_display",
        "customer_display",
        "duration",
        "legs",
        "transfers",
        "disposition",
    ]
    list_display_links = ["call_label"]
    list_filter = [
        "status",
        "direction",
        date_range_filter("created_at", "date"),
        OwnerFilter,
        CustomerFilter,
        TransferFilter,
        DispositionFilter,
    ]
    list_select_related = ["owner__user", "customer"]
    date_hierarchy = "created_at"
    search_fields = [
        "customer__name",
        "customer__phone",
        "owner__user__username",
        "owner__user__first_name",
        "owner__user__last_name",
        "disposition",
        "wrap_up_notes",
        "conference_name",
        "conference_uuid",
    ]
    search_help_text = (
        "Call number (#42), customer name or phone (any format), agent, disposition or notes."
    )
    actions = ["export_selected_csv"]
    readonly_fields = [
        "status",
        "direction",
        "owner_link",
        "customer_link",
        "created_at",
        "answered_at",
        "ended_at",
        "duration",
        "transfer_kind",
        "transfer_from",
        "transfer_to_display",
        "transfer_to_agent",
        "transfer_started_at",
        "conference_name",
        "conference_uuid",
        "pending_action_link",
        "version",
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (
                None,
                {
                    "fields": [
                        "status",
                        "direction",
                        "owner_link",
                        "customer_link",
                        "created_at",
                        "answered_at",
                        "ended_at",
                        "duration",
                    ]
                },
            ),
        ]
        if obj is not None and obj.transfer_kind:
            transfer = [
                "transfer_kind",
                "transfer_from",
                "transfer_to_display",
                "transfer_to_agent",
                "transfer_started_at",
            ]
            fieldsets.append(("Transfer in progress", {"fields": transfer}))
        fieldsets += [
            ("Wrap-up", {"fields": ["disposition", "wrap_up_notes"]}),
            (
                "Provider",
                {
                    "fields": [
                        "conference_name",
                        "conference_uuid",
                        "pending_action_link",
                        "version",
                    ],
                    "classes": ["collapse"],
                },
            ),
        ]
        return fieldsets

    def get_queryset(self, request):
        succeeded = Action.objects.filter(
            call=OuterRef("pk"), outcome=Action.Outcome.SUCCEEDED
        ).order_by()

        def count_of(rows: QuerySet):
            return Coalesce(
                Subquery(rows.values("call").annotate(n=Count("pk")).values("n")), Value(0)
            )

        return (
            super()
            .get_queryset(request)
            .select_related("owner__user", "customer")
            .annotate(
                member_count=count_of(Member.objects.filter(call=OuterRef("pk")).order_by()),
                warm_transfers=count_of(succeeded.filter(kind=Action.Kind.WARM_TRANSFER)),
                cold_transfers=count_of(succeeded.filter(kind=Action.Kind.COLD_TRANSFER)),
            )
        )

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        extra = _address_search_q(search_term, "customer__phone", "owner__endpoint")
        address = normalized_search_address(search_term)
        if address:
            leg = Member.objects.filter(call=OuterRef("pk"), address__icontains=address)
            extra = (extra or Q()) | Exists(leg)
        call_id = search_call_id(search_term)
        if call_id is not None:
            extra = (extra or Q()) | Q(pk=call_id)
        return _widen_search(queryset, results, extra), may_have_duplicates

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
        return obj.owner.display_name if obj.owner else "—"

    @admin.display(description="Customer", ordering="customer__name")
    def customer_display(self, obj: Call) -> str:
        if not obj.customer:
            return "—"
        return f"{obj.customer.name} ({display_address(obj.customer.phone)})"

    @admin.display(description="Agent")
    def owner_link(self, obj: Call):
        if not obj.owner:
            return "—"
        url = reverse("admin:agents_agent_change", args=[obj.owner_id])
        return format_html('<a href="{}">{}</a>', url, obj.owner.display_name)

    @admin.display(description="Customer")
    def customer_link(self, obj: Call):
        if not obj.customer:
            return "—"
        url = reverse("admin:calls_customer_change", args=[obj.customer_id])
        label = f"{obj.customer.name} ({display_address(obj.customer.phone)})"
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description="Duration")
    def duration(self, obj: Call) -> str:
        seconds = _call_duration_seconds(obj)
        if seconds is not None:
            return format_duration(seconds)
        if obj.is_live and obj.answered_at:
            return f"{format_duration((timezone.now() - obj.answered_at).total_seconds())} (live)"
        return "—"

    @admin.display(description="Legs", ordering="member_count")
    def legs(self, obj: Call) -> int:
        return getattr(obj, "member_count", 0)

    @admin.display(description="Transfers")
    def transfers(self, obj: Call) -> str:
        parts = []
        warm, cold = getattr(obj, "warm_transfers", 0), getattr(obj, "cold_transfers", 0)
        if warm:
            parts.append(f"{warm} warm")
        if cold:
            parts.append(f"{cold} cold")
        if obj.transfer_kind:
            parts.append(f"{obj.get_transfer_kind_display().lower()} in progress")
        return ", ".join(parts) or "—"

    @admin.display(description="Transfer to")
    def transfer_to_display(self, obj: Call) -> str:
        return display_address(obj.transfer_to_address) if obj.transfer_to_address else "—"

    @admin.display(description="Action in flight")
    def pending_action_link(self, obj: Call):
        if not obj.pending_action_id:
            return "—"
        url = reverse("admin:calls_action_change", args=[obj.pending_action_id])
        return format_html('<a href="{}">Action #{}</a>', url, obj.pending_action_id)


# --- The audit trail: actions and callbacks, read-only ----------------------------------------


@admin.register(Action, site=site)
class ActionAdmin(ReadOnlyModelAdmin):
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

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        extra = _address_search_q(search_term, "target")
        call_id = search_call_id(search_term)
        if call_id is not None:
            extra = (extra or Q()) | Q(call_id=call_id)
        return _widen_search(queryset, results, extra), may_have_duplicates

    @admin.display(description="Call", ordering="call_id")
    def call_display(self, obj: Action):
        return _call_link(obj.call_id)

    @admin.display(description="Actor", ordering="actor__username")
    def actor_display(self, obj: Action) -> str:
        return _person(obj.actor)

    @admin.display(description="Target", ordering="target")
    def target_display(self, obj: Action) -> str:
        return display_address(obj.target) if obj.target else "—"

    @admin.display(description="Error")
    def error_excerpt(self, obj: Action) -> str:
        return _excerpt(redact(obj.error)) or "—"

    @admin.display(description="Error")
    def error_display(self, obj: Action) -> str:
        return redact(obj.error) or "—"

    @admin.display(description="Request sent")
    def request_display(self, obj: Action):
        return _key_value_html(_flat_items(redact(obj.request or {})))


@admin.register(CallbackEvent, site=site)
class CallbackEventAdmin(ReadOnlyModelAdmin):
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
    search_help_text = "Call number (#42), event, note, error, address, call uuid or any parameter."
    fields = [
        "received_at",
        "processed_at",
        "event_display",
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

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        extra = _address_search_q(search_term, "member__address")
        call_id = search_call_id(search_term)
        if call_id is not None:
            extra = (extra or Q()) | Q(call_id=call_id)
        return _widen_search(queryset, results, extra), may_have_duplicates

    @admin.display(description="Event", ordering="event")
    def event_display(self, obj: CallbackEvent) -> str:
        return obj.event or "(no event name)"

    @admin.display(description="Call", ordering="call_id")
    def call_display(self, obj: CallbackEvent):
        return _call_link(obj.call_id)

    @admin.display(description="Error")
    def error_excerpt(self, obj: CallbackEvent) -> str:
        return _excerpt(redact(obj.error)) or "—"

    @admin.display(description="Error")
    def error_display(self, obj: CallbackEvent) -> str:
        return redact(obj.error) or "—"

    @admin.display(description="Parameters")
    def params_display(self, obj: CallbackEvent):
        return _key_value_html(_flat_items(redact(obj.params or {})))
