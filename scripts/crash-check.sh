#!/usr/bin/env bash
# Kills Caddy with SIGKILL in the middle of a purchase, restarts it, and checks that the pool
# ends with exactly the batches it paid for: none lost, none bought twice.
#   make build && ./scripts/crash-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/bin}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

"$BIN/beesim" -listen 127.0.0.1:0 -block-time 100ms -purchase-latency 2s >"$work/sim.out" 2>/dev/null &
pids+=($!)
for _ in $(seq 50); do sim=$(head -n1 "$work/sim.out" 2>/dev/null || true); [ -n "$sim" ] && break; sleep 0.1; done
gwport=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
cat >"$work/Caddyfile" <<CADDY
{
	admin off
	storage file_system $work/storage
}
http://127.0.0.1:$gwport {
	bee $sim {
		pool {
			reserve small 2
			block_time 100ms
			purchase_spacing 1ms
			purchase_timeout 1m
		}
	}
}
CADDY
export XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data
start_caddy() { "$BIN/caddy" run --config "$work/Caddyfile" --adapter caddyfile >>"$work/caddy.log" 2>&1 & caddy=$!; pids+=($caddy); }

start_caddy
# Wait until Bee is mining a purchase: a POST /stamps arrived, no batch exists yet.
for _ in $(seq 100); do
	posts=$(curl -s "$sim/_beesim/stats" | python3 -c 'import json,sys;print(json.load(sys.stdin)["requests"].get("POST stamps",0))')
	[ "$posts" -ge 1 ] && break
	sleep 0.05
done
sleep 0.5
echo "SIGKILL caddy during purchase #$posts"
kill -9 "$caddy"
sleep 3 # the purchase completes on chain without anyone listening
start_caddy
for _ in $(seq 300); do
	level=$(curl -s "http://127.0.0.1:$gwport/api/v1/pool/status" | python3 -c 'import json,sys;print(json.load(sys.stdin)["current_levels"].get("17",0))' 2>/dev/null || echo 0)
	[ "$level" -ge 2 ] && break
	sleep 0.1
done
sleep 1
python3 - "$work" "$sim" <<'PY'
import glob, json, sys, urllib.request
work, sim = sys.argv[1], sys.argv[2]
chain = json.load(urllib.request.urlopen(sim + "/_beesim/batches"))
ledger = json.load(open(glob.glob(work + "/storage/caddy-bee/pool/*.json")[0]))
paid = sorted(b["batchID"] for b in chain)
ids = {b["id"] for b in ledger["batches"]}
for seg in ledger.get("history") or []:  # issued/retired batches moved out (internal/pool/history.go)
    ids |= {b["id"] for b in json.load(open(work + "/storage/" + seg))["batches"]}
known = sorted(ids)
print(f"batches on chain: {len(paid)}; in the ledger: {len(known)}; open intents: {len(ledger['intents'])}")
assert paid == known, f"mismatch: chain {paid} ledger {known}"
assert len(paid) == 2, f"bought {len(paid)} batches for a target of 2"
print("OK: every paid batch is in the ledger, none bought twice")
PY
