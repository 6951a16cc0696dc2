#!/usr/bin/env bash
# Install the project into a virtualenv (.venv unless VENV says another) and start the whole
# product on the embedded defaults: SQLite, the in-memory channel layer, the PHLO simulator
# and the demo data.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "Python 3.11 or newer is needed (set PYTHON=python3.11)." >&2; exit 1; }
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e .
exec "$VENV/bin/python" manage.py demo "$@"
