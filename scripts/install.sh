#!/usr/bin/env bash
# Installs overlayctl as one native executable, PREFIX/bin/overlayctl (PREFIX defaults to /usr/local).
# The machine that runs it needs no .NET runtime; this one needs the .NET 10 SDK and clang to build it
# (scripts/native.sh, which reuses artifacts/native/overlayctl while it is up to date).
# Usage: scripts/install.sh [PREFIX]
set -euo pipefail
prefix=${1:-/usr/local}
bin=$("$(dirname "$0")/native.sh")
install -D -m 0755 "$bin" "$prefix/bin/overlayctl"
echo "installed $prefix/bin/overlayctl"
