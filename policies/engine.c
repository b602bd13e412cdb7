/*
 * engine.c - the running policy and its snapshots.
 *
 * Invariants: `current` always points at a complete snapshot; a snapshot never changes after it
 * is published; it is freed when the last reference goes. Changes (reload, admin create/delete)
 * are serialised by `change_lock` and publish a new snapshot under `lock`, which guards only the
 * pointer swap and reference counts (readers do no work while holding it). The policy file's
 * access groups live in the store too (source "file"), so links, the admin API and decisions
 * all read one list.
 */
#include "policies/engine.h"
#include "core/core.h"
#include "store/store.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct policy_docref {
    _Atomic int refs;
    struct policy_doc *doc;
};

struct policy_snapshot {
    _Atomic int refs;
    struct policy_docref *doc;
    struct policy_group *groups; /* sorted by key (strcmp) */
    size_t ngroups;
    char revision[POLICY_REVISION_LEN + 1]; /* policy_snapshot_revision, set before publishing */
};

struct policy_engine {
    char *path; /* GATEHOUSE_POLICY (owned), or NULL: no policy file */
    struct store *store;
    pthread_mutex_t lock;        /* guards current and reference counts' publication */
    pthread_mutex_t change_lock; /* serialises reloads and admin changes */
    struct policy_snapshot *current;
    struct policy_docref *doc; /* the last good policy file */
    /* file watching */
    pthread_t watcher;
    bool watching;
    pthread_mutex_t watch_lock;
    pthread_cond_t watch_cond;
    bool stop;
    int interval_ms;
    struct stat seen;
    _Atomic unsigned long reloads_ok, reloads_failed;
};

static struct policy_docref *policy_docref_new(struct policy_doc *doc)
{
    struct policy_docref *r = gh_xcalloc(1, sizeof(*r));
    atomic_init(&r->refs, 1);
    r->doc = doc;
    return r;
}

static void policy_docref_release(struct policy_docref *r)
{
    if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1) {
        policy_doc_free(r->doc);
        free(r);
    }
}

/* Give back a snapshot reference. NULL is a no-op. Thread-safe. */
void policy_snapshot_release(struct policy_snapshot *snap)
{
    if (snap == NULL || atomic_fetch_sub(&snap->refs, 1) != 1)
        return;
    for (size_t i = 0; i < snap->ngroups; i++) {
        free(snap->groups[i].name);
        free(snap->groups[i].key);
        policy_grants_free(snap->groups[i].grants, snap->groups[i].ngrants);
    }
    free(snap->groups);
    policy_docref_release(snap->doc);
    free(snap);
}

struct policy_build {
    struct policy_snapshot *snap;
    size_t cap;
    struct gh_err *err;
    enum gh_status st;
};

static void policy_build_row(void *ctx, const struct store_access_group *ag)
{
    struct policy_build *b = ctx;
    struct policy_group *g;
    cJSON *grants;
    char where[300];

    if (b->st != GH_OK)
        return;
    if (b->snap->ngroups == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->snap->groups = gh_xrealloc(b->snap->groups, b->cap * sizeof(*b->snap->groups));
    }
    g = &b->snap->groups[b->snap->ngroups];
    memset(g, 0, sizeof(*g));
    grants = cJSON_Parse(ag->grants);
    snprintf(where, sizeof(where), "stored access group %.200s grants", ag->key);
    b->st = policy_grants_parse(grants, where, &g->grants, &g->ngrants, b->err);
    cJSON_Delete(grants);
    if (b->st != GH_OK)
        return;
    g->name = gh_xstrdup(ag->name);
    g->key = gh_xstrdup(ag->key);
    g->source = strcmp(ag->source, "file") == 0 ? POLICY_SOURCE_FILE : POLICY_SOURCE_ADMIN;
    b->snap->ngroups++;
}

/* ---- the policy revision: a digest of what a snapshot decides with ----
 * Canonical form (JSON, no whitespace): {"default_grants":G,"routes":[…],"access_groups":[{"key",
 * "name","source","grants":G}…]} with groups in key order (the snapshot's own order) and every
 * grant list G merged by dataset and sorted by it (bytewise), actions as ["protect","unprotect"]
 * in that order, so a policy written in another order or split into more grants has the same
 * revision. Routes keep the file's order. Links to IdP groups are directory data, not policy:
 * they are left out (the directory revision covers them). */

static int policy_grant_ptr_cmp(const void *a, const void *b)
{
    const struct policy_grant *ga = *(const struct policy_grant *const *)a;
    const struct policy_grant *gb = *(const struct policy_grant *const *)b;
    return strcmp(ga->dataset, gb->dataset);
}

static cJSON *policy_grants_canon(const struct policy_grant *grants, size_t n)
{
    const struct policy_grant **v = gh_xcalloc(n ? n : 1, sizeof(const struct policy_grant *));
    cJSON *arr = cJSON_CreateArray();

    for (size_t i = 0; i < n; i++)
        v[i] = &grants[i];
    qsort(v, n, sizeof(const struct policy_grant *), policy_grant_ptr_cmp);
    for (size_t i = 0; i < n;) {
        unsigned acts = 0;
        size_t j = i;
        cJSON *g = cJSON_CreateObject(), *a = cJSON_CreateArray();
        for (; j < n && strcmp(v[j]->dataset, v[i]->dataset) == 0; j++)
            acts |= v[j]->actions;
        cJSON_AddStringToObject(g, "dataset", v[i]->dataset);
        if (acts & POLICY_ACTION_PROTECT)
            cJSON_AddItemToArray(a, cJSON_CreateString("protect"));
        if (acts & POLICY_ACTION_UNPROTECT)
            cJSON_AddItemToArray(a, cJSON_CreateString("unprotect"));
        cJSON_AddItemToObject(g, "actions", a);
        cJSON_AddItemToArray(arr, g);
        i = j;
    }
    free(v);
    return arr;
}

/*
 * See engine.h: the revision of doc with the access groups groups[0..n) (both sources, sorted by
 * key with strcmp, as a snapshot holds them) into out. Pure; thread-safe.
 */
void policy_revision_compute(const struct policy_doc *doc, const struct policy_group *groups,
                             size_t n, char out[POLICY_REVISION_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    cJSON *c = cJSON_CreateObject(), *routes, *garr;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    char *text;
    int ok;

    cJSON_AddItemToObject(c, "default_grants", policy_grants_canon(doc->defaults, doc->ndefaults));
    routes = cJSON_AddArrayToObject(c, "routes");
    for (size_t i = 0; i < doc->nroutes; i++) {
        const struct policy_route *r = &doc->routes[i];
        cJSON *o = cJSON_CreateObject();
        if (r->method != NULL)
            cJSON_AddStringToObject(o, "method", r->method);
        else
            cJSON_AddNullToObject(o, "method");
        cJSON_AddStringToObject(o, "path_prefix", r->path_prefix);
        cJSON_AddStringToObject(o, "dataset", r->dataset);
        cJSON_AddStringToObject(o, "action", policy_action_name(r->action));
        cJSON_AddItemToArray(routes, o);
    }
    garr = cJSON_AddArrayToObject(c, "access_groups");
    for (size_t i = 0; i < n; i++) {
        const struct policy_group *g = &groups[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "key", g->key);
        cJSON_AddStringToObject(o, "name", g->name);
        cJSON_AddStringToObject(o, "source", g->source == POLICY_SOURCE_FILE ? "file" : "admin");
        cJSON_AddItemToObject(o, "grants", policy_grants_canon(g->grants, g->ngrants));
        cJSON_AddItemToArray(garr, o);
    }
    text = cJSON_PrintUnformatted(c);
    GH_ASSERT(text != NULL);
    ok = EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL);
    GH_ASSERT(ok == 1 && mdlen * 2 >= POLICY_REVISION_LEN);
    for (size_t i = 0; i < POLICY_REVISION_LEN / 2; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[POLICY_REVISION_LEN] = '\0';
    cJSON_free(text);
    cJSON_Delete(c);
}

/* Build a snapshot of the store's access groups with doc; publish it. change_lock held. */
static enum gh_status policy_engine_publish(struct policy_engine *pe, struct gh_err *err)
{
    struct policy_build b = {0};
    struct policy_snapshot *old;

    b.snap = gh_xcalloc(1, sizeof(*b.snap));
    atomic_init(&b.snap->refs, 1);
    atomic_fetch_add(&pe->doc->refs, 1);
    b.snap->doc = pe->doc;
    b.err = err;
    b.st = store_access_groups(pe->store, policy_build_row, &b, err);
    if (b.st != GH_OK) {
        policy_snapshot_release(b.snap);
        return b.st;
    }
    /* once per snapshot, here, so no decision ever computes it */
    policy_revision_compute(b.snap->doc->doc, b.snap->groups, b.snap->ngroups, b.snap->revision);
    pthread_mutex_lock(&pe->lock);
    old = pe->current;
    pe->current = b.snap;
    pthread_mutex_unlock(&pe->lock);
    policy_snapshot_release(old);
    return GH_OK;
}

/* Read, parse and sync the policy file; publish. change_lock held. */
static enum gh_status policy_engine_load(struct policy_engine *pe, struct gh_err *err)
{
    struct policy_doc *doc = NULL;
    struct store_access_group_def *defs = NULL;
    cJSON **grants = NULL;
    char **texts = NULL;
    struct stat sb;
    enum gh_status st;

    if (stat(pe->path, &sb) != 0)
        return GH_ERR(err, GH_E_INVALID, "GATEHOUSE_POLICY: %s: %s", pe->path, strerror(errno));
    /* What is remembered as seen is the file as it was before reading it: a file still being
     * written when it fails to parse is seen as changed again once the writer is done. */
    pe->seen = sb;
    st = policy_doc_load(pe->path, &doc, err);
    if (st)
        return st;
    defs = gh_xcalloc(doc->ngroups + 1, sizeof(*defs));
    texts = gh_xcalloc(doc->ngroups + 1, sizeof(*texts));
    grants = gh_xcalloc(doc->ngroups + 1, sizeof(cJSON *));
    for (size_t i = 0; i < doc->ngroups; i++) {
        grants[i] = policy_grants_json(doc->groups[i].grants, doc->groups[i].ngrants);
        texts[i] = cJSON_PrintUnformatted(grants[i]);
        defs[i].key = doc->groups[i].key;
        defs[i].name = doc->groups[i].name;
        defs[i].grants = texts[i];
    }
    st = store_access_groups_sync(pe->store, defs, doc->ngroups, err);
    for (size_t i = 0; i < doc->ngroups; i++) {
        cJSON_free(texts[i]);
        cJSON_Delete(grants[i]);
    }
    free(texts);
    free(grants);
    free(defs);
    if (st) {
        policy_doc_free(doc);
        return st;
    }
    policy_docref_release(pe->doc);
    pe->doc = policy_docref_new(doc);
    gh_log(GH_LOG_INFO, "policy",
           "\"policy loaded\" access_groups=%zu default_grants=%zu routes=%zu", doc->ngroups,
           doc->ndefaults, doc->nroutes);
    return policy_engine_publish(pe, err);
}

/* See engine.h. */
enum gh_status policy_engine_new(const char *path, struct store *store,
                                 struct policy_engine **out_pe, struct gh_err *err)
{
    struct policy_engine *pe = gh_xcalloc(1, sizeof(*pe));
    enum gh_status st;

    pe->path = path != NULL ? gh_xstrdup(path) : NULL;
    pe->store = store;
    pthread_mutex_init(&pe->lock, NULL);
    pthread_mutex_init(&pe->change_lock, NULL);
    pthread_mutex_init(&pe->watch_lock, NULL);
    pthread_cond_init(&pe->watch_cond, NULL);
    pe->doc = policy_docref_new(gh_xcalloc(1, sizeof(struct policy_doc)));
    pthread_mutex_lock(&pe->change_lock);
    if (path != NULL) {
        st = policy_engine_load(pe, err);
    } else {
        /* no policy file: access groups a previous run declared in one must not keep granting */
        st = store_access_groups_sync(store, NULL, 0, err);
        if (st == GH_OK)
            st = policy_engine_publish(pe, err);
    }
    pthread_mutex_unlock(&pe->change_lock);
    if (st) {
        policy_engine_free(pe);
        return st;
    }
    *out_pe = pe;
    return GH_OK;
}

/* See engine.h. */
enum gh_status policy_engine_reload(struct policy_engine *pe, struct gh_err *err)
{
    enum gh_status st;

    if (pe->path == NULL)
        return GH_OK;
    pthread_mutex_lock(&pe->change_lock);
    st = policy_engine_load(pe, err);
    pthread_mutex_unlock(&pe->change_lock);
    if (st)
        atomic_fetch_add(&pe->reloads_failed, 1);
    else
        atomic_fetch_add(&pe->reloads_ok, 1);
    return st;
}

/* Reload from a top of its own (SIGHUP, the watcher thread): nobody is there to return the error
 * to, so it is logged here. */
static void policy_engine_reload_logged(struct policy_engine *pe)
{
    struct gh_err err = {0};
    char q[GH_ERR_MSG_MAX + 8];
    enum gh_status st;

    st = policy_engine_reload(pe, &err);
    if (st)
        gh_log(GH_LOG_WARN, "policy", "\"policy reload failed, keeping the running policy\" err=%s",
               gh_log_q(q, sizeof(q), err.msg));
}

/* See policies.h: another replica changed the access groups in the shared store. */
void policy_engine_store_changed(void *ctx)
{
    struct policy_engine *pe = ctx;
    struct gh_err err = {0};
    char q[GH_ERR_MSG_MAX + 8];

    pthread_mutex_lock(&pe->change_lock);
    if (policy_engine_publish(pe, &err) != GH_OK)
        gh_log(GH_LOG_WARN, "policy",
               "\"access groups changed in the store; rebuilding the policy snapshot failed\" "
               "err=%s",
               gh_log_q(q, sizeof(q), err.msg));
    pthread_mutex_unlock(&pe->change_lock);
}

/* SIGHUP hook. */
void policy_engine_reload_hook(void *ctx)
{
    policy_engine_reload_logged(ctx);
}

static bool policy_engine_changed(struct policy_engine *pe)
{
    struct stat sb;
    bool changed;
    if (stat(pe->path, &sb) != 0)
        return false; /* a missing file is not a policy: keep the running one */
    pthread_mutex_lock(&pe->change_lock);
    changed = sb.st_ino != pe->seen.st_ino || sb.st_size != pe->seen.st_size ||
              sb.st_mtim.tv_sec != pe->seen.st_mtim.tv_sec ||
              sb.st_mtim.tv_nsec != pe->seen.st_mtim.tv_nsec;
    pthread_mutex_unlock(&pe->change_lock);
    return changed;
}

static void *policy_engine_watch_main(void *arg)
{
    struct policy_engine *pe = arg;
    struct timespec until;

    pthread_mutex_lock(&pe->watch_lock);
    while (!pe->stop) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)(pe->interval_ms % 1000) * 1000000L;
        until.tv_sec += pe->interval_ms / 1000 + until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&pe->watch_cond, &pe->watch_lock, &until);
        if (pe->stop)
            break;
        pthread_mutex_unlock(&pe->watch_lock);
        /* a failed reload still remembers the file it read: one warning per change */
        if (policy_engine_changed(pe))
            policy_engine_reload_logged(pe);
        pthread_mutex_lock(&pe->watch_lock);
    }
    pthread_mutex_unlock(&pe->watch_lock);
    return NULL;
}

/* See engine.h. */
enum gh_status policy_engine_watch(struct policy_engine *pe, int interval_ms, struct gh_err *err)
{
    if (pe->path == NULL || pe->watching)
        return GH_OK;
    pe->interval_ms = interval_ms > 0 ? interval_ms : 1000;
    if (pthread_create(&pe->watcher, NULL, policy_engine_watch_main, pe) != 0)
        return GH_ERR(err, GH_E_INTERNAL, "cannot start the policy watcher");
    pe->watching = true;
    return GH_OK;
}

/* See engine.h. */
void policy_engine_free(struct policy_engine *pe)
{
    if (pe == NULL)
        return;
    if (pe->watching) {
        pthread_mutex_lock(&pe->watch_lock);
        pe->stop = true;
        pthread_cond_signal(&pe->watch_cond);
        pthread_mutex_unlock(&pe->watch_lock);
        pthread_join(pe->watcher, NULL);
    }
    policy_snapshot_release(pe->current);
    policy_docref_release(pe->doc);
    pthread_mutex_destroy(&pe->lock);
    pthread_mutex_destroy(&pe->change_lock);
    pthread_mutex_destroy(&pe->watch_lock);
    pthread_cond_destroy(&pe->watch_cond);
    free(pe->path);
    free(pe);
}

/*
 * Check an admin access-group body (see engine.h): an object with only name, grants and
 * description; a valid name; a valid grants array. On success *out_name is borrowed from body,
 * out_key holds the link key and *out_grants (caller frees with policy_grants_free) *out_n
 * entries. GH_E_INVALID names the first problem. Thread-safe.
 */
enum gh_status policy_group_body_parse(const cJSON *body, const char **out_name,
                                       char out_key[POLICY_NAME_MAX + 1],
                                       struct policy_grant **out_grants, size_t *out_n,
                                       struct gh_err *err)
{
    static const char *const members[] = {"name", "grants", "description", NULL};
    const cJSON *name;
    char q[80];
    enum gh_status st;

    if (!cJSON_IsObject(body))
        return GH_ERR(err, GH_E_INVALID, "body must be a JSON object");
    for (const cJSON *m = body->child; m != NULL; m = m->next) {
        bool ok = false;
        for (size_t i = 0; members[i] != NULL; i++)
            ok = ok || strcmp(m->string, members[i]) == 0;
        if (!ok)
            return GH_ERR(err, GH_E_INVALID, "unknown member %s",
                          gh_log_q(q, sizeof(q), m->string));
    }
    name = cJSON_GetObjectItemCaseSensitive(body, "name");
    st = policy_name_check(cJSON_IsString(name) ? name->valuestring : NULL, "access group", err);
    if (st)
        return st;
    st = policy_grants_parse(cJSON_GetObjectItemCaseSensitive(body, "grants"), "grants", out_grants,
                             out_n, err);
    if (st)
        return st;
    policy_name_key(name->valuestring, out_key, POLICY_NAME_MAX + 1);
    *out_name = name->valuestring;
    return GH_OK;
}

/* See engine.h. */
enum gh_status policy_engine_group_create(struct policy_engine *pe, const cJSON *body,
                                          struct gh_err *err)
{
    const char *name = NULL;
    struct policy_grant *grants = NULL;
    size_t ngrants = 0;
    char key[POLICY_NAME_MAX + 1];
    cJSON *gj = NULL;
    char *text = NULL;
    enum gh_status st;

    st = policy_group_body_parse(body, &name, key, &grants, &ngrants, err);
    if (st)
        return st;
    gj = policy_grants_json(grants, ngrants);
    text = cJSON_PrintUnformatted(gj);
    {
        struct store_access_group_def def = {key, name, text};
        pthread_mutex_lock(&pe->change_lock);
        st = store_access_group_create(pe->store, &def, err);
        if (st == GH_OK)
            st = policy_engine_publish(pe, err);
        pthread_mutex_unlock(&pe->change_lock);
    }
    cJSON_free(text);
    cJSON_Delete(gj);
    policy_grants_free(grants, ngrants);
    return st;
}

/* See engine.h. */
enum gh_status policy_engine_group_update(struct policy_engine *pe, const char *name,
                                          const cJSON *body, struct gh_err *err)
{
    const char *new_name = NULL;
    struct policy_grant *grants = NULL;
    size_t ngrants = 0;
    char key[POLICY_NAME_MAX + 1], new_key[POLICY_NAME_MAX + 1];
    cJSON *full = NULL, *gj = NULL;
    char *text = NULL;
    enum gh_status st;

    policy_name_key(name, key, sizeof(key));
    /* a PUT may leave the name out: it stays as it is in the path */
    if (cJSON_IsObject(body) && cJSON_GetObjectItemCaseSensitive(body, "name") == NULL) {
        full = cJSON_Duplicate(body, true);
        cJSON_AddStringToObject(full, "name", name);
        body = full;
    }
    st = policy_group_body_parse(body, &new_name, new_key, &grants, &ngrants, err);
    if (st)
        goto out;
    /* Why: links and membership cut-offs are kept per key; a new key would silently move the
     * access group to another IdP group (or none), so a rename is an explicit create + delete. */
    if (strcmp(key, new_key) != 0) {
        char q[80];
        st = GH_ERR(err, GH_E_INVALID,
                    "name %s has another link key than the access group in the path: create "
                    "the new access group and delete this one",
                    gh_log_q(q, sizeof(q), new_name));
        goto out;
    }
    gj = policy_grants_json(grants, ngrants);
    text = cJSON_PrintUnformatted(gj);
    {
        struct store_access_group_def def = {key, new_name, text};
        pthread_mutex_lock(&pe->change_lock);
        st = store_access_group_update(pe->store, &def, err);
        if (st == GH_OK)
            st = policy_engine_publish(pe, err);
        pthread_mutex_unlock(&pe->change_lock);
    }
out:
    cJSON_free(text);
    cJSON_Delete(gj);
    cJSON_Delete(full);
    policy_grants_free(grants, ngrants);
    return st;
}

/* See engine.h. */
const char *policy_engine_path(const struct policy_engine *pe)
{
    return pe->path;
}

/* See engine.h. */
enum gh_status policy_engine_group_delete(struct policy_engine *pe, const char *name,
                                          struct gh_err *err)
{
    char key[POLICY_NAME_MAX + 1];
    enum gh_status st;

    policy_name_key(name, key, sizeof(key));
    pthread_mutex_lock(&pe->change_lock);
    st = store_access_group_delete(pe->store, key, err);
    if (st == GH_OK)
        st = policy_engine_publish(pe, err);
    pthread_mutex_unlock(&pe->change_lock);
    return st;
}

/* See engine.h. */
void policy_engine_counts(const struct policy_engine *pe, unsigned long *out_ok,
                          unsigned long *out_failed)
{
    *out_ok = atomic_load(&((struct policy_engine *)pe)->reloads_ok);
    *out_failed = atomic_load(&((struct policy_engine *)pe)->reloads_failed);
}

/* See engine.h. */
struct policy_snapshot *policy_engine_acquire(struct policy_engine *pe)
{
    struct policy_snapshot *s;
    pthread_mutex_lock(&pe->lock);
    s = pe->current;
    atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&pe->lock);
    return s;
}

static int policy_snapshot_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct policy_group *)elem)->key);
}

/* See engine.h. */
const struct policy_group *policy_snapshot_group(const struct policy_snapshot *snap,
                                                 const char *key)
{
    if (snap->ngroups == 0)
        return NULL;
    return bsearch(key, snap->groups, snap->ngroups, sizeof(*snap->groups), policy_snapshot_cmp);
}

/* See engine.h. */
const struct policy_doc *policy_snapshot_doc(const struct policy_snapshot *snap)
{
    return snap->doc->doc;
}

/* See engine.h. */
size_t policy_snapshot_group_count(const struct policy_snapshot *snap)
{
    return snap->ngroups;
}

/* See engine.h. */
const struct policy_group *policy_snapshot_group_at(const struct policy_snapshot *snap, size_t i)
{
    return i < snap->ngroups ? &snap->groups[i] : NULL;
}

/* See engine.h: computed when the snapshot was built; borrowed from it. Thread-safe. */
const char *policy_snapshot_revision(const struct policy_snapshot *snap)
{
    return snap->revision;
}
