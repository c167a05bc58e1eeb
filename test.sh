#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine: installs what the tests need when it is missing
# (redis-server for the Redis tests, chromium for the browser test), restores, builds, tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
if ((${#missing[@]})); then
  echo "test.sh: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Every ASP.NET Core host a test starts watches its content root and configuration files with inotify, and a host
# gives some of those instances back only when the finalizer runs; the test processes run side by side as one user,
# and the gateway tests alone held up to 51 at once on 2 cores. The kernel's default of 128 instances per user
# then fails a host's start on a machine with more cores. Raise it where this machine lets us (root, writable /proc).
inotify_limit=/proc/sys/fs/inotify/max_user_instances
if [[ -r $inotify_limit ]] && (( $(cat "$inotify_limit") < 1024 )); then
  echo 1024 2>/dev/null | as_root tee "$inotify_limit" >/dev/null 2>&1 || echo "test.sh: could not raise $inotify_limit ($(cat "$inotify_limit")); parallel test hosts may run out of inotify instances" >&2
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
results="${TEST_RESULTS_DIR:-$PWD/artifacts/test-results}"
rm -rf "$results"
mkdir -p "$results"
# Tests keep their artifacts (screenshots) under the results directory.
export TEST_RESULTS_DIR="$results"

dotnet restore SessionRouter.sln
dotnet build SessionRouter.sln -c Release --no-restore -nologo

status=0
dotnet test SessionRouter.sln -c Release --no-build --nologo \
  --results-directory "$results" --logger "trx" --logger "console;verbosity=normal" \
  -- RunConfiguration.TestSessionTimeout=1800000 || status=$?

# One closing line over every test project: "Tests: N passed, N failed, N skipped".
passed=0 failed=0 skipped=0 total=0
shopt -s nullglob
for trx in "$results"/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  t=$(get total); e=$(get executed); p=$(get passed); f=$(get failed)
  total=$((total + ${t:-0})); passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  skipped=$((skipped + ${t:-0} - ${e:-0}))
done
# The failed tests again at the very end, each with the first lines of its message: a long log's tail names them.
if ((failed > 0)); then
  echo
  echo "Failed tests:"
  for trx in "$results"/*.trx; do
    awk '
      /<UnitTestResult / && /outcome="Failed"/ { match($0, /testName="[^"]*"/); print "  " substr($0, RSTART + 10, RLENGTH - 11); want = 1; next }
      want && /<Message>/ { sub(/.*<Message>/, ""); lines = 0; printing = 1 }
      printing { text = $0; sub(/<\/Message>.*/, "", text); print "      " text; lines++; if ($0 ~ /<\/Message>/ || lines >= 4) { printing = 0; want = 0 } }
    ' "$trx"
  done
fi
echo
echo "Tests: $passed passed, $failed failed, $skipped skipped"
if ((passed == 0)); then
  echo "test.sh: no test was executed" >&2
  exit 1
fi
exit "$status"
