"""Inbound queues in the supervisors' admin: what each serves, how long callers may wait and
what then, and which agents take its callers (also set on each agent's page)."""

from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.validators import URLValidator
from django.db.models import Count, Q
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django.urls import reverse

from agents.models import Agent
from calls import exits
from calls.addresses import display_address
from calls.models import Call, Queue
from contactcenter.admin import (
    SupervisorModelAdmin,
    address_shown_as_written,
    dialable_form_field_clean,
)


class WebAddressField(forms.URLField):
    """An http(s) address, with one reason when it is not. Django's own check passes an
    ftp:// or file:// address, which is not played, and beside ours gave a second error."""

    default_validators = [
        URLValidator(
            schemes=["http", "https"],
            message="Give a web address (https://…): only one of those can be played.",
            code="not_a_web_address",  # "invalid" would take the field's own message
        )
    ]


class QueueForm(forms.ModelForm):
    wait_music_url = WebAddressField(
        label="Wait music URL",
        required=False,
        assume_scheme="https",
        help_text="What callers hear while they wait (blank: the flow's own).",
    )
    agents = forms.ModelMultipleChoiceField(
        queryset=Agent.objects.select_related("user"),
        required=False,
        widget=FilteredSelectMultiple("agents", is_stacked=False),
        help_text="Only these agents are offered this queue's callers.",
    )

    class Meta:
        model = Queue
        fields = [
            "name",
            "number",
            "is_default",
            "wait_music_url",
            "max_wait_seconds",
            "at_max_wait",
            "service_level_seconds",
        ]
        help_texts = {"number": "Any format: +1 415 555 0100, sip:… Blank: none of its own."}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        address_shown_as_written(self, "number")
        if self.instance.pk:
            self.fields["agents"].initial = self.instance.agents.all()

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        # Case apart, two names read the same on the wallboard and in the offer banner.
        self._not_taken(
            code="duplicate_name",
            says=lambda other: f"A queue named “{other.name}” already exists.",
            name__iexact=name,
        )
        return name

    def clean_number(self) -> str:
        number = self.cleaned_data["number"]
        if not number.strip():
            return ""
        # Callers dial it: read as the dial box reads a number, or callers who dial the
        # number meant would reach the default queue instead.
        number = dialable_form_field_clean(number)
        self._not_taken(
            code="duplicate_number",
            says=lambda other: (
                f"“{other.name}” already serves {display_address(number)}: a"
                " number reaches one queue."
            ),
            number=number,
        )
        return number

    def clean_is_default(self) -> bool:
        is_default = self.cleaned_data["is_default"]
        if is_default:
            self._not_taken(
                code="second_default",
                says=lambda other: (
                    f"“{other.name}” is the default queue: untick it there first"
                    " (one queue takes the callers of numbers no queue serves)."
                ),
                is_default=True,
            )
        return is_default

    def clean_at_max_wait(self) -> str:
        exit_ = self.cleaned_data["at_max_wait"]
        setting = exits.SETTINGS[exit_]
        if not getattr(settings, setting):
            # Else callers at the longest wait would wait on, with no exit, however long.
            raise forms.ValidationError(
                f"No {Queue.AtMaxWait(exit_).label.lower()} is set up for callers to be sent to"
                f" ({setting} is empty): pick the other exit, or ask whoever runs the app to"
                " set it.",
                code="no_exit",
            )
        return exit_

    def _not_taken(self, *, code: str, says: Callable[[Queue], str], **lookup) -> None:
        """Refuse a value another queue holds (`lookup`); `says(other)` is the reason."""
        others = Queue.objects.exclude(pk=self.instance.pk) if self.instance.pk else Queue.objects
        other = others.filter(**lookup).first()
        if other is not None:
            raise forms.ValidationError(says(other), code=code)

    def _save_m2m(self) -> None:
        super()._save_m2m()
        self.instance.agents.set(self.cleaned_data["agents"])


class QueueAdmin(SupervisorModelAdmin):
    form = QueueForm
    list_display = [
        "name",
        "number_display",
        "is_default",
        "agent_count",
        "waiting_now",
        "max_wait_seconds",
        "at_max_wait",
        "service_level_seconds",
    ]
    search_fields = ["name", "number"]
    readonly_fields = ["agent_names"]

    def get_fields(self, request, obj=None):
        # Who may not change the queue sees its agents' names: `agents` is a form field
        # over the reverse relation, which the admin cannot show read-only.
        pick = "agents" if self.has_change_permission(request, obj) else "agent_names"
        return [*QueueForm.Meta.fields, pick]

    @admin.display(description="Agents")
    def agent_names(self, obj: Queue) -> str:
        names = [a.display_name for a in obj.agents.select_related("user")]
        return ", ".join(names) or "—"

    def get_queryset(self, request):
        waiting = Q(
            calls__status__in=Call.LIVE_STATUSES,
            calls__answered_at__isnull=True,
            calls__direction=Call.Direction.INBOUND,
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                agent_total=Count("agents", distinct=True),
                waiting=Count("calls", filter=waiting, distinct=True),
            )
        )

    @admin.display(description="Number", ordering="number")
    def number_display(self, obj: Queue) -> str:
        return display_address(obj.number) if obj.number else "—"

    @admin.display(description="Agents", ordering="agent_total")
    def agent_count(self, obj: Queue) -> int:
        return obj.agent_total

    @admin.display(description="Waiting now", ordering="waiting")
    def waiting_now(self, obj: Queue) -> int:
        return obj.waiting

    # --- deleting ----------------------------------------------------------------------------

    def get_actions(self, request):
        # One queue at a time, through `delete_view`, which refuses while callers wait.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        queue = self.get_object(request, unquote(object_id))
        if queue is not None and queue.waiting:
            self.message_user(
                request,
                f"{queue.name} has {queue.waiting} caller{pluralize(queue.waiting)} waiting:"
                " deleting it now would"
                " strand them. Take its number off (or give it to another queue) and delete"
                " it once nobody waits.",
                messages.ERROR,
            )
            return redirect(reverse("admin:calls_queue_change", args=[queue.pk]))
        if queue is not None and request.method == "GET":
            self.message_user(
                request,
                f"{queue.name}'s calls keep their history, but no longer count in any queue's"
                " figures on the wallboard.",
                messages.WARNING,
            )
        return super().delete_view(request, object_id, extra_context)
