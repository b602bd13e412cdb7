/*
 * route.c - matching a request against a route table (route.h).
 *
 * Lookup is a linear scan: the table is small and the scan costs less than a hash of the path.
 * GET rows also answer HEAD. A path that matches rows of other methods only is a 405 with the
 * Allow list built from those rows. Paths compare byte for byte, except the last segment of a
 * *_NAME_ANY_CASE row: SCIM endpoint names (RFC 7644 §3.2 names no case rule; Microsoft's SCIM
 * validator sends /users and /serviceConfiguration), so /scim/v2/users is /scim/v2/Users while
 * /SCIM/v2/Users, /Healthz and a resource id after the name stay exact.
 */
#include "route.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* See route.h. */
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

/* Add rt's method (and HEAD after GET) to the Allow list unless it is there; *used grows. */
static void gh_route_allow_add(const struct gh_route *rt, char *allow, size_t allow_cap,
                               size_t *used)
{
    int w;

    if (strstr(allow, rt->method) != NULL || *used >= allow_cap)
        return;
    w = snprintf(allow + *used, allow_cap - *used, "%s%s", *used ? ", " : "", rt->method);
    if (w > 0)
        *used += (size_t)w;
    if (strcmp(rt->method, "GET") == 0 && *used < allow_cap) {
        w = snprintf(allow + *used, allow_cap - *used, ", HEAD");
        if (w > 0)
            *used += (size_t)w;
    }
}

/* See route.h. Thread-safe (the table is not changed while served). */
enum gh_status gh_route_find(const struct gh_route *routes, size_t n, const char *method,
                             const char *path, const struct gh_route **out_route, char *allow,
                             size_t allow_cap)
{
    const struct gh_route *first = NULL;
    size_t used = 0;

    *out_route = NULL;
    if (allow_cap > 0)
        allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const struct gh_route *rt = &routes[i];
        if (!gh_route_path_matches(rt, path))
            continue;
        if (gh_route_method_matches(rt, method)) {
            *out_route = rt;
            return GH_OK;
        }
        if (first == NULL)
            first = rt;
        gh_route_allow_add(rt, allow, allow_cap, &used);
    }
    if (first == NULL)
        return GH_E_NOT_FOUND;
    *out_route = first;
    return GH_E_METHOD;
}

/* See route.h. An any-method row is a family's catch-all, which names no method of its own. */
void gh_route_allow(const struct gh_route *routes, size_t n, const char *path, char *allow,
                    size_t allow_cap)
{
    size_t used = 0;

    if (allow_cap == 0)
        return;
    allow[0] = '\0';
    for (size_t i = 0; i < n; i++)
        if (strcmp(routes[i].method, "*") != 0 && gh_route_path_matches(&routes[i], path))
            gh_route_allow_add(&routes[i], allow, allow_cap, &used);
}
