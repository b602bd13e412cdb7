#!/usr/bin/env bash
# bench/http.sh - the HTTP layer against this machine's floor: gatehouse GET /healthz vs nginx
# `return 200`, both with wrk on loopback, in the same run. Reported as a ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

np=$(bench_port)
gp=$(bench_port)
bench_nginx_start "$np"
bench_gatehouse_start "$gp"
# BENCH_ROUNDS interleaved rounds; medians of the rates and of the same-round ratios.
ns=() gs=() rs=()
for _ in $(seq 1 "$BENCH_ROUNDS"); do
    n=$(bench_wrk "http://127.0.0.1:$np/")
    g=$(bench_wrk "http://127.0.0.1:$gp/healthz")
    ns+=("$n") gs+=("$g") rs+=("$(bench_ratio "$g" "$n")")
done
echo "http: nginx return-200 $(bench_median "${ns[@]}") req/s; gatehouse /healthz" \
     "$(bench_median "${gs[@]}") req/s; ratio $(bench_median "${rs[@]}")" \
     "(wrk -c$BENCH_CONNS, ${BENCH_SECONDS}s each, median of $BENCH_ROUNDS rounds)"
