#!/usr/bin/env bash
# Start N daphne processes on consecutive ports, for hosts without systemd (containers,
# supervisors). Stops them all when it gets SIGTERM/SIGINT or when any of them exits.
#
#   set -a; . /etc/contactcenter/contactcenter.env; set +a
#   deploy/run-daphne.sh                 # one process per core, ports 8001...
#   PROCESSES=4 BASE_PORT=9001 deploy/run-daphne.sh
#
# Point nginx's upstream (deploy/nginx.conf) at the same ports.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
PROCESSES=${PROCESSES:-$(nproc)}
BASE_PORT=${BASE_PORT:-8001}
BIND=${BIND:-127.0.0.1}
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-contactcenter.settings_production}

# Refuse to start on a configuration Django itself calls unsafe.
"$PYTHON" manage.py check --deploy --fail-level WARNING

pids=()
stop() {
  trap - TERM INT
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap 'stop; exit 0' TERM INT

for ((i = 0; i < PROCESSES; i++)); do
  port=$((BASE_PORT + i))
  # Pings each websocket every 10 s and drops one silent for 20 s more (a browser gone dead).
  "$PYTHON" -m daphne --bind "$BIND" --port "$port" --proxy-headers \
    --ping-interval 10 --ping-timeout 20 \
    --application-close-timeout 10 contactcenter.asgi:application &
  pids+=($!)
  echo "daphne $((i + 1))/$PROCESSES on $BIND:$port (pid $!)"
done

# One process dying takes the set down, so the supervisor above restarts it whole.
wait -n "${pids[@]}"
status=$?
stop
exit "$status"
