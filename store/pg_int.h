/*
 * pg_int.h - inside the PostgreSQL backend (private to store/pg*.c and the store's tests).
 *
 * pg.c: connections, transactions, errors, the migrations runner, readiness and counts, the
 * ops table. pg_schema.c: the DDL migrations and plpgsql triggers. pg_resource.c: users, groups
 * and memberships. pg_access.c: access groups, links, subjects and cut-offs. pg_feed.c: the
 * change feed. pg_import.c: migrate-store's copy. pg_query.c: list queries (filter tree -> SQL).
 *
 * Every statement goes through PQexecParams with text parameters: no SQL is ever built from
 * request data. Results are text; booleans come back as "t"/"f".
 */
#ifndef STORE_PG_INT_H
#define STORE_PG_INT_H

#include "store/store_int.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define STORE_PG_READERS 4
/* The key of the transaction-scoped advisory lock every write transaction (and every
 * migration) takes first: it serialises the writers of every replica on one database. */
#define STORE_PG_LOCK_KEY "7305269347210061"
/* The channel committed writes are announced on (NOTIFY before COMMIT; delivered at commit). */
#define STORE_PG_CHANNEL "gatehouse_changes"

struct store_pg_conn {
    PGconn *pg; /* NULL until first used; reset when the server dropped it */
    pthread_mutex_t lock;
    bool used;        /* has run a statement since it was (re)connected */
    bool wrote;       /* a statement in the current transaction changed rows */
    char sqlstate[6]; /* of the last failed statement ("" when none) */
};

/* An open PostgreSQL store: struct store first, so a struct store * is one of these. */
struct store_pg {
    struct store base;
    char *url;   /* owned: the target as given (may hold a password: never logged) */
    char *shown; /* owned: the target without userinfo, for logs and errors */
    int version; /* schema version after the migrations */
    struct store_pg_conn writer;
    struct store_pg_conn readers[STORE_PG_READERS];
    struct store_pg_conn listener; /* LISTEN gatehouse_changes; ops->wait only */
};

static inline struct store_pg *store_pg_of(struct store *s)
{
    return (struct store_pg *)s;
}

/* ---- the DDL (pg_schema.c) ---- */
/* Migration i (0-based) brings the schema from version i to i+1; each runs in one transaction
 * with the bump of gh_meta 'schema_version'. */
extern const char *const store_pg_migrations[];
extern const size_t store_pg_migration_count;

/* ---- connections (pg.c) ---- */
/* A read connection, locked: the first free one, else wait on one chosen by the thread. */
struct store_pg_conn *store_pg_reader(struct store_pg *s);
void store_pg_release(struct store_pg_conn *c);
/* Connect c (first use) or reset it (dropped by the server); GH_E_UNAVAILABLE ("store
 * unreachable: ...") when the server cannot be reached. Caller holds c->lock. */
enum gh_status store_pg_connect(struct store_pg *s, struct store_pg_conn *c, struct gh_err *err);

/* ---- statements and errors (pg.c) ---- */
/*
 * Run one statement on c (connected, lock held) with n text parameters (NULL: SQL NULL). On
 * success *out (when not NULL) is the result, which the caller PQclears. A statement that
 * changed rows (INSERT/UPDATE/DELETE) marks c->wrote. On failure c->sqlstate is the SQLSTATE
 * and err says why: GH_E_UNAVAILABLE when the connection is lost or the server cannot take the
 * statement now (shutting down, disk full, timeout), else GH_E_STORE.
 */
enum gh_status store_pg_exec(struct store_pg_conn *c, const char *sql, int n,
                             const char *const *params, PGresult **out, struct gh_err *err);
/* The same as the first statement of an operation: when c was dropped by the server since its
 * last use (a restart), reconnect and run it once more. Only for statements that are safe to
 * repeat (reads, BEGIN). */
enum gh_status store_pg_exec_first(struct store_pg *s, struct store_pg_conn *c, const char *sql,
                                   int n, const char *const *params, PGresult **out,
                                   struct gh_err *err);
/* Rows a command changed (PQcmdTuples as a number; 0 when none or not a command). */
long store_pg_changed(PGresult *res);
/* Text of row r, column i; NULL when SQL NULL. */
const char *store_pg_val(PGresult *res, int r, int i);
int64_t store_pg_int(PGresult *res, int r, int i);
/* Fill rec from row r of (id, version, created, modified, body). */
void store_pg_row_rec(PGresult *res, int r, struct store_rec *rec);

/* ---- write transactions (pg.c) ---- */
/* Lock the writer, (re)connect, BEGIN and take the advisory lock; on failure the writer is
 * unlocked and the failure accounted (store_write_done). */
enum gh_status store_pg_begin(struct store_pg *s, struct gh_err *err);
/* NOTIFY (when rows changed) and COMMIT, or ROLLBACK when rc is an error; the writer stays
 * locked for the events. A COMMIT whose outcome is unknown (connection lost) is
 * GH_E_UNAVAILABLE: the client retries, and retries are no-ops. */
enum gh_status store_pg_end(struct store_pg *s, enum gh_status rc, struct gh_err *err);
void store_pg_unlock(struct store_pg *s);

/* ---- the operations, by file ---- */
/* pg_resource.c */
enum gh_status store_pg_create(struct store *s, enum store_kind kind, const struct store_row *row,
                               const struct store_members_change *members, struct store_rec *out,
                               struct gh_err *err);
enum gh_status store_pg_get(struct store *s, enum store_kind kind, const char *id,
                            struct store_rec *out, struct gh_err *err);
enum gh_status store_pg_update(struct store *s, enum store_kind kind, const char *id,
                               store_update_fn fn, void *ctx, struct store_rec *out,
                               struct gh_err *err);
enum gh_status store_pg_delete(struct store *s, enum store_kind kind, const char *id,
                               int64_t expect_version, struct gh_err *err);
enum gh_status store_pg_user_find(struct store *s, enum store_user_key key, const char *value,
                                  struct store_rec *out, struct gh_err *err);
enum gh_status store_pg_group_members(struct store *s, const char *group_id, store_member_fn fn,
                                      void *ctx, struct gh_err *err);
enum gh_status store_pg_user_groups(struct store *s, const char *user_id, store_member_fn fn,
                                    void *ctx, struct gh_err *err);
enum gh_status store_pg_list(struct store *s, enum store_kind kind, const struct store_query *q,
                             struct store_rec_list *out, struct gh_err *err);
/* pg_access.c */
enum gh_status store_pg_access_groups_sync(struct store *s,
                                           const struct store_access_group_def *defs, size_t n,
                                           struct gh_err *err);
enum gh_status store_pg_access_group_create(struct store *s,
                                            const struct store_access_group_def *def,
                                            struct gh_err *err);
enum gh_status store_pg_access_group_delete(struct store *s, const char *key, struct gh_err *err);
enum gh_status store_pg_access_group_update(struct store *s,
                                            const struct store_access_group_def *def,
                                            struct gh_err *err);
enum gh_status store_pg_access_groups(struct store *s, store_access_group_fn fn, void *ctx,
                                      struct gh_err *err);
enum gh_status store_pg_group_names(struct store *s, store_group_name_fn fn, void *ctx,
                                    struct gh_err *err);
enum gh_status store_pg_subject_find(struct store *s, enum store_user_key key, const char *value,
                                     struct store_subject *out, struct gh_err *err);
enum gh_status store_pg_subject_access(struct store *s, const char *user_id, store_access_fn fn,
                                       void *ctx, struct gh_err *err);
/* pg_feed.c: the change feed (store_int.h) */
enum gh_status store_pg_load(struct store *s, store_change_fn fn, void *ctx, int64_t *out_rev,
                             struct gh_err *err);
enum gh_status store_pg_changes(struct store *s, int64_t after, size_t limit, store_change_fn fn,
                                void *ctx, bool *out_gone, struct gh_err *err);
enum gh_status store_pg_head(struct store *s, int64_t *out_rev, struct gh_err *err);
enum gh_status store_pg_wait(struct store *s, int timeout_ms, struct gh_err *err);
enum gh_status store_pg_prune(struct store *s, int64_t keep, struct gh_err *err);
/* pg_import.c: migrate-store's copy (store_int.h) */
enum gh_status store_pg_import(struct store *s, const struct store_import_table *t, size_t nt,
                               struct gh_err *err);

#endif
