#!/usr/bin/env bash
# schemathesis, which fuzzes the API against its own OpenAPI document
# (e2e/api_schema.test.mjs), in a project-local virtualenv (idempotent:
# installs only what is missing).
#   scripts/schemathesis.sh install
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/venv.sh

version=4.32.5
venv=target/schemathesis-venv

case "${1:-}" in
  install) venv_install "$venv" schemathesis "$version" ;;
  *) echo "usage: $0 install" >&2; exit 2 ;;
esac
