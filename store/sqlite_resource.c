/*
 * sqlite_resource.c - users, groups and memberships on SQLite: create, read, read-modify-write
 * and delete one resource, users by key, and the member rows of a group.
 *
 * Each write is one transaction on the writer connection (store_sqlite_begin/end), so a PUT or
 * PATCH reads and writes without an interleaved writer, and its change events are emitted only
 * after the COMMIT succeeded. Reads use a read connection and see committed state.
 */
#include "core/core.h"
#include "store/sqlite_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Uniqueness violations are the client's (409); anything else is ours (500). */
static enum gh_status store_sqlite_write_fail(sqlite3 *db, enum store_kind kind, const char *name,
                                              struct gh_err *err)
{
    int x = sqlite3_extended_errcode(db);
    if (x == SQLITE_CONSTRAINT_UNIQUE || x == SQLITE_CONSTRAINT_PRIMARYKEY) {
        GH_ERR(err, GH_E_CONFLICT, "%s \"%.100s\" is already taken",
               kind == STORE_USER ? "userName" : "displayName", name ? name : "");
        gh_err_set_scim_type(err, STORE_ST_UNIQUENESS);
        return GH_E_CONFLICT;
    }
    return store_sqlite_fail(db, err, "write");
}

static const char *const store_sqlite_get_sql[] = {
    "SELECT id, version, created, modified, body FROM users WHERE id = ?1",
    "SELECT id, version, created, modified, body FROM groups WHERE id = ?1",
};

static enum gh_status store_sqlite_get_on(sqlite3 *db, enum store_kind kind, const char *id,
                                          struct store_rec *out, struct gh_err *err)
{
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    int step;

    rc = store_sqlite_prepare(db, store_sqlite_get_sql[kind], &st, err);
    if (rc)
        goto out;
    store_sqlite_bind_text(st, 1, id);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        store_sqlite_row_rec(st, out);
    } else if (step == SQLITE_DONE) {
        rc = GH_ERR(err, GH_E_NOT_FOUND, "%s %.64s not found",
                    kind == STORE_USER ? "User" : "Group", id);
    } else {
        rc = store_sqlite_fail(db, err, "read");
    }
out:
    sqlite3_finalize(st);
    return rc;
}

/* Read one resource by id (a read connection; thread-safe). Caller clears *out. */
enum gh_status store_sqlite_get(struct store *base, enum store_kind kind, const char *id,
                                struct store_rec *out, struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
    struct store_sqlite_conn *c = store_sqlite_reader(s);
    enum gh_status rc = store_sqlite_get_on(c->db, kind, id, out, err);
    store_sqlite_release(c);
    return rc;
}

/* The first user with this userName (NOCASE index) or externalId (index); thread-safe. */
enum gh_status store_sqlite_user_find(struct store *base, enum store_user_key key,
                                      const char *value, struct store_rec *out, struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
    static const char *const sql[] = {
        "SELECT id, version, created, modified, body FROM users WHERE user_name = ?1",
        "SELECT id, version, created, modified, body FROM users WHERE external_id = ?1 "
        "ORDER BY rowid LIMIT 1",
    };
    struct store_sqlite_conn *c = store_sqlite_reader(s);
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    int step;

    rc = store_sqlite_prepare(c->db, sql[key == STORE_KEY_EXTERNAL_ID], &st, err);
    if (rc)
        goto out;
    store_sqlite_bind_text(st, 1, value);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        store_sqlite_row_rec(st, out);
    else if (step == SQLITE_DONE)
        rc = GH_ERR(err, GH_E_NOT_FOUND, "no such user");
    else
        rc = store_sqlite_fail(c->db, err, "read");
out:
    sqlite3_finalize(st);
    store_sqlite_release(c);
    return rc;
}

static enum gh_status store_sqlite_members_walk(struct store_sqlite *s, const char *sql,
                                                const char *id, store_member_fn fn, void *ctx,
                                                struct gh_err *err)
{
    struct store_sqlite_conn *c = store_sqlite_reader(s);
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    int step;

    rc = store_sqlite_prepare(c->db, sql, &st, err);
    if (rc)
        goto out;
    store_sqlite_bind_text(st, 1, id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        fn(ctx, (const char *)sqlite3_column_text(st, 0),
           sqlite3_column_int(st, 1) ? STORE_GROUP : STORE_USER,
           (const char *)sqlite3_column_text(st, 2));
    if (step != SQLITE_DONE)
        rc = store_sqlite_fail(c->db, err, "read members");
out:
    sqlite3_finalize(st);
    store_sqlite_release(c);
    return rc;
}

/* Every member of a group, in insertion order, with a display name (thread-safe). */
enum gh_status store_sqlite_group_members(struct store *base, const char *group_id,
                                          store_member_fn fn, void *ctx, struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
    return store_sqlite_members_walk(
        s,
        "SELECT m.member_id, m.member_type, "
        "  CASE m.member_type WHEN 0 THEN (SELECT COALESCE(u.display_name, u.user_name) "
        "    FROM users u WHERE u.id = m.member_id) "
        "  ELSE (SELECT g.display_name FROM groups g WHERE g.id = m.member_id) END "
        "FROM members m WHERE m.group_id = ?1",
        group_id, fn, ctx, err);
}

/* Every group a user (or group) is a direct member of (members_member index; thread-safe). */
enum gh_status store_sqlite_user_groups(struct store *base, const char *user_id, store_member_fn fn,
                                        void *ctx, struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
    return store_sqlite_members_walk(s,
                                     "SELECT g.id, 1, g.display_name FROM members m "
                                     "JOIN groups g ON g.id = m.group_id WHERE m.member_id = ?1",
                                     user_id, fn, ctx, err);
}

/* A member id names a user (0) or a group (1); GH_E_INVALID when it names neither. */
static enum gh_status store_sqlite_member_type(sqlite3 *db, sqlite3_stmt *st, const char *group_id,
                                               const char *id, int *out_type, struct gh_err *err)
{
    enum gh_status rc = GH_OK;
    int step;

    sqlite3_reset(st);
    store_sqlite_bind_text(st, 1, id);
    store_sqlite_bind_text(st, 2, group_id);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *out_type = sqlite3_column_int(st, 0);
    } else if (step == SQLITE_DONE) {
        /* A member must exist so that "groups of a user" is true (issue 5 decides access on
         * it). Entra only sends ids it got back from a create. */
        rc = GH_ERR(err, GH_E_INVALID, "member \"%.64s\" is not a user or group here", id);
        gh_err_set_scim_type(err, STORE_ST_INVALID_VALUE);
    } else {
        rc = store_sqlite_fail(db, err, "member lookup");
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
static enum gh_status store_sqlite_members_apply(sqlite3 *db, const char *group_id,
                                                 const struct store_members_change *m,
                                                 struct store_evq *q, int *out_changed,
                                                 struct gh_err *err)
{
    sqlite3_stmt *ins = NULL, *del = NULL, *look = NULL;
    enum gh_status rc = GH_OK;

    if (m == NULL)
        return GH_OK;
    q->members_of = group_id;
    if (m->add_count > 0 || m->check_count > 0) {
        rc = store_sqlite_prepare(db,
                                  "SELECT 0 FROM users WHERE id = ?1 UNION ALL "
                                  "SELECT 1 FROM groups WHERE id = ?1 AND id <> ?2",
                                  &look, err);
        if (rc)
            goto out;
    }
    for (size_t i = 0; i < m->check_count; i++) {
        int type = 0;
        rc = store_sqlite_member_type(db, look, group_id, m->check[i], &type, err);
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
        rc = store_sqlite_prepare(db,
                                  "DELETE FROM members WHERE group_id = ?1 AND member_id NOT IN "
                                  "(SELECT value FROM json_each(?2)) RETURNING member_id",
                                  &del, err);
        if (rc == GH_OK) {
            store_sqlite_bind_text(del, 1, group_id);
            store_sqlite_bind_text(del, 2, keep_json ? keep_json : "[]");
            while ((step = sqlite3_step(del)) == SQLITE_ROW) {
                (*out_changed)++;
                store_evq_removed(q, store_evq_strdup(q, store_sqlite_col(del, 0)));
            }
            if (step != SQLITE_DONE)
                rc = store_sqlite_fail(db, err, "write");
        }
        cJSON_free(keep_json);
        if (rc)
            goto out;
        sqlite3_finalize(del);
        del = NULL;
    }
    if (m->remove_count > 0) {
        rc = store_sqlite_prepare(db, "DELETE FROM members WHERE group_id = ?1 AND member_id = ?2",
                                  &del, err);
        if (rc)
            goto out;
        for (size_t i = 0; i < m->remove_count; i++) {
            sqlite3_reset(del);
            store_sqlite_bind_text(del, 1, group_id);
            store_sqlite_bind_text(del, 2, m->remove[i]);
            rc = store_sqlite_step_done(db, del, err);
            if (rc)
                goto out;
            if (sqlite3_changes(db) > 0) {
                (*out_changed)++;
                store_evq_removed(q, m->remove[i]);
            }
        }
    }
    if (m->add_count > 0) {
        rc = store_sqlite_prepare(db,
                                  "INSERT OR IGNORE INTO members(group_id, member_id, member_type) "
                                  "VALUES (?1, ?2, ?3)",
                                  &ins, err);
        if (rc)
            goto out;
        for (size_t i = 0; i < m->add_count; i++) {
            int type = 0;
            rc = store_sqlite_member_type(db, look, group_id, m->add[i], &type, err);
            if (rc)
                goto out;
            sqlite3_reset(ins);
            store_sqlite_bind_text(ins, 1, group_id);
            store_sqlite_bind_text(ins, 2, m->add[i]);
            sqlite3_bind_int(ins, 3, type);
            rc = store_sqlite_step_done(db, ins, err);
            if (rc)
                goto out;
            if (sqlite3_changes(db) > 0) {
                (*out_changed)++;
                store_evq_added(q, m->add[i]);
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
enum gh_status store_sqlite_create(struct store *base, enum store_kind kind,
                                   const struct store_row *row,
                                   const struct store_members_change *members,
                                   struct store_rec *out, struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
    static const char *const sql[] = {
        "INSERT INTO users(id, user_name, external_id, display_name, active, version, created, "
        "modified, body) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6, ?7)",
        "INSERT INTO groups(id, display_name, name_key, external_id, version, created, modified, "
        "body) VALUES (?1, ?2, gh_name_key(?2), ?3, 1, ?6, ?6, ?7)",
    };
    sqlite3 *db = s->writer.db;
    sqlite3_stmt *st = NULL;
    struct store_evq q = {0};
    enum gh_status rc;
    int changed = 0;

    memset(out, 0, sizeof(*out));
    store_new_id(out->id);
    rc = store_sqlite_begin(s, err);
    if (rc)
        return rc;
    store_now(out->created);
    memcpy(out->modified, out->created, sizeof(out->modified));
    out->version = 1;
    rc = store_sqlite_prepare(db, sql[kind], &st, err);
    if (rc)
        goto out;
    store_sqlite_bind_text(st, 1, out->id);
    store_sqlite_bind_text(st, 2, row->cols.name);
    store_sqlite_bind_text(st, 3, row->cols.external_id);
    if (kind == STORE_USER) {
        store_sqlite_bind_text(st, 4, row->cols.display);
        sqlite3_bind_int(st, 5, row->cols.active);
    }
    store_sqlite_bind_text(st, 6, out->created);
    store_sqlite_bind_text(st, 7, row->body);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = store_sqlite_write_fail(db, kind, row->cols.name, err);
        goto out;
    }
    store_evq_push(&q, kind == STORE_USER ? STORE_EV_USER_CREATED : STORE_EV_GROUP_CREATED,
                   out->id);
    if (kind == STORE_GROUP)
        rc = store_sqlite_members_apply(db, out->id, members, &q, &changed, err);
out:
    sqlite3_finalize(st);
    rc = store_sqlite_end(s, rc, err);
    if (rc == GH_OK) {
        out->body = gh_xstrdup(row->body);
        store_evq_emit(&s->base, &q, out->modified);
    } else {
        store_evq_discard(&q);
    }
    store_sqlite_unlock(s);
    return rc;
}

/*
 * Read-modify-write (PUT, PATCH) in one write transaction; see store.h. Caller clears *out.
 */
enum gh_status store_sqlite_update(struct store *base, enum store_kind kind, const char *id,
                                   store_update_fn fn, void *ctx, struct store_rec *out,
                                   struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
    static const char *const sql[] = {
        "UPDATE users SET user_name = ?2, external_id = ?3, display_name = ?4, active = ?5, "
        "body = ?6, version = version + 1, modified = ?7 WHERE id = ?1",
        "UPDATE groups SET display_name = ?2, name_key = gh_name_key(?2), external_id = ?3, "
        "body = ?6, version = version + 1, modified = ?7 WHERE id = ?1",
    };
    static const char *const bump[] = {
        "UPDATE users SET version = version + 1, modified = ?2 WHERE id = ?1",
        "UPDATE groups SET version = version + 1, modified = ?2 WHERE id = ?1",
    };
    sqlite3 *db = s->writer.db;
    sqlite3_stmt *st = NULL;
    struct store_rec cur = {0};
    struct store_row row = {0};
    struct store_members_change members = {0};
    struct store_evq q = {0};
    char now[STORE_TS_LEN + 1];
    enum gh_status rc;
    int changed = 0;
    bool body_changed = false, renamed = false;

    memset(out, 0, sizeof(*out));
    rc = store_sqlite_begin(s, err);
    if (rc)
        return rc;
    store_now(now);
    rc = store_sqlite_get_on(db, kind, id, &cur, err);
    if (rc)
        goto out;
    rc = fn(ctx, &cur, &row, &members, err);
    if (rc)
        goto out;
    if (row.body != NULL && strcmp(row.body, cur.body) != 0) {
        body_changed = true;
        if (kind == STORE_GROUP) { /* a rename is its own event: issue 5 keys policy on names */
            cJSON *old = cJSON_Parse(cur.body);
            const cJSON *dn = cJSON_GetObjectItemCaseSensitive(old, "displayName");
            renamed = !cJSON_IsString(dn) || row.cols.name == NULL ||
                      strcmp(dn->valuestring, row.cols.name) != 0;
            cJSON_Delete(old);
        }
        rc = store_sqlite_prepare(db, sql[kind], &st, err);
        if (rc)
            goto out;
        store_sqlite_bind_text(st, 1, id);
        store_sqlite_bind_text(st, 2, row.cols.name);
        store_sqlite_bind_text(st, 3, row.cols.external_id);
        if (kind == STORE_USER) {
            store_sqlite_bind_text(st, 4, row.cols.display);
            sqlite3_bind_int(st, 5, row.cols.active);
        }
        store_sqlite_bind_text(st, 6, row.body);
        store_sqlite_bind_text(st, 7, now);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = store_sqlite_write_fail(db, kind, row.cols.name, err);
            goto out;
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    if (kind == STORE_GROUP) {
        rc = store_sqlite_members_apply(db, id, &members, &q, &changed, err);
        if (rc)
            goto out;
    }
    if (!body_changed && changed > 0) {
        rc = store_sqlite_prepare(db, bump[kind], &st, err);
        if (rc)
            goto out;
        store_sqlite_bind_text(st, 1, id);
        store_sqlite_bind_text(st, 2, now);
        rc = store_sqlite_step_done(db, st, err);
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
        store_evq_push(&q,
                       kind == STORE_USER ? STORE_EV_USER_CHANGED
                       : renamed          ? STORE_EV_GROUP_RENAMED
                                          : STORE_EV_GROUP_CHANGED,
                       out->id);
    q.members_of = out->id;
out:
    sqlite3_finalize(st);
    store_rec_clear(&cur);
    rc = store_sqlite_end(s, rc, err);
    if (rc == GH_OK) {
        store_evq_emit(&s->base, &q, out->modified);
    } else {
        store_rec_clear(out);
        store_evq_discard(&q);
    }
    store_sqlite_unlock(s);
    return rc;
}

/*
 * Hard delete, with the resource's membership rows (as a group: its own rows go by ON DELETE
 * CASCADE; as a member: rows naming it). Thread-safe.
 */
enum gh_status store_sqlite_delete(struct store *base, enum store_kind kind, const char *id,
                                   int64_t expect_version, struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
    static const char *const sql[] = {
        "DELETE FROM users WHERE id = ?1",
        "DELETE FROM groups WHERE id = ?1",
    };
    sqlite3 *db = s->writer.db;
    sqlite3_stmt *st = NULL;
    struct store_rec cur = {0};
    struct store_evq q = {0};
    char now[STORE_TS_LEN + 1];
    enum gh_status rc;

    rc = store_sqlite_begin(s, err);
    if (rc)
        return rc;
    store_now(now);
    rc = store_sqlite_get_on(db, kind, id, &cur, err);
    if (rc)
        goto out;
    if (expect_version >= 0 && cur.version != expect_version) {
        rc = GH_ERR(err, GH_E_PRECONDITION, "If-Match does not match the current version");
        goto out;
    }
    rc = store_sqlite_prepare(db, "DELETE FROM members WHERE member_id = ?1", &st, err);
    if (rc)
        goto out;
    store_sqlite_bind_text(st, 1, id);
    rc = store_sqlite_step_done(db, st, err);
    if (rc)
        goto out;
    sqlite3_finalize(st);
    rc = store_sqlite_prepare(db, sql[kind], &st, err);
    if (rc)
        goto out;
    store_sqlite_bind_text(st, 1, id);
    rc = store_sqlite_step_done(db, st, err);
    if (rc)
        goto out;
    store_evq_push(&q, kind == STORE_USER ? STORE_EV_USER_DELETED : STORE_EV_GROUP_DELETED, id);
out:
    sqlite3_finalize(st);
    store_rec_clear(&cur);
    rc = store_sqlite_end(s, rc, err);
    if (rc == GH_OK)
        store_evq_emit(&s->base, &q, now);
    store_sqlite_unlock(s);
    return rc;
}
