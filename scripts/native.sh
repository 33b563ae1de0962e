#!/usr/bin/env bash
# Publishes overlayctl as one native executable (NativeAOT: it needs no .NET runtime where it runs)
# into artifacts/native/ and prints its path on stdout. The publish takes a minute or two on 2 cores,
# so it is skipped while the binary is newer than every source and build file; delete artifacts/native
# to force it (e.g. after an SDK update). Needs the .NET 10 SDK and clang (scripts/deps.sh installs it).
# Usage: overlayctl=$(scripts/native.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/native
bin=$out/overlayctl
inputs=(src Directory.Build.props Directory.Packages.props global.json scripts/native.sh)
if [ -x "$bin" ] && [ -z "$(find "${inputs[@]}" \( -name bin -o -name obj \) -prune -o -type f -newer "$bin" -print -quit)" ]; then
  echo "$PWD/$bin"
  exit 0
fi
case "$(uname -m)" in
  x86_64) rid=linux-x64 ;;
  aarch64) rid=linux-arm64 ;;
  *) echo "native.sh: NativeAOT has no runtime pack for $(uname -m); use the dotnet tool (dotnet pack src/OverlayCtl.Cli)" >&2; exit 1 ;;
esac
echo "native.sh: publishing the native overlayctl ($rid, NativeAOT) into $out" >&2
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# dotnet prints build errors on stdout; stdout carries only the path.
dotnet publish src/OverlayCtl.Cli -c Release -r "$rid" -p:PublishAot=true -o "$out" -nologo -v q >&2
echo "$PWD/$bin"
