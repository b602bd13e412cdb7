/*
 * pg.c - the PostgreSQL backend of the identity store (libpq): connections, transactions,
 * errors, migrations, readiness, the counts /metrics shows, and the operations table.
 *
 * Selected by a postgresql:// or postgres:// target (GATEHOUSE_DB). libpq reads everything else
 * the URL or the environment says (sslmode, PGPASSWORD, ~/.pgpass, ...). This file adds
 * connect_timeout=5 when the URL has none, TCP keepalives and a TCP user timeout, and a
 * statement_timeout on every session, so a lost server makes a call fail within seconds
 * instead of hanging. The URL may hold a password: only its form without userinfo is logged.
 *
 * Connections: one writer and STORE_PG_READERS readers, each with its own mutex (the SQLite
 * backend's shape), plus one LISTEN connection for ops->wait. Each connects on first use and
 * reconnects on the next use after the server dropped it; a call that finds the server gone
 * fails with GH_E_UNAVAILABLE ("store unreachable: ...", 503) and never waits forever.
 *
 * Writes (READ COMMITTED): every write transaction starts with
 * SELECT pg_advisory_xact_lock(STORE_PG_LOCK_KEY), so the writers of all replicas on one
 * database run one at a time, and each statement after the lock sees every earlier commit.
 * That is what keeps uniqueness checks, links and cut-offs right across replicas (the unique
 * indexes enforce userName/displayName uniqueness regardless) and what makes the change
 * revisions commit in order. A write that changed rows sends NOTIFY gatehouse_changes before
 * COMMIT (delivered at commit). A COMMIT whose outcome is unknown (the connection was lost
 * during it) is reported as GH_E_UNAVAILABLE: the client retries, and retries are no-ops.
 *
 * Migrations (pg_schema.c) run at open under the same advisory lock, so replicas starting
 * together migrate once; the version is gh_meta 'schema_version'. A schema newer than this
 * binary is refused.
 */
#include "core/core.h"
#include "store/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_PG_STATEMENT_TIMEOUT_MS "10000"

/* ---- targets ---- */

/* Any postgresql:// or postgres:// URL (store.c asks this backend before SQLite). */
static bool store_pg_accepts(const char *target)
{
    return strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0;
}

/* The target without userinfo and query ("postgresql://user:secret@host/db?password=x" ->
 * "postgresql://host/db"), for logs and error messages: either may hold a password. Caller
 * frees. */
static char *store_pg_shown(const char *url)
{
    const char *rest = strstr(url, "://") + 3;
    size_t host_len = strcspn(rest, "/?"), tail_len;
    const char *at = NULL, *tail;
    size_t cap = strlen(url) + 1;
    char *out = gh_xmalloc(cap);

    for (const char *p = rest; p < rest + host_len; p++)
        if (*p == '@')
            at = p;
    tail = at != NULL ? at + 1 : rest;
    tail_len = strcspn(tail, "?");
    snprintf(out, cap, "%.*s%.*s", (int)(rest - url), url, (int)tail_len, tail);
    return out;
}

/* ---- errors ---- */

/* libpq's message without its trailing newline(s), capped. */
static void store_pg_msg(char *out, size_t cap, const char *msg)
{
    size_t n;
    snprintf(out, cap, "%s", msg != NULL && *msg ? msg : "no message");
    n = strlen(out);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
    for (char *p = out; *p; p++)
        if (*p == '\n')
            *p = ' ';
}

/*
 * The status of a failed statement. The server gone or the connection lost (class 08, admin
 * or crash shutdown, cannot connect now), a server that cannot take the write now (class 53:
 * disk full, out of memory, too many connections; a read-only standby) and a statement or lock
 * timeout say nothing about the request and may pass: 503, retried by the client. Anything
 * else (a constraint the caller did not map, a bug) is a 500.
 */
static enum gh_status store_pg_status(PGconn *pg, const char *state)
{
    if (pg == NULL || PQstatus(pg) != CONNECTION_OK)
        return GH_E_UNAVAILABLE;
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
        strncmp(state, "57P0", 4) == 0 || strcmp(state, "57014") == 0 ||
        strcmp(state, "55P03") == 0 || strcmp(state, "25006") == 0 || strcmp(state, "40001") == 0 ||
        strcmp(state, "40P01") == 0)
        return GH_E_UNAVAILABLE;
    return GH_E_STORE;
}

static enum gh_status store_pg_fail(struct store_pg_conn *c, PGresult *res, struct gh_err *err)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char msg[200];
    enum gh_status st;

    snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", state != NULL ? state : "");
    store_pg_msg(msg, sizeof(msg), primary != NULL ? primary : PQerrorMessage(c->pg));
    st = store_pg_status(c->pg, c->sqlstate);
    if (st == GH_E_UNAVAILABLE && (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK))
        return GH_ERR(err, st, "store unreachable: %s", msg);
    if (st == GH_E_UNAVAILABLE)
        return GH_ERR(err, st, "store unavailable: %s (SQLSTATE %s)", msg, c->sqlstate);
    return GH_ERR(err, st, "postgresql: %s (SQLSTATE %s)", msg, c->sqlstate);
}

/* ---- connections ---- */

static void store_pg_conn_init(struct store_pg_conn *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
}

static void store_pg_conn_close(struct store_pg_conn *c)
{
    if (c->pg != NULL)
        PQfinish(c->pg);
    c->pg = NULL;
    pthread_mutex_destroy(&c->lock);
}

/* Server notices ("relation already exists, skipping") go to the debug log, not to stderr as
 * libpq's default would print them. */
static void store_pg_notice(void *arg, const char *message)
{
    char msg[200], q[256];
    (void)arg;
    store_pg_msg(msg, sizeof(msg), message);
    gh_log(GH_LOG_DEBUG, "store", "\"postgresql notice\" msg=%s", gh_log_q(q, sizeof(q), msg));
}

/* Session settings, run on every new or reset connection. */
static enum gh_status store_pg_session(struct store_pg_conn *c, struct gh_err *err)
{
    PGresult *res;
    enum gh_status rc = GH_OK;

    PQsetNoticeProcessor(c->pg, store_pg_notice, NULL);
    res = PQexec(c->pg, "SET statement_timeout = " STORE_PG_STATEMENT_TIMEOUT_MS);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = store_pg_fail(c, res, err);
    PQclear(res);
    return rc;
}

/*
 * Connect c (first use) or reset it (the server dropped it). The URL's own parameters win over
 * the defaults set here (expand_dbname: parameters after the URL would override it, those
 * before it do not). Caller holds c->lock. See pg_int.h.
 */
enum gh_status store_pg_connect(struct store_pg *s, struct store_pg_conn *c, struct gh_err *err)
{
    static const char *const keys[] = {
        "connect_timeout",     "keepalives",       "keepalives_idle",
        "keepalives_interval", "keepalives_count", "tcp_user_timeout",
        "application_name",    "dbname",           NULL,
    };
    const char *vals[] = {"5", "1", "10", "5", "3", "10000", "gatehouse", s->url, NULL};
    char msg[200];

    if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK)
        return GH_OK;
    if (c->pg == NULL)
        c->pg = PQconnectdbParams(keys, vals, 1);
    else
        PQreset(c->pg);
    c->used = false;
    if (c->pg == NULL)
        return GH_ERR(err, GH_E_UNAVAILABLE, "store unreachable: out of memory");
    if (PQstatus(c->pg) != CONNECTION_OK) {
        store_pg_msg(msg, sizeof(msg), PQerrorMessage(c->pg));
        return GH_ERR(err, GH_E_UNAVAILABLE, "store unreachable: %s", msg);
    }
    return store_pg_session(c, err);
}

/* A read connection: the first free one, else wait on one chosen by the thread. */
struct store_pg_conn *store_pg_reader(struct store_pg *s)
{
    for (int i = 0; i < STORE_PG_READERS; i++)
        if (pthread_mutex_trylock(&s->readers[i].lock) == 0)
            return &s->readers[i];
    struct store_pg_conn *c = &s->readers[(size_t)pthread_self() % STORE_PG_READERS];
    pthread_mutex_lock(&c->lock);
    return c;
}

void store_pg_release(struct store_pg_conn *c)
{
    pthread_mutex_unlock(&c->lock);
}

/* ---- statements ---- */

/* See pg_int.h. */
enum gh_status store_pg_exec(struct store_pg_conn *c, const char *sql, int n,
                             const char *const *params, PGresult **out, struct gh_err *err)
{
    PGresult *res;
    ExecStatusType x;

    if (out != NULL)
        *out = NULL;
    c->sqlstate[0] = '\0';
    if (c->pg == NULL)
        return GH_ERR(err, GH_E_UNAVAILABLE, "store unreachable: not connected");
    c->used = true;
    /* without parameters, the simple protocol: sql may be several statements, one round trip */
    res = n == 0 ? PQexec(c->pg, sql) : PQexecParams(c->pg, sql, n, NULL, params, NULL, NULL, 0);
    x = PQresultStatus(res);
    if (x != PGRES_COMMAND_OK && x != PGRES_TUPLES_OK) {
        enum gh_status st = store_pg_fail(c, res, err);
        PQclear(res);
        return st;
    }
    if (store_pg_changed(res) > 0) {
        const char *cmd = PQcmdStatus(res);
        if (strncmp(cmd, "INSERT", 6) == 0 || strncmp(cmd, "UPDATE", 6) == 0 ||
            strncmp(cmd, "DELETE", 6) == 0)
            c->wrote = true;
    }
    if (out != NULL)
        *out = res;
    else
        PQclear(res);
    return GH_OK;
}

/* See pg_int.h. */
enum gh_status store_pg_exec_first(struct store_pg *s, struct store_pg_conn *c, const char *sql,
                                   int n, const char *const *params, PGresult **out,
                                   struct gh_err *err)
{
    struct gh_err first = {0};
    bool was_used;
    enum gh_status rc;

    rc = store_pg_connect(s, c, err);
    if (rc)
        return rc;
    was_used = c->used;
    rc = store_pg_exec(c, sql, n, params, out, &first);
    if (rc == GH_OK)
        return GH_OK;
    /* a connection that served before and is gone now was dropped while idle (a server
     * restart): nothing of this statement ran, so connect again and run it once more */
    if (was_used && PQstatus(c->pg) != CONNECTION_OK) {
        rc = store_pg_connect(s, c, err);
        if (rc)
            return rc;
        return store_pg_exec(c, sql, n, params, out, err);
    }
    if (err != NULL && err->status == GH_OK)
        *err = first;
    return rc;
}

long store_pg_changed(PGresult *res)
{
    const char *t = PQcmdTuples(res);
    return t != NULL && *t ? strtol(t, NULL, 10) : 0;
}

const char *store_pg_val(PGresult *res, int r, int i)
{
    return PQgetisnull(res, r, i) ? NULL : PQgetvalue(res, r, i);
}

int64_t store_pg_int(PGresult *res, int r, int i)
{
    return PQgetisnull(res, r, i) ? 0 : strtoll(PQgetvalue(res, r, i), NULL, 10);
}

/* Fill rec from row r of (id, version, created, modified, body). */
void store_pg_row_rec(PGresult *res, int r, struct store_rec *rec)
{
    memset(rec, 0, sizeof(*rec));
    snprintf(rec->id, sizeof(rec->id), "%s", PQgetvalue(res, r, 0));
    rec->version = store_pg_int(res, r, 1);
    snprintf(rec->created, sizeof(rec->created), "%s", PQgetvalue(res, r, 2));
    snprintf(rec->modified, sizeof(rec->modified), "%s", PQgetvalue(res, r, 3));
    rec->body = gh_xstrdup(PQgetvalue(res, r, 4));
}

/* ---- write transactions ---- */

/* See pg_int.h. */
enum gh_status store_pg_begin(struct store_pg *s, struct gh_err *err)
{
    enum gh_status rc;

    pthread_mutex_lock(&s->writer.lock);
    s->writer.wrote = false;
    rc = store_pg_exec_first(s, &s->writer,
                             "BEGIN; SELECT pg_advisory_xact_lock(" STORE_PG_LOCK_KEY ")", 0, NULL,
                             NULL, err);
    if (rc && s->writer.pg != NULL && PQtransactionStatus(s->writer.pg) != PQTRANS_IDLE)
        store_pg_exec(&s->writer, "ROLLBACK", 0, NULL, NULL, NULL);
    if (rc) {
        store_write_done(&s->base, rc, false, err);
        pthread_mutex_unlock(&s->writer.lock);
    }
    return rc;
}

/* See pg_int.h. */
enum gh_status store_pg_end(struct store_pg *s, enum gh_status rc, struct gh_err *err)
{
    struct store_pg_conn *c = &s->writer;
    bool wrote = c->wrote;
    PGresult *res = NULL;

    if (rc == GH_OK) {
        rc = store_pg_exec(c, wrote ? "NOTIFY " STORE_PG_CHANNEL "; COMMIT" : "COMMIT", 0, NULL,
                           &res, err);
        if (rc == GH_E_UNAVAILABLE && PQstatus(c->pg) != CONNECTION_OK) {
            /* the COMMIT may or may not have been applied: say so, the retry is a no-op */
            if (err != NULL)
                snprintf(err->msg, sizeof(err->msg), "%s",
                         "store unreachable: connection lost during COMMIT (outcome unknown)");
        } else if (rc == GH_OK && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
            /* a transaction in the failed state answers COMMIT with ROLLBACK */
            rc = GH_ERR(err, GH_E_STORE, "postgresql: transaction rolled back at COMMIT");
        }
        PQclear(res);
    }
    /* an error, or a COMMIT that failed (the connection still up): end the transaction */
    if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK &&
        PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        store_pg_exec(c, "ROLLBACK", 0, NULL, NULL, NULL);
    store_write_done(&s->base, rc, wrote, err);
    return rc;
}

void store_pg_unlock(struct store_pg *s)
{
    pthread_mutex_unlock(&s->writer.lock);
}

/* ---- migrations ---- */

/* Run the migrations this database lacks, each in its own transaction under the advisory
 * lock (re-reading the version under it: another replica may just have migrated). */
static enum gh_status store_pg_migrate(struct store_pg *s, struct gh_err *err)
{
    struct store_pg_conn *c = &s->writer;
    enum gh_status rc = GH_OK;
    PGresult *res = NULL;
    int64_t v;

    for (;;) {
        rc = store_pg_begin(s, err);
        if (rc)
            return rc;
        rc = store_pg_exec(c,
                           "CREATE TABLE IF NOT EXISTS gh_meta (key text COLLATE \"C\" PRIMARY "
                           "KEY, value text NOT NULL)",
                           0, NULL, NULL, err);
        if (rc == GH_OK)
            rc = store_pg_exec(c,
                               "SELECT COALESCE((SELECT value::bigint FROM gh_meta "
                               "WHERE key = 'schema_version'), 0)",
                               0, NULL, &res, err);
        if (rc)
            goto fail;
        v = store_pg_int(res, 0, 0);
        PQclear(res);
        res = NULL;
        if (v < 0 || (uint64_t)v > store_pg_migration_count) {
            rc = GH_ERR(err, GH_E_STORE,
                        "database schema version %lld is newer than this gatehouse (%zu)",
                        (long long)v, store_pg_migration_count);
            goto fail;
        }
        if ((size_t)v == store_pg_migration_count) {
            s->version = (int)v;
            rc = store_pg_end(s, GH_OK, err);
            store_pg_unlock(s);
            return rc;
        }
        /* PQexec: a migration is several statements */
        res = PQexec(c->pg, store_pg_migrations[v]);
        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
            rc = store_pg_fail(c, res, err);
            goto fail;
        }
        PQclear(res);
        res = NULL;
        {
            char next[24];
            const char *p[] = {next};
            snprintf(next, sizeof(next), "%lld", (long long)v + 1);
            rc = store_pg_exec(c,
                               "INSERT INTO gh_meta(key, value) VALUES ('schema_version', $1) "
                               "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                               1, p, NULL, err);
        }
        c->wrote = true;
        rc = store_pg_end(s, rc, err);
        store_pg_unlock(s);
        if (rc)
            return rc;
        gh_log(GH_LOG_INFO, "store", "\"schema migrated\" backend=postgresql version=%lld",
               (long long)v + 1);
    }
fail:
    PQclear(res);
    rc = store_pg_end(s, rc, err);
    store_pg_unlock(s);
    return rc;
}

/* ---- open, close ---- */

/*
 * Open the store at url and migrate it (one connection; the others connect on first use). On
 * success *out_store is owned by the caller (store_close); on failure nothing is left open and
 * err says why (GH_E_UNAVAILABLE when the server cannot be reached).
 */
static enum gh_status store_pg_open(const char *url, struct store **out_store, struct gh_err *err)
{
    struct store_pg *s;
    char *perr = NULL, msg[200];
    PQconninfoOption *opts = PQconninfoParse(url, &perr);
    enum gh_status rc;

    /* a malformed URL is a configuration error (the daemon exits), not an outage */
    if (opts == NULL) {
        store_pg_msg(msg, sizeof(msg), perr);
        PQfreemem(perr);
        return GH_ERR(err, GH_E_INVALID, "GATEHOUSE_DB is not a valid PostgreSQL URL: %s", msg);
    }
    PQconninfoFree(opts);
    s = gh_xcalloc(1, sizeof(*s));
    store_base_init(&s->base, &store_pg_ops);
    s->url = gh_xstrdup(url);
    s->shown = store_pg_shown(url);
    store_pg_conn_init(&s->writer);
    store_pg_conn_init(&s->listener);
    for (int i = 0; i < STORE_PG_READERS; i++)
        store_pg_conn_init(&s->readers[i]);
    rc = store_pg_migrate(s, err);
    if (rc) {
        store_close(&s->base);
        return rc;
    }
    gh_log(GH_LOG_INFO, "store", "\"store opened\" backend=postgresql target=%s version=%d",
           s->shown, s->version);
    *out_store = &s->base;
    return GH_OK;
}

static void store_pg_close(struct store *base)
{
    struct store_pg *s = store_pg_of(base);
    for (int i = 0; i < STORE_PG_READERS; i++)
        store_pg_conn_close(&s->readers[i]);
    store_pg_conn_close(&s->writer);
    store_pg_conn_close(&s->listener);
    free(s->url);
    free(s->shown);
    free(s);
}

static int store_pg_schema_version(struct store *s)
{
    return store_pg_of(s)->version;
}

/* /readyz probe: ready when a read connection answers a trivial query. */
static bool store_pg_ready(struct store *base, const char **out_reason)
{
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = store_pg_reader(s);
    enum gh_status rc;

    rc = store_pg_exec_first(s, c, "SELECT 1 FROM users LIMIT 1", 0, NULL, NULL, NULL);
    store_pg_release(c);
    if (rc == GH_E_UNAVAILABLE)
        *out_reason = "store unreachable: no connection to PostgreSQL";
    else if (rc)
        *out_reason = "store not answering";
    return rc == GH_OK;
}

/* The gauges of /metrics, in one statement so the figures agree (-1 when unreadable). */
static void store_pg_counts(struct store *base, struct store_counts *out)
{
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = store_pg_reader(s);
    PGresult *res = NULL;

    out->active = out->inactive = out->groups = out->members = -1;
    if (store_pg_exec_first(s, c,
                            "SELECT (SELECT count(*) FROM users WHERE active), "
                            "(SELECT count(*) FROM users WHERE NOT active), "
                            "(SELECT count(*) FROM groups), (SELECT count(*) FROM members)",
                            0, NULL, &res, NULL) == GH_OK) {
        out->active = store_pg_int(res, 0, 0);
        out->inactive = store_pg_int(res, 0, 1);
        out->groups = store_pg_int(res, 0, 2);
        out->members = store_pg_int(res, 0, 3);
    }
    PQclear(res);
    store_pg_release(c);
}

const struct store_ops store_pg_ops = {
    .name = "postgresql",
    .accepts = store_pg_accepts,
    .open = store_pg_open,
    .close = store_pg_close,
    .schema_version = store_pg_schema_version,
    .ready = store_pg_ready,
    .counts = store_pg_counts,
    .create = store_pg_create,
    .get = store_pg_get,
    .update = store_pg_update,
    .del = store_pg_delete,
    .list = store_pg_list,
    .user_find = store_pg_user_find,
    .group_members = store_pg_group_members,
    .user_groups = store_pg_user_groups,
    .access_groups_sync = store_pg_access_groups_sync,
    .access_group_create = store_pg_access_group_create,
    .access_group_delete = store_pg_access_group_delete,
    .access_group_update = store_pg_access_group_update,
    .access_groups = store_pg_access_groups,
    .group_names = store_pg_group_names,
    .subject_find = store_pg_subject_find,
    .subject_access = store_pg_subject_access,
    .load = store_pg_load,
    .changes = store_pg_changes,
    .head = store_pg_head,
    .wait = store_pg_wait,
    .prune = store_pg_prune,
    .import = store_pg_import,
};
