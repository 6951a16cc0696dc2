"""Agents in the supervisors' admin: who they are, where they take calls, their status now.

Status is shown, never edited here: it follows the agent's calls (agents.presence), and a
hand-edited value would skip the push to desktops and wallboards.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, Subquery
from django.utils import timezone

from agents.models import Agent
from agents.permissions import SUPERVISE_PERMISSION
from calls.addresses import display_address
from calls.admin.display import call_link, calls_list_link
from calls.admin.queries import count_of
from calls.admin.search import WidenedSearchMixin
from calls.models import Call, Member
from contactcenter.admin import (
    SupervisorModelAdmin,
    address_shown_as_written,
    dialable_form_field_clean,
    format_duration,
    site,
)

# An agent's status now: shown on its page, never edited (see the module's docstring).
STATUS_FIELDS = [
    "status",
    "time_in_status",
    "status_reason",
    "status_changed_at",
    "wrap_up_until",
    "next_status_display",
    "current_call",
    "calls_link",
    "supervisor",
]


def _supervisor_expression() -> ExpressionWrapper:
    """True for agents whose user passes `is_supervisor`, computed in the list's one query."""
    app_label, codename = SUPERVISE_PERMISSION.split(".")
    perm = Permission.objects.filter(codename=codename, content_type__app_label=app_label)
    return ExpressionWrapper(
        Q(user__is_active=True)
        & (
            Q(user__is_superuser=True)
            | Exists(perm.filter(group__user=OuterRef("user")))
            | Exists(perm.filter(user=OuterRef("user")))
        ),
        output_field=BooleanField(),
    )


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        full = obj.get_full_name()
        return f"{obj.get_username()} ({full})" if full else obj.get_username()


class AgentForm(forms.ModelForm):
    class Meta:
        model = Agent
        fields = ["user", "endpoint", "queues"]
        field_classes = {"user": UserChoiceField}
        widgets = {"queues": forms.CheckboxSelectMultiple}
        help_texts = {
            "endpoint": "Where this agent's phone rings: a number such as +14155550123, or a"
            " SIP address such as sip:alice@phones.example.com.",
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Shown with its "+", so that saved back unchanged it reads as itself, not as a
        # number local to PHONE_DEFAULT_REGION.
        address_shown_as_written(self, "endpoint")
        if "user" in self.fields:
            # Only users who are not an agent yet (and this agent's own user).
            users = get_user_model().objects.filter(agent__isnull=True)
            if self.instance.pk:
                users = users | get_user_model().objects.filter(pk=self.instance.user_id)
            self.fields["user"].queryset = users.order_by("username")

    def clean_endpoint(self) -> str:
        return dialable_form_field_clean(self.cleaned_data["endpoint"])


@admin.register(Agent, site=site)
class AgentAdmin(WidenedSearchMixin, SupervisorModelAdmin):
    form = AgentForm
    list_display = [
        "name",
        "username",
        "endpoint_display",
        "status",
        "time_in_status",
        "status_reason",
        "current_call",
        "calls_link",
        "supervisor",
    ]
    list_display_links = ["name"]
    list_filter = ["status"]
    list_select_related = ["user"]
    search_fields = [
        "user__username",
        "user__first_name",
        "user__last_name",
        "user__email",
        "endpoint",
    ]
    search_address_fields = ("endpoint",)
    search_help_text = "Name, username, e-mail or endpoint (numbers in any format)."
    fieldsets = [
        (None, {"fields": ["user", "endpoint", "queues"]}),
        ("Status now", {"fields": STATUS_FIELDS}),
    ]
    readonly_fields = STATUS_FIELDS

    def get_queryset(self, request):
        live_leg = Member.objects.live_legs().filter(agent=OuterRef("pk")).order_by("-created_at")
        return (
            super()
            .get_queryset(request)
            .select_related("user")
            .annotate(
                live_call_id=Subquery(live_leg.values("call_id")[:1]),
                owned_call_count=count_of(Call.objects.filter(owner=OuterRef("pk")), per="owner"),
                is_supervisor=_supervisor_expression(),
            )
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            # A new agent starts Offline; the rest describes a status it does not have yet.
            return []
        return self.readonly_fields

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["user", "endpoint"]})]
        return self.fieldsets

    @admin.display(description="Name", ordering="user__first_name")
    def name(self, obj: Agent) -> str:
        return obj.display_name

    @admin.display(description="Username", ordering="user__username")
    def username(self, obj: Agent) -> str:
        return obj.user.get_username()

    @admin.display(description="Endpoint", ordering="endpoint")
    def endpoint_display(self, obj: Agent) -> str:
        return display_address(obj.endpoint)

    # Ascending "changed at" puts the longest time in status first.
    @admin.display(description="Time in status", ordering="status_changed_at")
    def time_in_status(self, obj: Agent) -> str:
        return format_duration((timezone.now() - obj.status_changed_at).total_seconds())

    @admin.display(description="After this call")
    def next_status_display(self, obj: Agent) -> str:
        # What the agent asked for while busy ("Away after this call"), if anything.
        requested = getattr(obj, "next_status", "")
        if not requested:
            return "—"
        label = Agent.Status(requested).label
        reason = getattr(obj, "next_status_reason", "")
        return f"{label} ({reason})" if reason else label

    @admin.display(description="On call")
    def current_call(self, obj: Agent) -> str:
        return call_link(getattr(obj, "live_call_id", None))

    @admin.display(description="Calls owned", ordering="owned_call_count")
    def calls_link(self, obj: Agent) -> str:
        return calls_list_link(
            filter_by="owner", pk=obj.pk, count=getattr(obj, "owned_call_count", 0)
        )

    @admin.display(description="Supervisor", boolean=True, ordering="is_supervisor")
    def supervisor(self, obj: Agent) -> bool:
        return bool(getattr(obj, "is_supervisor", False))
