#!/usr/bin/env bash
# The chaos test of the gateway tests (tests/SessionRouter.Gateway.Tests/Chaos), run longer and wider than in the test
# run: engine nodes as separate processes on loopback ports, two gateways, concurrent sessions, and a driver that
# crashes a node (SIGKILL, restart empty), hangs one (SIGSTOP, SIGCONT), adds a node to the map and removes one, in
# turn, while the schedule lasts. It prints the figures of every phase (requests, answers, failures by status, lost
# and stale answers) and fails when an acknowledged increment was lost, a read went back, a session stayed stuck or a
# request failed outside a fault. Loopback only; every wait is bounded.
#
# Usage: scripts/chaos/run.sh [seconds of faults, default 600] [sessions, default 64] [seed]
#   The same settings as environment variables: SESSIONROUTER_CHAOS_SECONDS (20..3600),
#   SESSIONROUTER_CHAOS_SESSIONS (1..256), SESSIONROUTER_CHAOS_SEED (replays the fault choices of a run; the
#   output names the seed it used), SESSIONROUTER_CHAOS_REPLICAS (ReplicationFactor, 2 or 3, default 2),
#   SESSIONROUTER_CHAOS_LEASES (1: the gateways keep sessions under leases, the default; 0: off).
#   The test run's default is 60 s, 32 sessions, R = 2 and leases on.
# Not part of the test run. Builds the gateway tests in Release first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

export SESSIONROUTER_CHAOS_SECONDS=${1:-${SESSIONROUTER_CHAOS_SECONDS:-600}}
export SESSIONROUTER_CHAOS_SESSIONS=${2:-${SESSIONROUTER_CHAOS_SESSIONS:-64}}
if [[ -n ${3:-} ]]; then export SESSIONROUTER_CHAOS_SEED=$3; fi
(( SESSIONROUTER_CHAOS_SECONDS >= 20 && SESSIONROUTER_CHAOS_SECONDS <= 3600 )) || { echo "seconds must be 20..3600" >&2; exit 2; }
(( SESSIONROUTER_CHAOS_SESSIONS >= 1 && SESSIONROUTER_CHAOS_SESSIONS <= 256 )) || { echo "sessions must be 1..256" >&2; exit 2; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build tests/SessionRouter.Gateway.Tests -c Release -nologo -v q

# The test bounds itself (its schedule plus five minutes); the session timeout is a second fence above that.
timeout_ms=$(( (SESSIONROUTER_CHAOS_SECONDS + 600) * 1000 ))
exec dotnet test tests/SessionRouter.Gateway.Tests -c Release --no-build --nologo \
  --filter "FullyQualifiedName~SessionRouter.Gateway.Tests.Chaos" --logger "console;verbosity=detailed" \
  -- RunConfiguration.TestSessionTimeout=$timeout_ms
