#!/usr/bin/env bash
# bench/scim.sh - the SCIM target under Entra-shaped load, each figure also as a ratio to a plain
# SQLite loop doing the same writes (WAL, synchronous=FULL, one row per transaction) measured in
# the same run on the same disk:
#   - users created per second over HTTP, 1 and 8 connections (vs baseline rows/s)
#   - member adds per second into a 100,000-member group, one member per PATCH (vs baseline)
#   - store size and daemon RSS after 100,000 users and 1,000 groups (vs baseline file, RSS)
# Bounded: SCIM_BENCH_USERS (default 100000) users; a few minutes on an ordinary SSD.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

N=${SCIM_BENCH_USERS:-100000}
SAMPLE=${SCIM_BENCH_SAMPLE:-3000}
ADDS=${SCIM_BENCH_ADDS:-2000}
TOKEN=bench-scim-secret-0123456789abcdef
BIN=build/bench/scim_bench
mkdir -p build/bench
read -r -a bench_libs <<< "$(pkg-config --cflags --libs libcurl sqlite3)"
cc -std=c11 -D_DEFAULT_SOURCE -O2 -o "$BIN" bench/scim_bench.c "${bench_libs[@]}" -lpthread

read -r base_users base_members base_bytes base_rss_kb < <("$BIN" baseline "$bench_tmp" "$N")

port=$(bench_port)
bench_gatehouse_start "$port" GATEHOUSE_SCIM_TOKEN="$TOKEN" GATEHOUSE_THREADS=8
pid=${bench_pids[-1]}
url="http://127.0.0.1:$port/scim/v2"
db="$bench_tmp/gh-$port.db"

# throughput samples, then the rest of the 100,000 users (ids kept for the group)
u1=$("$BIN" users "$url" "$TOKEN" "$SAMPLE" 1 one "$bench_tmp/ids1")
u8=$("$BIN" users "$url" "$TOKEN" "$SAMPLE" 8 eight "$bench_tmp/ids8")
"$BIN" users "$url" "$TOKEN" $((N - 2 * SAMPLE)) 8 rest "$bench_tmp/ids" >/dev/null
cat "$bench_tmp/ids1" "$bench_tmp/ids8" >> "$bench_tmp/ids"
gid=$("$BIN" groups "$url" "$TOKEN" 1000)
head -n $((N - ADDS)) "$bench_tmp/ids" > "$bench_tmp/fill"
tail -n "$ADDS" "$bench_tmp/ids" > "$bench_tmp/adds"
"$BIN" fill "$url" "$TOKEN" "$gid" "$bench_tmp/fill" 1000
adds=$("$BIN" adds "$url" "$TOKEN" "$gid" "$bench_tmp/adds" 0 "$ADDS")

rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
kill "$pid"
wait "$pid" 2>/dev/null || true
bytes=$(stat -c %s "$db")
[ -f "$db-wal" ] && bytes=$((bytes + $(stat -c %s "$db-wal")))

echo "scim: users created/s over HTTP: 1 conn ${u1}, 8 conns ${u8};" \
     "plain SQLite loop ${base_users} rows/s; ratios $(bench_ratio "$u1" "$base_users")," \
     "$(bench_ratio "$u8" "$base_users")"
echo "scim: member adds/s into a $((N - ADDS))-member group (1 member per PATCH): ${adds};" \
     "plain SQLite ${base_members} rows/s; ratio $(bench_ratio "$adds" "$base_members")"
echo "scim: store after $N users and 1000 groups: $((bytes / 1024)) KiB" \
     "(plain SQLite $((base_bytes / 1024)) KiB, ratio $(bench_ratio "$bytes" "$base_bytes"));" \
     "daemon RSS ${rss_kb} KiB (baseline process ${base_rss_kb} KiB," \
     "ratio $(bench_ratio "$rss_kb" "$base_rss_kb"))"
