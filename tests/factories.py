"""Small factories for tests: plain functions, one place."""

import itertools
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone

from agents.models import Agent
from calls.addresses import normalize_address
from calls.models import Call, Customer

_seq = itertools.count(1)
_TIMED = object()  # answered_at / ended_at not given: as a call of that status would have them


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
    return type(user).objects.get(pk=user.pk)  # fresh: permission caches are per instance


def make_customer(
    *, name: str = "Dana Diaz", phone: str | None = None, notes: str = ""
) -> Customer:
    # A number range no test picks by hand (they use +1 415 555 ....), so a long run's
    # counter never collides with a named customer's phone.
    phone = phone or f"+1628555{next(_seq):04d}"
    return Customer.objects.create(name=name, phone=normalize_address(phone), notes=notes)


def login(who) -> Client:
    """A test client of its own (a browser of its own), signed in as `who`: a user, or an
    agent (as the agent's user)."""
    client = Client()
    client.force_login(who.user if isinstance(who, Agent) else who)
    return client


def at_work(client: Client) -> Client:
    """A signed-in browser whose page has loaded: the server has read its session and user
    once, so every later request of an agent at work finds both in the cache."""
    assert client.get("/desktop/session/").status_code == 204
    return client


def make_call(
    *,
    owner: Agent | None = None,
    customer: Customer | None = None,
    status: str = Call.Status.COMPLETED,
    direction: str = Call.Direction.OUTBOUND,
    created_at: datetime | None = None,
    answered_at=_TIMED,
    ended_at=_TIMED,
    talk_seconds: int = 90,
    disposition: str = "",
    notes: str = "",
    **fields,
) -> Call:
    """A call row built with the ORM, created an hour ago unless `created_at` says when.

    Unless given, `answered_at` is 5 s after creation (not for a dialling call) and
    `ended_at` `talk_seconds` later for a completed call, 30 s after creation for a failed
    one; pass `answered_at=None, ended_at=None` for a call with no such times."""
    created_at = created_at or timezone.now() - timedelta(hours=1)
    if answered_at is _TIMED:
        answered_at = created_at + timedelta(seconds=5) if status != Call.Status.DIALLING else None
    if ended_at is _TIMED:
        ended_at = None
        if answered_at and status == Call.Status.COMPLETED:
            ended_at = answered_at + timedelta(seconds=talk_seconds)
        if status == Call.Status.FAILED:
            ended_at = created_at + timedelta(seconds=30)
    fields.setdefault("conference_name", f"cc-{next(_seq)}")
    return Call.objects.create(
        owner=owner,
        customer=customer,
        status=status,
        direction=direction,
        created_at=created_at,
        answered_at=answered_at,
        ended_at=ended_at,
        disposition=disposition,
        wrap_up_notes=notes,
        **fields,
    )
