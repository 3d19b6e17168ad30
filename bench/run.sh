#!/usr/bin/env bash
# Benchmarks, not tests: a marketplace of 100,000 offers and 10,000 hosts in
# a fresh SQLite file, the release server on loopback, and
#   - wrk (Debian's) at 50 connections on GET /api/v1/health and on
#     GET /api/v1/offers with a mix of filters, sorts and pages;
#   - sparecloud-bench: heartbeats from the 10,000 hosts, and POST /orders
#     (each after its own quote; then three instances spread over zones),
#     50 connections each.
# Prints the figures; takes about two minutes after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
# Payments go to localstripe, started for the run (STRIPE_API_BASE).
[ -n "${STRIPE_API_BASE:-}" ] || exec scripts/localstripe.sh run "$0" "$@"
seconds=${BENCH_SECONDS:-15}

command -v wrk >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk; }
cargo build --release --locked -p sparecloud-server -p sparecloud-bench
dir=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
db="sqlite://$dir/bench.db"

target/release/sparecloud-bench seed --database-url "$db" --offers 100000 --sellers 1000 --zones 10
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
metrics_port=$(free_port)
api="http://127.0.0.1:$port"
# A long heartbeat interval: each seeded host heartbeats every ~10 s at most.
# Orders authorise at localstripe (started by the last line of this script).
RUST_LOG=warn STRIPE_SECRET_KEY=sk_test_sparecloud STRIPE_PUBLISHABLE_KEY=pk_test_sparecloud \
  target/release/sparecloud-server --bind "127.0.0.1:$port" --database-url "$db" \
  --dist-dir "$dir" --heartbeat-interval-secs 60 --metrics-bind "127.0.0.1:$metrics_port" &
server_pid=$!
started=$(date +%s%N)
# Ready once the offer index of all 100,000 offers is built (health answers
# before that: it is liveness only).
for _ in $(seq 1 1200); do curl -fsS "$api/api/v1/ready" >/dev/null 2>&1 && break; sleep 0.025; done
echo "== start to ready (100,000 offers): $(( ($(date +%s%N) - started) / 1000000 )) ms"

echo "== GET /api/v1/health"
wrk -t2 -c50 -d"${seconds}s" --latency "$api/api/v1/health"
echo "== GET /api/v1/offers (filters, sorts, pages; 100,000 offers)"
wrk -t2 -c50 -d"${seconds}s" --latency -s bench/offers.lua "$api"
# The server's own view (its latency histogram, from the request entering
# the router to the answer leaving it): what wrk sees beyond that is
# queueing for the two cores.
echo "   server-side, share of searches answered within:"
curl -fsS "127.0.0.1:$metrics_port/metrics" \
  | awk -F'[{}]' '/^sparecloud_http_request_duration_seconds_(bucket|count)/ && $2 ~ /route="\/api\/v1\/offers"/ {
      split($3, v, " "); if ($1 ~ /_count$/) total = v[1];
      else if (match($2, /le="[0-9.]+"/)) { le[substr($2, RSTART + 4, RLENGTH - 5)] = v[1] } }
    END { for (b in le) if (b + 0 <= 0.01) printf "     %6.1f ms: %.2f %%\n", b * 1000, 100 * le[b] / total }' | sort -n
echo "== agent heartbeats"
target/release/sparecloud-bench heartbeats --api "$api" --hosts 10000 --connections 50 --seconds "$seconds"
echo "== orders"
target/release/sparecloud-bench orders --api "$api" --connections 50 --seconds "$seconds"
echo "== orders spread over zones (3 instances each, across sellers of bronze or better)"
target/release/sparecloud-bench orders --api "$api" --connections 50 --seconds "$seconds" \
  --count 3 --placement distinct_zones
