#!/usr/bin/env bash
# `make run`: the server with demo data on http://127.0.0.1:8080, an agent
# for every demo host (simulated, but for the lab host: this machine,
# running real virtual machines of the test image under QEMU). Ctrl-C (or
# SIGTERM) stops them all, the lab's virtual machines included.
set -euo pipefail
cd "$(dirname "$0")/.."

# Payments: real Stripe when STRIPE_SECRET_KEY is set, else localstripe (a
# stateful stand-in, started here and stopped with everything else).
if [ -z "${STRIPE_SECRET_KEY:-}" ] && [ -z "${SPARECLOUD_LOCALSTRIPE:-}" ]; then
  SPARECLOUD_LOCALSTRIPE=1 exec scripts/localstripe.sh run "$0" "$@"
fi
if [ -n "${SPARECLOUD_LOCALSTRIPE:-}" ]; then
  export STRIPE_SECRET_KEY=sk_test_sparecloud STRIPE_PUBLISHABLE_KEY=pk_test_sparecloud
  export STRIPE_JS_URL="$STRIPE_API_BASE/js.stripe.com/v3/" STRIPE_WEBHOOK_SECRET=whsec_sparecloud_demo
  echo "Payments: localstripe at $STRIPE_API_BASE (test cards: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined)."
else
  echo "Payments: Stripe at ${STRIPE_API_BASE:-https://api.stripe.com}."
fi

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
  # Virtual machines outlive their agent by design; the demo's do not.
  for pidfile in "$data"/demo-agents/*/vms/*/qemu.pid; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
}
trap stop INT TERM EXIT

# The lab host fetches the test image from the server, checked by its SHA-256.
./target/release/sparecloud-server --bind "$bind" --demo --demo-qemu-host --demo-agents-dir "$data/demo-agents" \
  --publish-image "sparecloud-test=target/images/sparecloud-test/disk.qcow2" &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS "http://$bind/api/v1/health" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "the server did not start" >&2; exit 1; }
  sleep 0.2
done
if [ -n "${SPARECLOUD_LOCALSTRIPE:-}" ]; then
  # localstripe signs its events with our secret and posts them here.
  curl -fsS -o /dev/null "$STRIPE_API_BASE/_config/webhooks/sparecloud" \
    -d "url=http://$bind/api/v1/webhooks/stripe" -d "secret=$STRIPE_WEBHOOK_SECRET"
fi

# The demo partner portal, on a second origin, embedding the buy flow.
node scripts/partner-demo.mjs --port "${SPARECLOUD_PARTNER_PORT:-8081}" --sparecloud "$SPARECLOUD_PUBLIC_URL" &
pids+=($!)

ssh_ports=22000
for host in "$data"/demo-agents/*/; do
  if [ "$(cat "$host/driver" 2>/dev/null)" = qemu ]; then
    # This machine: real virtual machines, SSH forwarded on loopback, a
    # range of ports for each of the lab's hosts.
    SPARECLOUD_AGENT_STATE_DIR="$host" ./target/release/sparecloud-agent run --driver qemu \
      --ssh-host 127.0.0.1 --ssh-bind 127.0.0.1 --ssh-ports "$ssh_ports-$((ssh_ports + 99))" &
    ssh_ports=$((ssh_ports + 100))
  else
    SPARECLOUD_AGENT_STATE_DIR="$host" ./target/release/sparecloud-agent run &
  fi
  pids+=($!)
done
echo "Sparecloud is running on http://$bind with ${#pids[@]} processes."
echo "The demo sellers' agents are simulations, but for \"Sparecloud Lab (this machine)\": buy the"
echo "\"Sparecloud test image (busybox)\" there and SSH in with the command on the Instances page."
echo "Demo buyer: buyer@demo.sparecloud.dev / demo-password-1. Ctrl-C stops everything."
echo "Demo partner portal (the embed on another origin): http://127.0.0.1:${SPARECLOUD_PARTNER_PORT:-8081}"
wait "${pids[0]}"
