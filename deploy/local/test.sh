#!/usr/bin/env bash
# README command 2 (and .ci/run): installs what is missing, builds once, runs every test project,
# and prints one closing line "Tests: N passed, N failed, N skipped" summed over all projects.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

"$ROOT/deploy/local/setup.sh" --test-tools || { echo "test: setup failed"; echo "Tests: 0 passed, 1 failed"; exit 1; }
# Real Postgres and RabbitMQ on loopback for the integration tests; their settings into the environment.
"$ROOT/deploy/local/services-up.sh" || { echo "test: services-up failed"; echo "Tests: 0 passed, 1 failed"; exit 1; }
. "$ROOT/deploy/local/env.sh"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
if ! dotnet build GrmWorker.sln -c Release -nologo -v quiet; then
  echo "test: build failed"; echo "Tests: 0 passed, 1 failed"; exit 1
fi

RESULTS="$ROOT/artifacts/test-results"
rm -rf "$RESULTS"; mkdir -p "$RESULTS"
status=0
# tests/GrmWorker.Testing is the test doubles' library, not a test project: only *.Tests projects run.
for proj in tests/*/*.Tests.csproj; do
  name="$(basename "$proj" .csproj)"
  echo "== $name"
  dotnet test "$proj" -c Release --no-build -nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" \
    --results-directory "$RESULTS" || status=1
done

passed=0; failed=0; skipped=0
for trx in "$RESULTS"/*.trx; do
  [[ -f "$trx" ]] || continue
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -1)"
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  total=$(get total); p=$(get passed); f=$(get failed); e=$(get error); t=$(get timeout); nx=$(get notExecuted)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0} + ${t:-0}))
  skipped=$((skipped + ${total:-0} - ${p:-0} - ${f:-0} - ${e:-0} - ${t:-0}))
  : "${nx:=0}"
done
projects=$(ls tests/*/*.Tests.csproj | wc -l); reports=$(ls "$RESULTS"/*.trx 2>/dev/null | wc -l)
if ((reports < projects)); then
  echo "test: only $reports of $projects test projects reported results"; failed=$((failed + projects - reports))
fi
((failed > 0)) && status=1
echo "Tests: $passed passed, $failed failed, $skipped skipped"
exit $status
