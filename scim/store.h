/*
 * store.h - the identity store (SQLite). store.c is the only file in the tree with SQL.
 *
 * Opened once at start-up; thread-safe. Every write is one transaction committed with
 * synchronous=FULL in WAL mode, so a write that was acknowledged survives a crash or power loss.
 * Writes go through one connection under a mutex; reads use a small pool of read connections,
 * so GETs and filters never wait for a write's fsync.
 *
 * A write the storage cannot take (disk full, file-size limit, I/O error, read-only database)
 * fails with GH_E_UNAVAILABLE (503: retry later) and is never committed; see scim_store_writable.
 *
 * Resources are stored as their normalised JSON body (no id, meta or members) plus indexed
 * columns. Group membership lives in its own table (one row per member).
 */
#ifndef SCIM_STORE_H
#define SCIM_STORE_H

#include "core/core.h"
#include "scim/filter.h"
#include "scim/resource.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct scim_store;

#define SCIM_ID_LEN 36 /* UUID text */
#define SCIM_TS_LEN 24 /* 2026-11-22T08:00:00.123Z */

/* One stored resource as read back. */
struct scim_rec {
    char id[SCIM_ID_LEN + 1];
    char created[SCIM_TS_LEN + 1];
    char modified[SCIM_TS_LEN + 1];
    int64_t version;
    char *body; /* owned: the stored JSON body; released by scim_rec_clear */
};

/* A list page. */
struct scim_rec_list {
    struct scim_rec *items; /* owned; scim_rec_list_clear */
    size_t count;
    int64_t total; /* matches of the filter, all pages */
};

/* What a write stores (all borrowed for the duration of the call). */
struct scim_row {
    const char *body;      /* normalised JSON text */
    struct scim_cols cols; /* indexed columns extracted from it */
};

/* A change to a group's members (ids borrowed). */
struct scim_members_change {
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

/* A list query. */
struct scim_query {
    const struct scim_filter *filter; /* NULL: everything */
    const struct scim_path *sort_by;  /* NULL: creation order */
    bool descending;
    int64_t start_index; /* 1-based (RFC 7644 §3.4.2.4) */
    int64_t count;       /* page size, already capped by the caller */
};

/* ---- change events (for the policy/authz side, issue 5) ---- */
enum scim_event_type {
    SCIM_EV_USER_CREATED,
    SCIM_EV_USER_CHANGED,
    SCIM_EV_USER_DELETED, /* also ends its memberships (no separate MEMBERS_REMOVED) */
    SCIM_EV_GROUP_CREATED,
    SCIM_EV_GROUP_CHANGED, /* attributes other than displayName */
    SCIM_EV_GROUP_RENAMED, /* displayName changed (other attributes may have too) */
    SCIM_EV_GROUP_DELETED, /* also ends its members' and its own memberships */
    SCIM_EV_MEMBERS_ADDED,
    SCIM_EV_MEMBERS_REMOVED,
};
struct scim_event {
    enum scim_event_type type;
    const char *id;                /* the user or group */
    const char *ts;                /* commit time, as in meta.lastModified */
    const char *const *member_ids; /* MEMBERS_*: the ids actually added/removed */
    size_t member_count;
};
/* Called after each commit, on the writing thread with the writer lock held: it must be quick
 * and must not write to the store. Everything in ev is borrowed for the call. */
typedef void (*scim_store_listener_fn)(void *ctx, const struct scim_event *ev);

/* Called once per member by scim_store_group_members / scim_store_user_groups. */
typedef void (*scim_store_member_fn)(void *ctx, const char *id, enum scim_kind type,
                                     const char *display);

/* Builds the new state of a resource inside the write transaction (PUT, PATCH). cur is the
 * current state. Set out_row->body (NULL: body unchanged; the string must outlive the call) and,
 * for groups, *out_members. Returning an error rolls the transaction back. */
typedef enum gh_status (*scim_store_update_fn)(void *ctx, const struct scim_rec *cur,
                                               struct scim_row *out_row,
                                               struct scim_members_change *out_members,
                                               struct gh_err *err);

/* ---- lifecycle ---- */
/* Open (creating if needed) the database at path and migrate it to the current schema.
 * Caller frees with scim_store_close. */
enum gh_status scim_store_open(const char *path, struct scim_store **out_store, struct gh_err *err);
void scim_store_close(struct scim_store *s); /* NULL is a no-op */
int scim_store_schema_version(struct scim_store *s);
/* Readiness probe for /readyz (ctx is the store). */
bool scim_store_ready(void *ctx, const char **out_reason);
/* Advisory /readyz check (ctx is the store): false after a write was refused because the store
 * cannot write (no space, I/O error, read-only: GH_E_UNAVAILABLE), until a write commits a change.
 */
bool scim_store_writable(void *ctx, const char **out_reason);
/* Register the change listener (start-up only; one listener; NULL removes it). */
void scim_store_listen(struct scim_store *s, scim_store_listener_fn fn, void *ctx);
/* A metrics collector (gh_metrics_register; ctx is the store): resource gauges and change
 * counters in Prometheus text. */
void scim_store_metrics(void *ctx, struct gh_buf *out);

/* ---- resources ---- */
/* Create; a fresh id is assigned. GH_E_CONFLICT (uniqueness) on a taken userName/displayName,
 * GH_E_INVALID (invalidValue) on an unknown member id. *out filled (caller clears). */
enum gh_status scim_store_create(struct scim_store *s, enum scim_kind kind,
                                 const struct scim_row *row,
                                 const struct scim_members_change *members, struct scim_rec *out,
                                 struct gh_err *err);
/* Read one resource by id. GH_E_NOT_FOUND when absent. */
enum gh_status scim_store_get(struct scim_store *s, enum scim_kind kind, const char *id,
                              struct scim_rec *out, struct gh_err *err);
/* Read-modify-write one resource in one transaction (see scim_store_update_fn). The version is
 * bumped only when something changed, so a repeated request is a no-op. */
enum gh_status scim_store_update(struct scim_store *s, enum scim_kind kind, const char *id,
                                 scim_store_update_fn fn, void *ctx, struct scim_rec *out,
                                 struct gh_err *err);
/* Hard delete (and the resource's membership rows). expect_version < 0: any version;
 * otherwise GH_E_PRECONDITION when the current version differs. */
enum gh_status scim_store_delete(struct scim_store *s, enum scim_kind kind, const char *id,
                                 int64_t expect_version, struct gh_err *err);
/* One page of a filtered, sorted list, and the total number of matches. */
enum gh_status scim_store_list(struct scim_store *s, enum scim_kind kind,
                               const struct scim_query *q, struct scim_rec_list *out,
                               struct gh_err *err);

/* ---- lookups for token-to-identity resolution (issue 5) ---- */
enum scim_user_key { SCIM_KEY_USER_NAME, SCIM_KEY_EXTERNAL_ID };
/* The first user whose userName (case-insensitive) / externalId equals value. */
enum gh_status scim_store_user_find(struct scim_store *s, enum scim_user_key key, const char *value,
                                    struct scim_rec *out, struct gh_err *err);

/* ---- membership ---- */
enum gh_status scim_store_group_members(struct scim_store *s, const char *group_id,
                                        scim_store_member_fn fn, void *ctx, struct gh_err *err);
enum gh_status scim_store_user_groups(struct scim_store *s, const char *user_id,
                                      scim_store_member_fn fn, void *ctx, struct gh_err *err);

/* ---- access groups, links and decision facts (issue 5) ---- */
/* An access group as stored (both sources), with its link. */
struct scim_access_group {
    const char *key, *name, *source, *grants, *created; /* grants: JSON array text */
    const char *group_id, *group_name, *linked;         /* NULL when not linked */
};
typedef void (*scim_access_group_fn)(void *ctx, const struct scim_access_group *ag);
/* An access group to write (borrowed). */
struct scim_access_group_def {
    const char *key, *name, *grants;
};
/* What a decision needs of one provisioned user. */
struct scim_subject {
    char id[SCIM_ID_LEN + 1];
    char *user_name;   /* owned; scim_subject_clear */
    char *external_id; /* owned, may be NULL */
    bool active;
    int64_t not_before; /* epoch seconds: deactivation cut-off or tombstone of a predecessor */
    int matches;        /* users with this key (externalId is not unique) */
};
/* One access group the user reaches through a linked IdP group. */
typedef void (*scim_access_fn)(void *ctx, const char *key, const char *group_name,
                               int64_t not_before);
/* Called with (id, displayName) of every IdP group. */
typedef void (*scim_group_name_fn)(void *ctx, const char *id, const char *display_name);

/* Replace the policy file's access groups with defs (one transaction): keys no longer declared
 * are removed with their links, existing keys keep their links, an admin-created group with a
 * declared key becomes file-owned. Thread-safe. */
enum gh_status scim_store_access_groups_sync(struct scim_store *s,
                                             const struct scim_access_group_def *defs, size_t n,
                                             struct gh_err *err);
/* Create one admin access group; GH_E_CONFLICT when the key exists. Linked at once when exactly
 * one IdP group has its key. */
enum gh_status scim_store_access_group_create(struct scim_store *s,
                                              const struct scim_access_group_def *def,
                                              struct gh_err *err);
/* Delete an admin access group (GH_E_NOT_FOUND; GH_E_CONFLICT when it is file-owned). */
enum gh_status scim_store_access_group_delete(struct scim_store *s, const char *key,
                                              struct gh_err *err);
/* Every access group with its link, ordered by key (everything borrowed for the call). */
enum gh_status scim_store_access_groups(struct scim_store *s, scim_access_group_fn fn, void *ctx,
                                        struct gh_err *err);
/* Every IdP group's id and displayName (admin API: ambiguous and near matches). */
enum gh_status scim_store_group_names(struct scim_store *s, scim_group_name_fn fn, void *ctx,
                                      struct gh_err *err);
/* The user whose userName (case-insensitive) or externalId equals value, with its cut-off and
 * any tombstone of a deleted user with that key. GH_E_NOT_FOUND when none (out->not_before still
 * reports a tombstone). Caller clears *out. Thread-safe; read-your-writes. */
enum gh_status scim_store_subject_find(struct scim_store *s, enum scim_user_key key,
                                       const char *value, struct scim_subject *out,
                                       struct gh_err *err);
void scim_subject_clear(struct scim_subject *sub);
/* The access groups a user reaches through linked IdP groups it is a direct member of, with the
 * cut-off of its membership in each. */
enum gh_status scim_store_subject_access(struct scim_store *s, const char *user_id,
                                         scim_access_fn fn, void *ctx, struct gh_err *err);
/* Bumped after every committed write: caches of anything derived from the store compare it. */
uint64_t scim_store_generation(const struct scim_store *s);

/* ---- records ---- */
void scim_rec_clear(struct scim_rec *r);           /* frees body; NULL-safe */
void scim_rec_list_clear(struct scim_rec_list *l); /* frees every item */

/* ---- introspection (tests, debug logs) ---- */
/* The WHERE clause a filter compiles to and its parameter count. Caller frees *out_sql. */
enum gh_status scim_store_filter_sql(enum scim_kind kind, const struct scim_filter *f,
                                     char **out_sql, int *out_params, struct gh_err *err);

#endif
