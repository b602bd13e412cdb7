/*
 * index.c - the in-memory decision index (index_int.h): users, their direct groups, links,
 * cut-offs and tombstones, replayed from the change feed.
 *
 * Data: string-keyed chained hash maps (ix_map) from id to user and to group, from the folded
 * userName to user, from externalId to users (several may share one: entries are not unique),
 * from access-group key to linked group, and from (kind, folded value) to tombstone. A user
 * holds an array of its groups and of its cut-offs (one per access key; the "" key is the
 * user's own deactivation cut-off). A lookup is two hash probes plus a walk of the user's
 * groups: flat from 1k to 1M memberships.
 *
 * Locking: readers take ix->lock shared for one lookup. store_index_sync is serialised by
 * ix->sync_lock; it copies each batch of changes into an arena without any lock, then takes
 * ix->lock exclusive only to apply it. A reload builds a new struct ix_data unlocked and swaps
 * the pointer under the exclusive lock.
 */
#include "core/core.h"
#include "store/index_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IX_BATCH 5000

/* ---- a string-keyed chained hash map (keys borrowed from the values) ---- */
struct ix_entry {
    struct ix_entry *next;
    uint64_t h;
    const char *key;
    void *val;
};

struct ix_map {
    struct ix_entry **b;
    size_t nb, n;
};

static uint64_t ix_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static void ix_map_free(struct ix_map *m)
{
    for (size_t i = 0; i < m->nb; i++) {
        struct ix_entry *e = m->b[i], *next;
        for (; e != NULL; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(m->b);
    memset(m, 0, sizeof(*m));
}

static void ix_map_grow(struct ix_map *m)
{
    size_t nb = m->nb ? m->nb * 2 : 64;
    struct ix_entry **b = gh_xcalloc(nb, sizeof(struct ix_entry *));
    for (size_t i = 0; i < m->nb; i++) {
        struct ix_entry *e = m->b[i], *next;
        for (; e != NULL; e = next) {
            next = e->next;
            e->next = b[e->h & (nb - 1)];
            b[e->h & (nb - 1)] = e;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
}

/* Add an entry (duplicates allowed). */
static void ix_map_add(struct ix_map *m, const char *key, void *val)
{
    struct ix_entry *e = gh_xmalloc(sizeof(*e));
    if (m->n >= m->nb)
        ix_map_grow(m);
    e->h = ix_hash(key);
    e->key = key;
    e->val = val;
    e->next = m->b[e->h & (m->nb - 1)];
    m->b[e->h & (m->nb - 1)] = e;
    m->n++;
}

/* The first value under key, or NULL. */
static void *ix_map_get(const struct ix_map *m, const char *key)
{
    uint64_t h;
    if (m->nb == 0)
        return NULL;
    h = ix_hash(key);
    for (struct ix_entry *e = m->b[h & (m->nb - 1)]; e != NULL; e = e->next)
        if (e->h == h && strcmp(e->key, key) == 0)
            return e->val;
    return NULL;
}

/* Remove the entry (key, val); val NULL: the first under key. */
static void ix_map_del(struct ix_map *m, const char *key, const void *val)
{
    uint64_t h;
    if (m->nb == 0)
        return;
    h = ix_hash(key);
    for (struct ix_entry **p = &m->b[h & (m->nb - 1)]; *p != NULL; p = &(*p)->next) {
        struct ix_entry *e = *p;
        if (e->h == h && strcmp(e->key, key) == 0 && (val == NULL || e->val == val)) {
            *p = e->next;
            free(e);
            m->n--;
            return;
        }
    }
}

/* ---- the data ---- */
struct ix_group {
    char *id, *name;
    char *link; /* the access key linked to this group, or NULL (owned) */
};

struct ix_cut {
    char *key;
    int64_t at;
};

struct ix_user {
    char *id, *user_name, *name_key, *external_id;
    bool active;
    int64_t seq; /* creation order (externalId ties: the oldest wins, as the SQL does) */
    struct ix_cut *cuts;
    size_t ncuts, capcuts;
    struct ix_group **groups;
    size_t ngroups, capgroups;
};

struct ix_tomb {
    char *key; /* kind digit + folded value */
    int64_t at;
};

struct ix_data {
    struct ix_map users;  /* id -> ix_user */
    struct ix_map names;  /* name_key -> ix_user */
    struct ix_map exts;   /* external_id -> ix_user (not unique) */
    struct ix_map groups; /* id -> ix_group */
    struct ix_map links;  /* key -> ix_group */
    struct ix_map tombs;  /* kind+value -> ix_tomb */
    int64_t next_seq;
    size_t memberships, cutoffs;
    bool access_changed;
};

struct store_index {
    pthread_rwlock_t lock;
    pthread_mutex_t sync_lock;
    struct ix_data *d; /* under lock */
    _Atomic int64_t rev;
    _Atomic int64_t synced_ms; /* CLOCK_MONOTONIC ms of the last time the index was current */
    atomic_bool behind;        /* a committed write is known to be missing (set, cleared under
                                  sync_lock) */
    /* CLOCK_MONOTONIC ms of the last time rev moved */
    _Atomic int64_t changed_ms;
    pthread_mutex_t wait_lock;
    pthread_cond_t wait_cond;
};

static int64_t ix_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *ix_dup(const char *s)
{
    return s != NULL ? gh_xstrdup(s) : NULL;
}

/* ASCII case folding, as SQLite's NOCASE (and lower(x COLLATE "C") on PostgreSQL). */
static char *ix_fold(const char *s, char prefix)
{
    size_t n = strlen(s), o = 0;
    char *out = gh_xmalloc(n + 2);
    if (prefix)
        out[o++] = prefix;
    for (size_t i = 0; i <= n; i++) {
        char c = s[i];
        out[o++] = (char)((c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c);
    }
    return out;
}

static void ix_user_free(struct ix_user *u)
{
    free(u->id);
    free(u->user_name);
    free(u->name_key);
    free(u->external_id);
    for (size_t i = 0; i < u->ncuts; i++)
        free(u->cuts[i].key);
    free(u->cuts);
    free(u->groups);
    free(u);
}

static void ix_group_free(struct ix_group *g)
{
    free(g->id);
    free(g->name);
    free(g->link);
    free(g);
}

static void ix_data_free(struct ix_data *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->users.nb; i++)
        for (struct ix_entry *e = d->users.b[i]; e != NULL; e = e->next)
            ix_user_free(e->val);
    for (size_t i = 0; i < d->groups.nb; i++)
        for (struct ix_entry *e = d->groups.b[i]; e != NULL; e = e->next)
            ix_group_free(e->val);
    for (size_t i = 0; i < d->tombs.nb; i++)
        for (struct ix_entry *e = d->tombs.b[i]; e != NULL; e = e->next) {
            struct ix_tomb *t = e->val;
            free(t->key);
            free(t);
        }
    ix_map_free(&d->users);
    ix_map_free(&d->names);
    ix_map_free(&d->exts);
    ix_map_free(&d->groups);
    ix_map_free(&d->links);
    ix_map_free(&d->tombs);
    free(d);
}

/* ---- applying one change ---- */
static void ix_user_unindex(struct ix_data *d, struct ix_user *u)
{
    ix_map_del(&d->names, u->name_key, u);
    if (u->external_id != NULL)
        ix_map_del(&d->exts, u->external_id, u);
}

static void ix_user_index(struct ix_data *d, struct ix_user *u)
{
    ix_map_add(&d->names, u->name_key, u);
    if (u->external_id != NULL)
        ix_map_add(&d->exts, u->external_id, u);
}

static void ix_apply_user(struct ix_data *d, const struct store_change *ch)
{
    struct ix_user *u = ix_map_get(&d->users, ch->a);
    if (ch->b == NULL)
        return;
    if (u == NULL) {
        u = gh_xcalloc(1, sizeof(*u));
        u->id = gh_xstrdup(ch->a);
        u->seq = d->next_seq++;
        ix_map_add(&d->users, u->id, u);
    } else {
        ix_user_unindex(d, u);
        free(u->user_name);
        free(u->name_key);
        free(u->external_id);
    }
    u->user_name = gh_xstrdup(ch->b);
    u->name_key = ix_fold(ch->b, 0);
    u->external_id = ix_dup(ch->c);
    u->active = ch->k != 0;
    ix_user_index(d, u);
}

static void ix_apply_user_gone(struct ix_data *d, const char *id)
{
    struct ix_user *u = ix_map_get(&d->users, id);
    if (u == NULL)
        return;
    ix_user_unindex(d, u);
    ix_map_del(&d->users, u->id, u);
    d->memberships -= u->ngroups;
    d->cutoffs -= u->ncuts;
    ix_user_free(u);
}

static void ix_apply_group(struct ix_data *d, const struct store_change *ch)
{
    struct ix_group *g = ix_map_get(&d->groups, ch->a);
    if (g == NULL) {
        g = gh_xcalloc(1, sizeof(*g));
        g->id = gh_xstrdup(ch->a);
        ix_map_add(&d->groups, g->id, g);
    } else {
        free(g->name);
    }
    g->name = gh_xstrdup(ch->b != NULL ? ch->b : "");
}

static void ix_user_drop_group(struct ix_data *d, struct ix_user *u, const struct ix_group *g)
{
    for (size_t i = 0; i < u->ngroups; i++)
        if (u->groups[i] == g) {
            u->groups[i] = u->groups[--u->ngroups];
            d->memberships--;
            return;
        }
}

/* A group deleted: every user's reference goes (its member rows were logged as 'm' first, so
 * this walk normally finds nothing; it keeps the index safe whatever the backend logged). */
static void ix_apply_group_gone(struct ix_data *d, const char *id)
{
    struct ix_group *g = ix_map_get(&d->groups, id);
    if (g == NULL)
        return;
    for (size_t i = 0; i < d->users.nb; i++)
        for (struct ix_entry *e = d->users.b[i]; e != NULL; e = e->next)
            ix_user_drop_group(d, e->val, g);
    if (g->link != NULL)
        ix_map_del(&d->links, g->link, g);
    ix_map_del(&d->groups, g->id, g);
    ix_group_free(g);
}

static void ix_apply_member(struct ix_data *d, const struct store_change *ch, bool add)
{
    struct ix_group *g = ix_map_get(&d->groups, ch->a);
    struct ix_user *u = ch->b != NULL ? ix_map_get(&d->users, ch->b) : NULL;
    if (g == NULL || u == NULL)
        return; /* a group member, or rows of something already gone */
    ix_user_drop_group(d, u, g);
    if (!add)
        return;
    if (u->ngroups == u->capgroups) {
        u->capgroups = u->capgroups ? u->capgroups * 2 : 4;
        u->groups = gh_xrealloc(u->groups, u->capgroups * sizeof(struct ix_group *));
    }
    u->groups[u->ngroups++] = g;
    d->memberships++;
}

static void ix_apply_unlink(struct ix_data *d, const char *key)
{
    struct ix_group *g = ix_map_get(&d->links, key);
    if (g == NULL)
        return;
    ix_map_del(&d->links, key, g);
    free(g->link);
    g->link = NULL;
}

static void ix_apply_link(struct ix_data *d, const struct store_change *ch)
{
    struct ix_group *g = ch->b != NULL ? ix_map_get(&d->groups, ch->b) : NULL;
    ix_apply_unlink(d, ch->a);
    if (g == NULL)
        return;
    if (g->link != NULL)
        ix_apply_unlink(d, g->link);
    g->link = gh_xstrdup(ch->a);
    ix_map_add(&d->links, g->link, g);
}

static struct ix_cut *ix_user_cut(struct ix_user *u, const char *key)
{
    for (size_t i = 0; i < u->ncuts; i++)
        if (strcmp(u->cuts[i].key, key) == 0)
            return &u->cuts[i];
    return NULL;
}

static void ix_apply_cutoff(struct ix_data *d, const struct store_change *ch, bool set)
{
    struct ix_user *u = ix_map_get(&d->users, ch->a);
    const char *key = ch->b != NULL ? ch->b : "";
    struct ix_cut *c;
    if (u == NULL)
        return;
    c = ix_user_cut(u, key);
    if (!set) {
        if (c != NULL) {
            free(c->key);
            *c = u->cuts[--u->ncuts];
            d->cutoffs--;
        }
        return;
    }
    if (c == NULL) {
        if (u->ncuts == u->capcuts) {
            u->capcuts = u->capcuts ? u->capcuts * 2 : 2;
            u->cuts = gh_xrealloc(u->cuts, u->capcuts * sizeof(*u->cuts));
        }
        c = &u->cuts[u->ncuts++];
        c->key = gh_xstrdup(key);
        d->cutoffs++;
    }
    c->at = ch->n;
}

static void ix_apply_tomb(struct ix_data *d, const struct store_change *ch)
{
    char *key;
    struct ix_tomb *t;
    if (ch->a == NULL)
        return;
    key = ix_fold(ch->a, ch->k ? '1' : '0');
    t = ix_map_get(&d->tombs, key);
    if (t != NULL) {
        free(key);
        t->at = ch->n > t->at ? ch->n : t->at;
        return;
    }
    t = gh_xmalloc(sizeof(*t));
    t->key = key;
    t->at = ch->n;
    ix_map_add(&d->tombs, t->key, t);
}

static void ix_apply(struct ix_data *d, const struct store_change *ch)
{
    if (ch->a == NULL)
        return;
    switch (ch->op) {
    case 'U':
        ix_apply_user(d, ch);
        break;
    case 'u':
        ix_apply_user_gone(d, ch->a);
        break;
    case 'G':
        ix_apply_group(d, ch);
        break;
    case 'g':
        ix_apply_group_gone(d, ch->a);
        break;
    case 'M':
        if (ch->k == 0)
            ix_apply_member(d, ch, true);
        break;
    case 'm':
        ix_apply_member(d, ch, false);
        break;
    case 'L':
        ix_apply_link(d, ch);
        break;
    case 'l':
        ix_apply_unlink(d, ch->a);
        break;
    case 'C':
        ix_apply_cutoff(d, ch, true);
        break;
    case 'c':
        ix_apply_cutoff(d, ch, false);
        break;
    case 'T':
        ix_apply_tomb(d, ch);
        break;
    case 'A':
    case 'a':
        d->access_changed = true;
        break;
    default:
        break; /* a row this version does not know: nothing a decision reads */
    }
}

/* ---- lifecycle ---- */
struct store_index *store_index_new(void)
{
    struct store_index *ix = gh_xcalloc(1, sizeof(*ix));
    pthread_rwlock_init(&ix->lock, NULL);
    pthread_mutex_init(&ix->sync_lock, NULL);
    pthread_mutex_init(&ix->wait_lock, NULL);
    pthread_cond_init(&ix->wait_cond, NULL);
    ix->d = gh_xcalloc(1, sizeof(*ix->d));
    atomic_init(&ix->rev, 0);
    atomic_init(&ix->synced_ms, ix_now_ms());
    atomic_init(&ix->changed_ms, ix_now_ms());
    atomic_init(&ix->behind, false);
    return ix;
}

void store_index_free(struct store_index *ix)
{
    if (ix == NULL)
        return;
    ix_data_free(ix->d);
    pthread_rwlock_destroy(&ix->lock);
    pthread_mutex_destroy(&ix->sync_lock);
    pthread_mutex_destroy(&ix->wait_lock);
    pthread_cond_destroy(&ix->wait_cond);
    free(ix);
}

static void ix_publish(struct store_index *ix, int64_t rev)
{
    pthread_mutex_lock(&ix->wait_lock);
    if (atomic_load(&ix->rev) != rev)
        atomic_store(&ix->changed_ms, ix_now_ms());
    atomic_store(&ix->rev, rev);
    pthread_cond_broadcast(&ix->wait_cond);
    pthread_mutex_unlock(&ix->wait_lock);
}

static bool ix_load_row(void *ctx, const struct store_change *ch)
{
    ix_apply(ctx, ch);
    return true;
}

/* Load into a fresh ix_data and swap (sync_lock held). */
static enum gh_status ix_reload_locked(struct store_index *ix, struct store *s, struct gh_err *err)
{
    struct ix_data *fresh = gh_xcalloc(1, sizeof(*fresh)), *old;
    int64_t rev = 0, started = ix_now_ms();
    enum gh_status st = s->ops->load(s, ix_load_row, fresh, &rev, err);

    if (st) {
        ix_data_free(fresh);
        return st;
    }
    fresh->access_changed = false;
    pthread_rwlock_wrlock(&ix->lock);
    old = ix->d;
    ix->d = fresh;
    pthread_rwlock_unlock(&ix->lock);
    ix_data_free(old);
    ix_publish(ix, rev);
    atomic_store(&ix->synced_ms, started);
    atomic_store(&ix->behind, false);
    return GH_OK;
}

enum gh_status store_index_reload(struct store_index *ix, struct store *s, struct gh_err *err)
{
    enum gh_status st;
    pthread_mutex_lock(&ix->sync_lock);
    st = ix_reload_locked(ix, s, err);
    pthread_mutex_unlock(&ix->sync_lock);
    return st;
}

/* One batch of changes, copied out of the backend's buffers. */
struct ix_batch {
    struct store_change *ch;
    size_t n, cap;
    struct gh_arena *a;
};

static const char *ix_batch_dup(struct ix_batch *b, const char *s)
{
    return s != NULL ? gh_arena_strdup(b->a, s) : NULL;
}

static bool ix_batch_row(void *ctx, const struct store_change *ch)
{
    struct ix_batch *b = ctx;
    struct store_change *c;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->ch = gh_xrealloc(b->ch, b->cap * sizeof(*b->ch));
    }
    c = &b->ch[b->n++];
    *c = *ch;
    c->a = ix_batch_dup(b, ch->a);
    c->b = ix_batch_dup(b, ch->b);
    c->c = ix_batch_dup(b, ch->c);
    return true;
}

enum gh_status store_index_sync(struct store_index *ix, struct store *s, bool *out_access,
                                struct gh_err *err)
{
    struct ix_batch b = {0};
    int64_t started = ix_now_ms();
    enum gh_status st = GH_OK;

    *out_access = false;
    pthread_mutex_lock(&ix->sync_lock);
    for (;;) {
        bool gone = false;
        b.n = 0;
        gh_arena_free(b.a);
        b.a = gh_arena_new();
        st = s->ops->changes(s, atomic_load(&ix->rev), IX_BATCH, ix_batch_row, &b, &gone, err);
        if (st)
            break;
        if (gone) {
            gh_log(GH_LOG_WARN, "store",
                   "\"index fell behind the pruned change log: reloading\" revision=%lld",
                   (long long)atomic_load(&ix->rev));
            st = ix_reload_locked(ix, s, err);
            if (st)
                break;
            *out_access = true;
            continue;
        }
        if (b.n == 0)
            break;
        pthread_rwlock_wrlock(&ix->lock);
        for (size_t i = 0; i < b.n; i++)
            ix_apply(ix->d, &b.ch[i]);
        if (ix->d->access_changed)
            *out_access = true;
        ix->d->access_changed = false;
        pthread_rwlock_unlock(&ix->lock);
        ix_publish(ix, b.ch[b.n - 1].rev);
        if (b.n < IX_BATCH)
            break;
    }
    if (st == GH_OK) {
        atomic_store(&ix->synced_ms, started);
        atomic_store(&ix->behind, false);
    }
    pthread_mutex_unlock(&ix->sync_lock);
    gh_arena_free(b.a);
    free(b.ch);
    return st;
}

int64_t store_index_revision(const struct store_index *ix)
{
    return atomic_load(&((struct store_index *)ix)->rev);
}

int64_t store_index_age_ms(const struct store_index *ix)
{
    struct store_index *m = (struct store_index *)ix;
    if (atomic_load(&m->behind))
        return INT64_MAX;
    return ix_now_ms() - atomic_load(&m->synced_ms);
}

int64_t store_index_revision_age_ms(const struct store_index *ix)
{
    return ix_now_ms() - atomic_load(&((struct store_index *)ix)->changed_ms);
}

/* Under sync_lock: a sync that held it before this call read the feed before the caller's
 * failed read, so only one that takes it after this call clears the mark. */
void store_index_mark_behind(struct store_index *ix)
{
    pthread_mutex_lock(&ix->sync_lock);
    atomic_store(&ix->behind, true);
    pthread_mutex_unlock(&ix->sync_lock);
}

bool store_index_wait(struct store_index *ix, int64_t rev, int timeout_ms)
{
    struct timespec until;
    bool ok;

    if (atomic_load(&ix->rev) >= rev)
        return true;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&ix->wait_lock);
    while (atomic_load(&ix->rev) < rev)
        if (pthread_cond_timedwait(&ix->wait_cond, &ix->wait_lock, &until) != 0)
            break;
    ok = atomic_load(&ix->rev) >= rev;
    pthread_mutex_unlock(&ix->wait_lock);
    return ok;
}

/* ---- the lookup ---- */
/* ASCII-fold value (after an optional prefix byte) into buf when it fits, else a malloc'd
 * copy stored in *heap (freed by the caller). The decision path: no allocation for the usual
 * key. */
static const char *ix_fold_buf(const char *value, char prefix, char *buf, size_t cap, char **heap)
{
    size_t n = strlen(value), o = 0;
    char *out = buf;
    *heap = NULL;
    if (n + 2 > cap)
        out = *heap = gh_xmalloc(n + 2);
    if (prefix)
        out[o++] = prefix;
    for (size_t i = 0; i <= n; i++) {
        char c = value[i];
        out[o++] = (char)((c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c);
    }
    return out;
}

static int64_t ix_tomb_at(const struct ix_data *d, const char *value, char kind)
{
    char buf[256] = "", *heap;
    const struct ix_tomb *t;
    if (d->tombs.n == 0)
        return 0;
    t = ix_map_get(&d->tombs, ix_fold_buf(value, kind, buf, sizeof(buf), &heap));
    free(heap);
    return t != NULL ? t->at : 0;
}

enum gh_status store_index_lookup(struct store_index *ix, enum store_user_key key,
                                  const char *value, store_subject_fn fn_sub,
                                  store_access_fn fn_access, void *ctx, int64_t *out_not_before,
                                  int64_t *out_rev, struct gh_err *err)
{
    const struct ix_data *d;
    const struct ix_user *u = NULL;
    struct store_subject_view v = {0};
    int64_t tomb;
    enum gh_status st = GH_OK;

    pthread_rwlock_rdlock(&ix->lock);
    d = ix->d;
    *out_rev = atomic_load(&ix->rev);
    if (key == STORE_KEY_USER_NAME) {
        char buf[256] = "", *heap;
        u = ix_map_get(&d->names, ix_fold_buf(value, 0, buf, sizeof(buf), &heap));
        free(heap);
        v.matches = u != NULL;
        tomb = ix_tomb_at(d, value, '0');
    } else if (key == STORE_KEY_ID) {
        /* ids are never reused; a predecessor's tombstone is found under the user's names */
        u = ix_map_get(&d->users, value);
        v.matches = u != NULL;
        tomb = 0;
        if (u != NULL) {
            int64_t t2 = u->external_id != NULL ? ix_tomb_at(d, u->external_id, '1') : 0;
            tomb = ix_tomb_at(d, u->user_name, '0');
            if (t2 > tomb)
                tomb = t2;
        }
    } else {
        uint64_t h = ix_hash(value);
        if (d->exts.nb != 0)
            for (struct ix_entry *e = d->exts.b[h & (d->exts.nb - 1)]; e != NULL; e = e->next) {
                const struct ix_user *c = e->val;
                if (e->h != h || strcmp(e->key, value) != 0)
                    continue;
                v.matches++;
                if (u == NULL || c->seq < u->seq)
                    u = c;
            }
        tomb = ix_tomb_at(d, value, '1');
    }
    *out_not_before = tomb;
    if (u == NULL) {
        st = GH_ERR(err, GH_E_NOT_FOUND, "no such user");
        goto out;
    }
    v.id = u->id;
    v.user_name = u->user_name;
    v.external_id = u->external_id;
    v.active = u->active;
    v.not_before = tomb;
    for (size_t i = 0; i < u->ncuts; i++)
        if (u->cuts[i].key[0] == '\0' && u->cuts[i].at > v.not_before)
            v.not_before = u->cuts[i].at;
    *out_not_before = v.not_before;
    fn_sub(ctx, &v);
    if (v.matches == 1 && fn_access != NULL)
        for (size_t i = 0; i < u->ngroups; i++) {
            const struct ix_group *g = u->groups[i];
            const struct ix_cut *c;
            if (g->link == NULL)
                continue;
            c = ix_user_cut((struct ix_user *)u, g->link);
            fn_access(ctx, g->link, g->name, c != NULL ? c->at : 0);
        }
out:
    pthread_rwlock_unlock(&ix->lock);
    return st;
}

void store_index_counts(struct store_index *ix, struct store_index_counts *out)
{
    pthread_rwlock_rdlock(&ix->lock);
    out->users = ix->d->users.n;
    out->groups = ix->d->groups.n;
    out->memberships = ix->d->memberships;
    out->links = ix->d->links.n;
    out->cutoffs = ix->d->cutoffs;
    out->tombstones = ix->d->tombs.n;
    pthread_rwlock_unlock(&ix->lock);
}
