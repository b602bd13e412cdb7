/*
 * sqlite.c - the SQLite backend of the identity store: connections, transactions, migrations,
 * readiness, the counts /metrics shows, and the operations table store.c dispatches through.
 *
 * Connection settings: WAL (readers never block the writer), synchronous=FULL (an acknowledged
 * write survives power loss), foreign_keys=ON, busy_timeout. Migrations (sqlite_schema.c) run
 * at open, each in its own transaction with its user_version bump, so a crash mid-migration
 * leaves the previous version intact. A database newer than this binary is refused rather than
 * misread.
 *
 * Writes: one connection, one mutex, one BEGIN IMMEDIATE ... COMMIT per operation, so a
 * read-modify-write (PUT, PATCH, If-Match) sees no interleaved writer. Reads: a pool of
 * STORE_SQLITE_READERS connections, each with its own mutex.
 *
 * A write that fails because the disk cannot take it (SQLITE_FULL: disk full or a file-size
 * limit; SQLITE_IOERR*; a read-only database) is GH_E_UNAVAILABLE (503, retried by the client),
 * not GH_E_STORE (500), and marks the store not writable (store_write_done) until a write
 * commits again. Reads and decisions use the read connections and are unaffected. A write is
 * acknowledged only after its COMMIT returned SQLITE_OK, so a refused write is never a 2xx.
 */
#include "core/core.h"
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_SQLITE_BUSY_MS 5000

const char *const store_sqlite_tables[] = {"users", "groups"};
/*
 * The status for the error SQLite last reported on db. Failures of the storage under the
 * database - no space (SQLITE_FULL, also a write(2) past RLIMIT_FSIZE: EFBIG), an I/O error,
 * a read-only file or file system - say nothing about the request and may pass (space is
 * freed, the disk remounted), so the client is told to retry (503). Anything else (a
 * constraint, corruption, a bug) is a 500.
 */
static enum gh_status store_sqlite_status(sqlite3 *db)
{
    int primary = sqlite3_extended_errcode(db) & 0xff;
    if (primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_READONLY)
        return GH_E_UNAVAILABLE;
    return GH_E_STORE;
}

/* Record SQLite's last error on db ("what: message"). For a failure of the storage the log also
 * gets the extended code: "disk I/O error" alone does not say which operation failed (778 is
 * SQLITE_IOERR_WRITE, 13 SQLITE_FULL). */
static enum gh_status store_sqlite_err(sqlite3 *db, struct gh_err *err, const char *what,
                                       const char *msg)
{
    enum gh_status st = store_sqlite_status(db);
    if (st == GH_E_UNAVAILABLE)
        return GH_ERR(err, st, "sqlite: %s%s%s (code %d)", what, *what ? ": " : "", msg,
                      sqlite3_extended_errcode(db));
    return GH_ERR(err, st, "sqlite: %s%s%s", what, *what ? ": " : "", msg);
}

enum gh_status store_sqlite_exec(sqlite3 *db, const char *sql, struct gh_err *err)
{
    char *msg = NULL;
    enum gh_status st;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        st = store_sqlite_err(db, err, "", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return st;
    }
    return GH_OK;
}

enum gh_status store_sqlite_fail(sqlite3 *db, struct gh_err *err, const char *what)
{
    return store_sqlite_err(db, err, what, sqlite3_errmsg(db));
}

enum gh_status store_sqlite_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out,
                                    struct gh_err *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, out, NULL) != SQLITE_OK)
        return store_sqlite_fail(db, err, "prepare");
    return GH_OK;
}

/* A statement kept prepared on connection c (whose lock the caller holds), reset and unbound.
 * The caller must not finalize it. */
enum gh_status store_sqlite_cached(struct store_sqlite_conn *c, enum store_sqlite_cached q,
                                   const char *sql, sqlite3_stmt **out, struct gh_err *err)
{
    if (c->cached[q] == NULL && sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                                   &c->cached[q], NULL) != SQLITE_OK)
        return store_sqlite_fail(c->db, err, "prepare");
    sqlite3_reset(c->cached[q]);
    sqlite3_clear_bindings(c->cached[q]);
    *out = c->cached[q];
    return GH_OK;
}

static enum gh_status store_sqlite_user_version(sqlite3 *db, int *out, struct gh_err *err)
{
    sqlite3_stmt *st = NULL;
    enum gh_status rc = GH_OK;

    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = GH_ERR(err, GH_E_STORE, "sqlite: reading user_version: %s", sqlite3_errmsg(db));
        goto out;
    }
    *out = sqlite3_column_int(st, 0);
out:
    sqlite3_finalize(st);
    return rc;
}

static enum gh_status store_sqlite_migrate(struct store_sqlite *s, struct gh_err *err)
{
    sqlite3 *db = s->writer.db;
    enum gh_status st;
    int v = 0;

    st = store_sqlite_user_version(db, &v, err);
    if (st)
        return st;
    if (v < 0 || (size_t)v > store_sqlite_migration_count)
        return GH_ERR(err, GH_E_STORE,
                      "database schema version %d is newer than this gatehouse (%zu)", v,
                      store_sqlite_migration_count);
    for (; (size_t)v < store_sqlite_migration_count; v++) {
        char bump[64];
        st = store_sqlite_exec(db, "BEGIN IMMEDIATE", err);
        if (st)
            return st;
        st = store_sqlite_exec(db, store_sqlite_migrations[v], err);
        if (st == GH_OK) {
            snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v + 1);
            st = store_sqlite_exec(db, bump, err);
        }
        if (st == GH_OK)
            st = store_sqlite_exec(db, "COMMIT", err);
        if (st) {
            store_sqlite_exec(db, "ROLLBACK", NULL);
            return st;
        }
        gh_log(GH_LOG_INFO, "store", "\"schema migrated\" version=%d", v + 1);
    }
    s->version = v;
    return GH_OK;
}

/*
 * gh_name_key(x): store_name_key(x) as an SQL function, so the statements that write a group's
 * name_key and migration 3's backfill run the one C definition instead of restating it in SQL.
 * Registered on every connection; no trigger, index or generated column uses it, so the file
 * stays readable by tools that lack it (a tool that writes groups must fill name_key itself).
 */
static void store_sqlite_name_key_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const unsigned char *name = sqlite3_value_text(argv[0]);
    size_t cap, n;
    char *key;

    (void)argc;
    if (name == NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    cap = (size_t)sqlite3_value_bytes(argv[0]) + 1;
    key = gh_xmalloc(cap);
    n = store_name_key((const char *)name, key, cap);
    sqlite3_result_text64(ctx, key, n, free, SQLITE_UTF8);
}

static enum gh_status store_sqlite_conn_open(struct store_sqlite_conn *c, const char *path,
                                             bool writer, struct gh_err *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);

    pthread_mutex_init(&c->lock, NULL);
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK)
        return GH_ERR(err, GH_E_STORE, "cannot open database %s: %s", path,
                      c->db ? sqlite3_errmsg(c->db) : "out of memory");
    sqlite3_busy_timeout(c->db, STORE_SQLITE_BUSY_MS);
    if (sqlite3_create_function_v2(c->db, "gh_name_key", 1,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                   store_sqlite_name_key_fn, NULL, NULL, NULL) != SQLITE_OK)
        return store_sqlite_fail(c->db, err, "registering gh_name_key");
    return store_sqlite_exec(c->db,
                             writer ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                                      "PRAGMA foreign_keys=ON;"
                                    : "PRAGMA foreign_keys=ON; PRAGMA query_only=ON;",
                             err);
}

static void store_sqlite_conn_close(struct store_sqlite_conn *c)
{
    for (int i = 0; i < STORE_SQLITE_Q_COUNT; i++)
        sqlite3_finalize(c->cached[i]);
    if (c->db != NULL)
        sqlite3_close_v2(c->db);
    c->db = NULL;
    pthread_mutex_destroy(&c->lock);
}

/*
 * Open the store at path (created when missing) and migrate it. On success *out_store is owned by
 * the caller (store_close). On failure nothing is left open and err says why.
 * The read connections are opened after the migrations so they see the final schema.
 */
static enum gh_status store_sqlite_open(const char *path, struct store **out_store,
                                        struct gh_err *err)
{
    struct store_sqlite *s = gh_xcalloc(1, sizeof(*s));
    enum gh_status st;

    store_base_init(&s->base, &store_sqlite_ops);
    st = store_sqlite_conn_open(&s->writer, path, true, err);
    if (st)
        goto out;
    st = store_sqlite_migrate(s, err);
    if (st)
        goto out;
    for (; s->nreaders < STORE_SQLITE_READERS; s->nreaders++) {
        st = store_sqlite_conn_open(&s->readers[s->nreaders], path, false, err);
        if (st) {
            s->nreaders++;
            goto out;
        }
    }
out:
    if (st) {
        store_close(&s->base);
        return st;
    }
    *out_store = &s->base;
    return GH_OK;
}

/* Close the store; pending statements are finalised. */
static void store_sqlite_close(struct store *base)
{
    struct store_sqlite *s = store_sqlite_of(base);
    for (int i = 0; i < s->nreaders; i++)
        store_sqlite_conn_close(&s->readers[i]);
    store_sqlite_conn_close(&s->writer);
    free(s);
}

static int store_sqlite_schema_version(struct store *s)
{
    return store_sqlite_of(s)->version;
}

/* Any target is a database file path: SQLite is the last backend asked (store.c). */
static bool store_sqlite_accepts(const char *target)
{
    (void)target;
    return true;
}

/* A read connection: the first free one, else wait on one chosen by the thread. */
struct store_sqlite_conn *store_sqlite_reader(struct store_sqlite *s)
{
    for (int i = 0; i < s->nreaders; i++)
        if (pthread_mutex_trylock(&s->readers[i].lock) == 0)
            return &s->readers[i];
    struct store_sqlite_conn *c = &s->readers[(size_t)pthread_self() % (size_t)s->nreaders];
    pthread_mutex_lock(&c->lock);
    return c;
}

/* Unlock a read connection from store_sqlite_reader. */
void store_sqlite_release(struct store_sqlite_conn *c)
{
    pthread_mutex_unlock(&c->lock);
}

/* /readyz probe: the store is ready when it answers a trivial query. */
static bool store_sqlite_ready(struct store *base, const char **out_reason)
{
    struct store_sqlite *s = store_sqlite_of(base);
    struct store_sqlite_conn *c = store_sqlite_reader(s);
    sqlite3_stmt *st = NULL;
    bool ok;

    ok = sqlite3_prepare_v2(c->db, "SELECT 1 FROM users LIMIT 1", -1, &st, NULL) == SQLITE_OK &&
         sqlite3_step(st) != SQLITE_ERROR;
    sqlite3_finalize(st);
    store_sqlite_release(c);
    if (!ok)
        *out_reason = "store not answering";
    return ok;
}

/* Lock the writer and open a write transaction (see sqlite_int.h). */
enum gh_status store_sqlite_begin(struct store_sqlite *s, struct gh_err *err)
{
    enum gh_status rc;
    pthread_mutex_lock(&s->writer.lock);
    rc = store_sqlite_exec(s->writer.db, "BEGIN IMMEDIATE", err);
    if (rc) {
        store_write_done(&s->base, rc, false, err);
        pthread_mutex_unlock(&s->writer.lock);
        return rc;
    }
    s->begin_changes = sqlite3_total_changes(s->writer.db);
    return rc;
}

/*
 * Commit (or roll back when rc is an error); the writer stays locked for the events. Only a
 * COMMIT that returned SQLITE_OK is a success: a failed one (no space for the WAL frames, a
 * failed fsync) is rolled back and reported, so the caller never acknowledges it.
 */
enum gh_status store_sqlite_end(struct store_sqlite *s, enum gh_status rc, struct gh_err *err)
{
    if (rc == GH_OK)
        rc = store_sqlite_exec(s->writer.db, "COMMIT", err);
    if (rc)
        store_sqlite_exec(s->writer.db, "ROLLBACK", NULL);
    store_write_done(&s->base, rc, sqlite3_total_changes(s->writer.db) != s->begin_changes, err);
    return rc;
}

void store_sqlite_unlock(struct store_sqlite *s)
{
    pthread_mutex_unlock(&s->writer.lock);
}

enum gh_status store_sqlite_step_done(sqlite3 *db, sqlite3_stmt *st, struct gh_err *err)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_sqlite_fail(db, err, "write");
    return GH_OK;
}

void store_sqlite_copy(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

/* Fill rec from a row of (id, version, created, modified, body). */
void store_sqlite_row_rec(sqlite3_stmt *st, struct store_rec *rec)
{
    memset(rec, 0, sizeof(*rec));
    store_sqlite_copy(rec->id, sizeof(rec->id), sqlite3_column_text(st, 0));
    rec->version = sqlite3_column_int64(st, 1);
    store_sqlite_copy(rec->created, sizeof(rec->created), sqlite3_column_text(st, 2));
    store_sqlite_copy(rec->modified, sizeof(rec->modified), sqlite3_column_text(st, 3));
    rec->body = gh_xstrdup((const char *)sqlite3_column_text(st, 4));
}

void store_sqlite_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

const char *store_sqlite_col(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static int64_t store_sqlite_count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* The gauges of /metrics, in one read transaction so the figures agree. */
static void store_sqlite_counts(struct store *base, struct store_counts *out)
{
    struct store_sqlite *s = store_sqlite_of(base);
    struct store_sqlite_conn *c = store_sqlite_reader(s);

    store_sqlite_exec(c->db, "BEGIN", NULL);
    out->active = store_sqlite_count(c->db, "SELECT count(*) FROM users WHERE active = 1");
    out->inactive = store_sqlite_count(c->db, "SELECT count(*) FROM users WHERE active = 0");
    out->groups = store_sqlite_count(c->db, "SELECT count(*) FROM groups");
    out->members = store_sqlite_count(c->db, "SELECT count(*) FROM members");
    store_sqlite_exec(c->db, "COMMIT", NULL);
    store_sqlite_release(c);
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .accepts = store_sqlite_accepts,
    .open = store_sqlite_open,
    .close = store_sqlite_close,
    .schema_version = store_sqlite_schema_version,
    .ready = store_sqlite_ready,
    .counts = store_sqlite_counts,
    .create = store_sqlite_create,
    .get = store_sqlite_get,
    .update = store_sqlite_update,
    .del = store_sqlite_delete,
    .list = store_sqlite_list,
    .user_find = store_sqlite_user_find,
    .group_members = store_sqlite_group_members,
    .user_groups = store_sqlite_user_groups,
    .access_groups_sync = store_sqlite_access_groups_sync,
    .access_group_create = store_sqlite_access_group_create,
    .access_group_delete = store_sqlite_access_group_delete,
    .access_group_update = store_sqlite_access_group_update,
    .access_groups = store_sqlite_access_groups,
    .group_names = store_sqlite_group_names,
    .subject_find = store_sqlite_subject_find,
    .subject_access = store_sqlite_subject_access,
    .load = store_sqlite_load,
    .changes = store_sqlite_changes,
    .head = store_sqlite_head,
    .wait = NULL,
    .prune = store_sqlite_prune,
};
