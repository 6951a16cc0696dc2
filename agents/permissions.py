"""Who may do what: one place for the supervisor rule."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Exists, OuterRef

from contactcenter.compiled_reads import CompiledRead

SUPERVISE_PERMISSION = "calls.supervise"


def is_supervisor(user) -> bool:
    """Superusers, members of the "Supervisors" group (which holds the permission), and anyone
    granted `calls.supervise` directly."""
    return bool(
        user and user.is_authenticated and user.is_active and user.has_perm(SUPERVISE_PERMISSION)
    )


_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
# Backends that only guard logins and grant no permissions (django-axes).
_GRANT_NOTHING = ("axes.backends.AxesStandaloneBackend", "axes.backends.AxesBackend")


def supervisor_ids(*, users: Iterable) -> set[int]:
    """The pks of those `users` for whom `is_supervisor` holds, in one query at most (none
    when each is inactive or a superuser), instead of two permission queries per user."""
    users = [u for u in users if u is not None]
    found = {u.pk for u in users if u.is_active and u.is_superuser}
    rest = [u for u in users if u.is_active and not u.is_superuser]
    if not rest:
        return found
    granting = [b for b in settings.AUTHENTICATION_BACKENDS if b not in _GRANT_NOTHING]
    if granting != [_MODEL_BACKEND]:
        # Another backend may grant the permission its own way: ask it, user by user.
        return found | {u.pk for u in rest if is_supervisor(u)}
    if len(rest) == 1:  # a desktop connecting, a push to one agent: the usual case
        return found | set(_read_granted_to_one(user_id=rest[0].pk))
    return found | set(_granted(user_ids=[u.pk for u in rest]).values_list("pk", flat=True))


def _granted(*, user_ids: list[int]):
    """The users among `user_ids` granted the permission, directly or through a group."""
    app_label, codename = SUPERVISE_PERMISSION.split(".")
    permission = Permission.objects.filter(codename=codename, content_type__app_label=app_label)
    user_model = get_user_model()
    direct = user_model.user_permissions.through.objects.filter(
        user_id=OuterRef("pk"), permission__in=permission
    )
    via_group = user_model.groups.through.objects.filter(
        user_id=OuterRef("pk"), group__permissions__in=permission
    )
    return user_model.objects.filter(pk__in=user_ids).filter(Exists(direct) | Exists(via_group))


# Compiled once (its subqueries cost ~1.5 ms to compile, more than to run).
_read_granted_to_one = CompiledRead(
    lambda *, user_id: _granted(user_ids=[user_id]).values_list("pk", flat=True),
    names=("user_id",),
)
