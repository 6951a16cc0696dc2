#!/usr/bin/env bash
# Install the project and its test tools into a virtualenv (.venv unless VENV says another),
# check style, and run the whole suite: once on the embedded defaults (SQLite + in-memory
# channel layer), then again on PostgreSQL + Redis when they are reachable. Extra arguments
# go to pytest (e.g. ./test.sh -k webhook).
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "Python 3.11 or newer is needed (set PYTHON=python3.11)." >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PY=$VENV/bin/python
"$PY" -m pip install --quiet --disable-pip-version-check -e '.[test]'

echo "== ruff"
"$PY" -m ruff check .
"$PY" -m ruff format --check .

echo "== import contracts (docs/architecture.md)"
"$VENV/bin/lint-imports" --no-cache

echo "== tests on SQLite + in-memory channel layer"
env -u DATABASE_URL -u REDIS_URL "$PY" -m pytest "$@"

PG_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
RD_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
if reason=$("$PY" scripts/services_reachable.py "$PG_URL" "$RD_URL"); then
  echo "== tests on PostgreSQL + Redis"
  DATABASE_URL=$PG_URL REDIS_URL=$RD_URL "$PY" -m pytest "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "CI needs PostgreSQL and Redis: $reason" >&2
  exit 1
else
  echo "== SKIPPED the PostgreSQL + Redis run: $reason"
fi
