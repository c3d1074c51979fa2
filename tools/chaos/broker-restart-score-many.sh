#!/usr/bin/env bash
# A real RabbitMQ restart in the middle of the Python client's score_many: starts one worker (`grm serve`, bundled
# GRM), sends JOBS jobs with clients/python's score_many, stops and starts this checkout's local RabbitMQ once the
# first results are in, and checks that every job got its result and has exactly one row. Not part of the test
# suite (it restarts the broker every test shares); run it on a quiet checkout: tools/chaos/broker-restart-score-many.sh [JOBS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
JOBS="${1:-60}"
. deploy/local/env.sh >/dev/null
dotnet build src/GrmWorker.Cli -c Release -nologo -v quiet >/dev/null
OUT="$ROOT/artifacts/chaos"; mkdir -p "$OUT"
GRM_HTTP__URL= Logging__LogLevel__Default=Warning dotnet src/GrmWorker.Cli/bin/Release/net10.0/grm.dll serve >"$OUT/worker.log" 2>&1 &
worker=$!
trap 'kill -TERM $worker 2>/dev/null; wait $worker 2>/dev/null || true' EXIT
sleep 8
PYTHONPATH="$ROOT/clients/python" /usr/bin/python3 -u - "$JOBS" >"$OUT/client.out" 2>&1 <<'PY' &
import json, sys, uuid
from grm_client import GrmClient
n, run = int(sys.argv[1]), uuid.uuid4().hex[:8]
with GrmClient.from_env(timeout=600) as client:
    futures = [client.submit(f"Which is right: {i} + 1?", [str(i + 1), str(i + 2)], request_id=f"chaos-{run}-{i}") for i in range(n)]
    for f in futures:
        f.add_done_callback(lambda f: print("result", flush=True))
    results = [f.result(600) for f in futures]
    print(json.dumps({"results": len({r.request_id for r in results}), "statuses": sorted({r.status for r in results}),
                      "ids": [r.request_id for r in results], "reconnects": client.stats.reconnects,
                      "republished": client.stats.republished}), flush=True)
PY
client=$!
until [[ $(grep -c '^result' "$OUT/client.out" 2>/dev/null || true) -ge 3 ]]; do kill -0 $client 2>/dev/null || break; sleep 0.2; done
echo "chaos: $(grep -c '^result' "$OUT/client.out") of $JOBS results in; restarting RabbitMQ"
deploy/local/services-down.sh rabbitmq
deploy/local/services-up.sh >/dev/null
echo "chaos: RabbitMQ is back"
wait $client
summary="$(tail -n 1 "$OUT/client.out")"
echo "$summary" | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
print("chaos: %d results, statuses %s, reconnects %d, re-published %d" % (s["results"], s["statuses"], s["reconnects"], s["republished"]))
'
ids="$(echo "$summary" | /usr/bin/python3 -c 'import json, sys; print(",".join(json.load(sys.stdin)["ids"]))')"
rows="$(/usr/bin/python3 - "$ids" <<'PY'
import os, sys
# the row count per requestId through psql, with the worker's own connection settings
import subprocess
cs = dict(p.split("=", 1) for p in os.environ["GRM_POSTGRES__CONNECTIONSTRING"].split(";") if "=" in p)
ids = sys.argv[1].split(",")
sql = "SELECT count(*), count(DISTINCT request_id) FROM scoring_jobs WHERE request_id = ANY(string_to_array(:'ids', ','))"
env = dict(os.environ, PGPASSWORD=cs["Password"])
# psql interpolates :'ids' only in what it reads, not in -c
out = subprocess.run(["psql", "-h", cs["Host"], "-p", cs["Port"], "-U", cs["Username"], "-d", cs["Database"], "-At",
                      "-v", f"ids={sys.argv[1]}"], input=sql + ";\n", env=env, capture_output=True, text=True, check=True).stdout
print(out.strip())
PY
)"
echo "chaos: rows, distinct requestIds = $rows (expected $JOBS|$JOBS)"
[[ "$rows" == "$JOBS|$JOBS" ]] && echo "chaos: PASS" || { echo "chaos: FAIL"; exit 1; }
