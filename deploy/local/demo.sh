#!/usr/bin/env bash
# README command 1: the main job on the bundled defaults. Installs what is missing, starts Postgres
# and RabbitMQ on loopback, applies the migrations, starts a worker (`grm serve`) with the bundled
# model, publishes examples/jobs.jsonl with the plain-AMQP Python client, prints the rewards as a
# table, and stops the worker with SIGTERM (it finishes its batch and exits 0).
# Usage: deploy/local/demo.sh [JOBS.jsonl]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
JOBS="${1:-$ROOT/examples/jobs.jsonl}"
LOG="$ROOT/.local/demo-worker.log"

"$ROOT/deploy/local/setup.sh" curl
"$ROOT/deploy/local/services-up.sh" >/dev/null
. "$ROOT/deploy/local/env.sh"

echo "demo: building and applying migrations"
./grm db migrate

export GRM_HTTP__URL="${GRM_HTTP__URL:-http://127.0.0.1:18080}"
echo "demo: starting the worker (log: $LOG)"
./grm serve >"$LOG" 2>&1 &
WORKER=$!
stop_worker() {
  if kill -0 "$WORKER" 2>/dev/null; then
    kill -TERM "$WORKER"
    local rc=0; wait "$WORKER" || rc=$?
    echo "demo: worker stopped (exit $rc)"
  fi
}
trap stop_worker EXIT

for _ in $(seq 1 120); do
  curl -fsS "$GRM_HTTP__URL/readyz" >/dev/null 2>&1 && break
  kill -0 "$WORKER" 2>/dev/null || { echo "demo: the worker exited; last lines of $LOG:"; tail -20 "$LOG"; exit 1; }
  sleep 1
done
curl -fsS "$GRM_HTTP__URL/readyz" >/dev/null || { echo "demo: the worker is not ready after 120 s; see $LOG"; exit 1; }

echo "demo: publishing $(grep -c . "$JOBS") jobs from $JOBS"
RESULTS="$ROOT/.local/demo-results.jsonl"
/usr/bin/python3 examples/python/grm_publish.py "$JOBS" >"$RESULTS"
/usr/bin/python3 examples/python/print_rewards.py "$RESULTS"
