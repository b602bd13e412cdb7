#!/usr/bin/env bash
# bench/fleet.sh - a fleet of gatehouse replicas on one store (issue 11), on each backend named in
# BENCH_DB (default "sqlite postgresql"; PostgreSQL 15 is started here on loopback with
# tests/pg/cluster.sh in a temp dir and stopped on exit):
#   (1) propagation: 3 replicas on one database; a SCIM PATCH (add a user to / remove one from the
#       linked group G0, alternating) answered by replica A, then replica B asked /v1/authorize on
#       a keep-alive connection until its decision reflects it: p50/p99 over BENCH_WRITES (1,000)
#       writes (bench/fleet_bench.c --propagate). Target p99 <= 50 ms. SQLite replicas share one
#       file and poll its feed every BENCH_SQLITE_POLL ms (default 20); PostgreSQL replicas are
#       woken by NOTIFY (their poll, GATEHOUSE_STORE_POLL's default, is the safety net).
#   (2) decisions/s, wrk -c$BENCH_CONNS on /v1/authorize of replica B while A and C run: one cached
#       token and BENCH_USERS (10,000) users' tokens, PostgreSQL vs SQLite in the same run; and the
#       users' tokens on a store with 1,000 vs 1,000,000 memberships (decision cost flat).
#   (3) start-up of a replica on 100,000 users, 1,000 groups, 1,000,000 memberships: process start
#       to /readyz 200, then VmRSS (targets <= 5 s, <= 150 MB).
#   (4) SCIM ingestion on PostgreSQL through replica A (bench/scim_bench.c: users created/s on one
#       connection, single-member PATCH adds/s) vs a plain libpq loop inserting the same rows, one
#       INSERT per transaction, into the same tables of a fresh store (fleet_bench --pg-baseline).
# Stores are made by a gatehouse started and stopped on them (schema, access groups G0..G9), then
# filled directly in the database (generate_series / a recursive CTE; not through SCIM) with the
# layout of authz_bench --provision: users u<i>@contoso.example (externalId = the oid of
# authz_bench --emit's token i), groups G<j>, user (j * 7919 + m) % users in group j.
# Rounds: BENCH_ROUNDS interleaved wrk rounds, medians of rates and of same-round ratios.
# Bounded: every loop has a count or a deadline; about 5 minutes with the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
BUILD=${BUILD:-build}
BACKENDS=${BENCH_DB:-sqlite postgresql}
USERS=${BENCH_USERS:-10000}
WRITES=${BENCH_WRITES:-1000}
SQLITE_POLL=${BENCH_SQLITE_POLL:-20}
BIG_USERS=${BENCH_BIG_USERS:-100000}
BIG_GROUPS=${BENCH_BIG_GROUPS:-1000}
BIG_PER=${BENCH_BIG_PER_GROUP:-1000}
INGEST=${BENCH_INGEST:-1000}
TIMEOUT_MS=${BENCH_PROPAGATION_TIMEOUT:-5000}
SCIM=bench-scim-secret-0123456789abcdef

for b in $BACKENDS; do
    case $b in
    sqlite | postgresql) ;;
    *) echo "fleet: BENCH_DB names sqlite and/or postgresql, not '$b'" >&2; exit 2 ;;
    esac
done
has() { case " $BACKENDS " in *" $1 "*) return 0 ;; esac; return 1; }

# ---- helpers: authz_bench and fleet_bench from the Makefile, scim_bench as bench/scim.sh builds it ----
make --no-print-directory "$BUILD/gatehouse" "$BUILD/bench/authz_bench" "$BUILD/bench/fleet_bench" >/dev/null
read -r -a scim_libs <<<"$(pkg-config --cflags --libs libcurl sqlite3)"
cc -std=c11 -D_DEFAULT_SOURCE -O2 -o "$BUILD/bench/scim_bench" bench/scim_bench.c \
    "${scim_libs[@]}" -lpthread

# ---- PostgreSQL on loopback, stopped (after the replicas) by the exit trap ----
pg_dir='' pg_url=''
fleet_cleanup() {
    local rc=$? f
    if [ "$rc" != 0 ]; then # what the replicas said, before it is removed
        for f in "$bench_tmp"/gh-*.log; do
            [ -s "$f" ] && { echo "fleet: ${f##*/}:" >&2; tail -5 "$f" >&2; }
        done
    fi
    for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    bench_pids=()
    [ -z "$pg_dir" ] || bash tests/pg/cluster.sh stop "$pg_dir" >/dev/null 2>&1 || true
    bench_cleanup
}
trap fleet_cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "fleet: failed at line $LINENO" >&2' ERR
if has postgresql; then
    pg_dir="$bench_tmp/pg"
    chmod 711 "$bench_tmp" # the server runs as postgres when this runs as root
    pg_url=$(bash tests/pg/cluster.sh start "$pg_dir" "${BENCH_PG_PORT:-$(bench_port)}")
fi
psql_on() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# ---- tokens, issuer, policy, wrk scripts (as bench/authorize.sh) ----
GH_SRCDIR=$PWD "$BUILD/bench/authz_bench" --emit "$bench_tmp" "$USERS"
bench_static_idp "$bench_tmp/keys.json"
{
    printf '{"access_groups":['
    for j in $(seq 0 9); do
        [ "$j" = 0 ] || printf ','
        printf '{"name":"G%d","grants":[{"dataset":"ds%d","actions":["protect","unprotect"]}]}' "$j" "$j"
    done
    printf '],"default_grants":[{"dataset":"directory","actions":["protect"]}]}'
} >"$bench_tmp/policy.json"
cat >"$bench_tmp/one.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"dataset":"ds0","action":"protect"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $(head -1 "$bench_tmp/tokens.txt")"
LUA
cat >"$bench_tmp/many.lua" <<LUA
-- every request is formatted once, up front: the loop itself costs wrk no more than one.lua
local reqs = {}
local i = 0
function init(args)
  for line in io.lines("$bench_tmp/tokens.txt") do
    reqs[#reqs + 1] = wrk.format("POST", nil, {["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. line}, '{"dataset":"ds0","action":"protect"}')
  end
  i = math.random(#reqs)
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
LUA

# ---- stores and replicas ----
# fleet_start BACKEND TARGET: a replica on a free port, not waited for; sets rep_port, rep_pid.
fleet_start() {
    local poll=()
    [ "$1" = sqlite ] && poll=(GATEHOUSE_STORE_POLL="$SQLITE_POLL")
    rep_port=$(bench_port)
    env -i PATH="$PATH" GATEHOUSE_LISTEN="127.0.0.1:$rep_port" GATEHOUSE_DB="$2" \
        GATEHOUSE_LOG_LEVEL=warn GATEHOUSE_OIDC_DISCOVERY="$bench_disc_url" \
        GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER=1 GATEHOUSE_AUDIENCE=api://gatehouse-bench \
        GATEHOUSE_SCIM_TOKEN="$SCIM" GATEHOUSE_POLICY="$bench_tmp/policy.json" "${poll[@]}" \
        "$GH_BIN" 2>>"$bench_tmp/gh-$rep_port.log" &
    rep_pid=$!
    bench_pids+=("$rep_pid")
}

# fleet_ready PORT PID SECONDS: wait (bounded) for /readyz 200; fails when the process died.
fleet_ready() {
    local deadline=$(($(date +%s) + $3))
    while [ "$(date +%s)" -le "$deadline" ]; do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz")" = 200 ] && return 0
        kill -0 "$2" 2>/dev/null || break
        sleep 0.01
    done
    echo "fleet: the replica on port $1 was not ready within $3 s:" >&2
    tail -5 "$bench_tmp/gh-$1.log" >&2
    return 1
}

fleet_stop() {
    local keep=() p
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    for p in "${bench_pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    bench_pids=("${keep[@]}")
}

# The SQL that fills a fresh store: USERS, GROUPS, PER_GROUP, then the dialect's pieces. The
# change log the triggers wrote is cut to its last row, as a prune would leave it (a replica
# loads the tables, not the log; this keeps the replicas' first prune out of the measurements).
fleet_gen_sqlite() {
    local n=$1 g=$2 per=$3
    # a random version 4 UUID, as store_new_id() makes them (the text the backends store)
    local uuid="lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' ||
  substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + abs(random() % 4), 1) ||
  substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))"
    cat <<SQL
PRAGMA cache_size = -262144;
PRAGMA synchronous = OFF; -- a file made for the bench: no need to survive a power cut
BEGIN;
CREATE TEMP TABLE gu (i INTEGER PRIMARY KEY, id TEXT NOT NULL);
CREATE TEMP TABLE gg (j INTEGER PRIMARY KEY, id TEXT NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $n)
INSERT INTO gu SELECT i, $uuid FROM n;
WITH RECURSIVE n(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM n WHERE j + 1 < $g)
INSERT INTO gg SELECT j, $uuid FROM n;
INSERT INTO users(id, user_name, external_id, display_name, active, version, created, modified, body)
SELECT id, 'u' || i || '@contoso.example', printf('%08x-0000-4000-8000-%012d', i, i), NULL, 1, 1,
  t, t, '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u' || i ||
  '@contoso.example","externalId":"' || printf('%08x-0000-4000-8000-%012d', i, i) ||
  '","active":true}'
FROM gu, (SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now') AS t) ORDER BY i;
INSERT INTO groups(id, display_name, name_key, external_id, version, created, modified, body)
SELECT id, 'G' || j, 'g' || j, NULL, 1, t, t,
  '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G' || j || '"}'
FROM gg, (SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now') AS t) ORDER BY j;
WITH RECURSIVE m(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM m WHERE k + 1 < $per)
INSERT INTO members(group_id, member_id, member_type)
SELECT gg.id, gu.id, 0 FROM gg, m, gu WHERE gu.i = (gg.j * 7919 + m.k) % $n;
UPDATE gh_meta SET value = CAST((SELECT max(rev) - 1 FROM changes) AS TEXT)
  WHERE key = 'changes_pruned';
DELETE FROM changes WHERE rev < (SELECT max(rev) FROM changes);
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
}

fleet_gen_postgresql() {
    local n=$1 g=$2 per=$3
    cat <<SQL
BEGIN;
CREATE TEMP TABLE gu AS SELECT i, gen_random_uuid()::text AS id FROM generate_series(0, $n - 1) AS i;
CREATE TEMP TABLE gg AS SELECT j, gen_random_uuid()::text AS id FROM generate_series(0, $g - 1) AS j;
-- users and members without their triggers (the change-feed rows, cut below anyway, and the
-- foreign-key checks: 45 s of 1,000,000 plpgsql calls); groups keep theirs (the links to G0..G9)
SET LOCAL session_replication_role = replica;
INSERT INTO users(id, user_name, external_id, display_name, active, version, created, modified, body)
SELECT id, 'u' || i || '@contoso.example',
  lpad(to_hex(i), 8, '0') || '-0000-4000-8000-' || lpad(i::text, 12, '0'), NULL, true, 1, t, t,
  '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u' || i ||
  '@contoso.example","externalId":"' || lpad(to_hex(i), 8, '0') || '-0000-4000-8000-' ||
  lpad(i::text, 12, '0') || '","active":true}'
FROM gu, (SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t) AS ts
ORDER BY i;
SET LOCAL session_replication_role = origin;
INSERT INTO groups(id, display_name, name_key, external_id, version, created, modified, body)
SELECT id, 'G' || j, 'g' || j, NULL, 1, t, t,
  '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G' || j || '"}'
FROM gg, (SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t) AS ts
ORDER BY j;
SET LOCAL session_replication_role = replica;
INSERT INTO members(group_id, member_id, member_type)
SELECT gg.id, gu.id, 0 FROM gg CROSS JOIN generate_series(0, $per - 1) AS m(k)
JOIN gu ON gu.i = (gg.j * 7919 + m.k) % $n;
SET LOCAL session_replication_role = origin;
UPDATE gh_meta SET value = (SELECT max(rev) - 1 FROM changes)::text WHERE key = 'changes_pruned';
DELETE FROM changes WHERE rev < (SELECT max(rev) FROM changes);
COMMIT;
VACUUM ANALYZE;
SQL
}

# fleet_store BACKEND NAME USERS GROUPS PER_GROUP: a new store, migrated and given the policy's
# access groups by a gatehouse started and stopped on it, then filled (USERS > 0); sets
# store_target and gen_s (seconds the fill took).
fleet_store() {
    local t0
    case $1 in
    sqlite) store_target="$bench_tmp/$2.db" ;;
    postgresql)
        psql_on "$pg_url" -c "CREATE SCHEMA $2"
        store_target="$pg_url?options=-csearch_path%3D$2"
        ;;
    esac
    fleet_start "$1" "$store_target"
    fleet_ready "$rep_port" "$rep_pid" 30
    fleet_stop "$rep_pid"
    gen_s=0
    [ "$3" -gt 0 ] || return 0
    t0=$(date +%s%N)
    case $1 in
    sqlite) fleet_gen_sqlite "$3" "$4" "$5" | sqlite3 -bail "$store_target" >/dev/null ;;
    postgresql) fleet_gen_postgresql "$3" "$4" "$5" | psql_on "$store_target" >/dev/null ;;
    esac
    gen_s=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
}

# One decision on port $1 with token 0 (u0, a member of G0): must be allowed.
fleet_check() {
    local out
    out=$(curl -s -X POST -H "Content-Type: application/json" \
        -H "Authorization: Bearer $(head -1 "$bench_tmp/tokens.txt")" \
        -d '{"dataset":"ds0","action":"protect"}' "http://127.0.0.1:$1/v1/authorize")
    case $out in
    *'"allowed":true'*) ;;
    *) echo "fleet: port $1 did not allow u0: $out" >&2; return 1 ;;
    esac
}

declare -A rep_a rep_b rep_c big_port small_target load_s load_cpu rss_mb gen_big
for b in $BACKENDS; do
    # (3) start-up on the big store (kept running for (2)'s 1M-membership figure)
    fleet_store "$b" "big_$b" "$BIG_USERS" "$BIG_GROUPS" "$BIG_PER"
    gen_big[$b]=$gen_s
    t0=$(date +%s%N)
    fleet_start "$b" "$store_target"
    fleet_ready "$rep_port" "$rep_pid" 120
    load_s[$b]=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
    rss_mb[$b]=$(awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$rep_pid/status")
    # the replica's own CPU until then (the wall time above also waits for the database and,
    # on a shared machine, for a core)
    load_cpu[$b]=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$rep_pid/stat")
    big_port[$b]=$rep_port
    echo "fleet: $b: store of $BIG_USERS users, $BIG_GROUPS groups, $((BIG_GROUPS * BIG_PER)) memberships" \
        "generated in ${gen_big[$b]} s; replica ready in ${load_s[$b]} s (${load_cpu[$b]} s CPU), RSS ${rss_mb[$b]} MB" >&2
    # the fleet: 3 replicas on a store of USERS users and G0 with 1,000 members
    fleet_store "$b" "fleet_$b" "$USERS" 1 1000
    small_target[$b]=$store_target
    fleet_start "$b" "$store_target" && rep_a[$b]=$rep_port && pa=$rep_pid
    fleet_start "$b" "$store_target" && rep_b[$b]=$rep_port && pb=$rep_pid
    fleet_start "$b" "$store_target" && rep_c[$b]=$rep_port && pc=$rep_pid
    fleet_ready "${rep_a[$b]}" "$pa" 30
    fleet_ready "${rep_b[$b]}" "$pb" 30
    fleet_ready "${rep_c[$b]}" "$pc" 30
    fleet_check "${rep_b[$b]}"
    fleet_check "${big_port[$b]}"
    # every distinct token verified once (the verified-token caches warm)
    wrk -t2 -c"$BENCH_CONNS" -d2s -s "$bench_tmp/many.lua" "http://127.0.0.1:${rep_b[$b]}/v1/authorize" >/dev/null
    wrk -t2 -c"$BENCH_CONNS" -d2s -s "$bench_tmp/many.lua" "http://127.0.0.1:${big_port[$b]}/v1/authorize" >/dev/null
done

# ---- (2) decisions/s: interleaved rounds ----
# Each kind of run goes to every backend back to back (a same-round ratio compares runs seconds
# apart), and the backends take turns going first.
declare -A one many big r_big
r_one=() r_many=()
for round in $(seq 1 "$BENCH_ROUNDS"); do
    declare -A o=() m=() g=()
    read -r -a order <<<"$BACKENDS"
    [ $((round % 2)) = 1 ] || mapfile -t order < <(printf '%s\n' "${order[@]}" | tac)
    for b in "${order[@]}"; do
        o[$b]=$(bench_wrk "http://127.0.0.1:${rep_b[$b]}/v1/authorize" -s "$bench_tmp/one.lua")
    done
    for b in "${order[@]}"; do
        m[$b]=$(bench_wrk "http://127.0.0.1:${rep_b[$b]}/v1/authorize" -s "$bench_tmp/many.lua")
    done
    for b in "${order[@]}"; do
        g[$b]=$(bench_wrk "http://127.0.0.1:${big_port[$b]}/v1/authorize" -s "$bench_tmp/many.lua")
    done
    for b in $BACKENDS; do
        one[$b]="${one[$b]:-} ${o[$b]}" many[$b]="${many[$b]:-} ${m[$b]}" big[$b]="${big[$b]:-} ${g[$b]}"
        r_big[$b]="${r_big[$b]:-} $(bench_ratio "${g[$b]}" "${m[$b]}")"
        echo "fleet: round $round: $b one ${o[$b]}, many ${m[$b]}, $((BIG_GROUPS * BIG_PER)) memberships ${g[$b]}" >&2
    done
    if has sqlite && has postgresql; then
        r_one+=("$(bench_ratio "${o[postgresql]}" "${o[sqlite]}")")
        r_many+=("$(bench_ratio "${m[postgresql]}" "${m[sqlite]}")")
    fi
done

# ---- (1) propagation ----
declare -A prop
for b in $BACKENDS; do
    prop[$b]=$("$BUILD/bench/fleet_bench" --propagate "http://127.0.0.1:${rep_a[$b]}" \
        "http://127.0.0.1:${rep_b[$b]}" "$SCIM" "$bench_tmp/tokens.txt" "$USERS" "$WRITES" "$TIMEOUT_MS")
    echo "fleet: $b propagation: ${prop[$b]}" >&2
done

# ---- (4) SCIM ingestion on PostgreSQL vs a plain libpq loop ----
if has postgresql; then
    scim_url="http://127.0.0.1:${rep_a[postgresql]}/scim/v2"
    ing_users=$("$BUILD/bench/scim_bench" users "$scim_url" "$SCIM" "$INGEST" 1 ingest "$bench_tmp/ingest_ids")
    ing_gid=$("$BUILD/bench/scim_bench" groups "$scim_url" "$SCIM" 1)
    ing_adds=$("$BUILD/bench/scim_bench" adds "$scim_url" "$SCIM" "$ing_gid" "$bench_tmp/ingest_ids" 0 "$INGEST")
    fleet_store postgresql ingest_floor 0 0 0
    floor=$("$BUILD/bench/fleet_bench" --pg-baseline "${small_target[postgresql]}" "$store_target" ingest- "$ing_gid")
    floor_users=$(echo "$floor" | sed -n 's/.*users_per_s=\([0-9.]*\).*/\1/p')
    floor_members=$(echo "$floor" | sed -n 's/.*members_per_s=\([0-9.]*\).*/\1/p')
fi

# ---- summary ----
field() { echo "$1" | sed -n "s/.*\\b$2=\\([0-9.]*\\).*/\\1/p"; }
echo "fleet: 3 replicas per store; wrk -c$BENCH_CONNS ${BENCH_SECONDS}s, median of $BENCH_ROUNDS rounds; $USERS users' tokens"
for b in $BACKENDS; do
    case $b in
    sqlite) how="one shared file, feed polled every ${SQLITE_POLL} ms" ;;
    postgresql) how="LISTEN/NOTIFY, poll 1000 ms as the safety net" ;;
    esac
    p=${prop[$b]}
    echo "fleet: (1) $b ($how): propagation A->B over $(field "$p" n) writes: p50 $(field "$p" p50_ms) ms," \
        "p99 $(field "$p" p99_ms) ms (target <= 50), max $(field "$p" max_ms) ms, $(field "$p" timeouts) timeouts" \
        "(${TIMEOUT_MS} ms); A answered each PATCH in $(field "$p" write_p50_ms) ms (p50)"
done
for b in $BACKENDS; do
    # shellcheck disable=SC2086
    echo "fleet: (2) $b: one cached token $(bench_median ${one[$b]}) decisions/s; $USERS users' tokens" \
        "$(bench_median ${many[$b]})/s with 1,000 memberships, $(bench_median ${big[$b]})/s with" \
        "$((BIG_GROUPS * BIG_PER)) memberships: ratio $(bench_median ${r_big[$b]}) (flat: ~1.0)"
done
if has sqlite && has postgresql; then
    echo "fleet: (2) PostgreSQL / SQLite decisions/s: one cached token $(bench_median "${r_one[@]}")," \
        "$USERS users' tokens $(bench_median "${r_many[@]}") (target >= 0.95)"
fi
for b in $BACKENDS; do
    echo "fleet: (3) $b: replica on $BIG_USERS users, $BIG_GROUPS groups, $((BIG_GROUPS * BIG_PER)) memberships:" \
        "ready in ${load_s[$b]} s (target <= 5; its CPU ${load_cpu[$b]} s), RSS ${rss_mb[$b]} MB (target <= 150); data generated in ${gen_big[$b]} s"
done
if has postgresql; then
    echo "fleet: (4) PostgreSQL ingestion through replica A (1 connection): $ing_users users created/s," \
        "$ing_adds single-member adds/s; plain libpq loop (same rows, 1 INSERT per transaction):" \
        "$floor_users users/s, $floor_members members/s; ratios $(bench_ratio "$ing_users" "$floor_users")," \
        "$(bench_ratio "$ing_adds" "$floor_members")"
fi
