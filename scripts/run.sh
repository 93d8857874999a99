#!/usr/bin/env bash
# Starts the Bee simulator (unless BEE_URL points at a real Bee) and Caddy with
# Caddyfile.example on 127.0.0.1, prints what to try, and stops both on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/bin}
export GATEWAY_ADDR=${GATEWAY_ADDR:-127.0.0.1:8080}
export CADDY_ADMIN=${CADDY_ADMIN:-localhost:2019}
export BEE_ADMIN_TOKEN=${BEE_ADMIN_TOKEN:-demo-token}

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

if [ -z "${BEE_URL:-}" ]; then
	export BLOCK_TIME=${BLOCK_TIME:-500ms}
	simout=$(mktemp)
	"$BIN/beesim" -listen 127.0.0.1:0 -block-time "$BLOCK_TIME" >"$simout" &
	pids+=($!)
	for _ in $(seq 100); do
		BEE_URL=$(head -n1 "$simout" 2>/dev/null || true)
		[ -n "$BEE_URL" ] && break
		sleep 0.1
	done
	[ -n "$BEE_URL" ] || { echo "the Bee simulator did not start" >&2; exit 1; }
	export BEE_URL
	echo "Bee simulator: $BEE_URL (block time $BLOCK_TIME)"
else
	echo "Using Bee at $BEE_URL"
fi

"$BIN/caddy" run --config Caddyfile.example --adapter caddyfile &
pids+=($!)
gw="http://$GATEWAY_ADDR"
for _ in $(seq 100); do curl -fsS "$gw/health" >/dev/null 2>&1 && break; sleep 0.2; done

cat <<MSG

caddy-bee gateway: $gw   (admin token: $BEE_ADMIN_TOKEN)
Try:
  curl $gw/health
  curl -s -X POST --data-binary @README.md $gw/bytes            # upload, batch injected by the pool
  curl -s $gw/bytes/<reference>                                  # download it back
  curl -s $gw/api/v1/pool/status
  curl -s -X POST -H "Authorization: Bearer $BEE_ADMIN_TOKEN" $gw/api/v1/pool/acquire -d '{"size":"small"}'
  curl -s $gw/api/v1/coalescer
  curl -i $gw/stamps                                             # refused: 403 (routes gateway)
Ctrl-C stops the gateway and the simulator.
MSG
wait -n "${pids[@]}"
