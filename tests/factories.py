"""Small factories for tests: plain functions, one place."""

import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from agents.models import Agent
from calls.addresses import normalize_address
from calls.models import Customer

_seq = itertools.count(1)


def make_user(*, username: str | None = None, password: str = "pw", **extra):
    username = username or f"user{next(_seq)}"
    return get_user_model().objects.create_user(username=username, password=password, **extra)


def make_agent(
    *, username: str | None = None, endpoint: str | None = None, status: str = "available"
) -> Agent:
    user = make_user(username=username)
    endpoint = endpoint or f"sip:{user.username}@phones.test"
    return Agent.objects.create(user=user, endpoint=normalize_address(endpoint), status=status)


def make_supervisor(*, username: str | None = None, with_agent: bool = False):
    user = make_user(username=username, is_staff=True)
    group, _ = Group.objects.get_or_create(name="Supervisors")
    group.permissions.add(
        Permission.objects.get(codename="supervise", content_type__app_label="calls")
    )
    user.groups.add(group)
    if with_agent:
        Agent.objects.create(
            user=user, endpoint=normalize_address(f"sip:{user.username}@phones.test")
        )
    return user


def make_customer(
    *, name: str = "Dana Diaz", phone: str | None = None, notes: str = ""
) -> Customer:
    # A number range no test picks by hand (they use +1 415 555 ....), so a long run's
    # counter never collides with a named customer's phone.
    phone = phone or f"+1628555{next(_seq):04d}"
    return Customer.objects.create(name=name, phone=normalize_address(phone), notes=notes)
