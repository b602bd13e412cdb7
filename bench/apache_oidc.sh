#!/usr/bin/env bash
# bench/apache_oidc.sh - same-run baseline: Apache httpd (mpm_event) + mod_auth_openidc as an
# OAuth 2.0 resource server validating the same RS256 bearer tokens gatehouse validates, against
# the same JWKS. Issue 5 target: gatehouse >= 5x this.
#
# Sourced (by bench/authorize.sh, after bench/lib.sh): defines
#   bench_apache_oidc_start PORT JWKS_URL
# Run directly: emits tokens, serves the JWKS, starts Apache and prints one line
#   apache-oidc: <req/s> req/s with one valid token (wrk -c64, Ns)
#
# Needs the Debian 12 packages apache2 and libapache2-mod-auth-openidc (2.4.12.x).
#
# Caching, as a deployment gets it by default: OIDCCacheType is left unset (= shm, shared across
# Apache's processes). It holds the JWKS fetched from OIDCOAuthVerifyJwksUri (refreshed every
# OIDCJWKSRefreshInterval, default 3600 s) and introspection results. There is no cache of
# validated JWT access tokens in local-validation mode (no OIDCOAuthIntrospectionEndpoint):
# every request parses the JWKS entry and verifies the RS256 signature again.
set -euo pipefail

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    cd "$(dirname "$0")/.."
    . bench/lib.sh
fi

APACHE_BIN=${APACHE_BIN:-/usr/sbin/apache2}
APACHE_MODS=${APACHE_MODS:-/usr/lib/apache2/modules}
APACHE_ISS=https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0
APACHE_AUD=api://gatehouse-bench

# mod_auth_openidc 2.4.12 only accepts an https:// OIDCOAuthVerifyJwksUri, so an http:// JWKS URL
# ($2) is put behind a TLS nginx on 127.0.0.1 with a self-signed certificate for 127.0.0.1 that
# Apache trusts through OIDCCABundlePath (server validation stays on). The JWKS is fetched once
# and cached (see above), so TLS is off the request path. Sets bench_apache_jwks_url and
# bench_apache_ca (the OIDCCABundlePath line, empty for an https:// URL).
bench_apache_tls_jwks() {
    local jwks=$1 d=$2 tp
    case "$jwks" in https://*) bench_apache_jwks_url=$jwks bench_apache_ca=; return 0 ;; esac
    tp=$(bench_port)
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$d/tls.key" -out "$d/tls.crt" 2>/dev/null
    chmod 644 "$d/tls.crt"
    bench_apache_ca="OIDCCABundlePath \"$d/tls.crt\""
    cat >"$d/jwks-tls.conf" <<NGX
worker_processes 1;
pid $d/run/jwks-tls.pid;
error_log $d/logs/jwks-tls.log;
events { worker_connections 64; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$tp ssl;
    ssl_certificate $d/tls.crt;
    ssl_certificate_key $d/tls.key;
    location = /keys.json { proxy_pass $jwks; }
  }
}
NGX
    nginx -c "$d/jwks-tls.conf" -g 'daemon off;' &
    bench_pids+=($!)
    bench_apache_jwks_url="https://127.0.0.1:$tp/keys.json"
    for _ in $(seq 1 200); do
        curl -fs --cacert "$d/tls.crt" -o /dev/null "$bench_apache_jwks_url" && return 0
        sleep 0.05
    done
    echo "bench: TLS JWKS proxy $bench_apache_jwks_url did not come up" >&2
    return 1
}

# Apache + mod_auth_openidc on 127.0.0.1:$1 validating bearer tokens against the JWKS at $2.
# Every path (any method, GET or POST) answers 200 "ok" for a valid token, 401 otherwise.
# Uses the first token of $bench_tmp/tokens.txt to check that it is up.
bench_apache_oidc_start() {
    local port=$1 jwks=$2 d="$bench_tmp/apache-$1" tok code
    mkdir -p "$d/run" "$d/logs"
    bench_apache_tls_jwks "$jwks" "$d"
    printf 'ok' >"$d/ok.txt"
    # Apache's children run as www-data: they read ok.txt; config, logs and pid stay root's
    chmod 711 "$bench_tmp" && chmod 755 "$d" && chmod 644 "$d/ok.txt"
    cat >"$d/httpd.conf" <<APACHE
ServerRoot "$d"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$d/run/httpd.pid"
DefaultRuntimeDir "$d/run"
ErrorLog "$d/logs/error.log"
LogLevel warn
User www-data
Group www-data

LoadModule mpm_event_module $APACHE_MODS/mod_mpm_event.so
LoadModule authn_core_module $APACHE_MODS/mod_authn_core.so
LoadModule authz_core_module $APACHE_MODS/mod_authz_core.so
LoadModule authz_user_module $APACHE_MODS/mod_authz_user.so
LoadModule alias_module $APACHE_MODS/mod_alias.so
LoadModule auth_openidc_module $APACHE_MODS/mod_auth_openidc.so

# Debian's mods-available/mpm_event.conf
StartServers 2
MinSpareThreads 25
MaxSpareThreads 75
ThreadLimit 64
ThreadsPerChild 25
MaxRequestWorkers 150
MaxConnectionsPerChild 0
# keep-alive without a per-connection request limit (Debian ships MaxKeepAliveRequests 100),
# as wrk's connections are to nginx and gatehouse: measure token validation, not reconnects
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
# no access log, like the nginx floor
Timeout 30

# OAuth 2.0 resource server, local JWT validation against the issuer's JWKS.
# Cache: default (OIDCCacheType shm); see the header of this file.
OIDCOAuthVerifyJwksUri $bench_apache_jwks_url
$bench_apache_ca
OIDCOAuthSSLValidateServer On
OIDCOAuthAcceptTokenAs header
OIDCOAuthRemoteUserClaim sub

AliasMatch "^/" "$d/ok.txt"
<Directory />
  AllowOverride None
  Require all denied
</Directory>
<Location />
  AuthType oauth20
  <RequireAll>
    Require valid-user
    Require claim "aud:$APACHE_AUD"
    Require claim "iss:$APACHE_ISS"
  </RequireAll>
</Location>
APACHE
    "$APACHE_BIN" -t -f "$d/httpd.conf" >/dev/null 2>"$d/logs/configtest.log" || {
        cat "$d/logs/configtest.log" >&2
        return 1
    }
    "$APACHE_BIN" -f "$d/httpd.conf" -DFOREGROUND 2>>"$d/logs/error.log" &
    bench_pids+=($!)

    tok=$(head -1 "$bench_tmp/tokens.txt")
    for _ in $(seq 1 200); do
        code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
            "http://127.0.0.1:$port/v1/authorize" || true)
        [ "$code" = 200 ] && break
        sleep 0.05
    done
    if [ "$code" != 200 ]; then
        echo "bench: apache-oidc on $port answered $code to a valid token" >&2
        tail -5 "$d/logs/error.log" >&2
        return 1
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/authorize")
    if [ "$code" != 401 ]; then
        echo "bench: apache-oidc on $port answered $code without a token" >&2
        return 1
    fi
    # warm-up: let mpm_event spawn its processes first (a cold first run sees thousands of
    # connection resets while it does)
    wrk -t2 -c"$BENCH_CONNS" -d2s -H "Authorization: Bearer $tok" \
        "http://127.0.0.1:$port/v1/authorize" >/dev/null 2>&1
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    BUILD=${BUILD:-build}
    [ -x "$BUILD/authz_bench" ] || { echo "apache-oidc: $BUILD/authz_bench missing (run bench/authorize.sh once)" >&2; exit 1; }
    GH_SRCDIR=$PWD "$BUILD/authz_bench" --emit "$bench_tmp" 1
    bench_static_idp "$bench_tmp/keys.json"
    ap=$(bench_port)
    bench_apache_oidc_start "$ap" "${bench_disc_url%/openid-configuration}/keys.json"

    # the same request as bench/authorize.sh's one.lua
    cat >"$bench_tmp/apache-one.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"dataset":"ds0","action":"protect"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $(head -1 "$bench_tmp/tokens.txt")"
LUA
    # a malformed bearer token must be refused as well
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer x.y.z" \
        "http://127.0.0.1:$ap/v1/authorize")
    [ "$code" = 401 ] || { echo "apache-oidc: a malformed token answered $code" >&2; exit 1; }
    rps=$(bench_wrk "http://127.0.0.1:$ap/v1/authorize" -s "$bench_tmp/apache-one.lua")
    echo "apache-oidc: ${rps} req/s with one valid token (wrk -c${BENCH_CONNS}, ${BENCH_SECONDS}s)"
fi
