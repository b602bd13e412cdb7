/*
 * pg_feed.c - the change feed on PostgreSQL (store_int.h): the whole decision state as one
 * replay for the in-memory index, the changes after a revision, the head revision, pruning, and
 * waiting for another replica's commit (LISTEN/NOTIFY).
 *
 * Revisions commit in order: every write transaction holds the writers' advisory lock from its
 * start to its commit (pg.c), so the rows of one transaction get higher revs than those of
 * every transaction committed before it, and a reader that saw rev r never later sees a new row
 * below r. A snapshot (REPEATABLE READ) therefore holds a prefix of the revisions.
 */
#include "core/core.h"
#include "store/pg_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* rows fetched at a time when loading: a million members never sit in memory at once */
#define STORE_PG_FETCH "10000"

/* Pass rows first.. of (op, a, b, c, k, n[, rev]) to fn; *out_stopped when fn asked to stop.
 * first 0: a load (no revs); 1: the changes query. */
static void store_pg_feed_rows(PGresult *res, int first, store_change_fn fn, void *ctx,
                               bool *out_stopped)
{
    bool with_rev = first > 0; /* the changes query (its row 0 is the pruned mark) */
    for (int i = first; i < PQntuples(res) && !*out_stopped; i++) {
        struct store_change ch = {
            with_rev ? store_pg_int(res, i, 6) : 0,
            PQgetvalue(res, i, 0)[0],
            store_pg_val(res, i, 1),
            store_pg_val(res, i, 2),
            store_pg_val(res, i, 3),
            store_pg_int(res, i, 4),
            store_pg_int(res, i, 5),
        };
        if (!fn(ctx, &ch))
            *out_stopped = true;
    }
}

#define STORE_PG_HEAD_SQL "SELECT COALESCE(max(rev), 0) FROM changes"

/* See store_int.h. One REPEATABLE READ READ ONLY transaction, so the state and its revision
 * are one snapshot; each table is read through a cursor, STORE_PG_FETCH rows at a time. */
enum gh_status store_pg_load(struct store *base, store_change_fn fn, void *ctx, int64_t *out_rev,
                             struct gh_err *err)
{
    static const char *const sql[] = {
        "SELECT 'U', id, user_name, external_id, active::integer, 0 FROM users ORDER BY seq",
        "SELECT 'G', id, display_name, NULL, 0, 0 FROM groups ORDER BY seq",
        "SELECT 'M', group_id, member_id, NULL, member_type, 0 FROM members "
        "WHERE member_type = 0",
        "SELECT 'L', key, group_id, NULL, 0, 0 FROM access_group_links ORDER BY key",
        "SELECT 'C', user_id, key, NULL, 0, at FROM cutoffs ORDER BY user_id, key",
        "SELECT 'T', value, NULL, NULL, kind, at FROM user_tombstones "
        "ORDER BY kind, lower(value COLLATE \"C\")",
        "SELECT 'A', key, NULL, NULL, 0, 0 FROM access_groups ORDER BY key",
    };
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = store_pg_reader(s);
    PGresult *res = NULL;
    bool stopped = false;
    enum gh_status rc;
    char declare[400];

    *out_rev = 0;
    rc = store_pg_exec_first(s, c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, NULL,
                             err);
    if (rc)
        goto out;
    rc = store_pg_exec(c, STORE_PG_HEAD_SQL, 0, NULL, &res, err);
    if (rc)
        goto done;
    *out_rev = store_pg_int(res, 0, 0);
    PQclear(res);
    res = NULL;
    for (size_t i = 0; rc == GH_OK && !stopped && i < sizeof(sql) / sizeof(sql[0]); i++) {
        snprintf(declare, sizeof(declare), "DECLARE gh_load NO SCROLL CURSOR FOR %s", sql[i]);
        rc = store_pg_exec(c, declare, 0, NULL, NULL, err);
        while (rc == GH_OK && !stopped) {
            rc = store_pg_exec(c, "FETCH " STORE_PG_FETCH " FROM gh_load", 0, NULL, &res, err);
            if (rc || PQntuples(res) == 0)
                break;
            store_pg_feed_rows(res, 0, fn, ctx, &stopped);
            PQclear(res);
            res = NULL;
        }
        PQclear(res);
        res = NULL;
        if (rc == GH_OK)
            rc = store_pg_exec(c, "CLOSE gh_load", 0, NULL, NULL, err);
    }
done:
    store_pg_exec(c, rc ? "ROLLBACK" : "COMMIT", 0, NULL, NULL, NULL);
out:
    PQclear(res);
    store_pg_release(c);
    return rc;
}

/* See store_int.h. One statement, so one snapshot and one round trip (this runs after every
 * write and on every replica woken by its NOTIFY): its first row carries the pruned mark, the
 * others are the changes after `after` (none when the log was pruned past it). */
enum gh_status store_pg_changes(struct store *base, int64_t after, size_t limit, store_change_fn fn,
                                void *ctx, bool *out_gone, struct gh_err *err)
{
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = store_pg_reader(s);
    char after_s[24], limit_s[24];
    const char *p[] = {after_s, limit_s};
    PGresult *res = NULL;
    bool stopped = false;
    enum gh_status rc;

    *out_gone = false;
    snprintf(after_s, sizeof(after_s), "%lld", (long long)after);
    snprintf(limit_s, sizeof(limit_s), "%zu", limit);
    rc = store_pg_exec_first(
        s, c,
        "WITH p AS (SELECT value::bigint AS v FROM gh_meta WHERE key = 'changes_pruned') "
        "SELECT 'P', NULL, NULL, NULL, 0::bigint, p.v, 0::bigint FROM p "
        "UNION ALL (SELECT op, a, b, c, k, n, rev FROM changes, p "
        "WHERE rev > $1::bigint AND $1::bigint >= p.v ORDER BY rev LIMIT $2::bigint)",
        2, p, &res, err);
    if (rc == GH_OK && (PQntuples(res) < 1 || PQgetvalue(res, 0, 0)[0] != 'P'))
        rc = GH_ERR(err, GH_E_STORE, "postgresql: the change log has no pruned mark");
    if (rc == GH_OK && after < store_pg_int(res, 0, 5))
        *out_gone = true;
    if (rc == GH_OK && !*out_gone)
        store_pg_feed_rows(res, 1, fn, ctx, &stopped);
    PQclear(res);
    store_pg_release(c);
    return rc;
}

/* See store_int.h. */
enum gh_status store_pg_head(struct store *base, int64_t *out_rev, struct gh_err *err)
{
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = store_pg_reader(s);
    PGresult *res = NULL;
    enum gh_status rc;

    rc = store_pg_exec_first(s, c, STORE_PG_HEAD_SQL, 0, NULL, &res, err);
    if (rc == GH_OK)
        *out_rev = store_pg_int(res, 0, 0);
    PQclear(res);
    store_pg_release(c);
    return rc;
}

/* See store_int.h. A write transaction of its own, under the writers' lock. */
enum gh_status store_pg_prune(struct store *base, int64_t keep, struct gh_err *err)
{
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = &s->writer;
    char keep_s[24];
    const char *p[] = {keep_s};
    enum gh_status rc;

    snprintf(keep_s, sizeof(keep_s), "%lld", (long long)keep);
    rc = store_pg_begin(s, err);
    if (rc)
        return rc;
    rc = store_pg_exec(c,
                       "WITH cut AS (SELECT max(rev) - $1::bigint AS r FROM changes) "
                       "UPDATE gh_meta SET value = GREATEST(value::bigint, "
                       "(SELECT r FROM cut))::text "
                       "WHERE key = 'changes_pruned' AND (SELECT r FROM cut) > 0",
                       1, p, NULL, err);
    if (rc == GH_OK)
        rc = store_pg_exec(c,
                           "DELETE FROM changes WHERE rev <= (SELECT value::bigint FROM gh_meta "
                           "WHERE key = 'changes_pruned')",
                           0, NULL, NULL, err);
    rc = store_pg_end(s, rc, err);
    store_pg_unlock(s);
    return rc;
}

/* Drop every notification libpq has read. */
static void store_pg_drain(PGconn *pg)
{
    PGnotify *n;
    while ((n = PQnotifies(pg)) != NULL)
        PQfreemem(n);
}

/* Milliseconds on the monotonic clock. */
static int64_t store_pg_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * See store_int.h: wait up to timeout_ms for a NOTIFY on gatehouse_changes (any replica's
 * commit, this one's included) on the LISTEN connection. A connection made (or remade) here
 * returns at once, as a wake-up: commits announced while it was down were missed, so the caller
 * reads the head again. When the server cannot be reached the timeout is slept out (so a
 * caller's loop does not spin) and GH_E_UNAVAILABLE returned; the next call reconnects. One
 * waiter at a time (the listener's lock).
 */
enum gh_status store_pg_wait(struct store *base, int timeout_ms, struct gh_err *err)
{
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = &s->listener;
    int64_t deadline = store_pg_ms() + (timeout_ms > 0 ? timeout_ms : 0), left;
    enum gh_status rc = GH_OK;

    pthread_mutex_lock(&c->lock);
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK)
        goto listen;
    for (;;) {
        struct pollfd pfd = {PQsocket(c->pg), POLLIN, 0};
        PGnotify *note;
        int n;

        if (PQconsumeInput(c->pg) == 0 || PQstatus(c->pg) != CONNECTION_OK) {
            /* dropped (a restart, a network failure): a fresh connection */
            PQfinish(c->pg);
            c->pg = NULL;
            goto listen;
        }
        note = PQnotifies(c->pg);
        left = deadline - store_pg_ms();
        if (note != NULL || left <= 0) {
            PQfreemem(note);
            store_pg_drain(c->pg);
            goto out;
        }
        n = poll(&pfd, 1, (int)left);
        if (n < 0 && errno != EINTR) {
            rc = GH_ERR(err, GH_E_INTERNAL, "poll: %s", strerror(errno));
            goto out;
        }
    }
listen:
    rc = store_pg_connect(s, c, err);
    if (rc == GH_OK)
        rc = store_pg_exec(c, "LISTEN " STORE_PG_CHANNEL, 0, NULL, NULL, err);
    if (rc == GH_OK)
        goto out; /* (re)connected: a wake-up */
    left = deadline - store_pg_ms();
    if (left > 0)
        poll(NULL, 0, (int)left);
out:
    pthread_mutex_unlock(&c->lock);
    return rc;
}
