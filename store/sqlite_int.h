/*
 * sqlite_int.h - inside the SQLite backend (private to store/sqlite*.c and the store's tests).
 *
 * sqlite.c: connections, transactions, migrations runner, readiness and counts, the ops table.
 * sqlite_resource.c: users, groups and memberships. sqlite_access.c: access groups, links,
 * subjects and cut-offs. sqlite_query.c: filter tree -> WHERE clause, and list pages.
 * sqlite_feed.c: the change feed. sqlite_schema.c: the DDL migrations. These are the only files in
 * the tree with SQL.
 */
#ifndef STORE_SQLITE_INT_H
#define STORE_SQLITE_INT_H

#include "store/store_int.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#define STORE_SQLITE_READERS 4

/* Statements kept prepared on a read connection (the decision path runs them per request). */
enum store_sqlite_cached {
    STORE_SQLITE_Q_SUBJECT_NAME,
    STORE_SQLITE_Q_SUBJECT_EXT,
    STORE_SQLITE_Q_ACCESS,
    STORE_SQLITE_Q_COUNT
};

struct store_sqlite_conn {
    sqlite3 *db;
    pthread_mutex_t lock;
    sqlite3_stmt *cached[STORE_SQLITE_Q_COUNT]; /* prepared on first use; finalised at close */
};

/* An open SQLite store: struct store first, so a struct store * is one of these. */
struct store_sqlite {
    struct store base;
    struct store_sqlite_conn writer;
    struct store_sqlite_conn readers[STORE_SQLITE_READERS];
    int nreaders;
    int version;
    int begin_changes; /* sqlite3_total_changes at BEGIN (writer lock) */
};

static inline struct store_sqlite *store_sqlite_of(struct store *s)
{
    return (struct store_sqlite *)s;
}

/* The table of each kind (indexed by enum store_kind). */
extern const char *const store_sqlite_tables[];

/* ---- the DDL (sqlite_schema.c) ---- */
/* Migration i (0-based) brings the schema from user_version i to i+1. Each is one SQL script run
 * in one transaction together with the user_version bump. */
extern const char *const store_sqlite_migrations[];
extern const size_t store_sqlite_migration_count;

/* ---- statements and errors (sqlite.c) ---- */
/* Record SQLite's last error on db ("what: message"); GH_E_UNAVAILABLE when the storage failed,
 * else GH_E_STORE. */
enum gh_status store_sqlite_fail(sqlite3 *db, struct gh_err *err, const char *what);
enum gh_status store_sqlite_exec(sqlite3 *db, const char *sql, struct gh_err *err);
enum gh_status store_sqlite_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out,
                                    struct gh_err *err);
/* A statement kept prepared on c (whose lock the caller holds), reset and unbound; the caller
 * must not finalize it. */
enum gh_status store_sqlite_cached(struct store_sqlite_conn *c, enum store_sqlite_cached q,
                                   const char *sql, sqlite3_stmt **out, struct gh_err *err);
enum gh_status store_sqlite_step_done(sqlite3 *db, sqlite3_stmt *st, struct gh_err *err);
void store_sqlite_bind_text(sqlite3_stmt *st, int i, const char *s); /* NULL binds NULL */
const char *store_sqlite_col(sqlite3_stmt *st, int i);
void store_sqlite_copy(char *dst, size_t cap, const unsigned char *src);
/* Fill rec from a row of (id, version, created, modified, body). */
void store_sqlite_row_rec(sqlite3_stmt *st, struct store_rec *rec);

/* ---- connections and transactions (sqlite.c) ---- */
/* A read connection, locked: the first free one, else wait on one chosen by the thread. */
struct store_sqlite_conn *store_sqlite_reader(struct store_sqlite *s);
void store_sqlite_release(struct store_sqlite_conn *c);
/* Lock the writer and open a write transaction; on failure the writer is unlocked. */
enum gh_status store_sqlite_begin(struct store_sqlite *s, struct gh_err *err);
/* Commit (or roll back when rc is an error); the writer stays locked for the events. */
enum gh_status store_sqlite_end(struct store_sqlite *s, enum gh_status rc, struct gh_err *err);
/* Unlock the writer after store_sqlite_end. */
void store_sqlite_unlock(struct store_sqlite *s);

/* ---- the operations, by file ---- */
/* sqlite_resource.c */
enum gh_status store_sqlite_create(struct store *s, enum store_kind kind,
                                   const struct store_row *row,
                                   const struct store_members_change *members,
                                   struct store_rec *out, struct gh_err *err);
enum gh_status store_sqlite_get(struct store *s, enum store_kind kind, const char *id,
                                struct store_rec *out, struct gh_err *err);
enum gh_status store_sqlite_update(struct store *s, enum store_kind kind, const char *id,
                                   store_update_fn fn, void *ctx, struct store_rec *out,
                                   struct gh_err *err);
enum gh_status store_sqlite_delete(struct store *s, enum store_kind kind, const char *id,
                                   int64_t expect_version, struct gh_err *err);
enum gh_status store_sqlite_user_find(struct store *s, enum store_user_key key, const char *value,
                                      struct store_rec *out, struct gh_err *err);
enum gh_status store_sqlite_group_members(struct store *s, const char *group_id, store_member_fn fn,
                                          void *ctx, struct gh_err *err);
enum gh_status store_sqlite_user_groups(struct store *s, const char *user_id, store_member_fn fn,
                                        void *ctx, struct gh_err *err);
/* sqlite_query.c */
enum gh_status store_sqlite_list(struct store *s, enum store_kind kind, const struct store_query *q,
                                 struct store_rec_list *out, struct gh_err *err);
/* The WHERE clause a filter compiles to and its parameter count (tests, fuzzing, debug).
 * Caller frees *out_sql. */
enum gh_status store_sqlite_filter_sql(enum store_kind kind, const struct store_filter *f,
                                       char **out_sql, int *out_params, struct gh_err *err);
/* sqlite_access.c */
enum gh_status store_sqlite_access_groups_sync(struct store *s,
                                               const struct store_access_group_def *defs, size_t n,
                                               struct gh_err *err);
enum gh_status store_sqlite_access_group_create(struct store *s,
                                                const struct store_access_group_def *def,
                                                struct gh_err *err);
enum gh_status store_sqlite_access_group_delete(struct store *s, const char *key,
                                                struct gh_err *err);
enum gh_status store_sqlite_access_group_update(struct store *s,
                                                const struct store_access_group_def *def,
                                                struct gh_err *err);
enum gh_status store_sqlite_access_groups(struct store *s, store_access_group_fn fn, void *ctx,
                                          struct gh_err *err);
enum gh_status store_sqlite_group_names(struct store *s, store_group_name_fn fn, void *ctx,
                                        struct gh_err *err);
enum gh_status store_sqlite_subject_find(struct store *s, enum store_user_key key,
                                         const char *value, struct store_subject *out,
                                         struct gh_err *err);
enum gh_status store_sqlite_subject_access(struct store *s, const char *user_id, store_access_fn fn,
                                           void *ctx, struct gh_err *err);
/* sqlite_feed.c: the change feed (store_int.h) */
enum gh_status store_sqlite_load(struct store *s, store_change_fn fn, void *ctx, int64_t *out_rev,
                                 struct gh_err *err);
enum gh_status store_sqlite_changes(struct store *s, int64_t after, size_t limit,
                                    store_change_fn fn, void *ctx, bool *out_gone,
                                    struct gh_err *err);
enum gh_status store_sqlite_head(struct store *s, int64_t *out_rev, struct gh_err *err);
enum gh_status store_sqlite_prune(struct store *s, int64_t keep, struct gh_err *err);

#endif
