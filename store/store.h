/*
 * store.h - front header of the identity store: the interface every backend implements.
 *
 * The store holds users, groups and their memberships (written by SCIM), the access groups and
 * their links to IdP groups (written by the policy engine and the admin API), and the facts a
 * decision reads (subjects, cut-offs). It sits below scim/, authz/ and policies/ and includes
 * none of them: the SCIM layer hands it resources as normalised JSON plus indexed columns, and
 * list filters as the query tree below (scim/filter.c parses SCIM filter text into it).
 *
 * One backend today, SQLite (store/sqlite*.c); store_open picks it from the target. Each
 * backend implements struct store_ops (store_int.h); store.c dispatches and keeps what is
 * backend-neutral (generation, writability, change counts, metrics).
 *
 * Opened once at start-up; thread-safe. Every write is one transaction, acknowledged only once
 * committed durably, so a write that was acknowledged survives a crash or power loss. A write
 * the storage cannot take (disk full, file-size limit, I/O error, read-only database) fails with
 * GH_E_UNAVAILABLE (503: retry later) and is never committed; see store_writable.
 *
 * Resources are stored as their normalised JSON body (no id, meta or members) plus indexed
 * columns. Group membership lives in its own table (one row per member).
 */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include "core/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

#define STORE_ID_LEN 36 /* UUID text */
#define STORE_TS_LEN 24 /* 2026-11-22T08:00:00.123Z */

/* The two resource kinds (scim/ calls them SCIM_USER and SCIM_GROUP). */
enum store_kind { STORE_USER = 0, STORE_GROUP = 1 };

/* ---- queries: the filter tree a list runs (RFC 7644 §3.4.2.2, resolved by scim/filter.c) ---- */
/* What the schema says of an attribute a path names (0: unknown to the schema). */
#define STORE_ATTR_KNOWN      0x01u
#define STORE_ATTR_MULTI      0x02u /* multiValued */
#define STORE_ATTR_CASE_EXACT 0x04u
#define STORE_ATTR_BOOLEAN    0x08u /* type boolean ("True"/"False" strings compare as booleans) */

enum store_fop {
    STORE_F_EQ,
    STORE_F_NE,
    STORE_F_CO,
    STORE_F_SW,
    STORE_F_EW,
    STORE_F_GT,
    STORE_F_GE,
    STORE_F_LT,
    STORE_F_LE,
    STORE_F_PR,
    STORE_F_AND,
    STORE_F_OR,
    STORE_F_NOT,
    STORE_F_HAS, /* attr[filter]: some element of a multi-valued attribute matches */
};

enum store_fval { STORE_V_STRING, STORE_V_NUMBER, STORE_V_TRUE, STORE_V_FALSE, STORE_V_NULL };

struct store_filter;

/*
 * An attribute path ([urn:]attr[.sub], or attr[vfilter][.sub]). Names are canonical when the
 * schema knows them and as written otherwise. Inside a value filter, attr names a sub-attribute
 * of the enclosing multi-valued attribute and attr_flags describe that sub-attribute.
 */
struct store_path {
    const char *urn;     /* extension URN the attribute lives under, or NULL for the core schema */
    const char *attr;    /* top-level attribute name (within urn when set) */
    const char *sub;     /* sub-attribute, or NULL */
    unsigned attr_flags; /* STORE_ATTR_* of attr */
    unsigned sub_flags;  /* STORE_ATTR_* of sub (0 when sub is NULL or unknown) */
    unsigned elem_flags; /* multi-valued attr: STORE_ATTR_* of the sub-attribute an element is
                          * compared on (sub, else "value"); 0 when unknown */
    struct store_filter *vfilter; /* value filter "attr[...]", or NULL */
};

struct store_filter {
    enum store_fop op;
    struct store_filter *left, *right; /* AND/OR: both; NOT: left */
    struct store_path path;            /* comparisons, PR, HAS (path.vfilter is the inner filter) */
    enum store_fval vtype;
    const char *str; /* STORE_V_STRING: the decoded string (NUL-terminated) */
    double num;      /* STORE_V_NUMBER */
};

/* A list query (everything borrowed for the call). */
struct store_query {
    const struct store_filter *filter; /* NULL: everything */
    const struct store_path *sort_by;  /* NULL: creation order */
    bool descending;
    int64_t start_index; /* 1-based (RFC 7644 §3.4.2.4) */
    int64_t count;       /* page size, already capped by the caller; 0: count only */
};

/* ---- records ---- */
/* One stored resource as read back. */
struct store_rec {
    char id[STORE_ID_LEN + 1];
    char created[STORE_TS_LEN + 1];
    char modified[STORE_TS_LEN + 1];
    int64_t version;
    char *body; /* owned: the stored JSON body; released by store_rec_clear */
};

/* A list page. */
struct store_rec_list {
    struct store_rec *items; /* owned; store_rec_list_clear */
    size_t count;
    int64_t total; /* matches of the filter, all pages */
};

/* The indexed columns of a resource (borrowed from its body). */
struct store_cols {
    const char *name;        /* userName (User) or displayName (Group) */
    const char *display;     /* User displayName or NULL */
    const char *external_id; /* or NULL */
    bool active;             /* User only */
};

/* What a write stores (all borrowed for the duration of the call). */
struct store_row {
    const char *body;       /* normalised JSON text */
    struct store_cols cols; /* indexed columns extracted from it */
};

/* A change to a group's members (ids borrowed). */
struct store_members_change {
    bool replace; /* drop every current member first */
    const char *const *add;
    size_t add_count;
    const char *const *remove;
    size_t remove_count;
    /* ids checked like adds (a user or another group, else GH_E_INVALID) but not written: a
     * PATCH op added them and a later one took them out again */
    const char *const *check;
    size_t check_count;
};

/* Called once per member by store_group_members / store_user_groups (all borrowed). */
typedef void (*store_member_fn)(void *ctx, const char *id, enum store_kind type,
                                const char *display);

/* Builds the new state of a resource inside the write transaction (PUT, PATCH). cur is the
 * current state. Set out_row->body (NULL: body unchanged; the string must outlive the call) and,
 * for groups, *out_members. Returning an error rolls the transaction back. */
typedef enum gh_status (*store_update_fn)(void *ctx, const struct store_rec *cur,
                                          struct store_row *out_row,
                                          struct store_members_change *out_members,
                                          struct gh_err *err);

/* ---- lifecycle ---- */
/* Open (creating if needed) the store at target - today a SQLite file path - and migrate it to
 * the current schema. Caller frees with store_close. */
enum gh_status store_open(const char *target, struct store **out_store, struct gh_err *err);
void store_close(struct store *s); /* NULL is a no-op */
int store_schema_version(struct store *s);
/* Readiness probe for /readyz (ctx is the store): the local database answers. Always true for a
 * shared store (PostgreSQL), whose outages decisions ride out on the index (store_reachable). */
bool store_ready(void *ctx, const char **out_reason);
/* Advisory /readyz check (ctx is the store): false after a write was refused because the store
 * cannot write (no space, I/O error, read-only: GH_E_UNAVAILABLE), until a write commits a change.
 */
bool store_writable(void *ctx, const char **out_reason);
/* A metrics collector (gh_metrics_register; ctx is the store): resource gauges and change
 * counters in Prometheus text. */
void store_metrics(void *ctx, struct gh_buf *out);
/* Bumped after every committed write: caches of anything derived from the store compare it. */
uint64_t store_generation(const struct store *s);

/* ---- resources ---- */
/* Create; a fresh id is assigned. GH_E_CONFLICT (uniqueness) on a taken userName/displayName,
 * GH_E_INVALID (invalidValue) on an unknown member id. *out filled (caller clears). */
enum gh_status store_create(struct store *s, enum store_kind kind, const struct store_row *row,
                            const struct store_members_change *members, struct store_rec *out,
                            struct gh_err *err);
/* Read one resource by id. GH_E_NOT_FOUND when absent. */
enum gh_status store_get(struct store *s, enum store_kind kind, const char *id,
                         struct store_rec *out, struct gh_err *err);
/* Read-modify-write one resource in one transaction (see store_update_fn). The version is
 * bumped only when something changed, so a repeated request is a no-op. */
enum gh_status store_update(struct store *s, enum store_kind kind, const char *id,
                            store_update_fn fn, void *ctx, struct store_rec *out,
                            struct gh_err *err);
/* Hard delete (and the resource's membership rows). expect_version < 0: any version;
 * otherwise GH_E_PRECONDITION when the current version differs. */
enum gh_status store_delete(struct store *s, enum store_kind kind, const char *id,
                            int64_t expect_version, struct gh_err *err);
/* One page of a filtered, sorted list, and the total number of matches. Caller clears *out. */
enum gh_status store_list(struct store *s, enum store_kind kind, const struct store_query *q,
                          struct store_rec_list *out, struct gh_err *err);

/* ---- users by key (token-to-identity resolution) ---- */
/* STORE_KEY_ID (the SCIM id) is for store_subject_lookup only (AuthZEN subjects named by id);
 * the SQL look-ups below answer GH_E_INVALID for it. */
enum store_user_key { STORE_KEY_USER_NAME, STORE_KEY_EXTERNAL_ID, STORE_KEY_ID };
/* The first user whose userName (case-insensitive) / externalId equals value. */
enum gh_status store_user_find(struct store *s, enum store_user_key key, const char *value,
                               struct store_rec *out, struct gh_err *err);

/* ---- memberships ---- */
/* Every member of a group, in insertion order, with a display name. */
enum gh_status store_group_members(struct store *s, const char *group_id, store_member_fn fn,
                                   void *ctx, struct gh_err *err);
/* Every group a user (or group) is a direct member of. */
enum gh_status store_user_groups(struct store *s, const char *user_id, store_member_fn fn,
                                 void *ctx, struct gh_err *err);

/* ---- access groups and their links ---- */
/* An access group as stored (both sources), with its link. */
struct store_access_group {
    const char *key, *name, *source, *grants, *created; /* grants: JSON array text */
    const char *group_id, *group_name, *linked;         /* NULL when not linked */
};
typedef void (*store_access_group_fn)(void *ctx, const struct store_access_group *ag);
/* An access group to write (borrowed). */
struct store_access_group_def {
    const char *key, *name, *grants;
};
/* Called with (id, displayName) of every IdP group. */
typedef void (*store_group_name_fn)(void *ctx, const char *id, const char *display_name);

/*
 * The link key of a group name: surrounding ASCII whitespace (space, \t \n \v \f \r) removed and
 * ASCII letters folded to lower case; every other byte (non-ASCII included) kept as it is. An
 * access group links the IdP group whose key equals its own. This is the only definition of the
 * rule: policies/ keys access groups with it, and the SQLite backend stores it with every group
 * (groups.name_key) for its link triggers to compare. Writes at most cap bytes (NUL included,
 * cap > 0); returns the length written.
 */
size_t store_name_key(const char *name, char *out, size_t cap);

/* Replace the policy file's access groups with defs (one transaction): keys no longer declared
 * are removed with their links, existing keys keep their links, an admin-created group with a
 * declared key becomes file-owned. */
enum gh_status store_access_groups_sync(struct store *s, const struct store_access_group_def *defs,
                                        size_t n, struct gh_err *err);
/* Create one admin access group; GH_E_CONFLICT when the key exists. Linked at once when exactly
 * one IdP group has its key. */
enum gh_status store_access_group_create(struct store *s, const struct store_access_group_def *def,
                                         struct gh_err *err);
/* Replace an admin access group's name and grants; def->key names it and stays (its link too).
 * GH_E_NOT_FOUND; GH_E_CONFLICT when it is file-owned. */
enum gh_status store_access_group_update(struct store *s, const struct store_access_group_def *def,
                                         struct gh_err *err);
/* Delete an admin access group (GH_E_NOT_FOUND; GH_E_CONFLICT when it is file-owned). */
enum gh_status store_access_group_delete(struct store *s, const char *key, struct gh_err *err);
/* Every access group with its link, ordered by key (everything borrowed for the call). */
enum gh_status store_access_groups(struct store *s, store_access_group_fn fn, void *ctx,
                                   struct gh_err *err);
/* Every IdP group's id and displayName (admin API: ambiguous and near matches). */
enum gh_status store_group_names(struct store *s, store_group_name_fn fn, void *ctx,
                                 struct gh_err *err);

/* ---- subjects and cut-offs (what a decision reads) ---- */
/* What a decision needs of one provisioned user. */
struct store_subject {
    char id[STORE_ID_LEN + 1];
    char *user_name;   /* owned; store_subject_clear */
    char *external_id; /* owned, may be NULL */
    bool active;
    int64_t not_before; /* epoch seconds: deactivation cut-off or tombstone of a predecessor */
    int matches;        /* users with this key (externalId is not unique) */
};
/* One access group the user reaches through a linked IdP group. */
typedef void (*store_access_fn)(void *ctx, const char *key, const char *group_name,
                                int64_t not_before);

/* The user whose userName (case-insensitive) or externalId equals value, with its cut-off and
 * any tombstone of a deleted user with that key. GH_E_NOT_FOUND when none (out->not_before still
 * reports a tombstone). Caller clears *out. Read-your-writes. */
enum gh_status store_subject_find(struct store *s, enum store_user_key key, const char *value,
                                  struct store_subject *out, struct gh_err *err);
void store_subject_clear(struct store_subject *sub); /* NULL-safe */
/* The access groups a user reaches through linked IdP groups it is a direct member of, with the
 * cut-off of its membership in each. */
enum gh_status store_subject_access(struct store *s, const char *user_id, store_access_fn fn,
                                    void *ctx, struct gh_err *err);

/* ---- the decision index and the change feed (issue 11) ----
 * Every committed write gets a revision (the store's change feed). Each process keeps the facts
 * a decision reads in memory, loaded at open and kept current from the feed: a write through
 * this process is in its index before the write returns; other processes' writes arrive within
 * poll_ms (PostgreSQL NOTIFY wakes the poller at once). Decisions read only the index. */
struct store_open_opts {
    int poll_ms; /* how often the feed is polled without a notification (1000) */
    int64_t
        changes_keep;  /* changes kept for replicas catching up; older ones are pruned (100000) */
    int prune_every_s; /* how often to prune (60) */
};
/* store_open with options (NULL: defaults). */
enum gh_status store_open_with(const char *target, const struct store_open_opts *opts,
                               struct store **out_store, struct gh_err *err);
/* The revision this process's index is at (lock-free). */
int64_t store_revision(const struct store *s);
/* Milliseconds since the index last confirmed it was current; grows while the store is
 * unreachable (lock-free). INT64_MAX while the index is known to miss a write this process
 * acknowledged (it could not be read back after its commit), until a sync succeeds. */
int64_t store_index_age(const struct store *s);
/* Ask the poller to look now, and wait up to timeout_ms for the index to reach rev. */
bool store_revision_wait(struct store *s, int64_t rev, int timeout_ms);
/* Called (on the poller thread) after the change feed showed an access group created, changed
 * or deleted (by another process, or by this one), however it was read, so the policy snapshot
 * can be rebuilt; a change read while no hook is registered is announced to the next one. One
 * hook; NULL removes it (once this returns, the old hook is not running). The hook must not
 * call store_on_access_change. */
void store_on_access_change(struct store *s, void (*fn)(void *ctx), void *ctx);

/* Where this process's index stands (/readyz, /metrics). */
struct store_status {
    const char *backend; /* "sqlite", "postgresql" */
    int64_t revision;    /* store_revision */
    int64_t age_ms;      /* store_index_age */
    bool reachable;      /* the last read of the change feed succeeded */
    unsigned long sync_failures;
    size_t users, groups, memberships; /* in the index */
    /* ms since this process's index moved to revision (its load at start counts): how long ago
     * the directory last changed, as far as this replica knows */
    int64_t revision_age_ms;
};
void store_status(struct store *s, struct store_status *out);
/* Advisory /readyz check (ctx is the store): false while the change feed cannot be read (the
 * store is unreachable: decisions go on from the index until GATEHOUSE_MAX_STALENESS). */
bool store_reachable(void *ctx, const char **out_reason);

/* One subject as the index holds it (borrowed for the callback only). */
struct store_subject_view {
    const char *id, *user_name, *external_id;
    bool active;
    int64_t not_before; /* as store_subject.not_before */
    int matches;        /* users with this key */
};
typedef void (*store_subject_fn)(void *ctx, const struct store_subject_view *v);
/*
 * The decision path's lookup, from memory: the user whose userName (case-insensitive),
 * externalId or SCIM id (STORE_KEY_ID) equals value, then (when exactly one matches) its access
 * groups, all under one read lock, so both come from one revision (*out_rev). fn_sub is called once
 * when a user matches; fn_access once per access group. GH_E_NOT_FOUND when none matches
 * (*out_not_before still reports a tombstone). Same answers as store_subject_find +
 * store_subject_access.
 */
enum gh_status store_subject_lookup(struct store *s, enum store_user_key key, const char *value,
                                    store_subject_fn fn_sub, store_access_fn fn_access, void *ctx,
                                    int64_t *out_not_before, int64_t *out_rev, struct gh_err *err);

/* ---- migrate-store ---- */
/* What store_migrate copied and checked. rows[]: users, groups, members, access groups, links,
 * cut-offs, tombstones in the source. */
struct store_migrate_report {
    int64_t rows[7];
    int64_t index_users, index_memberships; /* as loaded back from the target */
    int64_t etags_checked;                  /* users and groups read back with equal versions */
};
/*
 * Copy the SQLite store at from into the empty store at to (a postgresql:// URL) in one
 * transaction, ids, versions (ETags), times, links, cut-offs and tombstones as they are, then
 * verify it by loading the target's decision index (counts) and reading every user and group
 * back by id (version and body). GH_E_CONFLICT when the target holds data; GH_E_INVALID when
 * from is not SQLite or to is not a migration target. The source is brought to the current
 * schema first and otherwise only read.
 */
enum gh_status store_migrate(const char *from, const char *to, struct store_migrate_report *out,
                             struct gh_err *err);

/* ---- records ---- */
void store_rec_clear(struct store_rec *r);           /* frees body; NULL-safe */
void store_rec_list_clear(struct store_rec_list *l); /* frees every item */

#endif
