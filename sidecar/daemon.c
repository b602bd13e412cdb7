/*
 * daemon.c - start-up, the signal loop and an orderly shutdown.
 *
 * Signals are blocked in every thread and taken synchronously with sigwait() on the main thread,
 * so no handler runs in async-signal context. SIGTERM/SIGINT: /readyz turns 503, the listen
 * socket closes (no new connections), requests in flight get GATEHOUSE_SHUTDOWN_GRACE seconds
 * to finish, then the server stops and the store closes (every acknowledged write is already
 * committed). SIGHUP runs the registered reload hooks.
 */
#include "daemon.h"
#include "authz/authz.h"
#include "gatehouse.h"
#include "jwks/jwks.h"
#include "policies/policies.h"
#include "scim/scim.h"
#include "store/store.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define GH_RELOAD_MAX 8
/* The start-up warning (log and /readyz) when no token validation is configured. */
#define GH_DAEMON_NO_TOKENS                                                                        \
    "token validation is not configured (GATEHOUSE_OIDC_DISCOVERY is unset): /v1/authorize "       \
    "answers 503 and /v1/ext_authz 403 until it is set"
/* How often the policy file is checked for changes. */
#define GH_POLICY_WATCH_MS 1000

static struct {
    gh_reload_fn fn;
    void *ctx;
} gh_daemon_reloads[GH_RELOAD_MAX];
static int gh_daemon_nreloads;
static gh_listening_fn gh_daemon_listening;
static void *gh_daemon_listening_ctx;

/* Register the listening hook. Start-up only. */
void gh_daemon_on_listening(gh_listening_fn fn, void *ctx)
{
    gh_daemon_listening = fn;
    gh_daemon_listening_ctx = ctx;
}

/* Register a SIGHUP hook. Start-up only. */
void gh_daemon_on_reload(gh_reload_fn fn, void *ctx)
{
    GH_ASSERT(gh_daemon_nreloads < GH_RELOAD_MAX);
    gh_daemon_reloads[gh_daemon_nreloads].fn = fn;
    gh_daemon_reloads[gh_daemon_nreloads].ctx = ctx;
    gh_daemon_nreloads++;
}

static void gh_daemon_drain(struct gh_server *srv, int grace)
{
    struct timespec start, now, nap = {0, 20L * 1000 * 1000};
    long left;

    clock_gettime(CLOCK_MONOTONIC, &start);
    while ((left = gh_server_inflight(srv)) > 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= grace) {
            gh_log(GH_LOG_WARN, "daemon", "\"grace period over\" inflight=%ld", left);
            return;
        }
        nanosleep(&nap, NULL);
    }
}

/* /readyz's "store" object: backend, revision, index age, connection state. */
static void gh_daemon_store_info(void *ctx, cJSON *obj)
{
    struct store_status ss;
    cJSON *o = cJSON_AddObjectToObject(obj, "store");
    store_status(ctx, &ss);
    cJSON_AddStringToObject(o, "backend", ss.backend);
    cJSON_AddNumberToObject(o, "revision", (double)ss.revision);
    cJSON_AddNumberToObject(o, "age_ms", (double)ss.age_ms);
    cJSON_AddBoolToObject(o, "reachable", ss.reachable);
    cJSON_AddNumberToObject(o, "users", (double)ss.users);
    cJSON_AddNumberToObject(o, "groups", (double)ss.groups);
    cJSON_AddNumberToObject(o, "memberships", (double)ss.memberships);
}

/*
 * Run the daemon; see daemon.h. Owns everything it builds and frees it before returning.
 */
int gh_daemon_run(const struct gh_config *cfg)
{
    struct gh_app app = {0};
    struct scim_ctx scim = {0};
    struct authz_ctx authz = {0};
    struct policy_admin_ctx admin = {0};
    struct authz_admin_ctx explain = {0};
    struct authz_authzen_ctx authzen = {0};
    struct gh_console_ctx console = {0};
    struct policy_admin_session admin_session = {0};
    const struct gh_route *routes;
    size_t nroutes;
    struct gh_server *srv = NULL;
    struct gh_err err = {0};
    sigset_t sigs;
    int sig = 0, code = 1;
    char q[GH_ERR_MSG_MAX + 8], dbq[256];

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    /* Block before any thread starts so every thread inherits the mask. */
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* A write past RLIMIT_FSIZE (a file-size quota) raises SIGXFSZ, whose default action kills
     * the process: every client would lose the daemon, decisions included. Ignored, write(2)
     * fails with EFBIG instead, SQLite reports it, and only that write is refused (503, like a
     * full disk). */
    signal(SIGXFSZ, SIG_IGN);
    /* Log lines are buffered per thread from here (a request costs no write(2) for its access
     * line) and all written by gh_log_buffer_stop at the end. */
    if (gh_log_buffer_start(&err) != GH_OK)
        goto out;
    routes = gh_router_table(&nroutes);
    gh_metrics_init(routes, nroutes);

    app.cfg = cfg;
    {
        struct store_open_opts so = {cfg->store_poll_ms, cfg->changes_keep, 0};
        if (store_open_with(cfg->db, &so, &app.store, &err) != GH_OK)
            goto out;
    }
    gh_health_register("store", store_ready, app.store);
    /* advisory: an unreachable PostgreSQL leaves decisions running from the index */
    gh_health_register_advisory("store_reachable", store_reachable, app.store);
    gh_health_set_info(gh_daemon_store_info, app.store);
    /* advisory: a store that cannot write still serves decisions and reads (health.c) */
    gh_health_register_advisory("store_writable", store_writable, app.store);
    gh_metrics_register(store_metrics, app.store);
    if (policy_engine_new(cfg->policy, app.store, &app.policy, &err) != GH_OK ||
        policy_engine_watch(app.policy, GH_POLICY_WATCH_MS, &err) != GH_OK)
        goto out;
    gh_daemon_on_reload(policy_engine_reload_hook, app.policy);
    /* access groups created or deleted through another replica */
    store_on_access_change(app.store, policy_engine_store_changed, app.policy);
    if (cfg->decision_log != NULL &&
        authz_decision_log_open(cfg->decision_log, &app.decisions, &err) != GH_OK)
        goto out;
    gh_metrics_register(authz_decide_metrics, NULL);
    {
        struct gh_authfail_opts o = {GH_CAP_AUTHFAIL_ADDRS, cfg->auth_fail_burst,
                                     cfg->auth_fail_rate, cfg->auth_fail_log_interval};
        app.authfail = gh_authfail_new(&o);
        gh_metrics_register(gh_authfail_metrics, app.authfail);
        if (gh_authfail_start(app.authfail, &err) != GH_OK)
            goto out;
    }
    app.tenant =
        authz_expected_tenant(&cfg->tenants, &cfg->issuers, cfg->oidc_discovery, app.tenant_buf);
    if (cfg->oidc_discovery != NULL) {
        gh_config_jwks_opts(cfg, &app.jwks_opts);
        gh_config_verifier_opts(cfg, &app.verifier_opts);
        if (jwks_cache_new(&app.jwks_opts, &app.jwks, &err) != GH_OK ||
            authz_verifier_new(&app.verifier_opts, app.jwks, &app.verifier, &err) != GH_OK ||
            jwks_cache_start(app.jwks, &err) != GH_OK)
            goto out;
        gh_health_register("jwks", jwks_cache_ready, app.jwks);
        gh_metrics_register(jwks_cache_metrics, app.jwks);
        gh_metrics_register(authz_verifier_metrics, app.verifier);
    }

    /* declared SCIM extensions: in force before the first request, immutable after */
    scim_ext_install(cfg->scim_ext);
    if (cfg->scim_ext != NULL && scim_ext_set_schemas(cfg->scim_ext) > 0)
        gh_log(GH_LOG_INFO, "daemon", "\"SCIM extensions declared\" schemas=%zu attributes=%zu",
               scim_ext_set_schemas(cfg->scim_ext), scim_ext_set_attrs(cfg->scim_ext));

    /* each route family gets what its handlers use, not the whole app */
    scim = (struct scim_ctx){app.store, &cfg->scim_token, cfg->tls_cert != NULL, app.authfail};
    authz = (struct authz_ctx){app.verifier,
                               app.policy,
                               app.decisions,
                               app.store,
                               app.tenant,
                               (const char *const *)cfg->identity_claims.items,
                               cfg->identity_claims.count,
                               cfg->ext_authz_origin,
                               (int64_t)cfg->max_staleness * 1000,
                               cfg->revision_wait_ms};
    /* the admin page's sign-in: a second ID-token verifier on the same key cache */
    if (cfg->admin_client_id != NULL && cfg->admin_group != NULL && app.jwks != NULL) {
        app.signin_opts = (struct authz_signin_opts){cfg->oidc_discovery,
                                                     cfg->admin_client_id,
                                                     cfg->admin_client_secret,
                                                     cfg->admin_group,
                                                     cfg->public_url,
                                                     cfg->tls_cert != NULL,
                                                     cfg->admin_session_ttl,
                                                     cfg->http_timeout,
                                                     cfg->ca_file,
                                                     cfg->allow_insecure_http_issuer};
        if (authz_signin_new(&app.signin_opts, &app.verifier_opts, app.jwks, &authz, &app.signin,
                             &err) != GH_OK)
            goto out;
        admin_session = (struct policy_admin_session){authz_signin_session_check, app.signin};
    } else if (cfg->admin_client_id != NULL) {
        gh_log(GH_LOG_WARN, "daemon",
               "\"GATEHOUSE_ADMIN_GROUP is not set: nobody can sign in to the admin page, only "
               "the admin token opens the admin API\"");
    }
    admin = (struct policy_admin_ctx){
        app.policy,   app.store,         &cfg->admin_token,
        app.authfail, scim_filter_parse, app.signin != NULL ? &admin_session : NULL};
    explain = (struct authz_admin_ctx){admin, &authz};
    authzen =
        (struct authz_authzen_ctx){&authz,          &cfg->authzen_token,   &cfg->authzen_roles,
                                   cfg->public_url, cfg->tls_cert != NULL, cfg->authzen_reasons,
                                   app.authfail};
    console.admin = admin;
    console.cfg = cfg;
    console.jwks = app.jwks;
    console.tenant = app.tenant;
    console.started = (int64_t)time(NULL);
    console.signin_client_id = cfg->admin_client_id;
    console.signin_group = cfg->admin_group;
    console.signin_client_secret = cfg->admin_client_secret != NULL;
    gh_router_bind(&(struct gh_router_ctx){.scim = &scim,
                                           .authz = &authz,
                                           .admin = &admin,
                                           .explain = &explain,
                                           .authzen = &authzen,
                                           .console = &console,
                                           .signin = app.signin});
    {
        struct gh_server_opts so = {cfg->listen_host,
                                    cfg->listen_port,
                                    cfg->tls_cert,
                                    cfg->tls_key,
                                    cfg->threads,
                                    cfg->max_connections,
                                    cfg->max_connections_per_ip,
                                    cfg->conn_timeout,
                                    cfg->header_timeout,
                                    cfg->body_timeout,
                                    cfg->max_body,
                                    cfg->max_body_inflight};
        if (gh_server_start(&so, routes, nroutes, &srv, &err) != GH_OK)
            goto out;
    }
    atomic_store(&console.port, gh_server_port(srv)); /* the Tenant URL's, without a public URL */
    gh_log(GH_LOG_INFO, "daemon", "\"listening\" addr=%s%s%s:%d tls=%d db=%s version=%s",
           strchr(cfg->listen_host, ':') ? "[" : "", cfg->listen_host,
           strchr(cfg->listen_host, ':') ? "]" : "", gh_server_port(srv), cfg->tls_cert != NULL,
           gh_log_q(q, sizeof(q), gh_config_db_shown(cfg->db, dbq, sizeof(dbq))), GH_VERSION);
    if (cfg->scim_token.count == 0)
        gh_log(GH_LOG_WARN, "daemon",
               "\"GATEHOUSE_SCIM_TOKEN is not set: every SCIM request is refused\"");
    if (cfg->oidc_discovery == NULL) {
        /* Said at start-up and in /readyz (which stays 200: SCIM provisioning works), because
         * an operator who skipped it sees only 503s from /v1/authorize otherwise. */
        gh_log(GH_LOG_WARN, "daemon", "\"%s\"", GH_DAEMON_NO_TOKENS);
        gh_health_add_warning(GH_DAEMON_NO_TOKENS);
    }
    if (gh_daemon_listening != NULL)
        gh_daemon_listening(gh_daemon_listening_ctx, gh_server_port(srv));

    for (;;) {
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            gh_log(GH_LOG_INFO, "daemon", "\"reload requested\"");
            for (int i = 0; i < gh_daemon_nreloads; i++)
                gh_daemon_reloads[i].fn(gh_daemon_reloads[i].ctx);
            continue;
        }
        break;
    }
    gh_log(GH_LOG_INFO, "daemon", "\"stopping\" signal=%s inflight=%ld", strsignal(sig),
           gh_server_inflight(srv));
    gh_health_set_stopping();
    gh_server_quiesce(srv);
    gh_daemon_drain(srv, cfg->shutdown_grace);
    code = 0;
out:
    if (gh_err_is_set(&err))
        gh_log(GH_LOG_ERROR, "daemon", "\"cannot start\" err=%s", gh_log_q(q, sizeof(q), err.msg));
    gh_server_stop(srv);
    scim_ext_install(NULL); /* the config owning the set is freed after this returns */
    if (app.store != NULL)
        store_on_access_change(app.store, NULL, NULL);
    authz_signin_free(app.signin);
    policy_engine_free(app.policy);
    authz_decision_log_close(app.decisions);
    gh_authfail_free(app.authfail);
    authz_verifier_free(app.verifier);
    jwks_cache_free(app.jwks);
    store_close(app.store);
    if (code == 0)
        gh_log(GH_LOG_INFO, "daemon", "\"stopped\"");
    gh_log_buffer_stop();
    return code;
}
