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
nginx_rps=$(bench_wrk "http://127.0.0.1:$np/")
gh_rps=$(bench_wrk "http://127.0.0.1:$gp/healthz")
echo "http: nginx return-200 ${nginx_rps} req/s; gatehouse /healthz ${gh_rps} req/s;" \
     "ratio $(bench_ratio "$gh_rps" "$nginx_rps") (wrk -c$BENCH_CONNS, ${BENCH_SECONDS}s each)"
