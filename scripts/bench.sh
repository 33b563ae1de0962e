#!/usr/bin/env bash
# Benchmarks, run on their own (never part of scripts/test.sh): overlayctl beside a peer, in the same
# run, on this machine. Writes raw results to artifacts/bench/ and prints the tables that go into
# docs/benchmarks.md. Needs root (namespaces). Usage: scripts/bench.sh [agents|wireguard|ssh|dualstack] [--quick]
# BENCH_SECTIONS="3 6" runs only those sections; `agents` is section 7 alone (scripts/bench-agents.sh,
# which takes BENCH_AGENT_SIZES="10 50 100" and the other knobs at its top), `wireguard` section 8 alone
# (scripts/bench-wireguard.sh), `ssh` section 9 alone (scripts/bench-ssh.sh), `dualstack` section 10 alone
# (scripts/bench-dualstack.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench.sh: run as root" >&2; exit 1; }
quick=
for arg in "$@"; do
  case $arg in
    agents) export BENCH_SECTIONS=7 ;;
    wireguard) export BENCH_SECTIONS=8 ;;
    ssh) export BENCH_SECTIONS=9 ;;
    dualstack) export BENCH_SECTIONS=10 ;;
    --quick) quick=--quick ;;
    *) echo "bench.sh: unknown argument $arg (usage: scripts/bench.sh [agents|wireguard|ssh|dualstack] [--quick])" >&2; exit 2 ;;
  esac
done
scripts/deps.sh
command -v hyperfine >/dev/null || { apt-get install -y -qq hyperfine >/dev/null; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 ETCDCTL_API=3

# The build the README installs: one NativeAOT binary (published once, reused while up to date).
ovl=$(scripts/native.sh)
out=artifacts/bench; mkdir -p "$out"
work=$(mktemp -d /tmp/overlayctl-bench.XXXXXX)
etcd_pid=
cleanup() {
  set +e
  for f in "$work"/*.yaml; do [ -f "$f" ] && "$ovl" lab down -f "$f" >/dev/null 2>&1; done
  for ns in bndpc1 bndpc2; do ip netns del "$ns" 2>/dev/null; done
  [ -n "$etcd_pid" ] && kill "$etcd_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# The lab underlay: in 198.18.0.0/15, which this machine holds no address in (lab up refuses one it does).
stem=198.18.230
want() { [[ " ${BENCH_SECTIONS:-1 2 3 4 5 6 7 8 9 10} " == *" $1 "* ]]; }
if want 1 || want 2 || want 5; then dotnet build bench/OverlayCtl.Bench -c Release -nologo -v q; fi
benchexe=bench/OverlayCtl.Bench/bin/Release/net10.0/OverlayCtl.Bench

port=$((24000 + RANDOM % 1000))
. scripts/bench-etcd.sh
start_etcd bench "$work/etcd" "$port" -- --quota-backend-bytes 8589934592
endpoint="http://127.0.0.1:$port"

lab_spec() { # name hosts backend [ovs] -> spec path; ovs: an OVS per host (userspace), underlay on br-phy
  local name=$1 n=$2 backend=$3 ovs=${4:-} f="$work/$1.yaml" i iface='    interface: eth0\n'
  {
    printf 'apiVersion: overlayctl/v1\nkind: Cluster\nname: %s\netcd:\n  endpoints: [%s]\n  prefix: /bench/%s\n' "$name" "$endpoint" "$name"
    printf 'network:\n  cidr: 10.244.0.0/16\n  backend: %s\n' "$backend"
    if [ -n "$ovs" ]; then printf '  ovs: { db: "unix:%s/ovs-%s/{host}/db.sock", datapathType: netdev }\n' "$work" "$name"; iface=; fi
    printf 'docker:\n  daemonConfig: %s/%s/{host}/daemon.json\n  subnetEnv: %s/%s/{host}/subnet.env\nhosts:\n' "$work" "$name" "$work" "$name"
    for ((i = 1; i <= n; i++)); do
      printf "  - name: h%d\n    address: $stem.%d\n$iface    connection: netns://%s-h%d\n" "$i" "$i" "$name" "$i"
    done
  } >"$f"
  echo "$f"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN {printf "%.3f", e - s}'; }

if want 1; then
echo "## 1. Lease allocation (real etcd; a /12 cut into /24s)" | tee "$out/leases.txt"
# flannel's algorithm as its users would script it: per lease, list the subnets, then a create-if-absent txn.
flannel_loop() {
  local prefix=$1 n=$2 i key value
  for ((i = 0; i < n; i++)); do
    etcdctl --endpoints "$endpoint" get --prefix "$prefix/subnets/" --keys-only >/dev/null
    key="$prefix/subnets/10.$((i / 256)).$((i % 256)).0-24"
    value="{\"PublicIP\":\"100.64.$((i / 256)).$((i % 256 + 1))\",\"PublicIPv6\":null,\"BackendType\":\"vxlan\",\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"02:00:00:00:00:01\"}}"
    printf 'version("%s") = "0"\n\nput %s "%s"\n\n\n' "$key" "$key" "${value//\"/\\\"}" | etcdctl --endpoints "$endpoint" txn >/dev/null
  done
}
runs=3; [ "$quick" = --quick ] && runs=1
for n in 1024 4096; do
  secs=(); trips=
  for r in $(seq "$runs"); do
    line=$("$benchexe" leases "$endpoint" "/bench/ovl-$n-$r" "$n" | tee -a "$out/leases.txt" | grep '^leases')
    secs+=("$(sed 's/.*seconds=\([0-9.]*\).*/\1/' <<<"$line")"); trips=$(sed 's/.*roundtrips_per_lease=\([0-9.]*\).*/\1/' <<<"$line")
  done
  ovl_s=$(printf '%s\n' "${secs[@]}" | median)
  t0=$(now); flannel_loop "/bench/flannel-$n" "$n"; peer_s=$(since "$t0")
  echo "| $n | $ovl_s s | $trips | $peer_s s | 2 (+2 process starts) | $(ratio "$peer_s" "$ovl_s")x |" | tee -a "$out/leases.txt"
done
grep '^exhaustion' "$out/leases.txt" | head -1
fi

if want 2; then
echo "## 2. Planner scaling (BenchmarkDotNet, in-process)" | tee "$out/planner.txt"
job=short
dotnet run -c Release --project bench/OverlayCtl.Bench -- --filter '*Planner*' --job "$job" --memory --artifacts "$work/bdn" >"$work/bdn.log" 2>&1 || tail -20 "$work/bdn.log"
cat "$work"/bdn/results/*Planner*-report-github.md 2>/dev/null | tee -a "$out/planner.txt" || echo "(BenchmarkDotNet produced no report)"

fi

if want 3; then
echo "## 3. Apply fan-out on namespace hosts" | tee "$out/fanout.txt"
sizes="10 25 50"; [ "$quick" = --quick ] && sizes=10
for n in $sizes; do
  name="bn$n"; spec=$(lab_spec "$name" "$n" vxlan)
  "$ovl" lab up -f "$spec" >/dev/null
  t0=$(now); "$ovl" apply -f "$spec" --log-file "$work/$name-fresh.log" >/dev/null 2>&1; fresh=$(since "$t0")
  t0=$(now); "$ovl" apply -f "$spec" --log-file "$work/$name-noop.log" >/dev/null 2>&1; noop=$(since "$t0")
  per_host_fresh=$(grep -c ': run ' "$work/$name-fresh.log" | awk -v n="$n" '{printf "%.1f", $1 / n}')
  per_host_noop=$(grep -c ': run ' "$work/$name-noop.log" | awk -v n="$n" '{printf "%.1f", $1 / n}')
  mutating=$(grep ': run ' "$work/$name-noop.log" | grep -vcE ': run ip netns exec [^ ]+ (ip -j|bridge -j fdb show|iptables-save|sysctl -n)' || true)
  leases=$("$ovl" leases list -f "$spec" -o json)
  "$ovl" destroy --auto-approve -f "$spec" >/dev/null 2>&1
  # The naive peer: flannel's commands, one process per command, host after host.
  t0=$(now); spawned=0
  for ((i = 1; i <= n; i++)); do
    ns="$name-h$i"; me=$(jq -r --arg h "h$i" '.leases[] | select(.host == $h)' <<<"$leases")
    subnet=$(jq -r .subnet <<<"$me"); mac=$(jq -r .vtepMac <<<"$me")
    ip netns exec "$ns" ip link add flannel.1 address "$mac" mtu 1450 type vxlan id 1 dev eth0 local "$stem.$i" dstport 8472 nolearning
    ip netns exec "$ns" ip addr add "${subnet%/*}/32" dev flannel.1
    ip netns exec "$ns" ip link set flannel.1 up
    spawned=$((spawned + 3))
    while read -r psub pip pmac; do
      [ "$pip" = "$stem.$i" ] && continue
      ip netns exec "$ns" ip neigh replace "${psub%/*}" dev flannel.1 lladdr "$pmac" nud permanent
      ip netns exec "$ns" bridge fdb replace "$pmac" dev flannel.1 self dst "$pip" permanent
      ip netns exec "$ns" ip route replace "$psub" via "${psub%/*}" dev flannel.1 onlink
      spawned=$((spawned + 3))
    done < <(jq -r '.leases[] | "\(.subnet) \(.publicIp) \(.vtepMac)"' <<<"$leases")
  done
  naive=$(since "$t0")
  "$ovl" lab down -f "$spec" >/dev/null
  echo "| $n | $fresh s | $noop s | $per_host_fresh | $per_host_noop | $mutating | $naive s | $((spawned / n)) | $(ratio "$naive" "$fresh")x |" | tee -a "$out/fanout.txt"
done
fi

if want 4; then
echo "## 4. Data plane (iperf3 TCP, 5 s, median of 3)" | tee "$out/dataplane.txt"
spec=$(lab_spec bndp 2 vxlan)
"$ovl" lab up -f "$spec" >/dev/null
"$ovl" apply -f "$spec" >/dev/null 2>&1
leases=$("$ovl" leases list -f "$spec" -o json)
s1=$(jq -r '.leases[] | select(.host == "h1") | .subnet' <<<"$leases"); s2=$(jq -r '.leases[] | select(.host == "h2") | .subnet' <<<"$leases")
container() { # host n subnet
  local host=$1 c="bndpc$2" net=${3%/*}
  ip netns add "$c"; ip link add "bndpv$2" type veth peer name eth0 netns "$c"
  ip link set "bndpv$2" netns "bndp-$host"; ip -n "bndp-$host" link set "bndpv$2" master docker0 up
  ip -n "$c" addr add "${net%.*}.10/${3#*/}" dev eth0; ip -n "$c" link set eth0 mtu 1450 up; ip -n "$c" link set lo up
  ip -n "$c" route add default via "${net%.*}.1"
}
container h1 1 "$s1"; container h2 2 "$s2"
iperf() { # client-ns server-ns server-ip
  ip netns exec "$2" iperf3 -s -D -1 -I "$work/iperf.pid" >/dev/null; sleep 0.3
  ip netns exec "$1" iperf3 -c "$3" -t 5 -J | jq '.end.sum_received.bits_per_second / 1e9'
}
gbps() { for _ in 1 2 3; do iperf "$@"; done | median; }
c2="$(cut -d. -f1-3 <<<"${s2%/*}").10"
overlay=$(gbps bndpc1 bndpc2 "$c2")
underlay=$(gbps bndp-h1 bndp-h2 "$stem.2")
# The same path built by hand, flannel's commands, on the same namespaces and containers.
"$ovl" destroy --auto-approve -f "$spec" >/dev/null 2>&1
m1=$(jq -r '.leases[] | select(.host == "h1") | .vtepMac' <<<"$leases"); m2=$(jq -r '.leases[] | select(.host == "h2") | .vtepMac' <<<"$leases")
handbuild() { # host addr mysubnet mymac peersubnet peeraddr peermac
  local ns="bndp-$1"
  ip -n "$ns" link add docker0 type bridge; ip -n "$ns" addr add "$(cut -d. -f1-3 <<<"${3%/*}").1/24" dev docker0; ip -n "$ns" link set docker0 up
  ip -n "$ns" link add flannel.1 address "$4" mtu 1450 type vxlan id 1 dev eth0 local "$2" dstport 8472 nolearning
  ip -n "$ns" addr add "${3%/*}/32" dev flannel.1; ip -n "$ns" link set flannel.1 up
  ip -n "$ns" neigh replace "${5%/*}" dev flannel.1 lladdr "$7" nud permanent
  ip netns exec "$ns" bridge fdb replace "$7" dev flannel.1 self dst "$6" permanent
  ip -n "$ns" route replace "$5" via "${5%/*}" dev flannel.1 onlink
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
}
handbuild h1 "$stem.1" "$s1" "$m1" "$s2" "$stem.2" "$m2"; handbuild h2 "$stem.2" "$s2" "$m2" "$s1" "$stem.1" "$m1"
ip -n bndp-h1 link set bndpv1 master docker0; ip -n bndp-h2 link set bndpv2 master docker0
hand=$(gbps bndpc1 bndpc2 "$c2")
echo "| $overlay Gbit/s | $hand Gbit/s | $underlay Gbit/s | $(ratio "$overlay" "$hand") | $(ratio "$overlay" "$underlay") |" | tee -a "$out/dataplane.txt"
ip netns del bndpc1; ip netns del bndpc2
"$ovl" lab down -f "$spec" >/dev/null
fi

if want 5; then
echo "## 5. Start-up (hyperfine, 20 runs)" | tee "$out/startup.txt"
want 1 || "$benchexe" leases "$endpoint" /bench/ovl-1024-1 1024 >/dev/null
# For what NativeAOT buys: the framework-dependent build (JIT), as dotnet build and the dotnet tool run it.
dotnet build src/OverlayCtl.Cli -c Release -nologo -v q
jit=src/OverlayCtl.Cli/bin/Release/net10.0/overlayctl
hyperfine -N --runs 20 --warmup 2 --export-json "$work/startup.json" \
  "$ovl leases list --endpoints $endpoint --prefix /bench/ovl-1024-1" \
  "etcdctl --endpoints $endpoint get --prefix /bench/ovl-1024-1/subnets/" \
  "$jit leases list --endpoints $endpoint --prefix /bench/ovl-1024-1" \
  "$ovl validate -f samples/lab.yaml" \
  "$jit validate -f samples/lab.yaml" >/dev/null
ms() { jq ".results[$1].median * 1000" "$work/startup.json"; }
printf '| leases list, 1,024 leases | %.0f ms | %.0f ms | %.0f ms | %s |\n' "$(ms 0)" "$(ms 2)" "$(ms 1)" "$(ratio "$(ms 0)" "$(ms 1)")" | tee -a "$out/startup.txt"
printf '| validate samples/lab.yaml | %.0f ms | %.0f ms | | |\n' "$(ms 3)" "$(ms 4)" | tee -a "$out/startup.txt"
fi

if want 6; then
echo "## 6. Open vSwitch mesh: apply vs the seed recipe (one ovs-vsctl per port)" | tee "$out/ovs.txt"
sizes="10 20"; [ "$quick" = --quick ] && sizes=10
for n in $sizes; do
  name="bo$n"; spec=$(lab_spec "$name" "$n" ovs ovs)
  "$ovl" lab up -f "$spec" >/dev/null
  t0=$(now); "$ovl" apply -f "$spec" --log-file "$work/$name-fresh.log" >/dev/null 2>&1; fresh=$(since "$t0")
  t0=$(now); "$ovl" apply -f "$spec" --log-file "$work/$name-noop.log" >/dev/null 2>&1; noop=$(since "$t0")
  # ovs-vsctl processes that change something (not the one read per host).
  vsctl_fresh=$(grep ': run .*ovs-vsctl' "$work/$name-fresh.log" | grep -vc -- ' -f json ' | awk -v n="$n" '{printf "%.1f", $1 / n}')
  leases=$("$ovl" leases list -f "$spec" -o json)
  "$ovl" destroy --auto-approve -f "$spec" >/dev/null 2>&1
  # The seed recipe, scripted: a bridge, then per peer one ovs-vsctl add-port and one ip route, host after host.
  t0=$(now); spawned=0
  for ((i = 1; i <= n; i++)); do
    ns="$name-h$i"; db="--db=unix:$work/ovs-$name/h$i/db.sock"; subnet=$(jq -r --arg h "h$i" '.leases[] | select(.host == $h) | .subnet' <<<"$leases")
    ovs-vsctl "$db" add-br br-overlay -- set bridge br-overlay datapath_type=netdev
    ip -n "$ns" addr add "${subnet%/*}/32" dev br-overlay; ip -n "$ns" link set br-overlay up
    spawned=$((spawned + 3))
    while read -r psub pip; do
      [ "$pip" = "$stem.$i" ] && continue
      ovs-vsctl "$db" add-port br-overlay "vxlan-$pip" -- set interface "vxlan-$pip" type=vxlan options:remote_ip="$pip" options:key=1
      ip -n "$ns" route replace "$psub" via "${psub%/*}" dev br-overlay onlink
      spawned=$((spawned + 2))
    done < <(jq -r '.leases[] | "\(.subnet) \(.publicIp)"' <<<"$leases")
  done
  naive=$(since "$t0")
  "$ovl" lab down -f "$spec" >/dev/null
  echo "| $n | $fresh s | $noop s | $vsctl_fresh | $naive s | $((spawned / n)) | $(ratio "$naive" "$fresh")x |" | tee -a "$out/ovs.txt"
done
fi

if want 7; then
# Agents against the push model: join propagation, repair after drift, idle cost (its own script: it
# runs its own etcd on the lab bridge, which agents inside the namespaces must reach).
scripts/bench-agents.sh "$ovl" "$out" $quick
fi

if want 8; then
# WireGuard's cost, container to container: overlayctl's wireguard against the same path built by hand
# (wireguard-go both), and against overlayctl's vxlan, on the same two hosts (its own script and etcd).
scripts/bench-wireguard.sh "$ovl" "$out" $quick
fi

if want 9; then
# ssh against netns on the same hosts, each running a real sshd: time and connections per host (its own script).
scripts/bench-ssh.sh "$ovl" "$out" $quick
fi

if want 10; then
# Dual-stack against IPv4-only on the same hosts: apply time and processes, and IPv6 against IPv4 throughput (its own script).
scripts/bench-dualstack.sh "$ovl" "$out" $quick
fi
