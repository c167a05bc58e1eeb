#!/usr/bin/env bash
# Side-by-side load measurement of SessionRouter against its peers, on loopback only, in one run:
#   a) plain YARP -> site, no session                b) plain YARP -> site with AddSession (in-memory cache)
#   c) plain YARP -> site with AddSession over Redis d) gateway read-write route, built-in engine
#   e) gateway read-only route                       f) gateway route without session (None)
#   g) gateway read-write route, Redis node        h) as d, the store inside the gateway's process
#   i) as d, ReplicationFactor 2 over two engines (a majority of two: both hold every session)
#   h is no deployment (state dies with the gateway): it is the ceiling with every store round trip taken
#   away, so d beside h shows what the round trips cost; i beside d shows what replication costs.
# With leases on (Leases:Enabled; the gateway keeps a session's lock and state between its requests):
#   j) as d, leases on                                k) read-only route of sessions the gateway holds (with j)
#   l) as i, leases on                                m) as g, leases on
#   n) cold: as d over 100,000 sessions (no session comes back within the lease time)   o) n with leases on
#   p) ping-pong: a front YARP sends each session's requests to two gateways in turn, leases off
#   q) p with leases on (a revoked session is not leased again for Leases:ContentionBackoff)
#   r) p with leases on and no backoff: every request revokes the other gateway's lease, the worst case
# Every session request increments (or, read-only, reads) a counter in HttpContext.Session; the sites use
# ASP.NET Core's session (b, c) or SessionRouter.AspNetCore (d-g). Results and the ratios of the
# goals in docs/design.md go to artifacts/load/results.md and between the markers of docs/performance.md.
#
# Usage: scripts/load/run.sh [seconds per stack, default 10] [connections, default 64] [rounds, default 1]
#   With rounds > 1 every stack runs once per round, in turn, and the medians are reported: machine drift
#   during a run then hits every stack alike instead of whichever ran at the worst moment.
#   WARMUP (seconds, default 20) is the load before each measured run: the gateway stacks start three .NET
#   processes that must all reach tier-1 code on 2 cores; their throughput still climbs for 15-25 s.
#   PACE_MS (default 15): plain YARP, the in-memory session stack and the gateway's read-write route are
#   measured a second time at one common offered load (each connection pauses PACE_MS before every
#   request, scripts/load/paced.lua) for their latency: at saturation p99 is mostly queueing, that is
#   connections / throughput, and says again what the throughput ratio said.
#   Every run also records the CPU time of each process of the stack per request (/proc/<pid>/stat).
#   STACKS (default abcdghijlmnopqr) picks the stacks to run by letter (e and f run with d, k with j), e.g. STACKS=di to set
#   replication against one engine without the rest; the report then leaves out the ratios it cannot form.
# Needs: wrk, redis-server (apt-get install -y wrk redis-server). Not part of the test run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
duration=${1:-10}
connections=${2:-64}
rounds=${3:-1}
threads=2
warmup=${WARMUP:-20}
pace_ms=${PACE_MS:-15}
sessions_per_thread=$((connections / threads * 4))
(( duration >= 1 && duration <= 120 )) || { echo "duration must be 1..120 s" >&2; exit 2; }
(( rounds >= 1 && rounds <= 9 )) || { echo "rounds must be 1..9" >&2; exit 2; }

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
command -v redis-server >/dev/null || { echo "redis-server is missing: apt-get install -y redis-server" >&2; exit 2; }

. scripts/load/common.sh
build_peer_stacks

work=$(mktemp -d /tmp/sr-load.XXXXXX)
out="$root/artifacts/load"
mkdir -p "$out"
pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT

SITE=5301 PROXY=5300 GATEWAY1=5302 GATEWAY2=5303 ENGINE=5310 ENGINE_H2=5311 ENGINE2=5312 ENGINE2_H2=5313 REDIS=5320
for port in $SITE $PROXY $GATEWAY1 $GATEWAY2 $ENGINE $ENGINE_H2 $ENGINE2 $ENGINE2_H2 $REDIS; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then echo "port $port is in use" >&2; exit 2; fi
done

start() { # name, then the command
  local name=$1; shift
  "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
}
start_redis() {
  start redis redis-server --port $REDIS --bind 127.0.0.1 --save "" --appendonly no
  wait_port $REDIS
}

key=$(head -c 32 /dev/urandom | base64)
results="$work/results.tsv"
: >"$results"
paced="$work/paced.tsv"
: >"$paced"
stack_cpu() { # CPU ticks of every process of the running stack, "name=ticks" each
  local pid name seen=" "
  for pid in "${pids[@]}"; do
    name=$(tr '\0' ' ' <"/proc/$pid/cmdline" | awk '{print ($1 ~ /redis-server/) ? "redis" : $3}')
    # A second process of a kind (the second engine of i) gets its own name.
    [[ $seen == *" $name "* ]] && name="${name}2"
    seen+="$name "
    printf '%s=%s ' "$name" "$(cpu_ticks "$pid")"
  done
}
cpu_per_request() { # ticks before, ticks after, requests: "name ms + name ms ..." and the sum, tab-separated
  python3 - "$1" "$2" "$3" "$(getconf CLK_TCK)" <<'PY'
import sys
before = dict(p.split("=") for p in sys.argv[1].split())
after = dict(p.split("=") for p in sys.argv[2].split())
n, hz = int(sys.argv[3]), int(sys.argv[4])
parts = [(name, (int(after[name]) - int(before[name])) * 1000 / hz / max(n, 1)) for name in after]
print(" + ".join(f"{name} {ms:.3f}" for name, ms in parts) + f"\t{sum(ms for _, ms in parts):.3f}")
PY
}
wrk_figures() { # wrk --latency output: req/s, p50 ms, p99 ms, non-2xx, requests (tab-separated)
  awk 'function ms(v) { if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 } if (v ~ /ms$/) { sub(/ms$/, "", v); return v } sub(/s$/, "", v); return v * 1000 }
       /^Requests\/sec:/ { rps = $2 } $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
       /Non-2xx or 3xx responses:/ { errors = $5 } /requests in/ { n = $1 }
       END { printf "%s\t%s\t%s\t%s\t%s\n", rps, p50, p99, errors + 0, n }' "$1"
}
measure() { # label, create path, measure path, "paced" to also measure at the common offered load
  # LUA (default sessions.lua), PER_THREAD (sessions per wrk thread) and LUA_ARGS (more script arguments) pick
  # the load's shape for one call.
  local label=$1 create=$2 path=$3 rps p50 p99 errors n before cpu total
  # WARM_PATH (default: the measured path) is what the warm-up requests.
  local lua=${LUA:-scripts/load/sessions.lua} per_thread=${PER_THREAD:-$sessions_per_thread} extra=${LUA_ARGS:-}
  wrk -t$threads -c"$connections" -d"${WARM:-$warmup}s" -s "$lua" "http://127.0.0.1:$PROXY" -- "$create" "${WARM_PATH:-$path}" "$per_thread" $extra >/dev/null
  before=$(stack_cpu)
  wrk -t$threads -c"$connections" -d"${duration}s" --latency -s "$lua" "http://127.0.0.1:$PROXY" -- "$create" "$path" "$per_thread" $extra >"$work/$label.wrk"
  IFS=$'\t' read -r rps p50 p99 errors n < <(wrk_figures "$work/$label.wrk")
  IFS=$'\t' read -r cpu total < <(cpu_per_request "$before" "$(stack_cpu)" "$n")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$rps" "$p99" "$errors" "$total" "$cpu" >>"$results"
  printf '%-40s %10s req/s   p99 %8s ms   non-2xx %s   CPU ms/request %s (%s)\n' "$label" "$rps" "$p99" "$errors" "$total" "$cpu"
  if [[ ${4:-} == paced ]]; then
    wrk -t$threads -c"$connections" -d"${duration}s" --latency -s scripts/load/paced.lua "http://127.0.0.1:$PROXY" -- "$create" "$path" "$sessions_per_thread" "$pace_ms" >"$work/$label.paced.wrk"
    IFS=$'\t' read -r rps p50 p99 errors n < <(wrk_figures "$work/$label.paced.wrk")
    printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$rps" "$p50" "$p99" "$errors" >>"$paced"
    printf '%-40s %10s req/s   p50 %8s ms   p99 %8s ms   non-2xx %s   (paced %s ms)\n' "  same, paced" "$rps" "$p50" "$p99" "$errors" "$pace_ms"
  fi
}

echo "load: ${duration}s per stack after ${warmup}s warm-up, wrk -t$threads -c$connections, $(nproc) cores, $rounds round(s), paced runs ${pace_ms} ms"

stacks=${STACKS:-abcdghijlmnopqr}
leases='
    "Leases": { "Enabled": true },'
cold_sessions=${COLD_SESSIONS:-50000} # per wrk thread: 100,000 in all
cold_warmup=$(( warmup > 60 ? warmup : 60 )) # long enough to create them all (cold.lua keeps them for the measured run)
start_ping_pong() { # more SessionRouter settings for both gateways (as write_gateway_config's fifth argument)
  start_engine_and_site $ENGINE $ENGINE_H2 $SITE "$key"
  write_gateway_config "$work/yarp.json" $SITE "$key" "{ \"Id\": \"engine-1\", \"Engine\": \"Builtin\", \"Address\": \"http://127.0.0.1:$ENGINE_H2\" }" "${1:-}"
  start gateway dotnet "$peer" gateway --config "$work/yarp.json" --urls "http://127.0.0.1:$GATEWAY1"; wait_port $GATEWAY1
  start gateway2 dotnet "$peer" gateway --config "$work/yarp.json" --urls "http://127.0.0.1:$GATEWAY2"; wait_port $GATEWAY2
  start front dotnet "$peer" yarp --port $PROXY --backend "http://127.0.0.1:$GATEWAY1,http://127.0.0.1:$GATEWAY2"; wait_port $PROXY
}
want() { [[ $stacks == *"$1"* ]]; }

for round in $(seq 1 "$rounds"); do
(( rounds == 1 )) || echo "round $round of $rounds"
if want a; then
  start site dotnet "$peer" site --port $SITE --session none; wait_port $SITE
  start yarp dotnet "$peer" yarp --port $PROXY --backend "http://127.0.0.1:$SITE"; wait_port $PROXY
  measure "a) plain YARP, no session" /plain /plain paced
  stop_all
fi

if want b; then
  start site dotnet "$peer" site --port $SITE --session inproc; wait_port $SITE
  start yarp dotnet "$peer" yarp --port $PROXY --backend "http://127.0.0.1:$SITE"; wait_port $PROXY
  measure "b) YARP + AddSession in-memory" /inc /inc paced
  stop_all
fi

if want c; then
  start_redis
  start site dotnet "$peer" site --port $SITE --session redis --redis "127.0.0.1:$REDIS"; wait_port $SITE
  start yarp dotnet "$peer" yarp --port $PROXY --backend "http://127.0.0.1:$SITE"; wait_port $PROXY
  measure "c) YARP + AddSession over Redis" /inc /inc
  stop_all
fi

if want d; then
  start_engine_and_site $ENGINE $ENGINE_H2 $SITE "$key"
  write_gateway_config "$work/yarp.json" $SITE "$key" "{ \"Id\": \"engine-1\", \"Engine\": \"Builtin\", \"Address\": \"http://127.0.0.1:$ENGINE_H2\" }"
  start gateway dotnet "$peer" gateway --config "$work/yarp.json" --urls "http://127.0.0.1:$PROXY"; wait_port $PROXY
  measure "d) gateway read-write, built-in engine" /inc /inc paced
  measure "e) gateway read-only route" /inc /ro/ro
  measure "f) gateway None route" /inc /static/plain
  stop_all
fi

if want g; then
  start_redis
  start site dotnet "$peer" site --port $SITE --session router --key "$key"; wait_port $SITE
  write_gateway_config "$work/yarp.json" $SITE "$key" "{ \"Id\": \"redis-1\", \"Engine\": \"Redis\", \"ConnectionString\": \"127.0.0.1:$REDIS\" }"
  start gateway dotnet "$peer" gateway --config "$work/yarp.json" --urls "http://127.0.0.1:$PROXY"; wait_port $PROXY
  measure "g) gateway read-write, Redis node" /inc /inc
  stop_all
fi

if want h; then
  start site dotnet "$peer" site --port $SITE --session router --key "$key"; wait_port $SITE
  write_gateway_config "$work/yarp.json" $SITE "$key" "{ \"Id\": \"in-process\", \"Engine\": \"Builtin\", \"Address\": \"http://127.0.0.1:1\" }"
  start gateway dotnet "$peer" gateway --config "$work/yarp.json" --urls "http://127.0.0.1:$PROXY" --store in-process; wait_port $PROXY
  measure "h) gateway read-write, store in its process (ceiling)" /inc /inc
  stop_all
fi

if want i; then
  start_engine_and_site $ENGINE $ENGINE_H2 $SITE "$key"
  start engine2 env DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 dotnet "$peer" engine --port $ENGINE2 --http2-port $ENGINE2_H2; wait_port $ENGINE2_H2
  write_gateway_config "$work/yarp.json" $SITE "$key" "{ \"Id\": \"engine-1\", \"Engine\": \"Builtin\", \"Address\": \"http://127.0.0.1:$ENGINE_H2\" }, { \"Id\": \"engine-2\", \"Engine\": \"Builtin\", \"Address\": \"http://127.0.0.1:$ENGINE2_H2\" }" ' "ReplicationFactor": 2,'
  start gateway dotnet "$peer" gateway --config "$work/yarp.json" --urls "http://127.0.0.1:$PROXY"; wait_port $PROXY
  measure "i) gateway read-write, R = 2 over two engines" /inc /inc
  stop_all
fi

if want j; then
  start_engine_and_site $ENGINE $ENGINE_H2 $SITE "$key"
  # A lease time that outlasts the measured run: k reads sessions that only its warm-up wrote (leases start with a
  # read-write request and are renewed by saves; read-only requests alone do not keep them).
  write_gateway_config "$work/yarp.json" $SITE "$key" "{ \"Id\": \"engine-1\", \"Engine\": \"Builtin\", \"Address\": \"http://127.0.0.1:$ENGINE_H2\" }" '
    "Leases": { "Enabled": true, "Time": "00:00:30" },'
  start gateway dotnet "$peer" gateway --config "$work/yarp.json" --urls "http://127.0.0.1:$PROXY"; wait_port $PROXY
  measure "j) gateway read-write, leases" /inc /inc paced
  # The warm-up increments (and so leases) the pool's sessions; the measured run reads them on the read-only route.
  rm -f "$work"/leased-*.txt
  LUA=scripts/load/cold.lua LUA_ARGS="$work/leased" WARM_PATH=/inc measure "k) gateway read-only route, leases" /inc /ro/ro
  stop_all
fi

if want l; then
  start_engine_and_site $ENGINE $ENGINE_H2 $SITE "$key"
  start engine2 env DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 dotnet "$peer" engine --port $ENGINE2 --http2-port $ENGINE2_H2; wait_port $ENGINE2_H2
  write_gateway_config "$work/yarp.json" $SITE "$key" "{ \"Id\": \"engine-1\", \"Engine\": \"Builtin\", \"Address\": \"http://127.0.0.1:$ENGINE_H2\" }, { \"Id\": \"engine-2\", \"Engine\": \"Builtin\", \"Address\": \"http://127.0.0.1:$ENGINE2_H2\" }" "$leases"' "ReplicationFactor": 2,'
  start gateway dotnet "$peer" gateway --config "$work/yarp.json" --urls "http://127.0.0.1:$PROXY"; wait_port $PROXY
  measure "l) gateway read-write, R = 2, leases" /inc /inc
  stop_all
fi

if want m; then
  start_redis
  start site dotnet "$peer" site --port $SITE --session router --key "$key"; wait_port $SITE
  write_gateway_config "$work/yarp.json" $SITE "$key" "{ \"Id\": \"redis-1\", \"Engine\": \"Redis\", \"ConnectionString\": \"127.0.0.1:$REDIS\" }" "$leases"
  start gateway dotnet "$peer" gateway --config "$work/yarp.json" --urls "http://127.0.0.1:$PROXY"; wait_port $PROXY
  measure "m) gateway read-write, Redis node, leases" /inc /inc
  stop_all
fi

for cold in n o; do
  want $cold || continue
  start_engine_and_site $ENGINE $ENGINE_H2 $SITE "$key"
  settings=""; label="n) cold: read-write over 100,000 sessions"
  if [[ $cold == o ]]; then settings=$leases; label="o) cold: read-write over 100,000 sessions, leases"; fi
  write_gateway_config "$work/yarp.json" $SITE "$key" "{ \"Id\": \"engine-1\", \"Engine\": \"Builtin\", \"Address\": \"http://127.0.0.1:$ENGINE_H2\" }" "$settings"
  start gateway dotnet "$peer" gateway --config "$work/yarp.json" --urls "http://127.0.0.1:$PROXY"; wait_port $PROXY
  rm -f "$work"/cold-*.txt
  LUA=scripts/load/cold.lua PER_THREAD=$cold_sessions LUA_ARGS="$work/cold" WARM=$cold_warmup measure "$label" /inc /inc
  [[ -s $work/cold-1.txt && -s $work/cold-2.txt ]] || echo "  (the warm-up did not create every session: the measured run created the rest)" >&2
  stop_all
done

for pong in p q r; do
  want $pong || continue
  case $pong in
    p) start_ping_pong ""; label="p) ping-pong between two gateways" ;;
    q) start_ping_pong "$leases"; label="q) ping-pong, leases" ;;
    r) start_ping_pong '
    "Leases": { "Enabled": true, "ContentionBackoff": "00:00:00" },'; label="r) ping-pong, leases without backoff" ;;
  esac
  LUA=scripts/load/pingpong.lua measure "$label" /inc /inc
  stop_all
done

done

python3 scripts/load/report.py "$results" "$out/results.md" "$root/docs/performance.md" "$duration" "$connections" "$threads" "$rounds" "$warmup" "$paced" "$pace_ms"
