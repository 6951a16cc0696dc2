"""The production settings loaded afresh with a given environment, for the deploy and
security tests: a complete production environment (`ENV`), every variable the settings read
(`READ`) and `load(monkeypatch, **env)`."""

from __future__ import annotations

import importlib.util
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "contactcenter" / "settings_production.py"
BASE_MODULE = ROOT / "contactcenter" / "settings.py"
KEY = secrets.token_urlsafe(64)
ENV = {
    "DJANGO_SECRET_KEY": KEY,
    "PHLO_SIMULATOR": "0",
    "PUBLIC_BASE_URL": "https://cc.example.com",
    "PLIVO_AUTH_ID": "MAPRODTESTPRODTEST00",
    "PLIVO_AUTH_TOKEN": "prod-test-token",
    "PHLO_ID": "11111111-2222-4333-8444-555555555555",
    "PHLO_MPC_NODE_ID": "66666666-7777-4888-8999-000000000000",
    "DATABASE_URL": "postgres://cc:secret@db.example.com:5432/cc",
    "REDIS_URL": "redis://redis.example.com:6379/0",
}
READ = (
    *ENV,
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY_FALLBACKS",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    "DJANGO_SECURE_SSL_REDIRECT",
    "DJANGO_HSTS_SECONDS",
    "DJANGO_HSTS_INCLUDE_SUBDOMAINS",
    "DJANGO_HSTS_PRELOAD",
    "DJANGO_STATIC_ROOT",
    "DATABASE_POOL",
    "DJANGO_ALLOW_SQLITE",
    "DJANGO_SINGLE_PROCESS",
    "REDIS_MAX_CONNECTIONS",
    "REDIS_SOCKET_TIMEOUT",
    "GC_TUNING",
)


def load(monkeypatch, **env: str | None):
    """Execute the production settings afresh with exactly this environment."""
    for name in READ:
        monkeypatch.delenv(name, raising=False)
    for name, value in (ENV | env).items():
        if value is not None:
            monkeypatch.setenv(name, value)
    # The base settings read the environment too (REDIS_URL, ...): give the production module
    # a fresh copy of them for this environment; monkeypatch puts the real one back.
    base_spec = importlib.util.spec_from_file_location("contactcenter.settings", BASE_MODULE)
    base = importlib.util.module_from_spec(base_spec)
    base_spec.loader.exec_module(base)
    monkeypatch.setitem(sys.modules, "contactcenter.settings", base)
    spec = importlib.util.spec_from_file_location("settings_production_under_test", MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
