#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster on a loopback port, for tests and benchmarks.
#   tests/pg/cluster.sh start DIR PORT   initdb (once) + start; prints the URL to connect with
#   tests/pg/cluster.sh stop DIR         stop it (fast shutdown)
#   tests/pg/cluster.sh kill DIR         stop it abruptly (immediate shutdown: a crash)
# Runs the server as an unprivileged user when started as root (postgres refuses root).
# Trust authentication on 127.0.0.1 only; the database is "gatehouse".
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "cluster.sh: PostgreSQL server not installed (apt-get install postgresql)" >&2; exit 1; }
cmd=${1:?start|stop|kill}
dir=${2:?data directory}
as() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case $cmd in
start)
    port=${3:?port}
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as "$bin/initdb" -D "$dir/data" -U postgres -A trust --locale=C.UTF-8 -E UTF8 >"$dir/initdb.log" 2>&1 ||
            { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=on -c max_connections=300" start >/dev/null ||
        { cat "$dir/server.log" >&2; exit 1; }
    as "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc \
        "SELECT 1 FROM pg_database WHERE datname = 'gatehouse'" | grep -q 1 ||
        as "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres gatehouse
    echo "postgresql://postgres@127.0.0.1:$port/gatehouse"
    ;;
stop)
    [ -f "$dir/data/postmaster.pid" ] && as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
kill)
    [ -f "$dir/data/postmaster.pid" ] && as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
*)
    echo "usage: $0 start DIR PORT | stop DIR | kill DIR" >&2
    exit 2
    ;;
esac
