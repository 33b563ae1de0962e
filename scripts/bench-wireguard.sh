#!/usr/bin/env bash
# Benchmark section 8 (scripts/bench.sh wireguard): what the wireguard backend costs, container to container.
# One run, same two namespace hosts, same containers, iperf3 TCP 5 s, median of BENCH_WG_RUNS (default 5):
#   1. overlayctl's vxlan overlay (the cost of encryption is read against it);
#   2. the same lab switched to `backend: wireguard` (userspace: wireguard-go, as this kernel has no module);
#   3. the same path built by hand after `destroy`: wireguard-go, wg set, the same MTU, keys and routes.
# Usage: scripts/bench-wireguard.sh OVERLAYCTL OUTDIR [--quick]   (root; bench.sh passes the native binary)
set -euo pipefail
ovl=$1 out=$2 quick=${3:-}
[ "$(id -u)" = 0 ] || { echo "bench-wireguard.sh: run as root" >&2; exit 1; }
runs=${BENCH_WG_RUNS:-5}; [ "$quick" = --quick ] && runs=1
stem=198.18.130
if ip -4 addr | grep -q " $stem\."; then echo "bench-wireguard.sh: $stem.0/24 is already held on this machine" >&2; exit 1; fi
work=$(mktemp -d /tmp/overlayctl-bench-wg.XXXXXX)
etcd_pid= spec=$work/bwg.yaml
wg_pids=()
cleanup() {
  set +e
  local p; for p in "${wg_pids[@]}"; do kill "$p" 2>/dev/null; done
  ip netns del bwgc1 2>/dev/null; ip netns del bwgc2 2>/dev/null
  [ -f "$spec" ] && "$ovl" lab down -f "$spec" >/dev/null 2>&1
  [ -n "$etcd_pid" ] && { kill "$etcd_pid"; wait "$etcd_pid"; } 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$((26000 + RANDOM % 1000))
etcd --name bwg --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
  --listen-peer-urls "http://127.0.0.1:$((port + 1000))" --initial-advertise-peer-urls "http://127.0.0.1:$((port + 1000))" \
  --initial-cluster "bwg=http://127.0.0.1:$((port + 1000))" --log-level error >"$work/etcd.log" 2>&1 &
etcd_pid=$!
for _ in $(seq 50); do ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$port" endpoint health >/dev/null 2>&1 && break; sleep 0.2; done

write_spec() { # backend
  {
    printf 'apiVersion: overlayctl/v1\nkind: Cluster\nname: bwg\netcd:\n  endpoints: [http://127.0.0.1:%s]\n  prefix: /bench/bwg\n' "$port"
    printf 'network:\n  cidr: 10.244.0.0/16\n  backend: %s\n  wireguard: { implementation: userspace, keyFile: "%s/{host}.key" }\n' "$1" "$work"
    printf 'docker:\n  daemonConfig: %s/{host}/daemon.json\n  subnetEnv: %s/{host}/subnet.env\nhosts:\n' "$work" "$work"
    printf '  - name: h%d\n    address: %s.%d\n    interface: eth0\n    connection: netns://bwg-h%d\n' 1 "$stem" 1 1 2 "$stem" 2 2
  } >"$spec"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
iperf() { # client-ns server-ns server-ip -> Gbit/s
  ip netns exec "$2" iperf3 -s -D -1 -I "$work/iperf.pid" >/dev/null; sleep 0.3
  ip netns exec "$1" iperf3 -c "$3" -t 5 -J | jq '.end.sum_received.bits_per_second / 1e9'
}
gbps() { # name client-ns server-ns server-ip: the median, each run kept in $work/runs-NAME
  local i name=$1; shift
  for ((i = 0; i < runs; i++)); do iperf "$@"; done | tee "$work/runs-$name" | median
}
attach() { # n: container n's host end into its host's docker0
  ip -n "bwg-h$1" link set "bwgv$1" master docker0 up
}

write_spec vxlan
"$ovl" lab up -f "$spec" >/dev/null
"$ovl" apply -f "$spec" >/dev/null 2>&1
leases=$("$ovl" leases list -f "$spec" -o json)
s1=$(jq -r '.leases[] | select(.host == "h1") | .subnet' <<<"$leases"); s2=$(jq -r '.leases[] | select(.host == "h2") | .subnet' <<<"$leases")
for n in 1 2; do
  s=$([ "$n" = 1 ] && echo "$s1" || echo "$s2"); net=${s%/*}
  ip netns add "bwgc$n"; ip link add "bwgv$n" type veth peer name eth0 netns "bwgc$n"; ip link set "bwgv$n" netns "bwg-h$n"
  attach "$n"
  ip -n "bwgc$n" addr add "${net%.*}.10/${s#*/}" dev eth0; ip -n "bwgc$n" link set lo up; ip -n "bwgc$n" link set eth0 up
  ip -n "bwgc$n" route add default via "${net%.*}.1"
done
c2="$(cut -d. -f1-3 <<<"${s2%/*}").10"
mtu_of() { ip -n bwg-h1 -j link show "$1" | jq '.[0].mtu'; }
set_container_mtu() { local n; for n in 1 2; do ip -n "bwgc$n" link set eth0 mtu "$1" up; done; }

set_container_mtu "$(mtu_of flannel.1)"
vxlan=$(gbps vxlan bwgc1 bwgc2 "$c2"); vxlan_mtu=$(mtu_of flannel.1)

write_spec wireguard
"$ovl" lab up -f "$spec" >/dev/null   # again: a WireGuard lab gives each host its own /run/wireguard
"$ovl" apply -f "$spec" >/dev/null 2>&1
wg_mtu=$(mtu_of flannel-wg); set_container_mtu "$wg_mtu"
ovlwg=$(gbps ovlwg bwgc1 bwgc2 "$c2")

# By hand on the same hosts and containers: what the anchors' users script, with the MTU overlayctl chose.
"$ovl" destroy --auto-approve -f "$spec" >/dev/null 2>&1
for n in 1 2; do
  ns="bwg-h$n"; s=$([ "$n" = 1 ] && echo "$s1" || echo "$s2")
  # destroy keeps a docker bridge with containers on it (without --force): take it as it is, or make it.
  ip -n "$ns" link show docker0 >/dev/null 2>&1 || ip -n "$ns" link add docker0 type bridge
  ip -n "$ns" addr replace "$(cut -d. -f1-3 <<<"${s%/*}").1/24" dev docker0; ip -n "$ns" link set docker0 up
  attach "$n"
  ip netns exec "$ns" wireguard-go -f "wgb$n" >/dev/null 2>&1 &
  wg_pids+=($!)
done
for _ in $(seq 50); do ip -n bwg-h1 link show wgb1 >/dev/null 2>&1 && ip -n bwg-h2 link show wgb2 >/dev/null 2>&1 && break; sleep 0.1; done
for n in 1 2; do (umask 077; wg genkey >"$work/hand$n.key"); wg pubkey <"$work/hand$n.key" >"$work/hand$n.pub"; done
for n in 1 2; do
  p=$((3 - n)); ns="bwg-h$n"; ps=$([ "$p" = 1 ] && echo "$s1" || echo "$s2")
  ip netns exec "$ns" wg set "wgb$n" private-key "$work/hand$n.key" listen-port 51820 \
    peer "$(cat "$work/hand$p.pub")" endpoint "$stem.$p:51820" allowed-ips "$ps"
  ip -n "$ns" link set "wgb$n" mtu "$wg_mtu" up
  ip -n "$ns" route replace "$ps" dev "wgb$n"
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
done
hand=$(gbps hand bwgc1 bwgc2 "$c2")

{
  echo "## 8. WireGuard (iperf3 TCP, 5 s, median of $runs, container to container, wireguard-go; load at end $(cut -d' ' -f1-3 /proc/loadavg))"
  echo "| overlayctl wireguard (MTU $wg_mtu) | hand-built wireguard-go (same MTU) | overlayctl vxlan (MTU $vxlan_mtu) | overlayctl / hand-built | wireguard / vxlan |"
  echo "|---|---|---|---|---|"
  mbit() { awk -v g="$1" 'BEGIN {printf "%.0f Mbit/s", g * 1000}'; }
  echo "| $(mbit "$ovlwg") | $(mbit "$hand") | $(mbit "$vxlan") | $(ratio "$ovlwg" "$hand") | $(ratio "$ovlwg" "$vxlan") |"
  echo "(each run, Gbit/s: overlayctl wireguard $(xargs <"$work/runs-ovlwg"), hand-built $(xargs <"$work/runs-hand"), vxlan $(xargs <"$work/runs-vxlan"))"
} | tee "$out/wireguard.txt"
