"""On PostgreSQL, parameters go apart from the SQL and psycopg prepares a statement the app
runs often (contactcenter.settings, DATABASE_PREPARED): PostgreSQL plans it once per
connection instead of at every run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from agents.models import Agent

ROOT = Path(__file__).resolve().parent.parent
PG_URL = "postgres://nobody@127.0.0.1:5432/nothing"  # settings only: nothing connects


def _options(**env: str) -> dict:
    child_env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_PREPARED", "DATABASE_URL")
    }
    child_env |= {"DJANGO_SETTINGS_MODULE": "contactcenter.settings", "DATABASE_URL": PG_URL}
    child_env |= env
    code = (
        "import django; from django.conf import settings; django.setup();"
        " o = settings.DATABASES['default'].get('OPTIONS', {});"
        " print(o.get('server_side_binding'), o.get('prepare_threshold'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    binding, threshold = out.stdout.split()
    return {"server_side_binding": binding, "prepare_threshold": threshold}


def test_postgresql_prepares_by_default_and_a_pooler_can_turn_it_off():
    assert _options() == {"server_side_binding": "True", "prepare_threshold": "5"}
    assert _options(DATABASE_PREPARED="0") == {
        "server_side_binding": "None",
        "prepare_threshold": "None",
    }


@pytest.mark.django_db
def test_a_statement_run_often_is_planned_once_on_the_connection():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL): SQLite has no prepared statements")
    if not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
        pytest.skip("DATABASE_PREPARED=0: prepared statements are off")

    def prepared() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return {row[0] for row in cursor.fetchall()}

    # A read no other test makes, so that the connection cannot have prepared it already.
    read = (
        Agent.objects.filter(endpoint="sip:prepared-statements@example.test")
        .order_by("-status_changed_at")
        .values_list("endpoint", flat=True)
    )
    before = prepared()
    for _ in range(6):  # more than psycopg's threshold (5 runs)
        list(read.all())  # a fresh queryset each time: no result cache
    (new,) = prepared() - before
    assert 'FROM "agents_agent"' in new and "$1" in new  # the parameter went apart
    assert '"status_changed_at" DESC' in new
