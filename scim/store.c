/*
 * store.c - the identity store on SQLite: the only file with SQL in the tree.
 *
 * Connection settings: WAL (readers never block the writer), synchronous=FULL (an acknowledged
 * write survives power loss), foreign_keys=ON, busy_timeout. Migrations run at open, each in
 * its own transaction with its user_version bump, so a crash mid-migration leaves the previous
 * version intact. A database newer than this binary is refused rather than misread.
 */
#include "scim/store.h"
#include "scim/schema_int.h"
#include "sidecar/gatehouse.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>

#define SCIM_STORE_BUSY_MS 5000

struct scim_store {
    sqlite3 *db;
    pthread_mutex_t lock; /* serialises use of db */
    int version;
};

static enum gh_status scim_store_exec(sqlite3 *db, const char *sql, struct gh_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        GH_ERR(err, GH_E_STORE, "sqlite: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return GH_E_STORE;
    }
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
    enum gh_status st;
    int v = 0;

    st = scim_store_user_version(s->db, &v, err);
    if (st)
        return st;
    if (v < 0 || (size_t)v > scim_schema_migration_count)
        return GH_ERR(err, GH_E_STORE,
                      "database schema version %d is newer than this gatehouse (%zu)", v,
                      scim_schema_migration_count);
    for (; (size_t)v < scim_schema_migration_count; v++) {
        char bump[64];
        st = scim_store_exec(s->db, "BEGIN IMMEDIATE", err);
        if (st)
            return st;
        st = scim_store_exec(s->db, scim_schema_migrations[v], err);
        if (st == GH_OK) {
            snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v + 1);
            st = scim_store_exec(s->db, bump, err);
        }
        if (st == GH_OK)
            st = scim_store_exec(s->db, "COMMIT", err);
        if (st) {
            scim_store_exec(s->db, "ROLLBACK", NULL);
            return st;
        }
        gh_log(GH_LOG_INFO, "store", "\"schema migrated\" version=%d", v + 1);
    }
    s->version = v;
    return GH_OK;
}

/*
 * Open the store at path (created when missing) and migrate it. On success *out_store is owned by
 * the caller (scim_store_close). On failure nothing is left open and err says why.
 */
enum gh_status scim_store_open(const char *path, struct scim_store **out_store, struct gh_err *err)
{
    struct scim_store *s = gh_xcalloc(1, sizeof(*s));
    enum gh_status st = GH_OK;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;

    pthread_mutex_init(&s->lock, NULL);
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        st = GH_ERR(err, GH_E_STORE, "cannot open database %s: %s", path,
                    s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(s->db, SCIM_STORE_BUSY_MS);
    st = scim_store_exec(s->db,
                         "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                         "PRAGMA foreign_keys=ON;",
                         err);
    if (st)
        goto out;
    st = scim_store_migrate(s, err);
out:
    if (st) {
        scim_store_close(s);
        return st;
    }
    *out_store = s;
    return GH_OK;
}

/* Close the store; pending statements are finalised. NULL is a no-op. */
void scim_store_close(struct scim_store *s)
{
    if (s == NULL)
        return;
    if (s->db != NULL)
        sqlite3_close_v2(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* The schema version the store is at (after migrations). */
int scim_store_schema_version(struct scim_store *s)
{
    return s->version;
}

/* /readyz probe: the store is ready when it answers a trivial query. */
bool scim_store_ready(void *ctx, const char **out_reason)
{
    struct scim_store *s = ctx;
    sqlite3_stmt *st = NULL;
    bool ok;

    pthread_mutex_lock(&s->lock);
    ok = sqlite3_prepare_v2(s->db, "SELECT 1", -1, &st, NULL) == SQLITE_OK &&
         sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    if (!ok)
        *out_reason = "store not answering";
    return ok;
}
