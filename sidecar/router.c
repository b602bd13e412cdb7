/*
 * router.c - the route table: one row per (method, path) the daemon serves.
 *
 * Lookup is a linear scan: the table is small and the scan costs less than a hash of the path.
 * GET rows also answer HEAD. A path that matches rows of other methods only is a 405 with the
 * Allow list built from those rows. Paths compare byte for byte, except the last segment of a
 * *_NAME_ANY_CASE row: SCIM endpoint names (RFC 7644 §3.2 names no case rule; Microsoft's SCIM
 * validator sends /users and /serviceConfiguration), so /scim/v2/users is /scim/v2/Users while
 * /SCIM/v2/Users, /Healthz and a resource id after the name stay exact.
 */
#include "router.h"
#include "authz/authz.h"
#include "caps.h"
#include "health.h"
#include "metrics.h"
#include "policies/admin.h"
#include "scim/scim.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Each row names the credential its requests need (checked when the headers are complete, before
 * any body is read) and its body cap: the authz routes take small JSON documents, SCIM takes
 * Entra's largest PATCH, the ops routes take none. */
static const struct gh_route gh_routes[] = {
    /* ops */
    {"GET", "/healthz", GH_ROUTE_EXACT, gh_health_handle_healthz, NULL, "healthz", NULL,
     GH_CAP_BODY_OPS},
    {"GET", "/readyz", GH_ROUTE_EXACT, gh_health_handle_readyz, NULL, "readyz", NULL,
     GH_CAP_BODY_OPS},
    {"GET", "/metrics", GH_ROUTE_EXACT, gh_metrics_handle, NULL, "metrics", NULL, GH_CAP_BODY_OPS},
    /* SCIM 2.0 (issue 3): one handler per resource type; errors render as SCIM Error JSON */
    {"GET", "/scim/v2/Users", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_users, scim_error_render,
     "scim", scim_auth, 0},
    {"POST", "/scim/v2/Users", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_users, scim_error_render,
     "scim", scim_auth, 0},
    {"PUT", "/scim/v2/Users", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_users, scim_error_render,
     "scim", scim_auth, 0},
    {"PATCH", "/scim/v2/Users", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_users, scim_error_render,
     "scim", scim_auth, 0},
    {"DELETE", "/scim/v2/Users", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_users,
     scim_error_render, "scim", scim_auth, 0},
    {"GET", "/scim/v2/Groups", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_groups, scim_error_render,
     "scim", scim_auth, 0},
    {"POST", "/scim/v2/Groups", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_groups,
     scim_error_render, "scim", scim_auth, 0},
    {"PUT", "/scim/v2/Groups", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_groups, scim_error_render,
     "scim", scim_auth, 0},
    {"PATCH", "/scim/v2/Groups", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_groups,
     scim_error_render, "scim", scim_auth, 0},
    {"DELETE", "/scim/v2/Groups", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_groups,
     scim_error_render, "scim", scim_auth, 0},
    {"GET", "/scim/v2/ServiceProviderConfig", GH_ROUTE_EXACT_NAME_ANY_CASE, scim_handle_spc,
     scim_error_render, "scim", scim_auth, 0},
    /* the pre-RFC name Microsoft's validator still asks for (SCIMReferenceCode Postman suite) */
    {"GET", "/scim/v2/serviceConfiguration", GH_ROUTE_EXACT_NAME_ANY_CASE, scim_handle_spc,
     scim_error_render, "scim", scim_auth, 0},
    {"GET", "/scim/v2/ResourceTypes", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_rtypes,
     scim_error_render, "scim", scim_auth, 0},
    {"GET", "/scim/v2/Schemas", GH_ROUTE_PREFIX_NAME_ANY_CASE, scim_handle_schemas,
     scim_error_render, "scim", scim_auth, 0},
    /* admin API (GATEHOUSE_ADMIN_TOKEN) */
    {"*", "/admin/v1/access-groups", GH_ROUTE_PREFIX, policy_admin_handle,
     policy_admin_render_error, "admin", policy_admin_auth, GH_CAP_BODY_ADMIN},
    {"*", "/scim", GH_ROUTE_PREFIX, scim_handle_unknown, scim_error_render, "scim", scim_auth, 0},
    /* authorization (bearer access tokens, RFC 6750 errors) */
    {"POST", "/v1/authorize", GH_ROUTE_EXACT, authz_handle_authorize, authz_render_error,
     "authorize", authz_auth, GH_CAP_BODY_AUTHZ},
    {"*", "/v1/ext_authz", GH_ROUTE_PREFIX, authz_handle_ext_authz, authz_ext_render_error,
     "ext_authz", authz_auth, GH_CAP_BODY_AUTHZ},
};

#define GH_NROUTES (sizeof(gh_routes) / sizeof(gh_routes[0]))

/* See router.h. */
bool gh_route_path_matches(const struct gh_route *rt, const char *path)
{
    size_t n = strlen(rt->pattern), fixed = n;
    bool prefix = rt->match == GH_ROUTE_PREFIX || rt->match == GH_ROUTE_PREFIX_NAME_ANY_CASE;

    /* exact up to and including the pattern's last '/'; the name after it in any case */
    if (rt->match == GH_ROUTE_EXACT_NAME_ANY_CASE || rt->match == GH_ROUTE_PREFIX_NAME_ANY_CASE)
        fixed = (size_t)(strrchr(rt->pattern, '/') - rt->pattern) + 1;

    if (strncmp(path, rt->pattern, fixed) != 0)
        return false;
    if (fixed < n && strncasecmp(path + fixed, rt->pattern + fixed, n - fixed) != 0)
        return false;
    if (path[n] == '\0')
        return true;
    return prefix && path[n] == '/';
}

static bool gh_route_method_matches(const struct gh_route *rt, const char *method)
{
    return strcmp(rt->method, "*") == 0 || strcmp(rt->method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0);
}

/* See router.h. Thread-safe (the table is immutable). */
enum gh_status gh_router_find(const char *method, const char *path,
                              const struct gh_route **out_route, char *allow, size_t allow_cap)
{
    const struct gh_route *first = NULL;
    size_t used = 0;

    *out_route = NULL;
    if (allow_cap > 0)
        allow[0] = '\0';
    for (size_t i = 0; i < GH_NROUTES; i++) {
        const struct gh_route *rt = &gh_routes[i];
        if (!gh_route_path_matches(rt, path))
            continue;
        if (gh_route_method_matches(rt, method)) {
            *out_route = rt;
            return GH_OK;
        }
        if (first == NULL)
            first = rt;
        if (strstr(allow, rt->method) == NULL && used < allow_cap) {
            int w = snprintf(allow + used, allow_cap - used, "%s%s", used ? ", " : "", rt->method);
            if (w > 0)
                used += (size_t)w;
            if (strcmp(rt->method, "GET") == 0 && used < allow_cap) {
                w = snprintf(allow + used, allow_cap - used, ", HEAD");
                if (w > 0)
                    used += (size_t)w;
            }
        }
    }
    if (first == NULL)
        return GH_E_NOT_FOUND;
    *out_route = first;
    return GH_E_METHOD;
}

/* The table itself (static storage). */
const struct gh_route *gh_router_table(size_t *out_count)
{
    *out_count = GH_NROUTES;
    return gh_routes;
}
