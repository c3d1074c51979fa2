#!/usr/bin/env bash
# Memory of one worker (`grm serve`, bundled GRM, default settings) in a long run: feeds it fresh jobs at a steady rate
# (unique requestIds, the bundled held-out items cycled, kMax 4), samples its memory every 10 s into a CSV, checks that
# every job got its result, stops the worker with SIGTERM and prints RSS start (after warm-up) / peak / end / steady
# (median of the last half) and the least-squares slope of RSS over the last half in MB/min.
# Exit status: 0 when every job got a result, 1 when any is missing (or the worker died).
# Needs the local services (deploy/local/services-up.sh) and python3 with pika (Debian python3-pika).
# Usage: tools/bench/worker-soak.sh [MINUTES] [JOBS_PER_SECOND]        (defaults: 30 minutes, 2 jobs/s)
# Environment: SOAK_WARMUP_S (default 60: seconds of load before the start sample), SOAK_TAG (name of the output
# files), SOAK_HTTP_PORT (default 18099), SOAK_SKIP_BUILD=1 (use the existing Release build); anything else set in the
# environment (GRM_INFERENCE__INTRAOPTHREADS=1, MALLOC_ARENA_MAX, DOTNET_gcServer, ...) reaches the worker as is.
# Output: artifacts/worker-soak/TAG.csv (t_s, rss_mb, rss_anon_mb, rss_file_mb, gc_heap_mb, gc_committed_mb,
# generator_peak_mb, sent, scored), TAG.log (worker log), TAG.summary.json.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
MINUTES="${1:-30}"
RATE="${2:-2}"
WARMUP="${SOAK_WARMUP_S:-60}"
PORT="${SOAK_HTTP_PORT:-18099}"
TAG="${SOAK_TAG:-soak-$(date -u +%Y%m%dT%H%M%SZ)}"
. deploy/local/env.sh >/dev/null
[[ "${SOAK_SKIP_BUILD:-}" == 1 ]] || dotnet build src/GrmWorker.Cli -c Release -nologo -v quiet >/dev/null
BIN="$ROOT/src/GrmWorker.Cli/bin/Release/net10.0/grm.dll"
OUT="$ROOT/artifacts/worker-soak"; mkdir -p "$OUT"

if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null; then
  echo "something already answers on 127.0.0.1:$PORT (another worker?); stop it or set SOAK_HTTP_PORT" >&2; exit 1
fi
# jobs left in grm.score (a soak stopped early) would be scored by this worker too and distort its load
queued=$(/usr/bin/python3 -c '
import os, pika
e = os.environ.get
c = pika.BlockingConnection(pika.ConnectionParameters(host=e("GRM_RABBITMQ__HOST", "localhost"), port=int(e("GRM_RABBITMQ__PORT", "5672")),
    virtual_host=e("GRM_RABBITMQ__VIRTUALHOST", "/"), credentials=pika.PlainCredentials(e("GRM_RABBITMQ__USERNAME", "guest"), e("GRM_RABBITMQ__PASSWORD", "guest"))))
try:
    print(c.channel().queue_declare("grm.score", passive=True).method.message_count)
except pika.exceptions.ChannelClosedByBroker:
    print(0)  # not declared yet: the worker declares it
c.close()')
if ((queued > 0)); then
  echo "grm.score holds $queued jobs already; let a worker finish them or purge the queue first" >&2; exit 1
fi

stop_worker() {  # SIGTERM, then SIGKILL after 60 s: the next soak must find the port free
  kill -TERM "$worker" 2>/dev/null || return 0
  for _ in $(seq 60); do kill -0 "$worker" 2>/dev/null || break; sleep 1; done
  kill -KILL "$worker" 2>/dev/null || true
  wait "$worker" 2>/dev/null || true
}
GRM_HTTP__URL="http://127.0.0.1:$PORT" Logging__LogLevel__Default=Warning dotnet "$BIN" serve >"$OUT/$TAG.log" 2>&1 &
worker=$!
trap stop_worker EXIT
for _ in $(seq 120); do
  curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$worker" 2>/dev/null || { echo "worker exited during start-up; see $OUT/$TAG.log" >&2; exit 1; }
  sleep 1
done
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "worker not ready after 120 s; see $OUT/$TAG.log" >&2; exit 1; }

status=0
/usr/bin/python3 - "$worker" "$PORT" "$MINUTES" "$RATE" "$WARMUP" "$TAG" "$OUT" <<'PY' || status=$?
import json, os, statistics, sys, time, urllib.request
import pika

pid, port, minutes, rate, warmup, tag, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6], sys.argv[7]
items = [json.loads(l) for l in open("models/grm-tiny/heldout.jsonl", encoding="utf-8") if l.strip()]
run = f"{tag}-{os.getpid()}"

def proc_kb(name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0

def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return float("nan")

env = os.environ.get
connection = pika.BlockingConnection(pika.ConnectionParameters(
    host=env("GRM_RABBITMQ__HOST", "localhost"), port=int(env("GRM_RABBITMQ__PORT", "5672")),
    virtual_host=env("GRM_RABBITMQ__VIRTUALHOST", "/"),
    credentials=pika.PlainCredentials(env("GRM_RABBITMQ__USERNAME", "guest"), env("GRM_RABBITMQ__PASSWORD", "guest")),
    heartbeat=60))
channel = connection.channel()
channel.exchange_declare("grm.rewards", "topic", durable=True)
results = channel.queue_declare("", exclusive=True).method.queue
channel.queue_bind(results, "grm.rewards", routing_key=run)
pending, statuses = set(), {}
def on_result(ch, method, props, body):
    r = json.loads(body)
    if r.get("requestId") in pending:
        pending.discard(r["requestId"])
        statuses[r.get("status")] = statuses.get(r.get("status"), 0) + 1
channel.basic_consume(results, on_result, auto_ack=True)

csv = open(f"{out}/{tag}.csv", "w")
csv.write("t_s,rss_mb,rss_anon_mb,rss_file_mb,gc_heap_mb,gc_committed_mb,generator_peak_mb,sent,scored\n")
samples = []  # (t, rss_mb)
def sample(t):
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except Exception:
        text = ""
    rss, anon, file_ = proc_kb("VmRSS") / 1024, proc_kb("RssAnon") / 1024, proc_kb("RssFile") / 1024
    mb = lambda n: metric(text, n) / 2**20
    csv.write(f"{t:.0f},{rss:.1f},{anon:.1f},{file_:.1f},{mb('dotnet_gc_heap_size_bytes'):.1f},{mb('dotnet_gc_committed_bytes'):.1f},"
              f"{mb('grm_generator_peak_bytes'):.1f},{sent},{sent - len(pending)}\n")
    csv.flush()
    samples.append((t, rss))

sent, period, duration = 0, 1.0 / rate, minutes * 60
t0 = time.monotonic()
next_send, next_sample = t0, t0
while True:
    now = time.monotonic()
    if not os.path.exists(f"/proc/{pid}"):
        print("worker died during the soak", file=sys.stderr)
        sys.exit(1)
    if now >= next_sample:
        sample(now - t0)
        next_sample += 10
    if now - t0 >= duration:
        break
    while now >= next_send:
        item = items[sent % len(items)]
        rid = f"{run}-{sent:07d}"
        body = {"requestId": rid, "route": run, "query": item["query"], "responses": item["responses"], "kMax": 4}
        channel.basic_publish("", "grm.score", json.dumps(body).encode(), pika.BasicProperties(content_type="application/json", delivery_mode=2))
        pending.add(rid)
        sent += 1
        next_send += period
    connection.process_data_events(time_limit=max(0.0, min(next_send, next_sample) - time.monotonic()))
# drain: the last jobs' results (at most 120 s)
deadline = time.monotonic() + 120
while pending and time.monotonic() < deadline:
    connection.process_data_events(time_limit=1)
connection.close()

run_samples = [s for s in samples if s[0] >= warmup]
half = [s for s in run_samples if s[0] >= (run_samples[0][0] + run_samples[-1][0]) / 2] if run_samples else []
def slope(points):  # least squares, MB per minute
    if len(points) < 2:
        return float("nan")
    mt, mr = statistics.fmean(p[0] for p in points), statistics.fmean(p[1] for p in points)
    den = sum((p[0] - mt) ** 2 for p in points)
    return sum((p[0] - mt) * (p[1] - mr) for p in points) / den * 60 if den else float("nan")
summary = {
    "minutes": minutes, "jobs_per_second": rate, "warmup_s": warmup, "samples": len(samples),
    "rss_start_mb": run_samples[0][1] if run_samples else None,
    "rss_peak_mb": max(s[1] for s in samples), "rss_end_mb": samples[-1][1],
    "rss_steady_mb": statistics.median(s[1] for s in half) if half else None,
    "slope_last_half_mb_per_min": slope(half),
    "vmhwm_mb": proc_kb("VmHWM") / 1024,
    "jobs_sent": sent, "jobs_answered": sent - len(pending), "statuses": statuses, "missing": len(pending),
}
json.dump(summary, open(f"{out}/{tag}.summary.json", "w"), indent=1)
print(f"soak {tag}: {minutes:g} min at {rate:g} jobs/s, samples every 10 s in {out}/{tag}.csv")
print(f"  RSS start (after {warmup:g} s) {summary['rss_start_mb']:.1f} MB, peak {summary['rss_peak_mb']:.1f} MB, end {summary['rss_end_mb']:.1f} MB")
print(f"  steady (median of last half) {summary['rss_steady_mb']:.1f} MB, slope over last half {summary['slope_last_half_mb_per_min']:+.2f} MB/min")
print(f"  jobs sent {sent}, answered {sent - len(pending)} {statuses}, missing {len(pending)}")
sys.exit(1 if pending else 0)
PY
trap - EXIT
stop_worker
exit "$status"
