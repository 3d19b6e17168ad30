#!/usr/bin/env bash
# schemathesis, which fuzzes the API against its own OpenAPI document
# (e2e/api_schema.test.mjs), in a project-local virtualenv (idempotent:
# installs only what is missing).
#   scripts/schemathesis.sh install
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.32.5
venv=target/schemathesis-venv

case "${1:-}" in
  install)
    if "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '$version')" 2>/dev/null; then
      exit 0
    fi
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv
    fi
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
    ;;
  *) echo "usage: $0 install" >&2; exit 2 ;;
esac
