#!/usr/bin/env bash
# `make run`: the server with demo data on http://127.0.0.1:8080, and a
# simulated agent for every demo host. Ctrl-C (or SIGTERM) stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."

data=${SPARECLOUD_RUN_DIR:-data}
bind=${SPARECLOUD_BIND:-127.0.0.1:8080}
mkdir -p "$data"
export DATABASE_URL=${DATABASE_URL:-sqlite://$data/sparecloud.db}
export SPARECLOUD_DIST_DIR=${SPARECLOUD_DIST_DIR:-dist}
export SPARECLOUD_PUBLIC_URL=${SPARECLOUD_PUBLIC_URL:-http://$bind}

pids=()
stop() {
  trap - INT TERM EXIT
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

./target/release/sparecloud-server --bind "$bind" --demo --demo-agents-dir "$data/demo-agents" &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS "http://$bind/api/v1/health" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "the server did not start" >&2; exit 1; }
  sleep 0.2
done

# The demo partner portal, on a second origin, embedding the buy flow.
node scripts/partner-demo.mjs --port "${SPARECLOUD_PARTNER_PORT:-8081}" --sparecloud "$SPARECLOUD_PUBLIC_URL" &
pids+=($!)

for host in "$data"/demo-agents/*/; do
  SPARECLOUD_AGENT_STATE_DIR="$host" ./target/release/sparecloud-agent run &
  pids+=($!)
done
echo "Sparecloud is running on http://$bind with ${#pids[@]} processes (demo sellers' agents are simulations)."
echo "Demo buyer: buyer@demo.sparecloud.dev / demo-password-1. Ctrl-C stops everything."
echo "Demo partner portal (the embed on another origin): http://127.0.0.1:${SPARECLOUD_PARTNER_PORT:-8081}"
wait "${pids[0]}"
