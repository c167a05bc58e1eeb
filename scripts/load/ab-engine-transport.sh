#!/usr/bin/env bash
# A/B of the gateway's read-write route against one built-in engine, alternating the engine transport:
# "h2" = the engine's HTTP/2 cleartext port (the default, Http2: true), "h1" = its HTTP/1.1 MS-ASP port
# (Http2: false). Engine and site stay up; only the gateway is restarted between runs, so both sides see
# the same processes. Prints one line per run; alternate several rounds, the machine is noisy.
#
# Usage: scripts/load/ab-engine-transport.sh [seconds per run, default 6] [rounds, default 2]
# Needs: wrk. Not part of the test run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
duration=${1:-6}; rounds=${2:-2}
. scripts/load/common.sh
build_peer_stacks
work=$(mktemp -d /tmp/sr-ab.XXXXXX); pids=(); gw=
trap 'kill ${pids[@]} $gw 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
SITE=5401 PROXY=5400 ENGINE=5410 ENGINE_H2=5411
key=$(head -c 32 /dev/urandom | base64)
start_engine_and_site $ENGINE $ENGINE_H2 $SITE "$key"
run() { # label node-json
  write_gateway_config "$work/yarp.json" $SITE "$key" "$2"
  dotnet "$peer" gateway --config "$work/yarp.json" --urls "http://127.0.0.1:$PROXY" >"$work/gw.log" 2>&1 & gw=$!; wait_port $PROXY
  wrk -t2 -c64 -d3s -s scripts/load/sessions.lua "http://127.0.0.1:$PROXY" -- /inc /inc 128 >/dev/null
  local e0 s0 g0; e0=$(cpu_ticks "${pids[0]}"); s0=$(cpu_ticks "${pids[1]}"); g0=$(cpu_ticks $gw)
  wrk -t2 -c64 -d${duration}s --latency -s scripts/load/sessions.lua "http://127.0.0.1:$PROXY" -- /inc /inc 128 >"$work/w"
  # CPU milliseconds each process spent per proxied request during the measured run.
  report_run "$1" "$work/w" $(( $(cpu_ticks $gw) - g0 )) $(( $(cpu_ticks "${pids[0]}") - e0 )) $(( $(cpu_ticks "${pids[1]}") - s0 ))
  kill $gw; wait $gw 2>/dev/null || true; gw=
}
for r in $(seq 1 "$rounds"); do
  run h2 "{ \"Id\": \"e\", \"Engine\": \"Builtin\", \"Address\": \"http://127.0.0.1:$ENGINE_H2\" }"
  run h1 "{ \"Id\": \"e\", \"Engine\": \"Builtin\", \"Address\": \"http://127.0.0.1:$ENGINE\", \"Http2\": false }"
done
