"""contactcenter.settings_production: safe by default, refuses what would be unsafe, and
passes Django's deploy check with no warnings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.deploy.production_env import ENV, KEY, READ, ROOT, load


def refusal(monkeypatch, **env: str | None) -> str:
    with pytest.raises(ImproperlyConfigured) as caught:
        load(monkeypatch, **env)
    return str(caught.value)


def test_a_complete_environment_gives_safe_settings(monkeypatch):
    s = load(monkeypatch)
    assert s.DEBUG is False
    assert s.SECRET_KEY == KEY
    assert s.PHLO_SIMULATOR is False
    assert s.ALLOWED_HOSTS == ["cc.example.com"]
    assert s.CSRF_TRUSTED_ORIGINS == ["https://cc.example.com"]
    assert s.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")
    assert s.SECURE_SSL_REDIRECT and s.SESSION_COOKIE_SECURE and s.CSRF_COOKIE_SECURE
    assert s.SECURE_HSTS_SECONDS >= 31536000
    assert s.SECURE_HSTS_INCLUDE_SUBDOMAINS and s.SECURE_HSTS_PRELOAD


def test_whitenoise_serves_static_files_right_after_the_security_middleware(monkeypatch):
    s = load(monkeypatch, DJANGO_STATIC_ROOT="/srv/cc/static")
    at = s.MIDDLEWARE.index("django.middleware.security.SecurityMiddleware")
    assert s.MIDDLEWARE[at + 1] == "whitenoise.middleware.WhiteNoiseMiddleware"
    assert s.STORAGES["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    assert s.STATIC_ROOT == "/srv/cc/static"


def test_the_redis_layer_allows_bursts_of_connections(monkeypatch):
    s = load(monkeypatch, REDIS_URL="redis://127.0.0.1:6379/3")
    (host,) = s.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]
    assert host == {
        "address": "redis://127.0.0.1:6379/3",
        "max_connections": 2000,
        # Longer than channels_redis's 5 s blocking pop, or a busy process drops a socket.
        "socket_timeout": 30,
    }
    s = load(monkeypatch, REDIS_URL="redis://127.0.0.1:6379/3", REDIS_MAX_CONNECTIONS="500")
    assert s.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["max_connections"] == 500


def test_the_development_settings_are_left_alone(monkeypatch):
    from django.conf import settings

    load(monkeypatch)
    assert "whitenoise.middleware.WhiteNoiseMiddleware" not in settings.MIDDLEWARE


def test_hosts_and_hsts_can_be_set_explicitly(monkeypatch):
    s = load(
        monkeypatch,
        DJANGO_ALLOWED_HOSTS="cc.example.com,agents.example.com",
        DJANGO_HSTS_SECONDS="3600",
        DJANGO_HSTS_PRELOAD="0",
    )
    assert s.ALLOWED_HOSTS == ["cc.example.com", "agents.example.com"]
    assert s.SECURE_HSTS_SECONDS == 3600
    assert s.SECURE_HSTS_PRELOAD is False


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (None, "DJANGO_SECRET_KEY is not set"),
        ("", "DJANGO_SECRET_KEY is not set"),
        ("short-but-random-Xq9", "shorter than 50 characters"),
        ("ab" * 40, "fewer than 5 different characters"),
        ("django-insecure-" + secrets.token_urlsafe(50), "is a development key"),
        ("dev-only-insecure-key-do-not-use-in-production" * 2, "is a development key"),
    ],
)
def test_a_missing_or_weak_secret_key_is_refused_without_showing_it(monkeypatch, key, why):
    message = refusal(monkeypatch, DJANGO_SECRET_KEY=key)
    assert why in message
    if key:
        assert key not in message


def test_a_weak_fallback_key_is_refused(monkeypatch):
    message = refusal(monkeypatch, DJANGO_SECRET_KEY_FALLBACKS=f"{secrets.token_urlsafe(60)},old")
    assert "DJANGO_SECRET_KEY_FALLBACKS entry 2 is shorter than 50" in message
    assert ",old" not in message


def test_debug_is_refused(monkeypatch):
    assert "DJANGO_DEBUG is on" in refusal(monkeypatch, DJANGO_DEBUG="1")


@pytest.mark.parametrize("value", [None, "1", "yes"])
def test_the_simulator_must_be_switched_off_explicitly(monkeypatch, value):
    assert "PHLO_SIMULATOR must be set to 0" in refusal(monkeypatch, PHLO_SIMULATOR=value)


@pytest.mark.parametrize("url", [None, "http://cc.example.com", "https://"])
def test_the_public_url_must_be_https(monkeypatch, url):
    assert "PUBLIC_BASE_URL must be the https://" in refusal(monkeypatch, PUBLIC_BASE_URL=url)


def test_any_host_is_refused(monkeypatch):
    assert "not '*'" in refusal(monkeypatch, DJANGO_ALLOWED_HOSTS="*")


def test_no_database_or_redis_is_refused_unless_chosen_explicitly(monkeypatch):
    # Silently falling back to a SQLite file and the in-memory layer would split the data
    # and the pushes between processes.
    assert "DATABASE_URL is not set" in refusal(monkeypatch, DATABASE_URL=None)
    assert "REDIS_URL is not set" in refusal(monkeypatch, REDIS_URL=None)
    trial = load(
        monkeypatch,
        DATABASE_URL=None,
        REDIS_URL=None,
        DJANGO_ALLOW_SQLITE="1",
        DJANGO_SINGLE_PROCESS="1",
    )
    assert trial.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert "InMemoryChannelLayer" in trial.CHANNEL_LAYERS["default"]["BACKEND"]


def _manage(*args: str, **env: str | None) -> subprocess.CompletedProcess:
    return _python("manage.py", *args, **env)


def _python(*args: str, **env: str | None) -> subprocess.CompletedProcess:
    """Python in the project, under the production settings with ENV and `env`."""
    environment = {k: v for k, v in os.environ.items() if k not in READ}
    environment |= {"DJANGO_SETTINGS_MODULE": "contactcenter.settings_production"}
    environment |= {k: v for k, v in (ENV | env).items() if v is not None}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_deploy_check_passes_with_no_warnings():
    done = _manage("check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout
    assert "WARNING" not in done.stderr


def test_hsts_preload_or_subdomains_turned_off_on_purpose_is_silenced_not_refused():
    """The guide says to turn them off while other subdomains are not on HTTPS yet; the
    launcher runs this check and stops on any warning."""
    done = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_HSTS_PRELOAD="0",
        DJANGO_HSTS_INCLUDE_SUBDOMAINS="0",
    )
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues (2 silenced)." in done.stdout


def test_manage_py_stops_with_the_reason_when_the_key_is_missing():
    done = _manage("check", DJANGO_SECRET_KEY=None)
    assert done.returncode != 0
    # One line that names the variable, not a traceback.
    assert done.stderr.strip().splitlines() == [
        "Production settings refused to start: DJANGO_SECRET_KEY is not set. Generate one"
        ' with: python -c "import secrets; print(secrets.token_urlsafe(64))" and keep it out of'
        " the repository."
    ]


def test_manage_py_names_the_missing_database_in_one_line():
    done = _manage("check", DATABASE_URL=None)
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert "DATABASE_URL is not set" in line


def test_the_garbage_collector_is_tuned_for_serving_unless_turned_off(monkeypatch):
    from django.conf import settings

    assert load(monkeypatch).GC_TUNED_FOR_SERVING is True
    assert load(monkeypatch, GC_TUNING="0").GC_TUNED_FOR_SERVING is False
    # Development, the demo and the test run import the application too: left alone.
    assert settings.GC_TUNED_FOR_SERVING is False


_GC_STATE = (
    "import gc; import contactcenter.asgi;"
    " print(gc.get_threshold()[0], gc.get_freeze_count() > 10_000)"
)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({}, "50000 True", id="production"),
        pytest.param({"GC_TUNING": "0"}, "700 False", id="turned off"),
    ],
)
def test_loading_the_production_application_freezes_what_it_loaded(env, expected):
    done = _python("-c", _GC_STATE, **env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected
