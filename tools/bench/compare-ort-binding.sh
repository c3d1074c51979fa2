#!/usr/bin/env bash
# Side-by-side inference benchmark (`grm bench inference` in OLD, `grm-bench inference` now) of two builds on the same libonnxruntime (the one this build ships):
# OLD = a commit before the move to Microsoft's managed API (default 01498d4, the last with our own
# Native/ binding), NEW = this checkout. Runs alternate OLD, NEW, OLD, NEW, ... so drift in machine load
# hits both alike; prints tokens/s per layout and batch size: the best round of each (the least disturbed on a
# shared host) and the median, with the ratio NEW/OLD of each.
# Usage: tools/bench/compare-ort-binding.sh [ROUNDS] [OLD_COMMIT]   (OLD_BIN=dir skips building OLD)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ROUNDS="${1:-3}"; OLD_COMMIT="${2:-01498d4}"
OUT="$ROOT/artifacts/bench-binding"; mkdir -p "$OUT"
NEW_BIN="$ROOT/bench/GrmWorker.Bench/bin/Release/net10.0"
dotnet build "$ROOT/bench/GrmWorker.Bench" -c Release -nologo -v quiet >/dev/null
ORT_LIB="$NEW_BIN/runtimes/linux-x64/native/libonnxruntime.so"
[[ -f "$ORT_LIB" ]] || { echo "compare: $ORT_LIB not found (build first)"; exit 1; }
if [[ -z "${OLD_BIN:-}" ]]; then
  WT="$OUT/old-src"; rm -rf "$WT"; git -C "$ROOT" worktree prune
  git -C "$ROOT" worktree add --detach "$WT" "$OLD_COMMIT" >/dev/null
  # the old build fetched ONNX Runtime from npm; point it at this build's library instead
  # the project whose assembly is `grm` in that commit (the single executable project before the Worker/Cli split)
  OLD_PROJECT="$(dirname "$(grep -l '<AssemblyName>grm</AssemblyName>' "$WT"/src/*/*.csproj | head -1)")"
  GRM_ORT_LIBRARY="$ORT_LIB" dotnet build "$OLD_PROJECT" -c Release -nologo -v quiet -p:GRM_ORT_LIBRARY="$ORT_LIB" >/dev/null
  OLD_BIN="$OLD_PROJECT/bin/Release/net10.0"
fi
for i in $(seq 1 "$ROUNDS"); do
  (cd "$ROOT" && GRM_ORT_LIBRARY="$ORT_LIB" dotnet "$OLD_BIN/grm.dll" bench inference --no-torch --json >"$OUT/old-$i.json")
  (cd "$ROOT" && dotnet "$NEW_BIN/grm-bench.dll" inference --no-torch --kv-rows 0 --json >"$OUT/new-$i.json")
  echo "compare: round $i of $ROUNDS done"
done
/usr/bin/python3 - "$OUT" "$ROUNDS" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def figures(path):
    doc = json.load(open(path)); rows = {}
    for m in doc["models"]:
        for b in m["batches"]:
            rows[(m["kvLayout"], b["batch"])] = b["tokensPerSecond"]
    return rows
old = [figures(f"{out}/old-{i}.json") for i in range(1, rounds + 1)]
new = [figures(f"{out}/new-{i}.json") for i in range(1, rounds + 1)]
print(f"{'layout':<14}{'B':>4}{'old best':>10}{'new best':>10}{'new/old':>9}{'old median':>12}{'new median':>12}{'new/old':>9}")
for key in sorted(old[0]):
    ob = max(r[key] for r in old); nb = max(r[key] for r in new)
    om = statistics.median(r[key] for r in old); nm = statistics.median(r[key] for r in new)
    print(f"{key[0]:<14}{key[1]:>4}{ob:>10,.0f}{nb:>10,.0f}{nb / ob:>9.3f}{om:>12,.0f}{nm:>12,.0f}{nm / om:>9.3f}")
PY
