/*
 * admin_links.c - the links between access groups and IdP groups as the admin API shows them
 * (GET /admin/v1/links, and the link part of every access group): linked, renamed (the store pins
 * a link to the SCIM group id, so it survives an Entra rename), ambiguous (several IdP groups
 * have the key: none is linked), near_match (same skeleton: inner whitespace, punctuation,
 * diacritics or width differ), unlinked_access_group, unlinked_idp_group. Linking itself is
 * the store's job (its triggers); this file only reads and classifies.
 */
#include "core/core.h"
#include "policies/admin.h"
#include "policies/admin_int.h"
#include "policies/policy.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

/* See admin_int.h. */
void policy_admin_names_add(void *ctx, const char *id, const char *display_name)
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
    g->named = false;
}

/* See admin_int.h. */
enum gh_status policy_admin_names_load(struct store *s, struct policy_admin_names *out,
                                       struct gh_err *err)
{
    memset(out, 0, sizeof(*out));
    return store_group_names(s, policy_admin_names_add, out, err);
}

/* See admin_int.h. */
void policy_admin_names_free(struct policy_admin_names *ns)
{
    for (size_t i = 0; i < ns->n; i++) {
        free(ns->v[i].id);
        free(ns->v[i].name);
        free(ns->v[i].key);
        free(ns->v[i].skel);
    }
    free(ns->v);
    memset(ns, 0, sizeof(*ns));
}

/* See admin_int.h. */
const char *policy_link_state_name(enum policy_link_state s)
{
    switch (s) {
    case POLICY_LINK_LINKED:
        return "linked";
    case POLICY_LINK_RENAMED:
        return "renamed";
    case POLICY_LINK_AMBIGUOUS:
        return "ambiguous";
    case POLICY_LINK_NEAR_MATCH:
        return "near_match";
    case POLICY_LINK_UNLINKED_AG:
        return "unlinked_access_group";
    case POLICY_LINK_UNLINKED_IDP:
        return "unlinked_idp_group";
    }
    return "unknown";
}

/* See admin_int.h. A linked access group keeps its state whatever other groups appear (the pin
 * decides); the same-key groups beside it are listed so an operator sees the Entra duplicate.
 * An unlinked one is ambiguous only with two or more same-key groups: a single one is pinned to
 * another access group (renamed into this key), which the store never takes over. */
enum policy_link_state policy_admin_link_state(const struct policy_admin_names *ns, const char *key,
                                               const char *name, const char *group_id,
                                               const char *group_name, size_t *amb,
                                               size_t *out_namb, size_t *near, size_t *out_nnear)
{
    char skel[POLICY_NAME_MAX * 3 + 1], gkey[POLICY_NAME_MAX * 3 + 1];
    size_t namb = 0, nnear = 0;

    policy_name_skeleton(name, skel, sizeof(skel));
    for (size_t i = 0; i < ns->n; i++) {
        const struct policy_admin_group_name *g = &ns->v[i];
        if (group_id != NULL && strcmp(g->id, group_id) == 0)
            continue;
        if (strcmp(g->key, key) == 0)
            amb[namb++] = i;
        else if (strcmp(g->skel, skel) == 0)
            near[nnear++] = i;
    }
    *out_namb = namb;
    *out_nnear = nnear;
    if (group_id != NULL) {
        policy_name_key(group_name != NULL ? group_name : "", gkey, sizeof(gkey));
        return strcmp(gkey, key) == 0 ? POLICY_LINK_LINKED : POLICY_LINK_RENAMED;
    }
    if (namb >= 2)
        return POLICY_LINK_AMBIGUOUS;
    if (nnear > 0)
        return POLICY_LINK_NEAR_MATCH;
    return POLICY_LINK_UNLINKED_AG;
}

/* See admin_int.h. */
cJSON *policy_admin_ref(const char *id, const char *name)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "displayName", name);
    return o;
}

/* See admin_int.h. */
cJSON *policy_admin_access_group_json(const struct store_access_group *ag,
                                      struct policy_admin_names *ns)
{
    size_t *amb = gh_xcalloc(ns->n + 1, sizeof(size_t));
    size_t *near = gh_xcalloc(ns->n + 1, sizeof(size_t));
    size_t namb = 0, nnear = 0;
    enum policy_link_state state;
    cJSON *o = cJSON_CreateObject(), *a, *n;

    state = policy_admin_link_state(ns, ag->key, ag->name, ag->group_id, ag->group_name, amb, &namb,
                                    near, &nnear);
    cJSON_AddStringToObject(o, "name", ag->name);
    cJSON_AddStringToObject(o, "key", ag->key);
    cJSON_AddStringToObject(o, "source", ag->source);
    cJSON_AddItemToObject(o, "grants", cJSON_Parse(ag->grants));
    cJSON_AddStringToObject(o, "created", ag->created);
    cJSON_AddStringToObject(o, "link_state", policy_link_state_name(state));
    if (ag->group_id != NULL) {
        cJSON_AddItemToObject(o, "idp_group", policy_admin_ref(ag->group_id, ag->group_name));
        cJSON_AddStringToObject(o, "linked", ag->linked);
        for (size_t i = 0; i < ns->n; i++) {
            if (strcmp(ns->v[i].id, ag->group_id) == 0)
                ns->v[i].named = true;
        }
    } else {
        cJSON_AddNullToObject(o, "idp_group");
    }
    a = cJSON_AddArrayToObject(o, "ambiguous");
    n = cJSON_AddArrayToObject(o, "near_matches");
    for (size_t i = 0; i < namb; i++) {
        cJSON_AddItemToArray(a, policy_admin_ref(ns->v[amb[i]].id, ns->v[amb[i]].name));
        ns->v[amb[i]].named = true;
    }
    for (size_t i = 0; i < nnear; i++) {
        cJSON_AddItemToArray(n, policy_admin_ref(ns->v[near[i]].id, ns->v[near[i]].name));
        ns->v[near[i]].named = true;
    }
    free(amb);
    free(near);
    return o;
}

struct policy_admin_links {
    struct policy_admin_names *names;
    cJSON *arr;
    const char *only_state; /* NULL: every state */
};

static void policy_admin_links_row(void *ctx, const struct store_access_group *ag)
{
    struct policy_admin_links *l = ctx;
    cJSON *g = policy_admin_access_group_json(ag, l->names);
    cJSON *e = cJSON_CreateObject(), *ref = cJSON_CreateObject();
    const char *state = cJSON_GetObjectItemCaseSensitive(g, "link_state")->valuestring;

    cJSON_AddStringToObject(e, "state", state);
    cJSON_AddStringToObject(ref, "name", ag->name);
    cJSON_AddStringToObject(ref, "key", ag->key);
    cJSON_AddStringToObject(ref, "source", ag->source);
    cJSON_AddItemToObject(e, "access_group", ref);
    cJSON_AddItemToObject(e, "idp_group", cJSON_DetachItemFromObject(g, "idp_group"));
    if (ag->linked != NULL)
        cJSON_AddStringToObject(e, "linked", ag->linked);
    cJSON_AddItemToObject(e, "ambiguous", cJSON_DetachItemFromObject(g, "ambiguous"));
    cJSON_AddItemToObject(e, "near_matches", cJSON_DetachItemFromObject(g, "near_matches"));
    if (l->only_state != NULL && strcmp(l->only_state, state) != 0)
        cJSON_Delete(e);
    else
        cJSON_AddItemToArray(l->arr, e);
    cJSON_Delete(g); /* state points into it */
}

static bool policy_admin_state_known(const char *s)
{
    for (int i = POLICY_LINK_LINKED; i <= POLICY_LINK_UNLINKED_IDP; i++) {
        if (strcmp(s, policy_link_state_name((enum policy_link_state)i)) == 0)
            return true;
    }
    return false;
}

/* See admin.h. One entry per access group (its state, its IdP group, the IdP groups it is
 * ambiguous with or near), then one per IdP group that no entry names (unlinked_idp_group). */
enum gh_status policy_admin_handle_links(struct gh_req *r, struct gh_err *err)
{
    const struct policy_admin_ctx *px = gh_req_ctx(r);
    struct policy_admin_names names = {0};
    struct policy_admin_links l = {&names, cJSON_CreateArray(), gh_req_query(r, "state")};
    const char *unl = policy_link_state_name(POLICY_LINK_UNLINKED_IDP);
    cJSON *body;
    enum gh_status st;

    if (l.only_state != NULL && !policy_admin_state_known(l.only_state)) {
        char q[80];
        st = GH_ERR(err, GH_E_INVALID,
                    "state %s is not one of linked, renamed, ambiguous, near_match, "
                    "unlinked_access_group, unlinked_idp_group",
                    gh_log_q(q, sizeof(q), l.only_state));
        goto out;
    }
    st = policy_admin_names_load(px->store, &names, err);
    if (st)
        goto out;
    st = store_access_groups(px->store, policy_admin_links_row, &l, err);
    if (st)
        goto out;
    for (size_t i = 0; i < names.n; i++) {
        cJSON *e;
        if (names.v[i].named || (l.only_state != NULL && strcmp(l.only_state, unl) != 0))
            continue;
        e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "state", unl);
        cJSON_AddNullToObject(e, "access_group");
        cJSON_AddItemToObject(e, "idp_group", policy_admin_ref(names.v[i].id, names.v[i].name));
        cJSON_AddItemToArray(l.arr, e);
    }
    body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "links", l.arr);
    l.arr = NULL; /* body owns it now */
    gh_reply_json(r, 200, body);
out:
    policy_admin_names_free(&names);
    cJSON_Delete(l.arr);
    return st;
}
