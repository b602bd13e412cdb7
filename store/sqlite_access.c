/*
 * sqlite_access.c - access groups, their links to IdP groups, and the facts a decision reads
 * (subjects, cut-offs, tombstones) on SQLite.
 *
 * Links, cut-offs and tombstones are maintained by triggers (sqlite_schema.c), so every write
 * path - SCIM, the policy file, the admin API - keeps them consistent in its own transaction.
 * The two statements the decision path runs per request are kept prepared on each read
 * connection (STORE_SQLITE_Q_*).
 */
#include "core/core.h"
#include "store/sqlite_int.h"

#include <string.h>

static enum gh_status store_sqlite_ag_upsert(sqlite3 *db, const struct store_access_group_def *d,
                                             const char *source, const char *now,
                                             struct gh_err *err)
{
    sqlite3_stmt *st = NULL;
    enum gh_status rc;

    rc = store_sqlite_prepare(db,
                              "INSERT INTO access_groups(key, name, source, grants, created) "
                              "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(key) DO UPDATE SET "
                              "name = excluded.name, source = excluded.source, "
                              "grants = excluded.grants",
                              &st, err);
    if (rc)
        return rc;
    store_sqlite_bind_text(st, 1, d->key);
    store_sqlite_bind_text(st, 2, d->name);
    store_sqlite_bind_text(st, 3, source);
    store_sqlite_bind_text(st, 4, d->grants);
    store_sqlite_bind_text(st, 5, now);
    rc = store_sqlite_step_done(db, st, err);
    sqlite3_finalize(st);
    return rc;
}

/* See store.h. Upsert keeps rows (and so links) of keys that stay declared. */
enum gh_status store_sqlite_access_groups_sync(struct store *base,
                                               const struct store_access_group_def *defs, size_t n,
                                               struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
    sqlite3 *db = s->writer.db;
    sqlite3_stmt *st = NULL;
    char now[STORE_TS_LEN + 1];
    enum gh_status rc;

    rc = store_sqlite_begin(s, err);
    if (rc)
        return rc;
    store_now(now);
    /* Upsert the declared groups, remembering their keys, then drop file rows not declared. */
    rc = store_sqlite_exec(db,
                           "CREATE TEMP TABLE IF NOT EXISTS gh_declared (key TEXT PRIMARY KEY); "
                           "DELETE FROM gh_declared;",
                           err);
    for (size_t i = 0; rc == GH_OK && i < n; i++) {
        rc = store_sqlite_ag_upsert(db, &defs[i], "file", now, err);
        if (rc)
            break;
        rc = store_sqlite_prepare(db, "INSERT OR IGNORE INTO gh_declared(key) VALUES (?1)", &st,
                                  err);
        if (rc)
            break;
        store_sqlite_bind_text(st, 1, defs[i].key);
        rc = store_sqlite_step_done(db, st, err);
        sqlite3_finalize(st);
        st = NULL;
    }
    if (rc == GH_OK)
        rc = store_sqlite_exec(db,
                               "DELETE FROM access_groups WHERE source = 'file' "
                               "AND key NOT IN (SELECT key FROM gh_declared); "
                               "DELETE FROM gh_declared;",
                               err);
    rc = store_sqlite_end(s, rc, err);
    store_sqlite_unlock(s);
    return rc;
}

/* See store.h. */
enum gh_status store_sqlite_access_group_create(struct store *base,
                                                const struct store_access_group_def *def,
                                                struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
    sqlite3 *db = s->writer.db;
    sqlite3_stmt *st = NULL;
    char now[STORE_TS_LEN + 1];
    enum gh_status rc;
    int step;

    rc = store_sqlite_begin(s, err);
    if (rc)
        return rc;
    store_now(now);
    rc = store_sqlite_prepare(db, "SELECT name FROM access_groups WHERE key = ?1", &st, err);
    if (rc)
        goto out;
    store_sqlite_bind_text(st, 1, def->key);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        rc = GH_ERR(err, GH_E_CONFLICT, "access group \"%.200s\" already exists",
                    (const char *)sqlite3_column_text(st, 0));
        goto out;
    }
    if (step != SQLITE_DONE) {
        rc = store_sqlite_fail(db, err, "read access group");
        goto out;
    }
    rc = store_sqlite_ag_upsert(db, def, "admin", now, err);
out:
    sqlite3_finalize(st);
    rc = store_sqlite_end(s, rc, err);
    store_sqlite_unlock(s);
    return rc;
}

/* Inside a write transaction: the access group key exists (GH_E_NOT_FOUND) and was created
 * through the admin API (GH_E_CONFLICT for a file-declared one, telling the operator to `verb` it
 * in the policy file). The one check before an admin delete or update. */
static enum gh_status store_sqlite_access_admin_owned(sqlite3 *db, const char *key,
                                                      const char *verb, struct gh_err *err)
{
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    int step;

    rc = store_sqlite_prepare(db, "SELECT source FROM access_groups WHERE key = ?1", &st, err);
    if (rc)
        return rc;
    store_sqlite_bind_text(st, 1, key);
    step = sqlite3_step(st);
    if (step == SQLITE_DONE)
        rc = GH_ERR(err, GH_E_NOT_FOUND, "no such access group");
    else if (step != SQLITE_ROW)
        rc = store_sqlite_fail(db, err, "read access group");
    else if (strcmp((const char *)sqlite3_column_text(st, 0), "admin") != 0)
        rc = GH_ERR(err, GH_E_CONFLICT, "access group is declared in the policy file: %s it there",
                    verb);
    sqlite3_finalize(st);
    return rc;
}

/* See store.h. */
enum gh_status store_sqlite_access_group_delete(struct store *base, const char *key,
                                                struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
    sqlite3 *db = s->writer.db;
    sqlite3_stmt *st = NULL;
    enum gh_status rc;

    rc = store_sqlite_begin(s, err);
    if (rc)
        return rc;
    rc = store_sqlite_access_admin_owned(db, key, "remove", err);
    if (rc)
        goto out;
    rc = store_sqlite_prepare(db, "DELETE FROM access_groups WHERE key = ?1", &st, err);
    if (rc)
        goto out;
    store_sqlite_bind_text(st, 1, key);
    rc = store_sqlite_step_done(db, st, err);
out:
    sqlite3_finalize(st);
    rc = store_sqlite_end(s, rc, err);
    store_sqlite_unlock(s);
    return rc;
}

/* See store.h. The key stays, so the link row (keyed by it) is untouched; the feed's UPDATE
 * trigger announces the change to every replica. */
enum gh_status store_sqlite_access_group_update(struct store *base,
                                                const struct store_access_group_def *def,
                                                struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
    sqlite3 *db = s->writer.db;
    sqlite3_stmt *st = NULL;
    enum gh_status rc;

    rc = store_sqlite_begin(s, err);
    if (rc)
        return rc;
    rc = store_sqlite_access_admin_owned(db, def->key, "change", err);
    if (rc)
        goto out;
    rc = store_sqlite_prepare(db, "UPDATE access_groups SET name = ?2, grants = ?3 WHERE key = ?1",
                              &st, err);
    if (rc)
        goto out;
    store_sqlite_bind_text(st, 1, def->key);
    store_sqlite_bind_text(st, 2, def->name);
    store_sqlite_bind_text(st, 3, def->grants);
    rc = store_sqlite_step_done(db, st, err);
out:
    sqlite3_finalize(st);
    rc = store_sqlite_end(s, rc, err);
    store_sqlite_unlock(s);
    return rc;
}

/* See store.h. */
enum gh_status store_sqlite_access_groups(struct store *base, store_access_group_fn fn, void *ctx,
                                          struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
    struct store_sqlite_conn *c = store_sqlite_reader(s);
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    int step;

    rc = store_sqlite_prepare(c->db,
                              "SELECT a.key, a.name, a.source, a.grants, a.created, l.group_id, "
                              "g.display_name, l.linked FROM access_groups a "
                              "LEFT JOIN access_group_links l ON l.key = a.key "
                              "LEFT JOIN groups g ON g.id = l.group_id ORDER BY a.key",
                              &st, err);
    if (rc)
        goto out;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_access_group ag = {
            store_sqlite_col(st, 0), store_sqlite_col(st, 1), store_sqlite_col(st, 2),
            store_sqlite_col(st, 3), store_sqlite_col(st, 4), store_sqlite_col(st, 5),
            store_sqlite_col(st, 6), store_sqlite_col(st, 7),
        };
        fn(ctx, &ag);
    }
    if (step != SQLITE_DONE)
        rc = store_sqlite_fail(c->db, err, "read access groups");
out:
    sqlite3_finalize(st);
    store_sqlite_release(c);
    return rc;
}

/* See store.h. */
enum gh_status store_sqlite_group_names(struct store *base, store_group_name_fn fn, void *ctx,
                                        struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
    struct store_sqlite_conn *c = store_sqlite_reader(s);
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    int step;

    rc =
        store_sqlite_prepare(c->db, "SELECT id, display_name FROM groups ORDER BY rowid", &st, err);
    if (rc)
        goto out;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        fn(ctx, store_sqlite_col(st, 0), store_sqlite_col(st, 1));
    if (step != SQLITE_DONE)
        rc = store_sqlite_fail(c->db, err, "read groups");
out:
    sqlite3_finalize(st);
    store_sqlite_release(c);
    return rc;
}

/* See store.h. */
enum gh_status store_sqlite_subject_find(struct store *base, enum store_user_key key,
                                         const char *value, struct store_subject *out,
                                         struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
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
    struct store_sqlite_conn *c = store_sqlite_reader(s);
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    int64_t cut, tomb;

    memset(out, 0, sizeof(*out));
    rc = store_sqlite_cached(
        c, key == STORE_KEY_EXTERNAL_ID ? STORE_SQLITE_Q_SUBJECT_EXT : STORE_SQLITE_Q_SUBJECT_NAME,
        sql[key == STORE_KEY_EXTERNAL_ID], &st, err);
    if (rc)
        goto out;
    store_sqlite_bind_text(st, 1, value);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = store_sqlite_fail(c->db, err, "read subject");
        goto out;
    }
    cut = sqlite3_column_int64(st, 4);
    tomb = sqlite3_column_int64(st, 5);
    out->not_before = cut > tomb ? cut : tomb;
    if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
        rc = GH_ERR(err, GH_E_NOT_FOUND, "no such user");
        goto out;
    }
    store_sqlite_copy(out->id, sizeof(out->id), sqlite3_column_text(st, 0));
    out->user_name = gh_xstrdup(store_sqlite_col(st, 1));
    if (sqlite3_column_type(st, 2) != SQLITE_NULL)
        out->external_id = gh_xstrdup(store_sqlite_col(st, 2));
    out->active = sqlite3_column_int(st, 3) != 0;
    out->matches = sqlite3_column_int(st, 6);
out:
    if (st != NULL)
        sqlite3_reset(st);
    store_sqlite_release(c);
    return rc;
}

/* See store.h. Nested groups do not grant (Entra provisions one level only). */
enum gh_status store_sqlite_subject_access(struct store *base, const char *user_id,
                                           store_access_fn fn, void *ctx, struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
    struct store_sqlite_conn *c = store_sqlite_reader(s);
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    int step;

    rc = store_sqlite_cached(c, STORE_SQLITE_Q_ACCESS,
                             "SELECT l.key, g.display_name, COALESCE(ct.at, 0) FROM members m "
                             "JOIN access_group_links l ON l.group_id = m.group_id "
                             "JOIN groups g ON g.id = m.group_id "
                             "LEFT JOIN cutoffs ct ON ct.user_id = m.member_id AND ct.key = l.key "
                             "WHERE m.member_id = ?1 AND m.member_type = 0",
                             &st, err);
    if (rc)
        goto out;
    store_sqlite_bind_text(st, 1, user_id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        fn(ctx, store_sqlite_col(st, 0), store_sqlite_col(st, 1), sqlite3_column_int64(st, 2));
    if (step != SQLITE_DONE)
        rc = store_sqlite_fail(c->db, err, "read access");
out:
    if (st != NULL)
        sqlite3_reset(st);
    store_sqlite_release(c);
    return rc;
}
