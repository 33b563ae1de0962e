#!/usr/bin/env bash
# Benchmark section 10 (scripts/bench.sh dualstack): what dual-stack costs, IPv4-only beside dual-stack on the same hosts.
# BENCH_DS_HOSTS (default 3) namespace hosts with IPv4 and IPv6 underlay addresses, vxlan; one spec written twice,
# IPv4-only and dual-stack (network.ipv6, each host's address6). Control plane: for each, a fresh apply (after
# destroy) and a no-op apply, best of BENCH_DS_RUNS (default 3), with the processes per host each started (netns hosts
# run every read as a process; the log file names each). Data plane: two containers (namespaces on docker0, both
# families, Docker's MTU 1450 for both, as Docker has one MTU) on the dual-stack overlay, iperf3 TCP 5 s over IPv4
# (flannel.1) and over IPv6 (flannel-v6.1, MTU 1430: TCP finds it by path-MTU discovery), taking turns, median of
# BENCH_DS_ROUNDS (default 3) each; the IPv6 underlay host to host as the ceiling.
# Usage: scripts/bench-dualstack.sh OVERLAYCTL OUTDIR [--quick]   (root; bench.sh passes the native binary)
set -euo pipefail
ovl=$1 out=$2 quick=${3:-}
[ "$(id -u)" = 0 ] || { echo "bench-dualstack.sh: run as root" >&2; exit 1; }
n=${BENCH_DS_HOSTS:-3} runs=${BENCH_DS_RUNS:-3} rounds=${BENCH_DS_ROUNDS:-3}; [ "$quick" = --quick ] && { runs=1; rounds=1; }
stem=198.18.236 stem6=fd00:198:18:236:
if ip -4 addr | grep -q " $stem\."; then echo "bench-dualstack.sh: $stem.0/24 is already held on this machine" >&2; exit 1; fi
work=$(mktemp -d /tmp/overlayctl-bench-ds.XXXXXX)
etcd_pid= v4_spec=$work/v4.yaml ds_spec=$work/ds.yaml
cleanup() {
  set +e
  local c; for c in bdsc1 bdsc2; do ip netns del "$c" 2>/dev/null; done
  [ -f "$ds_spec" ] && "$ovl" lab down -f "$ds_spec" >/dev/null 2>&1
  [ -n "$etcd_pid" ] && { kill "$etcd_pid"; wait "$etcd_pid"; } 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$((28000 + RANDOM % 1000))
. "$(dirname "$0")/bench-etcd.sh"
start_etcd bds "$work/etcd" "$port"

write_spec() { # file dual(0|1)
  local f=$1 dual=$2 i
  {
    printf 'apiVersion: overlayctl/v1\nkind: Cluster\nname: bds\netcd:\n  endpoints: [http://127.0.0.1:%s]\n  prefix: /bench/bds\n' "$port"
    printf 'network:\n  cidr: 10.244.0.0/16\n  backend: vxlan\n'
    [ "$dual" = 1 ] && printf '  ipv6: { cidr: "fd00:10:244::/48" }\n'
    printf 'docker:\n  daemonConfig: %s/{host}/daemon.json\n  subnetEnv: %s/{host}/subnet.env\nhosts:\n' "$work" "$work"
    for ((i = 1; i <= n; i++)); do
      printf '  - name: h%d\n    address: %s.%d\n' "$i" "$stem" "$((10 + i))"
      [ "$dual" = 1 ] && printf '    address6: "%s:%d"\n' "$stem6" "$((10 + i))"
      printf '    interface: eth0\n    connection: netns://bds-h%d\n' "$i"
    done
  } >"$f"
}
write_spec "$v4_spec" 0
write_spec "$ds_spec" 1
"$ovl" lab up -f "$ds_spec" >/dev/null

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
# measure SPEC MODE -> "seconds processes-per-host" of one apply (MODE fresh: destroy first, not timed)
measure() {
  local spec=$1 mode=$2 t0 t1
  [ "$mode" = fresh ] && { "$ovl" destroy --auto-approve --release-leases -f "$spec" >/dev/null 2>&1 || true; }
  rm -f "$work/apply.log"
  t0=$(now)
  "$ovl" apply -f "$spec" --log-file "$work/apply.log" >"$work/last.out" 2>&1 || { cat "$work/last.out" >&2; exit 1; }
  t1=$(now)
  awk -v a="$t0" -v b="$t1" -v p="$(grep -c ': run ' "$work/apply.log" || true)" -v n="$n" 'BEGIN {printf "%.3f %.1f\n", b - a, p / n}'
}
declare -A time procs
for spec in v4 ds; do
  for mode in fresh noop; do
    : >"$work/runs"
    for ((r = 0; r < runs; r++)); do measure "$work/$spec.yaml" "$mode" >>"$work/runs"; done
    read -r t p < <(sort -g "$work/runs" | head -1)
    time[$spec-$mode]=$t procs[$spec-$mode]=$p
    cp "$work/runs" "$out/dualstack-runs-$spec-$mode.txt"; cp "$work/apply.log" "$out/dualstack-apply-$spec-$mode.log"
  done
done

# Data plane on the dual-stack overlay (applied last, above).
leases=$("$ovl" leases list -f "$ds_spec" -o json)
container() { # host n
  local c="bdsc$2" s4 s6 net
  s4=$(jq -r --arg h "$1" '.leases[] | select(.host == $h) | .subnet' <<<"$leases"); s6=$(jq -r --arg h "$1" '.leases[] | select(.host == $h) | .subnet6' <<<"$leases")
  net=${s4%/*}
  ip netns add "$c"; ip link add "bdsv$2" type veth peer name eth0 netns "$c"
  ip link set "bdsv$2" netns "bds-$1"; ip -n "bds-$1" link set "bdsv$2" master docker0 up
  ip -n "$c" addr add "${net%.*}.10/${s4#*/}" dev eth0; ip -n "$c" addr add "${s6%/*}10/${s6#*/}" dev eth0 nodad
  ip -n "$c" link set eth0 mtu 1450 up; ip -n "$c" link set lo up
  ip -n "$c" route add default via "${net%.*}.1"; ip -n "$c" -6 route add default via "${s6%/*}1"
  echo "${net%.*}.10 ${s6%/*}10"
}
read -r c1v4 c1v6 < <(container h1 1)
read -r c2v4 c2v6 < <(container h2 2)
iperf() { # client-ns server-ns server-ip
  ip netns exec "$2" iperf3 -s -D -1 -I "$work/iperf.pid" >/dev/null; sleep 0.3
  ip netns exec "$1" iperf3 -c "$3" -t 5 -J | jq '.end.sum_received.bits_per_second / 1e9'
}
: >"$work/v4" >"$work/v6" >"$work/under6"
for ((r = 0; r < rounds; r++)); do
  iperf bdsc1 bdsc2 "$c2v4" >>"$work/v4"
  iperf bdsc1 bdsc2 "$c2v6" >>"$work/v6"
  iperf bds-h1 bds-h2 "$stem6:12" >>"$work/under6"
done
gbit() { median | awk '{printf "%.2f", $1}'; }
v4=$(gbit <"$work/v4") v6=$(gbit <"$work/v6") under6=$(gbit <"$work/under6")
{
  echo "## 10. Dual-stack against IPv4-only on the same $n hosts (best of $runs; iperf3 median of $rounds)"
  echo "| spec | fresh apply | no-op apply | processes/host fresh | processes/host no-op |"
  echo "|---|---|---|---|---|"
  echo "| IPv4-only | ${time[v4-fresh]} s | ${time[v4-noop]} s | ${procs[v4-fresh]} | ${procs[v4-noop]} |"
  echo "| dual-stack | ${time[ds-fresh]} s | ${time[ds-noop]} s | ${procs[ds-fresh]} | ${procs[ds-noop]} |"
  echo "| dual / IPv4 | $(ratio "${time[ds-fresh]}" "${time[v4-fresh]}")x | $(ratio "${time[ds-noop]}" "${time[v4-noop]}")x | | |"
  echo
  echo "| container to container over IPv4 | over IPv6 | IPv6 underlay | IPv6 / IPv4 | IPv6 / IPv6 underlay |"
  echo "|---|---|---|---|---|"
  echo "| $v4 Gbit/s | $v6 Gbit/s | $under6 Gbit/s | $(ratio "$v6" "$v4") | $(ratio "$v6" "$under6") |"
} | tee "$out/dualstack.txt"
