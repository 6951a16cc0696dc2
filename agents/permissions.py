"""Who may do what: one place for the supervisor rule."""

SUPERVISE_PERMISSION = "calls.supervise"


def is_supervisor(user) -> bool:
    """Superusers, members of the "Supervisors" group (which holds the permission), and anyone
    granted `calls.supervise` directly."""
    return bool(
        user and user.is_authenticated and user.is_active and user.has_perm(SUPERVISE_PERMISSION)
    )
