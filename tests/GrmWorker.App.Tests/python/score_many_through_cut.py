"""score_many of N jobs with a line per result as it arrives (the C# test cuts the broker connection meanwhile);
then one JSON summary line. Uses the installed grm_client and the GRM_RABBITMQ__* variables."""
import json, sys, uuid
from grm_client import GrmClient

n = int(sys.argv[1])
run = uuid.uuid4().hex[:8]
with GrmClient.from_env(timeout=300) as client:
    futures = [client.submit("Which is right: 2 + 2?", ["4", f"{i}"], request_id=f"cut-{run}-{i}") for i in range(n)]
    for f in futures:
        f.add_done_callback(lambda f: print("result", f.result().request_id, flush=True))
    results = [f.result(300) for f in futures]
    print(json.dumps({"results": len({r.request_id for r in results}), "ids": [r.request_id for r in results],
                      "reconnects": client.stats.reconnects, "republished": client.stats.republished}), flush=True)
