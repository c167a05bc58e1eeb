#!/usr/bin/env bash
# Side-by-side load measurement of SessionRouter against its peers, on loopback only, in one run:
#   a) plain YARP -> site, no session                b) plain YARP -> site with AddSession (in-memory cache)
#   c) plain YARP -> site with AddSession over Redis d) gateway read-write route, built-in engine
#   e) gateway read-only route                       f) gateway route without session (None)
#   g) gateway read-write route, Redis node
# Every session request increments (or, read-only, reads) a counter in HttpContext.Session; the sites use
# ASP.NET Core's session (b, c) or SessionRouter.AspNetCore (d-g). Results and DESIGN.md section 6
# ratios go to artifacts/load/results.md and between the markers of docs/performance.md.
#
# Usage: scripts/load/run.sh [seconds per stack, default 10] [connections, default 64] [rounds, default 1]
#   With rounds > 1 every stack runs once per round, in turn, and the medians are reported: machine drift
#   during a run then hits every stack alike instead of whichever ran at the worst moment.
#   WARMUP (seconds, default 10) is the load before each measured run: the gateway stacks start three .NET
#   processes that must all reach tier-1 code on 2 cores; 3 s was not enough for them.
# Needs: wrk, redis-server (apt-get install -y wrk redis-server). Not part of the test run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
duration=${1:-10}
connections=${2:-64}
rounds=${3:-1}
threads=2
warmup=${WARMUP:-10}
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

SITE=5301 PROXY=5300 ENGINE=5310 ENGINE_H2=5311 REDIS=5320
for port in $SITE $PROXY $ENGINE $ENGINE_H2 $REDIS; do
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
measure() { # label, create path, measure path
  local label=$1 create=$2 path=$3
  wrk -t$threads -c"$connections" -d"${warmup}s" -s scripts/load/sessions.lua "http://127.0.0.1:$PROXY" -- "$create" "$path" "$sessions_per_thread" >/dev/null
  wrk -t$threads -c"$connections" -d"${duration}s" --latency -s scripts/load/sessions.lua "http://127.0.0.1:$PROXY" -- "$create" "$path" "$sessions_per_thread" >"$work/$label.wrk"
  local rps p99 errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/$label.wrk")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' "$work/$label.wrk")
  errors=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$work/$label.wrk")
  printf '%s\t%s\t%s\t%s\n' "$label" "$rps" "$p99" "${errors:-0}" >>"$results"
  printf '%-40s %10s req/s   p99 %8s ms   non-2xx %s\n' "$label" "$rps" "$p99" "${errors:-0}"
}

echo "load: ${duration}s per stack after ${warmup}s warm-up, wrk -t$threads -c$connections, $(nproc) cores, $rounds round(s)"

for round in $(seq 1 "$rounds"); do
(( rounds == 1 )) || echo "round $round of $rounds"
start site dotnet "$peer" site --port $SITE --session none; wait_port $SITE
start yarp dotnet "$peer" yarp --port $PROXY --backend "http://127.0.0.1:$SITE"; wait_port $PROXY
measure "a) plain YARP, no session" /plain /plain
stop_all

start site dotnet "$peer" site --port $SITE --session inproc; wait_port $SITE
start yarp dotnet "$peer" yarp --port $PROXY --backend "http://127.0.0.1:$SITE"; wait_port $PROXY
measure "b) YARP + AddSession in-memory" /inc /inc
stop_all

start_redis
start site dotnet "$peer" site --port $SITE --session redis --redis "127.0.0.1:$REDIS"; wait_port $SITE
start yarp dotnet "$peer" yarp --port $PROXY --backend "http://127.0.0.1:$SITE"; wait_port $PROXY
measure "c) YARP + AddSession over Redis" /inc /inc
stop_all

start_engine_and_site $ENGINE $ENGINE_H2 $SITE "$key"
write_gateway_config "$work/yarp.json" $SITE "$key" "{ \"Id\": \"engine-1\", \"Engine\": \"Builtin\", \"Address\": \"http://127.0.0.1:$ENGINE_H2\" }"
start gateway dotnet "$peer" gateway --config "$work/yarp.json" --urls "http://127.0.0.1:$PROXY"; wait_port $PROXY
measure "d) gateway read-write, built-in engine" /inc /inc
measure "e) gateway read-only route" /inc /ro/ro
measure "f) gateway None route" /inc /static/plain
stop_all

start_redis
start site dotnet "$peer" site --port $SITE --session router --key "$key"; wait_port $SITE
write_gateway_config "$work/yarp.json" $SITE "$key" "{ \"Id\": \"redis-1\", \"Engine\": \"Redis\", \"ConnectionString\": \"127.0.0.1:$REDIS\" }"
start gateway dotnet "$peer" gateway --config "$work/yarp.json" --urls "http://127.0.0.1:$PROXY"; wait_port $PROXY
measure "g) gateway read-write, Redis node" /inc /inc
stop_all

done

python3 scripts/load/report.py "$results" "$out/results.md" "$root/docs/performance.md" "$duration" "$connections" "$threads" "$rounds" "$warmup"
