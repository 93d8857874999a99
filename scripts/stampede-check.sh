#!/usr/bin/env bash
# N concurrent curls of one large /bytes/{ref} through the gateway: counts the simulator's
# downloads, checks every client got identical bytes, and reports Caddy's peak RSS.
#   make build && N=500 SIZE_MB=50 ./scripts/stampede-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/bin}
N=${N:-500}
SIZE_MB=${SIZE_MB:-50}
LATENCY=${LATENCY:-500ms}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$BIN/beesim" -listen 127.0.0.1:0 -download-latency "$LATENCY" >"$work/sim.out" 2>/dev/null &
pids+=($!)
for _ in $(seq 50); do sim=$(head -n1 "$work/sim.out" 2>/dev/null || true); [ -n "$sim" ] && break; sleep 0.1; done
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
printf '{\n\tadmin off\n\tstorage file_system %s/storage\n}\nhttp://127.0.0.1:%s {\n\tbee %s\n}\n' "$work" "$port" "$sim" >"$work/Caddyfile"
XDG_CONFIG_HOME=$work XDG_DATA_HOME=$work "$BIN/caddy" run --config "$work/Caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 &
caddy=$!
pids+=($caddy)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
ref=$(curl -s -X POST "$sim/_beesim/synthetic?size=$((SIZE_MB << 20))&seed=7" | python3 -c 'import json,sys;print(json.load(sys.stdin)["reference"])')
curl -s -X DELETE "$sim/_beesim/stats"

( while kill -0 "$caddy" 2>/dev/null; do grep VmHWM /proc/$caddy/status | awk '{print $2}' >"$work/hwm"; sleep 0.2; done ) &
pids+=($!)
# Every client blocks on a FIFO, so all of them start together once it is opened and closed.
mkfifo "$work/go"
clients=()
for i in $(seq "$N"); do
	( cat "$work/go" >/dev/null; curl -s "http://127.0.0.1:$port/bytes/$ref" | md5sum | cut -d' ' -f1 >"$work/sum.$i" ) &
	clients+=($!)
done
sleep 2
start=$(date +%s.%N)
exec 3>"$work/go"
exec 3>&-
wait "${clients[@]}"
end=$(date +%s.%N)
downloads=$(curl -s "$sim/_beesim/stats" | python3 -c 'import json,sys;print(json.load(sys.stdin)["downloads"])')
distinct=$(cat "$work"/sum.* | sort -u | wc -l)
expected=$(curl -s "$sim/bytes/$ref" | md5sum | cut -d' ' -f1)
same=$(grep -l "$expected" "$work"/sum.* | wc -l)
echo "clients: $N x ${SIZE_MB} MiB; wall time: $(echo "$end - $start" | bc) s"
echo "simulator downloads: $downloads"
echo "clients with the exact bytes: $same/$N (distinct checksums: $distinct)"
echo "caddy peak RSS (VmHWM): $(( $(cat "$work/hwm") / 1024 )) MiB"
