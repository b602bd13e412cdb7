/*
 * admin.h - the admin API for access groups (/admin/v1/access-groups), bearer
 * GATEHOUSE_ADMIN_TOKEN. Errors are JSON {"error","message"}; 401 carries an RFC 6750
 * challenge.
 */
#ifndef POLICY_ADMIN_H
#define POLICY_ADMIN_H

#include "core/core.h"

struct policy_engine;
struct store;
struct gh_authfail;

/* What the admin route's handlers use (its gh_req_ctx). Built by the daemon; every pointer
 * borrowed for the server's life. */
struct policy_admin_ctx {
    struct policy_engine *policy;      /* access-group changes go through the engine */
    struct store *store;               /* IdP group names and links, for the listing */
    const struct gh_secret_set *token; /* GATEHOUSE_ADMIN_TOKEN (count 0: the API is closed) */
    struct gh_authfail *authfail;      /* failed authentications; NULL: not counted */
};

/* The admin route's credential (gh_auth_fn): bearer GATEHOUSE_ADMIN_TOKEN. Run by the HTTP
 * layer before the body is read; policy_admin_handle assumes it passed. */
enum gh_status policy_admin_auth(struct gh_req *r, struct gh_err *err);
/* GET lists, POST creates (201), under /admin/v1/access-groups; DELETE /admin/v1/access-groups/
 * {name} removes an admin-created group (204). */
enum gh_status policy_admin_handle(struct gh_req *r, struct gh_err *err);
void policy_admin_render_error(struct gh_req *r, const struct gh_err *err);
/* POST /admin/v1/policy/dry-run (dryrun.c): the body is a candidate policy file; 200 with the
 * users who would gain or lose which (dataset, action) and a summary, computed against the live
 * directory; nothing is applied. 400 names where the file is wrong. */
enum gh_status policy_admin_dry_run(struct gh_req *r, struct gh_err *err);

#endif
