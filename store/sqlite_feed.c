/*
 * sqlite_feed.c - the change feed on SQLite (store_int.h): the whole decision state as one
 * replay for the in-memory index, the changes after a revision, the head revision, and pruning.
 * The changes table and the triggers that fill it are migration 4 (sqlite_schema.c).
 */
#include "core/core.h"
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Text column i, NULL when the value is NULL. */
static const char *store_sqlite_feed_text(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL
                                                     : (const char *)sqlite3_column_text(st, i);
}

/* Run sql (rows of op, a, b, c, k, n; rev in column 6 when with_rev) and pass each row to fn.
 * *out_stopped is set when fn asked to stop. */
static enum gh_status store_sqlite_feed_walk(sqlite3 *db, const char *sql, int64_t bind1,
                                             bool with_rev, store_change_fn fn, void *ctx,
                                             bool *out_stopped, struct gh_err *err)
{
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    int step;

    rc = store_sqlite_prepare(db, sql, &st, err);
    if (rc)
        return rc;
    if (sqlite3_bind_parameter_count(st) >= 1)
        sqlite3_bind_int64(st, 1, bind1);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *op = (const char *)sqlite3_column_text(st, 0);
        struct store_change ch = {
            with_rev ? sqlite3_column_int64(st, 6) : 0,
            (char)(op != NULL ? op[0] : '?'),
            store_sqlite_feed_text(st, 1),
            store_sqlite_feed_text(st, 2),
            store_sqlite_feed_text(st, 3),
            sqlite3_column_int64(st, 4),
            sqlite3_column_int64(st, 5),
        };
        if (!fn(ctx, &ch)) {
            *out_stopped = true;
            break;
        }
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = store_sqlite_fail(db, err, "read changes");
    sqlite3_finalize(st);
    return rc;
}

static enum gh_status store_sqlite_feed_int(sqlite3 *db, const char *sql, int64_t *out,
                                            struct gh_err *err)
{
    sqlite3_stmt *st = NULL;
    enum gh_status rc = store_sqlite_prepare(db, sql, &st, err);

    if (rc)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        rc = store_sqlite_fail(db, err, "read revision");
    sqlite3_finalize(st);
    return rc;
}

#define STORE_SQLITE_HEAD_SQL "SELECT COALESCE(max(rev), 0) FROM changes"
#define STORE_SQLITE_PRUNED_SQL                                                                    \
    "SELECT CAST(value AS INTEGER) FROM gh_meta WHERE key = 'changes_pruned'"

/* See store_int.h. One read transaction: the state and its revision are one snapshot. */
enum gh_status store_sqlite_load(struct store *base, store_change_fn fn, void *ctx,
                                 int64_t *out_rev, struct gh_err *err)
{
    static const char *const sql[] = {
        "SELECT 'U', id, user_name, external_id, active, 0 FROM users ORDER BY rowid",
        "SELECT 'G', id, display_name, NULL, 0, 0 FROM groups ORDER BY rowid",
        "SELECT 'M', group_id, member_id, NULL, member_type, 0 FROM members WHERE member_type = 0",
        "SELECT 'L', key, group_id, NULL, 0, 0 FROM access_group_links",
        "SELECT 'C', user_id, key, NULL, 0, at FROM cutoffs",
        "SELECT 'T', value, NULL, NULL, kind, at FROM user_tombstones",
        "SELECT 'A', key, NULL, NULL, 0, 0 FROM access_groups ORDER BY key",
    };
    struct store_sqlite *s = store_sqlite_of(base);
    struct store_sqlite_conn *c = store_sqlite_reader(s);
    bool stopped = false;
    enum gh_status rc;

    *out_rev = 0;
    rc = store_sqlite_exec(c->db, "BEGIN", err);
    if (rc)
        goto out;
    rc = store_sqlite_feed_int(c->db, STORE_SQLITE_HEAD_SQL, out_rev, err);
    for (size_t i = 0; rc == GH_OK && !stopped && i < sizeof(sql) / sizeof(sql[0]); i++)
        rc = store_sqlite_feed_walk(c->db, sql[i], 0, false, fn, ctx, &stopped, err);
    store_sqlite_exec(c->db, "COMMIT", NULL);
out:
    store_sqlite_release(c);
    return rc;
}

/* See store_int.h. */
enum gh_status store_sqlite_changes(struct store *base, int64_t after, size_t limit,
                                    store_change_fn fn, void *ctx, bool *out_gone,
                                    struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
    struct store_sqlite_conn *c = store_sqlite_reader(s);
    char sql[160];
    bool stopped = false;
    int64_t pruned = 0;
    enum gh_status rc;

    *out_gone = false;
    rc = store_sqlite_exec(c->db, "BEGIN", err);
    if (rc)
        goto out;
    rc = store_sqlite_feed_int(c->db, STORE_SQLITE_PRUNED_SQL, &pruned, err);
    if (rc == GH_OK && after < pruned)
        *out_gone = true;
    if (rc == GH_OK && !*out_gone) {
        snprintf(sql, sizeof(sql),
                 "SELECT op, a, b, c, k, n, rev FROM changes WHERE rev > ?1 ORDER BY rev LIMIT %zu",
                 limit);
        rc = store_sqlite_feed_walk(c->db, sql, after, true, fn, ctx, &stopped, err);
    }
    store_sqlite_exec(c->db, "COMMIT", NULL);
out:
    store_sqlite_release(c);
    return rc;
}

/* See store_int.h. */
enum gh_status store_sqlite_head(struct store *base, int64_t *out_rev, struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
    struct store_sqlite_conn *c = store_sqlite_reader(s);
    enum gh_status rc = store_sqlite_feed_int(c->db, STORE_SQLITE_HEAD_SQL, out_rev, err);

    store_sqlite_release(c);
    return rc;
}

/* See store_int.h. A write transaction of its own (it changes no resource; the generation it
 * bumps only makes caches reread). */
enum gh_status store_sqlite_prune(struct store *base, int64_t keep, struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = NULL;
    enum gh_status rc;

    rc = store_sqlite_begin(s, err);
    if (rc)
        return rc;
    rc = store_sqlite_prepare(
        s->writer.db,
        "WITH cut AS (SELECT max(rev) - ?1 AS r FROM changes) "
        "UPDATE gh_meta SET value = CAST(max(CAST(value AS INTEGER), (SELECT r FROM cut)) AS TEXT) "
        "WHERE key = 'changes_pruned' AND (SELECT r FROM cut) > 0",
        &st, err);
    if (rc == GH_OK) {
        sqlite3_bind_int64(st, 1, keep);
        rc = store_sqlite_step_done(s->writer.db, st, err);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == GH_OK)
        rc = store_sqlite_exec(s->writer.db,
                               "DELETE FROM changes WHERE rev <= (SELECT CAST(value AS INTEGER) "
                               "FROM gh_meta WHERE key = 'changes_pruned')",
                               err);
    rc = store_sqlite_end(s, rc, err);
    store_sqlite_unlock(s);
    return rc;
}
