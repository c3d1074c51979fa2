"""What OpenRLHF does with `--remote_rm_url http://HOST:8090/get_reward` (openrlhf.utils.remote_rm_utils), against `grm gateway`.

Run: GRM_GATEWAY_URL=http://127.0.0.1:8090 python3 examples/python/openrlhf_example.py
"""
import json, os, urllib.request

url = os.environ.get("GRM_GATEWAY_URL", "http://127.0.0.1:8090") + "/get_reward"
prompts = ["Which is right: 12 + 7?"] * 2 + ["Which is right: 5 * 6?"] * 2  # n_samples_per_prompt = 2
responses = [" 19", " 21", " 30", " 11"]
payload = {"query": [p + r for p, r in zip(prompts, responses)], "prompts": prompts, "labels": ["19", "19", "30", "30"]}
headers = {"Content-Type": "application/json"}
if os.environ.get("GRM_GATEWAY__BEARERTOKEN"):
    headers["Authorization"] = "Bearer " + os.environ["GRM_GATEWAY__BEARERTOKEN"]
request = urllib.request.Request(url, json.dumps(payload).encode(), headers)
with urllib.request.urlopen(request, timeout=300) as response:
    rewards = json.load(response)["rewards"]  # one float per query, in query order
print(json.dumps(rewards))
