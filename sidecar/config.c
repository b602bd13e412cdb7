/*
 * config.c - every GATEHOUSE_* setting in one table (Redis static_configs[] style).
 *
 * Loading, validation, --help, --print-config and the README reference all come from the
 * table. Precedence: defaults < config file < environment. Errors name the setting and where its
 * value came from ("gatehouse.conf:7: GATEHOUSE_LISTEN: bad port"). Secrets are reduced to
 * SHA-256 digests as soon as they are parsed and the clear text is wiped (OPENSSL_cleanse).
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "config.h"
#include "authz/authz.h"
#include "core/core.h"
#include "jwks/jwks.h"
#include "scim/scim.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum gh_cfg_type {
    GH_CFG_STR,         /* free text */
    GH_CFG_PATH,        /* a file path; empty = unset */
    GH_CFG_ADDR,        /* host:port */
    GH_CFG_BOOL,        /* 1/0, true/false, yes/no, on/off */
    GH_CFG_INT,         /* integer within [min, max] */
    GH_CFG_LIST,        /* comma-separated */
    GH_CFG_SECRET,      /* comma-separated secrets or sha256:<hex> digests, at most GH_SECRET_MAX */
    GH_CFG_LEVEL,       /* log level */
    GH_CFG_URL,         /* http(s) URL; empty = unset */
    GH_CFG_SECRET_TEXT, /* a secret sent to someone else (a client secret): kept as text, shown ***
                         */
};

struct gh_cfg_row {
    const char *name;
    enum gh_cfg_type type;
    const char *def;
    long min, max;
    size_t off;
    const char *help;
};

#define OFF(f) offsetof(struct gh_config, f)

/* The table. Keep rows grouped as in struct gh_config; README's reference is generated from it. */
static const struct gh_cfg_row gh_cfg_rows[] = {
    {"GATEHOUSE_LISTEN", GH_CFG_ADDR, "127.0.0.1:8080", 0, 65535, OFF(listen_host),
     "Address and port to listen on (host:port, [v6]:port; port 0 picks a free port)"},
    {"GATEHOUSE_TLS_CERT", GH_CFG_PATH, "", 0, 0, OFF(tls_cert),
     "PEM certificate chain; with GATEHOUSE_TLS_KEY enables HTTPS (TLS 1.2+)"},
    {"GATEHOUSE_TLS_KEY", GH_CFG_PATH, "", 0, 0, OFF(tls_key), "PEM private key for HTTPS"},
    {"GATEHOUSE_THREADS", GH_CFG_INT, "0", 0, 256, OFF(threads),
     "HTTP worker threads; 0: twice the usable CPUs (affinity, cgroup quota; 2 to 64)"},
    {"GATEHOUSE_MAX_CONNECTIONS", GH_CFG_INT, "1024", 1, 65536, OFF(max_connections),
     "Concurrent connections accepted; more are refused"},
    {"GATEHOUSE_MAX_CONNECTIONS_PER_IP", GH_CFG_INT, "512", 0, 65536, OFF(max_connections_per_ip),
     "Concurrent connections one client address may hold; more are refused (0: no limit). "
     "A sidecar's proxy on 127.0.0.1 is one address: keep this above its connection pool"},
    {"GATEHOUSE_CONN_TIMEOUT", GH_CFG_INT, "30", 1, 3600, OFF(conn_timeout),
     "Seconds an idle or slow connection may stay open; also the most a kept-alive connection "
     "may wait, in all, for its next request's headers"},
    {"GATEHOUSE_HEADER_TIMEOUT", GH_CFG_INT, "5", 1, 600, OFF(header_timeout),
     "Seconds a new connection has to deliver its request line and headers, however it trickles "
     "them (1 s while connections are near GATEHOUSE_MAX_CONNECTIONS)"},
    {"GATEHOUSE_BODY_TIMEOUT", GH_CFG_INT, "30", 1, 3600, OFF(body_timeout),
     "Seconds an authenticated request has to deliver its body, however it trickles it"},
    {"GATEHOUSE_MAX_BODY", GH_CFG_INT, "1048576", 1024, 67108864, OFF(max_body),
     "Largest request body in bytes (SCIM; other routes take less, see README); larger requests "
     "get 413"},
    {"GATEHOUSE_MAX_BODY_INFLIGHT", GH_CFG_INT, "67108864", 1024, 2147483647,
     OFF(max_body_inflight),
     "Bytes of request bodies being received at once, over all connections (at least "
     "GATEHOUSE_MAX_BODY); a body past it gets 503 with Retry-After"},
    {"GATEHOUSE_SHUTDOWN_GRACE", GH_CFG_INT, "10", 0, 600, OFF(shutdown_grace),
     "Seconds to let in-flight requests finish on SIGTERM"},
    {"GATEHOUSE_DB", GH_CFG_PATH, "gatehouse.db", 0, 0, OFF(db),
     "The store: a SQLite database file (one process), or postgresql://user@host:port/db?... "
     "(libpq URL; password from PGPASSWORD or ~/.pgpass) shared by a fleet of replicas"},
    {"GATEHOUSE_MAX_STALENESS", GH_CFG_INT, "300", 1, 86400, OFF(max_staleness),
     "Seconds decisions may be answered from the in-memory index while the store is "
     "unreachable; older than that, every decision denies"},
    {"GATEHOUSE_REVISION_WAIT", GH_CFG_INT, "1000", 0, 30000, OFF(revision_wait_ms),
     "Milliseconds a decision asking for min_revision may wait for this replica to reach it "
     "(then 503)"},
    {"GATEHOUSE_STORE_POLL", GH_CFG_INT, "1000", 10, 60000, OFF(store_poll_ms),
     "Milliseconds between polls of the store's change feed (PostgreSQL NOTIFY wakes replicas "
     "sooner)"},
    {"GATEHOUSE_CHANGES_KEEP", GH_CFG_INT, "100000", 1000, 100000000, OFF(changes_keep),
     "Changes kept in the store's change log for replicas catching up; one further behind "
     "reloads its index"},
    {"GATEHOUSE_SCIM_TOKEN", GH_CFG_SECRET, "", 0, 0, OFF(scim_token),
     "SCIM bearer secret(s): up to two, comma-separated, each clear text (>= 16 chars) or "
     "sha256:<hex digest>. Unset: SCIM answers 401"},
    {"GATEHOUSE_ADMIN_TOKEN", GH_CFG_SECRET, "", 0, 0, OFF(admin_token),
     "Admin API bearer secret(s), same form. Unset: the admin API answers 401"},
    {"GATEHOUSE_AUTH_FAIL_BURST", GH_CFG_INT, "20", 1, 100000, OFF(auth_fail_burst),
     "Failed SCIM/admin authentications a client address may make in a burst; more get 429 "
     "with Retry-After (the right secret always passes)"},
    {"GATEHOUSE_AUTH_FAIL_RATE", GH_CFG_INT, "60", 1, 600000, OFF(auth_fail_rate),
     "Failed authentications per minute an address is allowed after its burst"},
    {"GATEHOUSE_AUTH_FAIL_LOG_INTERVAL", GH_CFG_INT, "60", 1, 86400, OFF(auth_fail_log_interval),
     "Seconds between log lines summarising one address's failed authentications"},
    {"GATEHOUSE_SCIM_EXTENSIONS", GH_CFG_STR, "", 0, 0, OFF(scim_extensions),
     "Custom SCIM extension attributes Entra provisions, comma-separated, each "
     "<schema URN>:<attribute>:<type>[:multiValued][:caseExact], prefixed Group: for a Group "
     "extension; type string, boolean, integer, decimal, dateTime, reference or binary (e.g. "
     "urn:cube:params:1.0:UserAttribute:country:string). Listed in /Schemas and /ResourceTypes, "
     "type-checked on write, known to filters. Read at start-up (docs/entra-scim.md)"},
    {"GATEHOUSE_OIDC_DISCOVERY", GH_CFG_URL, "", 0, 0, OFF(oidc_discovery),
     "OpenID discovery URL, e.g. https://login.microsoftonline.com/<tenant>/v2.0/"
     ".well-known/openid-configuration"},
    {"GATEHOUSE_ISSUER", GH_CFG_LIST, "", 0, 0, OFF(issuers),
     "Accepted token issuers (exact); default: the discovery document's issuer"},
    {"GATEHOUSE_AUDIENCE", GH_CFG_LIST, "", 0, 0, OFF(audiences),
     "Accepted audiences: the API's client id and/or App ID URI (api://...)"},
    {"GATEHOUSE_TENANTS", GH_CFG_LIST, "", 0, 0, OFF(tenants),
     "Allowed tenant ids (tid); the first is the tenant SCIM data comes from"},
    {"GATEHOUSE_ALGS", GH_CFG_LIST, "RS256", 0, 0, OFF(algs),
     "Accepted JWS algorithms (RS256 RS384 RS512 ES256 ES384 ES512)"},
    {"GATEHOUSE_LEEWAY", GH_CFG_INT, "60", 0, 600, OFF(leeway),
     "Clock skew allowed on exp/nbf/iat, seconds"},
    {"GATEHOUSE_REQUIRED_SCOPES", GH_CFG_LIST, "", 0, 0, OFF(required_scopes),
     "Delegated tokens must carry one of these scopes (scp)"},
    {"GATEHOUSE_REQUIRED_ROLES", GH_CFG_LIST, "", 0, 0, OFF(required_roles),
     "App-only tokens must carry one of these app roles (roles)"},
    {"GATEHOUSE_JWKS_REFRESH_MIN", GH_CFG_INT, "300", 1, 86400, OFF(jwks_refresh_min),
     "Shortest periodic JWKS refresh interval, seconds"},
    {"GATEHOUSE_JWKS_REFRESH_MAX", GH_CFG_INT, "86400", 1, 604800, OFF(jwks_refresh_max),
     "Longest periodic JWKS refresh interval, seconds"},
    {"GATEHOUSE_JWKS_COOLDOWN", GH_CFG_INT, "30", 0, 60, OFF(jwks_cooldown),
     "Least seconds between refreshes triggered by unknown kids"},
    {"GATEHOUSE_JWKS_MAX_STALE", GH_CFG_INT, "172800", 60, 2592000, OFF(jwks_max_stale),
     "Seconds a last-good key set keeps serving while refreshes fail"},
    {"GATEHOUSE_HTTP_TIMEOUT", GH_CFG_INT, "5", 1, 60, OFF(http_timeout),
     "Total timeout of discovery/JWKS fetches, seconds"},
    {"GATEHOUSE_CA_FILE", GH_CFG_PATH, "", 0, 0, OFF(ca_file),
     "Extra CA bundle (PEM) for discovery/JWKS HTTPS"},
    {"GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER", GH_CFG_BOOL, "0", 0, 1,
     OFF(allow_insecure_http_issuer), "Allow http:// discovery/JWKS on loopback hosts (tests)"},
    {"GATEHOUSE_TOKEN_CACHE_SIZE", GH_CFG_INT, "100000", 0, 10000000, OFF(token_cache_size),
     "Verified tokens kept (the least used evicted first); 0 disables the cache"},
    {"GATEHOUSE_POLICY", GH_CFG_PATH, "", 0, 0, OFF(policy), "Policy file (JSON access groups)"},
    {"GATEHOUSE_IDENTITY_CLAIMS", GH_CFG_LIST,
     "oid:externalId,upn:userName,preferred_username:userName", 0, 0, OFF(identity_claims),
     "Ordered claim:attribute pairs resolving a token to a provisioned user (at most 8)"},
    {"GATEHOUSE_DECISION_LOG", GH_CFG_STR, "", 0, 0, OFF(decision_log),
     "Decision log: a file path, or stderr; empty disables"},
    {"GATEHOUSE_EXT_AUTHZ_ORIGIN", GH_CFG_STR, "path", 0, 0, OFF(ext_authz_origin),
     "Where /v1/ext_authz reads the original request: path (Envoy path_prefix), x-original "
     "(nginx X-Original-URI/-Method) or x-forwarded (Traefik X-Forwarded-Uri/-Method)"},
    /* AuthZEN Authorization API 1.0 (docs/authzen.md) */
    {"GATEHOUSE_AUTHZEN_TOKEN", GH_CFG_SECRET, "", 0, 0, OFF(authzen_token),
     "AuthZEN PEP bearer secret(s), same form as GATEHOUSE_SCIM_TOKEN. Unset (and no "
     "GATEHOUSE_AUTHZEN_ROLES): /access/v1 answers 401"},
    {"GATEHOUSE_AUTHZEN_ROLES", GH_CFG_LIST, "", 0, 0, OFF(authzen_roles),
     "App roles (roles claim) an Entra app-only token must carry, one of, to call /access/v1 "
     "as a PEP; empty: tokens are not accepted there"},
    {"GATEHOUSE_AUTHZEN_REASONS", GH_CFG_BOOL, "0", 0, 1, OFF(authzen_reasons),
     "Always answer AuthZEN decisions with context (reason, decision_id, revision); otherwise "
     "only when the request sets options.gatehouse_context"},
    {"GATEHOUSE_PUBLIC_URL", GH_CFG_URL, "", 0, 0, OFF(public_url),
     "The URL clients reach gatehouse at (no path, query or fragment), e.g. "
     "https://gatehouse.example.com: the AuthZEN metadata's policy_decision_point. Unset: "
     "built from the request's Host"},
    /* the admin page's sign-in with Entra ID (docs/admin-page.md) */
    {"GATEHOUSE_ADMIN_CLIENT_ID", GH_CFG_STR, "", 0, 0, OFF(admin_client_id),
     "Application (client) id of the Entra app registration the admin page signs in with "
     "(redirect URI <GATEHOUSE_PUBLIC_URL>/admin/callback, ID tokens); needs "
     "GATEHOUSE_OIDC_DISCOVERY. Unset: only the admin token opens the admin API"},
    {"GATEHOUSE_ADMIN_CLIENT_SECRET", GH_CFG_SECRET_TEXT, "", 0, 0, OFF(admin_client_secret),
     "That app's client secret, sent only to the token endpoint (never logged); unset for a "
     "public client with PKCE"},
    {"GATEHOUSE_ADMIN_GROUP", GH_CFG_STR, "", 0, 0, OFF(admin_group),
     "The access group whose active members (through its linked IdP group) may sign in to the "
     "admin page, re-checked on every request. Unset: nobody signs in, only the admin token "
     "works"},
    {"GATEHOUSE_ADMIN_SESSION_TTL", GH_CFG_INT, "28800", 1, 604800, OFF(admin_session_ttl),
     "Seconds an admin page session lasts from sign-in (absolute, not renewed)"},
    {"GATEHOUSE_LOG_LEVEL", GH_CFG_LEVEL, "info", 0, 0, OFF(log_level),
     "error, warn, info or debug"},
};

#define GH_CFG_NROWS (sizeof(gh_cfg_rows) / sizeof(gh_cfg_rows[0]))

struct gh_cfg_value {
    char *raw;        /* owned */
    char source[128]; /* "default", "environment", "FILE:LINE" */
};

static enum gh_status gh_cfg_fail(struct gh_err *err, const struct gh_cfg_value *v,
                                  const struct gh_cfg_row *row, const char *why)
{
    return GH_ERR(err, GH_E_INVALID, "%s: %s: %s", v->source, row->name, why);
}

static const struct gh_cfg_row *gh_cfg_row_find(const char *name, size_t len)
{
    for (size_t i = 0; i < GH_CFG_NROWS; i++)
        if (strlen(gh_cfg_rows[i].name) == len && strncmp(gh_cfg_rows[i].name, name, len) == 0)
            return &gh_cfg_rows[i];
    return NULL;
}

static char *gh_cfg_trim(char *s)
{
    char *e;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static void gh_cfg_set(struct gh_cfg_value *vals, const struct gh_cfg_row *row, const char *raw,
                       const char *source)
{
    struct gh_cfg_value *v = &vals[row - gh_cfg_rows];
    if (v->raw != NULL) {
        OPENSSL_cleanse(v->raw, strlen(v->raw));
        free(v->raw);
    }
    v->raw = gh_xstrdup(raw);
    snprintf(v->source, sizeof(v->source), "%s", source);
}

/* Read KEY=VALUE lines; '#' starts a comment line; values may be wrapped in double quotes. */
static enum gh_status gh_cfg_read_file(const char *path, struct gh_cfg_value *vals,
                                       struct gh_err *err)
{
    FILE *f = fopen(path, "r");
    char line[GH_CAP_CONFIG_LINE];
    char src[128];
    int lineno = 0;
    long total = 0;
    enum gh_status st = GH_OK;

    if (f == NULL)
        return GH_ERR(err, GH_E_INVALID, "%s: cannot open config file: %s", path, strerror(errno));
    while (fgets(line, sizeof(line), f) != NULL) {
        char *s, *eq, *key, *val;
        const struct gh_cfg_row *row;
        size_t len = strlen(line);

        lineno++;
        total += (long)len;
        snprintf(src, sizeof(src), "%s:%d", path, lineno);
        if (total > GH_CAP_CONFIG_FILE) {
            st = GH_ERR(err, GH_E_INVALID, "%s: config file larger than %ld bytes", src,
                        GH_CAP_CONFIG_FILE);
            break;
        }
        if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
            st = GH_ERR(err, GH_E_INVALID, "%s: line longer than %d bytes", src,
                        GH_CAP_CONFIG_LINE - 2);
            break;
        }
        s = gh_cfg_trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        eq = strchr(s, '=');
        if (eq == NULL) {
            st = GH_ERR(err, GH_E_INVALID, "%s: expected KEY=VALUE", src);
            break;
        }
        *eq = '\0';
        key = gh_cfg_trim(s);
        val = gh_cfg_trim(eq + 1);
        len = strlen(val);
        if (len >= 2 && val[0] == '"' && val[len - 1] == '"') {
            val[len - 1] = '\0';
            val++;
        }
        row = gh_cfg_row_find(key, strlen(key));
        if (row == NULL) {
            st = GH_ERR(err, GH_E_INVALID, "%s: unknown setting %.64s", src, key);
            break;
        }
        gh_cfg_set(vals, row, val, src);
    }
    OPENSSL_cleanse(line, sizeof(line));
    fclose(f);
    return st;
}

static bool gh_cfg_parse_long(const char *s, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

static void gh_list_free(struct gh_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

/* Split on commas, trimming blanks; empty items are dropped. */
static void gh_cfg_split(const char *raw, struct gh_list *out)
{
    char *copy = gh_xstrdup(raw);
    char *p = copy;

    out->items = gh_xcalloc(strlen(raw) / 2 + 2, sizeof(char *));
    out->count = 0;
    while (p != NULL) {
        char *comma = strchr(p, ',');
        char *item;
        if (comma != NULL)
            *comma = '\0';
        item = gh_cfg_trim(p);
        if (*item != '\0')
            out->items[out->count++] = gh_xstrdup(item);
        p = comma != NULL ? comma + 1 : NULL;
    }
    OPENSSL_cleanse(copy, strlen(raw));
    free(copy);
}

static int gh_cfg_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static enum gh_status gh_cfg_parse_secret(const struct gh_cfg_row *row,
                                          const struct gh_cfg_value *v, struct gh_secret_set *out,
                                          struct gh_err *err)
{
    struct gh_list l = {0};
    enum gh_status st = GH_OK;

    gh_cfg_split(v->raw, &l);
    if (l.count > GH_SECRET_MAX) {
        st = gh_cfg_fail(err, v, row, "at most two secrets (current and next)");
        goto out;
    }
    for (size_t i = 0; i < l.count; i++) {
        const char *s = l.items[i];
        if (strncmp(s, "sha256:", 7) == 0) {
            const char *h = s + 7;
            if (strlen(h) != 64) {
                st = gh_cfg_fail(err, v, row, "sha256: needs 64 hex digits");
                goto out;
            }
            for (int k = 0; k < 32; k++) {
                int hi = gh_cfg_hexval(h[(size_t)k * 2]), lo = gh_cfg_hexval(h[(size_t)k * 2 + 1]);
                if (hi < 0 || lo < 0) {
                    st = gh_cfg_fail(err, v, row, "sha256: needs 64 hex digits");
                    goto out;
                }
                out->digest[out->count][k] = (unsigned char)(hi << 4 | lo);
            }
            out->given_as_digest[out->count] = true;
        } else {
            /* A short bearer secret can be guessed online; Entra accepts any length. */
            if (strlen(s) < 16) {
                st = gh_cfg_fail(err, v, row, "secret shorter than 16 characters");
                goto out;
            }
            SHA256((const unsigned char *)s, strlen(s), out->digest[out->count]);
        }
        out->count++;
    }
out:
    for (size_t i = 0; i < l.count; i++)
        OPENSSL_cleanse(l.items[i], strlen(l.items[i]));
    gh_list_free(&l);
    return st;
}

static bool gh_cfg_is_loopback_host(const char *host, size_t len)
{
    return (len == 9 && strncasecmp(host, "localhost", 9) == 0) ||
           (len >= 4 && strncmp(host, "127.", 4) == 0) ||
           (len == 5 && strncmp(host, "[::1]", 5) == 0);
}

static enum gh_status gh_cfg_parse_one(struct gh_config *cfg, const struct gh_cfg_row *row,
                                       const struct gh_cfg_value *v, struct gh_err *err)
{
    void *field = (char *)cfg + row->off;
    const char *raw = v->raw;
    long n;

    switch (row->type) {
    case GH_CFG_STR:
    case GH_CFG_PATH:
    case GH_CFG_URL:
    case GH_CFG_SECRET_TEXT:
        *(char **)field = *raw ? gh_xstrdup(raw) : NULL;
        if (row->type == GH_CFG_URL && *raw) {
            if (strncmp(raw, "https://", 8) != 0 && strncmp(raw, "http://", 7) != 0)
                return gh_cfg_fail(err, v, row, "must be an https:// URL");
        }
        return GH_OK;
    case GH_CFG_ADDR: {
        const char *colon = strrchr(raw, ':');
        size_t hlen;
        if (colon == NULL || colon == raw || !gh_cfg_parse_long(colon + 1, &n) || n < row->min ||
            n > row->max)
            return gh_cfg_fail(err, v, row, "expected host:port with port 0-65535");
        hlen = (size_t)(colon - raw);
        if (raw[0] == '[') {
            if (hlen < 3 || raw[hlen - 1] != ']')
                return gh_cfg_fail(err, v, row, "bad [IPv6] address");
            cfg->listen_host = gh_xstrndup(raw + 1, hlen - 2);
        } else {
            cfg->listen_host = gh_xstrndup(raw, hlen);
        }
        cfg->listen_port = (int)n;
        return GH_OK;
    }
    case GH_CFG_BOOL:
        if (!strcasecmp(raw, "1") || !strcasecmp(raw, "true") || !strcasecmp(raw, "yes") ||
            !strcasecmp(raw, "on"))
            *(bool *)field = true;
        else if (!strcasecmp(raw, "0") || !strcasecmp(raw, "false") || !strcasecmp(raw, "no") ||
                 !strcasecmp(raw, "off") || *raw == '\0')
            *(bool *)field = false;
        else
            return gh_cfg_fail(err, v, row, "expected 1/0, true/false, yes/no or on/off");
        return GH_OK;
    case GH_CFG_INT: {
        char why[96];
        if (!gh_cfg_parse_long(raw, &n) || n < row->min || n > row->max) {
            snprintf(why, sizeof(why), "expected an integer from %ld to %ld", row->min, row->max);
            return gh_cfg_fail(err, v, row, why);
        }
        if (row->off == OFF(max_body))
            cfg->max_body = n;
        else
            *(int *)field = (int)n;
        return GH_OK;
    }
    case GH_CFG_LIST:
        gh_cfg_split(raw, (struct gh_list *)field);
        return GH_OK;
    case GH_CFG_SECRET:
        return gh_cfg_parse_secret(row, v, (struct gh_secret_set *)field, err);
    case GH_CFG_LEVEL: {
        enum gh_log_level lvl;
        if (!gh_log_level_parse(raw, &lvl))
            return gh_cfg_fail(err, v, row, "expected error, warn, info or debug");
        *(int *)field = (int)lvl;
        return GH_OK;
    }
    }
    return GH_ERR(err, GH_E_INTERNAL, "bad config row type");
}

static const struct gh_cfg_value *gh_cfg_val(const struct gh_cfg_value *vals, const char *name)
{
    const struct gh_cfg_row *row = gh_cfg_row_find(name, strlen(name));
    GH_ASSERT(row != NULL);
    return &vals[row - gh_cfg_rows];
}

/* The CPUs this process may use: online CPUs, fewer when pinned (affinity) or limited by a
 * cgroup v2 quota (a pod's CPU limit: "/sys/fs/cgroup/cpu.max" holds "<quota|max> <period>"). */
static long gh_cfg_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    FILE *f;

    if (n < 1)
        n = 1;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0 && CPU_COUNT(&set) < n)
        n = CPU_COUNT(&set);
    f = fopen("/sys/fs/cgroup/cpu.max", "re");
    if (f != NULL) {
        char line[64];
        if (fgets(line, sizeof(line), f) != NULL && strncmp(line, "max", 3) != 0) {
            char *end;
            long quota = strtol(line, &end, 10);
            long period = end != line ? strtol(end, NULL, 10) : 0;
            long c = quota > 0 && period > 0 ? (quota + period - 1) / period : 0;
            if (c >= 1 && c < n)
                n = c;
        }
        fclose(f);
    }
    return n;
}

/* GATEHOUSE_THREADS=0: twice the usable CPUs, so that a worker waiting on the store's fsync or
 * on a key fetch leaves the cores busy with decisions (measured in bench/authorize.sh). */
static int gh_cfg_auto_threads(void)
{
    long n = gh_cfg_cpus();
    return n > 32 ? 64 : (int)(2 * n);
}

/* Rules that tie several settings together. */
static enum gh_status gh_cfg_validate(struct gh_config *cfg, const struct gh_cfg_value *vals,
                                      struct gh_err *err)
{
    static const char *const algs_ok[] = {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"};
    const struct gh_cfg_value *v;

    if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
        v = gh_cfg_val(vals, cfg->tls_cert ? "GATEHOUSE_TLS_CERT" : "GATEHOUSE_TLS_KEY");
        return GH_ERR(err, GH_E_INVALID, "%s: GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY go together",
                      v->source);
    }
    if (cfg->public_url != NULL) {
        const char *host = strstr(cfg->public_url, "://") + 3;
        /* the PDP identifier a PEP compares verbatim (AuthZEN 1.0 PDP metadata): an origin */
        if (*host == '\0' || strpbrk(host, "/?#@ ") != NULL)
            return GH_ERR(err, GH_E_INVALID,
                          "%s: GATEHOUSE_PUBLIC_URL: must be scheme://host[:port] without a "
                          "path, query, fragment or user",
                          gh_cfg_val(vals, "GATEHOUSE_PUBLIC_URL")->source);
    }
    if (cfg->admin_client_id != NULL && cfg->oidc_discovery == NULL)
        return GH_ERR(err, GH_E_INVALID,
                      "%s: GATEHOUSE_ADMIN_CLIENT_ID: the admin sign-in needs "
                      "GATEHOUSE_OIDC_DISCOVERY (the provider it signs in with)",
                      gh_cfg_val(vals, "GATEHOUSE_ADMIN_CLIENT_ID")->source);
    for (size_t i = 0; i < cfg->algs.count; i++) {
        bool ok = false;
        for (size_t k = 0; k < sizeof(algs_ok) / sizeof(algs_ok[0]); k++)
            ok = ok || strcmp(cfg->algs.items[i], algs_ok[k]) == 0;
        if (!ok) {
            /* none and HS* would let a token choose its own verification: never allowed. */
            v = gh_cfg_val(vals, "GATEHOUSE_ALGS");
            return GH_ERR(err, GH_E_INVALID, "%s: GATEHOUSE_ALGS: %.32s is not allowed (use %s)",
                          v->source, cfg->algs.items[i], "RS256 RS384 RS512 ES256 ES384 ES512");
        }
    }
    if (cfg->algs.count == 0) {
        v = gh_cfg_val(vals, "GATEHOUSE_ALGS");
        return GH_ERR(err, GH_E_INVALID, "%s: GATEHOUSE_ALGS: empty", v->source);
    }
    if (cfg->max_body_inflight < cfg->max_body) {
        /* else a body of the largest allowed size could never be taken */
        v = gh_cfg_val(vals, "GATEHOUSE_MAX_BODY_INFLIGHT");
        return GH_ERR(err, GH_E_INVALID,
                      "%s: GATEHOUSE_MAX_BODY_INFLIGHT is below GATEHOUSE_MAX_BODY", v->source);
    }
    if (cfg->jwks_refresh_min > cfg->jwks_refresh_max) {
        v = gh_cfg_val(vals, "GATEHOUSE_JWKS_REFRESH_MIN");
        return GH_ERR(err, GH_E_INVALID,
                      "%s: GATEHOUSE_JWKS_REFRESH_MIN is above GATEHOUSE_JWKS_REFRESH_MAX",
                      v->source);
    }
    if (cfg->oidc_discovery != NULL && strncmp(cfg->oidc_discovery, "http://", 7) == 0) {
        const char *host = cfg->oidc_discovery + 7;
        size_t hlen = strcspn(host, ":/");
        if (host[0] == '[')
            hlen = strcspn(host, "]") + 1;
        v = gh_cfg_val(vals, "GATEHOUSE_OIDC_DISCOVERY");
        /* Keys fetched over plain HTTP can be swapped by anyone on the path: loopback only. */
        if (!cfg->allow_insecure_http_issuer)
            return GH_ERR(err, GH_E_INVALID,
                          "%s: GATEHOUSE_OIDC_DISCOVERY: http:// needs "
                          "GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER=1 (loopback only)",
                          v->source);
        if (!gh_cfg_is_loopback_host(host, hlen))
            return GH_ERR(err, GH_E_INVALID,
                          "%s: GATEHOUSE_OIDC_DISCOVERY: http:// is allowed for loopback hosts "
                          "only",
                          v->source);
    }
    if (cfg->ext_authz_origin == NULL || (strcmp(cfg->ext_authz_origin, "path") != 0 &&
                                          strcmp(cfg->ext_authz_origin, "x-original") != 0 &&
                                          strcmp(cfg->ext_authz_origin, "x-forwarded") != 0)) {
        /* The original request must come from one place the proxy controls, never from
         * whichever header a client managed to send. */
        v = gh_cfg_val(vals, "GATEHOUSE_EXT_AUTHZ_ORIGIN");
        return GH_ERR(err, GH_E_INVALID,
                      "%s: GATEHOUSE_EXT_AUTHZ_ORIGIN: expected path, x-original or x-forwarded",
                      v->source);
    }
    if (cfg->scim_extensions != NULL) {
        struct gh_err why = {0};
        if (scim_ext_set_parse(cfg->scim_extensions, &cfg->scim_ext, &why) != GH_OK) {
            v = gh_cfg_val(vals, "GATEHOUSE_SCIM_EXTENSIONS");
            return GH_ERR(err, GH_E_INVALID, "%s: GATEHOUSE_SCIM_EXTENSIONS: %s", v->source,
                          why.msg);
        }
    }
    if (cfg->identity_claims.count > GH_IDENT_PAIRS_MAX) {
        v = gh_cfg_val(vals, "GATEHOUSE_IDENTITY_CLAIMS");
        return GH_ERR(err, GH_E_INVALID, "%s: GATEHOUSE_IDENTITY_CLAIMS: at most %d pairs",
                      v->source, GH_IDENT_PAIRS_MAX);
    }
    for (size_t i = 0; i < cfg->identity_claims.count; i++) {
        const char *c = cfg->identity_claims.items[i];
        const char *colon = strchr(c, ':');
        if (colon == NULL || colon == c ||
            (strcmp(colon + 1, "externalId") != 0 && strcmp(colon + 1, "userName") != 0)) {
            v = gh_cfg_val(vals, "GATEHOUSE_IDENTITY_CLAIMS");
            return GH_ERR(err, GH_E_INVALID,
                          "%s: GATEHOUSE_IDENTITY_CLAIMS: %.64s: expected claim:externalId or "
                          "claim:userName",
                          v->source, c);
        }
    }
    return GH_OK;
}

/* True when name=value is one of the variables Kubernetes puts into every pod for a Service whose
 * name starts with "gatehouse" (enableServiceLinks): <NAME>_SERVICE_HOST, <NAME>_SERVICE_PORT[_*],
 * <NAME>_PORT=tcp://..., <NAME>_PORT_<n>_TCP[_*]. Only names no setting has are asked. */
static bool gh_cfg_is_service_link(const char *name, size_t len, const char *value)
{
    char n[128];
    const char *p;
    if (len >= sizeof(n))
        return false;
    memcpy(n, name, len);
    n[len] = '\0';
    if ((len > 13 && strcmp(n + len - 13, "_SERVICE_HOST") == 0) ||
        strstr(n, "_SERVICE_PORT") != NULL)
        return true;
    if (len > 5 && strcmp(n + len - 5, "_PORT") == 0)
        return strncmp(value, "tcp://", 6) == 0 || strncmp(value, "udp://", 6) == 0 ||
               strncmp(value, "sctp://", 7) == 0;
    for (p = strstr(n, "_PORT_"); p != NULL; p = strstr(p + 1, "_PORT_")) {
        const char *d = p + 6;
        if (*d < '0' || *d > '9')
            continue;
        while (*d >= '0' && *d <= '9')
            d++;
        if (strncmp(d, "_TCP", 4) == 0 || strncmp(d, "_UDP", 4) == 0 || strncmp(d, "_SCTP", 5) == 0)
            return true;
    }
    return false;
}

/* See config.h. */
const char *gh_config_db_shown(const char *db, char *buf, size_t cap)
{
    const char *scheme, *at, *colon, *pw;
    size_t o = 0;
    if (db == NULL || cap == 0 || (scheme = strstr(db, "://")) == NULL)
        return db;
    at = strchr(scheme + 3, '@');
    colon = at != NULL ? memchr(scheme + 3, ':', (size_t)(at - (scheme + 3))) : NULL;
    /* user:password@ -> user:***@ */
    for (const char *c = db; *c != '\0' && o + 1 < cap; c++) {
        if (colon != NULL && c == colon + 1) {
            o += (size_t)snprintf(buf + o, cap - o, "***");
            c = at - 1;
            continue;
        }
        buf[o++] = *c;
    }
    buf[o < cap ? o : cap - 1] = '\0';
    /* ...?password=secret&... -> password=*** */
    for (pw = strstr(buf, "password="); pw != NULL; pw = strstr(pw + 1, "password=")) {
        char *v = (char *)pw + 9, *end = v + strcspn(v, "&");
        if (pw != buf && pw[-1] != '?' && pw[-1] != '&')
            continue;
        if (end - v >= 3) {
            v[0] = v[1] = v[2] = '*';
            memmove(v + 3, end, strlen(end) + 1);
        }
    }
    return buf;
}

/*
 * Load the configuration; see config.h. envp may be NULL (no environment). The result is owned
 * by the caller (gh_config_free). Not thread-safe; called once at start-up.
 */
enum gh_status gh_config_load(const char *file, char *const *envp, struct gh_config **out_cfg,
                              struct gh_err *err)
{
    struct gh_cfg_value vals[GH_CFG_NROWS];
    struct gh_config *cfg = gh_xcalloc(1, sizeof(*cfg));
    enum gh_status st = GH_OK;
    const char *env_file = NULL;

    memset(vals, 0, sizeof(vals));
    for (size_t i = 0; i < GH_CFG_NROWS; i++)
        gh_cfg_set(vals, &gh_cfg_rows[i], gh_cfg_rows[i].def, "default");
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++)
        if (strncmp(envp[i], "GATEHOUSE_CONFIG=", 17) == 0)
            env_file = envp[i] + 17;
    if (file == NULL && env_file != NULL && *env_file != '\0')
        file = env_file;
    if (file != NULL) {
        st = gh_cfg_read_file(file, vals, err);
        if (st)
            goto out;
    }
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
        const char *e = envp[i];
        const char *eq = strchr(e, '=');
        const struct gh_cfg_row *row;
        if (strncmp(e, "GATEHOUSE_", 10) != 0 || eq == NULL)
            continue;
        if (strncmp(e, "GATEHOUSE_CONFIG=", 17) == 0)
            continue;
        row = gh_cfg_row_find(e, (size_t)(eq - e));
        if (row == NULL && gh_cfg_is_service_link(e, (size_t)(eq - e), eq + 1))
            continue;
        if (row == NULL) {
            /* A typo in a security setting must not silently fall back to a default. */
            st = GH_ERR(err, GH_E_INVALID, "environment: unknown setting %.*s",
                        (int)((eq - e) > 64 ? 64 : (eq - e)), e);
            goto out;
        }
        gh_cfg_set(vals, row, eq + 1, "environment");
    }
    for (size_t i = 0; i < GH_CFG_NROWS; i++) {
        st = gh_cfg_parse_one(cfg, &gh_cfg_rows[i], &vals[i], err);
        if (st)
            goto out;
    }
    st = gh_cfg_validate(cfg, vals, err);
    if (st == GH_OK && cfg->threads == 0)
        cfg->threads = gh_cfg_auto_threads();
out:
    for (size_t i = 0; i < GH_CFG_NROWS; i++) {
        if (vals[i].raw != NULL) {
            OPENSSL_cleanse(vals[i].raw, strlen(vals[i].raw));
            free(vals[i].raw);
        }
    }
    if (st) {
        gh_config_free(cfg);
        return st;
    }
    *out_cfg = cfg;
    return GH_OK;
}

/* Free a config from gh_config_load. NULL is a no-op. */
void gh_config_free(struct gh_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < GH_CFG_NROWS; i++) {
        const struct gh_cfg_row *row = &gh_cfg_rows[i];
        void *field = (char *)cfg + row->off;
        switch (row->type) {
        case GH_CFG_STR:
        case GH_CFG_PATH:
        case GH_CFG_URL:
            free(*(char **)field);
            break;
        case GH_CFG_SECRET_TEXT:
            if (*(char **)field != NULL)
                OPENSSL_cleanse(*(char **)field, strlen(*(char **)field));
            free(*(char **)field);
            break;
        case GH_CFG_LIST:
            gh_list_free((struct gh_list *)field);
            break;
        default:
            break;
        }
    }
    free(cfg->listen_host);
    scim_ext_set_free(cfg->scim_ext);
    OPENSSL_cleanse(cfg, sizeof(*cfg));
    free(cfg);
}

static void gh_cfg_format(const struct gh_config *cfg, const struct gh_cfg_row *row, char *out,
                          size_t cap)
{
    const void *field = (const char *)cfg + row->off;
    size_t o = 0;

    out[0] = '\0';
    switch (row->type) {
    case GH_CFG_STR:
    case GH_CFG_PATH:
    case GH_CFG_URL: {
        const char *v = *(char *const *)field ? *(char *const *)field : "";
        char shown[1024];
        snprintf(out, cap, "%s", gh_config_db_shown(v, shown, sizeof(shown)));
        break;
    }
    case GH_CFG_ADDR:
        if (strchr(cfg->listen_host, ':') != NULL)
            snprintf(out, cap, "[%s]:%d", cfg->listen_host, cfg->listen_port);
        else
            snprintf(out, cap, "%s:%d", cfg->listen_host, cfg->listen_port);
        break;
    case GH_CFG_BOOL:
        snprintf(out, cap, "%d", *(const bool *)field ? 1 : 0);
        break;
    case GH_CFG_INT:
        if (row->off == OFF(max_body))
            snprintf(out, cap, "%ld", cfg->max_body);
        else
            snprintf(out, cap, "%d", *(const int *)field);
        break;
    case GH_CFG_LIST: {
        const struct gh_list *l = field;
        for (size_t i = 0; i < l->count && o < cap; i++) {
            int w = snprintf(out + o, cap - o, "%s%s", i ? "," : "", l->items[i]);
            if (w < 0)
                break;
            o += (size_t)w;
        }
        break;
    }
    case GH_CFG_SECRET_TEXT:
        snprintf(out, cap, "%s", *(char *const *)field != NULL ? "***" : "");
        break;
    case GH_CFG_SECRET: {
        const struct gh_secret_set *s = field;
        snprintf(out, cap, "%s", s->count ? (s->count == 1 ? "***" : "***,***") : "");
        break;
    }
    case GH_CFG_LEVEL: {
        static const char *const names[] = {"error", "warn", "info", "debug"};
        snprintf(out, cap, "%s", names[*(const int *)field & 3]);
        break;
    }
    }
}

/* Print the effective settings as KEY=VALUE lines; secrets as ***. */
void gh_config_print(const struct gh_config *cfg, FILE *out)
{
    char val[1024];
    for (size_t i = 0; i < GH_CFG_NROWS; i++) {
        gh_cfg_format(cfg, &gh_cfg_rows[i], val, sizeof(val));
        fprintf(out, "%s=%s\n", gh_cfg_rows[i].name, val);
    }
}

/* Print --help: usage and one paragraph per setting. */
void gh_config_help(FILE *out)
{
    fprintf(out, "usage: gatehouse [--config FILE] [--print-config] [--help] [--version]\n\n"
                 "Settings come from the environment, a config file of KEY=VALUE lines with\n"
                 "the same names (--config FILE or GATEHOUSE_CONFIG), then defaults.\n\n");
    for (size_t i = 0; i < GH_CFG_NROWS; i++)
        fprintf(out, "  %-38s %s\n  %-38s default: %s\n", gh_cfg_rows[i].name, gh_cfg_rows[i].help,
                "", *gh_cfg_rows[i].def ? gh_cfg_rows[i].def : "(unset)");
}

/* Print the README reference table (Markdown). */
void gh_config_markdown(FILE *out)
{
    fprintf(out, "| setting | default | meaning |\n|---|---|---|\n");
    for (size_t i = 0; i < GH_CFG_NROWS; i++)
        fprintf(out, "| `%s` | %s%s%s | %s |\n", gh_cfg_rows[i].name,
                *gh_cfg_rows[i].def ? "`" : "",
                *gh_cfg_rows[i].def ? gh_cfg_rows[i].def : "(unset)",
                *gh_cfg_rows[i].def ? "`" : "", gh_cfg_rows[i].help);
}

/* The key cache's settings: copied values, strings borrowed from cfg. */
void gh_config_jwks_opts(const struct gh_config *cfg, struct jwks_cache_opts *out)
{
    *out = (struct jwks_cache_opts){.discovery_url = cfg->oidc_discovery,
                                    .http_timeout_s = cfg->http_timeout,
                                    .ca_file = cfg->ca_file,
                                    .allow_insecure_http = cfg->allow_insecure_http_issuer,
                                    .refresh_min_s = cfg->jwks_refresh_min,
                                    .refresh_max_s = cfg->jwks_refresh_max,
                                    .cooldown_s = cfg->jwks_cooldown,
                                    .max_stale_s = cfg->jwks_max_stale,
                                    .threads = cfg->threads};
}

/* The token verifier's rules: copied values, lists borrowed from cfg. */
void gh_config_verifier_opts(const struct gh_config *cfg, struct authz_verifier_opts *out)
{
    *out = (struct authz_verifier_opts){.issuers = cfg->issuers,
                                        .audiences = cfg->audiences,
                                        .tenants = cfg->tenants,
                                        .algs = cfg->algs,
                                        .required_scopes = cfg->required_scopes,
                                        .required_roles = cfg->required_roles,
                                        .identity_claims = cfg->identity_claims,
                                        .leeway_s = cfg->leeway,
                                        .token_cache_size = cfg->token_cache_size};
}
