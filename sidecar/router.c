/*
 * router.c - the route table: one row per (method, path) the daemon serves, each naming its
 * handler, error renderer, metrics label, credential check, body cap and its family's context.
 * The server matches requests against it (core/route.c).
 */
#include "router.h"
#include "authz/authz.h"
#include "console.h"
#include "core/core.h"
#include "health.h"
#include "page.h"
#include "policies/policies.h"
#include "scim/scim.h"

/* The families' contexts; rows point at these, and the server reads them per request, so the
 * table stays static. Written once by gh_router_bind before the server's threads start. */
static void *gh_router_scim_ctx, *gh_router_authz_ctx, *gh_router_admin_ctx;
static void *gh_router_explain_ctx;
static void *gh_router_authzen_ctx;
static void *gh_router_console_ctx;
static void *gh_router_signin_ctx;

/* Each row names the credential its requests need (checked when the headers are complete, before
 * any body is read) and its body cap: the authz routes take small JSON documents, SCIM takes
 * Entra's largest PATCH, the ops routes take none. */
static const struct gh_route gh_routes[] = {
    /* ops */
    {"GET", "/healthz", GH_ROUTE_EXACT, gh_health_handle_healthz, NULL, "healthz", NULL,
     GH_CAP_BODY_OPS, NULL},
    {"GET", "/readyz", GH_ROUTE_EXACT, gh_health_handle_readyz, NULL, "readyz", NULL,
     GH_CAP_BODY_OPS, NULL},
    {"GET", "/metrics", GH_ROUTE_EXACT, gh_metrics_handle, NULL, "metrics", NULL, GH_CAP_BODY_OPS,
     NULL},
    /* SCIM 2.0 (issue 3): one handler per resource type; errors render as SCIM Error JSON */
    {"GET", "/scim/v2/Users", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_users, scim_error_render,
     "scim", scim_auth, 0, &gh_router_scim_ctx},
    {"POST", "/scim/v2/Users", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_users, scim_error_render,
     "scim", scim_auth, 0, &gh_router_scim_ctx},
    {"PUT", "/scim/v2/Users", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_users, scim_error_render,
     "scim", scim_auth, 0, &gh_router_scim_ctx},
    {"PATCH", "/scim/v2/Users", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_users, scim_error_render,
     "scim", scim_auth, 0, &gh_router_scim_ctx},
    {"DELETE", "/scim/v2/Users", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_users,
     scim_error_render, "scim", scim_auth, 0, &gh_router_scim_ctx},
    {"GET", "/scim/v2/Groups", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_groups, scim_error_render,
     "scim", scim_auth, 0, &gh_router_scim_ctx},
    {"POST", "/scim/v2/Groups", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_groups,
     scim_error_render, "scim", scim_auth, 0, &gh_router_scim_ctx},
    {"PUT", "/scim/v2/Groups", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_groups, scim_error_render,
     "scim", scim_auth, 0, &gh_router_scim_ctx},
    {"PATCH", "/scim/v2/Groups", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_groups,
     scim_error_render, "scim", scim_auth, 0, &gh_router_scim_ctx},
    {"DELETE", "/scim/v2/Groups", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_groups,
     scim_error_render, "scim", scim_auth, 0, &gh_router_scim_ctx},
    {"GET", "/scim/v2/ServiceProviderConfig", GH_ROUTE_EXACT_NAME_ANY_CASE, scim_handle_spc,
     scim_error_render, "scim", scim_auth, 0, &gh_router_scim_ctx},
    /* the pre-RFC name Microsoft's validator still asks for (SCIMReferenceCode Postman suite) */
    {"GET", "/scim/v2/serviceConfiguration", GH_ROUTE_EXACT_NAME_ANY_CASE, scim_handle_spc,
     scim_error_render, "scim", scim_auth, 0, &gh_router_scim_ctx},
    {"GET", "/scim/v2/ResourceTypes", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_rtypes,
     scim_error_render, "scim", scim_auth, 0, &gh_router_scim_ctx},
    {"GET", "/scim/v2/Schemas", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_schemas,
     scim_error_render, "scim", scim_auth, 0, &gh_router_scim_ctx},
    /* admin API (GATEHOUSE_ADMIN_TOKEN) */
    {"*", "/admin/v1/access-groups", GH_ROUTE_PREFIX, policy_admin_handle,
     policy_admin_render_error, "admin", policy_admin_auth, GH_CAP_BODY_ADMIN,
     &gh_router_admin_ctx},
    /* read-only directory: every method reaches the handler, which answers writes 405 */
    {"*", "/admin/v1/identities", GH_ROUTE_PREFIX, policy_admin_handle_identities,
     policy_admin_render_error, "admin", policy_admin_auth, GH_CAP_BODY_ADMIN,
     &gh_router_admin_ctx},
    {"*", "/admin/v1/idp-groups", GH_ROUTE_PREFIX, policy_admin_handle_idp_groups,
     policy_admin_render_error, "admin", policy_admin_auth, GH_CAP_BODY_ADMIN,
     &gh_router_admin_ctx},
    {"GET", "/admin/v1/links", GH_ROUTE_EXACT, policy_admin_handle_links, policy_admin_render_error,
     "admin", policy_admin_auth, GH_CAP_BODY_ADMIN, &gh_router_admin_ctx},
    {"POST", "/admin/v1/policy/reload", GH_ROUTE_EXACT, policy_admin_handle_reload,
     policy_admin_render_error, "admin", policy_admin_auth, GH_CAP_BODY_ADMIN,
     &gh_router_admin_ctx},
    /* explain: the admin secret, the decision path's context (authz/explain.c) */
    {"GET", "/admin/v1/explain", GH_ROUTE_EXACT, authz_handle_explain, policy_admin_render_error,
     "admin", policy_admin_auth, GH_CAP_BODY_ADMIN, &gh_router_explain_ctx},
    {"POST", "/admin/v1/explain", GH_ROUTE_EXACT, authz_handle_explain, policy_admin_render_error,
     "admin", policy_admin_auth, GH_CAP_BODY_ADMIN, &gh_router_explain_ctx},
    /* the dry run takes a whole policy file: GATEHOUSE_MAX_BODY (policy files can be large) */
    {"POST", "/admin/v1/policy/dry-run", GH_ROUTE_EXACT, policy_admin_dry_run,
     policy_admin_render_error, "admin", policy_admin_auth, 0, &gh_router_admin_ctx},
    /* the admin page's read endpoints (issue 13): status and settings combine every module's
     * facts (console.c); the decision tail is authz's ring */
    {"GET", "/admin/v1/status", GH_ROUTE_EXACT, gh_console_handle_status, policy_admin_render_error,
     "admin", policy_admin_auth, GH_CAP_BODY_ADMIN, &gh_router_console_ctx},
    {"GET", "/admin/v1/settings", GH_ROUTE_EXACT, gh_console_handle_settings,
     policy_admin_render_error, "admin", policy_admin_auth, GH_CAP_BODY_ADMIN,
     &gh_router_console_ctx},
    {"GET", "/admin/v1/decisions", GH_ROUTE_EXACT, authz_handle_decisions,
     policy_admin_render_error, "admin", policy_admin_auth, GH_CAP_BODY_ADMIN,
     &gh_router_admin_ctx},
    /* the admin page's files (page.c): public, the page asks /admin/v1/session itself */
    {"GET", "/admin", GH_ROUTE_EXACT, gh_page_handle_root, NULL, "admin_page", NULL,
     GH_CAP_BODY_OPS, NULL},
    {"GET", "/admin/", GH_ROUTE_EXACT, gh_page_handle_index, NULL, "admin_page", NULL,
     GH_CAP_BODY_OPS, NULL},
    {"GET", "/admin/assets", GH_ROUTE_PREFIX, gh_page_handle_asset, NULL, "admin_page", NULL,
     GH_CAP_BODY_OPS, NULL},
    {"*", "/scim", GH_ROUTE_PREFIX, scim_handle_unknown, scim_error_render, "scim", scim_auth, 0,
     &gh_router_scim_ctx},
    /* authorization (bearer access tokens, RFC 6750 errors) */
    {"POST", "/v1/authorize", GH_ROUTE_EXACT, authz_handle_authorize, authz_render_error,
     "authorize", authz_auth, GH_CAP_BODY_AUTHZ, &gh_router_authz_ctx},
    {"*", "/v1/ext_authz", GH_ROUTE_PREFIX, authz_handle_ext_authz, authz_ext_render_error,
     "ext_authz", authz_auth, GH_CAP_BODY_AUTHZ, &gh_router_authz_ctx},
    /* OpenID AuthZEN Authorization API 1.0 (PEP secret or app-only token; metadata public) */
    {"POST", "/access/v1/evaluation", GH_ROUTE_EXACT, authz_authzen_handle_evaluation,
     authz_authzen_render_error, "authzen", authz_authzen_auth, GH_CAP_BODY_AUTHZEN,
     &gh_router_authzen_ctx},
    {"POST", "/access/v1/evaluations", GH_ROUTE_EXACT, authz_authzen_handle_evaluations,
     authz_authzen_render_error, "authzen", authz_authzen_auth, GH_CAP_BODY_AUTHZEN,
     &gh_router_authzen_ctx},
    {"GET", "/.well-known/authzen-configuration", GH_ROUTE_EXACT, authz_authzen_handle_metadata,
     authz_authzen_render_error, "authzen_metadata", NULL, GH_CAP_BODY_OPS, &gh_router_authzen_ctx},
    /* the admin page's sign-in with Entra ID (authz/signin.c): login and callback are public by
     * design (the identity provider authenticates; state, cookie and PKCE bind the two), logout
     * needs the session and its CSRF token; /admin/v1/session is an admin route */
    {"GET", "/admin/login", GH_ROUTE_EXACT, authz_signin_handle_login, authz_signin_render_error,
     "admin_signin", NULL, GH_CAP_BODY_OPS, &gh_router_signin_ctx},
    {"GET", "/admin/callback", GH_ROUTE_EXACT, authz_signin_handle_callback,
     authz_signin_render_error, "admin_signin", NULL, GH_CAP_BODY_OPS, &gh_router_signin_ctx},
    {"POST", "/admin/logout", GH_ROUTE_EXACT, authz_signin_handle_logout, authz_signin_render_error,
     "admin_signin", authz_signin_logout_auth, GH_CAP_BODY_OPS, &gh_router_signin_ctx},
    {"GET", "/admin/v1/session", GH_ROUTE_EXACT, authz_signin_handle_session,
     policy_admin_render_error, "admin", policy_admin_auth, GH_CAP_BODY_ADMIN,
     &gh_router_admin_ctx},
};

#define GH_NROUTES (sizeof(gh_routes) / sizeof(gh_routes[0]))

/* See router.h. */
void gh_router_bind(const struct gh_router_ctx *ctx)
{
    gh_router_scim_ctx = ctx->scim;
    gh_router_authz_ctx = ctx->authz;
    gh_router_admin_ctx = ctx->admin;
    gh_router_explain_ctx = ctx->explain;
    gh_router_authzen_ctx = ctx->authzen;
    gh_router_console_ctx = ctx->console;
    gh_router_signin_ctx = ctx->signin;
}

/* See router.h. Thread-safe (the table is immutable). */
enum gh_status gh_router_find(const char *method, const char *path,
                              const struct gh_route **out_route, char *allow, size_t allow_cap)
{
    return gh_route_find(gh_routes, GH_NROUTES, method, path, out_route, allow, allow_cap);
}

/* The table itself (static storage). */
const struct gh_route *gh_router_table(size_t *out_count)
{
    *out_count = GH_NROUTES;
    return gh_routes;
}
