/*
 * admin.c - /admin/v1/access-groups: what the access groups are, where they come from, which
 * IdP group each is linked to, and which IdP groups were not linked because they are ambiguous
 * (another group has the same link key) or only near matches (same skeleton: differences of
 * inner whitespace, punctuation, diacritics or width). Linking itself is the store's job.
 */
#include "policies/admin.h"
#include "core/core.h"
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
    enum gh_status st = gh_req_bearer(r, &tok, &len, &why);

    if (st == GH_OK && px->token->count == 0)
        st = GH_ERR(&why, GH_E_UNAUTHORIZED, "GATEHOUSE_ADMIN_TOKEN is not set");
    else if (st == GH_OK && !gh_secret_set_matches(px->token, tok, len))
        st = GH_ERR(&why, GH_E_UNAUTHORIZED, "wrong admin token");
    if (st)
        st = gh_authfail_reject(px->authfail, r, GH_AUTHFAIL_ADMIN, &why, err);
    return st;
}

struct policy_admin_group_name {
    char *id, *name, *key, *skel;
};

struct policy_admin_names {
    struct policy_admin_group_name *v;
    size_t n, cap;
};

static void policy_admin_collect(void *ctx, const char *id, const char *display_name)
{
    struct policy_admin_names *ns = ctx;
    char buf[POLICY_NAME_MAX * 3 + 1];
    struct policy_admin_group_name *g;

    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? ns->cap * 2 : 64;
        ns->v = gh_xrealloc(ns->v, ns->cap * sizeof(*ns->v));
    }
    g = &ns->v[ns->n++];
    g->id = gh_xstrdup(id);
    g->name = gh_xstrdup(display_name);
    policy_name_key(display_name, buf, sizeof(buf));
    g->key = gh_xstrdup(buf);
    policy_name_skeleton(display_name, buf, sizeof(buf));
    g->skel = gh_xstrdup(buf);
}

static void policy_admin_names_free(struct policy_admin_names *ns)
{
    for (size_t i = 0; i < ns->n; i++) {
        free(ns->v[i].id);
        free(ns->v[i].name);
        free(ns->v[i].key);
        free(ns->v[i].skel);
    }
    free(ns->v);
}

struct policy_admin_list {
    cJSON *arr;
    const struct policy_admin_names *names;
    const char *only_key; /* NULL: all */
};

static cJSON *policy_admin_ref(const char *id, const char *name)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "displayName", name);
    return o;
}

static void policy_admin_row(void *ctx, const struct store_access_group *ag)
{
    struct policy_admin_list *l = ctx;
    char skel[POLICY_NAME_MAX * 3 + 1];
    cJSON *o, *amb, *near;

    if (l->only_key != NULL && strcmp(l->only_key, ag->key) != 0)
        return;
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", ag->name);
    cJSON_AddStringToObject(o, "key", ag->key);
    cJSON_AddStringToObject(o, "source", ag->source);
    cJSON_AddItemToObject(o, "grants", cJSON_Parse(ag->grants));
    cJSON_AddStringToObject(o, "created", ag->created);
    if (ag->group_id != NULL) {
        cJSON_AddItemToObject(o, "idp_group", policy_admin_ref(ag->group_id, ag->group_name));
        cJSON_AddStringToObject(o, "linked", ag->linked);
    } else {
        cJSON_AddNullToObject(o, "idp_group");
    }
    amb = cJSON_AddArrayToObject(o, "ambiguous");
    near = cJSON_AddArrayToObject(o, "near_matches");
    policy_name_skeleton(ag->name, skel, sizeof(skel));
    for (size_t i = 0; i < l->names->n; i++) {
        const struct policy_admin_group_name *g = &l->names->v[i];
        if (ag->group_id != NULL && strcmp(g->id, ag->group_id) == 0)
            continue;
        if (strcmp(g->key, ag->key) == 0)
            cJSON_AddItemToArray(amb, policy_admin_ref(g->id, g->name));
        else if (strcmp(g->skel, skel) == 0)
            cJSON_AddItemToArray(near, policy_admin_ref(g->id, g->name));
    }
    cJSON_AddItemToArray(l->arr, o);
}

static enum gh_status policy_admin_list(struct gh_req *r, const char *only_key, unsigned status,
                                        struct gh_err *err)
{
    const struct policy_admin_ctx *px = gh_req_ctx(r);
    struct policy_admin_names names = {0};
    struct policy_admin_list l = {cJSON_CreateArray(), &names, only_key};
    enum gh_status st;

    st = store_group_names(px->store, policy_admin_collect, &names, err);
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

/* See admin.h. */
enum gh_status policy_admin_handle(struct gh_req *r, struct gh_err *err)
{
    const struct policy_admin_ctx *px = gh_req_ctx(r);
    const char *path = gh_req_path(r), *method = gh_req_method(r);
    const char *name = NULL;
    char key[POLICY_NAME_MAX + 1];
    enum gh_status st;

    if (strlen(path) > strlen(POLICY_ADMIN_PREFIX) + 1)
        name = path + strlen(POLICY_ADMIN_PREFIX) + 1;
    if (name == NULL && strcmp(method, "GET") == 0)
        return policy_admin_list(r, NULL, 200, err);
    if (name == NULL && strcmp(method, "POST") == 0) {
        cJSON *body = NULL;
        const cJSON *n;
        st = gh_req_json(r, &body, err);
        if (st == GH_OK)
            st = policy_engine_group_create(px->policy, body, err);
        if (st == GH_OK) {
            n = cJSON_GetObjectItemCaseSensitive(body, "name");
            policy_name_key(n->valuestring, key, sizeof(key));
            st = policy_admin_list(r, key, 201, err);
        }
        cJSON_Delete(body);
        return st;
    }
    if (name != NULL && strcmp(method, "GET") == 0) {
        policy_name_key(name, key, sizeof(key));
        return policy_admin_list(r, key, 200, err);
    }
    if (name != NULL && strcmp(method, "DELETE") == 0) {
        st = policy_engine_group_delete(px->policy, name, err);
        if (st == GH_OK)
            gh_reply(r, 204, NULL, "", 0);
        return st;
    }
    gh_reply_header(r, "Allow", name == NULL ? "GET, POST" : "GET, DELETE");
    return GH_ERR(err, GH_E_METHOD, "method not allowed on this path");
}

/* See admin.h: plain JSON errors; 401 with an RFC 6750 challenge (gh_reply_bearer_challenge). */
void policy_admin_render_error(struct gh_req *r, const struct gh_err *err)
{
    /* RFC 6750 §3.1: realm only without credentials, invalid_token for a wrong token */
    if (err->status == GH_E_UNAUTHORIZED)
        gh_reply_bearer_challenge(r, "gatehouse-admin", err, NULL);
    gh_reply_error(r, err);
}
