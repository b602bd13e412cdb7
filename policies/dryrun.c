/*
 * dryrun.c - POST /admin/v1/policy/dry-run: what a candidate policy file would change, computed
 * against the live directory, before anything is applied.
 *
 * Both sides are evaluated with one model, the one decisions follow for a fresh token: an active
 * provisioned user may do (dataset, action) when an access group linked to an IdP group the user
 * is a direct member of grants it, or the default grants do; an inactive user may do nothing.
 * The candidate's access groups and links are the ones store_access_groups_sync would leave:
 * keys the file still declares keep their row and link (an admin-created group whose key the file
 * now declares becomes file-owned, link kept), file keys it no longer declares go, admin-created
 * groups it does not declare stay as they are, and a new key links the one IdP group with that
 * link key when exactly one has it and that group is not linked already (the link triggers'
 * rule; ambiguous: none). Nothing is written.
 */
#include "core/core.h"
#include "policies/admin.h"
#include "policies/engine.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

/* Users read per store_list page. */
#define POLICY_DRY_PAGE 500

/* One access group on one side of the comparison (everything borrowed). */
struct policy_dry_group {
    const char *key, *name;
    enum policy_source source;
    const struct policy_grant *grants;
    size_t ngrants;
    const char *group_id; /* the linked IdP group, or NULL */
};

struct policy_dry_side {
    struct policy_dry_group *v;
    size_t n;
    const struct policy_grant *defaults;
    size_t ndefaults;
};

/* An access group as stored: its link (owned copies). */
struct policy_dry_link {
    char *key, *source, *group_id; /* group_id NULL: not linked */
};

struct policy_dry_links {
    struct policy_dry_link *v;
    size_t n, cap;
};

static void policy_dry_link_row(void *ctx, const struct store_access_group *ag)
{
    struct policy_dry_links *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        l->v = gh_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n].key = gh_xstrdup(ag->key);
    l->v[l->n].source = gh_xstrdup(ag->source);
    l->v[l->n].group_id = ag->group_id != NULL ? gh_xstrdup(ag->group_id) : NULL;
    l->n++;
}

static const struct policy_dry_link *policy_dry_link_find(const struct policy_dry_links *l,
                                                          const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].key, key) == 0)
            return &l->v[i];
    return NULL;
}

/* IdP groups (owned copies), with their link keys. */
struct policy_dry_idp {
    char *id, *name, *key;
};
struct policy_dry_idps {
    struct policy_dry_idp *v;
    size_t n, cap;
};

static void policy_dry_idp_row(void *ctx, const char *id, const char *display_name)
{
    struct policy_dry_idps *g = ctx;
    char key[POLICY_NAME_MAX * 3 + 1];
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 64;
        g->v = gh_xrealloc(g->v, g->cap * sizeof(*g->v));
    }
    policy_name_key(display_name, key, sizeof(key));
    g->v[g->n].id = gh_xstrdup(id);
    g->v[g->n].name = gh_xstrdup(display_name);
    g->v[g->n].key = gh_xstrdup(key);
    g->n++;
}

/* The link a new access group with this key would get (the store's rule, see the top), or NULL;
 * *out_named: how many IdP groups have the key. */
static const struct policy_dry_idp *policy_dry_new_link(const struct policy_dry_idps *idps,
                                                        const struct policy_dry_links *links,
                                                        const char *key, size_t *out_named)
{
    const struct policy_dry_idp *one = NULL;
    size_t named = 0;

    for (size_t i = 0; i < idps->n; i++) {
        if (strcmp(idps->v[i].key, key) == 0) {
            one = &idps->v[i];
            named++;
        }
    }
    *out_named = named;
    if (named != 1)
        return NULL;
    /* an IdP group links one access group at most (access_group_links.group_id is unique):
     * one already pinned to another key keeps that link */
    for (size_t i = 0; i < links->n; i++)
        if (links->v[i].group_id != NULL && strcmp(links->v[i].group_id, one->id) == 0)
            return NULL;
    return one;
}

static int policy_dry_group_cmp(const void *a, const void *b)
{
    return strcmp(((const struct policy_dry_group *)a)->key,
                  ((const struct policy_dry_group *)b)->key);
}

/* (dataset, action) of grants a and b: true when both allow the same. */
static bool policy_dry_grants_equal(const struct policy_grant *a, size_t na,
                                    const struct policy_grant *b, size_t nb)
{
    for (int pass = 0; pass < 2; pass++) {
        const struct policy_grant *x = pass ? b : a, *y = pass ? a : b;
        size_t nx = pass ? nb : na, ny = pass ? na : nb;
        for (size_t i = 0; i < nx; i++) {
            if ((x[i].actions & POLICY_ACTION_PROTECT) &&
                !policy_grants_allow(y, ny, x[i].dataset, POLICY_ACTION_PROTECT))
                return false;
            if ((x[i].actions & POLICY_ACTION_UNPROTECT) &&
                !policy_grants_allow(y, ny, x[i].dataset, POLICY_ACTION_UNPROTECT))
                return false;
        }
    }
    return true;
}

/* Every dataset named by either side (borrowed, distinct). */
struct policy_dry_datasets {
    const char **v;
    size_t n, cap;
};

static void policy_dry_dataset_add(struct policy_dry_datasets *d, const struct policy_grant *g,
                                   size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t k = 0; k < d->n && !seen; k++)
            seen = strcmp(d->v[k], g[i].dataset) == 0;
        if (seen)
            continue;
        if (d->n == d->cap) {
            d->cap = d->cap ? d->cap * 2 : 32;
            d->v = gh_xrealloc(d->v, d->cap * sizeof(*d->v));
        }
        d->v[d->n++] = g[i].dataset;
    }
}

static void policy_dry_datasets_of(struct policy_dry_datasets *d, const struct policy_dry_side *s)
{
    policy_dry_dataset_add(d, s->defaults, s->ndefaults);
    for (size_t i = 0; i < s->n; i++)
        policy_dry_dataset_add(d, s->v[i].grants, s->v[i].ngrants);
}

static int policy_dry_str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The ids of the IdP groups a user is a direct member of (owned). */
struct policy_dry_member_of {
    char **v;
    size_t n, cap;
};

static void policy_dry_member_row(void *ctx, const char *id, enum store_kind type,
                                  const char *display)
{
    struct policy_dry_member_of *m = ctx;
    (void)display;
    if (type != STORE_GROUP)
        return;
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = gh_xrealloc(m->v, m->cap * sizeof(*m->v));
    }
    m->v[m->n++] = gh_xstrdup(id);
}

static void policy_dry_member_clear(struct policy_dry_member_of *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i]);
    m->n = 0;
}

/* May an active user in IdP groups m do (dataset, action) on side s? */
static bool policy_dry_allows(const struct policy_dry_side *s, const struct policy_dry_member_of *m,
                              const char *dataset, enum policy_action action)
{
    if (policy_grants_allow(s->defaults, s->ndefaults, dataset, action))
        return true;
    for (size_t i = 0; i < s->n; i++) {
        const struct policy_dry_group *g = &s->v[i];
        if (g->group_id == NULL || !policy_grants_allow(g->grants, g->ngrants, dataset, action))
            continue;
        for (size_t k = 0; k < m->n; k++)
            if (strcmp(m->v[k], g->group_id) == 0)
                return true;
    }
    return false;
}

static cJSON *policy_dry_check(const char *dataset, enum policy_action action)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "dataset", dataset);
    cJSON_AddStringToObject(o, "action", policy_action_name(action));
    return o;
}

/* The comparison's running state. */
struct policy_dry_run {
    struct store *store;
    const struct policy_dry_side *cur, *cand;
    const struct policy_dry_datasets *ds;
    cJSON *users; /* users whose permissions change */
    size_t nusers, nchanged, ngained, nlost;
};

/* One user: its permissions on both sides; an entry in run->users when they differ. */
static enum gh_status policy_dry_user(struct policy_dry_run *run, const struct store_rec *rec,
                                      struct policy_dry_member_of *m, struct gh_err *err)
{
    static const enum policy_action acts[] = {POLICY_ACTION_PROTECT, POLICY_ACTION_UNPROTECT};
    cJSON *body = cJSON_Parse(rec->body), *gained = NULL, *lost = NULL;
    const cJSON *un = cJSON_GetObjectItemCaseSensitive(body, "userName");
    const cJSON *ext = cJSON_GetObjectItemCaseSensitive(body, "externalId");
    /* as the store's indexed column: only an explicit false deactivates */
    bool active = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(body, "active"));
    enum gh_status st;

    run->nusers++;
    policy_dry_member_clear(m);
    st = store_user_groups(run->store, rec->id, policy_dry_member_row, m, err);
    if (st)
        goto out;
    for (size_t i = 0; active && i < run->ds->n; i++) {
        for (size_t k = 0; k < 2; k++) {
            bool before = policy_dry_allows(run->cur, m, run->ds->v[i], acts[k]);
            bool after = policy_dry_allows(run->cand, m, run->ds->v[i], acts[k]);
            if (before == after)
                continue;
            if (gained == NULL) {
                gained = cJSON_CreateArray();
                lost = cJSON_CreateArray();
            }
            cJSON_AddItemToArray(after ? gained : lost, policy_dry_check(run->ds->v[i], acts[k]));
            if (after)
                run->ngained++;
            else
                run->nlost++;
        }
    }
    if (gained != NULL) {
        cJSON *u = cJSON_CreateObject();
        cJSON_AddStringToObject(u, "id", rec->id);
        if (cJSON_IsString(un))
            cJSON_AddStringToObject(u, "userName", un->valuestring);
        if (cJSON_IsString(ext))
            cJSON_AddStringToObject(u, "externalId", ext->valuestring);
        cJSON_AddBoolToObject(u, "active", active);
        cJSON_AddItemToObject(u, "gained", gained);
        cJSON_AddItemToObject(u, "lost", lost);
        gained = lost = NULL;
        cJSON_AddItemToArray(run->users, u);
        run->nchanged++;
    }
out:
    cJSON_Delete(gained);
    cJSON_Delete(lost);
    cJSON_Delete(body);
    return st;
}

/* Every provisioned user, a page at a time. */
static enum gh_status policy_dry_users(struct policy_dry_run *run, struct gh_err *err)
{
    struct policy_dry_member_of m = {0};
    struct store_rec_list page = {0};
    struct store_query q = {NULL, NULL, false, 1, POLICY_DRY_PAGE};
    enum gh_status st = GH_OK;

    for (;;) {
        st = store_list(run->store, STORE_USER, &q, &page, err);
        if (st)
            break;
        for (size_t i = 0; st == GH_OK && i < page.count; i++)
            st = policy_dry_user(run, &page.items[i], &m, err);
        if (st || page.count < (size_t)POLICY_DRY_PAGE ||
            q.start_index - 1 + (int64_t)page.count >= page.total)
            break;
        q.start_index += (int64_t)page.count;
        store_rec_list_clear(&page);
    }
    store_rec_list_clear(&page);
    policy_dry_member_clear(&m);
    free(m.v);
    return st;
}

static cJSON *policy_dry_ref(const char *id, const char *name)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "displayName", name);
    return o;
}

static const char *policy_dry_idp_name(const struct policy_dry_idps *idps, const char *id)
{
    for (size_t i = 0; id != NULL && i < idps->n; i++)
        if (strcmp(idps->v[i].id, id) == 0)
            return idps->v[i].name;
    return NULL;
}

/* The summary's access-group changes: added (with the link they would get), removed, changed. */
static cJSON *policy_dry_groups_diff(const struct policy_dry_side *cur,
                                     const struct policy_dry_side *cand,
                                     const struct policy_dry_idps *idps,
                                     const struct policy_dry_links *links)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *added = cJSON_AddArrayToObject(o, "added");
    cJSON *removed = cJSON_AddArrayToObject(o, "removed");
    cJSON *changed = cJSON_AddArrayToObject(o, "changed");

    for (size_t i = 0; i < cand->n; i++) {
        const struct policy_dry_group *g = &cand->v[i];
        const struct policy_dry_group *was = NULL;
        for (size_t k = 0; k < cur->n && was == NULL; k++)
            if (strcmp(cur->v[k].key, g->key) == 0)
                was = &cur->v[k];
        if (was == NULL) {
            cJSON *a = cJSON_CreateObject();
            size_t named = 0;
            cJSON_AddStringToObject(a, "name", g->name);
            cJSON_AddItemToObject(a, "grants", policy_grants_json(g->grants, g->ngrants));
            if (g->group_id != NULL) {
                cJSON_AddItemToObject(
                    a, "idp_group",
                    policy_dry_ref(g->group_id, policy_dry_idp_name(idps, g->group_id)));
                cJSON_AddStringToObject(a, "link", "linked");
            } else {
                policy_dry_new_link(idps, links, g->key, &named);
                cJSON_AddNullToObject(a, "idp_group");
                cJSON_AddStringToObject(a, "link",
                                        named == 0   ? "unlinked: no IdP group has this name"
                                        : named == 1 ? "unlinked: the IdP group with this name "
                                                       "is linked to another access group"
                                                     : "unlinked: ambiguous, several IdP groups "
                                                       "have this name");
            }
            cJSON_AddItemToArray(added, a);
            continue;
        }
        if (was->source != g->source ||
            !policy_dry_grants_equal(was->grants, was->ngrants, g->grants, g->ngrants)) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "name", g->name);
            cJSON_AddStringToObject(c, "source_before",
                                    was->source == POLICY_SOURCE_FILE ? "file" : "admin");
            cJSON_AddStringToObject(c, "source",
                                    g->source == POLICY_SOURCE_FILE ? "file" : "admin");
            cJSON_AddItemToObject(c, "grants_before",
                                  policy_grants_json(was->grants, was->ngrants));
            cJSON_AddItemToObject(c, "grants", policy_grants_json(g->grants, g->ngrants));
            cJSON_AddItemToArray(changed, c);
        }
    }
    for (size_t k = 0; k < cur->n; k++) {
        bool stays = false;
        for (size_t i = 0; i < cand->n && !stays; i++)
            stays = strcmp(cur->v[k].key, cand->v[i].key) == 0;
        if (!stays) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "name", cur->v[k].name);
            cJSON_AddItemToObject(r, "grants",
                                  policy_grants_json(cur->v[k].grants, cur->v[k].ngrants));
            cJSON_AddItemToArray(removed, r);
        }
    }
    return o;
}

static bool policy_dry_routes_equal(const struct policy_doc *a, const struct policy_doc *b)
{
    if (a->nroutes != b->nroutes)
        return false;
    for (size_t i = 0; i < a->nroutes; i++) {
        const struct policy_route *x = &a->routes[i], *y = &b->routes[i];
        if ((x->method == NULL) != (y->method == NULL) ||
            (x->method != NULL && strcmp(x->method, y->method) != 0) ||
            strcmp(x->path_prefix, y->path_prefix) != 0 || strcmp(x->dataset, y->dataset) != 0 ||
            x->action != y->action)
            return false;
    }
    return true;
}

/*
 * POST /admin/v1/policy/dry-run (see admin.h): the body is a candidate policy file. 400 names
 * where it is wrong (policy_doc_parse); 200 with the users whose permissions would change and a
 * summary. Reads the store and the running snapshot only. Thread-safe.
 */
enum gh_status policy_admin_dry_run(struct gh_req *r, struct gh_err *err)
{
    const struct policy_admin_ctx *px = gh_req_ctx(r);
    struct policy_snapshot *snap = policy_engine_acquire(px->policy);
    const struct policy_doc *cur_doc = policy_snapshot_doc(snap);
    struct policy_doc *cand_doc = NULL;
    struct policy_dry_links links = {0};
    struct policy_dry_idps idps = {0};
    struct policy_dry_side cur = {0}, cand = {0};
    struct policy_dry_datasets ds = {0};
    struct policy_group *cand_groups = NULL;
    char cand_rev[POLICY_REVISION_LEN + 1];
    struct policy_dry_run run = {0};
    size_t len = 0, ncur = policy_snapshot_group_count(snap);
    const char *text = gh_req_body(r, &len);
    int64_t revision = store_revision(px->store);
    enum gh_status st;

    st = policy_doc_parse(text, len, &cand_doc, err);
    if (st)
        goto out;
    st = store_access_groups(px->store, policy_dry_link_row, &links, err);
    if (st == GH_OK)
        st = store_group_names(px->store, policy_dry_idp_row, &idps, err);
    if (st)
        goto out;

    /* the running side: the snapshot's groups (what decisions read) with the store's links */
    cur.v = gh_xcalloc(ncur + 1, sizeof(*cur.v));
    for (size_t i = 0; i < ncur; i++) {
        const struct policy_group *g = policy_snapshot_group_at(snap, i);
        const struct policy_dry_link *l = policy_dry_link_find(&links, g->key);
        cur.v[cur.n++] = (struct policy_dry_group){
            g->key, g->name, g->source, g->grants, g->ngrants, l != NULL ? l->group_id : NULL};
    }
    cur.defaults = cur_doc->defaults;
    cur.ndefaults = cur_doc->ndefaults;

    /* the candidate side: the file's groups, then admin groups it does not declare */
    cand.v = gh_xcalloc(cand_doc->ngroups + ncur + 1, sizeof(*cand.v));
    for (size_t i = 0; i < cand_doc->ngroups; i++) {
        const struct policy_group *g = &cand_doc->groups[i];
        const struct policy_dry_link *l = policy_dry_link_find(&links, g->key);
        const char *gid = NULL;
        if (l != NULL) {
            gid = l->group_id; /* the key stays: its row and link are kept */
        } else {
            size_t named;
            const struct policy_dry_idp *one = policy_dry_new_link(&idps, &links, g->key, &named);
            gid = one != NULL ? one->id : NULL;
        }
        cand.v[cand.n++] = (struct policy_dry_group){g->key,    g->name,    POLICY_SOURCE_FILE,
                                                     g->grants, g->ngrants, gid};
    }
    for (size_t i = 0; i < cur.n; i++) {
        bool declared = false;
        for (size_t k = 0; k < cand_doc->ngroups && !declared; k++)
            declared = strcmp(cand_doc->groups[k].key, cur.v[i].key) == 0;
        if (cur.v[i].source == POLICY_SOURCE_ADMIN && !declared)
            cand.v[cand.n++] = cur.v[i];
    }
    qsort(cand.v, cand.n, sizeof(*cand.v), policy_dry_group_cmp);
    cand.defaults = cand_doc->defaults;
    cand.ndefaults = cand_doc->ndefaults;

    /* the candidate's revision: what policy_revision will be once it is applied */
    cand_groups = gh_xcalloc(cand.n + 1, sizeof(*cand_groups));
    for (size_t i = 0; i < cand.n; i++)
        cand_groups[i] = (struct policy_group){(char *)cand.v[i].name, (char *)cand.v[i].key,
                                               (struct policy_grant *)cand.v[i].grants,
                                               cand.v[i].ngrants, cand.v[i].source};
    policy_revision_compute(cand_doc, cand_groups, cand.n, cand_rev);

    policy_dry_datasets_of(&ds, &cur);
    policy_dry_datasets_of(&ds, &cand);
    if (ds.n > 1)
        qsort(ds.v, ds.n, sizeof(*ds.v), policy_dry_str_cmp);
    run = (struct policy_dry_run){px->store, &cur, &cand, &ds, cJSON_CreateArray(), 0, 0, 0, 0};
    st = policy_dry_users(&run, err);
    if (st)
        goto out;
    {
        cJSON *body = cJSON_CreateObject(), *pr, *sum;
        pr = cJSON_AddObjectToObject(body, "policy_revision");
        cJSON_AddStringToObject(pr, "current", policy_snapshot_revision(snap));
        cJSON_AddStringToObject(pr, "candidate", cand_rev);
        cJSON_AddNumberToObject(body, "revision", (double)revision);
        sum = cJSON_AddObjectToObject(body, "summary");
        cJSON_AddNumberToObject(sum, "users", (double)run.nusers);
        cJSON_AddNumberToObject(sum, "users_changed", (double)run.nchanged);
        cJSON_AddNumberToObject(sum, "gained", (double)run.ngained);
        cJSON_AddNumberToObject(sum, "lost", (double)run.nlost);
        cJSON_AddItemToObject(sum, "access_groups",
                              policy_dry_groups_diff(&cur, &cand, &idps, &links));
        cJSON_AddBoolToObject(
            sum, "default_grants_changed",
            !policy_dry_grants_equal(cur.defaults, cur.ndefaults, cand.defaults, cand.ndefaults));
        cJSON_AddBoolToObject(sum, "routes_changed", !policy_dry_routes_equal(cur_doc, cand_doc));
        cJSON_AddItemToObject(body, "users", run.users);
        run.users = NULL; /* body owns it */
        gh_reply_json(r, 200, body);
    }
out:
    cJSON_Delete(run.users);
    free(ds.v);
    free(cand_groups);
    free(cand.v);
    free(cur.v);
    for (size_t i = 0; i < links.n; i++) {
        free(links.v[i].key);
        free(links.v[i].source);
        free(links.v[i].group_id);
    }
    free(links.v);
    for (size_t i = 0; i < idps.n; i++) {
        free(idps.v[i].id);
        free(idps.v[i].name);
        free(idps.v[i].key);
    }
    free(idps.v);
    policy_doc_free(cand_doc);
    policy_snapshot_release(snap);
    return st;
}
