#!/usr/bin/env bash
# Profiles the gateway's CPU under a bounded wrk run: one built-in engine (HTTP/2 port), one site with
# SessionRouter.AspNetCore, one gateway. Prints CPU milliseconds per request of each process (from
# /proc/<pid>/stat), the gateway's allocated bytes per request (dotnet-counters), and writes a
# dotnet-trace CPU sample trace of the gateway plus a summary of its hottest frames.
#
# Usage: scripts/load/profile-gateway.sh [route: rw|ro|none, default rw] [seconds, default 12] [connections, default 64]
# Needs: wrk, dotnet-trace and dotnet-counters in $TOOLS (default /tmp/tools):
#   dotnet tool install dotnet-trace --version 10.0.750501 --tool-path /tmp/tools
#   dotnet tool install dotnet-counters --version 10.0.750501 --tool-path /tmp/tools
# Output: artifacts/profile/gateway-<route>.nettrace, .speedscope.json and -top.txt. Not part of the test run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
route=${1:-rw}; duration=${2:-12}; connections=${3:-64}
tools=${TOOLS:-/tmp/tools}
case $route in rw) path=/inc ;; ro) path=/ro/ro ;; none) path=/static/plain ;; *) echo "route is rw, ro or none" >&2; exit 2 ;; esac
(( duration >= 2 && duration <= 60 )) || { echo "seconds must be 2..60" >&2; exit 2; }
[[ -x $tools/dotnet-trace ]] || { echo "dotnet-trace missing in $tools (see the header of this script)" >&2; exit 2; }
. scripts/load/common.sh
build_peer_stacks
out="$root/artifacts/profile"; mkdir -p "$out"
work=$(mktemp -d /tmp/sr-prof.XXXXXX); pids=()
trap 'kill ${pids[@]} 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
SITE=5501 PROXY=5500 ENGINE=5510 ENGINE_H2=5511
key=$(head -c 32 /dev/urandom | base64)
write_gateway_config "$work/yarp.json" $SITE "$key" "{ \"Id\": \"e\", \"Engine\": \"Builtin\", \"Address\": \"http://127.0.0.1:$ENGINE_H2\" }"
start_engine_and_site $ENGINE $ENGINE_H2 $SITE "$key"
# PerfMapEnabled writes /tmp/perf-PID.map so that perf can name JIT-compiled frames (W^X off: code stays in the mapped heap).
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 dotnet "$peer" gateway --config "$work/yarp.json" --urls "http://127.0.0.1:$PROXY" >"$work/gw.log" 2>&1 & pids+=($!); wait_port $PROXY
gw=${pids[2]}
load() { wrk -t2 -c"$connections" -d"$1"s --latency -s scripts/load/sessions.lua "http://127.0.0.1:$PROXY" -- /inc "$path" 128; }
load 4 >/dev/null

# 1) CPU per request without any tool attached.
e0=$(cpu_ticks "${pids[0]}"); s0=$(cpu_ticks "${pids[1]}"); g0=$(cpu_ticks "$gw")
load "$duration" >"$work/w"
report_run "$route" "$work/w" $(( $(cpu_ticks "$gw") - g0 )) $(( $(cpu_ticks "${pids[0]}") - e0 )) $(( $(cpu_ticks "${pids[1]}") - s0 ))

# 2) Allocations per request: the runtime's allocated-bytes counter around a second bounded run.
if [[ -x $tools/dotnet-counters ]]; then
  "$tools/dotnet-counters" collect -p "$gw" --refresh-interval 1 --counters System.Runtime --format csv \
    --duration "$(printf '00:00:%02d:%02d' $(( (duration + 3) / 60 )) $(( (duration + 3) % 60 )))" -o "$work/counters.csv" >/dev/null 2>&1 &
  counters=$!
  sleep 1.5
  load "$duration" >"$work/w2"
  wait $counters || true
  n2=$(awk '/requests in/{print $1}' "$work/w2")
  python3 - "$work/counters.csv" "$n2" <<'PY' || true
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
n = int(sys.argv[2])
alloc = [float(r[-1]) for r in rows[1:] if 'gc.heap.total_allocated' in r[2] or 'Allocation Rate' in r[2]]
gc = [r for r in rows[1:] if 'gc.collections' in r[2]]
queue = [float(r[-1]) for r in rows[1:] if 'thread_pool.queue.length' in r[2] or 'ThreadPool Queue Length' in r[2]]
threads = [float(r[-1]) for r in rows[1:] if 'thread_pool.thread.count' in r[2] or 'ThreadPool Thread Count' in r[2]]
if alloc:
    total = max(alloc) - min(alloc) if 'total_allocated' in ''.join(r[2] for r in rows[1:3]) or max(alloc) > 1e9 else sum(alloc)
    print(f"gateway allocations: {total / n:,.0f} B/request over {n} requests")
if queue: print(f"thread pool queue length: max {max(queue):.0f}")
if threads: print(f"thread pool threads: max {max(threads):.0f}")
PY
fi

# 3) On-CPU samples of the gateway with perf (kernel and JIT frames, true CPU time) during a third run.
if command -v perf >/dev/null; then
  load $((duration + 2)) >/dev/null &
  loadpid=$!
  sleep 1
  perf record -F 499 -g -o "$out/gateway-$route.perf.data" -p "$gw" -- sleep "$duration" >/dev/null 2>&1 || true
  wait $loadpid || true
  perf report -i "$out/gateway-$route.perf.data" --no-children --sort dso,sym --stdio -g none --percent-limit 0.4 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | head -70 >"$out/gateway-$route-perf-self.txt"
  perf report -i "$out/gateway-$route.perf.data" --children --sort sym --stdio -g none --percent-limit 1.5 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | head -90 >"$out/gateway-$route-perf-children.txt"
  echo "perf: $out/gateway-$route-perf-self.txt (self time) and -perf-children.txt (inclusive)"
fi

# 4) A managed thread-time sample trace of the gateway (wall clock per stack) during a fourth run.
load $((duration + 4)) >/dev/null &
loadpid=$!
sleep 1
"$tools/dotnet-trace" collect -p "$gw" --profile dotnet-sampled-thread-time --duration "00:00:$(printf '%02d' "$duration")" -o "$out/gateway-$route.nettrace" >/dev/null
wait $loadpid || true
"$tools/dotnet-trace" convert "$out/gateway-$route.nettrace" --format speedscope -o "$out/gateway-$route" >/dev/null
python3 scripts/load/speedscope-top.py "$out/gateway-$route.speedscope.json" | tee "$out/gateway-$route-top.txt"
