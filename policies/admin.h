/*
 * admin.h - the admin API (/admin/v1, bearer GATEHOUSE_ADMIN_TOKEN; reference in
 * docs/admin-api.md): access groups, identities and IdP groups (read-only), links and their
 * states, policy reload. Errors are JSON {"error","message"}; 401 carries an RFC 6750
 * challenge.
 */
#ifndef POLICY_ADMIN_H
#define POLICY_ADMIN_H

#include "core/core.h"
#include "store/store.h"

struct policy_engine;
struct store;
struct gh_authfail;

/* A SCIM filter parser (scim/filter.h scim_filter_parse, handed in by the daemon: policies/ does
 * not include scim/): text -> the store's query tree, allocated in a. */
typedef enum gh_status (*policy_admin_filter_fn)(struct gh_arena *a, enum store_kind kind,
                                                 const char *text, struct store_filter **out,
                                                 struct gh_err *err);

/* Signed-in administrators (the admin page): the daemon hands in authz/'s session check, since
 * policies/ cannot include authz/. check runs for a request without an Authorization header:
 * GH_E_NOT_FOUND when it carries no session cookie either (the bearer rules then apply), GH_OK
 * for a live session of a current administrator (and, for an unsafe method, the right CSRF
 * token and Origin). Any other status was already answered by check itself (401/403 JSON, no
 * bearer challenge). ctx is the check's own (borrowed for the server's life). */
typedef enum gh_status (*policy_admin_session_fn)(void *ctx, struct gh_req *r, struct gh_err *err);
struct policy_admin_session {
    policy_admin_session_fn check;
    void *ctx;
};

/* What the admin route's handlers use (its gh_req_ctx). Built by the daemon; every pointer
 * borrowed for the server's life. */
struct policy_admin_ctx {
    struct policy_engine *policy;        /* access-group changes go through the engine */
    struct store *store;                 /* IdP group names and links, for the listing */
    const struct gh_secret_set *token;   /* GATEHOUSE_ADMIN_TOKEN (count 0: the API is closed) */
    struct gh_authfail *authfail;        /* failed authentications; NULL: not counted */
    policy_admin_filter_fn filter_parse; /* filter= of the directory lists; NULL: refused */
    const struct policy_admin_session *session; /* the sign-in session check; NULL: bearer only */
};

/* The admin route's credential (gh_auth_fn): bearer GATEHOUSE_ADMIN_TOKEN, or (without an
 * Authorization header) a sign-in session through ctx->session. Run by the HTTP layer before
 * the body is read; policy_admin_handle assumes it passed. */
enum gh_status policy_admin_auth(struct gh_req *r, struct gh_err *err);
/* /admin/v1/access-groups[/{name}]: GET lists or reads one, POST creates (201), PUT replaces an
 * admin-created group's grants (200), DELETE removes one (204). */
enum gh_status policy_admin_handle(struct gh_req *r, struct gh_err *err);
/* /admin/v1/identities[/{id}] and /admin/v1/idp-groups[/{id}]: GET (filter, startIndex,
 * count); every other method 405 (they belong to Entra ID). */
enum gh_status policy_admin_handle_identities(struct gh_req *r, struct gh_err *err);
enum gh_status policy_admin_handle_idp_groups(struct gh_req *r, struct gh_err *err);
/* GET /admin/v1/links[?state=…]: every access group's and IdP group's link state. */
enum gh_status policy_admin_handle_links(struct gh_req *r, struct gh_err *err);
/* POST /admin/v1/policy/reload: re-read GATEHOUSE_POLICY (400 with the parse error; the
 * running policy stays). */
enum gh_status policy_admin_handle_reload(struct gh_req *r, struct gh_err *err);
void policy_admin_render_error(struct gh_req *r, const struct gh_err *err);
/* POST /admin/v1/policy/dry-run (dryrun.c): the body is a candidate policy file; 200 with the
 * users who would gain or lose which (dataset, action) and a summary, computed against the live
 * directory; nothing is applied. 400 names where the file is wrong. */
enum gh_status policy_admin_dry_run(struct gh_req *r, struct gh_err *err);

#endif
