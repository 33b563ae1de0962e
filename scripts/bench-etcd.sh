# Sourced by the bench scripts (never run on its own): one etcd member of its own, waited for.
# start_etcd NAME DATADIR PORT [CLIENT_URL ...] [-- ETCD_ARG ...]
#   Clients on 127.0.0.1:PORT and any further CLIENT_URL (a lab bridge's root address, for agents inside the
#   hosts), peers on PORT+1000; log in DATADIR.log. Sets etcd_pid; fails, with the log's tail, if etcd does not
#   answer within 10 s.
start_etcd() {
  local name=$1 dir=$2 port=$3 urls="http://127.0.0.1:$3"
  shift 3
  while [ $# -gt 0 ] && [ "$1" != -- ]; do urls="$urls,$1"; shift; done
  [ "${1:-}" = -- ] && shift
  etcd --name "$name" --data-dir "$dir" --listen-client-urls "$urls" --advertise-client-urls "http://127.0.0.1:$port" \
    --listen-peer-urls "http://127.0.0.1:$((port + 1000))" --initial-advertise-peer-urls "http://127.0.0.1:$((port + 1000))" \
    --initial-cluster "$name=http://127.0.0.1:$((port + 1000))" --log-level error "$@" >"$dir.log" 2>&1 &
  etcd_pid=$!
  local _
  for _ in $(seq 50); do ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$port" endpoint health >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "etcd did not start: $(tail -5 "$dir.log")" >&2
  return 1
}
