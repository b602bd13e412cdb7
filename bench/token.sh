#!/usr/bin/env bash
# bench/token.sh - token validations per second on one core, against this machine's raw RSA-2048
# verify rate measured in the same run (`openssl speed rsa2048`):
#   (a) the same token repeated (verified-token cache), (b) distinct valid RS256 tokens.
# The target for (b) is >= 0.70 of raw verify/s: the signature check is the only real cost.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SECONDS_EACH=${BENCH_SECONDS:-3}
PKGS=(libmicrohttpd libjwt libcurl libcjson sqlite3 openssl check)

make --no-print-directory "$BUILD/libgatehouse.a" >/dev/null
read -r -a cflags <<<"$(pkg-config --cflags "${PKGS[@]}")"
read -r -a libs <<<"$(pkg-config --libs "${PKGS[@]}")"
cc -std=c11 -D_DEFAULT_SOURCE -O2 -I. "${cflags[@]}" -o "$BUILD/token_bench" bench/token_bench.c \
    tests/support/mint.c "$BUILD/libgatehouse.a" "${libs[@]}" -lpthread

# `openssl speed` prints "rsa 2048 bits <sign s> <verify s> <sign/s> <verify/s>".
rsa_verify=$(openssl speed -seconds "$SECONDS_EACH" rsa2048 2>/dev/null |
    awk '/^rsa 2048 bits/ {print $NF}')
out=$(GH_SRCDIR=$PWD "$BUILD/token_bench" "$SECONDS_EACH")
same=$(echo "$out" | awk '/^same/ {print $2}')
distinct=$(echo "$out" | awk '/^distinct/ {print $2}')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "token: openssl rsa2048 verify ${rsa_verify}/s (1 core);" \
     "same token ${same}/s (ratio $(ratio "$same" "$rsa_verify"));" \
     "distinct tokens ${distinct}/s (ratio $(ratio "$distinct" "$rsa_verify"), target >= 0.70)"

# HTTP: POST /v1/authorize with the same valid token (verified-token cache) against nginx
# `return 200`, both with wrk on loopback in this run. Discovery and keys are static files served
# by a second nginx.
if command -v wrk >/dev/null && command -v nginx >/dev/null && [ -x "$BUILD/gatehouse" ]; then
    # shellcheck source=bench/lib.sh
    . bench/lib.sh
    GH_SRCDIR=$PWD "$BUILD/token_bench" --emit "$bench_tmp"
    bench_static_idp "$bench_tmp/keys.json"
    np=$(bench_port)
    gp=$(bench_port)
    bench_nginx_start "$np"
    bench_gatehouse_start "$gp" \
        GATEHOUSE_OIDC_DISCOVERY="$bench_disc_url" \
        GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER=1 GATEHOUSE_AUDIENCE=api://gatehouse-bench
    cat >"$bench_tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"dataset":"sales","action":"protect"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $(cat "$bench_tmp/token")"
LUA
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Content-Type: application/json" \
        -H "Authorization: Bearer $(cat "$bench_tmp/token")" -d '{"dataset":"s","action":"protect"}' \
        "http://127.0.0.1:$gp/v1/authorize")
    [ "$code" = 200 ] || { echo "token: /v1/authorize answered $code, not 200" >&2; exit 1; }
    nginx_rps=$(bench_wrk "http://127.0.0.1:$np/")
    gh_rps=$(bench_wrk "http://127.0.0.1:$gp/v1/authorize" -s "$bench_tmp/post.lua")
    echo "token-http: nginx return-200 ${nginx_rps} req/s; gatehouse POST /v1/authorize (same token)" \
         "${gh_rps} req/s; ratio $(ratio "$gh_rps" "$nginx_rps") (wrk -c$BENCH_CONNS, ${BENCH_SECONDS}s each)"
fi
