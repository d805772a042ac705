#!/usr/bin/env bash
# Runs a command with TEST_DATABASE_URL pointing at a throwaway PostgreSQL cluster,
# and always removes the cluster afterwards.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$("$here/pg-test-cluster.sh")
url=$(printf '%s\n' "$out" | grep '^DATABASE_URL=' | cut -d= -f2-)
dir=$(printf '%s\n' "$out" | grep "^PGDATA_DIR=" | cut -d= -f2-)
trap '"$here/pg-test-cluster.sh" stop "$dir" >/dev/null 2>&1 || true' EXIT
echo "PostgreSQL test cluster: $url"
TEST_DATABASE_URL="$url" "$@"
