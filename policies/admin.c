/*
 * admin.c - the admin API's credential and error form, /admin/v1/access-groups (list, read,
 * create, replace, delete: only admin-created groups change here; file-declared ones answer
 * 409 naming the policy file) and POST /admin/v1/policy/reload. Every access group is shown
 * with its grants, source, link and link state (admin_links.c). Identities and IdP groups are
 * in admin_directory.c. Access-group changes go through the engine, which rebuilds the
 * snapshot decisions read.
 */
#include "policies/admin.h"
#include "core/core.h"
#include "policies/admin_int.h"
#include "policies/engine.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define POLICY_ADMIN_PREFIX "/admin/v1/access-groups"

/* Why: the admin API changes who may decrypt what; it answers nothing without the secret. The
 * secret is checked first (the right one always passes); a wrong one counts against the client
 * address: 401, then 429 with Retry-After (core/authfail.c). The route table names this as the
 * admin route's credential (sidecar/router.c): the HTTP layer runs it before any body byte is
 * read, and policy_admin_handle does not run it again. */
enum gh_status policy_admin_auth(struct gh_req *r, struct gh_err *err)
{
    const struct policy_admin_ctx *px = gh_req_ctx(r);
    struct gh_err why = {0};
    const char *tok;
    size_t len;
    enum gh_status st;

    /* A browser signed in to the admin page sends its session cookie and no Authorization;
     * a request with Authorization is decided by the bearer token alone (break-glass). */
    if (px->session != NULL && gh_req_header(r, "Authorization") == NULL) {
        st = px->session->check(px->session->ctx, r, err);
        if (st != GH_E_NOT_FOUND)
            return st;
        gh_err_clear(err);
    }
    st = gh_req_bearer(r, &tok, &len, &why);

    if (st == GH_OK && px->token->count == 0)
        st = GH_ERR(&why, GH_E_UNAUTHORIZED, "GATEHOUSE_ADMIN_TOKEN is not set");
    else if (st == GH_OK && !gh_secret_set_matches(px->token, tok, len))
        st = GH_ERR(&why, GH_E_UNAUTHORIZED, "wrong admin token");
    if (st)
        st = gh_authfail_reject(px->authfail, r, GH_AUTHFAIL_ADMIN, &why, err);
    return st;
}

struct policy_admin_list {
    cJSON *arr;
    struct policy_admin_names *names;
    const char *only_key; /* NULL: all */
};

static void policy_admin_row(void *ctx, const struct store_access_group *ag)
{
    struct policy_admin_list *l = ctx;

    if (l->only_key != NULL && strcmp(l->only_key, ag->key) != 0)
        return;
    cJSON_AddItemToArray(l->arr, policy_admin_access_group_json(ag, l->names));
}

static enum gh_status policy_admin_list(struct gh_req *r, const char *only_key, unsigned status,
                                        struct gh_err *err)
{
    const struct policy_admin_ctx *px = gh_req_ctx(r);
    struct policy_admin_names names = {0};
    struct policy_admin_list l = {cJSON_CreateArray(), &names, only_key};
    enum gh_status st;

    st = policy_admin_names_load(px->store, &names, err);
    if (st)
        goto out;
    st = store_access_groups(px->store, policy_admin_row, &l, err);
    if (st)
        goto out;
    if (only_key != NULL) {
        cJSON *one = cJSON_DetachItemFromArray(l.arr, 0);
        if (one == NULL) {
            st = GH_ERR(err, GH_E_NOT_FOUND, "no such access group");
            goto out;
        }
        gh_reply_json(r, status, one);
    } else {
        cJSON *body = cJSON_CreateObject();
        cJSON_AddItemToObject(body, "access_groups", l.arr);
        l.arr = NULL; /* body owns it now */
        gh_reply_json(r, status, body);
    }
out:
    policy_admin_names_free(&names);
    cJSON_Delete(l.arr);
    return st;
}

static bool policy_admin_is_get(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

/* POST (create) and PUT (replace): the reply is the group as stored, linked or not. */
static enum gh_status policy_admin_write(struct gh_req *r, const char *name, struct gh_err *err)
{
    const struct policy_admin_ctx *px = gh_req_ctx(r);
    char key[POLICY_NAME_MAX + 1];
    cJSON *body = NULL;
    const cJSON *n;
    enum gh_status st;

    st = gh_req_json(r, &body, err);
    if (st)
        goto out;
    if (name == NULL)
        st = policy_engine_group_create(px->policy, body, err);
    else
        st = policy_engine_group_update(px->policy, name, body, err);
    if (st)
        goto out;
    n = cJSON_GetObjectItemCaseSensitive(body, "name");
    policy_name_key(cJSON_IsString(n) ? n->valuestring : name, key, sizeof(key));
    st = policy_admin_list(r, key, name == NULL ? 201 : 200, err);
out:
    cJSON_Delete(body);
    return st;
}

/* See admin.h. */
enum gh_status policy_admin_handle(struct gh_req *r, struct gh_err *err)
{
    const struct policy_admin_ctx *px = gh_req_ctx(r);
    const char *path = gh_req_path(r), *method = gh_req_method(r);
    const char *name = NULL;
    char key[POLICY_NAME_MAX + 1], longer[POLICY_NAME_MAX + 2];
    enum gh_status st;

    if (strlen(path) > strlen(POLICY_ADMIN_PREFIX) + 1)
        name = path + strlen(POLICY_ADMIN_PREFIX) + 1;
    /* Why: a key is cut at POLICY_NAME_MAX bytes; a longer name in the path would otherwise be
     * cut to the key of another group and read, replace or delete that one */
    if (name != NULL && policy_name_key(name, longer, sizeof(longer)) > POLICY_NAME_MAX)
        return GH_ERR(err, GH_E_NOT_FOUND, "no such access group (name longer than %d bytes)",
                      POLICY_NAME_MAX);
    if (name == NULL && policy_admin_is_get(method))
        return policy_admin_list(r, NULL, 200, err);
    if (name == NULL && strcmp(method, "POST") == 0)
        return policy_admin_write(r, NULL, err);
    if (name != NULL && policy_admin_is_get(method)) {
        policy_name_key(name, key, sizeof(key));
        return policy_admin_list(r, key, 200, err);
    }
    if (name != NULL && strcmp(method, "PUT") == 0)
        return policy_admin_write(r, name, err);
    if (name != NULL && strcmp(method, "DELETE") == 0) {
        st = policy_engine_group_delete(px->policy, name, err);
        if (st == GH_OK)
            gh_reply(r, 204, NULL, "", 0);
        return st;
    }
    gh_reply_header(r, "Allow", name == NULL ? "GET, HEAD, POST" : "GET, HEAD, PUT, DELETE");
    return GH_ERR(err, GH_E_METHOD, "method not allowed on this path");
}

/* See admin.h. Re-reads GATEHOUSE_POLICY now (as SIGHUP does) and says what is in force. A
 * file that does not parse leaves the running policy in place: 400 with the parser's message,
 * which names the member at fault (access_groups[0].grants[1].actions: ...). */
enum gh_status policy_admin_handle_reload(struct gh_req *r, struct gh_err *err)
{
    const struct policy_admin_ctx *px = gh_req_ctx(r);
    const char *path = policy_engine_path(px->policy);
    struct policy_snapshot *snap;
    const struct policy_doc *doc;
    size_t nfile = 0, nadmin = 0;
    cJSON *body;
    enum gh_status st;

    if (path == NULL)
        return GH_ERR(err, GH_E_CONFLICT,
                      "no policy file is configured (GATEHOUSE_POLICY): nothing to reload");
    st = policy_engine_reload(px->policy, err);
    if (st) {
        char q[GH_ERR_MSG_MAX + 8];
        gh_log(GH_LOG_WARN, "policy",
               "\"policy reload (admin API) failed, keeping the running policy\" err=%s",
               gh_log_q(q, sizeof(q), err != NULL ? err->msg : ""));
        return st;
    }
    snap = policy_engine_acquire(px->policy);
    doc = policy_snapshot_doc(snap);
    for (size_t i = 0; i < policy_snapshot_group_count(snap); i++) {
        if (policy_snapshot_group_at(snap, i)->source == POLICY_SOURCE_FILE)
            nfile++;
        else
            nadmin++;
    }
    body = cJSON_CreateObject();
    cJSON_AddBoolToObject(body, "reloaded", true);
    cJSON_AddStringToObject(body, "policy_file", path);
    cJSON_AddNumberToObject(body, "file_access_groups", (double)nfile);
    cJSON_AddNumberToObject(body, "admin_access_groups", (double)nadmin);
    cJSON_AddNumberToObject(body, "default_grants", (double)doc->ndefaults);
    cJSON_AddNumberToObject(body, "routes", (double)doc->nroutes);
    /* the revision now in force: compare it with the dry run's policy_revision.candidate */
    cJSON_AddStringToObject(body, "policy_revision", policy_snapshot_revision(snap));
    policy_snapshot_release(snap);
    gh_reply_json(r, 200, body);
    return GH_OK;
}

/* See admin.h: plain JSON errors; 401 with an RFC 6750 challenge (gh_reply_bearer_challenge). */
void policy_admin_render_error(struct gh_req *r, const struct gh_err *err)
{
    /* the session check answers its own refusals (JSON, no bearer challenge) */
    if (gh_req_replied(r))
        return;
    /* RFC 6750 §3.1: realm only without credentials, invalid_token for a wrong token */
    if (err->status == GH_E_UNAUTHORIZED)
        gh_reply_bearer_challenge(r, "gatehouse-admin", err, NULL);
    gh_reply_error(r, err);
}
