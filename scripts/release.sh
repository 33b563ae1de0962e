#!/usr/bin/env bash
# Builds what a release ships into artifacts/release (or --out DIR):
#   overlayctl-VERSION-linux-ARCH      the native binary (scripts/native.sh: NativeAOT, no .NET runtime needed)
#   overlayctl_VERSION_ARCH.deb        that binary in /usr/bin, overlayctl(1), bash/zsh/fish completion, the spec template
#   overlayctl.VERSION.nupkg           the dotnet tool (dotnet tool install -g --add-source DIR overlayctl)
# The man page and the completion scripts are printed by the binary itself (overlayctl manpage, overlayctl
# completion SHELL), so they describe exactly the commands it has. Everything builds offline.
# Usage: scripts/release.sh [--binary FILE] [--only native|deb|tool] [--out DIR]
#   --binary FILE  package this native binary instead of publishing one (the tests pass the one they run)
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/release
binary=
only=
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "release.sh: unknown argument '$1' (usage: scripts/release.sh [--binary FILE] [--only native|deb|tool] [--out DIR])" >&2; exit 2 ;;
  esac
done
case "$only" in ""|native|deb|tool) ;; *) echo "release.sh: --only takes native, deb or tool, not '$only'" >&2; exit 2 ;; esac
wants() { [ -z "$only" ] || [ "$only" = "$1" ]; }
mkdir -p "$out"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if wants native || wants deb; then
  [ -n "$binary" ] || binary=$(scripts/native.sh)
  # --version prints 0.1.0+COMMIT; packages carry the version alone.
  version=$("$binary" --version)
  version=${version%%+*}
  arch=$(dpkg --print-architecture)
fi

if wants native; then
  install -m 0755 "$binary" "$out/overlayctl-$version-linux-$arch"
  echo "$out/overlayctl-$version-linux-$arch"
fi

if wants deb; then
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  chmod 0755 "$root"
  install -D -m 0755 "$binary" "$root/usr/bin/overlayctl"
  install -d "$root/usr/share/man/man1" "$root/usr/share/bash-completion/completions" \
    "$root/usr/share/zsh/vendor-completions" "$root/usr/share/fish/vendor_completions.d" "$root/usr/share/doc/overlayctl"
  "$binary" manpage | gzip -9n > "$root/usr/share/man/man1/overlayctl.1.gz"
  "$binary" completion bash > "$root/usr/share/bash-completion/completions/overlayctl"
  "$binary" completion zsh > "$root/usr/share/zsh/vendor-completions/_overlayctl"
  "$binary" completion fish > "$root/usr/share/fish/vendor_completions.d/overlayctl.fish"
  install -m 0644 samples/cluster.yaml "$root/usr/share/doc/overlayctl/cluster.yaml"
  install -m 0644 README.md "$root/usr/share/doc/overlayctl/README.md"
  chmod 0644 "$root"/usr/share/man/man1/* "$root"/usr/share/*/*completion*/* "$root"/usr/share/fish/vendor_completions.d/*
  install -d "$root/DEBIAN"
  cat > "$root/DEBIAN/control" <<CONTROL
Package: overlayctl
Version: $version
Architecture: $arch
Maintainer: overlayctl developers <overlayctl@localhost>
Section: net
Priority: optional
Depends: libc6
Recommends: iproute2, iptables
Suggests: etcd-client, openvswitch-switch, wireguard-tools, docker.io
Installed-Size: $(du -sk "$root/usr" | cut -f1)
Description: one flat overlay network for container hosts, with leases in etcd
 overlayctl reads a YAML cluster spec, leases one subnet per host in etcd (flannel-compatible keys)
 and builds on every host Docker's bridge on that subnet and tunnels to every peer (VXLAN, Open vSwitch,
 host-gw or WireGuard). plan shows exactly what will change; apply converges; destroy removes what it made.
CONTROL
  deb="$out/overlayctl_${version}_${arch}.deb"
  dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
  echo "$deb"
fi

if wants tool; then
  # PackAsTool is set in the project: the package runs overlayctl on an installed .NET 10 runtime.
  dotnet pack src/OverlayCtl.Cli -c Release -o "$out" -nologo -v q >&2
  ls "$out"/overlayctl.*.nupkg
fi
