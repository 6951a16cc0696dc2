"""Who a session is signed in as: Django's rules, with the user read from the cache.

Django's `AuthenticationMiddleware` reads the user's row on every request, and the live
pages did the same at each handshake and each wallboard heartbeat. Here the rules are
Django's (`django.contrib.auth.get_user`): the session names a user and a configured
backend, and carries the hash that user's password gives (as now, or under a secret in
`SECRET_KEY_FALLBACKS`), so a password changed elsewhere ends it. What is cached, per user,
is what those rules need: the user's fields but the password, and the session hashes the
password gives under the current secret and the fallbacks (never the password's own hash).

Any save or deletion of the user forgets the entry for every process (agents.signals), and
an entry read before such a change is never believed after it (each user's entry carries a
version that the change moves on). A change made behind the ORM's back (a raw UPDATE) is
seen within `USER_SECONDS`. The user returned has its password deferred: code that reads
it (a password change) fetches it then.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.functional import SimpleLazyObject

# A backstop only, as for agents.profiles (and as long): every save or deletion forgets the
# entry at once. Long enough that desktops reconnecting after a restart find their users.
USER_SECONDS = 600
_VERSION_SECONDS = 24 * 3600  # outlives every entry tagged with it
_SALT = "agents.signed_in.secrets"


@dataclass(frozen=True)
class SignIn:
    """What a session says: `user` (None: not signed in, or refused); `refused` when it names
    a user whose password, or the secrets, no longer sign it; `resign_with` the current hash
    when it was signed under a fallback secret (a request then re-signs it)."""

    user: object | None
    refused: bool = False
    resign_with: str = ""


@dataclass(frozen=True)
class _Entry:
    version: int
    secrets: str
    backend: str
    names: tuple[str, ...]
    values: tuple
    hashes: tuple[str, ...] | None  # current secret first; None: the model signs no sessions

    @classmethod
    def of(cls, cached) -> _Entry | None:
        """Cached as a plain tuple: an entry of another shape (a release before) is a miss."""
        if type(cached) is tuple and len(cached) == len(fields(cls)):
            return cls(*cached)
        return None

    def cached(self) -> tuple:
        return tuple(getattr(self, f.name) for f in fields(self))


def session_sign_in(*, session) -> SignIn:
    User = get_user_model()
    try:
        user_id = User._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except (KeyError, ValidationError):
        return SignIn(user=None)
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return SignIn(user=None)
    entry = _entry(user_id=user_id, backend_path=backend_path)
    if entry is None:
        return SignIn(user=None)
    user = User.from_db(User._default_manager.db, entry.names, entry.values)
    if entry.hashes is None:
        return SignIn(user=user)
    signed = session.get(HASH_SESSION_KEY)
    current, *fallbacks = entry.hashes
    if signed and constant_time_compare(signed, current):
        return SignIn(user=user)
    if signed and any(constant_time_compare(signed, h) for h in fallbacks):
        return SignIn(user=user, resign_with=current)
    return SignIn(user=None, refused=True)


def request_user(request: HttpRequest):
    """`request.user`, as Django's get_user gives it, session writes included."""
    sign_in = session_sign_in(session=request.session)
    if sign_in.refused:
        request.session.flush()
    elif sign_in.resign_with:
        request.session.cycle_key()
        request.session[HASH_SESSION_KEY] = sign_in.resign_with
    return sign_in.user or AnonymousUser()


class SignedInUserMiddleware(AuthenticationMiddleware):
    """Django's `AuthenticationMiddleware`, with `request.user` from the cache (above).
    `request.auser` (async views) stays Django's own."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: request_user(request))


def remember_signed_in_user(*, user_id, backend_path: str) -> None:
    """Cache who just signed in (a query), so that their first page and socket find them."""
    _entry(user_id=user_id, backend_path=backend_path)


def forget_signed_in_user(*, user_id) -> None:
    """The user changed or went: no entry read before now is believed again, in any process.
    Inside a transaction, again when it commits (a read before then saw the old row)."""

    def forget() -> None:
        # A new version, never used before, and the entry gone (were the version evicted).
        cache.set(_version_key(user_id), time.time_ns(), _VERSION_SECONDS)
        cache.delete(_entry_key(user_id))

    forget()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(forget)


def _entry(*, user_id, backend_path: str) -> _Entry | None:
    key, version_key = _entry_key(user_id), _version_key(user_id)
    found = cache.get_many([key, version_key])
    # A user never changed since their version expired has none: 0 stands for it. A change
    # sets one, so an entry read before it (tagged with the one before) is never believed.
    entry, version = _Entry.of(found.get(key)), found.get(version_key, 0)
    secrets = _secrets_fingerprint(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))
    if (
        entry is not None
        and entry.version == version
        and entry.secrets == secrets
        and entry.backend == backend_path
        and entry.names == _names(get_user_model())  # a release since may add or drop one
    ):
        return entry
    user = load_backend(backend_path).get_user(user_id)
    if user is None:
        return None
    names = _names(type(user))
    hashes = None
    if hasattr(user, "get_session_auth_hash"):
        hashes = (user.get_session_auth_hash(), *user.get_session_auth_fallback_hash())
    entry = _Entry(
        version=version,
        secrets=secrets,
        backend=backend_path,
        names=names,
        values=tuple(getattr(user, name) for name in names),
        hashes=hashes,
    )
    cache.set(key, entry.cached(), USER_SECONDS)
    return entry


@lru_cache(maxsize=4)
def _names(model) -> tuple[str, ...]:
    """The fields an entry carries, in the model's order (`from_db` reads them so)."""
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname != "password")


def _entry_key(user_id) -> str:
    return f"agents:signed-in:{user_id}"


def _version_key(user_id) -> str:
    return f"agents:signed-in:{user_id}:version"


@lru_cache(maxsize=8)
def _secrets_fingerprint(secret: str, fallbacks: tuple[str, ...]) -> str:
    """Which secrets an entry's hashes were made under, without saying anything about them:
    a process with other secrets (a rotation rolling out) makes its own."""
    return "".join(
        salted_hmac(_SALT, "fingerprint", secret=s).hexdigest()[:8] for s in (secret, *fallbacks)
    )
