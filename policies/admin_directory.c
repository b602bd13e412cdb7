/*
 * admin_directory.c - /admin/v1/identities and /admin/v1/idp-groups: what Entra ID provisioned
 * over SCIM, read-only. Lists take a SCIM filter (RFC 7644 §3.4.2.2, parsed by the parser the
 * daemon hands in: policies/ does not include scim/) and 1-based startIndex/count paging
 * (§3.4.2.4; count capped at GH_CAP_SCIM_COUNT). Each user is shown with the IdP groups it is a
 * direct member of and the access groups those link to; each IdP group with its members and its
 * access group. Every write method answers 405: these belong to Entra ID and change only
 * through SCIM, or the next provisioning cycle would undo (or fight) the change.
 */
#include "core/core.h"
#include "policies/admin.h"
#include "policies/admin_int.h"
#include "policies/policy.h"
#include "store/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define POLICY_ADMIN_IDENTITIES "/admin/v1/identities"
#define POLICY_ADMIN_IDP_GROUPS "/admin/v1/idp-groups"

/* See admin_int.h. */
enum gh_status policy_admin_paging_parse(const char *start_text, const char *count_text,
                                         int64_t *out_start, int64_t *out_count, struct gh_err *err)
{
    const char *texts[2] = {start_text, count_text};
    const char *names[2] = {"startIndex", "count"};
    long long v[2] = {1, POLICY_ADMIN_DEFAULT_COUNT};

    for (int i = 0; i < 2; i++) {
        char *end = NULL;
        if (texts[i] == NULL)
            continue;
        errno = 0;
        v[i] = strtoll(texts[i], &end, 10);
        if (texts[i][0] == '\0' || *end != '\0' || errno != 0)
            return GH_ERR(err, GH_E_INVALID, "%s must be an integer", names[i]);
    }
    /* as SCIM: startIndex < 1 means 1, count < 0 means 0 (totals only); the cap bounds the work
     * one request does (every item is read with its memberships) */
    *out_start = v[0] < 1 ? 1 : v[0];
    *out_count = v[1] < 0 ? 0 : v[1] > GH_CAP_SCIM_COUNT ? GH_CAP_SCIM_COUNT : v[1];
    return GH_OK;
}

/* Which access group each linked IdP group grants (from store_access_groups), plus the keys and
 * skeletons of all access groups (an unlinked IdP group's near misses). */
struct policy_admin_linkmap {
    struct {
        char *key, *name, *source, *skel, *group_id, *group_name;
    } * v;
    size_t n, cap;
};

static void policy_admin_linkmap_row(void *ctx, const struct store_access_group *ag)
{
    struct policy_admin_linkmap *m = ctx;
    char skel[POLICY_NAME_MAX * 3 + 1];

    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = gh_xrealloc(m->v, m->cap * sizeof(*m->v));
    }
    policy_name_skeleton(ag->name, skel, sizeof(skel));
    m->v[m->n].key = gh_xstrdup(ag->key);
    m->v[m->n].name = gh_xstrdup(ag->name);
    m->v[m->n].source = gh_xstrdup(ag->source);
    m->v[m->n].skel = gh_xstrdup(skel);
    m->v[m->n].group_id = ag->group_id != NULL ? gh_xstrdup(ag->group_id) : NULL;
    m->v[m->n].group_name = ag->group_name != NULL ? gh_xstrdup(ag->group_name) : NULL;
    m->n++;
}

static void policy_admin_linkmap_free(struct policy_admin_linkmap *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].name);
        free(m->v[i].source);
        free(m->v[i].skel);
        free(m->v[i].group_id);
        free(m->v[i].group_name);
    }
    free(m->v);
}

/* {"name","key","source"} of the access group linked to IdP group id, or NULL. */
static cJSON *policy_admin_linked_ag(const struct policy_admin_linkmap *m, const char *group_id,
                                     const char **out_state)
{
    for (size_t i = 0; i < m->n; i++) {
        char gkey[POLICY_NAME_MAX * 3 + 1];
        cJSON *o;
        if (m->v[i].group_id == NULL || strcmp(m->v[i].group_id, group_id) != 0)
            continue;
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", m->v[i].name);
        cJSON_AddStringToObject(o, "key", m->v[i].key);
        cJSON_AddStringToObject(o, "source", m->v[i].source);
        policy_name_key(m->v[i].group_name, gkey, sizeof(gkey));
        *out_state = policy_link_state_name(strcmp(gkey, m->v[i].key) == 0 ? POLICY_LINK_LINKED
                                                                           : POLICY_LINK_RENAMED);
        return o;
    }
    return NULL;
}

/* An unlinked IdP group's state: an access group has its key (then it shares the key with
 * another IdP group: ambiguous), or its skeleton (near_match), or none. */
static const char *policy_admin_unlinked_state(const struct policy_admin_linkmap *m,
                                               const char *display_name)
{
    char key[POLICY_NAME_MAX * 3 + 1], skel[POLICY_NAME_MAX * 3 + 1];
    bool near = false;

    policy_name_key(display_name, key, sizeof(key));
    policy_name_skeleton(display_name, skel, sizeof(skel));
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->v[i].key, key) == 0)
            return policy_link_state_name(POLICY_LINK_AMBIGUOUS);
        near = near || strcmp(m->v[i].skel, skel) == 0;
    }
    return policy_link_state_name(near ? POLICY_LINK_NEAR_MATCH : POLICY_LINK_UNLINKED_IDP);
}

/* Collects store_member_fn callbacks into a JSON array. */
struct policy_admin_members {
    cJSON *arr;
    const struct policy_admin_linkmap *map; /* non-NULL: a user's groups, with access groups */
    cJSON *access;                          /* ... collected here */
};

static void policy_admin_member(void *ctx, const char *id, enum store_kind type,
                                const char *display)
{
    struct policy_admin_members *m = ctx;
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "id", id);
    if (m->map == NULL)
        cJSON_AddStringToObject(o, "type", type == STORE_USER ? "User" : "Group");
    if (display != NULL)
        cJSON_AddStringToObject(o, "display", display);
    else
        cJSON_AddNullToObject(o, "display");
    cJSON_AddItemToArray(m->arr, o);
    if (m->map != NULL) {
        const char *state = NULL;
        cJSON *ag = policy_admin_linked_ag(m->map, id, &state);
        if (ag != NULL) {
            cJSON_AddItemToObject(ag, "via", policy_admin_ref(id, display != NULL ? display : ""));
            cJSON_AddStringToObject(ag, "link_state", state);
            cJSON_AddItemToArray(m->access, ag);
        }
    }
}

static void policy_admin_copy_str(cJSON *to, const cJSON *from, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, name);
    if (cJSON_IsString(v))
        cJSON_AddStringToObject(to, name, v->valuestring);
    else
        cJSON_AddNullToObject(to, name);
}

/* One user or IdP group as the admin API shows it. Caller owns *out. */
static enum gh_status policy_admin_item(struct store *s, enum store_kind kind,
                                        const struct store_rec *rec,
                                        const struct policy_admin_linkmap *map, cJSON **out,
                                        struct gh_err *err)
{
    cJSON *body = cJSON_Parse(rec->body), *o = cJSON_CreateObject(), *ag;
    struct policy_admin_members m = {0};
    const char *state = NULL;
    enum gh_status st;

    cJSON_AddStringToObject(o, "id", rec->id);
    if (kind == STORE_USER) {
        policy_admin_copy_str(o, body, "userName");
        policy_admin_copy_str(o, body, "displayName");
        policy_admin_copy_str(o, body, "externalId");
        cJSON_AddBoolToObject(o, "active",
                              !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(body, "active")));
    } else {
        policy_admin_copy_str(o, body, "displayName");
        policy_admin_copy_str(o, body, "externalId");
    }
    cJSON_AddStringToObject(o, "created", rec->created);
    cJSON_AddStringToObject(o, "modified", rec->modified);
    if (kind == STORE_USER) {
        m.arr = cJSON_AddArrayToObject(o, "groups");
        m.map = map;
        m.access = cJSON_CreateArray();
        st = store_user_groups(s, rec->id, policy_admin_member, &m, err);
        cJSON_AddItemToObject(o, "access_groups", m.access);
    } else {
        m.arr = cJSON_AddArrayToObject(o, "members");
        st = store_group_members(s, rec->id, policy_admin_member, &m, err);
        ag = policy_admin_linked_ag(map, rec->id, &state);
        if (ag == NULL) {
            const cJSON *dn = cJSON_GetObjectItemCaseSensitive(body, "displayName");
            state = policy_admin_unlinked_state(map, cJSON_IsString(dn) ? dn->valuestring : "");
            cJSON_AddNullToObject(o, "access_group");
        } else {
            cJSON_AddItemToObject(o, "access_group", ag);
        }
        cJSON_AddStringToObject(o, "link_state", state);
    }
    cJSON_Delete(body);
    if (st) {
        cJSON_Delete(o);
        return st;
    }
    *out = o;
    return GH_OK;
}

/* Why: identities and IdP groups are Entra ID's (RFC 7644 provisioning is one-way); a change
 * made here would be silently undone by the next cycle, so it is refused and the reason given. */
static enum gh_status policy_admin_read_only(struct gh_req *r, struct gh_err *err)
{
    gh_reply_header(r, "Allow", "GET, HEAD");
    return GH_ERR(err, GH_E_METHOD,
                  "identities and IdP groups belong to Entra ID: they are written through SCIM "
                  "provisioning only, never through the admin API");
}

static enum gh_status policy_admin_directory(struct gh_req *r, enum store_kind kind,
                                             const char *prefix, const char *list_name,
                                             struct gh_err *err)
{
    const struct policy_admin_ctx *px = gh_req_ctx(r);
    const char *path = gh_req_path(r), *method = gh_req_method(r), *id = NULL;
    const char *filter = gh_req_query(r, "filter");
    struct policy_admin_linkmap map = {0};
    struct store_rec rec = {0};
    struct store_rec_list page = {0};
    struct store_query q = {0};
    struct store_filter *f = NULL;
    cJSON *item = NULL, *body = NULL, *arr;
    enum gh_status st;

    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return policy_admin_read_only(r, err);
    if (strlen(path) > strlen(prefix) + 1)
        id = path + strlen(prefix) + 1;
    st = store_access_groups(px->store, policy_admin_linkmap_row, &map, err);
    if (st)
        goto out;
    if (id != NULL) {
        st = store_get(px->store, kind, id, &rec, err);
        if (st == GH_E_NOT_FOUND) {
            gh_err_clear(err);
            st = GH_ERR(err, GH_E_NOT_FOUND, "no %s with id %.60s",
                        kind == STORE_USER ? "identity" : "IdP group", id);
        }
        if (st == GH_OK)
            st = policy_admin_item(px->store, kind, &rec, &map, &item, err);
        if (st == GH_OK)
            gh_reply_json(r, 200, item);
        goto out;
    }
    st = policy_admin_paging_parse(gh_req_query(r, "startIndex"), gh_req_query(r, "count"),
                                   &q.start_index, &q.count, err);
    if (st)
        goto out;
    if (filter != NULL && px->filter_parse == NULL) {
        st = GH_ERR(err, GH_E_INVALID, "filter is not supported here");
        goto out;
    }
    if (filter != NULL) {
        st = px->filter_parse(gh_req_arena(r), kind, filter, &f, err);
        if (st)
            goto out;
    }
    q.filter = f;
    st = store_list(px->store, kind, &q, &page, err);
    if (st)
        goto out;
    body = cJSON_CreateObject();
    cJSON_AddNumberToObject(body, "total_results", (double)page.total);
    cJSON_AddNumberToObject(body, "start_index", (double)q.start_index);
    cJSON_AddNumberToObject(body, "items_per_page", (double)page.count);
    arr = cJSON_AddArrayToObject(body, list_name);
    for (size_t i = 0; i < page.count; i++) {
        st = policy_admin_item(px->store, kind, &page.items[i], &map, &item, err);
        if (st)
            goto out;
        cJSON_AddItemToArray(arr, item);
    }
    gh_reply_json(r, 200, body);
    body = NULL;
out:
    cJSON_Delete(body);
    store_rec_clear(&rec);
    store_rec_list_clear(&page);
    policy_admin_linkmap_free(&map);
    return st;
}

/* See admin.h. */
enum gh_status policy_admin_handle_identities(struct gh_req *r, struct gh_err *err)
{
    return policy_admin_directory(r, STORE_USER, POLICY_ADMIN_IDENTITIES, "identities", err);
}

/* See admin.h. */
enum gh_status policy_admin_handle_idp_groups(struct gh_req *r, struct gh_err *err)
{
    return policy_admin_directory(r, STORE_GROUP, POLICY_ADMIN_IDP_GROUPS, "idp_groups", err);
}
