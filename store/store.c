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
#include "store/store_int.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The backends, in the order they are asked whether they serve a target; SQLite takes any path,
 * so it stays last when another backend (a postgresql:// URL) is added. */
static const struct store_ops *const store_backends[] = {&store_pg_ops, &store_sqlite_ops};

/*
 * Open the store at target with the first backend that accepts it, migrated to the current
 * schema. On success *out_store is owned by the caller (store_close); on failure nothing is left
 * open and err says why.
 */
enum gh_status store_open(const char *target, struct store **out_store, struct gh_err *err)
{
    for (size_t i = 0; i < sizeof(store_backends) / sizeof(store_backends[0]); i++)
        if (store_backends[i]->accepts(target))
            return store_backends[i]->open(target, out_store, err);
    return GH_ERR(err, GH_E_INVALID, "no store backend for \"%.100s\"", target);
}

/* Close the store (NULL is a no-op). Not thread-safe: call after the last request completed. */
void store_close(struct store *s)
{
    if (s != NULL)
        s->ops->close(s);
}

/* Set up the common part of a freshly allocated (zeroed) store. */
void store_base_init(struct store *s, const struct store_ops *ops)
{
    s->ops = ops;
    atomic_init(&s->writable, true);
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
    return s->ops->ready(s, out_reason);
}

/* /readyz check (advisory): false while writes are refused because the store cannot write. */
bool store_writable(void *ctx, const char **out_reason)
{
    struct store *s = ctx;
    if (atomic_load(&s->writable))
        return true;
    *out_reason = "cannot write (disk full, file size limit, I/O error or read-only database): "
                  "writes answer 503 until one succeeds; reads and decisions are served";
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
    return s->ops->create(s, kind, row, members, out, err);
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
    return s->ops->update(s, kind, id, fn, ctx, out, err);
}

enum gh_status store_delete(struct store *s, enum store_kind kind, const char *id,
                            int64_t expect_version, struct gh_err *err)
{
    return s->ops->del(s, kind, id, expect_version, err);
}

enum gh_status store_list(struct store *s, enum store_kind kind, const struct store_query *q,
                          struct store_rec_list *out, struct gh_err *err)
{
    return s->ops->list(s, kind, q, out, err);
}

enum gh_status store_user_find(struct store *s, enum store_user_key key, const char *value,
                               struct store_rec *out, struct gh_err *err)
{
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
    return s->ops->access_groups_sync(s, defs, n, err);
}

enum gh_status store_access_group_create(struct store *s, const struct store_access_group_def *def,
                                         struct gh_err *err)
{
    return s->ops->access_group_create(s, def, err);
}

enum gh_status store_access_group_delete(struct store *s, const char *key, struct gh_err *err)
{
    return s->ops->access_group_delete(s, key, err);
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
    gh_metrics_family(out, "gatehouse_scim_changes_total", "counter",
                      "Changes committed since start, by event (members: one per member)");
    for (size_t i = 0; i < sizeof(ev_names) / sizeof(ev_names[0]); i++) {
        snprintf(labels, sizeof(labels), "event=\"%s\"", ev_names[i]);
        gh_metrics_sample(out, "gatehouse_scim_changes_total", labels,
                          (double)atomic_load(&s->changes[i]));
    }
}
