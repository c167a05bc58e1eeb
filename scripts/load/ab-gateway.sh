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
# Needs: wrk. Not part of the test run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
route=${1:-rw}; duration=${2:-8}; rounds=${3:-2}; shift 3 || true
variants=("$@"); (( ${#variants[@]} > 0 )) || variants=(base)
case $route in rw) path=/inc ;; ro) path=/ro/ro ;; none) path=/static/plain ;; *) echo "route is rw, ro or none" >&2; exit 2 ;; esac
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build -c Release -nologo -v q tests/SessionRouter.PeerStacks/SessionRouter.PeerStacks.csproj >/dev/null
peer=tests/SessionRouter.PeerStacks/bin/Release/net10.0/SessionRouter.PeerStacks.dll
work=$(mktemp -d /tmp/sr-abg.XXXXXX); pids=(); gw=
trap 'kill ${pids[@]} $gw 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
SITE=5601 PROXY=5600 ENGINE=5610 ENGINE_H2=5611
wait_port() { for _ in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "no $1" >&2; exit 1; }
key=$(head -c 32 /dev/urandom | base64)
cat >"$work/yarp.json" <<JSON
{ "ReverseProxy": { "Routes": {
      "none": { "ClusterId": "site", "Match": { "Path": "/static/{**rest}" }, "Metadata": { "Session": "None" } },
      "ro":   { "ClusterId": "site", "Match": { "Path": "/ro/{**rest}" },     "Metadata": { "Session": "ReadOnly" } },
      "rw":   { "ClusterId": "site", "Match": { "Path": "{**catchall}" },     "Metadata": { "Session": "ReadWrite" } } },
    "Clusters": { "site": { "Destinations": { "d": { "Address": "http://127.0.0.1:$SITE" } } } } },
  "SessionRouter": { "ApplicationName": "Load", "SignatureKey": "$key", "DataProtection": { "KeyRingPath": "keys" },
    "Nodes": [ { "Id": "e", "Engine": "Builtin", "Address": "http://127.0.0.1:$ENGINE_H2" } ] } }
JSON
DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 dotnet "$peer" engine --port $ENGINE --http2-port $ENGINE_H2 >"$work/engine.log" 2>&1 & pids+=($!); wait_port $ENGINE_H2
dotnet "$peer" site --port $SITE --session router --key "$key" >"$work/site.log" 2>&1 & pids+=($!); wait_port $SITE
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() { # variant
  local spec=$1 dll=$peer
  if [[ $spec == *@* ]]; then dll=${spec#*@}; spec=${spec%%@*}; fi
  local label=${spec%%:*} assignments=; [[ $spec == *:* ]] && assignments=${spec#*:}
  local -a envs=(); IFS=, read -r -a envs <<<"$assignments"
  env "${envs[@]}" dotnet "$dll" gateway --config "$work/yarp.json" --urls "http://127.0.0.1:$PROXY" >"$work/gw.log" 2>&1 & gw=$!; wait_port $PROXY
  wrk -t2 -c64 -d3s -s scripts/load/sessions.lua "http://127.0.0.1:$PROXY" -- /inc "$path" 128 >/dev/null
  local e0 s0 g0; e0=$(cpu "${pids[0]}"); s0=$(cpu "${pids[1]}"); g0=$(cpu $gw)
  wrk -t2 -c64 -d"${duration}"s --latency -s scripts/load/sessions.lua "http://127.0.0.1:$PROXY" -- /inc "$path" 128 >"$work/w"
  local n; n=$(awk '/requests in/{print $1}' "$work/w")
  per() { awk -v d="$1" -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.3f", d * 1000 / hz / n}'; }
  printf '%-12s %-4s %9s req/s  p99 %8s  non2xx %-4s CPU ms/request: gateway %s engine %s site %s\n' "$label" "$route" \
    "$(awk '/^Requests\/sec:/{print $2}' "$work/w")" "$(awk '$1=="99%"{print $2}' "$work/w")" "$(awk '/Non-2xx/{print $5}' "$work/w")" \
    "$(per $(( $(cpu $gw) - g0 )))" "$(per $(( $(cpu "${pids[0]}") - e0 )))" "$(per $(( $(cpu "${pids[1]}") - s0 )))"
  kill $gw; wait $gw 2>/dev/null || true; gw=
}
# Warm engine and site (JIT, tiering) through a throw-away gateway first: the first measured run would
# otherwise pay for it and make the first variant look worse.
run "${variants[0]}" >/dev/null
for _ in $(seq 1 "$rounds"); do
  for variant in "${variants[@]}"; do run "$variant"; done
done
