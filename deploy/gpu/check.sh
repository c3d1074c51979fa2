#!/usr/bin/env bash
# The one check an operator runs on a GPU host before serving with Inference:ExecutionProvider=cuda.
#   deploy/gpu/check.sh                  publishes the CUDA build (needs the .NET 10 SDK), then checks it
#   GRM_BIN=/app deploy/gpu/check.sh     checks an existing CUDA build (e.g. inside the deploy/Dockerfile.cuda image);
#                                        step 3 then needs GRM_BENCH_BIN, a CUDA build of grm-bench (the image has none)
# Needs: an NVIDIA GPU with a driver for CUDA 13, the CUDA 13 runtime libraries (libcudart.so.13,
# libcublas.so.13, libcublasLt.so.13, ...) and cuDNN 9 on the library path (the nvidia/cuda:13.x-cudnn-runtime
# images have them). Steps:
#   1. `grm info --execution-provider cuda`: the CUDA session starts on the bundled GRM;
#   2. greedy parity: CUDA and CPU give the same token ids on the bundled concat-layout models
#      (models/grm-tiny, models/tiny-random), several prompts each;
#   3. `grm-bench inference --execution-provider cuda`: tokens/s per batch size and the KV budget section
#      (bench/GrmWorker.Bench, published beside grm; skipped, and said so, when GRM_BIN is given without GRM_BENCH_BIN).
# Ends with one line: "gpu check: PASS ..." (exit 0) or "gpu check: FAIL <what>" (exit 1).
# GRM_CHECK_PROVIDER=cpu runs the same steps with CPU against CPU: a dry run of the script on any host.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
EP="${GRM_CHECK_PROVIDER:-cuda}"
OUT="$ROOT/artifacts/gpu-check"; mkdir -p "$OUT"
fail() { echo "gpu check: FAIL $*"; exit 1; }

if [[ -z "${GRM_BIN:-}" ]]; then
  command -v dotnet >/dev/null || fail "no dotnet SDK to build with; set GRM_BIN to a published CUDA build instead"
  # its own artifacts path: the CUDA restore must not touch the CPU build's obj/ folders
  echo "gpu check: publishing the CUDA build (-p:GrmExecution=cuda) under $OUT/build"
  dotnet publish src/GrmWorker.Cli -c Release -r linux-x64 -p:GrmExecution=cuda --artifacts-path "$OUT/build" -nologo -v quiet \
    >"$OUT/publish.log" 2>&1 || fail "publish failed; see $OUT/publish.log"
  GRM_BIN="$OUT/build/publish/GrmWorker.Cli/release_linux-x64"
  dotnet publish bench/GrmWorker.Bench -c Release -r linux-x64 -p:GrmExecution=cuda --artifacts-path "$OUT/build" -nologo -v quiet \
    >>"$OUT/publish.log" 2>&1 || fail "publish of grm-bench failed; see $OUT/publish.log"
  GRM_BENCH_BIN="$OUT/build/publish/GrmWorker.Bench/release_linux-x64"
fi
grm() { if [[ -x "$GRM_BIN/grm" ]]; then "$GRM_BIN/grm" "$@"; else dotnet "$GRM_BIN/grm.dll" "$@"; fi; }
grm_bench() { if [[ -x "$GRM_BENCH_BIN/grm-bench" ]]; then "$GRM_BENCH_BIN/grm-bench" "$@"; else dotnet "$GRM_BENCH_BIN/grm-bench.dll" "$@"; fi; }

# 1. the session
if ! grm info --execution-provider "$EP" --model models/grm-tiny --json >"$OUT/info.json" 2>"$OUT/info.err"; then
  fail "no $EP session: $(/usr/bin/env python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("error",""))' "$OUT/info.json" 2>/dev/null || cat "$OUT/info.err")"
fi
echo "gpu check: session ok: $(cat "$OUT/info.json")"

# 2. greedy parity, CUDA vs CPU
prompts=("What is 17 * 3?" "Sort the letters: d b a c" "Convert 3 km to m." "Reverse: hello" "Which is larger, 0.5 or 0.45?")
mismatches=0; compared=0
for model in models/grm-tiny models/tiny-random; do
  for i in "${!prompts[@]}"; do
    for ep in cpu "$EP"; do
      grm generate --model "$model" --prompt "${prompts[$i]}" --greedy --max-new-tokens 48 --json --execution-provider "$ep" \
        >"$OUT/parity-$(basename "$model")-$i-$ep.json" 2>>"$OUT/parity.err" || fail "grm generate on $ep failed for $model; see $OUT/parity.err"
    done
    compared=$((compared + 1))
    if ! cmp -s "$OUT/parity-$(basename "$model")-$i-cpu.json" "$OUT/parity-$(basename "$model")-$i-$EP.json"; then
      mismatches=$((mismatches + 1)); echo "gpu check: greedy ids differ on $model, prompt $i (see $OUT/parity-*-$i-*.json)"
    fi
  done
done
((mismatches == 0)) || fail "greedy parity: $mismatches of $compared prompts differ between cpu and $EP"
echo "gpu check: greedy parity ok on $compared prompts (cpu == $EP)"

# 3. the benchmark
if [[ -z "${GRM_BENCH_BIN:-}" ]]; then
  echo "gpu check: PASS ($EP session, greedy parity on $compared prompts; bench skipped: GRM_BIN given without GRM_BENCH_BIN)"
  exit 0
fi
grm_bench inference --execution-provider "$EP" --no-torch >"$OUT/bench.txt" 2>&1 || fail "grm-bench inference failed; see $OUT/bench.txt"
cat "$OUT/bench.txt"
echo "gpu check: PASS ($EP session, greedy parity on $compared prompts, bench in $OUT/bench.txt)"
