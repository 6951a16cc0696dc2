"""The live pages close when what let them in goes, in every process, at once:

- any logout, ours (agents.views.auth) or the admin's (the wallboard's Log out), makes the
  agent Offline and closes the desktops and wallboards open in that session;
- a password change, a deactivation, a deletion, or the loss of the supervisor permission
  (`calls.supervise`: directly, through a group, a group losing it or being deleted, or the
  superuser flag) closes that user's desktops and wallboards (`AccessRevoked`): their
  sockets hold no credentials of their own, only what the handshake checked.

The core owns the events (`calls.events`); the pages decide what each means for them.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.contrib.sessions.models import Session
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver
from django.http import HttpRequest

from agents.models import Agent
from agents.permissions import SUPERVISE_PERMISSION, supervisor_ids
from agents.presence import agent_signed_in, agent_signed_out
from agents.profiles import agent_for_user, forget_profiles
from agents.signed_in import forget_signed_in_user, remember_signed_in_user
from calls.events import (
    AccessRevoked,
    AgentQueuesChanged,
    QueueChanged,
    SessionSignedOut,
    announce,
)
from calls.models import Queue
from contactcenter.session_store import forget_cached_session

User = get_user_model()
# What a socket's user was let in by: a change to any of these revokes it.
_CREDENTIALS = ("password", "is_active", "is_superuser")
# Where the previous state waits between a pre_ and a post_ signal, on the instance itself.
_BEFORE = "_live_pages_before"


@receiver(user_logged_out, dispatch_uid="agents.close_live_pages_on_logout")
def close_live_pages_on_logout(sender, *, request: HttpRequest, user, **kwargs) -> None:
    if user is None:
        return  # nobody was signed in, so no socket was let in on this session
    # Sent before the session is flushed: this is still the key the sockets were opened with.
    session = getattr(request, "session", None)
    session_key = (session.session_key if session is not None else None) or ""
    agent = agent_for_user(user=user)
    if agent is not None:
        agent_signed_out(agent=agent)
    if session_key:  # an empty key must not close the sockets of other sessions
        announce(SessionSignedOut(session_key=session_key, agent_id=agent.pk if agent else None))


def revoke_access(*, user_ids: Iterable[int]) -> None:
    """Close every live page these users have open (after commit, in every process)."""
    user_ids = sorted(set(user_ids))
    agents = dict(Agent.objects.filter(user_id__in=user_ids).values_list("user_id", "pk"))
    for user_id in user_ids:
        announce(AccessRevoked(user_id=user_id, agent_id=agents.get(user_id)))


# --- password, active flag, superuser flag ------------------------------------------------------


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="agents.credentials_before")
def remember_credentials(sender, *, instance, raw: bool = False, update_fields=None, **kwargs):
    if raw or instance.pk is None:
        return
    if update_fields is not None and not set(_CREDENTIALS) & set(update_fields):
        return  # e.g. the last_login update of every login: nothing to compare
    before = sender._default_manager.filter(pk=instance.pk).values(*_CREDENTIALS).first()
    setattr(instance, _BEFORE, before)


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="agents.credentials_changed")
def close_live_pages_on_credentials_change(sender, *, instance, raw: bool = False, **kwargs):
    before = instance.__dict__.pop(_BEFORE, None)
    if raw or before is None:
        return
    changed = (
        before["password"] != instance.password
        or (before["is_active"] and not instance.is_active)
        or (before["is_superuser"] and not instance.is_superuser)
    )
    if changed:
        revoke_access(user_ids=[instance.pk])


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="agents.user_deleting")
def remember_deleted_user(sender, *, instance, **kwargs) -> None:
    # The agent profile goes with the user: name its desktops while it is still there.
    setattr(instance, _BEFORE, Agent.objects.filter(user_id=instance.pk).first())


@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="agents.user_deleted")
def close_live_pages_on_user_deletion(sender, *, instance, **kwargs) -> None:
    agent = instance.__dict__.pop(_BEFORE, None)
    announce(AccessRevoked(user_id=instance.pk, agent_id=agent.pk if agent else None))


# --- what the cache holds of a signed-in user and their session ------------------------------


@receiver(user_logged_in, dispatch_uid="agents.back_at_work_on_login")
def back_at_work_on_login(sender, *, request: HttpRequest, user, **kwargs) -> None:
    agent = agent_for_user(user=user)
    if agent is not None:
        agent_signed_in(agent=agent)


@receiver(user_logged_in, dispatch_uid="agents.signed_in_remembered")
def remember_who_signed_in(sender, *, request: HttpRequest, user, **kwargs) -> None:
    # After Django's own receiver saved their last login (which forgets any entry).
    backend_path = getattr(request, "session", {}).get(BACKEND_SESSION_KEY)
    if backend_path:
        remember_signed_in_user(user_id=user.pk, backend_path=backend_path)


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="agents.signed_in_saved")
@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="agents.signed_in_gone")
def forget_signed_in_user_on_change(sender, *, instance, **kwargs) -> None:
    forget_signed_in_user(user_id=instance.pk)


@receiver(post_save, sender=Session, dispatch_uid="agents.session_row_saved")
@receiver(post_delete, sender=Session, dispatch_uid="agents.session_row_deleted")
def forget_session_on_row_change(sender, *, instance: Session, **kwargs) -> None:
    # The session store caches after it saves. The receiver also makes a queryset's delete()
    # send this per session (`clearsessions`, the admin).
    forget_cached_session(session_key=instance.session_key)


# --- the supervisor permission ------------------------------------------------------------------


def _supervise_permission_ids() -> set[int]:
    app_label, codename = SUPERVISE_PERMISSION.split(".")
    return set(
        Permission.objects.filter(codename=codename, content_type__app_label=app_label).values_list(
            "pk", flat=True
        )
    )


def _users_affected(*, sender, instance, reverse: bool, pk_set) -> list:
    """The users whose permissions this change of a many-to-many relation may take away."""
    if sender is Group.permissions.through:
        if reverse:  # permission.group_set.remove(...): the members of those groups
            if instance.pk not in _supervise_permission_ids():
                return []
            groups = Group.objects.filter(pk__in=pk_set) if pk_set else instance.group_set.all()
            return list(User._default_manager.filter(groups__in=groups).distinct())
        if pk_set is not None and not pk_set & _supervise_permission_ids():
            return []
        return list(instance.user_set.all())
    is_permission = sender is User.user_permissions.through and reverse
    if is_permission and instance.pk not in _supervise_permission_ids():
        return []  # permission.user_set.remove(...) of another permission
    if not reverse:
        return [instance]  # user.groups / user.user_permissions
    # group.user_set / permission.user_set
    related = User._default_manager
    return list(related.filter(pk__in=pk_set) if pk_set else instance.user_set.all())


_RELATIONS = (User.groups.through, User.user_permissions.through, Group.permissions.through)


@receiver(m2m_changed, dispatch_uid="agents.supervisor_permission_changed")
def close_live_pages_on_lost_permission(
    sender, *, instance, action: str, reverse: bool, pk_set, **kwargs
) -> None:
    if sender not in _RELATIONS:
        return
    if action in ("pre_remove", "pre_clear"):
        users = _users_affected(sender=sender, instance=instance, reverse=reverse, pk_set=pk_set)
        setattr(instance, _BEFORE, (users, supervisor_ids(users=users)))
    elif action in ("post_remove", "post_clear"):
        users, before = instance.__dict__.pop(_BEFORE, ([], set()))
        _revoke_lost(users=users, before=before)


@receiver(pre_delete, sender=Group, dispatch_uid="agents.group_deleting")
def remember_group_members(sender, *, instance: Group, **kwargs) -> None:
    users = list(instance.user_set.all())
    setattr(instance, _BEFORE, (users, supervisor_ids(users=users)))


@receiver(post_delete, sender=Group, dispatch_uid="agents.group_deleted")
def close_live_pages_on_group_deletion(sender, *, instance: Group, **kwargs) -> None:
    users, before = instance.__dict__.pop(_BEFORE, ([], set()))
    _revoke_lost(users=users, before=before)


def _revoke_lost(*, users: list, before: set[int]) -> None:
    """Revoke the access of those of `users` who were supervisors and are no longer."""
    if not before:
        return
    # Fresh rows: permission caches live on the instances that were loaded before.
    fresh = list(User._default_manager.filter(pk__in=before))
    revoke_access(user_ids=before - supervisor_ids(users=fresh))


# --- the cached profiles (agents.profiles): forgotten with any change they were read from ------


# What a profile is read from; a save naming only other fields (a login's last_login, an
# agent's status) leaves it as it is.
_PROFILE_USER_FIELDS = {"is_active", "is_superuser"}
_PROFILE_AGENT_FIELDS = {"user", "user_id", "endpoint"}


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="agents.profile_user_saved")
@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="agents.profile_user_gone")
def forget_profile_of_user(sender, *, instance, update_fields=None, **kwargs) -> None:
    if update_fields is None or _PROFILE_USER_FIELDS & set(update_fields):
        forget_profiles(user_ids=[instance.pk])


@receiver(post_save, sender=Agent, dispatch_uid="agents.profile_agent_saved")
@receiver(post_delete, sender=Agent, dispatch_uid="agents.profile_agent_gone")
def forget_profile_of_agent(sender, *, instance: Agent, update_fields=None, **kwargs) -> None:
    if update_fields is None or _PROFILE_AGENT_FIELDS & set(update_fields):
        forget_profiles(user_ids=[instance.user_id])


@receiver(m2m_changed, dispatch_uid="agents.profile_rights_changed")
def forget_profiles_on_rights_change(
    sender, *, instance, action: str, reverse: bool, pk_set, **kwargs
) -> None:
    """Granted or taken away, directly or through a group: who supervises may have changed."""
    if sender not in _RELATIONS or action not in ("post_add", "post_remove", "post_clear"):
        return
    if sender is Group.permissions.through or (reverse and pk_set is None):
        forget_profiles()  # a group's rights, or a whole relation cleared: everyone's
    elif not reverse:
        forget_profiles(user_ids=[instance.pk])  # user.groups / user.user_permissions
    else:
        forget_profiles(user_ids=pk_set)  # group.user_set / permission.user_set


@receiver(post_delete, sender=Group, dispatch_uid="agents.profile_group_gone")
@receiver(post_delete, sender=Permission, dispatch_uid="agents.profile_permission_gone")
def forget_profiles_on_rights_gone(sender, **kwargs) -> None:
    forget_profiles()


# --- the queues an agent serves -----------------------------------------------------------------


@receiver(m2m_changed, sender=Agent.queues.through, dispatch_uid="agents.queues_changed")
def desktops_follow_their_queues(
    sender, *, instance, action: str, reverse: bool, pk_set, **kwargs
) -> None:
    """An agent added to or taken off a queue (on the agent's page or the queue's): their
    open desktops join the queue's group, or leave it, and show their queues anew."""
    if action == "pre_clear":
        # Who is about to be cleared is only known now.
        ids = [instance.pk] if not reverse else list(instance.agents.values_list("pk", flat=True))
    elif action in ("post_add", "post_remove"):
        ids = [instance.pk] if not reverse else sorted(pk_set or ())
    else:
        return
    for agent_id in ids:
        announce(AgentQueuesChanged(agent_id=agent_id))


@receiver(post_save, sender=Queue, dispatch_uid="agents.queue_edited")
def pages_follow_queue_edits(sender, *, instance: Queue, **kwargs) -> None:
    """A queue created or edited (its name, its service-level target): the desktops of its
    agents and the wallboards show it anew."""
    announce(QueueChanged(queue_id=instance.pk))


@receiver(pre_delete, sender=Queue, dispatch_uid="agents.queue_deleting")
def remember_queue_agents(sender, *, instance: Queue, **kwargs) -> None:
    # Deleting a queue removes its agents' links without m2m signals: who they were is only
    # known now.
    setattr(instance, _BEFORE, list(instance.agents.values_list("pk", flat=True)))


@receiver(post_delete, sender=Queue, dispatch_uid="agents.queue_deleted")
def pages_follow_queue_deletion(sender, *, instance: Queue, **kwargs) -> None:
    """A queue deleted: its agents' desktops show their queues without it, and the
    wallboards' figures drop its row (they follow any agent's queues changing)."""
    for agent_id in getattr(instance, _BEFORE, []):
        announce(AgentQueuesChanged(agent_id=agent_id))
    announce(QueueChanged(queue_id=instance.pk))
