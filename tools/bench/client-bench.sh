#!/usr/bin/env bash
# The Python client's and the HTTP gateway's overhead (issue #18's bench): starts one worker (`grm serve`, bundled
# GRM) and one gateway on this checkout's local services, runs tools/bench/client_bench.py, stops both.
# Needs deploy/local/services-up.sh. Usage: tools/bench/client-bench.sh [REQUESTS] [LATENCY_CALLS] [MODEL_JOBS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
. deploy/local/env.sh >/dev/null
dotnet build src/GrmWorker.Cli -c Release -nologo -v quiet >/dev/null
BIN="$ROOT/src/GrmWorker.Cli/bin/Release/net10.0/grm.dll"
OUT="$ROOT/artifacts/client-bench"; mkdir -p "$OUT"
PORT="${BENCH_GATEWAY_PORT:-18090}"
GRM_HTTP__URL= Logging__LogLevel__Default=Warning dotnet "$BIN" serve >"$OUT/worker.log" 2>&1 &
worker=$!
GRM_GATEWAY__URL="http://127.0.0.1:$PORT" Logging__LogLevel__Default=Warning dotnet "$BIN" gateway >"$OUT/gateway.log" 2>&1 &
gateway=$!
trap 'kill -TERM $worker $gateway 2>/dev/null; wait $worker $gateway 2>/dev/null || true' EXIT
for _ in $(seq 120); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
sleep 5  # the worker's model load and bus start
BENCH_REQUESTS="${1:-2000}" BENCH_LATENCY_CALLS="${2:-200}" BENCH_MODEL_JOBS="${3:-10}" BENCH_GATEWAY_URL="http://127.0.0.1:$PORT" \
  /usr/bin/python3 tools/bench/client_bench.py | tee "$OUT/result.json"
