#!/usr/bin/env bash
# The web app's size and speed budgets, measured (see bench/budgets.mjs):
# the release app as `make run` serves it, the release server with the demo
# marketplace and its simulated agents. `bench/budgets.sh startup` runs
# bench/startup.mjs instead: where a fresh load's time goes;
# `bench/budgets.sh compare DIST_A DIST_B` runs bench/compare.mjs: two
# builds' times, interleaved.
set -euo pipefail
cd "$(dirname "$0")/.."
make build localstripe
SPARECLOUD_E2E_BUILT=1 \
  SPARECLOUD_SERVER_BIN=target/release/sparecloud-server \
  SPARECLOUD_AGENT_BIN=target/release/sparecloud-agent \
  scripts/localstripe.sh run node "bench/${1:-budgets}.mjs" "${@:2}"
