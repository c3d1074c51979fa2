#!/usr/bin/env python3
"""Client and gateway overhead against a running worker and gateway (tools/bench/client-bench.sh starts both).

1. client throughput: N requests the worker answers from storage (their requestIds were scored once before, so the
   worker only looks them up and publishes): requests/s published and confirmed, requests/s end to end (result
   back), and the client's own cost per request (its process CPU time / N, and the time submit() takes).
2. gateway added latency on stored results: M sequential calls of /v1/score vs client.score, p50 / p99.
3. a bundled-model job, fresh each time: latency through the client vs through the gateway (J jobs each).
Prints one JSON object.
"""
import json, os, statistics, sys, time, urllib.request, uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
from grm_client import GrmClient  # noqa: E402

N = int(os.environ.get("BENCH_REQUESTS", "2000"))
M = int(os.environ.get("BENCH_LATENCY_CALLS", "200"))
J = int(os.environ.get("BENCH_MODEL_JOBS", "10"))
GATEWAY = os.environ["BENCH_GATEWAY_URL"]
QUERY, RESPONSES = "What is 47 + 8?", ["47 + 8 = 55.", "It is 45."]


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def gateway_score(body):
    request = urllib.request.Request(GATEWAY + "/v1/score", json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.load(response)


with GrmClient.from_env() as client:
    run = uuid.uuid4().hex[:8]
    # stored results to replay: N distinct ids, scored once (one cheap job per id: k_max 1, a few tokens)
    ids = [f"bench-{run}-{i}" for i in range(N)]
    first = client.score_many([{"query": QUERY, "responses": RESPONSES, "request_id": i, "k_max": 1, "k_min": 1,
                                "max_new_tokens": 8} for i in ids], max_in_flight=256, timeout=1800)
    assert len(first) == N

    cpu0, wall0 = time.process_time(), time.perf_counter()
    published0 = client.stats.published
    submit_s = 0.0
    futures = []
    for i in ids:
        t = time.perf_counter()
        futures.append(client.submit(QUERY, RESPONSES, request_id=i, k_max=1, k_min=1, max_new_tokens=8))
        submit_s += time.perf_counter() - t
    while client.stats.published - published0 < N:  # every request published and confirmed by the broker
        time.sleep(0.001)
    published_s = time.perf_counter() - wall0
    results = [f.result(timeout=600) for f in futures]
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    assert all(r.raw == f.raw for r, f in zip(results, first)), "a stored result changed"

    direct, via_gateway = [], []
    for i in ids[:M]:
        t = time.perf_counter(); client.score(QUERY, RESPONSES, request_id=i); direct.append(time.perf_counter() - t)
        t = time.perf_counter(); gateway_score({"requestId": i, "query": QUERY, "responses": RESPONSES}); via_gateway.append(time.perf_counter() - t)

    model_direct, model_gateway = [], []
    for j in range(J):
        body = {"query": QUERY, "responses": RESPONSES, "seed": j}
        t = time.perf_counter(); client.score(QUERY, RESPONSES, request_id=f"bench-{run}-m{j}-c", seed=j); model_direct.append(time.perf_counter() - t)
        t = time.perf_counter(); gateway_score(dict(body, requestId=f"bench-{run}-m{j}-g")); model_gateway.append(time.perf_counter() - t)

ms = lambda s: round(s * 1000, 2)
print(json.dumps({
    "requests": N,
    "client": {"published_per_s": round(N / published_s, 1), "requests_per_s": round(N / wall, 1), "wall_s": round(wall, 3), "cpu_us_per_request": round(cpu / N * 1e6, 1),
               "submit_us_per_request": round(submit_s / N * 1e6, 1)},
    "stored_latency_ms": {"calls": M, "client_p50": ms(pct(direct, 50)), "client_p99": ms(pct(direct, 99)),
                          "gateway_p50": ms(pct(via_gateway, 50)), "gateway_p99": ms(pct(via_gateway, 99)),
                          "gateway_added_p50": ms(pct(via_gateway, 50) - pct(direct, 50)), "gateway_added_p99": ms(pct(via_gateway, 99) - pct(direct, 99))},
    "model_job_latency_ms": {"jobs": J, "client_median": ms(statistics.median(model_direct)), "gateway_median": ms(statistics.median(model_gateway)),
                             "gateway_added_percent": round((statistics.median(model_gateway) / statistics.median(model_direct) - 1) * 100, 2)},
}, indent=1))
