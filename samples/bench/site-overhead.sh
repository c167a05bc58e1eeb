#!/usr/bin/env bash
# Measures what SessionRouter.AspNetCore costs a web server per request: the same SampleSite endpoint
# (/cart/summary) without contract headers, and with gateway-signed read-only headers carrying a ~1 KiB
# state (signature check + blob decode + reading the cart). Needs wrk and python3.
#   samples/bench/site-overhead.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
seconds=${1:-10}
port=5199
dotnet build samples/SampleSite -c Release -nologo -v q >/dev/null
dotnet samples/SampleSite/bin/Release/net10.0/SampleSite.dll --urls "http://127.0.0.1:$port" --config yarp.json \
  --Logging:LogLevel:Default=Warning >/dev/null 2>&1 &
site=$!
trap 'kill $site 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done

# Signed headers for one session, built as the gateway builds them (docs/protocol.md).
mapfile -t headers < <(python3 - <<'PY'
import base64, hashlib, hmac, json, struct, time
key = base64.b64decode(next(l for l in open("yarp.json") if '"SignatureKey"' in l).split('"')[3])
def entry(k, v): k = k.encode(); return struct.pack(">H", len(k)) + k + struct.pack(">I", len(v)) + v
blob = bytes([1]) + entry("cart", json.dumps({"tea": 2, "mug": 1}).encode()) + entry("padding", b"x" * 1000)
state = base64.urlsafe_b64encode(blob).rstrip(b"=").decode()
sid, mode, ts = "q3m5P1tW9yZc0vX2a4Bn7Q", "read-only", str(int(time.time()))
sig = base64.urlsafe_b64encode(hmac.new(key, f"v1\n{sid}\n{mode}\n{ts}\n{state}".encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
for name, value in (("Id", sid), ("Mode", mode), ("Timestamp", ts), ("State", state), ("Signature", sig)):
    print(f"SessionRouter-{name}: {value}")
PY
)
args=()
for h in "${headers[@]}"; do args+=(-H "$h"); done
curl -fs "${args[@]}" "http://127.0.0.1:$port/cart/summary" | grep -q '"sessionAvailable":true'

run() { wrk -t2 -c32 -d"${seconds}s" "$@" | awk '/Requests\/sec/ {print $2}'; }
run "http://127.0.0.1:$port/cart/summary" >/dev/null   # warm-up
plain=$(run "http://127.0.0.1:$port/cart/summary")
signed=$(run "${args[@]}" "http://127.0.0.1:$port/cart/summary")
echo "GET /cart/summary, no session headers:            $plain req/s"
echo "GET /cart/summary, signed, 1 KiB state (read-only): $signed req/s"
python3 -c "print(f'ratio signed/plain: {float(\"$signed\")/float(\"$plain\"):.2f}')"
