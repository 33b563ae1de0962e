#!/usr/bin/env bash
# The one test command: installs what the tests need, publishes the native binary and builds, runs every
# test project (unit tests, real etcd, real network namespaces, the native binary), and ends with "N passed, N failed".
# Needs root (namespaces, iptables). Usage: scripts/test.sh [extra dotnet test args]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (the integration tests create network namespaces)" >&2; exit 1; }
scripts/deps.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# The product is the native binary; NativeBinaryTests run it as a process (the publish is skipped while it is up to date).
OVERLAYCTL_NATIVE=$(scripts/native.sh)
export OVERLAYCTL_NATIVE
dotnet build OverlayCtl.sln -c Release -nologo -v q
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
for project in tests/*/*.csproj; do
  echo "== $(basename "$project" .csproj)"
  # Normal console verbosity: a failing test prints its message and stack, not just its name.
  dotnet test "$project" -c Release --no-build -nologo -v q --logger "console;verbosity=normal" "$@" 2>&1 | tee -a "$log" || status=1
done
# The VSTest summary per project: "Passed: N", and "Failed: N" / "Skipped: N" only when non-zero.
count() { awk -v key="$1" '$1 == key":" && $2 ~ /^[0-9]+$/ && NF == 2 {s += $2} END {print s + 0}' "$log"; }
passed=$(count Passed); failed=$(count Failed); skipped=$(count Skipped)
[ "$failed" = 0 ] || status=1
[ "$passed" -gt 0 ] || { echo "test.sh: no test ran" >&2; status=1; }
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
