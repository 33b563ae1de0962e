#!/usr/bin/env bash
# Installs the Debian packages overlayctl's tests and demo drive for real: etcd, Open vSwitch,
# iproute2/iptables, ping, socat (verify's TCP exchange between probes; hosts need it too), sshd, WireGuard's tools and
# wireguard-go (the wireguard backend's userspace device, where the kernel has no WireGuard), tcpdump (the leak test), and clang, the linker NativeAOT needs for the native binary
# (scripts/native.sh; zlib comes with .NET 10's runtime pack), python3-yaml (PyYAML, the YAML 1.1 reader Ansible uses: the
# -o yaml tests read every document back with it); zsh and fish (the completion scripts run in them), groff and man-db (the
# man page is rendered), dpkg (the .deb is built and unpacked). Idempotent and quiet when everything is already there.
set -euo pipefail
packages=(etcd-server etcd-client openvswitch-switch iproute2 iptables iputils-ping openssh-server openssh-client ethtool procps iperf3 socat curl jq wireguard-tools wireguard-go tcpdump clang python3-yaml zsh fish groff-base man-db dpkg)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts these daemons on install; overlayctl's tests start their own instances.
for svc in etcd openvswitch-switch; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then systemctl stop "$svc" || true; fi
done
command -v dotnet >/dev/null || { echo "deps: the .NET 10 SDK is required (dotnet not on PATH)" >&2; exit 1; }
