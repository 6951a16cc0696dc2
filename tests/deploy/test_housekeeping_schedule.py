"""Housekeeping every minute, as the deploy guide schedules it: the cron line it gives runs
with the production environment file, against the production database. Cron's own
environment has none of it; without the file, manage.py would run the development settings
against a SQLite file of its own."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cluster import Cluster, postgres_server_url, unreachable

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CRON = re.compile(r"^\* \* \* \* \*\s+(.+calls_housekeeping)$", re.MULTILINE)

# A call placed an hour ago that nothing ever answered: housekeeping's to end.
_STALE_CALL = """
import django
django.setup()
from datetime import timedelta
from django.utils import timezone
from calls.models import Call
Call.objects.create(status="dialling", created_at=timezone.now() - timedelta(hours=1))
"""


def _cron_line(doc: str) -> str:
    found = CRON.findall((ROOT / "docs" / doc).read_text())
    assert len(found) == 1, f"{doc} should give one housekeeping cron line: {found}"
    return found[0]


def test_the_guides_give_the_same_cron_line():
    assert _cron_line("deploying.md") == _cron_line("operations.md")


def test_the_cron_line_runs_housekeeping_with_the_production_environment(tmp_path):
    if problem := unreachable(postgres_server_url(), 5432):
        pytest.skip(f"needs PostgreSQL: {problem}")
    # One process, no Redis: housekeeping needs only the database.
    with Cluster(extra_env={"DJANGO_SINGLE_PROCESS": "1"}, label="cccron") as cluster:
        cluster.create(collectstatic=False)
        cluster.run_python("-c", _STALE_CALL)
        env_file = tmp_path / "contactcenter.env"
        env = cluster.env()
        wanted = [k for k in env if k.startswith(("DJANGO_", "PLIVO_", "PHLO_", "PUBLIC_"))]
        lines = [f"{k}={shlex.quote(env[k])}" for k in [*wanted, "DATABASE_URL"]]
        env_file.write_text("\n".join(lines) + "\n")
        line = (
            _cron_line("deploying.md")
            .replace("/srv/contactcenter", str(ROOT))
            .replace("/etc/contactcenter/contactcenter.env", str(env_file))
            .replace(".venv/bin/python", shlex.quote(sys.executable))
        )
        # As cron runs it: /bin/sh, next to nothing in the environment.
        done = subprocess.run(
            ["/bin/sh", "-c", f"{line} --dry-run"],
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "1 call(s) dialling with no news" in done.stdout, done.stdout

        done = subprocess.run(
            ["/bin/sh", "-c", line],
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert cluster.sql("select status from calls_call") == [("failed",)]


def test_the_systemd_timer_starts_the_service_with_the_environment_file():
    service = (DEPLOY / "contactcenter-housekeeping.service").read_text()
    timer = (DEPLOY / "contactcenter-housekeeping.timer").read_text()
    app = (DEPLOY / "contactcenter-daphne@.service").read_text()
    env_file = re.search(r"^EnvironmentFile=(.+)$", app, re.MULTILINE)[1]
    assert f"EnvironmentFile={env_file}" in service
    assert re.search(r"^ExecStart=\S+/python manage.py calls_housekeeping$", service, re.M)
    assert "OnCalendar=minutely" in timer and "WantedBy=timers.target" in timer
