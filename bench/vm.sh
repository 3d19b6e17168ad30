#!/usr/bin/env bash
# Benchmark, not a test: order placed → SSH login on a real QEMU machine,
# with a cold image cache and with the image cached, and QEMU's memory per
# machine (bench/vm.mjs). Builds the release binaries and the test image
# first; `ROUNDS` rounds of a fresh market each (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory server test-image node-deps >/dev/null
SPARECLOUD_SERVER_BIN=target/release/sparecloud-server \
SPARECLOUD_AGENT_BIN=target/release/sparecloud-agent \
SPARECLOUD_E2E_BUILT=1 scripts/localstripe.sh run node bench/vm.mjs "${ROUNDS:-3}"
