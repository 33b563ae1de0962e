#!/usr/bin/env bash
# The one test command: installs what the tests need, builds, runs every test project (unit tests,
# real etcd, real network namespaces), and ends with "N passed, N failed".
# Needs root (namespaces, iptables). Usage: scripts/test.sh [extra dotnet test args]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (the integration tests create network namespaces)" >&2; exit 1; }
scripts/deps.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build OverlayCtl.sln -c Release -nologo -v q
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
for project in tests/*/*.csproj; do
  echo "== $(basename "$project" .csproj)"
  dotnet test "$project" -c Release --no-build -nologo -v q "$@" 2>&1 | tee -a "$log" || status=1
done
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
[ "$failed" = 0 ] || status=1
[ "$passed" -gt 0 ] || { echo "test.sh: no test ran" >&2; status=1; }
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
