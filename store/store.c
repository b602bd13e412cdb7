/*
 * store.c - the identity store's dispatching layer: picks a backend at open time and forwards
 * each call through its struct store_ops, and keeps what does not depend on the backend: the
 * generation readers compare, the "cannot write" condition (/readyz, /metrics), the change
 * counters and their listener, the /metrics collector, ids and timestamps.
 *
 * Invariant: the generation moves after, never before, a commit is durable, so a reader that
 * saw generation g and reads again sees at least every write counted in g.
 */
#include "core/core.h"
#include "store/index_int.h"
#include "store/store_int.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The backends, in the order they are asked whether they serve a target; SQLite takes any path,
 * so it stays last when another backend (a postgresql:// URL) is added. */
static const struct store_ops *const store_backends[] = {&store_pg_ops, &store_sqlite_ops};

#define STORE_POLL_MS_DEFAULT      1000
#define STORE_CHANGES_KEEP_DEFAULT 100000
#define STORE_PRUNE_EVERY_DEFAULT  60

static void *store_poller_main(void *arg);

/* Bring the index up to date; log only the transitions between reachable and not. An access
 * group change it read is left for the poller to announce (access_pending): the caller may be
 * a request thread, or hold the policy engine's lock (a policy reload's own write), and the
 * hook takes that lock. */
static enum gh_status store_sync(struct store *s, bool *out_access, struct gh_err *err)
{
    char q[GH_ERR_MSG_MAX + 8];
    enum gh_status st = store_index_sync(s->index, s, out_access, err);

    if (st == GH_OK && *out_access) {
        atomic_store(&s->access_pending, true);
        pthread_cond_broadcast(&s->wake); /* without wake_lock: the poller may hold it */
    }
    if (st == GH_OK) {
        if (!atomic_exchange(&s->reachable, true))
            gh_log(GH_LOG_WARN, "store", "\"store reachable again: index current\" revision=%lld",
                   (long long)store_index_revision(s->index));
    } else {
        atomic_fetch_add(&s->sync_failures, 1);
        if (atomic_exchange(&s->reachable, false))
            gh_log(GH_LOG_ERROR, "store",
                   "\"cannot read the change feed: decisions continue from the index\" "
                   "revision=%lld err=%s",
                   (long long)store_index_revision(s->index), gh_log_q(q, sizeof(q), err->msg));
    }
    return st;
}

/*
 * Open the store at target with the first backend that accepts it, migrated to the current
 * schema, load its decision index and start the poller that keeps the index current. On success
 * *out_store is owned by the caller (store_close); on failure nothing is left open and err says
 * why.
 */
enum gh_status store_open_with(const char *target, const struct store_open_opts *opts,
                               struct store **out_store, struct gh_err *err)
{
    const struct store_ops *ops = NULL;
    struct store *s = NULL;
    enum gh_status st;

    *out_store = NULL;
    for (size_t i = 0; i < sizeof(store_backends) / sizeof(store_backends[0]) && ops == NULL; i++)
        if (store_backends[i]->accepts(target))
            ops = store_backends[i];
    if (ops == NULL)
        return GH_ERR(err, GH_E_INVALID, "no store backend for \"%.100s\"", target);
    st = ops->open(target, &s, err);
    if (st)
        return st;
    s->opts.poll_ms = opts != NULL && opts->poll_ms > 0 ? opts->poll_ms : STORE_POLL_MS_DEFAULT;
    s->opts.changes_keep =
        opts != NULL && opts->changes_keep > 0 ? opts->changes_keep : STORE_CHANGES_KEEP_DEFAULT;
    s->opts.prune_every_s =
        opts != NULL && opts->prune_every_s > 0 ? opts->prune_every_s : STORE_PRUNE_EVERY_DEFAULT;
    s->index = store_index_new();
    st = store_index_reload(s->index, s, err);
    if (st == GH_OK && pthread_create(&s->poller, NULL, store_poller_main, s) != 0)
        st = GH_ERR(err, GH_E_INTERNAL, "cannot start the store poller");
    if (st) {
        store_close(s);
        return st;
    }
    s->poller_started = true;
    *out_store = s;
    return GH_OK;
}

/* See store.h: store_open_with and the default options. */
enum gh_status store_open(const char *target, struct store **out_store, struct gh_err *err)
{
    return store_open_with(target, NULL, out_store, err);
}

/* Close the store (NULL is a no-op). Not thread-safe: call after the last request completed. */
void store_close(struct store *s)
{
    if (s == NULL)
        return;
    if (s->poller_started) {
        pthread_mutex_lock(&s->wake_lock);
        atomic_store(&s->stopping, true);
        pthread_cond_broadcast(&s->wake);
        pthread_mutex_unlock(&s->wake_lock);
        pthread_join(s->poller, NULL);
    }
    store_index_free(s->index);
    pthread_mutex_destroy(&s->wake_lock);
    pthread_cond_destroy(&s->wake);
    s->ops->close(s);
}

/*
 * The poller: waits for a change announced by another process (the backend's wait: PostgreSQL
 * LISTEN) or poll_ms, then replays what was committed; prunes the change log now and then. A
 * sync that fails (store unreachable) leaves the index as it was: decisions go on from it and
 * its age grows until GATEHOUSE_MAX_STALENESS makes them deny.
 */
/* The monotonic clock in ms. */
static int64_t store_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The poller's wait for the next sync: the backend's announcement (a return well before the
 * slice ended) or poll_ms, in slices of at most STORE_WAIT_SLICE_MS so store_close is never
 * kept waiting longer than that. */
#define STORE_WAIT_SLICE_MS 250

/* An access change waits for the hook (kept pending while none is registered). */
static bool store_poller_access_due(struct store *s)
{
    bool due;
    pthread_mutex_lock(&s->wake_lock);
    due = atomic_load(&s->access_pending) && s->access_hook != NULL;
    pthread_mutex_unlock(&s->wake_lock);
    return due;
}

static void store_poller_wait(struct store *s)
{
    int64_t start = store_mono_ms();
    while (!atomic_load(&s->stopping)) {
        int64_t left = s->opts.poll_ms - (store_mono_ms() - start);
        int slice = (int)(left < STORE_WAIT_SLICE_MS ? left : STORE_WAIT_SLICE_MS);
        struct gh_err err = {0};
        int64_t t0 = store_mono_ms();
        if (slice <= 0)
            return;
        if (store_poller_access_due(s))
            return;
        if (s->ops->wait != NULL && s->ops->wait(s, slice, &err) == GH_OK) {
            if (store_mono_ms() - t0 < slice - 2)
                return; /* announced */
            continue;
        }
        {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += (long)slice * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            pthread_mutex_lock(&s->wake_lock);
            if (!atomic_load(&s->stopping) &&
                !(atomic_load(&s->access_pending) && s->access_hook != NULL))
                pthread_cond_timedwait(&s->wake, &s->wake_lock, &until);
            pthread_mutex_unlock(&s->wake_lock);
        }
    }
}

static void *store_poller_main(void *arg)
{
    struct store *s = arg;
    int64_t last_prune = 0;

    while (!atomic_load(&s->stopping)) {
        struct gh_err err = {0};
        bool access = false;
        struct timespec now;

        store_poller_wait(s);
        if (atomic_load(&s->stopping))
            break;
        memset(&err, 0, sizeof(err));
        (void)store_sync(s, &access, &err);
        pthread_mutex_lock(&s->wake_lock); /* the hook is not removed while it runs */
        if (s->access_hook != NULL && atomic_exchange(&s->access_pending, false))
            s->access_hook(s->access_hook_ctx);
        pthread_mutex_unlock(&s->wake_lock);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - last_prune >= s->opts.prune_every_s) {
            last_prune = now.tv_sec;
            memset(&err, 0, sizeof(err));
            if (atomic_load(&s->reachable) && s->ops->prune(s, s->opts.changes_keep, &err) != GH_OK)
                gh_log(GH_LOG_WARN, "store", "\"pruning the change log failed\" err=%s",
                       gh_log_q((char[GH_ERR_MSG_MAX + 8]){0}, GH_ERR_MSG_MAX + 8, err.msg));
        }
    }
    return NULL;
}

/* After a write through this process committed: replay it into the index before the caller
 * answers, so the next decision here reflects it. The write itself stands when it cannot be
 * read back (the store lost right after COMMIT); the index is then marked behind, so decisions
 * here deny (GATEHOUSE_MAX_STALENESS is exceeded) until the poller's next sync succeeds, rather
 * than answer from an index that misses what this replica acknowledged. */
static void store_after_write(struct store *s)
{
    struct gh_err err = {0};
    bool access = false;
    if (store_sync(s, &access, &err) != GH_OK)
        store_index_mark_behind(s->index);
}

/* See store.h. */
int64_t store_revision(const struct store *s)
{
    return store_index_revision(s->index);
}

/* See store.h. */
int64_t store_index_age(const struct store *s)
{
    return store_index_age_ms(s->index);
}

/* See store.h. Polls the feed itself every 50 ms while it waits (the poller may be blocked in
 * the backend's wait). */
bool store_revision_wait(struct store *s, int64_t rev, int timeout_ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct gh_err err = {0};
        bool access = false;
        int64_t spent;
        if (store_index_revision(s->index) >= rev)
            return true;
        /* while the store is unreachable only the poller retries it: a waiting request must
         * not spend its bound (or more: a connect timeout) on a connection attempt */
        if (atomic_load(&s->reachable))
            (void)store_sync(s, &access, &err);
        if (store_index_revision(s->index) >= rev)
            return true;
        clock_gettime(CLOCK_MONOTONIC, &t);
        spent = (int64_t)(t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (spent >= timeout_ms)
            return false;
        if (store_index_wait(s->index, rev,
                             (int)(timeout_ms - spent < 50 ? timeout_ms - spent : 50)))
            return true;
    }
}

/* See store.h. */
void store_status(struct store *s, struct store_status *out)
{
    struct store_index_counts c;
    store_index_counts(s->index, &c);
    out->backend = s->ops->name;
    out->revision = store_index_revision(s->index);
    out->age_ms = store_index_age_ms(s->index);
    out->revision_age_ms = store_index_revision_age_ms(s->index);
    out->reachable = atomic_load(&s->reachable);
    out->sync_failures = atomic_load(&s->sync_failures);
    out->users = c.users;
    out->groups = c.groups;
    out->memberships = c.memberships;
}

/* See store.h. */
bool store_reachable(void *ctx, const char **out_reason)
{
    struct store *s = ctx;
    if (atomic_load(&s->reachable))
        return true;
    *out_reason = "cannot read the store's change feed: decisions are answered from the "
                  "in-memory index (see store.age_ms) until GATEHOUSE_MAX_STALENESS, SCIM writes "
                  "answer 503";
    return false;
}

/* See store.h. NULL fn removes the hook; once this returns the old hook is not running. */
void store_on_access_change(struct store *s, void (*fn)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&s->wake_lock);
    s->access_hook = fn;
    s->access_hook_ctx = ctx;
    pthread_cond_broadcast(&s->wake); /* a change read before it was registered is due */
    pthread_mutex_unlock(&s->wake_lock);
}

/* See store.h. */
enum gh_status store_subject_lookup(struct store *s, enum store_user_key key, const char *value,
                                    store_subject_fn fn_sub, store_access_fn fn_access, void *ctx,
                                    int64_t *out_not_before, int64_t *out_rev, struct gh_err *err)
{
    return store_index_lookup(s->index, key, value, fn_sub, fn_access, ctx, out_not_before, out_rev,
                              err);
}

/* Set up the common part of a freshly allocated (zeroed) store. */
void store_base_init(struct store *s, const struct store_ops *ops)
{
    s->ops = ops;
    atomic_init(&s->writable, true);
    atomic_init(&s->reachable, true);
    atomic_init(&s->access_pending, false);
    pthread_mutex_init(&s->wake_lock, NULL);
    pthread_cond_init(&s->wake, NULL);
}

/* The schema version the store is at (after migrations). */
int store_schema_version(struct store *s)
{
    return s->ops->schema_version(s);
}

/* /readyz probe: the store is ready when it answers a trivial query. Any thread. */
bool store_ready(void *ctx, const char **out_reason)
{
    struct store *s = ctx;
    /* A shared store (one that announces other processes' commits) being unreachable does not
     * stop decisions: they go on from the index, and store_reachable (advisory) reports it. */
    if (s->ops->wait != NULL)
        return true;
    return s->ops->ready(s, out_reason);
}

/* /readyz check (advisory): false while writes are refused because the store cannot write. */
bool store_writable(void *ctx, const char **out_reason)
{
    struct store *s = ctx;
    if (atomic_load(&s->writable))
        return true;
    *out_reason = "cannot write (disk full, file size limit, I/O error, read-only database, or "
                  "PostgreSQL unreachable): writes answer 503 until one succeeds; reads and "
                  "decisions are served";
    return false;
}

/* See store.h. Lock-free. */
uint64_t store_generation(const struct store *s)
{
    return atomic_load(&((struct store *)s)->generation);
}

/*
 * Track the outcome of one write transaction (writer lock held). A commit bumps the generation.
 * A commit that wrote a row clears the "cannot write" condition, a write refused as
 * GH_E_UNAVAILABLE sets it. A commit that wrote nothing (a retried request already applied)
 * touched no page, so it says nothing about the disk and changes nothing here. Only the
 * transitions are logged, so a full disk under Entra's retries does not flood the log (each
 * refused request still has its access line and "handler failed" line).
 */
void store_write_done(struct store *s, enum gh_status rc, bool wrote, struct gh_err *err)
{
    char q[GH_ERR_MSG_MAX + 8];

    if (rc == GH_OK)
        atomic_fetch_add(&s->generation, 1);
    if (rc == GH_OK && wrote) {
        if (!atomic_exchange(&s->writable, true))
            gh_log(GH_LOG_WARN, "store", "\"store writable again\"");
    } else if (rc == GH_E_UNAVAILABLE) {
        atomic_fetch_add(&s->write_failures, 1);
        if (atomic_exchange(&s->writable, false))
            gh_log(GH_LOG_ERROR, "store",
                   "\"store cannot write: writes answer 503 until one succeeds\" err=%s",
                   gh_log_q(q, sizeof(q), err != NULL ? err->msg : ""));
    }
}

/* ---- resources: forwarded to the backend (see store.h for each contract) ---- */

enum gh_status store_create(struct store *s, enum store_kind kind, const struct store_row *row,
                            const struct store_members_change *members, struct store_rec *out,
                            struct gh_err *err)
{
    enum gh_status st = s->ops->create(s, kind, row, members, out, err);
    if (st == GH_OK)
        store_after_write(s);
    return st;
}

enum gh_status store_get(struct store *s, enum store_kind kind, const char *id,
                         struct store_rec *out, struct gh_err *err)
{
    return s->ops->get(s, kind, id, out, err);
}

enum gh_status store_update(struct store *s, enum store_kind kind, const char *id,
                            store_update_fn fn, void *ctx, struct store_rec *out,
                            struct gh_err *err)
{
    enum gh_status st = s->ops->update(s, kind, id, fn, ctx, out, err);
    if (st == GH_OK)
        store_after_write(s);
    return st;
}

enum gh_status store_delete(struct store *s, enum store_kind kind, const char *id,
                            int64_t expect_version, struct gh_err *err)
{
    enum gh_status st = s->ops->del(s, kind, id, expect_version, err);
    if (st == GH_OK)
        store_after_write(s);
    return st;
}

enum gh_status store_list(struct store *s, enum store_kind kind, const struct store_query *q,
                          struct store_rec_list *out, struct gh_err *err)
{
    return s->ops->list(s, kind, q, out, err);
}

enum gh_status store_user_find(struct store *s, enum store_user_key key, const char *value,
                               struct store_rec *out, struct gh_err *err)
{
    /* the SQL backends know userName and externalId only (store.h) */
    if (key == STORE_KEY_ID) {
        memset(out, 0, sizeof(*out));
        return GH_ERR(err, GH_E_INVALID, "look-up by SCIM id goes through store_subject_lookup");
    }
    return s->ops->user_find(s, key, value, out, err);
}

enum gh_status store_group_members(struct store *s, const char *group_id, store_member_fn fn,
                                   void *ctx, struct gh_err *err)
{
    return s->ops->group_members(s, group_id, fn, ctx, err);
}

enum gh_status store_user_groups(struct store *s, const char *user_id, store_member_fn fn,
                                 void *ctx, struct gh_err *err)
{
    return s->ops->user_groups(s, user_id, fn, ctx, err);
}

/* ---- access groups, links, subjects: forwarded ---- */

enum gh_status store_access_groups_sync(struct store *s, const struct store_access_group_def *defs,
                                        size_t n, struct gh_err *err)
{
    enum gh_status st = s->ops->access_groups_sync(s, defs, n, err);
    if (st == GH_OK)
        store_after_write(s);
    return st;
}

enum gh_status store_access_group_create(struct store *s, const struct store_access_group_def *def,
                                         struct gh_err *err)
{
    enum gh_status st = s->ops->access_group_create(s, def, err);
    if (st == GH_OK)
        store_after_write(s);
    return st;
}

enum gh_status store_access_group_delete(struct store *s, const char *key, struct gh_err *err)
{
    enum gh_status st = s->ops->access_group_delete(s, key, err);
    if (st == GH_OK)
        store_after_write(s);
    return st;
}

enum gh_status store_access_group_update(struct store *s, const struct store_access_group_def *def,
                                         struct gh_err *err)
{
    enum gh_status st = s->ops->access_group_update(s, def, err);
    if (st == GH_OK)
        store_after_write(s);
    return st;
}

enum gh_status store_access_groups(struct store *s, store_access_group_fn fn, void *ctx,
                                   struct gh_err *err)
{
    return s->ops->access_groups(s, fn, ctx, err);
}

enum gh_status store_group_names(struct store *s, store_group_name_fn fn, void *ctx,
                                 struct gh_err *err)
{
    return s->ops->group_names(s, fn, ctx, err);
}

enum gh_status store_subject_find(struct store *s, enum store_user_key key, const char *value,
                                  struct store_subject *out, struct gh_err *err)
{
    /* the SQL backends know userName and externalId only (store.h) */
    if (key == STORE_KEY_ID) {
        memset(out, 0, sizeof(*out));
        return GH_ERR(err, GH_E_INVALID, "look-up by SCIM id goes through store_subject_lookup");
    }
    return s->ops->subject_find(s, key, value, out, err);
}

enum gh_status store_subject_access(struct store *s, const char *user_id, store_access_fn fn,
                                    void *ctx, struct gh_err *err)
{
    return s->ops->subject_access(s, user_id, fn, ctx, err);
}

/* ---- records ---- */

/* Release a record's body. */
void store_rec_clear(struct store_rec *r)
{
    if (r == NULL)
        return;
    free(r->body);
    r->body = NULL;
}

/* Release every record of a list page. */
void store_rec_list_clear(struct store_rec_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->count; i++)
        store_rec_clear(&l->items[i]);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* Free what store_subject_find allocated. */
void store_subject_clear(struct store_subject *sub)
{
    if (sub == NULL)
        return;
    free(sub->user_name);
    free(sub->external_id);
    sub->user_name = NULL;
    sub->external_id = NULL;
}

/* ---- the link key of a name ---- */

/* The bytes SQLite's trim(x, char(9,10,11,12,13,32)) removed in schema version 2. */
static bool store_name_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* See store.h. Byte-wise and ASCII-only on purpose: it is the rule SQLite's lower(trim()) applied
 * before the key became a column, so keys stored by schema version 2 do not change meaning. */
size_t store_name_key(const char *name, char *out, size_t cap)
{
    const char *s = name, *e = name + strlen(name);
    size_t n = 0;

    GH_ASSERT(cap > 0);
    while (s < e && store_name_is_space((unsigned char)*s))
        s++;
    while (e > s && store_name_is_space((unsigned char)e[-1]))
        e--;
    for (; s < e && n + 1 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        out[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[n] = '\0';
    return n;
}

/* ---- ids and timestamps ---- */

/* meta.created/lastModified text: UTC with milliseconds, which orders as text. */
void store_now(char out[STORE_TS_LEN + 1])
{
    struct timespec ts;
    struct tm tm;
    char base[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, STORE_TS_LEN + 1, "%.19s.%03dZ", base, (int)(ts.tv_nsec / 1000000));
}

/* A random (version 4) UUID: ids are unguessable and never reused. */
void store_new_id(char out[STORE_ID_LEN + 1])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        gh_assert_fail("RAND_bytes", __FILE__, __LINE__);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, STORE_ID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

/* ---- change events ---- */

/* Register the change listener; start-up only (not synchronised with writers). */
void store_listen(struct store *s, store_listener_fn fn, void *ctx)
{
    s->listener = fn;
    s->listener_ctx = ctx;
}

void store_evq_push(struct store_evq *q, enum store_event_type t, const char *id)
{
    GH_ASSERT(q->n < sizeof(q->ev) / sizeof(q->ev[0]));
    q->ev[q->n].type = t;
    q->ev[q->n].id = id;
    q->n++;
}

static void store_evq_member(const char ***arr, size_t *n, size_t *cap, const char *id)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *arr = gh_xrealloc(*arr, *cap * sizeof(**arr));
    }
    (*arr)[(*n)++] = id;
}

void store_evq_added(struct store_evq *q, const char *id)
{
    store_evq_member(&q->added, &q->nadded, &q->cap_added, id);
}

void store_evq_removed(struct store_evq *q, const char *id)
{
    store_evq_member(&q->removed, &q->nremoved, &q->cap_removed, id);
}

const char *store_evq_strdup(struct store_evq *q, const char *id)
{
    if (q->ids == NULL)
        q->ids = gh_arena_new();
    return gh_arena_strdup(q->ids, id);
}

void store_evq_discard(struct store_evq *q)
{
    free(q->added);
    free(q->removed);
    gh_arena_free(q->ids);
}

void store_evq_emit(struct store *s, struct store_evq *q, const char *ts)
{
    for (size_t i = 0; i < q->n; i++)
        atomic_fetch_add(&s->changes[q->ev[i].type], 1);
    atomic_fetch_add(&s->changes[STORE_EV_MEMBERS_ADDED], q->nadded);
    atomic_fetch_add(&s->changes[STORE_EV_MEMBERS_REMOVED], q->nremoved);
    if (s->listener != NULL) {
        for (size_t i = 0; i < q->n; i++) {
            q->ev[i].ts = ts;
            s->listener(s->listener_ctx, &q->ev[i]);
        }
        if (q->nadded > 0) {
            struct store_event e = {STORE_EV_MEMBERS_ADDED, q->members_of, ts, q->added, q->nadded};
            s->listener(s->listener_ctx, &e);
        }
        if (q->nremoved > 0) {
            struct store_event e = {STORE_EV_MEMBERS_REMOVED, q->members_of, ts, q->removed,
                                    q->nremoved};
            s->listener(s->listener_ctx, &e);
        }
    }
    store_evq_discard(q);
}

/* ---- metrics ---- */

/*
 * Prometheus collector: how many users (by active), groups and memberships are stored (read by
 * the backend in one read transaction, so the figures agree), and the changes committed since
 * start. Called on /metrics scrapes from any thread.
 */
void store_metrics(void *ctx, struct gh_buf *out)
{
    static const char *const ev_names[] = {
        "user_created",  "user_changed",  "user_deleted",  "group_created",   "group_changed",
        "group_renamed", "group_deleted", "members_added", "members_removed",
    };
    struct store *s = ctx;
    struct store_counts n;
    char labels[64];

    s->ops->counts(s, &n);
    gh_metrics_family(out, "gatehouse_scim_users", "gauge", "Users in the identity store");
    gh_metrics_sample(out, "gatehouse_scim_users", "active=\"true\"", (double)n.active);
    gh_metrics_sample(out, "gatehouse_scim_users", "active=\"false\"", (double)n.inactive);
    gh_metrics_family(out, "gatehouse_scim_groups", "gauge", "Groups in the identity store");
    gh_metrics_sample(out, "gatehouse_scim_groups", "", (double)n.groups);
    gh_metrics_family(out, "gatehouse_scim_memberships", "gauge",
                      "Direct group memberships in the identity store");
    gh_metrics_sample(out, "gatehouse_scim_memberships", "", (double)n.members);
    gh_metrics_family(out, "gatehouse_store_writable", "gauge",
                      "1 when the store takes writes, 0 after a write refused for lack of space, "
                      "an I/O error or a read-only database (until a write succeeds)");
    gh_metrics_sample(out, "gatehouse_store_writable", "", atomic_load(&s->writable) ? 1 : 0);
    gh_metrics_family(out, "gatehouse_store_write_failures_total", "counter",
                      "Writes refused (503) because the store could not write");
    gh_metrics_sample(out, "gatehouse_store_write_failures_total", "",
                      (double)atomic_load(&s->write_failures));
    {
        struct store_status ss;
        store_status(s, &ss);
        gh_metrics_family(out, "gatehouse_store_revision", "gauge",
                          "Store revision (change feed) this process's decision index is at");
        gh_metrics_sample(out, "gatehouse_store_revision", "", (double)ss.revision);
        gh_metrics_family(out, "gatehouse_store_index_age_seconds", "gauge",
                          "Seconds since the decision index last confirmed it was current");
        gh_metrics_sample(out, "gatehouse_store_index_age_seconds", "", (double)ss.age_ms / 1000.0);
        gh_metrics_family(out, "gatehouse_store_reachable", "gauge",
                          "1 when the last read of the store's change feed succeeded");
        gh_metrics_sample(out, "gatehouse_store_reachable", "", ss.reachable ? 1 : 0);
        gh_metrics_family(out, "gatehouse_store_sync_failures_total", "counter",
                          "Reads of the change feed that failed (store unreachable)");
        gh_metrics_sample(out, "gatehouse_store_sync_failures_total", "", (double)ss.sync_failures);
        gh_metrics_family(out, "gatehouse_store_index_memberships", "gauge",
                          "User memberships held by the in-memory decision index");
        gh_metrics_sample(out, "gatehouse_store_index_memberships", "", (double)ss.memberships);
    }
    gh_metrics_family(out, "gatehouse_scim_changes_total", "counter",
                      "Changes committed since start, by event (members: one per member)");
    for (size_t i = 0; i < sizeof(ev_names) / sizeof(ev_names[0]); i++) {
        snprintf(labels, sizeof(labels), "event=\"%s\"", ev_names[i]);
        gh_metrics_sample(out, "gatehouse_scim_changes_total", labels,
                          (double)atomic_load(&s->changes[i]));
    }
}
