#!/usr/bin/env bash
# tests/pg/with-cluster.sh CMD...: run CMD with a throwaway PostgreSQL 15 cluster on a free
# loopback port, exported to it as GATEHOUSE_TEST_PG (its URL) and GATEHOUSE_TEST_PG_DIR (its
# directory, for tests that stop and restart the server); the cluster is stopped and removed
# afterwards, whatever CMD did. Exits with CMD's status.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/gh-pg-XXXXXX)
chmod 755 "$dir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
    "$here/cluster.sh" stop "$dir/pg" >/dev/null 2>&1 || "$here/cluster.sh" kill "$dir/pg" >/dev/null 2>&1
    rm -rf "$dir"
}
trap cleanup EXIT
url=$("$here/cluster.sh" start "$dir/pg" "$port") || exit 1
GATEHOUSE_TEST_PG=$url GATEHOUSE_TEST_PG_DIR=$dir/pg "$@"
