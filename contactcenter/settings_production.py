"""Production settings: `DJANGO_SETTINGS_MODULE=contactcenter.settings_production`.

Everything in `contactcenter.settings` still comes from the environment. On top of it this
module refuses to start when something would be unsafe on the internet (no or weak secret
key, DEBUG on, the PHLO simulator's public demo credentials, a plain-http public URL), and
turns on HTTPS-only cookies, HSTS, the SSL redirect behind a TLS-terminating proxy and
WhiteNoise for static files. It passes `manage.py check --deploy` with no warnings.
See docs/deploying.md.
"""

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from contactcenter.env import env_bool, env_float, env_int, env_list, env_str
from contactcenter.settings import *  # noqa: F403
from contactcenter.settings import BASE_DIR, DATABASES, MIDDLEWARE

# Django's own deploy check wants at least 50 characters and 5 different ones.
MIN_SECRET_KEY_LENGTH = 50
_DEV_KEY_PREFIXES = ("dev-only-", "django-insecure-")


def secret_key_problem(key: str) -> str:
    """Why `key` is not fit for production ("" when it is). Never echoes the key."""
    if not key:
        return "is not set"
    if key.startswith(_DEV_KEY_PREFIXES):
        return "is a development key"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"is shorter than {MIN_SECRET_KEY_LENGTH} characters"
    if len(set(key)) < 5:
        return "has fewer than 5 different characters"
    return ""


def _refuse(message: str) -> None:
    raise ImproperlyConfigured(f"Production settings refused to start: {message}")


_GENERATE = (
    'Generate one with: python -c "import secrets; print(secrets.token_urlsafe(64))"'
    " and keep it out of the repository."
)

# --- Secret key (and older keys still accepted while rotating) --------------------------------
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if problem := secret_key_problem(SECRET_KEY):
    _refuse(f"DJANGO_SECRET_KEY {problem}. {_GENERATE}")
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS", [])
for _position, _key in enumerate(SECRET_KEY_FALLBACKS, start=1):
    if problem := secret_key_problem(_key):
        _refuse(f"DJANGO_SECRET_KEY_FALLBACKS entry {_position} {problem}.")

# --- Never debug, never the simulator ---------------------------------------------------------
if env_bool("DJANGO_DEBUG", False):
    _refuse("DJANGO_DEBUG is on. Unset it (or set 0): debug pages leak settings and data.")
DEBUG = False

# The simulator's demo credentials are public: anyone could sign callbacks with them. So
# production talks to a PHLO runner with real credentials, and says so explicitly.
if env_bool("PHLO_SIMULATOR", True):
    _refuse(
        "PHLO_SIMULATOR must be set to 0: production talks to Plivo (PHLO_BASE_URL) with"
        " your own PLIVO_AUTH_ID, PLIVO_AUTH_TOKEN, PHLO_ID and PHLO_MPC_NODE_ID."
    )
PHLO_SIMULATOR = False

# --- The public address: callbacks are signed against it, hosts derive from it ---------------
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL").rstrip("/")
_public = urlsplit(PUBLIC_BASE_URL)
if _public.scheme != "https" or not _public.hostname:
    _refuse(
        "PUBLIC_BASE_URL must be the https:// address Plivo and browsers reach this app at"
        f" (got {PUBLIC_BASE_URL or 'nothing'!r}); TLS ends at the proxy in front of it."
    )
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [_public.hostname])
if "*" in ALLOWED_HOSTS:
    # Channels checks websocket Origins against these hosts: "*" would accept any site.
    _refuse("DJANGO_ALLOWED_HOSTS must name the hosts, not '*'.")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [PUBLIC_BASE_URL])

# --- HTTPS behind the proxy -------------------------------------------------------------------
# The proxy terminates TLS and must overwrite X-Forwarded-Proto (deploy/nginx.conf does).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Pages get the CSRF token from the template (hx-headers), never from the cookie.
CSRF_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
# Turned off on purpose (other subdomains not on HTTPS yet): the deploy check, which the
# launcher runs and which must pass, says so as "silenced" instead of failing the start.
SILENCED_SYSTEM_CHECKS = [
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Static files, served by every app process ------------------------------------------------
MIDDLEWARE = [*MIDDLEWARE]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "whitenoise.middleware.WhiteNoiseMiddleware",
)
STATIC_ROOT = env_str("DJANGO_STATIC_ROOT") or str(BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names (cached for a year by browsers) plus pre-compressed copies.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Shared state: every process must see the same database and the same channel layer ------
# Without these the base settings quietly fall back to a SQLite file and an in-memory layer,
# which several processes cannot share: data would split between hosts, and pushes would
# reach only the pages held by the process that made the change.
if not env_str("DATABASE_URL") and not env_bool("DJANGO_ALLOW_SQLITE", False):
    _refuse(
        "DATABASE_URL is not set: production keeps its data in PostgreSQL"
        " (postgres://user:password@host:5432/name). For a one-host trial on a SQLite file,"
        " set DJANGO_ALLOW_SQLITE=1 instead."
    )
if not env_str("REDIS_URL") and not env_bool("DJANGO_SINGLE_PROCESS", False):
    _refuse(
        "REDIS_URL is not set: the app's processes share live pushes through Redis"
        " (redis://host:6379/0). To run a single process with the in-memory layer, set"
        " DJANGO_SINGLE_PROCESS=1 instead."
    )

# --- The server process ------------------------------------------------------------------------
# Fewer and shorter garbage-collector pauses for a process that serves all day
# (contactcenter/gc_tuning.py); GC_TUNING=0 keeps Python's defaults.
GC_TUNED_FOR_SERVING = env_bool("GC_TUNING", True)

# --- Database ---------------------------------------------------------------------------------
# Under ASGI every request runs in a fresh thread, so a persistent connection is never reused
# and only piles up. Each process keeps a pool instead (psycopg[pool]; on by default when it
# is installed, DATABASE_POOL=0 to open one connection per request instead): a PostgreSQL
# connection costs milliseconds, a query on an open one a fraction of that.


def _pool_installed() -> bool:
    try:
        import psycopg_pool  # noqa: F401
    except ImportError:
        return False
    return True


DATABASES = {"default": dict(DATABASES["default"])}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    if env_bool("DATABASE_POOL", _pool_installed()):
        if not _pool_installed():
            _refuse("DATABASE_POOL=1 needs psycopg's pool: pip install 'psycopg[pool]'.")
        DATABASES["default"]["OPTIONS"] = {
            **DATABASES["default"].get("OPTIONS", {}),
            "pool": {
                "min_size": env_int("DATABASE_POOL_MIN", 2),
                "max_size": env_int("DATABASE_POOL_MAX", 10),
                "timeout": env_float("DATABASE_POOL_TIMEOUT", 10),
            },
        }
