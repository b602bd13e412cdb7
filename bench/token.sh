#!/usr/bin/env bash
# bench/token.sh - token validations per second on one core, against this machine's raw RSA-2048
# verify rate measured in the same run (`openssl speed rsa2048`):
#   (a) the same token repeated (verified-token cache), (b) distinct valid RS256 tokens.
# The target for (b) is >= 0.70 of raw verify/s: the signature check is the only real cost.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SECONDS_EACH=${BENCH_SECONDS:-3}
PKGS="libmicrohttpd libjwt libcurl libcjson sqlite3 openssl"

make --no-print-directory "$BUILD/libgatehouse.a" >/dev/null
# shellcheck disable=SC2046
cc -std=c11 -D_DEFAULT_SOURCE -O2 -I. $(pkg-config --cflags $PKGS check) \
    -o "$BUILD/token_bench" bench/token_bench.c tests/support/mint.c "$BUILD/libgatehouse.a" \
    $(pkg-config --libs $PKGS check) -lpthread

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
