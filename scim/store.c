/*
 * store.c - the identity store on SQLite: the only file with SQL in the tree.
 *
 * Connection settings: WAL (readers never block the writer), synchronous=FULL (an acknowledged
 * write survives power loss), foreign_keys=ON, busy_timeout. Migrations run at open, each in
 * its own transaction with its user_version bump, so a crash mid-migration leaves the previous
 * version intact. A database newer than this binary is refused rather than misread.
 *
 * Writes: one connection, one mutex, one BEGIN IMMEDIATE ... COMMIT per operation, so a
 * read-modify-write (PUT, PATCH, If-Match) sees no interleaved writer. Reads: a pool of
 * SCIM_STORE_READERS connections, each with its own mutex.
 *
 * A write that fails because the disk cannot take it (SQLITE_FULL: disk full or a file-size
 * limit; SQLITE_IOERR*; a read-only database) is GH_E_UNAVAILABLE (503, retried by the client),
 * not GH_E_STORE (500), and marks the store not writable (/readyz, /metrics) until a write
 * commits again. Reads and decisions use the read connections and are unaffected. A write is
 * acknowledged only after its COMMIT returned SQLITE_OK, so a refused write is never a 2xx.
 *
 * Filters (RFC 7644 §3.4.2.2) compile to a WHERE clause whose text only ever contains SQL
 * written here, column names and generated aliases; every value from the request - literals and
 * the JSON paths built from attribute names - is a bound parameter.
 */
#include "scim/store.h"
#include "scim/schema_int.h"
#include "sidecar/gatehouse.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SCIM_STORE_BUSY_MS 5000
#define SCIM_STORE_READERS 4
/* bound parameters in one filter: a filter of GH_CAP_SCIM_FILTER_LEN bytes has far fewer
 * leaves; SQLite's own limit is 32766 */
#define SCIM_STORE_MAX_BINDS 2048

/* Statements kept prepared on a read connection (the decision path runs them per request). */
enum scim_cached { SCIM_Q_SUBJECT_NAME, SCIM_Q_SUBJECT_EXT, SCIM_Q_ACCESS, SCIM_Q_COUNT };

struct scim_conn {
    sqlite3 *db;
    pthread_mutex_t lock;
    sqlite3_stmt *cached[SCIM_Q_COUNT]; /* prepared on first use; finalised at close */
};

struct scim_store {
    struct scim_conn writer;
    struct scim_conn readers[SCIM_STORE_READERS];
    int nreaders;
    int version;
    scim_store_listener_fn listener;
    void *listener_ctx;
    /* committed changes by event type, for /metrics; members events count members */
    _Atomic unsigned long changes[SCIM_EV_MEMBERS_REMOVED + 1];
    _Atomic uint64_t generation; /* bumped after each committed write */
    /* false from a write refused for lack of space or I/O until the next commit that wrote a
     * row; changed only with the writer lock held, read lock-free */
    atomic_bool writable;
    int begin_changes;                    /* sqlite3_total_changes at BEGIN (writer lock) */
    _Atomic unsigned long write_failures; /* writes refused that way since start */
};

static const char *const scim_store_tables[] = {"users", "groups"};

/*
 * The status for the error SQLite last reported on db. Failures of the storage under the
 * database - no space (SQLITE_FULL, also a write(2) past RLIMIT_FSIZE: EFBIG), an I/O error,
 * a read-only file or file system - say nothing about the request and may pass (space is
 * freed, the disk remounted), so the client is told to retry (503). Anything else (a
 * constraint, corruption, a bug) is a 500.
 */
static enum gh_status scim_store_status(sqlite3 *db)
{
    int primary = sqlite3_extended_errcode(db) & 0xff;
    if (primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_READONLY)
        return GH_E_UNAVAILABLE;
    return GH_E_STORE;
}

/* Record SQLite's last error on db ("what: message"). For a failure of the storage the log also
 * gets the extended code: "disk I/O error" alone does not say which operation failed (778 is
 * SQLITE_IOERR_WRITE, 13 SQLITE_FULL). */
static enum gh_status scim_store_err(sqlite3 *db, struct gh_err *err, const char *what,
                                     const char *msg)
{
    enum gh_status st = scim_store_status(db);
    if (st == GH_E_UNAVAILABLE)
        return GH_ERR(err, st, "sqlite: %s%s%s (code %d)", what, *what ? ": " : "", msg,
                      sqlite3_extended_errcode(db));
    return GH_ERR(err, st, "sqlite: %s%s%s", what, *what ? ": " : "", msg);
}

static enum gh_status scim_store_exec(sqlite3 *db, const char *sql, struct gh_err *err)
{
    char *msg = NULL;
    enum gh_status st;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        st = scim_store_err(db, err, "", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return st;
    }
    return GH_OK;
}

static enum gh_status scim_store_fail(sqlite3 *db, struct gh_err *err, const char *what)
{
    return scim_store_err(db, err, what, sqlite3_errmsg(db));
}

static enum gh_status scim_store_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out,
                                         struct gh_err *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, out, NULL) != SQLITE_OK)
        return scim_store_fail(db, err, "prepare");
    return GH_OK;
}

/* A statement kept prepared on connection c (whose lock the caller holds), reset and unbound.
 * The caller must not finalize it. */
static enum gh_status scim_store_cached(struct scim_conn *c, enum scim_cached q, const char *sql,
                                        sqlite3_stmt **out, struct gh_err *err)
{
    if (c->cached[q] == NULL && sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                                   &c->cached[q], NULL) != SQLITE_OK)
        return scim_store_fail(c->db, err, "prepare");
    sqlite3_reset(c->cached[q]);
    sqlite3_clear_bindings(c->cached[q]);
    *out = c->cached[q];
    return GH_OK;
}

static enum gh_status scim_store_user_version(sqlite3 *db, int *out, struct gh_err *err)
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

static enum gh_status scim_store_migrate(struct scim_store *s, struct gh_err *err)
{
    sqlite3 *db = s->writer.db;
    enum gh_status st;
    int v = 0;

    st = scim_store_user_version(db, &v, err);
    if (st)
        return st;
    if (v < 0 || (size_t)v > scim_schema_migration_count)
        return GH_ERR(err, GH_E_STORE,
                      "database schema version %d is newer than this gatehouse (%zu)", v,
                      scim_schema_migration_count);
    for (; (size_t)v < scim_schema_migration_count; v++) {
        char bump[64];
        st = scim_store_exec(db, "BEGIN IMMEDIATE", err);
        if (st)
            return st;
        st = scim_store_exec(db, scim_schema_migrations[v], err);
        if (st == GH_OK) {
            snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v + 1);
            st = scim_store_exec(db, bump, err);
        }
        if (st == GH_OK)
            st = scim_store_exec(db, "COMMIT", err);
        if (st) {
            scim_store_exec(db, "ROLLBACK", NULL);
            return st;
        }
        gh_log(GH_LOG_INFO, "store", "\"schema migrated\" version=%d", v + 1);
    }
    s->version = v;
    return GH_OK;
}

static enum gh_status scim_conn_open(struct scim_conn *c, const char *path, bool writer,
                                     struct gh_err *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);

    pthread_mutex_init(&c->lock, NULL);
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK)
        return GH_ERR(err, GH_E_STORE, "cannot open database %s: %s", path,
                      c->db ? sqlite3_errmsg(c->db) : "out of memory");
    sqlite3_busy_timeout(c->db, SCIM_STORE_BUSY_MS);
    return scim_store_exec(c->db,
                           writer ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                                    "PRAGMA foreign_keys=ON;"
                                  : "PRAGMA foreign_keys=ON; PRAGMA query_only=ON;",
                           err);
}

static void scim_conn_close(struct scim_conn *c)
{
    for (int i = 0; i < SCIM_Q_COUNT; i++)
        sqlite3_finalize(c->cached[i]);
    if (c->db != NULL)
        sqlite3_close_v2(c->db);
    c->db = NULL;
    pthread_mutex_destroy(&c->lock);
}

/*
 * Open the store at path (created when missing) and migrate it. On success *out_store is owned by
 * the caller (scim_store_close). On failure nothing is left open and err says why.
 * The read connections are opened after the migrations so they see the final schema.
 */
enum gh_status scim_store_open(const char *path, struct scim_store **out_store, struct gh_err *err)
{
    struct scim_store *s = gh_xcalloc(1, sizeof(*s));
    enum gh_status st;

    atomic_init(&s->writable, true);

    st = scim_conn_open(&s->writer, path, true, err);
    if (st)
        goto out;
    st = scim_store_migrate(s, err);
    if (st)
        goto out;
    for (; s->nreaders < SCIM_STORE_READERS; s->nreaders++) {
        st = scim_conn_open(&s->readers[s->nreaders], path, false, err);
        if (st) {
            s->nreaders++;
            goto out;
        }
    }
out:
    if (st) {
        scim_store_close(s);
        return st;
    }
    *out_store = s;
    return GH_OK;
}

/* Close the store; pending statements are finalised. NULL is a no-op. Not thread-safe: call
 * after the last request has completed. */
void scim_store_close(struct scim_store *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < s->nreaders; i++)
        scim_conn_close(&s->readers[i]);
    scim_conn_close(&s->writer);
    free(s);
}

/* The schema version the store is at (after migrations). */
int scim_store_schema_version(struct scim_store *s)
{
    return s->version;
}

/* Register the change listener; start-up only (not synchronised with writers). */
void scim_store_listen(struct scim_store *s, scim_store_listener_fn fn, void *ctx)
{
    s->listener = fn;
    s->listener_ctx = ctx;
}

/* A read connection: the first free one, else wait on one chosen by the thread. */
static struct scim_conn *scim_store_reader(struct scim_store *s)
{
    for (int i = 0; i < s->nreaders; i++)
        if (pthread_mutex_trylock(&s->readers[i].lock) == 0)
            return &s->readers[i];
    struct scim_conn *c = &s->readers[(size_t)pthread_self() % (size_t)s->nreaders];
    pthread_mutex_lock(&c->lock);
    return c;
}

static void scim_store_release(struct scim_conn *c)
{
    pthread_mutex_unlock(&c->lock);
}

/* /readyz probe: the store is ready when it answers a trivial query. */
bool scim_store_ready(void *ctx, const char **out_reason)
{
    struct scim_store *s = ctx;
    struct scim_conn *c = scim_store_reader(s);
    sqlite3_stmt *st = NULL;
    bool ok;

    ok = sqlite3_prepare_v2(c->db, "SELECT 1 FROM users LIMIT 1", -1, &st, NULL) == SQLITE_OK &&
         sqlite3_step(st) != SQLITE_ERROR;
    sqlite3_finalize(st);
    scim_store_release(c);
    if (!ok)
        *out_reason = "store not answering";
    return ok;
}

/* /readyz check (advisory): false while writes are refused because the store cannot write. */
bool scim_store_writable(void *ctx, const char **out_reason)
{
    struct scim_store *s = ctx;
    if (atomic_load(&s->writable))
        return true;
    *out_reason = "cannot write (disk full, file size limit, I/O error or read-only database): "
                  "writes answer 503 until one succeeds; reads and decisions are served";
    return false;
}

/* ---- small helpers ---- */

static void scim_store_now(char out[SCIM_TS_LEN + 1])
{
    struct timespec ts;
    struct tm tm;
    char base[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, SCIM_TS_LEN + 1, "%.19s.%03dZ", base, (int)(ts.tv_nsec / 1000000));
}

/* A random (version 4) UUID: ids are unguessable and never reused. */
static void scim_store_new_id(char out[SCIM_ID_LEN + 1])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        gh_assert_fail("RAND_bytes", __FILE__, __LINE__);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, SCIM_ID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

static void scim_store_copy(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

/* Fill rec from a row of (id, version, created, modified, body). */
static void scim_store_row_rec(sqlite3_stmt *st, struct scim_rec *rec)
{
    memset(rec, 0, sizeof(*rec));
    scim_store_copy(rec->id, sizeof(rec->id), sqlite3_column_text(st, 0));
    rec->version = sqlite3_column_int64(st, 1);
    scim_store_copy(rec->created, sizeof(rec->created), sqlite3_column_text(st, 2));
    scim_store_copy(rec->modified, sizeof(rec->modified), sqlite3_column_text(st, 3));
    rec->body = gh_xstrdup((const char *)sqlite3_column_text(st, 4));
}

/* Release a record's body. */
void scim_rec_clear(struct scim_rec *r)
{
    if (r == NULL)
        return;
    free(r->body);
    r->body = NULL;
}

/* Release every record of a list page. */
void scim_rec_list_clear(struct scim_rec_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->count; i++)
        scim_rec_clear(&l->items[i]);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

static void scim_store_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

/* Uniqueness violations are the client's (409); anything else is ours (500). */
static enum gh_status scim_store_write_fail(sqlite3 *db, enum scim_kind kind, const char *name,
                                            struct gh_err *err)
{
    int x = sqlite3_extended_errcode(db);
    if (x == SQLITE_CONSTRAINT_UNIQUE || x == SQLITE_CONSTRAINT_PRIMARYKEY) {
        GH_ERR(err, GH_E_CONFLICT, "%s \"%.100s\" is already taken",
               kind == SCIM_USER ? "userName" : "displayName", name ? name : "");
        gh_err_set_scim_type(err, SCIM_ST_UNIQUENESS);
        return GH_E_CONFLICT;
    }
    return scim_store_fail(db, err, "write");
}

/* ---- events ---- */

struct scim_evq {
    struct scim_event ev[4];
    size_t n;
    const char *members_of;        /* the group whose members changed */
    const char **added, **removed; /* owned arrays of borrowed ids */
    size_t nadded, nremoved, cap_added, cap_removed;
    struct gh_arena *ids; /* owned (NULL until needed): ids read back from the store */
};

static void scim_evq_push(struct scim_evq *q, enum scim_event_type t, const char *id)
{
    GH_ASSERT(q->n < sizeof(q->ev) / sizeof(q->ev[0]));
    q->ev[q->n].type = t;
    q->ev[q->n].id = id;
    q->n++;
}

static void scim_evq_member(const char ***arr, size_t *n, size_t *cap, const char *id)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *arr = gh_xrealloc(*arr, *cap * sizeof(**arr));
    }
    (*arr)[(*n)++] = id;
}

/* Free what q owns (after emitting it, or instead of that when the write rolled back). */
static void scim_evq_discard(struct scim_evq *q)
{
    free(q->added);
    free(q->removed);
    gh_arena_free(q->ids);
}

static void scim_evq_emit(struct scim_store *s, struct scim_evq *q, const char *ts)
{
    for (size_t i = 0; i < q->n; i++)
        atomic_fetch_add(&s->changes[q->ev[i].type], 1);
    atomic_fetch_add(&s->changes[SCIM_EV_MEMBERS_ADDED], q->nadded);
    atomic_fetch_add(&s->changes[SCIM_EV_MEMBERS_REMOVED], q->nremoved);
    if (s->listener != NULL) {
        for (size_t i = 0; i < q->n; i++) {
            q->ev[i].ts = ts;
            s->listener(s->listener_ctx, &q->ev[i]);
        }
        if (q->nadded > 0) {
            struct scim_event e = {SCIM_EV_MEMBERS_ADDED, q->members_of, ts, q->added, q->nadded};
            s->listener(s->listener_ctx, &e);
        }
        if (q->nremoved > 0) {
            struct scim_event e = {SCIM_EV_MEMBERS_REMOVED, q->members_of, ts, q->removed,
                                   q->nremoved};
            s->listener(s->listener_ctx, &e);
        }
    }
    scim_evq_discard(q);
}

/* ---- reads ---- */

static const char *const scim_store_get_sql[] = {
    "SELECT id, version, created, modified, body FROM users WHERE id = ?1",
    "SELECT id, version, created, modified, body FROM groups WHERE id = ?1",
};

static enum gh_status scim_store_get_on(sqlite3 *db, enum scim_kind kind, const char *id,
                                        struct scim_rec *out, struct gh_err *err)
{
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    int step;

    rc = scim_store_prepare(db, scim_store_get_sql[kind], &st, err);
    if (rc)
        goto out;
    scim_store_bind_text(st, 1, id);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        scim_store_row_rec(st, out);
    } else if (step == SQLITE_DONE) {
        rc = GH_ERR(err, GH_E_NOT_FOUND, "%s %.64s not found", kind == SCIM_USER ? "User" : "Group",
                    id);
    } else {
        rc = scim_store_fail(db, err, "read");
    }
out:
    sqlite3_finalize(st);
    return rc;
}

/* Read one resource by id (a read connection; thread-safe). Caller clears *out. */
enum gh_status scim_store_get(struct scim_store *s, enum scim_kind kind, const char *id,
                              struct scim_rec *out, struct gh_err *err)
{
    struct scim_conn *c = scim_store_reader(s);
    enum gh_status rc = scim_store_get_on(c->db, kind, id, out, err);
    scim_store_release(c);
    return rc;
}

/* The first user with this userName (NOCASE index) or externalId (index); thread-safe. */
enum gh_status scim_store_user_find(struct scim_store *s, enum scim_user_key key, const char *value,
                                    struct scim_rec *out, struct gh_err *err)
{
    static const char *const sql[] = {
        "SELECT id, version, created, modified, body FROM users WHERE user_name = ?1",
        "SELECT id, version, created, modified, body FROM users WHERE external_id = ?1 "
        "ORDER BY rowid LIMIT 1",
    };
    struct scim_conn *c = scim_store_reader(s);
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    int step;

    rc = scim_store_prepare(c->db, sql[key == SCIM_KEY_EXTERNAL_ID], &st, err);
    if (rc)
        goto out;
    scim_store_bind_text(st, 1, value);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        scim_store_row_rec(st, out);
    else if (step == SQLITE_DONE)
        rc = GH_ERR(err, GH_E_NOT_FOUND, "no such user");
    else
        rc = scim_store_fail(c->db, err, "read");
out:
    sqlite3_finalize(st);
    scim_store_release(c);
    return rc;
}

static enum gh_status scim_store_members_walk(struct scim_store *s, const char *sql, const char *id,
                                              scim_store_member_fn fn, void *ctx,
                                              struct gh_err *err)
{
    struct scim_conn *c = scim_store_reader(s);
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    int step;

    rc = scim_store_prepare(c->db, sql, &st, err);
    if (rc)
        goto out;
    scim_store_bind_text(st, 1, id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        fn(ctx, (const char *)sqlite3_column_text(st, 0),
           sqlite3_column_int(st, 1) ? SCIM_GROUP : SCIM_USER,
           (const char *)sqlite3_column_text(st, 2));
    if (step != SQLITE_DONE)
        rc = scim_store_fail(c->db, err, "read members");
out:
    sqlite3_finalize(st);
    scim_store_release(c);
    return rc;
}

/* Every member of a group, in insertion order, with a display name (thread-safe). */
enum gh_status scim_store_group_members(struct scim_store *s, const char *group_id,
                                        scim_store_member_fn fn, void *ctx, struct gh_err *err)
{
    return scim_store_members_walk(
        s,
        "SELECT m.member_id, m.member_type, "
        "  CASE m.member_type WHEN 0 THEN (SELECT COALESCE(u.display_name, u.user_name) "
        "    FROM users u WHERE u.id = m.member_id) "
        "  ELSE (SELECT g.display_name FROM groups g WHERE g.id = m.member_id) END "
        "FROM members m WHERE m.group_id = ?1",
        group_id, fn, ctx, err);
}

/* Every group a user (or group) is a direct member of (members_member index; thread-safe). */
enum gh_status scim_store_user_groups(struct scim_store *s, const char *user_id,
                                      scim_store_member_fn fn, void *ctx, struct gh_err *err)
{
    return scim_store_members_walk(s,
                                   "SELECT g.id, 1, g.display_name FROM members m "
                                   "JOIN groups g ON g.id = m.group_id WHERE m.member_id = ?1",
                                   user_id, fn, ctx, err);
}

/* ---- filter -> SQL ---- */

enum scim_bind_type { SCIM_B_TEXT, SCIM_B_REAL, SCIM_B_INT, SCIM_B_NULL };
struct scim_bind {
    enum scim_bind_type type;
    const char *text; /* borrowed from the filter tree or the arena */
    double real;
    int64_t i;
};

struct scim_sqlc {
    enum scim_kind kind;
    struct gh_buf sql;
    struct scim_bind *binds;
    int nbinds;
    int alias; /* json_each / members aliases: e1, e2, ... */
    struct gh_arena *a;
    struct gh_err *err;
    enum gh_status st;
};

/* Append SQL written in this file (never request data). */
static void scim_sqlc_put(struct scim_sqlc *c, const char *s)
{
    if (c->st == GH_OK)
        c->st = gh_buf_puts(&c->sql, s, c->err);
}

/* Append before, the number n, after (parameter numbers and aliases). */
static void scim_sqlc_putp(struct scim_sqlc *c, const char *before, int n, const char *after)
{
    scim_sqlc_put(c, before);
    if (c->st == GH_OK)
        c->st = gh_buf_printf(&c->sql, c->err, "%d", n);
    scim_sqlc_put(c, after);
}

/* Add a parameter and return its number (?N). */
static int scim_sqlc_bind(struct scim_sqlc *c, struct scim_bind b)
{
    if (c->nbinds >= SCIM_STORE_MAX_BINDS) {
        if (c->st == GH_OK) {
            c->st = GH_ERR(c->err, GH_E_INVALID, "filter has too many terms");
            gh_err_set_scim_type(c->err, SCIM_ST_INVALID_FILTER);
        }
        return 1;
    }
    c->binds[c->nbinds] = b;
    return ++c->nbinds;
}

static int scim_sqlc_text(struct scim_sqlc *c, const char *s)
{
    struct scim_bind b = {SCIM_B_TEXT, s, 0, 0};
    return scim_sqlc_bind(c, b);
}

/* A JSON path for json_extract: $."attr" / $."urn"."attr" / ... with ."sub". Bound, never
 * spliced: attribute names come from the request. */
static const char *scim_sqlc_jpath(struct scim_sqlc *c, const char *urn, const char *attr,
                                   const char *sub)
{
    return gh_arena_printf(c->a, "$%s%s%s.\"%s\"%s%s%s", urn ? ".\"" : "", urn ? urn : "",
                           urn ? "\"" : "", attr, sub ? ".\"" : "", sub ? sub : "",
                           sub ? "\"" : "");
}

/* An operand: SQL text for the value being compared, and how it compares. */
struct scim_operand {
    char expr[96]; /* written here: a column, or json_extract over a bound path */
    bool ci;       /* compare case-insensitively */
    enum scim_type type;
    bool known; /* type is known from the schema */
};

/* Bind the comparison value, coerced to the attribute's type (Entra sends booleans in quotes). */
static int scim_sqlc_value(struct scim_sqlc *c, const struct scim_filter *f,
                           const struct scim_operand *o)
{
    struct scim_bind b = {SCIM_B_NULL, NULL, 0, 0};

    switch (f->vtype) {
    case SCIM_V_STRING:
        if (o->known && o->type == SCIM_T_BOOLEAN && strcasecmp(f->str, "true") == 0)
            b.type = SCIM_B_INT, b.i = 1;
        else if (o->known && o->type == SCIM_T_BOOLEAN && strcasecmp(f->str, "false") == 0)
            b.type = SCIM_B_INT, b.i = 0;
        else
            b.type = SCIM_B_TEXT, b.text = f->str;
        break;
    case SCIM_V_NUMBER:
        b.type = SCIM_B_REAL, b.real = f->num;
        break;
    case SCIM_V_TRUE:
    case SCIM_V_FALSE:
        b.type = SCIM_B_INT, b.i = f->vtype == SCIM_V_TRUE;
        break;
    case SCIM_V_NULL:
        break;
    }
    return scim_sqlc_bind(c, b);
}

/* Emit the predicate "operand <op> value" (always 0 or 1, never NULL, so NOT composes). */
static void scim_sqlc_cmp(struct scim_sqlc *c, const struct scim_filter *f,
                          const struct scim_operand *o)
{
    const char *x = o->expr;
    const char *coll = o->ci ? " COLLATE NOCASE" : "";
    int n;

    scim_sqlc_put(c, "COALESCE((");
    if (f->op == SCIM_F_PR) {
        scim_sqlc_put(c, x);
        scim_sqlc_put(c, " NOT IN ('', '[]', '{}')");
        goto close;
    }
    if (f->vtype == SCIM_V_NULL) {
        scim_sqlc_put(c, x);
        scim_sqlc_put(c, f->op == SCIM_F_EQ ? " IS NULL" : " IS NOT NULL");
        goto close;
    }
    n = scim_sqlc_value(c, f, o);
    switch (f->op) {
    case SCIM_F_EQ:
    case SCIM_F_NE:
    case SCIM_F_GT:
    case SCIM_F_GE:
    case SCIM_F_LT:
    case SCIM_F_LE: {
        static const char *const ops[] = {" = ", " <> ", "", "", "", " > ", " >= ", " < ", " <= "};
        if (f->op == SCIM_F_NE) {
            scim_sqlc_put(c, x);
            scim_sqlc_put(c, " IS NULL OR ");
        }
        scim_sqlc_put(c, x);
        scim_sqlc_put(c, ops[f->op]);
        scim_sqlc_putp(c, "?", n, "");
        scim_sqlc_put(c, coll);
        break;
    }
    case SCIM_F_CO:
        scim_sqlc_put(c, o->ci ? "instr(lower(" : "instr((");
        scim_sqlc_put(c, x);
        scim_sqlc_putp(c, o->ci ? "), lower(?" : "), ?", n, o->ci ? ")) > 0" : ") > 0");
        break;
    case SCIM_F_SW:
        scim_sqlc_put(c, "substr(");
        scim_sqlc_put(c, x);
        scim_sqlc_putp(c, ", 1, length(?", n, ")) = ");
        scim_sqlc_putp(c, "?", n, "");
        scim_sqlc_put(c, coll);
        break;
    case SCIM_F_EW:
        scim_sqlc_putp(c, "length(?", n, ") = 0 OR substr(");
        scim_sqlc_put(c, x);
        scim_sqlc_putp(c, ", -length(?", n, ")) = ");
        scim_sqlc_putp(c, "?", n, "");
        scim_sqlc_put(c, coll);
        break;
    default:
        (void)GH_NEVER(true);
        scim_sqlc_put(c, "0");
    }
close:
    scim_sqlc_put(c, "), 0)");
}

static void scim_sqlc_node(struct scim_sqlc *c, const struct scim_filter *f, const char *elem,
                           const struct scim_attr *parent);

/* Predicates over one membership row m<alias> (members[...] and groups[...] value filters). */
static void scim_sqlc_member_leaf(struct scim_sqlc *c, const struct scim_filter *f, const char *col)
{
    struct scim_operand o = {.ci = false, .type = SCIM_T_STRING, .known = true};
    if (strcmp(f->path.attr, "value") == 0) {
        snprintf(o.expr, sizeof(o.expr), "%s", col);
    } else if (strcmp(f->path.attr, "type") == 0) {
        char m[16];
        snprintf(m, sizeof(m), "%.*s", (int)(strchr(col, '.') - col), col);
        snprintf(o.expr, sizeof(o.expr), "CASE %s.member_type WHEN 0 THEN 'User' ELSE 'Group' END",
                 m);
    } else {
        snprintf(o.expr, sizeof(o.expr), "NULL");
    }
    scim_sqlc_cmp(c, f, &o);
}

static void scim_sqlc_member_tree(struct scim_sqlc *c, const struct scim_filter *f,
                                  const char *col);

/* A chain of one operator without nested parentheses (see scim_sqlc_chain). */
static void scim_sqlc_member_chain(struct scim_sqlc *c, const struct scim_filter *f,
                                   enum scim_fop op, const char *col)
{
    if (f->op != op) {
        scim_sqlc_member_tree(c, f, col);
        return;
    }
    scim_sqlc_member_chain(c, f->left, op, col);
    scim_sqlc_put(c, op == SCIM_F_AND ? " AND " : " OR ");
    scim_sqlc_member_chain(c, f->right, op, col);
}

static void scim_sqlc_member_tree(struct scim_sqlc *c, const struct scim_filter *f, const char *col)
{
    switch (f->op) {
    case SCIM_F_AND:
    case SCIM_F_OR:
        scim_sqlc_put(c, "(");
        scim_sqlc_member_chain(c, f, f->op, col);
        scim_sqlc_put(c, ")");
        return;
    case SCIM_F_NOT:
        scim_sqlc_put(c, "NOT ");
        scim_sqlc_member_tree(c, f->left, col);
        return;
    default:
        scim_sqlc_member_leaf(c, f, col);
    }
}

/*
 * Membership-backed attributes: Group members[.value] and User groups[.value]. The EXISTS runs
 * on the (group_id, member_id) primary key or the member_id index.
 */
static void scim_sqlc_membership(struct scim_sqlc *c, const struct scim_filter *f)
{
    int al = ++c->alias;
    bool group_side = c->kind == SCIM_GROUP; /* r is the group */
    char col[32];
    struct scim_filter leaf;

    scim_sqlc_putp(c, "EXISTS (SELECT 1 FROM members m", al, " WHERE ");
    scim_sqlc_putp(c, "m", al, group_side ? ".group_id = r.id" : ".member_id = r.id");
    snprintf(col, sizeof(col), group_side ? "m%d.member_id" : "m%d.group_id", al);
    if (f->path.vfilter != NULL) {
        scim_sqlc_put(c, " AND ");
        scim_sqlc_member_tree(c, f->path.vfilter, col);
    }
    if (f->op != SCIM_F_HAS && f->op != SCIM_F_PR) {
        leaf = *f;
        memset(&leaf.path, 0, sizeof(leaf.path));
        leaf.path.attr = f->path.sub ? f->path.sub : "value";
        scim_sqlc_put(c, " AND ");
        scim_sqlc_member_leaf(c, &leaf, col);
    }
    scim_sqlc_put(c, ")");
}

/* Columns that hold an attribute: faster than json_extract and indexed where it matters. */
static bool scim_sqlc_column(struct scim_sqlc *c, const struct scim_path *p, struct scim_operand *o)
{
    static const struct {
        enum scim_kind kind;
        const char *attr, *sub, *col;
        bool ci;
        enum scim_type type;
    } cols[] = {
        {SCIM_USER, "id", NULL, "r.id", false, SCIM_T_STRING},
        {SCIM_USER, "userName", NULL, "r.user_name", true, SCIM_T_STRING},
        {SCIM_USER, "externalId", NULL, "r.external_id", false, SCIM_T_STRING},
        {SCIM_USER, "displayName", NULL, "r.display_name", true, SCIM_T_STRING},
        {SCIM_USER, "active", NULL, "r.active", false, SCIM_T_BOOLEAN},
        {SCIM_GROUP, "id", NULL, "r.id", false, SCIM_T_STRING},
        {SCIM_GROUP, "displayName", NULL, "r.display_name", true, SCIM_T_STRING},
        {SCIM_GROUP, "externalId", NULL, "r.external_id", false, SCIM_T_STRING},
        {SCIM_USER, "meta", "created", "r.created", false, SCIM_T_DATETIME},
        {SCIM_USER, "meta", "lastModified", "r.modified", false, SCIM_T_DATETIME},
        {SCIM_GROUP, "meta", "created", "r.created", false, SCIM_T_DATETIME},
        {SCIM_GROUP, "meta", "lastModified", "r.modified", false, SCIM_T_DATETIME},
    };
    if (p->urn != NULL || p->vfilter != NULL)
        return false;
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        if (cols[i].kind != c->kind || strcmp(cols[i].attr, p->attr) != 0)
            continue;
        if ((cols[i].sub == NULL) != (p->sub == NULL) ||
            (p->sub != NULL && strcmp(cols[i].sub, p->sub) != 0))
            continue;
        snprintf(o->expr, sizeof(o->expr), "%s", cols[i].col);
        o->ci = cols[i].ci;
        o->type = cols[i].type;
        o->known = true;
        return true;
    }
    if (p->attr != NULL && strcmp(p->attr, "meta") == 0 && p->sub != NULL &&
        strcmp(p->sub, "resourceType") == 0) {
        int n = scim_sqlc_text(c, scim_rtype_get(c->kind)->name);
        snprintf(o->expr, sizeof(o->expr), "?%d", n);
        o->ci = false;
        o->type = SCIM_T_STRING;
        o->known = true;
        return true;
    }
    return false;
}

static void scim_sqlc_operand_attr(struct scim_operand *o, const struct scim_attr *leaf)
{
    o->known = leaf != NULL;
    o->type = leaf ? leaf->type : SCIM_T_STRING;
    o->ci = leaf == NULL || !(leaf->flags & SCIM_A_CASE_EXACT);
}

/* A comparison, PR or HAS on a top-level path (r.body), or on an element (elem = "eN"). */
static void scim_sqlc_leaf(struct scim_sqlc *c, const struct scim_filter *f, const char *elem,
                           const struct scim_attr *parent)
{
    const struct scim_path *p = &f->path;
    struct scim_operand o;

    memset(&o, 0, sizeof(o));
    if (elem != NULL) { /* inside attr[...]: p->attr is a sub-attribute of parent */
        const char *path = scim_sqlc_jpath(c, NULL, p->attr, NULL);
        int n = scim_sqlc_text(c, path);
        snprintf(o.expr, sizeof(o.expr),
                 "(CASE %s.type WHEN 'object' THEN json_extract(%s.value, ?%d) ELSE %s.atom END)",
                 elem, elem, n, elem);
        scim_sqlc_operand_attr(&o, parent ? scim_attr_find(parent->sub, p->attr) : NULL);
        scim_sqlc_cmp(c, f, &o);
        return;
    }
    if (p->urn == NULL && ((c->kind == SCIM_GROUP && strcmp(p->attr, "members") == 0) ||
                           (c->kind == SCIM_USER && strcmp(p->attr, "groups") == 0))) {
        scim_sqlc_membership(c, f);
        return;
    }
    if (scim_sqlc_column(c, p, &o)) {
        scim_sqlc_cmp(c, f, &o);
        return;
    }
    /* an unknown attribute with a value filter is taken to be multi-valued */
    bool multi = (p->a != NULL && (p->a->flags & SCIM_A_MULTI)) || p->vfilter != NULL;
    if (!multi || (f->op == SCIM_F_PR && p->vfilter == NULL && p->sub == NULL)) {
        int n = scim_sqlc_text(c, scim_sqlc_jpath(c, p->urn, p->attr, p->sub));
        snprintf(o.expr, sizeof(o.expr), "json_extract(r.body, ?%d)", n);
        scim_sqlc_operand_attr(&o, p->sub ? p->s : p->a);
        if (p->sub != NULL && p->s == NULL)
            o.known = false;
        scim_sqlc_cmp(c, f, &o);
        return;
    }
    /* multi-valued: some element satisfies [vfilter] and the comparison on .sub (or .value) */
    int al = ++c->alias;
    char e[16];
    int n = scim_sqlc_text(c, scim_sqlc_jpath(c, p->urn, p->attr, NULL));
    snprintf(e, sizeof(e), "e%d", al);
    scim_sqlc_putp(c, "EXISTS (SELECT 1 FROM json_each(r.body, ?", n, ") ");
    scim_sqlc_putp(c, "AS e", al, " WHERE 1");
    if (p->vfilter != NULL) {
        scim_sqlc_put(c, " AND ");
        scim_sqlc_node(c, p->vfilter, e, p->a);
    }
    if (f->op != SCIM_F_HAS) {
        struct scim_filter leaf = *f;
        memset(&leaf.path, 0, sizeof(leaf.path));
        leaf.path.attr = p->sub ? p->sub : "value";
        scim_sqlc_put(c, " AND ");
        scim_sqlc_leaf(c, &leaf, e, p->a);
    }
    scim_sqlc_put(c, ")");
}

/* The terms of a chain of one operator, without parentheses between them: "a OR b OR c", not
 * "((a OR b) OR c)", because SQLite's parser stack overflows at about 100 open parentheses and
 * a 4 KiB filter can chain hundreds of terms. */
static void scim_sqlc_chain(struct scim_sqlc *c, const struct scim_filter *f, enum scim_fop op,
                            const char *elem, const struct scim_attr *parent)
{
    if (f->op != op) {
        scim_sqlc_node(c, f, elem, parent);
        return;
    }
    scim_sqlc_chain(c, f->left, op, elem, parent);
    scim_sqlc_put(c, op == SCIM_F_AND ? " AND " : " OR ");
    scim_sqlc_chain(c, f->right, op, elem, parent);
}

static void scim_sqlc_node(struct scim_sqlc *c, const struct scim_filter *f, const char *elem,
                           const struct scim_attr *parent)
{
    switch (f->op) {
    case SCIM_F_AND:
    case SCIM_F_OR:
        scim_sqlc_put(c, "(");
        scim_sqlc_chain(c, f, f->op, elem, parent);
        scim_sqlc_put(c, ")");
        return;
    case SCIM_F_NOT:
        scim_sqlc_put(c, "NOT ");
        scim_sqlc_node(c, f->left, elem, parent);
        return;
    default:
        scim_sqlc_leaf(c, f, elem, parent);
    }
}

static void scim_sqlc_init(struct scim_sqlc *c, enum scim_kind kind, struct gh_err *err)
{
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->err = err;
    c->a = gh_arena_new();
    c->binds = gh_xcalloc(SCIM_STORE_MAX_BINDS, sizeof(*c->binds));
    gh_buf_init(&c->sql, (size_t)256 * 1024);
}

static void scim_sqlc_free(struct scim_sqlc *c)
{
    gh_buf_free(&c->sql);
    free(c->binds);
    gh_arena_free(c->a);
}

static enum gh_status scim_sqlc_where(struct scim_sqlc *c, const struct scim_filter *f)
{
    scim_sqlc_put(c, " WHERE ");
    if (f == NULL)
        scim_sqlc_put(c, "1");
    else
        scim_sqlc_node(c, f, NULL, NULL);
    return c->st;
}

static void scim_sqlc_apply(const struct scim_sqlc *c, sqlite3_stmt *st)
{
    for (int i = 0; i < c->nbinds; i++) {
        const struct scim_bind *b = &c->binds[i];
        switch (b->type) {
        case SCIM_B_TEXT:
            sqlite3_bind_text(st, i + 1, b->text, -1, SQLITE_STATIC);
            break;
        case SCIM_B_REAL:
            sqlite3_bind_double(st, i + 1, b->real);
            break;
        case SCIM_B_INT:
            sqlite3_bind_int64(st, i + 1, b->i);
            break;
        case SCIM_B_NULL:
            sqlite3_bind_null(st, i + 1);
            break;
        }
    }
}

/* The WHERE clause of a filter (tests and debug). Caller frees *out_sql. */
enum gh_status scim_store_filter_sql(enum scim_kind kind, const struct scim_filter *f,
                                     char **out_sql, int *out_params, struct gh_err *err)
{
    struct scim_sqlc c;
    enum gh_status st;

    scim_sqlc_init(&c, kind, err);
    st = scim_sqlc_where(&c, f);
    *out_sql = st ? NULL : gh_xstrdup(gh_buf_str(&c.sql) + 7 /* " WHERE " */);
    *out_params = c.nbinds;
    scim_sqlc_free(&c);
    return st;
}

/*
 * One page of a list: "SELECT ... WHERE <filter> ORDER BY <sort>, rowid LIMIT ? OFFSET ?" plus
 * the COUNT(*) of the same WHERE, both on one read connection inside one read transaction so
 * totalResults and the page agree. Caller clears *out.
 */
enum gh_status scim_store_list(struct scim_store *s, enum scim_kind kind,
                               const struct scim_query *q, struct scim_rec_list *out,
                               struct gh_err *err)
{
    struct scim_sqlc c;
    struct scim_conn *conn = NULL;
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    size_t where_at;
    int limit_n, offset_n, step;
    size_t cap = 0;

    memset(out, 0, sizeof(*out));
    scim_sqlc_init(&c, kind, err);
    scim_sqlc_put(&c, "SELECT count(*) FROM ");
    scim_sqlc_put(&c, scim_store_tables[kind]);
    scim_sqlc_put(&c, " r");
    where_at = c.sql.len;
    rc = scim_sqlc_where(&c, q->filter);
    if (rc)
        goto out;
    conn = scim_store_reader(s);
    rc = scim_store_exec(conn->db, "BEGIN", err);
    if (rc)
        goto out;
    rc = scim_store_prepare(conn->db, gh_buf_str(&c.sql), &st, err);
    if (rc)
        goto out;
    scim_sqlc_apply(&c, st);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = scim_store_fail(conn->db, err, "count");
        goto out;
    }
    out->total = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (q->count <= 0 || out->total < q->start_index)
        goto out; /* a count-only query, or past the end */

    {
        /* reuse the WHERE text: swap the head for the column list */
        char *where = gh_xstrdup(gh_buf_str(&c.sql) + where_at);
        gh_buf_reset(&c.sql);
        scim_sqlc_put(&c, "SELECT r.id, r.version, r.created, r.modified, r.body FROM ");
        scim_sqlc_put(&c, scim_store_tables[kind]);
        scim_sqlc_put(&c, " r");
        scim_sqlc_put(&c, where);
        free(where);
    }
    scim_sqlc_put(&c, " ORDER BY ");
    if (q->sort_by != NULL) {
        struct scim_operand o;
        memset(&o, 0, sizeof(o));
        if (!scim_sqlc_column(&c, q->sort_by, &o)) {
            int n = scim_sqlc_text(
                &c, scim_sqlc_jpath(&c, q->sort_by->urn, q->sort_by->attr, q->sort_by->sub));
            snprintf(o.expr, sizeof(o.expr), "json_extract(r.body, ?%d)", n);
            scim_sqlc_operand_attr(&o, q->sort_by->sub ? q->sort_by->s : q->sort_by->a);
        }
        scim_sqlc_put(&c, o.expr);
        scim_sqlc_put(&c, o.ci ? " COLLATE NOCASE" : "");
        scim_sqlc_put(&c, q->descending ? " DESC, " : " ASC, ");
    }
    scim_sqlc_put(&c, "r.rowid");
    limit_n = scim_sqlc_bind(&c, (struct scim_bind){SCIM_B_INT, NULL, 0, q->count});
    offset_n = scim_sqlc_bind(&c, (struct scim_bind){SCIM_B_INT, NULL, 0, q->start_index - 1});
    scim_sqlc_putp(&c, " LIMIT ?", limit_n, "");
    scim_sqlc_putp(&c, " OFFSET ?", offset_n, "");
    if (c.st) {
        rc = c.st;
        goto out;
    }
    rc = scim_store_prepare(conn->db, gh_buf_str(&c.sql), &st, err);
    if (rc)
        goto out;
    scim_sqlc_apply(&c, st);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->count == cap) {
            cap = cap ? cap * 2 : 16;
            out->items = gh_xrealloc(out->items, cap * sizeof(*out->items));
        }
        scim_store_row_rec(st, &out->items[out->count++]);
    }
    if (step != SQLITE_DONE)
        rc = scim_store_fail(conn->db, err, "list");
out:
    sqlite3_finalize(st);
    if (conn != NULL) {
        scim_store_exec(conn->db, "COMMIT", NULL);
        scim_store_release(conn);
    }
    if (rc)
        scim_rec_list_clear(out);
    scim_sqlc_free(&c);
    return rc;
}

/* ---- writes ---- */

/*
 * Track whether the store can write, from the outcome of one write transaction (writer lock
 * held): a commit that wrote a row clears the condition, a write refused as GH_E_UNAVAILABLE
 * sets it. A commit that wrote nothing (a retried request already applied) touched no page, so
 * it says nothing about the disk and changes nothing here. Only the transitions are logged, so a
 * full disk under Entra's retries does not flood the log (each refused request still has its
 * access line and "handler failed" line).
 */
static void scim_store_note_write(struct scim_store *s, enum gh_status rc, bool wrote,
                                  struct gh_err *err)
{
    char q[GH_ERR_MSG_MAX + 8];

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

/* Lock the writer and open a write transaction. */
static enum gh_status scim_store_begin(struct scim_store *s, struct gh_err *err)
{
    enum gh_status rc;
    pthread_mutex_lock(&s->writer.lock);
    rc = scim_store_exec(s->writer.db, "BEGIN IMMEDIATE", err);
    if (rc) {
        scim_store_note_write(s, rc, false, err);
        pthread_mutex_unlock(&s->writer.lock);
        return rc;
    }
    s->begin_changes = sqlite3_total_changes(s->writer.db);
    return rc;
}

/*
 * Commit (or roll back when rc is an error); the writer stays locked for the listener. Only a
 * COMMIT that returned SQLITE_OK is a success: a failed one (no space for the WAL frames, a
 * failed fsync) is rolled back and reported, so the caller never acknowledges it.
 */
static enum gh_status scim_store_end(struct scim_store *s, enum gh_status rc, struct gh_err *err)
{
    if (rc == GH_OK)
        rc = scim_store_exec(s->writer.db, "COMMIT", err);
    if (rc)
        scim_store_exec(s->writer.db, "ROLLBACK", NULL);
    else
        atomic_fetch_add(&s->generation, 1);
    scim_store_note_write(s, rc, sqlite3_total_changes(s->writer.db) != s->begin_changes, err);
    return rc;
}

static enum gh_status scim_store_step_done(sqlite3 *db, sqlite3_stmt *st, struct gh_err *err)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        return scim_store_fail(db, err, "write");
    return GH_OK;
}

/* A member id names a user (0) or a group (1); GH_E_INVALID when it names neither. */
static enum gh_status scim_store_member_type(sqlite3 *db, sqlite3_stmt *st, const char *group_id,
                                             const char *id, int *out_type, struct gh_err *err)
{
    enum gh_status rc = GH_OK;
    int step;

    sqlite3_reset(st);
    scim_store_bind_text(st, 1, id);
    scim_store_bind_text(st, 2, group_id);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *out_type = sqlite3_column_int(st, 0);
    } else if (step == SQLITE_DONE) {
        /* A member must exist so that "groups of a user" is true (issue 5 decides access on
         * it). Entra only sends ids it got back from a create. */
        rc = GH_ERR(err, GH_E_INVALID, "member \"%.64s\" is not a user or group here", id);
        gh_err_set_scim_type(err, SCIM_ST_INVALID_VALUE);
    } else {
        rc = scim_store_fail(db, err, "member lookup");
    }
    return rc;
}

/*
 * Apply a membership change inside the current write transaction. Adds are INSERT OR IGNORE
 * and removes of non-members are no-ops, so retried requests change nothing (ENTRA.md §1.24).
 * The change is a net one (a PATCH's ops already reduced in order, patch.c), so each row is
 * written at most once and the cut-off trigger fires only for members really removed.
 * *out_changed counts rows actually written; the ids are recorded in q for the listener.
 */
static enum gh_status scim_store_members_apply(sqlite3 *db, const char *group_id,
                                               const struct scim_members_change *m,
                                               struct scim_evq *q, int *out_changed,
                                               struct gh_err *err)
{
    sqlite3_stmt *ins = NULL, *del = NULL, *look = NULL;
    enum gh_status rc = GH_OK;

    if (m == NULL)
        return GH_OK;
    q->members_of = group_id;
    if (m->add_count > 0 || m->check_count > 0) {
        rc = scim_store_prepare(db,
                                "SELECT 0 FROM users WHERE id = ?1 UNION ALL "
                                "SELECT 1 FROM groups WHERE id = ?1 AND id <> ?2",
                                &look, err);
        if (rc)
            goto out;
    }
    for (size_t i = 0; i < m->check_count; i++) {
        int type = 0;
        rc = scim_store_member_type(db, look, group_id, m->check[i], &type, err);
        if (rc)
            goto out;
    }
    if (m->replace) {
        /* Drop only the members not in the new list, so that a repeated PUT (or replace) of
         * the same list changes nothing; the ids go in as one bound JSON array, and those
         * dropped come back for the listener like single removes. */
        cJSON *keep = cJSON_CreateArray();
        char *keep_json;
        int step = SQLITE_DONE;
        for (size_t i = 0; i < m->add_count; i++)
            cJSON_AddItemToArray(keep, cJSON_CreateString(m->add[i]));
        keep_json = cJSON_PrintUnformatted(keep);
        cJSON_Delete(keep);
        rc = scim_store_prepare(db,
                                "DELETE FROM members WHERE group_id = ?1 AND member_id NOT IN "
                                "(SELECT value FROM json_each(?2)) RETURNING member_id",
                                &del, err);
        if (rc == GH_OK) {
            scim_store_bind_text(del, 1, group_id);
            scim_store_bind_text(del, 2, keep_json ? keep_json : "[]");
            while ((step = sqlite3_step(del)) == SQLITE_ROW) {
                if (q->ids == NULL)
                    q->ids = gh_arena_new();
                (*out_changed)++;
                scim_evq_member(&q->removed, &q->nremoved, &q->cap_removed,
                                gh_arena_strdup(q->ids, (const char *)sqlite3_column_text(del, 0)));
            }
            if (step != SQLITE_DONE)
                rc = scim_store_fail(db, err, "write");
        }
        cJSON_free(keep_json);
        if (rc)
            goto out;
        sqlite3_finalize(del);
        del = NULL;
    }
    if (m->remove_count > 0) {
        rc = scim_store_prepare(db, "DELETE FROM members WHERE group_id = ?1 AND member_id = ?2",
                                &del, err);
        if (rc)
            goto out;
        for (size_t i = 0; i < m->remove_count; i++) {
            sqlite3_reset(del);
            scim_store_bind_text(del, 1, group_id);
            scim_store_bind_text(del, 2, m->remove[i]);
            rc = scim_store_step_done(db, del, err);
            if (rc)
                goto out;
            if (sqlite3_changes(db) > 0) {
                (*out_changed)++;
                scim_evq_member(&q->removed, &q->nremoved, &q->cap_removed, m->remove[i]);
            }
        }
    }
    if (m->add_count > 0) {
        rc = scim_store_prepare(db,
                                "INSERT OR IGNORE INTO members(group_id, member_id, member_type) "
                                "VALUES (?1, ?2, ?3)",
                                &ins, err);
        if (rc)
            goto out;
        for (size_t i = 0; i < m->add_count; i++) {
            int type = 0;
            rc = scim_store_member_type(db, look, group_id, m->add[i], &type, err);
            if (rc)
                goto out;
            sqlite3_reset(ins);
            scim_store_bind_text(ins, 1, group_id);
            scim_store_bind_text(ins, 2, m->add[i]);
            sqlite3_bind_int(ins, 3, type);
            rc = scim_store_step_done(db, ins, err);
            if (rc)
                goto out;
            if (sqlite3_changes(db) > 0) {
                (*out_changed)++;
                scim_evq_member(&q->added, &q->nadded, &q->cap_added, m->add[i]);
            }
        }
    }
out:
    sqlite3_finalize(look);
    sqlite3_finalize(ins);
    sqlite3_finalize(del);
    return rc;
}

/*
 * Create a resource with a fresh id, in one transaction with its initial members. Thread-safe.
 * Caller clears *out.
 */
enum gh_status scim_store_create(struct scim_store *s, enum scim_kind kind,
                                 const struct scim_row *row,
                                 const struct scim_members_change *members, struct scim_rec *out,
                                 struct gh_err *err)
{
    static const char *const sql[] = {
        "INSERT INTO users(id, user_name, external_id, display_name, active, version, created, "
        "modified, body) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6, ?7)",
        "INSERT INTO groups(id, display_name, external_id, version, created, modified, body) "
        "VALUES (?1, ?2, ?3, 1, ?6, ?6, ?7)",
    };
    sqlite3 *db = s->writer.db;
    sqlite3_stmt *st = NULL;
    struct scim_evq q = {0};
    enum gh_status rc;
    int changed = 0;

    memset(out, 0, sizeof(*out));
    scim_store_new_id(out->id);
    rc = scim_store_begin(s, err);
    if (rc)
        return rc;
    scim_store_now(out->created);
    memcpy(out->modified, out->created, sizeof(out->modified));
    out->version = 1;
    rc = scim_store_prepare(db, sql[kind], &st, err);
    if (rc)
        goto out;
    scim_store_bind_text(st, 1, out->id);
    scim_store_bind_text(st, 2, row->cols.name);
    scim_store_bind_text(st, 3, row->cols.external_id);
    if (kind == SCIM_USER) {
        scim_store_bind_text(st, 4, row->cols.display);
        sqlite3_bind_int(st, 5, row->cols.active);
    }
    scim_store_bind_text(st, 6, out->created);
    scim_store_bind_text(st, 7, row->body);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = scim_store_write_fail(db, kind, row->cols.name, err);
        goto out;
    }
    scim_evq_push(&q, kind == SCIM_USER ? SCIM_EV_USER_CREATED : SCIM_EV_GROUP_CREATED, out->id);
    if (kind == SCIM_GROUP)
        rc = scim_store_members_apply(db, out->id, members, &q, &changed, err);
out:
    sqlite3_finalize(st);
    rc = scim_store_end(s, rc, err);
    if (rc == GH_OK) {
        out->body = gh_xstrdup(row->body);
        scim_evq_emit(s, &q, out->modified);
    } else {
        scim_evq_discard(&q);
    }
    pthread_mutex_unlock(&s->writer.lock);
    return rc;
}

/*
 * Read-modify-write (PUT, PATCH) in one write transaction; see store.h. Caller clears *out.
 */
enum gh_status scim_store_update(struct scim_store *s, enum scim_kind kind, const char *id,
                                 scim_store_update_fn fn, void *ctx, struct scim_rec *out,
                                 struct gh_err *err)
{
    static const char *const sql[] = {
        "UPDATE users SET user_name = ?2, external_id = ?3, display_name = ?4, active = ?5, "
        "body = ?6, version = version + 1, modified = ?7 WHERE id = ?1",
        "UPDATE groups SET display_name = ?2, external_id = ?3, body = ?6, "
        "version = version + 1, modified = ?7 WHERE id = ?1",
    };
    static const char *const bump[] = {
        "UPDATE users SET version = version + 1, modified = ?2 WHERE id = ?1",
        "UPDATE groups SET version = version + 1, modified = ?2 WHERE id = ?1",
    };
    sqlite3 *db = s->writer.db;
    sqlite3_stmt *st = NULL;
    struct scim_rec cur = {0};
    struct scim_row row = {0};
    struct scim_members_change members = {0};
    struct scim_evq q = {0};
    char now[SCIM_TS_LEN + 1];
    enum gh_status rc;
    int changed = 0;
    bool body_changed = false, renamed = false;

    memset(out, 0, sizeof(*out));
    rc = scim_store_begin(s, err);
    if (rc)
        return rc;
    scim_store_now(now);
    rc = scim_store_get_on(db, kind, id, &cur, err);
    if (rc)
        goto out;
    rc = fn(ctx, &cur, &row, &members, err);
    if (rc)
        goto out;
    if (row.body != NULL && strcmp(row.body, cur.body) != 0) {
        body_changed = true;
        if (kind == SCIM_GROUP) { /* a rename is its own event: issue 5 keys policy on names */
            cJSON *old = cJSON_Parse(cur.body);
            const cJSON *dn = cJSON_GetObjectItemCaseSensitive(old, "displayName");
            renamed = !cJSON_IsString(dn) || row.cols.name == NULL ||
                      strcmp(dn->valuestring, row.cols.name) != 0;
            cJSON_Delete(old);
        }
        rc = scim_store_prepare(db, sql[kind], &st, err);
        if (rc)
            goto out;
        scim_store_bind_text(st, 1, id);
        scim_store_bind_text(st, 2, row.cols.name);
        scim_store_bind_text(st, 3, row.cols.external_id);
        if (kind == SCIM_USER) {
            scim_store_bind_text(st, 4, row.cols.display);
            sqlite3_bind_int(st, 5, row.cols.active);
        }
        scim_store_bind_text(st, 6, row.body);
        scim_store_bind_text(st, 7, now);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = scim_store_write_fail(db, kind, row.cols.name, err);
            goto out;
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    if (kind == SCIM_GROUP) {
        rc = scim_store_members_apply(db, id, &members, &q, &changed, err);
        if (rc)
            goto out;
    }
    if (!body_changed && changed > 0) {
        rc = scim_store_prepare(db, bump[kind], &st, err);
        if (rc)
            goto out;
        scim_store_bind_text(st, 1, id);
        scim_store_bind_text(st, 2, now);
        rc = scim_store_step_done(db, st, err);
        if (rc)
            goto out;
    }
    *out = cur;
    cur.body = NULL;
    if (body_changed) {
        free(out->body);
        out->body = gh_xstrdup(row.body);
    }
    if (body_changed || changed > 0) {
        out->version++;
        memcpy(out->modified, now, sizeof(now));
    }
    if (body_changed)
        scim_evq_push(&q,
                      kind == SCIM_USER ? SCIM_EV_USER_CHANGED
                      : renamed         ? SCIM_EV_GROUP_RENAMED
                                        : SCIM_EV_GROUP_CHANGED,
                      out->id);
    q.members_of = out->id;
out:
    sqlite3_finalize(st);
    scim_rec_clear(&cur);
    rc = scim_store_end(s, rc, err);
    if (rc == GH_OK) {
        scim_evq_emit(s, &q, out->modified);
    } else {
        scim_rec_clear(out);
        scim_evq_discard(&q);
    }
    pthread_mutex_unlock(&s->writer.lock);
    return rc;
}

/*
 * Hard delete, with the resource's membership rows (as a group: its own rows go by ON DELETE
 * CASCADE; as a member: rows naming it). Thread-safe.
 */
enum gh_status scim_store_delete(struct scim_store *s, enum scim_kind kind, const char *id,
                                 int64_t expect_version, struct gh_err *err)
{
    static const char *const sql[] = {
        "DELETE FROM users WHERE id = ?1",
        "DELETE FROM groups WHERE id = ?1",
    };
    sqlite3 *db = s->writer.db;
    sqlite3_stmt *st = NULL;
    struct scim_rec cur = {0};
    struct scim_evq q = {0};
    char now[SCIM_TS_LEN + 1];
    enum gh_status rc;

    rc = scim_store_begin(s, err);
    if (rc)
        return rc;
    scim_store_now(now);
    rc = scim_store_get_on(db, kind, id, &cur, err);
    if (rc)
        goto out;
    if (expect_version >= 0 && cur.version != expect_version) {
        rc = GH_ERR(err, GH_E_PRECONDITION, "If-Match does not match the current version");
        goto out;
    }
    rc = scim_store_prepare(db, "DELETE FROM members WHERE member_id = ?1", &st, err);
    if (rc)
        goto out;
    scim_store_bind_text(st, 1, id);
    rc = scim_store_step_done(db, st, err);
    if (rc)
        goto out;
    sqlite3_finalize(st);
    rc = scim_store_prepare(db, sql[kind], &st, err);
    if (rc)
        goto out;
    scim_store_bind_text(st, 1, id);
    rc = scim_store_step_done(db, st, err);
    if (rc)
        goto out;
    scim_evq_push(&q, kind == SCIM_USER ? SCIM_EV_USER_DELETED : SCIM_EV_GROUP_DELETED, id);
out:
    sqlite3_finalize(st);
    scim_rec_clear(&cur);
    rc = scim_store_end(s, rc, err);
    if (rc == GH_OK)
        scim_evq_emit(s, &q, now);
    pthread_mutex_unlock(&s->writer.lock);
    return rc;
}

/* ---- access groups, links and decision facts (issue 5) ---- */

/* See store.h. */
uint64_t scim_store_generation(const struct scim_store *s)
{
    return atomic_load(&((struct scim_store *)s)->generation);
}

static enum gh_status scim_store_ag_upsert(sqlite3 *db, const struct scim_access_group_def *d,
                                           const char *source, const char *now, struct gh_err *err)
{
    sqlite3_stmt *st = NULL;
    enum gh_status rc;

    rc = scim_store_prepare(db,
                            "INSERT INTO access_groups(key, name, source, grants, created) "
                            "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(key) DO UPDATE SET "
                            "name = excluded.name, source = excluded.source, "
                            "grants = excluded.grants",
                            &st, err);
    if (rc)
        return rc;
    scim_store_bind_text(st, 1, d->key);
    scim_store_bind_text(st, 2, d->name);
    scim_store_bind_text(st, 3, source);
    scim_store_bind_text(st, 4, d->grants);
    scim_store_bind_text(st, 5, now);
    rc = scim_store_step_done(db, st, err);
    sqlite3_finalize(st);
    return rc;
}

/* See store.h. Upsert keeps rows (and so links) of keys that stay declared. */
enum gh_status scim_store_access_groups_sync(struct scim_store *s,
                                             const struct scim_access_group_def *defs, size_t n,
                                             struct gh_err *err)
{
    sqlite3 *db = s->writer.db;
    sqlite3_stmt *st = NULL;
    char now[SCIM_TS_LEN + 1];
    enum gh_status rc;

    rc = scim_store_begin(s, err);
    if (rc)
        return rc;
    scim_store_now(now);
    /* Upsert the declared groups, remembering their keys, then drop file rows not declared. */
    rc = scim_store_exec(db,
                         "CREATE TEMP TABLE IF NOT EXISTS gh_declared (key TEXT PRIMARY KEY); "
                         "DELETE FROM gh_declared;",
                         err);
    for (size_t i = 0; rc == GH_OK && i < n; i++) {
        rc = scim_store_ag_upsert(db, &defs[i], "file", now, err);
        if (rc)
            break;
        rc = scim_store_prepare(db, "INSERT OR IGNORE INTO gh_declared(key) VALUES (?1)", &st, err);
        if (rc)
            break;
        scim_store_bind_text(st, 1, defs[i].key);
        rc = scim_store_step_done(db, st, err);
        sqlite3_finalize(st);
        st = NULL;
    }
    if (rc == GH_OK)
        rc = scim_store_exec(db,
                             "DELETE FROM access_groups WHERE source = 'file' "
                             "AND key NOT IN (SELECT key FROM gh_declared); "
                             "DELETE FROM gh_declared;",
                             err);
    rc = scim_store_end(s, rc, err);
    pthread_mutex_unlock(&s->writer.lock);
    return rc;
}

/* See store.h. */
enum gh_status scim_store_access_group_create(struct scim_store *s,
                                              const struct scim_access_group_def *def,
                                              struct gh_err *err)
{
    sqlite3 *db = s->writer.db;
    sqlite3_stmt *st = NULL;
    char now[SCIM_TS_LEN + 1];
    enum gh_status rc;
    int step;

    rc = scim_store_begin(s, err);
    if (rc)
        return rc;
    scim_store_now(now);
    rc = scim_store_prepare(db, "SELECT name FROM access_groups WHERE key = ?1", &st, err);
    if (rc)
        goto out;
    scim_store_bind_text(st, 1, def->key);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        rc = GH_ERR(err, GH_E_CONFLICT, "access group \"%.200s\" already exists",
                    (const char *)sqlite3_column_text(st, 0));
        goto out;
    }
    if (step != SQLITE_DONE) {
        rc = scim_store_fail(db, err, "read access group");
        goto out;
    }
    rc = scim_store_ag_upsert(db, def, "admin", now, err);
out:
    sqlite3_finalize(st);
    rc = scim_store_end(s, rc, err);
    pthread_mutex_unlock(&s->writer.lock);
    return rc;
}

/* See store.h. */
enum gh_status scim_store_access_group_delete(struct scim_store *s, const char *key,
                                              struct gh_err *err)
{
    sqlite3 *db = s->writer.db;
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    int step;

    rc = scim_store_begin(s, err);
    if (rc)
        return rc;
    rc = scim_store_prepare(db, "SELECT source FROM access_groups WHERE key = ?1", &st, err);
    if (rc)
        goto out;
    scim_store_bind_text(st, 1, key);
    step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        rc = GH_ERR(err, GH_E_NOT_FOUND, "no such access group");
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = scim_store_fail(db, err, "read access group");
        goto out;
    }
    if (strcmp((const char *)sqlite3_column_text(st, 0), "admin") != 0) {
        rc = GH_ERR(err, GH_E_CONFLICT,
                    "access group is declared in the policy file: remove it there");
        goto out;
    }
    sqlite3_finalize(st);
    rc = scim_store_prepare(db, "DELETE FROM access_groups WHERE key = ?1", &st, err);
    if (rc)
        goto out;
    scim_store_bind_text(st, 1, key);
    rc = scim_store_step_done(db, st, err);
out:
    sqlite3_finalize(st);
    rc = scim_store_end(s, rc, err);
    pthread_mutex_unlock(&s->writer.lock);
    return rc;
}

static const char *scim_store_col(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* See store.h. */
enum gh_status scim_store_access_groups(struct scim_store *s, scim_access_group_fn fn, void *ctx,
                                        struct gh_err *err)
{
    struct scim_conn *c = scim_store_reader(s);
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    int step;

    rc = scim_store_prepare(c->db,
                            "SELECT a.key, a.name, a.source, a.grants, a.created, l.group_id, "
                            "g.display_name, l.linked FROM access_groups a "
                            "LEFT JOIN access_group_links l ON l.key = a.key "
                            "LEFT JOIN groups g ON g.id = l.group_id ORDER BY a.key",
                            &st, err);
    if (rc)
        goto out;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct scim_access_group ag = {
            scim_store_col(st, 0), scim_store_col(st, 1), scim_store_col(st, 2),
            scim_store_col(st, 3), scim_store_col(st, 4), scim_store_col(st, 5),
            scim_store_col(st, 6), scim_store_col(st, 7),
        };
        fn(ctx, &ag);
    }
    if (step != SQLITE_DONE)
        rc = scim_store_fail(c->db, err, "read access groups");
out:
    sqlite3_finalize(st);
    scim_store_release(c);
    return rc;
}

/* See store.h. */
enum gh_status scim_store_group_names(struct scim_store *s, scim_group_name_fn fn, void *ctx,
                                      struct gh_err *err)
{
    struct scim_conn *c = scim_store_reader(s);
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    int step;

    rc = scim_store_prepare(c->db, "SELECT id, display_name FROM groups ORDER BY rowid", &st, err);
    if (rc)
        goto out;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        fn(ctx, scim_store_col(st, 0), scim_store_col(st, 1));
    if (step != SQLITE_DONE)
        rc = scim_store_fail(c->db, err, "read groups");
out:
    sqlite3_finalize(st);
    scim_store_release(c);
    return rc;
}

/* Free what scim_store_subject_find allocated. */
void scim_subject_clear(struct scim_subject *sub)
{
    if (sub == NULL)
        return;
    free(sub->user_name);
    free(sub->external_id);
    sub->user_name = NULL;
    sub->external_id = NULL;
}

/* See store.h. */
enum gh_status scim_store_subject_find(struct scim_store *s, enum scim_user_key key,
                                       const char *value, struct scim_subject *out,
                                       struct gh_err *err)
{
    static const char *const sql[] = {
        "SELECT u.id, u.user_name, u.external_id, u.active, COALESCE(c.at, 0), "
        "  (SELECT COALESCE(max(t.at), 0) FROM user_tombstones t WHERE t.kind = 0 "
        "   AND t.value = ?1), 1 "
        "FROM (SELECT 1) LEFT JOIN users u ON u.user_name = ?1 "
        "LEFT JOIN cutoffs c ON c.user_id = u.id AND c.key = ''",
        "SELECT u.id, u.user_name, u.external_id, u.active, COALESCE(c.at, 0), "
        "  (SELECT COALESCE(max(t.at), 0) FROM user_tombstones t WHERE t.kind = 1 "
        "   AND t.value = ?1), "
        "  (SELECT count(*) FROM users u2 WHERE u2.external_id = ?1) "
        "FROM (SELECT 1) LEFT JOIN (SELECT * FROM users WHERE external_id = ?1 "
        "  ORDER BY rowid LIMIT 1) u "
        "LEFT JOIN cutoffs c ON c.user_id = u.id AND c.key = ''",
    };
    struct scim_conn *c = scim_store_reader(s);
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    int64_t cut, tomb;

    memset(out, 0, sizeof(*out));
    rc =
        scim_store_cached(c, key == SCIM_KEY_EXTERNAL_ID ? SCIM_Q_SUBJECT_EXT : SCIM_Q_SUBJECT_NAME,
                          sql[key == SCIM_KEY_EXTERNAL_ID], &st, err);
    if (rc)
        goto out;
    scim_store_bind_text(st, 1, value);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = scim_store_fail(c->db, err, "read subject");
        goto out;
    }
    cut = sqlite3_column_int64(st, 4);
    tomb = sqlite3_column_int64(st, 5);
    out->not_before = cut > tomb ? cut : tomb;
    if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
        rc = GH_ERR(err, GH_E_NOT_FOUND, "no such user");
        goto out;
    }
    scim_store_copy(out->id, sizeof(out->id), sqlite3_column_text(st, 0));
    out->user_name = gh_xstrdup(scim_store_col(st, 1));
    if (sqlite3_column_type(st, 2) != SQLITE_NULL)
        out->external_id = gh_xstrdup(scim_store_col(st, 2));
    out->active = sqlite3_column_int(st, 3) != 0;
    out->matches = sqlite3_column_int(st, 6);
out:
    if (st != NULL)
        sqlite3_reset(st);
    scim_store_release(c);
    return rc;
}

/* See store.h. Nested groups do not grant (Entra provisions one level only). */
enum gh_status scim_store_subject_access(struct scim_store *s, const char *user_id,
                                         scim_access_fn fn, void *ctx, struct gh_err *err)
{
    struct scim_conn *c = scim_store_reader(s);
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    int step;

    rc = scim_store_cached(c, SCIM_Q_ACCESS,
                           "SELECT l.key, g.display_name, COALESCE(ct.at, 0) FROM members m "
                           "JOIN access_group_links l ON l.group_id = m.group_id "
                           "JOIN groups g ON g.id = m.group_id "
                           "LEFT JOIN cutoffs ct ON ct.user_id = m.member_id AND ct.key = l.key "
                           "WHERE m.member_id = ?1 AND m.member_type = 0",
                           &st, err);
    if (rc)
        goto out;
    scim_store_bind_text(st, 1, user_id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        fn(ctx, scim_store_col(st, 0), scim_store_col(st, 1), sqlite3_column_int64(st, 2));
    if (step != SQLITE_DONE)
        rc = scim_store_fail(c->db, err, "read access");
out:
    if (st != NULL)
        sqlite3_reset(st);
    scim_store_release(c);
    return rc;
}

/* ---- metrics ---- */

static int64_t scim_store_count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/*
 * Prometheus collector: how many users (by active), groups and memberships are stored (one
 * read transaction, so the figures agree), and the changes committed since start. Called on
 * /metrics scrapes from any thread.
 */
void scim_store_metrics(void *ctx, struct gh_buf *out)
{
    static const char *const ev_names[] = {
        "user_created",  "user_changed",  "user_deleted",  "group_created",   "group_changed",
        "group_renamed", "group_deleted", "members_added", "members_removed",
    };
    struct scim_store *s = ctx;
    struct scim_conn *c = scim_store_reader(s);
    int64_t active, inactive, groups, members;
    char labels[64];

    scim_store_exec(c->db, "BEGIN", NULL);
    active = scim_store_count(c->db, "SELECT count(*) FROM users WHERE active = 1");
    inactive = scim_store_count(c->db, "SELECT count(*) FROM users WHERE active = 0");
    groups = scim_store_count(c->db, "SELECT count(*) FROM groups");
    members = scim_store_count(c->db, "SELECT count(*) FROM members");
    scim_store_exec(c->db, "COMMIT", NULL);
    scim_store_release(c);

    gh_metrics_family(out, "gatehouse_scim_users", "gauge", "Users in the identity store");
    gh_metrics_sample(out, "gatehouse_scim_users", "active=\"true\"", (double)active);
    gh_metrics_sample(out, "gatehouse_scim_users", "active=\"false\"", (double)inactive);
    gh_metrics_family(out, "gatehouse_scim_groups", "gauge", "Groups in the identity store");
    gh_metrics_sample(out, "gatehouse_scim_groups", "", (double)groups);
    gh_metrics_family(out, "gatehouse_scim_memberships", "gauge",
                      "Direct group memberships in the identity store");
    gh_metrics_sample(out, "gatehouse_scim_memberships", "", (double)members);
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
