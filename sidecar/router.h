/*
 * router.h - the declarative route table (nginx command table style).
 *
 * A handler answers with gh_reply*() and returns GH_OK, or returns an error status without
 * replying; the route's error renderer then answers in the route family's own protocol (SCIM
 * Error JSON, RFC 6750 challenge, plain JSON).
 */
#ifndef GH_ROUTER_H
#define GH_ROUTER_H

#include "err.h"
#include "http.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum gh_status (*gh_handler_fn)(struct gh_req *r, struct gh_err *err);
typedef void (*gh_error_render_fn)(struct gh_req *r, const struct gh_err *err);
/* Decide the request's credential from its headers alone (it runs before any body byte is
 * read). GH_OK lets the request on; an error status is answered at once through the route's
 * renderer, and the connection is closed. May keep what it verified on the request
 * (gh_req_auth_set) for the handler. */
typedef enum gh_status (*gh_auth_fn)(struct gh_req *r, struct gh_err *err);

enum gh_route_match {
    GH_ROUTE_EXACT,  /* the path equals pattern */
    GH_ROUTE_PREFIX, /* the path equals pattern or starts with pattern + "/" */
    /* As above, but the pattern's last segment matches in any case ("/scim/v2/users"): SCIM
     * endpoint names, which Microsoft's validator sends in lower case. The rest is exact. */
    GH_ROUTE_EXACT_NAME_ANY_CASE,
    GH_ROUTE_PREFIX_NAME_ANY_CASE,
};

struct gh_route {
    const char *method; /* "GET", "POST", ..., or "*" for any */
    const char *pattern;
    enum gh_route_match match;
    gh_handler_fn handler;
    gh_error_render_fn render_error; /* NULL: gh_reply_error */
    const char *label;               /* metrics label, e.g. "scim" */
    /* NULL only for the public ops routes (a unit test holds every other route to one) */
    gh_auth_fn auth;
    long body_cap; /* bytes (caps.h); 0: GATEHOUSE_MAX_BODY. Never above GATEHOUSE_MAX_BODY */
};

/* ---- dispatch ---- */
/* Find the route for (method, path). GH_OK: *out_route is it. GH_E_NOT_FOUND: no route has this
 * path (*out_route NULL). GH_E_METHOD: the path exists for other methods; *out_route is the
 * first route with this path (for its error renderer) and `allow` holds "GET, POST". */
enum gh_status gh_router_find(const char *method, const char *path,
                              const struct gh_route **out_route, char *allow, size_t allow_cap);
/* Does path fall under rt's pattern (exact, or prefix + "/"), by the same rule as lookup? */
bool gh_route_path_matches(const struct gh_route *rt, const char *path);
/* The whole table (static), for metrics. */
const struct gh_route *gh_router_table(size_t *out_count);

#endif
