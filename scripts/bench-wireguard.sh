#!/usr/bin/env bash
# Benchmark section 8 (scripts/bench.sh wireguard): what the wireguard backend costs, container to container.
# One lab, six namespace hosts in three pairs, each pair with a container namespace on each host:
#   h1-h2  overlayctl: first its vxlan overlay (the cost of encryption is read against it), then the same pair
#          switched to `backend: wireguard` (userspace: wireguard-go, as this kernel has no module);
#   h3-h4  the same WireGuard path built by hand: wireguard-go, wg set, the MTU overlayctl chose, a route;
#   h5-h6  the hand-built path of h3-h4 plus the iptables rules overlayctl installed on h1-h2, copied
#          (flannel's forward-accept and masquerade chains), to tell the rules' cost from overlayctl's.
# Every pair's containers use the same subnets (the pairs never route to one another), so the copied rules match
# as on h1-h2. iperf3 TCP 5 s; the three paths take turns, BENCH_WG_RUNS rounds (default 5), each round starting
# with the next path; medians.
# Usage: scripts/bench-wireguard.sh OVERLAYCTL OUTDIR [--quick]   (root; bench.sh passes the native binary)
set -euo pipefail
ovl=$1 out=$2 quick=${3:-}
[ "$(id -u)" = 0 ] || { echo "bench-wireguard.sh: run as root" >&2; exit 1; }
runs=${BENCH_WG_RUNS:-5}; [ "$quick" = --quick ] && runs=1
stem=198.18.130
if ip -4 addr | grep -q " $stem\."; then echo "bench-wireguard.sh: $stem.0/24 is already held on this machine" >&2; exit 1; fi
work=$(mktemp -d /tmp/overlayctl-bench-wg.XXXXXX)
etcd_pid= spec=$work/bwg.yaml
cleanup() {
  set +e
  local n; for n in 3 4 5 6; do [ -f "$work/wgb$n.pid" ] && start-stop-daemon --stop --quiet --retry 5 --pidfile "$work/wgb$n.pid"; done
  for n in 1 2 3 4 5 6; do ip netns del "bwgc$n" 2>/dev/null; done
  [ -f "$spec" ] && "$ovl" lab down -f "$spec" >/dev/null 2>&1
  [ -n "$etcd_pid" ] && { kill "$etcd_pid"; wait "$etcd_pid"; } 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$((26000 + RANDOM % 1000))
. "$(dirname "$0")/bench-etcd.sh"
start_etcd bwg "$work/etcd" "$port"

write_spec() { # backend: six hosts for lab up; overlayctl drives h1 and h2 only (--limit)
  local n
  {
    printf 'apiVersion: overlayctl/v1\nkind: Cluster\nname: bwg\netcd:\n  endpoints: [http://127.0.0.1:%s]\n  prefix: /bench/bwg\n' "$port"
    printf 'network:\n  cidr: 10.244.0.0/16\n  backend: %s\n  wireguard: { implementation: userspace, keyFile: "%s/{host}.key" }\n' "$1" "$work"
    printf 'docker:\n  daemonConfig: %s/{host}/daemon.json\n  subnetEnv: %s/{host}/subnet.env\nhosts:\n' "$work" "$work"
    for n in 1 2 3 4 5 6; do printf '  - name: h%d\n    address: %s.%d\n    interface: eth0\n    connection: netns://bwg-h%d\n' "$n" "$stem" "$n" "$n"; done
  } >"$spec"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
iperf() { # client-ns server-ns server-ip -> Gbit/s
  ip netns exec "$2" iperf3 -s -D -1 -I "$work/iperf.pid" >/dev/null; sleep 0.3
  ip netns exec "$1" iperf3 -c "$3" -t 5 -J | jq '.end.sum_received.bits_per_second / 1e9'
}
subnet_of() { [ $(($1 % 2)) = 1 ] && echo "$s1" || echo "$s2"; } # odd hosts take h1's subnet, even ones h2's
peer_of() { [ $(($1 % 2)) = 1 ] && echo $(($1 + 1)) || echo $(($1 - 1)); }
ctr_ip() { local s; s=$(subnet_of "$1"); echo "$(cut -d. -f1-3 <<<"${s%/*}").10"; }

write_spec vxlan
"$ovl" lab up -f "$spec" >/dev/null
"$ovl" apply --limit h1,h2 -f "$spec" >/dev/null 2>&1
leases=$("$ovl" leases list -f "$spec" -o json)
s1=$(jq -r '.leases[] | select(.host == "h1") | .subnet' <<<"$leases"); s2=$(jq -r '.leases[] | select(.host == "h2") | .subnet' <<<"$leases")
for n in 1 2 3 4 5 6; do
  s=$(subnet_of "$n"); ns="bwg-h$n"
  ip -n "$ns" link show docker0 >/dev/null 2>&1 || ip -n "$ns" link add docker0 type bridge
  ip -n "$ns" addr replace "$(cut -d. -f1-3 <<<"${s%/*}").1/24" dev docker0; ip -n "$ns" link set docker0 up
  ip netns add "bwgc$n"; ip link add "bwgv$n" type veth peer name eth0 netns "bwgc$n"; ip link set "bwgv$n" netns "$ns"
  ip -n "$ns" link set "bwgv$n" master docker0 up
  ip -n "bwgc$n" addr add "$(ctr_ip "$n")/${s#*/}" dev eth0; ip -n "bwgc$n" link set lo up; ip -n "bwgc$n" link set eth0 up
  ip -n "bwgc$n" route add default via "$(cut -d. -f1-3 <<<"${s%/*}").1"
done
mtu_of() { ip -n bwg-h1 -j link show "$1" | jq '.[0].mtu'; }
set_container_mtu() { local n; for n in 1 2 3 4 5 6; do ip -n "bwgc$n" link set eth0 mtu "$1" up; done; }

set_container_mtu "$(mtu_of flannel.1)"; vxlan_mtu=$(mtu_of flannel.1)
for ((i = 0; i < runs; i++)); do iperf bwgc1 bwgc2 "$(ctr_ip 2)"; done >"$work/runs-vxlan"

write_spec wireguard
"$ovl" lab up -f "$spec" >/dev/null   # again: a WireGuard lab gives each host its own /run/wireguard
"$ovl" apply --limit h1,h2 -f "$spec" >/dev/null 2>&1
wg_mtu=$(mtu_of flannel-wg); set_container_mtu "$wg_mtu"

# By hand: what the anchors' users script, with the MTU overlayctl chose.
# Each wireguard-go in a session of its own, as a service manager (or overlayctl's start-stop-daemon) starts it:
# with the kernel's autogroup scheduling a session is a CPU-share group, so a wireguard-go left in this script's
# session would share iperf3's group and get another share of the two cores than overlayctl's (a first version did
# that, and measured the scheduler, not the path: 0.75 one way, about 0.95 once both were started alike).
for n in 3 4 5 6; do
  ip netns exec "bwg-h$n" start-stop-daemon --start --quiet --background --make-pidfile --pidfile "$work/wgb$n.pid" \
    --exec "$(command -v wireguard-go)" -- -f "wgb$n"
done
for n in 3 4 5 6; do
  for _ in $(seq 50); do ip -n "bwg-h$n" link show "wgb$n" >/dev/null 2>&1 && break; sleep 0.1; done
  (umask 077; wg genkey >"$work/hand$n.key"); wg pubkey <"$work/hand$n.key" >"$work/hand$n.pub"
done
for n in 3 4 5 6; do
  p=$(peer_of "$n"); ns="bwg-h$n"
  ip netns exec "$ns" wg set "wgb$n" private-key "$work/hand$n.key" listen-port 51820 \
    peer "$(cat "$work/hand$p.pub")" endpoint "$stem.$p:51820" allowed-ips "$(subnet_of "$p")"
  ip -n "$ns" link set "wgb$n" mtu "$wg_mtu" up
  ip -n "$ns" route replace "$(subnet_of "$p")" dev "wgb$n"
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
done
# h5 and h6 take the rules overlayctl installed on h1 and h2 (their subnets are h1's and h2's).
ip netns exec bwg-h1 iptables-save | ip netns exec bwg-h5 iptables-restore
ip netns exec bwg-h2 iptables-save | ip netns exec bwg-h6 iptables-restore
rules=$(ip netns exec bwg-h5 iptables-save | grep -c '^-A' || true)

paths=(ovlwg:1 hand:3 rules:5)
for ((i = 0; i < runs; i++)); do # each round starts with the next path, so no path always runs first
  for ((j = 0; j < 3; j++)); do
    p=${paths[$(((i + j) % 3))]} n=${p#*:}
    iperf "bwgc$n" "bwgc$((n + 1))" "$(ctr_ip $((n + 1)))" >>"$work/runs-${p%:*}"
  done
done
vxlan=$(median <"$work/runs-vxlan") ovlwg=$(median <"$work/runs-ovlwg") hand=$(median <"$work/runs-hand") withrules=$(median <"$work/runs-rules")

{
  echo "## 8. WireGuard (iperf3 TCP, 5 s, median of $runs taking turns, container to container, wireguard-go; load at end $(cut -d' ' -f1-3 /proc/loadavg))"
  echo "| overlayctl wireguard (MTU $wg_mtu) | hand-built (same MTU) | hand-built + overlayctl's $rules rules | overlayctl vxlan (MTU $vxlan_mtu) | overlayctl / hand-built | overlayctl / hand-built + rules | wireguard / vxlan |"
  echo "|---|---|---|---|---|---|---|"
  mbit() { awk -v g="$1" 'BEGIN {printf "%.0f Mbit/s", g * 1000}'; }
  echo "| $(mbit "$ovlwg") | $(mbit "$hand") | $(mbit "$withrules") | $(mbit "$vxlan") | $(ratio "$ovlwg" "$hand") | $(ratio "$ovlwg" "$withrules") | $(ratio "$ovlwg" "$vxlan") |"
  each() { awk '{printf "%s%.0f", (NR > 1 ? ", " : ""), $1 * 1000}' "$work/runs-$1"; }
  echo "(each run in turn, Mbit/s: overlayctl wireguard $(each ovlwg); hand-built $(each hand); hand-built + rules $(each rules); vxlan $(each vxlan))"
} | tee "$out/wireguard.txt"
