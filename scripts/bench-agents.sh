#!/usr/bin/env bash
# Benchmark section 7 (scripts/bench.sh agents): agents against the push model, on namespace hosts.
#   1. join propagation: N agents converged; a new lease is written (flannel's format, with etcdctl, as a
#      flannel node or another agent would); for every host, the time from the write to the moment it has
#      the route to the new subnet (`ip -ts monitor route` in each namespace, started before the join).
#      Side by side, same lab: the agents stopped, another lease written and `overlayctl apply` run.
#   2. repair after drift: a peer route deleted on one host, the time until it is back (same monitor).
#   3. idle cost of one agent over 60 s (VmRSS, CPU of it and its children from /proc) against a loop
#      that re-runs `overlayctl apply --limit` for that host every 0.5 s, over the same 60 s.
# Usage: scripts/bench-agents.sh OVERLAYCTL OUTDIR [--quick]   (root; bench.sh passes the native binary)
# BENCH_AGENT_SIZES="10 50 100" (default), BENCH_JOINS=5, BENCH_PUSH_JOINS=3, BENCH_REPAIRS=20, BENCH_IDLE_SECONDS=60.
set -euo pipefail
ovl=$1 out=$2 quick=${3:-}
[ "$(id -u)" = 0 ] || { echo "bench-agents.sh: run as root" >&2; exit 1; }
export ETCDCTL_API=3
sizes=${BENCH_AGENT_SIZES:-10 50 100}; joins=${BENCH_JOINS:-5}; push_joins=${BENCH_PUSH_JOINS:-3}
repairs=${BENCH_REPAIRS:-20}; idle=${BENCH_IDLE_SECONDS:-60}
if [ "$quick" = --quick ]; then sizes=10; joins=2; push_joins=1; repairs=5; idle=10; fi
stem=198.18.100 etcd_ip=198.18.100.254
# The lab underlay must be free on this machine (lab notes): nothing of ours may collide with it.
if ip -4 addr | grep -q " $stem\."; then echo "bench-agents.sh: $stem.0/24 is already held on this machine" >&2; exit 1; fi

work=$(mktemp -d /tmp/overlayctl-bench-agents.XXXXXX)
etcd_pid= spec= loop_pid=
mon_pids=()
stop_monitors() { local p; for p in "${mon_pids[@]}"; do kill "$p" 2>/dev/null || true; done; mon_pids=(); }
stop_etcd() { if [ -n "$etcd_pid" ]; then kill "$etcd_pid" 2>/dev/null || true; wait "$etcd_pid" 2>/dev/null || true; fi; etcd_pid=; }
# The agents' children (none since their monitors are in process; earlier `ip monitor` and `xtables-monitor`), recorded before the agents are
# stopped: an agent stopped with SIGTERM has been seen to leave them running, reparented to init, which
# keeps the deleted namespace alive. Those that outlive their agent are counted and killed here.
agent_children() { # name
  local p
  for p in /run/overlayctl/lab/"$1"/*.pid; do [ -f "$p" ] && { ps -o pid= --ppid "$(cat "$p")" || true; }; done | xargs
}
stop_agents() { # spec name -> prints how many children outlived their agent
  local kids left=0 k
  kids=$(agent_children "$2")
  "$ovl" lab agents down -f "$1" >/dev/null 2>&1 || true
  for k in $kids; do
    if kill -0 "$k" 2>/dev/null && grep -qaE '^(ip|xtables-monitor)' "/proc/$k/cmdline"; then left=$((left + 1)); kill "$k" 2>/dev/null || true; fi
  done
  echo "$left of $(wc -w <<<"$kids")"
}
cleanup() {
  set +e
  [ -n "$spec" ] && [ -f "$spec" ] && stop_agents "$spec" "$(basename "$spec" .yaml)" >/dev/null
  [ -n "$loop_pid" ] && { kill "$loop_pid" 2>/dev/null; wait "$loop_pid" 2>/dev/null; }
  stop_monitors
  for f in "$work"/*.yaml; do [ -f "$f" ] && "$ovl" lab down -f "$f" >/dev/null 2>&1; done
  stop_etcd
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

write_spec() { # name n port -> spec path
  local name=$1 n=$2 port=$3 f="$work/$1.yaml" i
  {
    printf 'apiVersion: overlayctl/v1\nkind: Cluster\nname: %s\netcd:\n  endpoints: [http://%s:%s]\n  prefix: /bench/%s\n' "$name" "$etcd_ip" "$port" "$name"
    printf 'network:\n  cidr: 10.244.0.0/16\n  backend: vxlan\n'
    printf 'docker:\n  daemonConfig: %s/%s/{host}/daemon.json\n  subnetEnv: %s/%s/{host}/subnet.env\nhosts:\n' "$work" "$name" "$work" "$name"
    for ((i = 1; i <= n; i++)); do
      printf '  - name: n%d\n    address: %s.%d\n    interface: eth0\n    connection: netns://%s-n%d\n' "$i" "$stem" "$i" "$name" "$i"
    done
  } >"$f"
  echo "$f"
}

. "$(dirname "$0")/bench-etcd.sh"
start_lab_etcd() { # port; after lab up, which gives the root $etcd_ip on the lab bridge
  start_etcd ba "$work/etcd-$1" "$1" "http://$etcd_ip:$1"
}

# Waits until every host of the lab has a proto-211 route to each of `want` subnets (peers); timeout in s.
wait_routes() { # name n want timeout
  local name=$1 n=$2 want=$3 deadline=$(($(date +%s) + $4)) i short
  while :; do
    short=0
    for ((i = 1; i <= n; i++)); do
      [ "$(ip -n "$name-n$i" route show proto 211 2>/dev/null | grep -c via)" -ge "$want" ] || { short=$((short + 1)); }
    done
    [ "$short" = 0 ] && return 0
    [ "$(date +%s)" -lt "$deadline" ] || { echo "  $short of $n hosts still without $want peer routes" >&2; return 1; }
    sleep 1
  done
}

# One `ip -ts monitor route` per namespace, line-buffered into $work/mon/NS.log (idle until a route changes).
start_monitors() { # name n
  local name=$1 n=$2 i
  mkdir -p "$work/mon"
  for ((i = 1; i <= n; i++)); do
    stdbuf -oL ip -ts -n "$name-n$i" monitor route >>"$work/mon/$name-n$i.log" 2>/dev/null &
    mon_pids+=($!)
  done
  sleep 0.5
}

# A lease as flannel (or another agent) writes it, for a host that is not in the spec; prints the write's time.
lease_value() { # public-ip mac
  printf '{"PublicIP":"%s","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"%s"}}' "$1" "$2"
}
joined=0
write_lease() { # port name k -> "t_before t_after subnet": a free /24 (agents pick theirs at random); k-th joiner's public IP and MAC, held by no host
  local port=$1 name=$2 k=$3 x t0 t1 used
  used=" $(etcdctl --endpoints "127.0.0.1:$port" get --prefix "/bench/$name/subnets/" --keys-only | sed -n 's|.*/10\.244\.\([0-9]*\)\.0-24$|\1|p' | xargs) "
  for ((x = 254; x > 0; x--)); do [[ "$used" == *" $x "* ]] || break; done
  t0=$(now)
  etcdctl --endpoints "127.0.0.1:$port" put "/bench/$name/subnets/10.244.$x.0-24" "$(lease_value "$stem.$((150 + k))" "$(printf '0e:00:00:00:01:%02x' "$k")")" >/dev/null
  t1=$(now)
  echo "$t0 $t1 10.244.$x.0/24"
}
# Waits (one grep a second, not one process per host) until every host's monitor saw a route to SUBNET.
wait_seen() { # name n subnet timeout
  local deadline=$(($(date +%s) + $4)) seen
  while :; do
    seen=$(grep -l "^\[[^]]*\] ${3//./\\.} " "$work/mon/$1"-n*.log 2>/dev/null | wc -l)
    [ "$seen" -ge "$2" ] && return 0
    [ "$(date +%s)" -lt "$deadline" ] || { echo "  only $seen of $2 hosts got $3 within $4 s" >&2; return 1; }
    sleep 1
  done
}

# Per host, the first route to SUBNET the monitor saw after T (a line that is not "Deleted"): latency in s.
latencies() { # name n subnet t -> one latency per line ("missing" for a host that never got it)
  python3 - "$work/mon" "$1" "$2" "$3" "$4" <<'EOF'
import sys, datetime, os
mon, name, n, subnet, t = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
for i in range(1, n + 1):
    found = None
    for line in open(os.path.join(mon, f"{name}-n{i}.log")):
        if not line.startswith("["): continue
        stamp, _, rest = line.partition("] ")
        ts = datetime.datetime.fromisoformat(stamp[1:]).timestamp()
        if ts >= t - 0.001 and rest.startswith(subnet + " "):
            found = ts - t; break
    print("missing" if found is None else f"{max(found, 0):.4f}")
EOF
}

# p50 and p99 (nearest rank) of the numbers on stdin, in ms; also n and max.
stats() {
  python3 -c '
import sys, math
v = sorted(float(x) for x in sys.stdin.read().split() if x != "missing")
if not v: print("n=0"); sys.exit()
r = lambda p: v[max(0, math.ceil(p / 100 * len(v)) - 1)] * 1000
print(f"n={len(v)} p50={r(50):.0f} p99={r(99):.0f} max={v[-1] * 1000:.0f}")'
}
field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p"; }

# CPU ticks (utime+stime, and with children=1 also cutime+cstime) of one pid.
ticks() { awk -v c="${2:-0}" '{ s = $14 + $15; if (c) s += $16 + $17; print s }' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

hz=$(getconf CLK_TCK)
echo "## 7. Agents (namespace hosts, etcd watch) against the push model (apply)" | tee "$out/agents.txt"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); load average at start: $(load)" | tee -a "$out/agents.txt"
rows=()
for n in $sizes; do
  name="ba$n" port=$((25000 + RANDOM % 1000))
  spec=$(write_spec "$name" "$n" "$port")
  echo "# N=$n (load $(load))" | tee -a "$out/agents.txt"
  "$ovl" lab up -f "$spec" >/dev/null
  start_lab_etcd "$port"
  t0=$(now)
  "$ovl" lab agents up -f "$spec" >/dev/null
  if ! wait_routes "$name" "$n" $((n - 1)) $((60 + 2 * n)); then
    echo "| $n | agents did not converge within $((60 + 2 * n)) s |" | tee -a "$out/agents.txt"
    stop_agents "$spec" "$name" >/dev/null; "$ovl" lab down -f "$spec" >/dev/null 2>&1; stop_etcd; continue
  fi
  printf '  %d agents up and converged (full mesh, %d peer routes each) in %.1f s; agents RSS total %s MB\n' "$n" $((n - 1)) \
    "$(awk -v s="$t0" -v e="$(now)" 'BEGIN {print e - s}')" \
    "$(for p in /run/overlayctl/lab/"$name"/*.pid; do rss_kb "$(cat "$p")"; done | awk '{s += $1} END {printf "%.0f", s / 1024}')" | tee -a "$out/agents.txt"
  sleep 3
  start_monitors "$name" "$n"

  # 1. Joins seen by the agents.
  : >"$work/agent-$n.lat"
  for ((j = 1; j <= joins; j++)); do
    joined=$((joined + 1)); read -r tb ta sub < <(write_lease "$port" "$name" "$joined")
    sleep 1
    wait_seen "$name" "$n" "$sub" 60 || true
    # From the put's start: under load etcdctl returns hundreds of ms after etcd committed and the agents
    # converged, so a route can precede the put's return (it would be lost if measured from there).
    latencies "$name" "$n" "$sub" "$tb" >"$work/join.lat"; cat "$work/join.lat" >>"$work/agent-$n.lat"
    echo "  agent join $j ($sub): $(stats <"$work/join.lat") (ms, from the put's start; the put itself took $(awk -v a="$tb" -v b="$ta" 'BEGIN {printf "%.0f", (b - a) * 1000}') ms; load $(load))" | tee -a "$out/agents.txt"
    sleep $((n < 50 ? 2 : 5))
  done
  agent_stats=$(stats <"$work/agent-$n.lat")
  missing=$(grep -c missing "$work/agent-$n.lat" || true)

  # 2. Repair after drift (at the smallest size): a peer route deleted on n1, time until it is back.
  if [ "$n" = "${sizes%% *}" ]; then
    peer=$(ip -n "$name-n1" route show proto 211 | awk '/via/ {print $1; exit}')
    : >"$work/repair.lat"
    for ((r = 1; r <= repairs; r++)); do
      ip -n "$name-n1" route del "$peer"
      for _ in $(seq 50); do ip -n "$name-n1" route show "$peer" | grep -q . && break; sleep 0.1; done
      sleep 1
    done
    python3 - "$work/mon/$name-n1.log" "$peer" >"$work/repair.lat" <<'EOF'
import sys, datetime
log, subnet = sys.argv[1], sys.argv[2]
deleted = None
for line in open(log):
    if not line.startswith("["): continue
    stamp, _, rest = line.partition("] ")
    ts = datetime.datetime.fromisoformat(stamp[1:]).timestamp()
    if rest.startswith("Deleted " + subnet + " "): deleted = ts
    elif rest.startswith(subnet + " ") and deleted is not None: print(f"{ts - deleted:.4f}"); deleted = None
EOF
    repair_stats=$(stats <"$work/repair.lat")
    echo "  repair after a deleted route on n1 ($repairs times): $repair_stats (ms)" | tee -a "$out/agents.txt"

    # 3. Idle cost of n1's agent over $idle s, beside a loop re-running apply for n1 every 0.5 s.
    sleep 2
    apid=$(cat "/run/overlayctl/lab/$name/n1.pid")
    kids=$({ ps -o pid= --ppid "$apid" || true; } | xargs) # none since the monitors are in process
    echo "  n1 agent pid $apid, children: $(for k in $kids; do tr '\0' ' ' <"/proc/$k/cmdline"; echo -n '; '; done)" | tee -a "$out/agents.txt"
    ( while :; do "$ovl" apply -f "$spec" --limit n1 </dev/null >/dev/null 2>&1; sleep 0.5; done ) &
    loop_pid=$!
    sleep 1
    a0=$(ticks "$apid" 1); k0=$(for k in $kids; do ticks "$k"; done | awk '{s += $1} END {print s + 0}'); l0=$(ticks "$loop_pid" 1); t0=$(now)
    sleep "$idle"
    a1=$(ticks "$apid" 1); k1=$(for k in $kids; do ticks "$k"; done | awk '{s += $1} END {print s + 0}'); l1=$(ticks "$loop_pid" 1); t1=$(now)
    rss_agent=$(rss_kb "$apid"); rss_kids=$(for k in $kids; do rss_kb "$k"; done | awk '{s += $1} END {print s + 0}')
    hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$apid/status")
    # Resident memory is the binary's pages (shared by every overlayctl on the host) plus the agent's own.
    split=$(awk '/^RssAnon|^RssFile/ {printf "%s %s kB; ", $1, $2}' "/proc/$apid/status")
    kill "$loop_pid"; wait "$loop_pid" 2>/dev/null || true; loop_pid=
    read -r cpu_agent cpu_kids cpu_loop < <(awk -v a=$((a1 - a0)) -v k=$((k1 - k0)) -v l=$((l1 - l0)) -v hz="$hz" -v s="$t0" -v e="$t1" \
      'BEGIN {d = e - s; printf "%.2f %.2f %.1f\n", 100 * a / hz / d, 100 * k / hz / d, 100 * l / hz / d}')
    idle_row="| $(awk -v a="$rss_agent" -v k="$rss_kids" 'BEGIN {printf "%.1f MB (agent %.1f + monitors %.1f)", (a + k) / 1024, a / 1024, k / 1024}') | $(awk -v a="$cpu_agent" -v k="$cpu_kids" 'BEGIN {printf "%.2f %% (agent and what it ran %.2f + monitors %.2f)", a + k, a, k}') | $cpu_loop % |"
    echo "  idle $idle s: RSS $rss_agent kB agent (peak $hwm kB; $split) + $rss_kids kB monitors; CPU agent+reaped children $cpu_agent %, monitors $cpu_kids %; apply loop (--limit n1, every 0.5 s) $cpu_loop % of a core" | tee -a "$out/agents.txt"
  fi

  # 4. The push model, same lab: agents stopped, a lease written, apply run at once.
  echo "  agents stopped (SIGTERM); their monitors still running afterwards (killed by this script): $(stop_agents "$spec" "$name")" | tee -a "$out/agents.txt"
  : >"$work/push-$n.lat"; apply_times=()
  for ((j = 1; j <= push_joins; j++)); do
    joined=$((joined + 1)); read -r tb ta sub < <(write_lease "$port" "$name" "$joined")
    "$ovl" apply -f "$spec" </dev/null >"$work/apply-$n-$j.log" 2>&1 || echo "  apply exited $? (see below)" >&2
    te=$(now)
    apply_times+=("$(awk -v s="$ta" -v e="$te" 'BEGIN {printf "%.2f", e - s}')")
    sleep 0.5
    latencies "$name" "$n" "$sub" "$ta" >"$work/join.lat"; cat "$work/join.lat" >>"$work/push-$n.lat"
    echo "  push join $j ($sub): $(stats <"$work/join.lat") (ms); apply took ${apply_times[-1]} s (load $(load))" | tee -a "$out/agents.txt"
    sleep 1
  done
  push_stats=$(stats <"$work/push-$n.lat")
  stop_monitors
  mkdir -p "$out/agents-$n"; cp /run/overlayctl/lab/"$name"/*.log "$work"/mon/"$name"-n*.log "$work"/apply-"$n"-*.log "$out/agents-$n/" 2>/dev/null || true
  "$ovl" lab down -f "$spec" >/dev/null
  stop_etcd
  a50=$(field p50 <<<"$agent_stats"); a99=$(field p99 <<<"$agent_stats"); p50=$(field p50 <<<"$push_stats"); p99=$(field p99 <<<"$push_stats")
  rows+=("| $n | $(field n <<<"$agent_stats") | $a50 ms | $a99 ms | $(field max <<<"$agent_stats") ms | $missing | $p50 ms | $p99 ms | $(printf '%s\n' "${apply_times[@]}" | sort -g | tail -1) s | $(awk -v a="$p99" -v b="$a99" 'BEGIN {printf "%.1f", a / b}')x |")
done
echo | tee -a "$out/agents.txt"
echo "| agents | samples | agent p50 | agent p99 | agent max | missed | apply p50 | apply p99 | apply run (longest) | apply p99 / agent p99 |" | tee -a "$out/agents.txt"
printf '%s\n' "${rows[@]}" | tee -a "$out/agents.txt"
[ -n "${repair_stats:-}" ] && echo "repair: $repair_stats ms" | tee -a "$out/agents.txt"
[ -n "${idle_row:-}" ] && { echo "| idle RSS | idle CPU | apply loop CPU |"; echo "$idle_row"; } | tee -a "$out/agents.txt"
echo "load average at end: $(load)" | tee -a "$out/agents.txt"
