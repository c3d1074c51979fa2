#!/usr/bin/env bash
# Builds and runs the stopping lab (README.md here). Arguments go to the lab.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dotnet build "$HERE/stopping-lab.csproj" -c Release -nologo -v quiet -clp:NoSummary >/dev/null
exec dotnet "$HERE/bin/Release/net10.0/stopping-lab.dll" "$@"
