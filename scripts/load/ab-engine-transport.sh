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
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build -c Release -nologo -v q tests/SessionRouter.PeerStacks/SessionRouter.PeerStacks.csproj >/dev/null
peer=tests/SessionRouter.PeerStacks/bin/Release/net10.0/SessionRouter.PeerStacks.dll
work=$(mktemp -d /tmp/sr-ab.XXXXXX); pids=(); gw=
trap 'kill ${pids[@]} $gw 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
SITE=5401 PROXY=5400 ENGINE=5410 ENGINE_H2=5411
wait_port() { for _ in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "no $1" >&2; exit 1; }
key=$(head -c 32 /dev/urandom | base64)
DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 dotnet "$peer" engine --port $ENGINE --http2-port $ENGINE_H2 >"$work/engine.log" 2>&1 & pids+=($!); wait_port $ENGINE_H2
dotnet "$peer" site --port $SITE --session router --key "$key" >"$work/site.log" 2>&1 & pids+=($!); wait_port $SITE
conf() { cat >"$work/yarp.json" <<JSON
{ "ReverseProxy": { "Routes": { "rw": { "ClusterId": "site", "Match": { "Path": "{**catchall}" }, "Metadata": { "Session": "ReadWrite" } } },
    "Clusters": { "site": { "Destinations": { "d": { "Address": "http://127.0.0.1:$SITE" } } } } },
  "SessionRouter": { "ApplicationName": "Load", "SignatureKey": "$key", "DataProtection": { "KeyRingPath": "keys" }, "Nodes": [ $1 ] } }
JSON
}
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system clock ticks of one process
run() { # label node-json
  conf "$2"
  dotnet "$peer" gateway --config "$work/yarp.json" --urls "http://127.0.0.1:$PROXY" >"$work/gw.log" 2>&1 & gw=$!; wait_port $PROXY
  wrk -t2 -c64 -d3s -s scripts/load/sessions.lua "http://127.0.0.1:$PROXY" -- /inc /inc 128 >/dev/null
  local e0 s0 g0; e0=$(cpu "${pids[0]}"); s0=$(cpu "${pids[1]}"); g0=$(cpu $gw)
  wrk -t2 -c64 -d${duration}s --latency -s scripts/load/sessions.lua "http://127.0.0.1:$PROXY" -- /inc /inc 128 >"$work/w"
  local n; n=$(awk '/requests in/{print $1}' "$work/w")
  # CPU milliseconds each process spent per proxied request during the measured run.
  per() { awk -v d="$1" -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.3f", d * 1000 / hz / n}'; }
  printf '%-3s %9s req/s  p99 %8s  non2xx %-3s  CPU ms/request: gateway %s engine %s site %s\n' "$1" \
    "$(awk '/^Requests\/sec:/{print $2}' "$work/w")" "$(awk '$1=="99%"{print $2}' "$work/w")" "$(awk '/Non-2xx/{print $5}' "$work/w")" \
    "$(per $(( $(cpu $gw) - g0 )))" "$(per $(( $(cpu "${pids[0]}") - e0 )))" "$(per $(( $(cpu "${pids[1]}") - s0 )))"
  kill $gw; wait $gw 2>/dev/null || true; gw=
}
for r in $(seq 1 "$rounds"); do
  run h2 "{ \"Id\": \"e\", \"Engine\": \"Builtin\", \"Address\": \"http://127.0.0.1:$ENGINE_H2\" }"
  run h1 "{ \"Id\": \"e\", \"Engine\": \"Builtin\", \"Address\": \"http://127.0.0.1:$ENGINE\", \"Http2\": false }"
done
