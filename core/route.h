/*
 * route.h - the shape of a route table and its matching (nginx command table style).
 *
 * The table itself belongs to whoever composes the daemon (sidecar/router.c) and is handed to the
 * server at start (http.h gh_server_start); the server matches each request against it here.
 * A handler answers with gh_reply*() and returns GH_OK, or returns an error status without
 * replying; the route's error renderer then answers in the route family's own protocol (SCIM
 * Error JSON, RFC 6750 challenge, plain JSON).
 */
#ifndef GH_ROUTE_H
#define GH_ROUTE_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>

struct gh_req;

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
    long body_cap; /* bytes (caps.h); 0: the server's max_body. Never above it */
    /* Where the route family's context is: the request's gh_req_ctx() is *ctx, read when the
     * request arrives (so the table can be static and the context set before the server
     * starts). NULL: the family has none. Borrowed; it outlives the server. */
    void *const *ctx;
};

/* ---- matching (thread-safe; the table is not changed while served) ---- */
/* Find the route of routes[0..n) for (method, path). GET rows also answer HEAD. GH_OK:
 * *out_route is it. GH_E_NOT_FOUND: no route has this path (*out_route NULL). GH_E_METHOD: the
 * path exists for other methods; *out_route is the first route with this path (for its error
 * renderer) and `allow` holds "GET, HEAD, POST". */
enum gh_status gh_route_find(const struct gh_route *routes, size_t n, const char *method,
                             const char *path, const struct gh_route **out_route, char *allow,
                             size_t allow_cap);
/* The methods rows of routes[0..n) other than the any-method ("*") ones serve on path, as an
 * Allow value ("GET, HEAD, POST"); "" when none does. */
void gh_route_allow(const struct gh_route *routes, size_t n, const char *path, char *allow,
                    size_t allow_cap);
/* Does path fall under rt's pattern (exact, or prefix + "/"), by the same rule as lookup? */
bool gh_route_path_matches(const struct gh_route *rt, const char *path);

#endif
