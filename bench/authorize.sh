#!/usr/bin/env bash
# bench/authorize.sh - decisions per second through POST /v1/authorize with wrk on loopback,
# each against nginx `return 200` measured in the same run (this machine's HTTP floor):
#   (a) one cached token, (b) 10,000 distinct provisioned users' tokens,
#   (c) p50/p99 latency at about half of (b)'s peak rate,
#   (d) (b) with 1,000 vs 1,000,000 memberships in the store (should be within 10%).
#   (e) Apache httpd + mod_auth_openidc validating the same token (bench/apache_oidc.sh).
# Targets (issue 5): (a) >= 1.0x the floor, (b) >= 0.6x, (a) >= 5x (e).
# Rounds: BENCH_ROUNDS (default 3) interleaved floor/(a)/(b)/(d) runs, medians reported.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
. bench/apache_oidc.sh
BUILD=${BUILD:-build}
USERS=${BENCH_USERS:-10000}
PKGS="libmicrohttpd libjwt libcurl libcjson sqlite3 openssl"
SCIM=bench-scim-secret-0123456789abcdef

make --no-print-directory "$BUILD/libgatehouse.a" "$BUILD/gatehouse" >/dev/null
# shellcheck disable=SC2046
cc -std=c11 -D_DEFAULT_SOURCE -O2 -I. $(pkg-config --cflags $PKGS check) \
    -o "$BUILD/authz_bench" bench/authz_bench.c tests/support/mint.c "$BUILD/libgatehouse.a" \
    $(pkg-config --libs $PKGS check) -lpthread

GH_SRCDIR=$PWD "$BUILD/authz_bench" --emit "$bench_tmp" "$USERS"
bench_static_idp "$bench_tmp/keys.json"
{
    printf '{"access_groups":['
    for j in $(seq 0 9); do
        [ "$j" = 0 ] || printf ','
        printf '{"name":"G%d","grants":[{"dataset":"ds%d","actions":["protect","unprotect"]}]}' "$j" "$j"
    done
    printf '],"default_grants":[{"dataset":"directory","actions":["protect"]}]}'
} >"$bench_tmp/policy.json"

# gatehouse on a fresh store, provisioned with $2 groups of $3 members
start_provisioned() {
    local port=$1
    bench_gatehouse_start "$port" GATEHOUSE_OIDC_DISCOVERY="$bench_disc_url" \
        GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER=1 GATEHOUSE_AUDIENCE=api://gatehouse-bench \
        GATEHOUSE_SCIM_TOKEN=$SCIM GATEHOUSE_POLICY="$bench_tmp/policy.json"
    "$BUILD/authz_bench" --provision "http://127.0.0.1:$port" "$SCIM" "$USERS" "$2" "$3" -
}

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

np=$(bench_port)
bench_nginx_start "$np"
small=$(bench_port)
big=$(bench_port)
t0=$(date +%s)
start_provisioned "$small" 1 1000
start_provisioned "$big" 1000 1000
echo "authorize: provisioned $USERS users twice (1 group x 1000 members; 1000 groups x 1000 members) in $(( $(date +%s) - t0 ))s"

code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Content-Type: application/json" \
    -H "Authorization: Bearer $(head -1 "$bench_tmp/tokens.txt")" -d '{"dataset":"ds0","action":"protect"}' \
    "http://127.0.0.1:$big/v1/authorize")
[ "$code" = 200 ] || { echo "authorize: /v1/authorize answered $code" >&2; exit 1; }

# warm the verified-token caches (every distinct token verified once)
bench_wrk "http://127.0.0.1:$small/v1/authorize" -s "$bench_tmp/many.lua" >/dev/null
bench_wrk "http://127.0.0.1:$big/v1/authorize" -s "$bench_tmp/many.lua" >/dev/null

# The machine is shared and noisy: BENCH_ROUNDS interleaved rounds of every measurement; each
# figure is the median over the rounds and each ratio the median of the same-round ratios.
floors=() ones=() bigs=() smalls=() r_one=() r_many=() r_d=()
for _ in $(seq 1 "$BENCH_ROUNDS"); do
    f=$(bench_wrk "http://127.0.0.1:$np/")
    o=$(bench_wrk "http://127.0.0.1:$big/v1/authorize" -s "$bench_tmp/one.lua")
    mb=$(bench_wrk "http://127.0.0.1:$big/v1/authorize" -s "$bench_tmp/many.lua")
    ms=$(bench_wrk "http://127.0.0.1:$small/v1/authorize" -s "$bench_tmp/many.lua")
    floors+=("$f") ones+=("$o") bigs+=("$mb") smalls+=("$ms")
    r_one+=("$(bench_ratio "$o" "$f")") r_many+=("$(bench_ratio "$mb" "$f")")
    r_d+=("$(bench_ratio "$mb" "$ms")")
    echo "authorize: round: floor $f, (a) $o, (b) $mb, (d) small $ms" >&2
done
floor=$(bench_median "${floors[@]}")
one=$(bench_median "${ones[@]}")
many_big=$(bench_median "${bigs[@]}")
many_small=$(bench_median "${smalls[@]}")
apache=
if [ -x /usr/sbin/apache2 ]; then # (e) needs Debian's apache2 + libapache2-mod-auth-openidc
    ap=$(bench_port)
    bench_apache_oidc_start "$ap" "${bench_disc_url%/openid-configuration}/keys.json"
    apache=$(bench_wrk "http://127.0.0.1:$ap/v1/authorize" -s "$bench_tmp/one.lua")
fi

# latency at about half of the distinct-token peak: each connection waits 1 ms between requests
# (wrk has no fixed-rate mode). A first run calibrates how many connections give that rate
# (each one's cycle is 1 ms plus its latency), the second is the one reported.
half=$(awk -v p="$many_big" 'BEGIN { printf "%d", p / 2 }')
conns=$(awk -v h="$half" 'BEGIN { c = int(h / 900); if (c < 1) c = 1; if (c > 512) c = 512; print c }')
printf 'function delay() return 1 end\n' >"$bench_tmp/delay.lua"
cat "$bench_tmp/many.lua" "$bench_tmp/delay.lua" >"$bench_tmp/many_delay.lua"
lat=$(bench_wrk_raw "http://127.0.0.1:$big/v1/authorize" -c"$conns" --latency -s "$bench_tmp/many_delay.lua")
rate=$(echo "$lat" | awk '/Requests\/sec/ {print $2}')
conns=$(awk -v c="$conns" -v h="$half" -v r="$rate" \
    'BEGIN { if (r > 0) c = int(c * h / r + 0.5); if (c < 1) c = 1; if (c > 1024) c = 1024; print c }')
lat=$(bench_wrk_raw "http://127.0.0.1:$big/v1/authorize" -c"$conns" --latency -s "$bench_tmp/many_delay.lua")
p50=$(echo "$lat" | awk '$1 == "50%" {print $2}')
p99=$(echo "$lat" | awk '$1 == "99%" {print $2}')
rate=$(echo "$lat" | awk '/Requests\/sec/ {print $2}')

echo "authorize: nginx return-200 floor ${floor} req/s"
echo "authorize: (a) one cached token ${one} decisions/s, ratio $(bench_median "${r_one[@]}") to the floor (target >= 1.0)"
echo "authorize: (b) ${USERS} distinct users' tokens ${many_big} decisions/s, ratio $(bench_median "${r_many[@]}") (target >= 0.6)"
echo "authorize: (c) at ${rate} req/s (half of (b) is ${half}; ${conns} connections): p50 ${p50}, p99 ${p99}"
echo "authorize: (d) 1,000 memberships ${many_small}/s vs 1,000,000 memberships ${many_big}/s: ratio $(bench_median "${r_d[@]}") (target within 10%)"
if [ -n "$apache" ]; then
    echo "authorize: (e) Apache + mod_auth_openidc ${apache} req/s validating the same token; (a) is $(bench_ratio "$one" "$apache")x it (target >= 5)"
else
    echo "authorize: (e) skipped: /usr/sbin/apache2 is not installed"
fi
echo "authorize: store sizes $(du -h "$bench_tmp/gh-$small.db" | cut -f1) / $(du -h "$bench_tmp/gh-$big.db" | cut -f1)"
