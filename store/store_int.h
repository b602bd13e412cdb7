/*
 * store_int.h - inside the store: the backend operations table and what store.c keeps for every
 * backend (private to store/; tests of the store may include it).
 *
 * A backend (store/sqlite*.c today) defines a struct that starts with struct store, fills a
 * const struct store_ops, and calls back into store.c around its write transactions:
 * store_write_done after each one (generation, writability) and store_evq_emit after a commit
 * (change counters). Like SQLite's VFS, the ops are called only through store.c's public
 * functions, which hold no lock of their own: each backend does its own locking.
 */
#ifndef STORE_STORE_INT_H
#define STORE_STORE_INT_H

#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gh_arena;

/* scimType words (RFC 7644 §3.12) the store sets on the errors the client caused; spelled here
 * because store/ sits below scim/ */
#define STORE_ST_UNIQUENESS     "uniqueness"
#define STORE_ST_INVALID_VALUE  "invalidValue"
#define STORE_ST_INVALID_FILTER "invalidFilter"

/* ---- change events: counted for /metrics (and seen by a test's listener) ---- */
enum store_event_type {
    STORE_EV_USER_CREATED,
    STORE_EV_USER_CHANGED,
    STORE_EV_USER_DELETED, /* also ends its memberships (no separate MEMBERS_REMOVED) */
    STORE_EV_GROUP_CREATED,
    STORE_EV_GROUP_CHANGED, /* attributes other than displayName */
    STORE_EV_GROUP_RENAMED, /* displayName changed (other attributes may have too) */
    STORE_EV_GROUP_DELETED, /* also ends its members' and its own memberships */
    STORE_EV_MEMBERS_ADDED,
    STORE_EV_MEMBERS_REMOVED,
};
#define STORE_EV_COUNT (STORE_EV_MEMBERS_REMOVED + 1)
struct store_event {
    enum store_event_type type;
    const char *id;                /* the user or group */
    const char *ts;                /* commit time, as in meta.lastModified */
    const char *const *member_ids; /* MEMBERS_*: the ids actually added/removed */
    size_t member_count;
};
/* Called after each commit, on the writing thread with the backend's writer lock held: it must
 * be quick and must not write to the store. Everything in ev is borrowed for the call. */
typedef void (*store_listener_fn)(void *ctx, const struct store_event *ev);
/* Register the listener (start-up only; one listener; NULL removes it). Nothing in the daemon
 * listens - the store's readers compare store_generation instead - so this is a test seam: the
 * unit tests watch the events that /metrics counts. */
void store_listen(struct store *s, store_listener_fn fn, void *ctx);

/* The events of one write transaction, collected while it runs and emitted after its commit. */
struct store_evq {
    struct store_event ev[4];
    size_t n;
    const char *members_of;        /* the group whose members changed */
    const char **added, **removed; /* owned arrays of borrowed ids */
    size_t nadded, nremoved, cap_added, cap_removed;
    struct gh_arena *ids; /* owned (NULL until needed): ids read back from the store */
};
void store_evq_push(struct store_evq *q, enum store_event_type t, const char *id);
/* Record a member added (or removed) (id borrowed; it must outlive the emit). */
void store_evq_added(struct store_evq *q, const char *id);
void store_evq_removed(struct store_evq *q, const char *id);
/* A copy of id owned by q (for ids read back from the store). */
const char *store_evq_strdup(struct store_evq *q, const char *id);
/* Free what q owns (after emitting it, or instead of that when the write rolled back). */
void store_evq_discard(struct store_evq *q);
/* Count q's events, tell the listener (ts: the commit time), then discard q. */
void store_evq_emit(struct store *s, struct store_evq *q, const char *ts);

/* ---- the change feed (issue 11) ----
 * Every committed write appends rows to the backend's changes table in the same transaction:
 * triggers on the tables a decision reads log each row they see change, in the order it
 * changed (so the effects of the link and cut-off triggers are logged too). A row's rev is
 * strictly increasing in commit order: a backend serialises its writers (SQLite: one writer
 * connection; PostgreSQL: a transaction-scoped advisory lock taken first in every write), so a
 * reader that saw rev r never later sees a new row below r. The in-memory index (index.c)
 * replays these rows; loading the whole state is the same replay with every row as an upsert.
 *
 *   op   meaning            a          b             c            k            n
 *   'U'  user upserted      id         userName      externalId   active 0/1   -
 *   'u'  user deleted       id         -             -            -            -
 *   'G'  group upserted     id         displayName   -            -            -
 *   'g'  group deleted      id         -             -            -            -
 *   'M'  member added       group id   member id     -            member type  -
 *   'm'  member removed     group id   member id     -            -            -
 *   'L'  group linked       key        group id      -            -            -
 *   'l'  link removed       key        -             -            -            -
 *   'C'  cut-off set        user id    key ('')      -            -            at (epoch s)
 *   'c'  cut-off removed    user id    key           -            -            -
 *   'T'  tombstone set      value      -             -            kind 0/1     at (epoch s)
 *   'A'  access group set   key        -             -            -            -
 *   'a'  access group gone  key        -             -            -            -
 *
 * Unused text columns are NULL, unused integers 0. */
struct store_change {
    int64_t rev; /* 0 while loading */
    char op;
    const char *a, *b, *c; /* borrowed for the call */
    int64_t k, n;
};
/* Called once per change, in order (everything borrowed for the call). Return false to stop. */
typedef bool (*store_change_fn)(void *ctx, const struct store_change *ch);

/* ---- migrate-store: one table's rows, copied as they are (store_migrate, migrate.c) ---- */
/* The next row of a table: set vals[0..ncols) (text, NULL for SQL NULL; borrowed until the next
 * call) and return 1; 0 at the end; -1 on error (err set). */
typedef int (*store_import_next_fn)(void *ctx, const char **vals, struct gh_err *err);
struct store_import_table {
    const char *name;        /* users, groups, members, access_groups, access_group_links,
                                cutoffs, user_tombstones: in this order (foreign keys) */
    const char *const *cols; /* column names, the same on every backend */
    size_t ncols;
    store_import_next_fn next;
    void *ctx;
};

/* ---- the backend operations ---- */
/* The counts /metrics reports (-1: could not be read). */
struct store_counts {
    int64_t active, inactive, groups, members;
};

struct store_ops {
    const char *name; /* "sqlite" */
    /* true when this backend serves target (a path, a URL) */
    bool (*accepts)(const char *target);
    enum gh_status (*open)(const char *target, struct store **out, struct gh_err *err);
    void (*close)(struct store *s);
    int (*schema_version)(struct store *s);
    bool (*ready)(struct store *s, const char **out_reason);
    void (*counts)(struct store *s, struct store_counts *out);

    enum gh_status (*create)(struct store *s, enum store_kind kind, const struct store_row *row,
                             const struct store_members_change *members, struct store_rec *out,
                             struct gh_err *err);
    enum gh_status (*get)(struct store *s, enum store_kind kind, const char *id,
                          struct store_rec *out, struct gh_err *err);
    enum gh_status (*update)(struct store *s, enum store_kind kind, const char *id,
                             store_update_fn fn, void *ctx, struct store_rec *out,
                             struct gh_err *err);
    enum gh_status (*del)(struct store *s, enum store_kind kind, const char *id,
                          int64_t expect_version, struct gh_err *err);
    enum gh_status (*list)(struct store *s, enum store_kind kind, const struct store_query *q,
                           struct store_rec_list *out, struct gh_err *err);
    enum gh_status (*user_find)(struct store *s, enum store_user_key key, const char *value,
                                struct store_rec *out, struct gh_err *err);
    enum gh_status (*group_members)(struct store *s, const char *group_id, store_member_fn fn,
                                    void *ctx, struct gh_err *err);
    enum gh_status (*user_groups)(struct store *s, const char *user_id, store_member_fn fn,
                                  void *ctx, struct gh_err *err);

    enum gh_status (*access_groups_sync)(struct store *s, const struct store_access_group_def *defs,
                                         size_t n, struct gh_err *err);
    enum gh_status (*access_group_create)(struct store *s, const struct store_access_group_def *def,
                                          struct gh_err *err);
    enum gh_status (*access_group_delete)(struct store *s, const char *key, struct gh_err *err);
    enum gh_status (*access_group_update)(struct store *s, const struct store_access_group_def *def,
                                          struct gh_err *err);
    enum gh_status (*access_groups)(struct store *s, store_access_group_fn fn, void *ctx,
                                    struct gh_err *err);
    enum gh_status (*group_names)(struct store *s, store_group_name_fn fn, void *ctx,
                                  struct gh_err *err);
    enum gh_status (*subject_find)(struct store *s, enum store_user_key key, const char *value,
                                   struct store_subject *out, struct gh_err *err);
    enum gh_status (*subject_access)(struct store *s, const char *user_id, store_access_fn fn,
                                     void *ctx, struct gh_err *err);

    /* ---- the change feed (issue 11) ---- */
    /* Stream the whole decision state from one consistent snapshot as upserts (rev 0), in this
     * order: every user 'U' (in creation order), group 'G', member 'M' (user members only),
     * link 'L', cut-off 'C', tombstone 'T', access group 'A'; *out_rev is the revision that
     * snapshot is at (the highest rev in the changes table it saw, 0 when empty). */
    enum gh_status (*load)(struct store *s, store_change_fn fn, void *ctx, int64_t *out_rev,
                           struct gh_err *err);
    /* The changes with rev > after, in rev order, at most limit of them; *out_gone is set
     * (and nothing is streamed) when rows after `after` were already pruned, so the caller
     * must load again. */
    enum gh_status (*changes)(struct store *s, int64_t after, size_t limit, store_change_fn fn,
                              void *ctx, bool *out_gone, struct gh_err *err);
    /* The highest committed revision (0 when none). */
    enum gh_status (*head)(struct store *s, int64_t *out_rev, struct gh_err *err);
    /* Wait up to timeout_ms for another process's commit to be announced (PostgreSQL:
     * LISTEN/NOTIFY); GH_OK when woken or timed out. NULL when only this process writes
     * (SQLite): store.c then waits on its own commits. */
    enum gh_status (*wait)(struct store *s, int timeout_ms, struct gh_err *err);
    /* Delete the changes older than the newest keep ones and remember the highest rev removed
     * (what `changes` compares to set *out_gone). */
    enum gh_status (*prune)(struct store *s, int64_t keep, struct gh_err *err);
    /* migrate-store: copy the tables into this store in one write transaction, rows as they
     * are (ids, versions, times, links, cut-offs, tombstones; the link and change-feed
     * triggers do not fire). GH_E_CONFLICT when the store already holds users, groups or
     * access groups. NULL: this backend is not a migration target. */
    enum gh_status (*import)(struct store *s, const struct store_import_table *t, size_t nt,
                             struct gh_err *err);
};

/* The part of every open store that store.c owns; a backend's own struct starts with it. */
struct store {
    const struct store_ops *ops;
    store_listener_fn listener;
    void *listener_ctx;
    /* committed changes by event type, for /metrics; members events count members */
    _Atomic unsigned long changes[STORE_EV_COUNT];
    _Atomic uint64_t generation; /* bumped after each committed write */
    /* false from a write refused for lack of space or I/O until the next commit that wrote a
     * row; changed only under the backend's writer lock, read lock-free */
    atomic_bool writable;
    _Atomic unsigned long write_failures; /* writes refused that way since start */
    /* the decision index and its poller (store.c; see store_open_with) */
    struct store_index *index;
    struct store_open_opts opts;
    pthread_t poller;
    bool poller_started;
    atomic_bool stopping;
    atomic_bool reachable;               /* the last sync reached the store */
    _Atomic unsigned long sync_failures; /* syncs that could not reach the store */
    pthread_mutex_t wake_lock;
    pthread_cond_t wake;
    void (*access_hook)(void *ctx);
    void *access_hook_ctx;
    /* a sync (whoever ran it: the poller, a request's min_revision wait, a write's replay)
     * read an access group change the hook has not been told of; the poller tells it */
    atomic_bool access_pending;
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops; /* postgresql:// and postgres:// URLs (pg.c) */

/* Set up the common part of a store a backend just allocated. */
void store_base_init(struct store *s, const struct store_ops *ops);
/*
 * Account for the outcome of one write transaction (called by the backend with its writer lock
 * held): a commit (rc GH_OK) bumps the generation; wrote says whether it changed any row.
 */
void store_write_done(struct store *s, enum gh_status rc, bool wrote, struct gh_err *err);

/* ---- helpers for backends ---- */
/* The current time as meta.created/lastModified text (UTC, milliseconds). */
void store_now(char out[STORE_TS_LEN + 1]);
/* A random (version 4) UUID. */
void store_new_id(char out[STORE_ID_LEN + 1]);

#endif
