/*
 * router.h - the daemon's route table (router.c): one row per (method, path) it serves, handed
 * to the server at start. The row's shape and the matching are core's (core/route.h).
 */
#ifndef GH_ROUTER_H
#define GH_ROUTER_H

#include "core/core.h"

#include <stddef.h>

struct scim_ctx;
struct authz_ctx;
struct policy_admin_ctx;
struct authz_admin_ctx;
struct authz_authzen_ctx;
struct gh_console_ctx;
struct authz_signin;

/* The route families' contexts, each borrowed until the server has stopped. */
struct gh_router_ctx {
    struct scim_ctx *scim;
    struct authz_ctx *authz;
    struct policy_admin_ctx *admin;
    struct authz_admin_ctx *explain; /* /admin/v1/explain */
    struct authz_authzen_ctx *authzen;
    struct gh_console_ctx *console; /* /admin/v1/status, /admin/v1/settings */
    struct authz_signin *signin;    /* /admin/login, /callback, /logout; NULL: not configured */
};

/* Set the contexts the table's rows hand their requests (gh_req_ctx). Start-up only, before
 * the server starts. */
void gh_router_bind(const struct gh_router_ctx *ctx);
/* The whole table (static storage), for gh_server_start and gh_metrics_init. */
const struct gh_route *gh_router_table(size_t *out_count);
/* gh_route_find over this table (route.h). */
enum gh_status gh_router_find(const char *method, const char *path,
                              const struct gh_route **out_route, char *allow, size_t allow_cap);

#endif
