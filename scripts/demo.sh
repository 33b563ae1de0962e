#!/usr/bin/env bash
# The demo: a throwaway etcd on 127.0.0.1:23790, three namespace hosts from samples/lab.yaml,
# a real `overlayctl apply`, then containers on every host pinging each other over VXLAN.
# Cleans up on exit; pass --keep to leave the lab running (then: scripts/demo.sh --down).
# Another lab spec with the same host names may follow, e.g. scripts/demo.sh samples/ovs-lab.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it creates network namespaces)" >&2; exit 1; }
spec=samples/lab.yaml
mode=
for arg in "$@"; do
  case "$arg" in --keep|--down) mode=$arg ;; *) spec=$arg ;; esac
done
state=/run/overlayctl/demo
overlayctl() { "$ovl" "$@"; }

down() {
  overlayctl destroy --auto-approve -f "$spec" --release-leases >/dev/null 2>&1 || true
  for n in 1 2 3; do ip netns del "ovl-c$n" 2>/dev/null || true; done
  overlayctl lab down -f "$spec" || true
  [ -f "$state/etcd.pid" ] && kill "$(cat "$state/etcd.pid")" 2>/dev/null || true
  rm -rf "$state" /run/overlayctl/lab /run/overlayctl/ovs-lab
}

scripts/deps.sh
# The native binary, as scripts/install.sh installs it (published once, reused while up to date).
ovl=$(scripts/native.sh)
if [ "$mode" = "--down" ]; then down; exit 0; fi
[ "$mode" = "--keep" ] || trap down EXIT

mkdir -p "$state"
if ! curl -fsS -X POST -d '{}' http://127.0.0.1:23790/v3/maintenance/status >/dev/null 2>&1; then
  etcd --name demo --data-dir "$state/etcd" \
    --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
    --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
    --initial-cluster demo=http://127.0.0.1:23800 >"$state/etcd.log" 2>&1 &
  echo $! >"$state/etcd.pid"
  for _ in $(seq 50); do curl -fsS -X POST -d '{}' http://127.0.0.1:23790/v3/maintenance/status >/dev/null 2>&1 && break; sleep 0.2; done
fi

echo "## validate"; overlayctl validate -f "$spec"
echo "## lab up";   overlayctl lab up -f "$spec"
echo "## plan";     overlayctl plan -f "$spec"
echo "## apply";    overlayctl apply -f "$spec"
echo "## plan again: a second apply must change nothing"; overlayctl plan -f "$spec" --detailed-exitcode && echo "no changes"
echo "## leases";   overlayctl leases list -f "$spec"

# A "container" per host: a namespace with a veth into the host's docker0, addressed from the lease.
subnets=$(overlayctl leases list -f "$spec" -o json | jq -r '.leases[] | "\(.host) \(.subnet)"')
n=0
declare -A cip
while read -r host subnet; do
  n=$((n + 1)); c="ovl-c$n"; net=${subnet%/*}; base=${net%.*}; len=${subnet#*/}
  ip netns add "$c"
  ip link add "ovlc$n" type veth peer name eth0 netns "$c"
  ip link set "ovlc$n" netns "ovl-$host"
  ip -n "ovl-$host" link set "ovlc$n" master docker0 up
  ip -n "$c" addr add "$base.10/$len" dev eth0
  ip -n "$c" link set eth0 up; ip -n "$c" link set lo up
  ip -n "$c" route add default via "$base.1"
  cip[$c]="$base.10"
done <<<"$subnets"
echo "## container pings across hosts"
for from in "${!cip[@]}"; do for to in "${!cip[@]}"; do
  [ "$from" = "$to" ] && continue
  if ip netns exec "$from" ping -c1 -W2 "${cip[$to]}" >/dev/null; then echo "$from -> $to (${cip[$to]}): ok"; else echo "$from -> $to (${cip[$to]}): FAILED"; fi
done; done
