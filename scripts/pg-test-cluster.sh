#!/bin/sh
# A throwaway PostgreSQL cluster for tests (Debian's postgresql, run as root).
#
#   scripts/pg-test-cluster.sh            starts one; prints DATABASE_URL=... and PGDATA_DIR=...
#                                         (shell assignments: eval "$(scripts/pg-test-cluster.sh)")
#   scripts/pg-test-cluster.sh stop DIR   stops it and removes DIR
#
# initdb and postgres refuse to run as root, so they run as the `postgres` OS
# user. The server listens on a unix socket in DIR and a free TCP port on
# 127.0.0.1; trust auth is fine for a cluster that lives only as long as a test run.
set -eu

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
DB_NAME=${PG_TEST_DB:-crm_test}

as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

if [ "${1:-}" = "stop" ]; then
    dir=${2:?usage: $0 stop DIR}
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    exit 0
fi

[ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL not found (apt-get install postgresql)" >&2; exit 1; }

dir=$(mktemp -d /tmp/crm-pg.XXXXXX)
chmod 755 "$dir"
[ "$(id -u)" = 0 ] && chown postgres: "$dir"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

fail() {
    cat "$1" >&2
    rm -rf "$dir"
    exit 1
}

as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || fail "$dir/initdb.log"
as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-k $dir -p $port -h 127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || fail "$dir/server.log"
as_postgres "$PG_BIN/createdb" -h "$dir" -p "$port" -U postgres "$DB_NAME"

echo "DATABASE_URL=postgresql+psycopg2://postgres@127.0.0.1:$port/$DB_NAME"
echo "PGDATA_DIR=$dir"
