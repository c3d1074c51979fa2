"""score_many of N jobs with a line per result as it arrives (the C# test cuts the broker connection meanwhile);
then one JSON summary line. Uses the installed grm_client and the GRM_RABBITMQ__* variables."""
import json, sys, threading, uuid
from grm_client import GrmClient

out = threading.Lock()  # the callbacks print from the client's I/O thread: one whole line at a time


def say(line):
    with out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


n = int(sys.argv[1])
run = uuid.uuid4().hex[:8]
with GrmClient.from_env(timeout=300) as client:
    futures = [client.submit("Which is right: 2 + 2?", ["4", f"{i}"], request_id=f"cut-{run}-{i}") for i in range(n)]
    for f in futures:
        f.add_done_callback(lambda f: say(f"result {f.result().request_id}"))
    results = [f.result(300) for f in futures]
    say(json.dumps({"results": len({r.request_id for r in results}), "ids": [r.request_id for r in results],
                    "reconnects": client.stats.reconnects, "republished": client.stats.republished}))
