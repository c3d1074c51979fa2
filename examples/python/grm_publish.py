#!/usr/bin/env python3
"""Publish scoring requests to a GrmWorker and print one result per requestId (plain AMQP, pika).

    python3 examples/python/grm_publish.py examples/jobs.jsonl          # JSONL file, one request per line
    echo '{"requestId":"r1","query":"2+2?","responses":["4","5"]}' | python3 examples/python/grm_publish.py -

Connection settings come from the same environment variables the worker reads
(GRM_RABBITMQ__HOST, __PORT, __VIRTUALHOST, __USERNAME, __PASSWORD; `source deploy/local/env.sh`).
Requests go to the default exchange with routing key `grm.score` (no envelope, no content type needed);
results come from the topic exchange `grm.rewards`, read through a temporary queue bound to each request's route.
Output: one JSON result per line, in the order they arrive. Exit 0 when every request got a result, 1 otherwise.
"""
import argparse
import json
import os
import sys
import time

import pika  # Debian: apt-get install python3-pika


def connect():
    env = os.environ.get
    params = pika.ConnectionParameters(
        host=env("GRM_RABBITMQ__HOST", "localhost"),
        port=int(env("GRM_RABBITMQ__PORT", "5672")),
        virtual_host=env("GRM_RABBITMQ__VIRTUALHOST", "/"),
        credentials=pika.PlainCredentials(env("GRM_RABBITMQ__USERNAME", "guest"), env("GRM_RABBITMQ__PASSWORD", "guest")),
    )
    return pika.BlockingConnection(params)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="JSONL file of requests, or - for stdin")
    parser.add_argument("--queue", default="grm.score", help="request queue (default grm.score)")
    parser.add_argument("--exchange", default="grm.rewards", help="result exchange (default grm.rewards)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for all results")
    args = parser.parse_args()

    source = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
    requests = [json.loads(line) for line in source if line.strip()]
    pending = {r["requestId"] for r in requests}

    connection = connect()
    channel = connection.channel()
    channel.confirm_delivery()
    channel.exchange_declare(args.exchange, "topic", durable=True)
    results = channel.queue_declare("", exclusive=True).method.queue
    for route in {r.get("route", "default") for r in requests}:
        channel.queue_bind(results, args.exchange, routing_key=route)

    for request in requests:
        channel.basic_publish("", args.queue, json.dumps(request).encode("utf-8"),
                              pika.BasicProperties(content_type="application/json", delivery_mode=2))

    deadline = time.monotonic() + args.timeout
    while pending and time.monotonic() < deadline:
        method, _, body = channel.basic_get(results, auto_ack=True)
        if method is None:
            connection.sleep(0.1)
            continue
        result = json.loads(body)
        if result.get("requestId") in pending:
            pending.discard(result["requestId"])
            print(json.dumps(result), flush=True)
    connection.close()
    if pending:
        print(f"no result within {args.timeout}s for: {', '.join(sorted(pending))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
