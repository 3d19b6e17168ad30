#!/usr/bin/env bash
# The server's integration tests again, on PostgreSQL (only the server
# uses a database; the agent's tests, real VMs included, run once):
# installs Debian's PostgreSQL when missing, starts a throwaway cluster on
# loopback (its own directory and port, no durability: it lives only for
# the tests) and points the tests at it. Each test creates
# its own database there.
set -euo pipefail
cd "$(dirname "$0")/.."

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
bin=$(pg_bin)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
  bin=$(pg_bin)
fi

dir=$(mktemp -d /tmp/sparecloud-pg.XXXXXX)
# PostgreSQL refuses to run as root: as root, the cluster belongs to postgres.
as=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$dir"
  as=(runuser -u postgres --)
fi
stop() {
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT

"${as[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log"; exit 1; }
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
  "-p $port -h 127.0.0.1 -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=500" \
  start >/dev/null || { cat "$dir/server.log"; exit 1; }

echo "== server integration tests on PostgreSQL ($("$bin/postgres" --version))"
SPARECLOUD_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres" \
  cargo test -p sparecloud-server --locked --test '*' "$@" -- --include-ignored
