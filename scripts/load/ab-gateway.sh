#!/usr/bin/env bash
# Side-by-side CPU per request of gateway variants on one route, alternating the variants in rounds.
# Engine and site stay up; only the gateway is restarted, so every variant meets the same processes.
# A variant is "label", "label:VAR=value,VAR2=value" (environment variables of the gateway process), and
# either may end in "@/path/to/SessionRouter.PeerStacks.dll" to run the gateway of another build (a
# second clone at another commit); engine and site always come from this tree's build.
# CPU per request comes from /proc/<pid>/stat (user + system) of each process over the measured run.
#
# Usage: scripts/load/ab-gateway.sh [route rw|ro|none] [seconds] [rounds] variant...
#   scripts/load/ab-gateway.sh rw 8 3 base "inline:DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1"
#   scripts/load/ab-gateway.sh rw 8 4 "before@/tmp/old/tests/SessionRouter.PeerStacks/bin/Release/net10.0/SessionRouter.PeerStacks.dll" after
# WARMUP (seconds, default 20) is the load each gateway gets before its measured run: a fresh gateway on 2
# cores is still compiling hot paths for 15-25 s, and a shorter warm-up measures the JIT, not the variant.
# Needs: wrk. Not part of the test run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
route=${1:-rw}; duration=${2:-8}; rounds=${3:-2}; shift 3 || true
warmup=${WARMUP:-20}
variants=("$@"); (( ${#variants[@]} > 0 )) || variants=(base)
case $route in rw) path=/inc ;; ro) path=/ro/ro ;; none) path=/static/plain ;; *) echo "route is rw, ro or none" >&2; exit 2 ;; esac
. scripts/load/common.sh
build_peer_stacks
work=$(mktemp -d /tmp/sr-abg.XXXXXX); pids=(); gw=
trap 'kill ${pids[@]} $gw 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
SITE=5601 PROXY=5600 ENGINE=5610 ENGINE_H2=5611
key=$(head -c 32 /dev/urandom | base64)
write_gateway_config "$work/yarp.json" $SITE "$key" "{ \"Id\": \"e\", \"Engine\": \"Builtin\", \"Address\": \"http://127.0.0.1:$ENGINE_H2\" }"
start_engine_and_site $ENGINE $ENGINE_H2 $SITE "$key"
run() { # variant
  local spec=$1 dll=$peer
  if [[ $spec == *@* ]]; then dll=${spec#*@}; spec=${spec%%@*}; fi
  local label=${spec%%:*} assignments=; [[ $spec == *:* ]] && assignments=${spec#*:}
  local -a envs=(); IFS=, read -r -a envs <<<"$assignments"
  env "${envs[@]}" dotnet "$dll" gateway --config "$work/yarp.json" --urls "http://127.0.0.1:$PROXY" >"$work/gw.log" 2>&1 & gw=$!; wait_port $PROXY
  wrk -t2 -c64 -d"${warmup}"s -s scripts/load/sessions.lua "http://127.0.0.1:$PROXY" -- /inc "$path" 128 >/dev/null
  local e0 s0 g0; e0=$(cpu_ticks "${pids[0]}"); s0=$(cpu_ticks "${pids[1]}"); g0=$(cpu_ticks $gw)
  wrk -t2 -c64 -d"${duration}"s --latency -s scripts/load/sessions.lua "http://127.0.0.1:$PROXY" -- /inc "$path" 128 >"$work/w"
  report_run "$label $route" "$work/w" $(( $(cpu_ticks $gw) - g0 )) $(( $(cpu_ticks "${pids[0]}") - e0 )) $(( $(cpu_ticks "${pids[1]}") - s0 ))
  kill $gw; wait $gw 2>/dev/null || true; gw=
}
# Warm engine and site (JIT, tiering) through a throw-away gateway first: the first measured run would
# otherwise pay for it and make the first variant look worse.
run "${variants[0]}" >/dev/null
for _ in $(seq 1 "$rounds"); do
  for variant in "${variants[@]}"; do run "$variant"; done
done
