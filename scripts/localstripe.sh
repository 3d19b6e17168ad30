#!/usr/bin/env bash
# localstripe, the Stripe stand-in of the tests and the demo, in a
# project-local virtualenv (idempotent: installs only what is missing).
#   scripts/localstripe.sh install
#   scripts/localstripe.sh run CMD...   localstripe on a free loopback port
#       for CMD, as STRIPE_API_BASE; stopped (by its pid) when CMD ends.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/venv.sh

version=1.15.10
venv=target/localstripe-venv

install() {
  venv_install "$venv" localstripe "$version"
}

# Starts localstripe in the background: sets localstripe_pid and
# STRIPE_API_BASE (exported).
start() {
  install
  local log=${LOCALSTRIPE_LOG:-target/localstripe.log}
  local portfile
  portfile=$(mktemp)
  "$venv/bin/python" scripts/serve-localstripe.py >"$portfile" 2>"$log" &
  localstripe_pid=$!
  for _ in $(seq 1 100); do
    [ -s "$portfile" ] && break
    kill -0 "$localstripe_pid" 2>/dev/null || { cat "$log" >&2; echo "localstripe did not start" >&2; exit 1; }
    sleep 0.1
  done
  export STRIPE_API_BASE="http://127.0.0.1:$(head -n1 "$portfile")"
  rm -f "$portfile"
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null -u sk_test_sparecloud: "$STRIPE_API_BASE/v1/balance" && return
    sleep 0.1
  done
  echo "localstripe does not answer at $STRIPE_API_BASE" >&2
  exit 1
}

case "${1:-}" in
  install) install ;;
  run)
    shift
    start
    trap 'kill "$localstripe_pid" 2>/dev/null; wait "$localstripe_pid" 2>/dev/null || true' EXIT
    "$@"
    ;;
  *) echo "usage: $0 install | run CMD..." >&2; exit 2 ;;
esac
