"""Settings for the contact center.

Everything comes from the environment. The defaults need nothing installed: a SQLite file,
the in-memory channel layer and the bundled PHLO simulator. `DATABASE_URL` switches to
PostgreSQL and `REDIS_URL` to the Redis channel layer; see the README for the full list.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url

from contactcenter.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CONTACTCENTER_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", True)
# The fallback key is for local development only; production settings refuse to start without one.
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or "dev-only-insecure-key-do-not-use-in-production"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "django_htmx",
    "agents",
    "calls",
    "calls.wallboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # `request.htmx` for the live pages' views, set before anything that may answer early
    # (the CSRF failure and database-down pages answer htmx differently).
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's AuthenticationMiddleware, with the user read from the cache (agents.signed_in).
    "agents.signed_in.SignedInUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a login refused for too many failures into the "try again later" page.
    "axes.middleware.AxesMiddleware",
    # A database down or restarting: 503 with a reason, not a 500 page.
    "contactcenter.middleware.DatabaseUnavailableAnswer",
    # A wrong method's 405 says which to use.
    "contactcenter.middleware.MethodNotAllowedReason",
]
# Under ASGI the chain and the view run in one thread hop (contactcenter.asgi_handler).

ROOT_URLCONF = "contactcenter.urls"
WSGI_APPLICATION = "contactcenter.wsgi.application"
ASGI_APPLICATION = "contactcenter.asgi.application"
# The garbage collector set for a server process once the ASGI application has loaded
# (contactcenter/gc_tuning.py): on in production, off here, where the test run and the
# development server import the application too.
GC_TUNED_FOR_SERVING = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
_SQLITE_DEFAULT = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL") or _SQLITE_DEFAULT)}
if not env_str("DATABASE_URL"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so concurrent writers queue on the
    # busy timeout instead of failing with "database is locked" when a read upgrades to a write.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Parameters sent apart from the SQL, so that psycopg prepares a statement run often (5
    # times on a connection): PostgreSQL then parses and plans it once per connection, not
    # at every run. Django turns both off by default for poolers that cannot keep prepared
    # statements: set DATABASE_PREPARED=0 behind PgBouncer in transaction mode (before
    # 1.21, or without max_prepared_statements). bench/NOTES.md has what it saves.
    if env_bool("DATABASE_PREPARED", True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": 5}
        )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer --------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    # Two redis-py defaults break channels_redis under load:
    # - its asyncio pool holds 100 connections and raises (it does not wait) when all are
    #   busy, so a burst of desktops connecting at once (a process restart) dropped sockets;
    # - its 5 s read timeout equals channels_redis's 5 s BZPOPMIN, so a busy process lost the
    #   race and the websocket running the receive loop was closed with a TimeoutError.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": env_int("REDIS_MAX_CONNECTIONS", 2000),
                        "socket_timeout": env_float("REDIS_SOCKET_TIMEOUT", 30),
                    }
                ],
                "prefix": env_str("CHANNELS_PREFIX", "contactcenter"),
                # The default of 100 silently drops pushes when a desktop falls behind.
                "capacity": 1000,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}
    }

# --- Cache: sessions, signed-in users, agents' profiles ----------------------------------------
# Every request and live page reads its session (contactcenter.session_store), its user
# (agents.signed_in) and its agent's profile (agents.profiles) from here, not PostgreSQL.
# With Redis the processes share it, so a change is forgotten by all at once; without Redis
# there is one process, and memory will do. Sessions are still kept in the database, and
# deleting one's row ends it everywhere at once (tests/wallboard/test_access.py).
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, with one connection pool per process, not per request
            # or websocket (contactcenter.cache).
            "BACKEND": "contactcenter.cache.SharedRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CHANNELS_PREFIX", "contactcenter"),
            "OPTIONS": {
                "socket_connect_timeout": env_float("REDIS_SOCKET_TIMEOUT", 30),
                "socket_timeout": env_float("REDIS_SOCKET_TIMEOUT", 30),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_ENGINE = "contactcenter.session_store"

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"

# --- Failed logins are slowed down (django-axes) ----------------------------------------------
# After LOGIN_FAILURE_LIMIT failures for one username, or from one address, logins for it are
# refused for LOGIN_COOLOFF_MINUTES, with a page that says why. A contact center often signs
# in from one office address: LOGIN_LIMIT_BY_ADDRESS=0 counts failures per username only.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # checks the lockout first; grants nothing itself
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("LOGIN_COOLOFF_MINUTES", 10))
AXES_LOCKOUT_PARAMETERS = (
    ["username", "ip_address"] if env_bool("LOGIN_LIMIT_BY_ADDRESS", True) else ["username"]
)
AXES_RESET_ON_SUCCESS = True
# Only failures are recorded: no row written on every login and logout.
AXES_DISABLE_ACCESS_LOG = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}

# --- Plivo PHLO -----------------------------------------------------------------------------
# With PHLO_SIMULATOR on (the default for local use) the app talks to the bundled simulator
# and the demo credentials below apply. They are not secrets and only work in demo mode.
PHLO_SIMULATOR = env_bool("PHLO_SIMULATOR", True)
PHLO_SIMULATOR_HOST = env_str("PHLO_SIMULATOR_HOST", "127.0.0.1")
PHLO_SIMULATOR_PORT = env_int("PHLO_SIMULATOR_PORT", 8001)
# Which callback vocabulary the simulator sends: "phlo" (node variables) or "mpc" (MPC status).
PHLO_SIMULATOR_VOCABULARY = env_str("PHLO_SIMULATOR_VOCABULARY", "phlo")

_DEMO = {
    "PLIVO_AUTH_ID": "MASIMULATOR000000000",
    "PLIVO_AUTH_TOKEN": "simulator-demo-token-not-a-secret",
    "PHLO_ID": "5e1d6a3c-0000-4000-8000-00000000d3e0",
    "PHLO_MPC_NODE_ID": "5e1d6a3c-0000-4000-8000-00000000d3e1",
    "PHLO_BASE_URL": f"http://{PHLO_SIMULATOR_HOST}:{PHLO_SIMULATOR_PORT}/v1",
}


def _phlo_setting(name: str, real_default: str = "") -> str:
    return env_str(name) or (_DEMO.get(name, real_default) if PHLO_SIMULATOR else real_default)


PLIVO_AUTH_ID = _phlo_setting("PLIVO_AUTH_ID")
PLIVO_AUTH_TOKEN = _phlo_setting("PLIVO_AUTH_TOKEN")
# Older tokens still accepted on callbacks while a token rotation is under way.
PLIVO_PREVIOUS_AUTH_TOKENS = env_list("PLIVO_PREVIOUS_AUTH_TOKENS", [])
PHLO_ID = _phlo_setting("PHLO_ID")
PHLO_MPC_NODE_ID = _phlo_setting("PHLO_MPC_NODE_ID")
PHLO_BASE_URL = _phlo_setting("PHLO_BASE_URL", "https://phlorunner.plivo.com/v1").rstrip("/")
# Connect and read timeouts for every PHLO request, in seconds.
PHLO_CONNECT_TIMEOUT = env_float("PHLO_CONNECT_TIMEOUT", 3.05)
PHLO_READ_TIMEOUT = env_float("PHLO_READ_TIMEOUT", 10.0)
# The URL Plivo reaches this app at. Webhook signatures are checked against it, never Host.
PUBLIC_BASE_URL = (
    env_str("PUBLIC_BASE_URL") or ("http://127.0.0.1:8000" if PHLO_SIMULATOR else "")
).rstrip("/")

# Inbound routing: the PHLO "HTTP Request" node sends this token as `Authorization: Bearer`.
ROUTING_API_TOKEN = env_str("ROUTING_API_TOKEN") or (
    "simulator-routing-token-not-a-secret" if PHLO_SIMULATOR else ""
)
# A call still dialling this long with no answer and no callback is ended by housekeeping.
CALL_DIAL_GRACE_SECONDS = env_int("CALL_DIAL_GRACE_SECONDS", 120)
# How often each app process runs that housekeeping (from the desktops' heartbeat), at most.
CALL_HOUSEKEEPING_INTERVAL_SECONDS = env_float("CALL_HOUSEKEEPING_INTERVAL_SECONDS", 30)
# A callback kept unapplied because the database went away mid-apply waits this long for
# the provider's retry; then housekeeping applies it (calls.services.kept_callbacks).
CALLBACK_APPLY_GRACE_SECONDS = env_float("CALLBACK_APPLY_GRACE_SECONDS", 60)
# A caller nobody can take (nobody free, or every agent offered the call did not take it)
# gets "message" (the no-agent message, then the call ends) or "voicemail" (they leave one).
INBOUND_NO_AGENT_OUTCOME = env_str("INBOUND_NO_AGENT_OUTCOME") or "message"
# Where a waiting caller is put through for that outcome: numbers or SIP addresses that play
# the message and hang up, or take a voicemail (the simulator's stand-ins when simulating).
INBOUND_MESSAGE_ENDPOINT = env_str("INBOUND_MESSAGE_ENDPOINT") or (
    "15005550006" if PHLO_SIMULATOR else ""
)
INBOUND_VOICEMAIL_ENDPOINT = env_str("INBOUND_VOICEMAIL_ENDPOINT") or (
    "15005550007" if PHLO_SIMULATOR else ""
)
# The wallboard lists this many live calls (oldest first), and agents per status; it counts
# the rest. The caps keep a big floor's board quick to draw.
WALLBOARD_CALLS_SHOWN = env_int("WALLBOARD_CALLS_SHOWN", 50)
WALLBOARD_AGENTS_SHOWN = env_int("WALLBOARD_AGENTS_SHOWN", 60)
# After-call work: seconds of wrap-up before an agent is Available again, and dispositions.
AGENT_WRAP_UP_SECONDS = env_int("AGENT_WRAP_UP_SECONDS", 60)
# Whether an agent consulted in a warm transfer (who talked, then left) gets a wrap-up too;
# by default only the agent who owned the customer conversation does.
AGENT_WRAP_UP_AFTER_CONSULT = env_bool("AGENT_WRAP_UP_AFTER_CONSULT", False)
CALL_DISPOSITIONS = env_list(
    "CALL_DISPOSITIONS",
    ["Resolved", "Follow-up needed", "Escalated", "Wrong number", "No answer", "Voicemail left"],
)

# --- Agent desktop --------------------------------------------------------------------------
# Reasons an agent can give for being Away, in the order the desktop lists them.
AGENT_AWAY_REASONS = env_list(
    "AGENT_AWAY_REASONS", ["Break", "Lunch", "Meeting", "Training", "Coaching", "Other"]
)
# The country of numbers typed without "+" and a country code, in the dial box and the
# transfer field (an ISO 3166 code that the phonenumbers library knows, e.g. "US", "GB").
PHONE_DEFAULT_REGION = (env_str("PHONE_DEFAULT_REGION") or "US").upper()
# How long an ended call waits on its owner's desktop for a disposition.
DESKTOP_WRAP_UP_WINDOW_HOURS = env_float("DESKTOP_WRAP_UP_WINDOW_HOURS", 12)
# A stale page's form post gets a short "reload" message instead of Django's CSRF page.
CSRF_FAILURE_VIEW = "agents.views.errors.csrf_failure"
