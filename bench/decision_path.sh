#!/usr/bin/env bash
# bench/decision_path.sh - the decision path itself (issue 11): in one run, with wrk on loopback
# (-c$BENCH_CONNS, keep-alive), requests/s and server CPU per request of
#   nginx      nginx `return 200` (this machine's HTTP floor)
#   validator  build/bench/validator: libmicrohttpd + RS256 (OpenSSL EVP, cached key) + a
#              verified-token cache, no decision, no logs (the least an MHD token check costs)
#   ext_authz  gatehouse GET /v1/ext_authz, one cached token
#   authorize  gatehouse POST /v1/authorize, one cached token
#   many       gatehouse POST /v1/authorize, $BENCH_USERS provisioned users' tokens (all cached)
# gatehouse runs as deployed: access log at info (stderr, to a file) and the decision log on.
# Targets: ext_authz and authorize >= 1.0x nginx and >= 1.0x validator; many >= 0.9x nginx.
# Rounds: BENCH_ROUNDS interleaved rounds; each figure is the median of its rounds, each ratio
# the median of the same-round ratios. GH_THREADS sets GATEHOUSE_THREADS (default: gatehouse's).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
BUILD=${BUILD:-build}
USERS=${BENCH_USERS:-10000}
SCIM=bench-scim-secret-0123456789abcdef
ISS="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
AUD=api://gatehouse-bench

make --no-print-directory "$BUILD/gatehouse" "$BUILD/bench/validator" "$BUILD/bench/authz_bench" >/dev/null
GH_SRCDIR=$PWD "$BUILD/bench/authz_bench" --emit "$bench_tmp" "$USERS"
bench_static_idp "$bench_tmp/keys.json"
printf '{"access_groups":[{"name":"G0","grants":[{"dataset":"ds0","actions":["protect"]}]}],%s}' \
    '"default_grants":[{"dataset":"directory","actions":["protect"]}]' >"$bench_tmp/policy.json"

tok=$(head -1 "$bench_tmp/tokens.txt")
cat >"$bench_tmp/one.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"dataset":"ds0","action":"protect"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $tok"
LUA
cat >"$bench_tmp/ext.lua" <<LUA
wrk.method = "GET"
wrk.headers["X-Gatehouse-Dataset"] = "ds0"
wrk.headers["X-Gatehouse-Action"] = "protect"
wrk.headers["Authorization"] = "Bearer $tok"
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

# CPU ticks (user + system) of a process and its children (nginx's workers).
cpu_ticks() {
    local t=0 p
    for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
        [ -r "/proc/$p/stat" ] || continue
        t=$((t + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat")))
    done
    echo "$t"
}

# One wrk run against the server process $2, as NAME PID URL [wrk args...]: sets r[NAME] (req/s)
# and c[NAME] (server CPU microseconds per request). Runs in this shell: a subshell would run
# the EXIT trap (bench_cleanup) when it ends.
measure() {
    local name=$1 pid=$2 url=$3 c0 c1 out reqs
    shift 3
    c0=$(cpu_ticks "$pid")
    out=$(wrk -t2 -c"$BENCH_CONNS" -d"${BENCH_SECONDS}s" "$@" "$url" 2>/dev/null)
    c1=$(cpu_ticks "$pid")
    r[$name]=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    if echo "$out" | grep -q 'Non-2xx'; then
        echo "decision_path: $url answered non-2xx: $out" >&2
        exit 1
    fi
    c[$name]=$(awk -v n="$reqs" -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }')
}

np=$(bench_port)
bench_nginx_start "$np"
nginx_pid=${bench_pids[-1]}
vp=$(bench_port)
"$BUILD/bench/validator" "$vp" "$bench_tmp/keys.json" "$ISS" "$AUD" &
bench_pids+=($!)
validator_pid=$!
gp=$(bench_port)
gh_env=(GATEHOUSE_OIDC_DISCOVERY="$bench_disc_url" GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER=1
    GATEHOUSE_AUDIENCE=$AUD GATEHOUSE_SCIM_TOKEN=$SCIM GATEHOUSE_POLICY="$bench_tmp/policy.json"
    GATEHOUSE_LOG_LEVEL=info GATEHOUSE_DECISION_LOG="$bench_tmp/decisions.log")
[ -z "${GH_THREADS:-}" ] || gh_env+=(GATEHOUSE_THREADS="$GH_THREADS")
bench_gatehouse_start "$gp" "${gh_env[@]}"
gh_pid=${bench_pids[-1]}
t0=$(date +%s)
"$BUILD/bench/authz_bench" --provision "http://127.0.0.1:$gp" "$SCIM" "$USERS" 1 1000 -
echo "decision_path: provisioned $USERS users (1 group x 1000 members) in $(($(date +%s) - t0))s"
for _ in $(seq 1 200); do # the validator answers 401 without a token: wait for any answer
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$vp/")" = 000 ] || break
    sleep 0.05
done

for u in "http://127.0.0.1:$gp/v1/authorize" "http://127.0.0.1:$vp/"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Content-Type: application/json" \
        -H "Authorization: Bearer $tok" -d '{"dataset":"ds0","action":"protect"}' "$u")
    [ "$code" = 200 ] || { echo "decision_path: $u answered $code" >&2; exit 1; }
done
# warm the verified-token caches (every distinct token verified once)
bench_wrk "http://127.0.0.1:$gp/v1/authorize" -s "$bench_tmp/many.lua" >/dev/null
bench_wrk "http://127.0.0.1:$vp/" -s "$bench_tmp/many.lua" >/dev/null

# The logs grow by hundreds of MB a minute: emptied after each run (not counted in any figure).
trim_logs() { : >"$bench_tmp/decisions.log"; : >"$bench_tmp/gh-$gp.log"; }
trim_logs

# BENCH_PERF=1: a flat perf profile of gatehouse and of the validator under the one-token load,
# instead of the rounds (where the server CPU goes; `perf` from Debian's linux-perf).
# BENCH_PERF_SORT (default dso,symbol; e.g. dso) and BENCH_PERF_TOP (lines) shape the report.
if [ "${BENCH_PERF:-0}" = 1 ]; then
    for t in "authorize $gh_pid http://127.0.0.1:$gp/v1/authorize" \
        "ext_authz $gh_pid http://127.0.0.1:$gp/v1/ext_authz/app/x" \
        "validator $validator_pid http://127.0.0.1:$vp/"; do
        read -r what pid url <<<"$t"
        lua=$bench_tmp/one.lua
        [ "$what" != ext_authz ] || lua=$bench_tmp/ext.lua
        perf record -q -F 2000 ${BENCH_PERF_ARGS:-} -o "$bench_tmp/perf.data" -p "$pid" -- \
            sleep "$BENCH_SECONDS" >/dev/null 2>&1 &
        bench_wrk "$url" -s "$lua" | sed "s/^/decision_path: $what req\/s /"
        wait $!
        trim_logs
        perf report -i "$bench_tmp/perf.data" --no-children --sort "${BENCH_PERF_SORT:-dso,symbol}" --stdio 2>/dev/null |
            grep -v '^#' | grep -v '^$' | head -"${BENCH_PERF_TOP:-45}" | sed "s/^/$what: /" || true
    done
    exit 0
fi

names=(nginx validator ext_authz authorize many)
declare -A rate cpu ratio_n ratio_v r c
for _ in $(seq 1 "$BENCH_ROUNDS"); do
    measure nginx "$nginx_pid" "http://127.0.0.1:$np/"
    measure validator "$validator_pid" "http://127.0.0.1:$vp/" -s "$bench_tmp/one.lua"
    measure ext_authz "$gh_pid" "http://127.0.0.1:$gp/v1/ext_authz/app/x" -s "$bench_tmp/ext.lua"
    trim_logs
    measure authorize "$gh_pid" "http://127.0.0.1:$gp/v1/authorize" -s "$bench_tmp/one.lua"
    trim_logs
    measure many "$gh_pid" "http://127.0.0.1:$gp/v1/authorize" -s "$bench_tmp/many.lua"
    trim_logs
    line="decision_path: round:"
    for n in "${names[@]}"; do
        rate[$n]+="${r[$n]} " cpu[$n]+="${c[$n]} "
        ratio_n[$n]+="$(bench_ratio "${r[$n]}" "${r[nginx]}") "
        ratio_v[$n]+="$(bench_ratio "${r[$n]}" "${r[validator]}") "
        line+=" $n ${r[$n]}/s ${c[$n]}us"
    done
    echo "$line" >&2
done

printf 'decision_path: %-10s %12s %14s %9s %13s\n' what req/s cpu-us/req x-nginx x-validator
for n in "${names[@]}"; do
    # shellcheck disable=SC2086
    printf 'decision_path: %-10s %12s %14s %9s %13s\n' "$n" "$(bench_median ${rate[$n]})" \
        "$(bench_median ${cpu[$n]})" "$(bench_median ${ratio_n[$n]})" "$(bench_median ${ratio_v[$n]})"
done
echo "decision_path: targets: ext_authz and authorize >= 1.0 x-nginx and >= 1.0 x-validator;" \
     "many (${USERS} users' tokens) >= 0.9 x-nginx (wrk -c$BENCH_CONNS, ${BENCH_SECONDS}s each," \
     "median of $BENCH_ROUNDS rounds)"
