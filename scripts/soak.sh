#!/usr/bin/env bash
# Soak: steady load on the gateway for SOAK_DURATION (default 2m) - stampedes of concurrent
# identical downloads, injected uploads and acquires - while Caddy's RSS and goroutines are
# sampled every 5 s. Fails if memory grows steadily, goroutines leak, or a request broke.
#   make soak            (or: make build && SOAK_DURATION=10m ./scripts/soak.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/bin}
DURATION=${SOAK_DURATION:-2m}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

go build -o "$work/beeload" ./cmd/beeload
"$BIN/beesim" -listen 127.0.0.1:0 -block-time 50ms -balance 10000000 -max-stored-bytes 268435456 >"$work/sim.out" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do sim=$(head -n1 "$work/sim.out" 2>/dev/null || true); [ -n "$sim" ] && break; sleep 0.1; done
[ -n "$sim" ] || { echo "the simulator did not start" >&2; exit 1; }
port=$(freeport)
admin=$(freeport)
gw="http://127.0.0.1:$port"
cat >"$work/Caddyfile" <<CADDY
{
	admin 127.0.0.1:$admin
	storage file_system $work/storage
}
http://127.0.0.1:$port {
	bee $sim {
		admin_token soak-token
		pool {
			reserve small 4
			block_time 50ms
			purchase_spacing 1ms
			max_purchases_per_hour 100000
		}
	}
}
CADDY
HOME=$work XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data \
	"$BIN/caddy" run --config "$work/Caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 &
caddy=$!
pids+=($caddy)
for _ in $(seq 200); do
	level=$(curl -s "$gw/api/v1/pool/status" | python3 -c 'import json,sys;print(json.load(sys.stdin)["current_levels"].get("17",0))' 2>/dev/null || echo 0)
	[ "$level" -ge 4 ] && break
	sleep 0.1
done
[ "$level" -ge 4 ] || { echo "the pool never filled; caddy log:" >&2; tail -20 "$work/caddy.log" >&2; exit 1; }

# Popular content: 8 MiB behind a 100 ms Bee retrieval, so clients keep arriving mid-flight.
ref=$(curl -s -X POST "$sim/_beesim/synthetic?size=8388608&seed=1" | python3 -c 'import json,sys;print(json.load(sys.stdin)["reference"])')
curl -s -X PUT -d '{"classes":{"download":{"latency":100000000}}}' "$sim/_beesim/faults"

rss() { awk '/VmRSS/{print $2}' "/proc/$caddy/status"; }
goroutines() { curl -s "http://127.0.0.1:$admin/debug/pprof/goroutine?debug=1" 2>/dev/null | awk 'NR==1{print $NF}' || true; }
L="$work/beeload"
"$L" -json -url "$gw/bytes/$ref" -c 64 -n 100000000 -duration "$DURATION" >"$work/downloads.json" 2>&1 &
dl=$!
"$L" -json -url "$gw/bytes" -method POST -body-size 262144 -c 4 -interval 50ms -n 100000000 -duration "$DURATION" >"$work/uploads.json" 2>&1 &
up=$!
"$L" -json -url "$gw/api/v1/pool/acquire" -method POST -H 'Authorization: Bearer soak-token' -H 'Content-Type: application/json' \
	-c 1 -interval 1s -n 100000000 -duration "$DURATION" >"$work/acquires.json" 2>&1 &
acq=$!
pids+=($dl $up $acq)

echo "soak: $DURATION against $gw (simulator $sim)"
echo "  t(s)  RSS(MiB)  goroutines"
start=$(date +%s)
samples="$work/samples"
while kill -0 $dl 2>/dev/null; do
	sleep 5
	t=$(($(date +%s) - start))
	r=$(rss)
	g=$(goroutines)
	echo "$t $r $g" >>"$samples"
	printf "  %4d  %8d  %10s\n" "$t" "$((r / 1024))" "$g"
done
wait $dl $up $acq 2>/dev/null || true
sleep 3 # let finished connections close
idle_g=$(goroutines)
python3 - "$work" "$samples" "$idle_g" "$(rss)" <<'PY'
import json, sys
work, samples, idle_g, end_rss = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rows = [tuple(map(int, l.split())) for l in open(samples) if len(l.split()) == 3]
warm = [r for r in rows if r[0] >= 15] or rows
first, last = warm[0], warm[-1]
peak = max(r[1] for r in rows)
mib = lambda kb: kb / 1024
print(f"RSS after warm-up {mib(first[1]):.1f} MiB, at the end of the load {mib(last[1]):.1f} MiB, peak {mib(peak):.1f} MiB")
print(f"goroutines after warm-up {first[2]}, at the end of the load {last[2]}, idle afterwards {idle_g}")
ok = True
for name in ("downloads", "uploads", "acquires"):
    s = json.load(open(f"{work}/{name}.json"))
    statuses = {int(k): v for k, v in (s.get("Statuses") or {}).items()}
    ok_n = sum(v for k, v in statuses.items() if 200 <= k < 300)
    print(f"{name}: {s['Requests']} requests, statuses {statuses}, transport errors {s['Errors']}, cut by the end {s['Cut']}, "
          f"p50 {s['Latency']['P50']/1e6:.1f} ms, p99 {s['Latency']['P99']/1e6:.1f} ms, distinct bodies {s['Bodies']}")
    if s["Errors"] > 0 or ok_n == 0:
        print(f"FAIL: {name} broke"); ok = False
    if name == "downloads" and s["Bodies"] != 1:
        print("FAIL: clients got different bytes for the same content"); ok = False
if last[1] > 1.5 * first[1] + 16 * 1024:
    print("FAIL: memory grew during the soak"); ok = False
if idle_g > first[2] + 50:
    print("FAIL: goroutines did not return after the load"); ok = False
print("OK: flat memory, no goroutine leak, every request answered" if ok else "soak FAILED")
sys.exit(0 if ok else 1)
PY
