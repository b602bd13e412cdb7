/*
 * console.c - the admin page's read endpoints that combine the facts of every module, so they
 * live on the composition floor (sidecar/): GET /admin/v1/status and GET /admin/v1/settings
 * (docs/admin-api.md "Status" and "Settings").
 *
 * Status: what SCIM was asked since start (scim.h scim_activity_get), the directory's revision,
 * its age and counts (store_status), the policy revision and reloads, decisions by result and
 * whether tokens can be validated. Settings: the Tenant URL and the SCIM secret's form (clear
 * or sha256: digest, never a value), how to rotate it with two secrets accepted at once, the
 * token rules in use and whether sign-in is configured. Neither reply carries a secret, a
 * digest of one, or a token: only counts and forms. Both are behind policy_admin_auth.
 */
#include "console.h"
#include "authz/authz.h"
#include "config.h"
#include "jwks/jwks.h"
#include "scim/scim.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Longest Host header taken as the Tenant URL's host (a DNS name and a port). */
#define GH_CONSOLE_HOST_MAX 260

/* RFC 3339 UTC (seconds) of unix time t into buf. */
static const char *gh_console_time(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    if (strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        buf[0] = '\0';
    return buf;
}

static void gh_console_str(cJSON *o, const char *name, const char *v)
{
    if (v != NULL && v[0] != '\0')
        cJSON_AddStringToObject(o, name, v);
    else
        cJSON_AddNullToObject(o, name);
}

static cJSON *gh_console_list(const struct gh_list *l)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < l->count; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(l->items[i]));
    return arr;
}

/* One noted SCIM request, or null when there was none. */
static void gh_console_note(cJSON *o, const char *name, const struct scim_request_note *n,
                            int64_t now)
{
    cJSON *j;
    if (n->status == 0) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    j = cJSON_AddObjectToObject(o, name);
    cJSON_AddStringToObject(j, "time", n->time);
    cJSON_AddNumberToObject(j, "age_s", (double)(now - n->unix_time));
    cJSON_AddStringToObject(j, "method", n->method);
    cJSON_AddStringToObject(j, "path", n->path);
    cJSON_AddNumberToObject(j, "status", n->status);
}

/* See console.h. */
enum gh_status gh_console_handle_status(struct gh_req *r, struct gh_err *err)
{
    const struct gh_console_ctx *cx = gh_req_ctx(r);
    const struct gh_config *cfg = cx->cfg;
    int64_t now = (int64_t)time(NULL);
    struct scim_activity act;
    struct store_status ss;
    struct policy_snapshot *snap;
    unsigned long ok, failed, allowed, denied, log_errors;
    char t[32];
    cJSON *body = cJSON_CreateObject(), *o;
    (void)err;

    cJSON_AddStringToObject(body, "version", GH_VERSION);
    cJSON_AddStringToObject(body, "started", gh_console_time(cx->started, t, sizeof(t)));
    cJSON_AddNumberToObject(body, "uptime_s", (double)(now - cx->started));

    /* provisioning: what Entra (or anyone) asked the SCIM surface since start */
    scim_activity_get(&act);
    o = cJSON_AddObjectToObject(body, "provisioning");
    cJSON_AddBoolToObject(o, "secret_configured", cfg->scim_token.count > 0);
    cJSON_AddNumberToObject(o, "requests", (double)act.requests);
    cJSON_AddNumberToObject(o, "errors", (double)act.errors);
    gh_console_note(o, "last_request", &act.last, now);
    gh_console_note(o, "last_error", &act.last_error, now);

    /* the directory as this replica's index holds it */
    store_status(cx->admin.store, &ss);
    o = cJSON_AddObjectToObject(body, "directory");
    cJSON_AddStringToObject(o, "backend", ss.backend);
    cJSON_AddNumberToObject(o, "revision", (double)ss.revision);
    cJSON_AddNumberToObject(o, "revision_age_ms", (double)ss.revision_age_ms);
    cJSON_AddStringToObject(o, "revision_changed",
                            gh_console_time(now - ss.revision_age_ms / 1000, t, sizeof(t)));
    /* INT64_MAX while a write is known to be missing: said as null, not as a huge number */
    if (ss.age_ms == INT64_MAX)
        cJSON_AddNullToObject(o, "index_age_ms");
    else
        cJSON_AddNumberToObject(o, "index_age_ms", (double)ss.age_ms);
    cJSON_AddBoolToObject(o, "reachable", ss.reachable);
    cJSON_AddNumberToObject(o, "users", (double)ss.users);
    cJSON_AddNumberToObject(o, "groups", (double)ss.groups);
    cJSON_AddNumberToObject(o, "memberships", (double)ss.memberships);

    snap = policy_engine_acquire(cx->admin.policy);
    policy_engine_counts(cx->admin.policy, &ok, &failed);
    o = cJSON_AddObjectToObject(body, "policy");
    cJSON_AddStringToObject(o, "revision", policy_snapshot_revision(snap));
    cJSON_AddNumberToObject(o, "access_groups", (double)policy_snapshot_group_count(snap));
    gh_console_str(o, "file", policy_engine_path(cx->admin.policy));
    cJSON_AddNumberToObject(o, "reloads", (double)ok);
    cJSON_AddNumberToObject(o, "reload_failures", (double)failed);
    policy_snapshot_release(snap);

    authz_decision_log_counts(&allowed, &denied, &log_errors);
    o = cJSON_AddObjectToObject(body, "decisions");
    cJSON_AddNumberToObject(o, "allowed", (double)allowed);
    cJSON_AddNumberToObject(o, "denied", (double)denied);
    cJSON_AddBoolToObject(o, "log", cfg->decision_log != NULL);
    cJSON_AddNumberToObject(o, "log_write_failures", (double)log_errors);

    o = cJSON_AddObjectToObject(body, "token_validation");
    cJSON_AddBoolToObject(o, "configured", cx->jwks != NULL);
    if (cx->jwks != NULL) {
        const char *why = NULL;
        struct jwks_set *set = jwks_cache_acquire(cx->jwks);
        bool ready = jwks_cache_ready(cx->jwks, &why);
        cJSON_AddBoolToObject(o, "ready", ready);
        gh_console_str(o, "reason", ready ? NULL : why);
        cJSON_AddNumberToObject(o, "keys", set != NULL ? (double)jwks_set_key_count(set) : 0);
        if (set != NULL)
            cJSON_AddStringToObject(o, "keys_loaded",
                                    gh_console_time(jwks_set_loaded_at(set), t, sizeof(t)));
        jwks_set_release(set);
    } else {
        cJSON_AddBoolToObject(o, "ready", false);
        cJSON_AddStringToObject(o, "reason", "GATEHOUSE_OIDC_DISCOVERY is not set");
    }
    gh_reply_json(r, 200, body);
    return GH_OK;
}

/* See console.h. */
void gh_console_tenant_url(const char *base, char *out, size_t cap)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (snprintf(out, cap, "%.*s/scim/v2?aadOptscim062020", (int)n, base) < 0 && cap > 0)
        out[0] = '\0';
}

/* A Host header fit to stand in a URL: a name or address and a port, nothing else. */
static bool gh_console_host_ok(const char *h)
{
    size_t n = h != NULL ? strlen(h) : 0;
    if (n == 0 || n > GH_CONSOLE_HOST_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
            return false;
    }
    return true;
}

/* The base URL gatehouse is reached at, into buf, and where it came from: GATEHOUSE_PUBLIC_URL;
 * else the listener (its scheme, address and port); for a wildcard listener (0.0.0.0, ::), whose
 * address names no host, the Host the administrator's browser used. */
static const char *gh_console_base(struct gh_req *r, struct gh_console_ctx *cx, char *buf,
                                   size_t cap, const char **out_from)
{
    const struct gh_config *cfg = cx->cfg;
    const char *scheme = cfg->tls_cert != NULL ? "https" : "http";
    const char *host = cfg->listen_host;
    bool v6 = strchr(host, ':') != NULL;

    if (cfg->public_url != NULL) { /* scheme://host[:port], no path (config.c checks) */
        *out_from = "GATEHOUSE_PUBLIC_URL";
        return cfg->public_url;
    }
    if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0) {
        const char *h = gh_req_header(r, "Host");
        if (gh_console_host_ok(h)) {
            *out_from = "Host";
            snprintf(buf, cap, "%s://%s", scheme, h);
            return buf;
        }
    }
    *out_from = "GATEHOUSE_LISTEN";
    snprintf(buf, cap, "%s://%s%s%s:%d", scheme, v6 ? "[" : "", host, v6 ? "]" : "",
             atomic_load(&cx->port));
    return buf;
}

/* A secret setting's shape: configured or not, how many, each one's form; never a value. */
static cJSON *gh_console_secret(const char *setting, const struct gh_secret_set *s)
{
    cJSON *o = cJSON_CreateObject(), *forms;
    cJSON_AddStringToObject(o, "setting", setting);
    cJSON_AddBoolToObject(o, "configured", s->count > 0);
    cJSON_AddNumberToObject(o, "count", s->count);
    forms = cJSON_AddArrayToObject(o, "forms");
    for (int i = 0; i < s->count; i++)
        cJSON_AddItemToArray(forms, cJSON_CreateString(s->given_as_digest[i] ? "sha256" : "clear"));
    return o;
}

static bool gh_console_any_clear(const struct gh_secret_set *s)
{
    for (int i = 0; i < s->count; i++)
        if (!s->given_as_digest[i])
            return true;
    return false;
}

static void gh_console_add(cJSON *arr, const char *text)
{
    cJSON_AddItemToArray(arr, cJSON_CreateString(text));
}

/* See console.h. */
enum gh_status gh_console_handle_settings(struct gh_req *r, struct gh_err *err)
{
    struct gh_console_ctx *cx = gh_req_ctx(r);
    const struct gh_config *cfg = cx->cfg;
    struct gh_arena *a = gh_req_arena(r);
    char base_buf[2048], url[2100];
    const char *from = NULL;
    const char *base = gh_console_base(r, cx, base_buf, sizeof(base_buf), &from);
    cJSON *body = cJSON_CreateObject(), *o, *arr;
    (void)err;

    gh_console_str(body, "public_url", cfg->public_url);

    o = cJSON_AddObjectToObject(body, "scim");
    gh_console_tenant_url(base, url, sizeof(url));
    cJSON_AddStringToObject(o, "tenant_url", url);
    cJSON_AddStringToObject(o, "tenant_url_from", from);
    cJSON_AddItemToObject(o, "secret", gh_console_secret("GATEHOUSE_SCIM_TOKEN", &cfg->scim_token));
    /* the settings are read at start-up: each step that changes one restarts gatehouse (one
     * replica at a time behind a load balancer) */
    arr = cJSON_AddArrayToObject(o, "rotation");
    gh_console_add(arr, "Generate a new secret of at least 16 characters: openssl rand -hex 32");
    gh_console_add(arr, "Accept both: GATEHOUSE_SCIM_TOKEN=<current>,<new> (each may be given as "
                        "sha256:<hex>, from printf %s '<secret>' | sha256sum, so the config holds "
                        "no clear text), then restart gatehouse");
    gh_console_add(arr, "In Entra ID: the enterprise application > Provisioning > Admin "
                        "Credentials > Secret Token: paste the new secret, Test Connection, Save");
    gh_console_add(arr, "Drop the old one: GATEHOUSE_SCIM_TOKEN=<new> (or its sha256:<hex>), then "
                        "restart gatehouse");
    arr = cJSON_AddArrayToObject(o, "notes");
    if (cfg->scim_token.count == 0)
        gh_console_add(arr, "GATEHOUSE_SCIM_TOKEN is not set: every SCIM request is refused");
    if (gh_console_any_clear(&cfg->scim_token))
        gh_console_add(arr, "GATEHOUSE_SCIM_TOKEN holds a secret in clear text: give its "
                            "sha256:<hex> digest instead to keep the secret out of the config");
    if (strncmp(url, "https://", 8) != 0)
        gh_console_add(arr, "Entra ID provisions only over HTTPS with a publicly trusted "
                            "certificate: put gatehouse behind an HTTPS front (or set "
                            "GATEHOUSE_TLS_CERT/KEY) and set GATEHOUSE_PUBLIC_URL to the URL "
                            "Entra reaches");
    if (cfg->scim_token.count == GH_SECRET_MAX)
        gh_console_add(arr, "two SCIM secrets are accepted: a rotation is under way");

    o = cJSON_AddObjectToObject(body, "tokens");
    cJSON_AddBoolToObject(o, "configured", cfg->oidc_discovery != NULL);
    gh_console_str(o, "discovery", cfg->oidc_discovery);
    if (cfg->issuers.count > 0) {
        cJSON_AddItemToObject(o, "issuers", gh_console_list(&cfg->issuers));
        cJSON_AddStringToObject(o, "issuers_from", "GATEHOUSE_ISSUER");
    } else {
        /* the discovery document's issuer, once it was fetched */
        struct jwks_set *set = cx->jwks != NULL ? jwks_cache_acquire(cx->jwks) : NULL;
        const char *iss = set != NULL ? jwks_set_issuer(set) : NULL;
        arr = cJSON_AddArrayToObject(o, "issuers");
        if (iss != NULL)
            gh_console_add(arr, iss);
        cJSON_AddStringToObject(o, "issuers_from", "discovery");
        jwks_set_release(set);
    }
    cJSON_AddItemToObject(o, "audiences", gh_console_list(&cfg->audiences));
    cJSON_AddItemToObject(o, "tenants", gh_console_list(&cfg->tenants));
    gh_console_str(o, "tenant", cx->tenant);
    cJSON_AddItemToObject(o, "algorithms", gh_console_list(&cfg->algs));
    cJSON_AddItemToObject(o, "identity_claims", gh_console_list(&cfg->identity_claims));

    o = cJSON_AddObjectToObject(body, "admin");
    cJSON_AddItemToObject(o, "token",
                          gh_console_secret("GATEHOUSE_ADMIN_TOKEN", &cfg->admin_token));
    o = cJSON_AddObjectToObject(o, "sign_in");
    /* the page's Entra sign-in needs an app registration, an admin group and an issuer */
    cJSON_AddBoolToObject(o, "configured",
                          cx->signin_client_id != NULL && cx->signin_group != NULL &&
                              cfg->oidc_discovery != NULL);
    gh_console_str(o, "client_id", cx->signin_client_id);
    cJSON_AddBoolToObject(o, "client_secret_set", cx->signin_client_secret);
    gh_console_str(o, "admin_group", cx->signin_group);
    /* what the app registration lists as its web redirect URI */
    cJSON_AddStringToObject(o, "redirect_uri", gh_arena_printf(a, "%s/admin/callback", base));
    gh_reply_json(r, 200, body);
    return GH_OK;
}
