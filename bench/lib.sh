# bench/lib.sh - shared helpers for the benchmark scripts (sourced, not run).
# Everything listens on 127.0.0.1 only; every run is bounded by BENCH_SECONDS.

BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_CONNS=${BENCH_CONNS:-64}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
GH_BIN=${GH_BIN:-build/gatehouse}

bench_tmp=$(mktemp -d)
bench_pids=()
bench_cleanup() {
    for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$bench_tmp"
}
trap bench_cleanup EXIT

# A free loopback port.
bench_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# nginx serving `return 200` on $1: the HTTP floor of this machine.
bench_nginx_start() {
    local port=$1 d="$bench_tmp/nginx"
    mkdir -p "$d"
    cat > "$d/nginx.conf" <<NGX
worker_processes 2;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server { listen 127.0.0.1:$port; location / { return 200 "ok"; } }
}
NGX
    nginx -c "$d/nginx.conf" -g 'daemon off;' &
    bench_pids+=($!)
    bench_wait_http "http://127.0.0.1:$port/"
}

# gatehouse on $1 with extra environment in the remaining arguments.
bench_gatehouse_start() {
    local port=$1
    shift
    env -i PATH="$PATH" GATEHOUSE_LISTEN=127.0.0.1:$port GATEHOUSE_DB="$bench_tmp/gh-$port.db" \
        GATEHOUSE_LOG_LEVEL=warn "$@" "$GH_BIN" 2>"$bench_tmp/gh-$port.log" &
    bench_pids+=($!)
    bench_wait_http "http://127.0.0.1:$port/readyz"
}

bench_wait_http() {
    for _ in $(seq 1 200); do
        curl -fs -o /dev/null "$1" && return 0
        sleep 0.05
    done
    echo "bench: $1 did not come up" >&2
    return 1
}

# wrk requests/s: bench_wrk URL [wrk args...]
bench_wrk() {
    local url=$1
    shift
    wrk -t2 -c"$BENCH_CONNS" -d"${BENCH_SECONDS}s" "$@" "$url" 2>/dev/null |
        awk '/Requests\/sec/ {print $2}'
}

# The median of the numbers given as arguments.
bench_median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

bench_ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

# A static OIDC issuer served by nginx on a free port: discovery + the JWKS file $1.
# Sets bench_disc_url.
bench_static_idp() {
    local keys=$1 kp www="$bench_tmp/www"
    kp=$(bench_port)
    mkdir -p "$www" "$bench_tmp/idp"
    cp "$keys" "$www/keys.json"
    printf '{"issuer":"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0","jwks_uri":"http://127.0.0.1:%s/keys.json"}' \
        "$kp" >"$www/openid-configuration"
    chmod 711 "$bench_tmp" && chmod 755 "$www" && chmod 644 "$www"/* # nginx workers run as nobody
    cat >"$bench_tmp/idp/nginx.conf" <<NGX
worker_processes 1;
pid $bench_tmp/idp/nginx.pid;
error_log $bench_tmp/idp/error.log;
events { worker_connections 64; }
http {
  access_log off;
  default_type application/json;
  server { listen 127.0.0.1:$kp; root $www; }
}
NGX
    nginx -c "$bench_tmp/idp/nginx.conf" -g 'daemon off;' &
    bench_pids+=($!)
    bench_wait_http "http://127.0.0.1:$kp/keys.json"
    bench_disc_url="http://127.0.0.1:$kp/openid-configuration"
}

# wrk full output (for latency percentiles): bench_wrk_raw URL [wrk args...]
bench_wrk_raw() {
    local url=$1
    shift
    wrk -t2 -d"${BENCH_SECONDS}s" "$@" "$url" 2>/dev/null
}
