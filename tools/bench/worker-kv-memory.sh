#!/usr/bin/env bash
# Peak RSS of a worker (`grm serve`, bundled GRM) under load, per KV budget: for each budget it starts a worker with
# GRM_INFERENCE__KVCACHEBUDGET set (or unset: "default"), publishes JOBS fresh jobs from the bundled held-out set
# with examples/python/grm_publish.py, waits for every result, reads the worker's VmHWM and stops it with SIGTERM.
# Needs the local services (deploy/local/services-up.sh).
# Usage: tools/bench/worker-kv-memory.sh [JOBS] [BUDGET ...]     e.g. 48 default 268435456 67108864
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
JOBS="${1:-48}"; shift || true
BUDGETS=("$@"); ((${#BUDGETS[@]})) || BUDGETS=(default 268435456 67108864)
. deploy/local/env.sh >/dev/null
dotnet build src/GrmWorker.Cli -c Release -nologo -v quiet >/dev/null
BIN="$ROOT/src/GrmWorker.Cli/bin/Release/net10.0/grm.dll"
OUT="$ROOT/artifacts/worker-kv-memory"; mkdir -p "$OUT"
printf '%-12s %6s %10s %16s %14s %10s\n' budget jobs "wall s" "RSS idle MB" "peak RSS MB" "jobs/s"
for budget in "${BUDGETS[@]}"; do
  run="kvmem-$(date +%s%N)"
  head -n "$JOBS" models/grm-tiny/heldout.jsonl | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    item = json.loads(line)
    print(json.dumps({"requestId": sys.argv[1] + "-" + item["id"], "route": sys.argv[1], "query": item["query"], "responses": item["responses"]}))
' "$run" >"$OUT/$run.jsonl"
  env_budget=(); [[ "$budget" == default ]] || env_budget=(GRM_INFERENCE__KVCACHEBUDGET="$budget")
  env "${env_budget[@]}" GRM_HTTP__URL= Logging__LogLevel__Default=Warning dotnet "$BIN" serve >"$OUT/$run.log" 2>&1 &
  worker=$!
  sleep 8  # model load and bus start
  idle=$(awk '/VmRSS/ {print $2}' "/proc/$worker/status")
  start=$(date +%s.%N)
  /usr/bin/python3 examples/python/grm_publish.py "$OUT/$run.jsonl" --timeout 900 >"$OUT/$run.results" || { echo "missing results; see $OUT/$run.log"; kill "$worker"; exit 1; }
  end=$(date +%s.%N)
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$worker/status")
  kill -TERM "$worker"; wait "$worker" || true
  awk -v b="$budget" -v j="$JOBS" -v s="$start" -v e="$end" -v h="$hwm" -v i="$idle" \
    'BEGIN { printf "%-12s %6d %10.1f %16.1f %14.1f %10.2f\n", b, j, e - s, i / 1024, h / 1024, j / (e - s) }'
done
