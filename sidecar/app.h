/*
 * app.h - the daemon's long-lived state (daemon.c's wiring; nothing outside sidecar/ sees it).
 *
 * Built once at start-up by daemon.c and torn down after the listener has stopped. Each field is
 * owned by the app (daemon.c frees it). Handlers never see the app: each route family gets a
 * context of what its handlers use (scim_ctx, authz_ctx, policy_admin_ctx; router.h), built
 * from these fields. The pointed-to objects are thread-safe.
 */
#ifndef GH_APP_H
#define GH_APP_H

#include "authz/authz.h"
#include "jwks/jwks.h"

struct gh_config;
struct store;
struct policy_engine;
struct authz_decision_log;
struct gh_authfail;

struct gh_app {
    const struct gh_config *cfg;
    struct store *store;                      /* identity store (SQLite) */
    struct jwks_cache *jwks;                  /* NULL when no OIDC discovery is configured */
    struct authz_verifier *verifier;          /* NULL when no OIDC discovery is configured */
    struct jwks_cache_opts jwks_opts;         /* borrowed by jwks (strings from cfg) */
    struct authz_verifier_opts verifier_opts; /* borrowed by verifier (lists from cfg) */
    struct policy_engine *policy;             /* access groups and decisions */
    struct authz_decision_log *decisions;     /* NULL when GATEHOUSE_DECISION_LOG is unset */
    struct gh_authfail *authfail;             /* failed authentications per client address */
    struct authz_signin *signin;              /* admin page sign-in; NULL when not configured */
    struct authz_signin_opts signin_opts;     /* borrowed by signin (strings from cfg) */
    const char *tenant;  /* the tenant the SCIM data comes from ("" when unknown); see authz.h */
    char tenant_buf[37]; /* behind tenant when it came from the issuer */
};

#endif
