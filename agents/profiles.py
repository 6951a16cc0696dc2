"""Who an agent is, from a signed-in user or a name typed on the desktop."""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet

from agents.models import Agent
from agents.permissions import supervisor_ids
from contactcenter.compiled_reads import CompiledRead

# A backstop only: every change that matters forgets the entry at once (`forget_profiles`,
# from agents.signals); this bounds what a change made behind the signals' back (a raw
# UPDATE of an endpoint, say) can leave. Was 30 s: an agent's pushes come minutes apart on
# a quiet call, so most of them missed and asked PostgreSQL for the supervisor flag (16% of
# a push process's CPU at 1,000 desktops, bench/NOTES.md).
PROFILE_SECONDS = 600
# The fields of an agent a profile carries; the rest (status...) are read when used, so they
# are never stale.
_CARRIED = ("id", "user_id", "endpoint")
_GENERATION = "agents:profiles:generation"


def agent_for_user(*, user) -> Agent | None:
    if not user or not user.is_authenticated:
        return None
    if type(user.pk) is not int:  # a custom user model's other key: the plain read
        return _agent_of_user(user_id=user.pk).first()
    found = _read_agent_of_user(user_id=user.pk)
    return found[0] if found else None


def _agent_of_user(*, user_id) -> QuerySet[Agent]:
    return Agent.objects.select_related("user").filter(user_id=user_id).order_by()


# Every desktop (re)connect asks it: compiled once.
_read_agent_of_user = CompiledRead(_agent_of_user, names=("user_id",))


def agent_by_name(*, text: str) -> Agent | None:
    """An agent named by username (what the transfer picker submits) or by their full name
    as the pages show it ("Bob Baker"), case-insensitively; None when nobody, or more than
    one agent, has that full name."""
    words = (text or "").split()
    agents = Agent.objects.select_related("user")
    if len(words) == 1:
        return agents.filter(user__username__iexact=words[0]).first()
    if not words:
        return None
    named = list(
        agents.filter(
            user__first_name__iexact=words[0], user__last_name__iexact=" ".join(words[1:])
        )[:2]
    )
    return named[0] if len(named) == 1 else None


@dataclass(frozen=True)
class ActingProfile:
    """What a button asks about the user pressing it: their agent (None without one) and
    whether they supervise."""

    agent: Agent | None
    supervisor: bool


def acting_profile(*, user, agent: Agent | None = None) -> ActingProfile:
    """The signed-in user's agent and supervisor flag, from the cache when it has them (no
    query), else in 2 queries (1 when the caller passes the user's `agent`), then cached. The
    agent carries its id, user and endpoint; any other field is read from the database when
    first used. Memoised on `user`, which lives for one request (as Django's permission
    cache is): after changing someone's rights, pass a fresh instance. Not for signed-out
    users."""
    memo = user.__dict__.get("_acting_profile")
    if memo is not None:
        return memo
    key = _key(user)
    found = cache.get_many([key, _GENERATION])
    entry, generation = found.get(key), found.get(_GENERATION, 0)
    if entry is None or entry[0] != generation:
        if agent is not None and agent.user_id == user.pk:
            row = (agent.pk, agent.user_id, agent.endpoint)
        else:
            row = Agent.objects.filter(user_id=user.pk).values_list(*_CARRIED).first()
        entry = (generation, row, user.pk in supervisor_ids(users=[user]))
        cache.set(key, entry, PROFILE_SECONDS)
    _, row, supervisor = entry
    agent = None
    if row is not None:
        agent = Agent.from_db(None, _CARRIED, row)  # a new instance for every request
        agent.user = user
    profile = ActingProfile(agent=agent, supervisor=supervisor)
    user.__dict__["_acting_profile"] = profile
    return profile


def supervisors_among(*, agents: list[Agent]) -> set[int]:
    """The user ids of those agents' users who supervise, from their cached profiles (no
    query when all are cached); the others are asked in one query, and cached."""
    keys = {_key(agent.user): agent for agent in agents}
    found = cache.get_many([*keys, _GENERATION])
    generation = found.get(_GENERATION, 0)
    flags, missing = {}, []
    for key, agent in keys.items():
        entry = found.get(key)
        if entry is None or entry[0] != generation:
            missing.append(agent)
        else:
            flags[agent.user_id] = entry[2]
    if missing:
        granted = supervisor_ids(users=[agent.user for agent in missing])
        entries = {
            _key(agent.user): (
                generation,
                (agent.pk, agent.user_id, agent.endpoint),
                agent.user_id in granted,
            )
            for agent in missing
        }
        cache.set_many(entries, PROFILE_SECONDS)
        flags |= {agent.user_id: agent.user_id in granted for agent in missing}
    return {user_id for user_id, supervisor in flags.items() if supervisor}


def forget_profiles(*, user_ids: Iterable[int] | None = None) -> None:
    """Forget these users' cached profiles, or everyone's (a group's or a permission's
    change), now and again when the transaction commits (a request between the two could
    have cached what the transaction was changing)."""
    ids = None if user_ids is None else list(user_ids)  # read once: a set may change

    def forget() -> None:
        if ids is None:
            try:
                cache.incr(_GENERATION)
            except ValueError:  # not there yet, or evicted: a value never used before
                cache.set(_GENERATION, time.time_ns(), None)
        else:
            cache.delete_many([_key_for(pk, flag) for pk in ids for flag in (0, 1)])

    forget()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(forget)


def _key(user) -> str:
    return _key_for(user.pk, int(bool(user.is_superuser)))


def _key_for(user_pk: int, superuser: int) -> str:
    # The backends decide who supervises: another list, another answer. The superuser flag,
    # read with the user on every request, is in the key, so no signal is needed for it.
    backends = zlib.crc32(",".join(settings.AUTHENTICATION_BACKENDS).encode())
    return f"agents:profile:{backends}:{user_pk}:{superuser}"
