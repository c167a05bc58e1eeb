# Shared by the load scripts (sourced, not run): the peer-stack build, port waits, CPU accounting, the
# gateway's yarp.json, and the engine + site pair every gateway measurement runs against.
# The caller sets $work (a scratch directory) and $pids (an array of the processes to stop).

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

build_peer_stacks() { # sets $peer to the built SessionRouter.PeerStacks.dll
  dotnet build -c Release -nologo -v q tests/SessionRouter.PeerStacks/SessionRouter.PeerStacks.csproj >/dev/null
  peer=tests/SessionRouter.PeerStacks/bin/Release/net10.0/SessionRouter.PeerStacks.dll
}

wait_port() { # port; gives up after 10 s and shows the logs in $work
  for _ in $(seq 1 200); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nothing listens on $1; logs:" >&2; tail -n 20 "$work"/*.log >&2 || true; exit 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system clock ticks of one process

ms_per_request() { # clock ticks, requests: CPU milliseconds per request
  awk -v d="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.3f", (n > 0 ? d * 1000 / hz / n : 0)}'
}

write_gateway_config() { # file, site port, signature key, node json[, more SessionRouter settings, each ending in a comma]
  # Routes: /static/** without session, /ro/** read-only, everything else read-write.
  cat >"$1" <<JSON
{
  "ReverseProxy": {
    "Routes": {
      "none": { "ClusterId": "site", "Match": { "Path": "/static/{**rest}" }, "Metadata": { "Session": "None" } },
      "ro":   { "ClusterId": "site", "Match": { "Path": "/ro/{**rest}" },     "Metadata": { "Session": "ReadOnly" } },
      "rw":   { "ClusterId": "site", "Match": { "Path": "{**catchall}" },     "Metadata": { "Session": "ReadWrite" } }
    },
    "Clusters": { "site": { "Destinations": { "d": { "Address": "http://127.0.0.1:$2" } } } }
  },
  "SessionRouter": {
    "ApplicationName": "Load",
    "SignatureKey": "$3",
    "DataProtection": { "KeyRingPath": "keys" },${5:-}
    "Nodes": [ $4 ]
  }
}
JSON
}

start_engine_and_site() { # engine port, engine HTTP/2 port, site port, signature key; appends engine then site to $pids
  # The engine host (sessionrouter-stateserver) turns thread-pool spin-waiting off in its runtimeconfig;
  # the peer-stack process gets the same setting so the figures are the shipped engine's.
  DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 dotnet "$peer" engine --port "$1" --http2-port "$2" >"$work/engine.log" 2>&1 &
  pids+=($!); wait_port "$2"
  dotnet "$peer" site --port "$3" --session router --key "$4" >"$work/site.log" 2>&1 &
  pids+=($!); wait_port "$3"
}

report_run() { # label, wrk --latency output file, then CPU ticks of gateway, engine and site during that run
  local n; n=$(awk '/requests in/{print $1}' "$2")
  printf '%-12s %9s req/s  p99 %8s  non2xx %-4s CPU ms/request: gateway %s engine %s site %s\n' "$1" \
    "$(awk '/^Requests\/sec:/{print $2}' "$2")" "$(awk '$1=="99%"{print $2}' "$2")" "$(awk '/Non-2xx/{print $5}' "$2")" \
    "$(ms_per_request "$3" "$n")" "$(ms_per_request "$4" "$n")" "$(ms_per_request "$5" "$n")"
}
