"""The admin site supervisors run the floor from, and the admin pieces its pages share.

Access follows one rule, `agents.permissions.is_supervisor`: superusers, the "Supervisors"
group and anyone granted `calls.supervise` get in, with or without `is_staff`; agents do not,
even when someone ticked `is_staff` for them: a signed-in agent gets a "Supervisors only" page
(403) with a way back to the desktop. Inside, supervisors may view every domain page;
adding, changing and deleting still follow Django's model permissions, and the audit trail
(`Action`, `CallbackEvent`) is read-only for everyone.
"""

import datetime
from functools import update_wrapper

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.views.main import ERROR_FLAG
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from agents.permissions import is_supervisor
from calls.addresses import InvalidAddress, dialable_address, display_address, normalize_address


class SupervisorAuthenticationForm(AdminAuthenticationForm):
    """The admin login, open to supervisors rather than to staff."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        # The same text for a wrong password and a non-supervisor, so it reveals neither.
        "invalid_login": (
            "Please enter the correct %(username)s and password for a supervisor account. "
            "Note that both fields may be case-sensitive."
        ),
    }

    def confirm_login_allowed(self, user) -> None:
        AuthenticationForm.confirm_login_allowed(self, user)
        if not is_supervisor(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class SupervisorAdminSite(admin.AdminSite):
    site_header = "Contact center administration"
    site_title = "Contact center admin"
    index_title = "Supervisor console"
    login_form = SupervisorAuthenticationForm

    def has_permission(self, request) -> bool:
        return is_supervisor(request.user)

    def admin_view(self, view, cacheable=False):
        """Django's, except for a signed-in user who is not a supervisor: Django would send
        them to the login form with a terse note; they get a page that says why, with a way
        back to the desktop. A 403 rather than a redirect: the address stays the one they
        opened, and the desktop has no place for a flashed message."""
        checked = super().admin_view(view, cacheable)

        def inner(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.user.is_authenticated and not self.has_permission(request):
                if request.path == reverse("admin:logout", current_app=self.name):
                    # Anyone signed in may sign out (Django would send them to the index).
                    return view(request, *args, **kwargs)
                return self.supervisors_only(request)
            return checked(request, *args, **kwargs)

        return update_wrapper(inner, view)

    def supervisors_only(self, request: HttpRequest) -> HttpResponse:
        response = TemplateResponse(
            request, "admin/supervisors_only.html", {"site_title": self.site_title}, status=403
        )
        add_never_cache_headers(response)
        return response


# Named "admin" so every `admin:` URL name keeps working.
site = SupervisorAdminSite(name="admin")
# Superusers grant the supervisor role here (add a user to the "Supervisors" group).
site.register(get_user_model(), UserAdmin)
site.register(Group, GroupAdmin)


INVALID_FILTER_LINK = (
    "A filter in that link could not be applied (a value this list cannot filter by),"
    " so every row is shown."
)


class SupervisorModelAdmin(admin.ModelAdmin):
    """Supervisors see every page; writes also need the usual model permission.

    Saving an existing object writes only the fields the form changed, so an edit never
    overwrites state (status, timestamps) that calls changed while the form was open.
    """

    def has_module_permission(self, request) -> bool:
        return is_supervisor(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_supervisor(request.user)

    def has_add_permission(self, request) -> bool:
        return is_supervisor(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return is_supervisor(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return is_supervisor(request.user) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.save()
            return
        model_fields = {f.name for f in obj._meta.concrete_fields}
        changed = [name for name in form.changed_data if name in model_fields]
        if changed:
            obj.save(update_fields=changed)

    def get_changelist_instance(self, request):
        changelist = self.build_changelist(request)
        for error in changelist_filter_errors(changelist):
            messages.warning(request, error)
        if request.GET.get(ERROR_FLAG) == "1":
            # Django's own answer to a lookup it could not apply (?queue__id__exact=abc):
            # the whole list, under ?e=1, without a word.
            messages.warning(request, INVALID_FILTER_LINK)
        return changelist

    def build_changelist(self, request):
        """The filtered, searched, ordered change list, without reporting filter errors."""
        return super().get_changelist_instance(request)


class ReadOnlyModelAdmin(SupervisorModelAdmin):
    """An audit record: nobody adds, edits or deletes it here, superusers included."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def normalized_search_address(term: str) -> str | None:
    """The canonical form of a search term that is a phone number or SIP URI, else None.

    Lets "+1 (415) 555-0101" find the stored "14155550101".
    """
    try:
        return normalize_address(term)
    except InvalidAddress:
        return None


def address_form_field_clean(value: str) -> str:
    """Clean a form's address field to canonical form, with the reason when it is not one."""
    try:
        return normalize_address(value)
    except InvalidAddress as exc:
        raise ValidationError(str(exc), code="invalid_address") from exc


def dialable_form_field_clean(value: str) -> str:
    """Clean a form's address that is dialled (an agent's phone, a queue's number) as the
    dial box reads it: without "+", a number is local to PHONE_DEFAULT_REGION, so
    "(415) 555-0500" is +1 415 555 0500 in the US, not +4 155 550 500; a number that cannot
    exist is refused with the reason."""
    try:
        return dialable_address(value, default_region=settings.PHONE_DEFAULT_REGION)
    except InvalidAddress as exc:
        raise ValidationError(str(exc), code="invalid_address") from exc


def address_shown_as_written(form, field: str) -> None:
    """An edit form shows a stored address as every page writes it ("+14155550100", not the
    stored digits); saving it unchanged stores the same canonical value."""
    value = form.initial.get(field)
    if value:
        form.initial[field] = display_address(value)


def format_duration(seconds: float | None) -> str:
    """ "2 h 05 min", "4 min 07 s", "35 s"; a dash when unknown."""
    if seconds is None:
        return "—"
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


class DateRangeFilter(admin.ListFilter):
    """A from/to date form in the filter sidebar; both ends inclusive, in the site's time zone.

    A date that does not parse is reported to the user and ignored, never guessed at.
    Subclass with `field_name` and `title`, or use `date_range_filter()`.
    """

    field_name = ""
    template = "admin/filters/date_range.html"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.from_param = f"{self.field_name}_from"
        self.to_param = f"{self.field_name}_to"
        self.raw: dict[str, str] = {}
        self.errors: list[str] = []
        for name in (self.from_param, self.to_param):
            if name in params:
                self.raw[name] = params.pop(name)[-1].strip()
        self.start = self._parse(self.from_param, "start")
        self.end = self._parse(self.to_param, "end")
        if self.start and self.end and self.start > self.end:
            self.errors.append(
                f"The {self.title} range starts ({self.start:%Y-%m-%d}) after it ends"
                f" ({self.end:%Y-%m-%d}); showing all dates."
            )
            self.start = self.end = None
        for name, value in ((self.from_param, self.start), (self.to_param, self.end)):
            if value:
                self.used_parameters[name] = value.isoformat()

    def _parse(self, name: str, which: str):
        raw = self.raw.get(name, "")
        if not raw:
            return None
        try:
            return datetime.date.fromisoformat(raw)
        except ValueError:
            self.errors.append(
                f"{raw!r} is not a date for the {which} of the {self.title} range;"
                " use YYYY-MM-DD. That bound was ignored."
            )
            return None

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return [self.from_param, self.to_param]

    def queryset(self, request, queryset):
        tz = timezone.get_current_timezone()
        if self.start:
            start = datetime.datetime.combine(self.start, datetime.time.min, tzinfo=tz)
            queryset = queryset.filter(**{f"{self.field_name}__gte": start})
        if self.end:
            after = self.end + datetime.timedelta(days=1)
            end = datetime.datetime.combine(after, datetime.time.min, tzinfo=tz)
            queryset = queryset.filter(**{f"{self.field_name}__lt": end})
        return queryset

    def choices(self, changelist):
        mine = set(self.expected_parameters())
        yield {
            "from_param": self.from_param,
            "to_param": self.to_param,
            "from_value": self.raw.get(self.from_param, ""),
            "to_value": self.raw.get(self.to_param, ""),
            # The form submits by GET, so it carries the other filters along.
            "hidden": sorted((k, v) for k, v in changelist.params.items() if k not in mine),
            "clear_url": changelist.get_query_string(remove=list(mine)),
            "active": bool(self.used_parameters),
        }


def date_range_filter(field_name: str, title: str) -> type[DateRangeFilter]:
    return type(
        f"{field_name.title().replace('_', '')}RangeFilter",
        (DateRangeFilter,),
        {"field_name": field_name, "title": title},
    )


NONE_VALUE = "__none__"


class DistinctValuesFilter(admin.SimpleListFilter):
    """Filter on the distinct non-empty values of a text field (one query), plus "None".

    `extra_values` adds values that may not be in the data yet, such as configured choices.
    """

    field_name = ""
    none_label = "None"

    def extra_values(self) -> list[str]:
        return []

    def lookups(self, request, model_admin):
        present = (
            model_admin.model._default_manager.exclude(**{self.field_name: ""})
            .order_by()
            .values_list(self.field_name, flat=True)
            .distinct()
        )
        values = sorted(set(present) | set(self.extra_values()), key=str.casefold)
        return [*((v, v) for v in values), (NONE_VALUE, self.none_label)]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if value == NONE_VALUE:
            return queryset.filter(**{self.field_name: ""})
        return queryset.filter(**{self.field_name: value})


def distinct_values_filter(
    field_name: str, title: str, *, none_label: str = "None"
) -> type[DistinctValuesFilter]:
    return type(
        f"{field_name.title().replace('_', '')}ValuesFilter",
        (DistinctValuesFilter,),
        {
            "field_name": field_name,
            "parameter_name": field_name,
            "title": title,
            "none_label": none_label,
        },
    )


def search_call_id(term: str) -> int | None:
    """ "#42" or "42" names call 42."""
    text = term.strip().removeprefix("#")
    return int(text) if text.isdigit() and len(text) < 19 else None


def unknown_filter_value(*, value: str, title: str) -> str:
    """What a change list says of a filter value from a hand-edited or stale link, rather
    than quietly showing every row as if it had been applied."""
    return f"{value!r} is not one of the {title} filter's choices; showing all calls."


def changelist_filter_errors(changelist) -> list[str]:
    return [error for spec in changelist.filter_specs for error in getattr(spec, "errors", ())]
