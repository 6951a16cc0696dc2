"""A call's legs on its admin page."""

from django.contrib import admin
from django.utils import timezone

from agents.permissions import is_supervisor
from calls.addresses import display_address
from calls.admin.display import change_link
from calls.models import Member
from calls.outcomes import member_state_label
from contactcenter.admin import format_duration


class MemberInline(admin.TabularInline):
    """Each leg as it is now. Read-only: member state changes only through calls.state."""

    model = Member
    extra = 0
    can_delete = False
    fields = [
        "role",
        "address_display",
        "who",
        "state_display",
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
    def who(self, obj: Member) -> str:
        if obj.agent_id:
            return change_link(view="agents_agent", pk=obj.agent_id, label=obj.agent.display_name)
        if obj.customer_id:
            return change_link(view="calls_customer", pk=obj.customer_id, label=obj.customer.name)
        return "—"

    @admin.display(description="State")
    def state_display(self, obj: Member) -> str:
        # As the desktop and wallboard say it: Never dialled, Declined, Cancelled, not "Left".
        return member_state_label(obj)

    @admin.display(description="In state for")
    def in_state_for(self, obj: Member) -> str:
        if obj.is_terminal:
            return "—"  # gone: its state no longer lasts ("Left at" says when)
        return format_duration((timezone.now() - obj.state_changed_at).total_seconds())
