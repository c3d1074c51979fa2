#!/usr/bin/env bash
# Instructions per generated token (valgrind callgrind: counts, not seconds, so a busy shared host does not move
# them) of `grm generate` for two builds on the same libonnxruntime: OLD_BIN (default: a build of commit 01498d4,
# the engine's own binding) and this checkout. k = 8 sampled rows of models/tiny-random, one ORT thread, tiered JIT
# off; each build runs SHORT and LONG new tokens and the difference is divided by the tokens it added, so start-up,
# model load and JIT cancel out. Takes about a minute per run.
# Usage: OLD_BIN=dir tools/bench/instructions-per-token.sh [SHORT] [LONG]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
SHORT="${1:-16}"; LONG="${2:-80}"
NEW_BIN="$ROOT/src/GrmWorker.Cli/bin/Release/net10.0"
LIB="$NEW_BIN/runtimes/linux-x64/native/libonnxruntime.so"
OUT="$ROOT/artifacts/instructions"; mkdir -p "$OUT"
: "${OLD_BIN:?set OLD_BIN to a build of the old engine (tools/bench/compare-ort-binding.sh builds one under artifacts/bench-binding/old-src)}"
run() { # build-name bin-dir tokens
  local extra=(); [[ "$1" == old ]] && extra=(env GRM_ORT_LIBRARY="$LIB")
  "${extra[@]}" env DOTNET_TieredCompilation=0 valgrind --tool=callgrind --callgrind-out-file="$OUT/$1.$3.cg" \
    dotnet "$2/grm.dll" generate --model models/tiny-random --prompt "Which response is better, the first or the second one?" \
    --k 8 --temperature 0.7 --seed 1 --max-new-tokens "$3" --threads 1 --json >"$OUT/$1.$3.json" 2>"$OUT/$1.$3.err"
  local refs; refs=$(grep -o 'refs: *[0-9,]*' "$OUT/$1.$3.err" | tr -dc 0-9)
  local tokens; tokens=$(/usr/bin/python3 -c 'import json,sys; print(sum(len(s["tokens"]) for s in json.load(open(sys.argv[1]))["samples"]))' "$OUT/$1.$3.json")
  echo "$refs $tokens"
}
printf '%-6s %16s %16s %10s %22s\n' build "instr ($SHORT)" "instr ($LONG)" "+tokens" "instructions per token"
for b in old new; do
  bin=$NEW_BIN; [[ $b == old ]] && bin=$OLD_BIN
  read -r i1 t1 < <(run "$b" "$bin" "$SHORT")
  read -r i2 t2 < <(run "$b" "$bin" "$LONG")
  awk -v b="$b" -v i1="$i1" -v i2="$i2" -v t1="$t1" -v t2="$t2" 'BEGIN { printf "%-6s %16.0f %16.0f %10d %22.0f\n", b, i1, i2, t2 - t1, (i2 - i1) / (t2 - t1) }'
done
cmp -s "$OUT/old.$LONG.json" "$OUT/new.$LONG.json" && echo "same tokens: yes" || echo "same tokens: NO"
