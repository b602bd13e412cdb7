/*
 * pg_resource.c - users, groups and memberships on PostgreSQL: create, read, read-modify-write
 * and delete one resource, users by key, the member rows of a group, and list pages (the SQL of
 * which pg_query.c compiles).
 *
 * The same contract, statement for statement, as sqlite_resource.c: each write is one
 * transaction on the writer connection (store_pg_begin/end, under the writers' advisory lock),
 * its change events are emitted only after COMMIT succeeded, a retried request changes nothing
 * and keeps the version. Reads use a read connection and see committed state.
 */
#include "core/core.h"
#include "store/pg_int.h"
#include "store/pg_query_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A unique index refused the row (SQLSTATE 23505): the client's (409); anything else is ours. */
static enum gh_status store_pg_write_fail(struct store_pg_conn *c, enum gh_status rc,
                                          enum store_kind kind, const char *name,
                                          struct gh_err *err)
{
    if (strcmp(c->sqlstate, "23505") == 0) {
        gh_err_clear(err);
        GH_ERR(err, GH_E_CONFLICT, "%s \"%.100s\" is already taken",
               kind == STORE_USER ? "userName" : "displayName", name ? name : "");
        gh_err_set_scim_type(err, STORE_ST_UNIQUENESS);
        return GH_E_CONFLICT;
    }
    return rc;
}

static const char *const store_pg_get_sql[] = {
    "SELECT id, version, created, modified, body FROM users WHERE id = $1",
    "SELECT id, version, created, modified, body FROM groups WHERE id = $1",
};

/* Read one resource on c (a reader, or the writer inside its transaction). */
static enum gh_status store_pg_get_on(struct store_pg *s, struct store_pg_conn *c, bool first,
                                      enum store_kind kind, const char *id, struct store_rec *out,
                                      struct gh_err *err)
{
    const char *p[] = {id};
    PGresult *res = NULL;
    enum gh_status rc;

    rc = first ? store_pg_exec_first(s, c, store_pg_get_sql[kind], 1, p, &res, err)
               : store_pg_exec(c, store_pg_get_sql[kind], 1, p, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) == 1)
        store_pg_row_rec(res, 0, out);
    else
        rc = GH_ERR(err, GH_E_NOT_FOUND, "%s %.64s not found",
                    kind == STORE_USER ? "User" : "Group", id);
    PQclear(res);
    return rc;
}

/* Read one resource by id (a read connection; thread-safe). Caller clears *out. */
enum gh_status store_pg_get(struct store *base, enum store_kind kind, const char *id,
                            struct store_rec *out, struct gh_err *err)
{
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = store_pg_reader(s);
    enum gh_status rc = store_pg_get_on(s, c, true, kind, id, out, err);
    store_pg_release(c);
    return rc;
}

/* The first user with this userName (ASCII case-insensitive, its unique index) or externalId
 * (exact; creation order); thread-safe. */
enum gh_status store_pg_user_find(struct store *base, enum store_user_key key, const char *value,
                                  struct store_rec *out, struct gh_err *err)
{
    static const char *const sql[] = {
        "SELECT id, version, created, modified, body FROM users "
        "WHERE lower(user_name COLLATE \"C\") = lower($1::text COLLATE \"C\")",
        "SELECT id, version, created, modified, body FROM users WHERE external_id = $1 "
        "ORDER BY seq LIMIT 1",
    };
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = store_pg_reader(s);
    const char *p[] = {value};
    PGresult *res = NULL;
    enum gh_status rc;

    rc = store_pg_exec_first(s, c, sql[key == STORE_KEY_EXTERNAL_ID], 1, p, &res, err);
    if (rc == GH_OK && PQntuples(res) == 1)
        store_pg_row_rec(res, 0, out);
    else if (rc == GH_OK)
        rc = GH_ERR(err, GH_E_NOT_FOUND, "no such user");
    PQclear(res);
    store_pg_release(c);
    return rc;
}

static enum gh_status store_pg_members_walk(struct store_pg *s, const char *sql, const char *id,
                                            store_member_fn fn, void *ctx, struct gh_err *err)
{
    struct store_pg_conn *c = store_pg_reader(s);
    const char *p[] = {id};
    PGresult *res = NULL;
    enum gh_status rc;

    rc = store_pg_exec_first(s, c, sql, 1, p, &res, err);
    for (int i = 0; rc == GH_OK && i < PQntuples(res); i++)
        fn(ctx, PQgetvalue(res, i, 0),
           strcmp(PQgetvalue(res, i, 1), "0") ? STORE_GROUP : STORE_USER, store_pg_val(res, i, 2));
    PQclear(res);
    store_pg_release(c);
    return rc;
}

/* Every member of a group with a display name, in SQLite's order (member id, bytewise). */
enum gh_status store_pg_group_members(struct store *base, const char *group_id, store_member_fn fn,
                                      void *ctx, struct gh_err *err)
{
    return store_pg_members_walk(
        store_pg_of(base),
        "SELECT m.member_id, m.member_type, "
        "  CASE m.member_type WHEN 0 THEN (SELECT COALESCE(u.display_name, u.user_name) "
        "    FROM users u WHERE u.id = m.member_id) "
        "  ELSE (SELECT g.display_name FROM groups g WHERE g.id = m.member_id) END "
        "FROM members m WHERE m.group_id = $1 ORDER BY m.member_id",
        group_id, fn, ctx, err);
}

/* Every group a user (or group) is a direct member of, by group id (thread-safe). */
enum gh_status store_pg_user_groups(struct store *base, const char *user_id, store_member_fn fn,
                                    void *ctx, struct gh_err *err)
{
    return store_pg_members_walk(store_pg_of(base),
                                 "SELECT g.id, 1, g.display_name FROM members m "
                                 "JOIN groups g ON g.id = m.group_id WHERE m.member_id = $1 "
                                 "ORDER BY m.group_id",
                                 user_id, fn, ctx, err);
}

/* A member must exist so that "groups of a user" is true (issue 5 decides access on it). Entra
 * only sends ids it got back from a create. */
static enum gh_status store_pg_unknown_member(const char *id, struct gh_err *err)
{
    GH_ERR(err, GH_E_INVALID, "member \"%.64s\" is not a user or group here", id);
    gh_err_set_scim_type(err, STORE_ST_INVALID_VALUE);
    return GH_E_INVALID;
}

/* A member id names a user or another group; GH_E_INVALID when it names neither. */
static enum gh_status store_pg_member_check(struct store_pg_conn *c, const char *group_id,
                                            const char *id, struct gh_err *err)
{
    const char *p[] = {id, group_id};
    PGresult *res = NULL;
    enum gh_status rc;

    rc = store_pg_exec(c,
                       "SELECT 0 FROM users WHERE id = $1 UNION ALL "
                       "SELECT 1 FROM groups WHERE id = $1 AND id <> $2",
                       2, p, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) == 0)
        rc = store_pg_unknown_member(id, err);
    PQclear(res);
    return rc;
}

/*
 * Apply a membership change inside the current write transaction (sqlite_resource.c's
 * store_sqlite_members_apply, the same steps): checks, a replace dropping only the members not
 * in the new list (gh_members_replace, one row at a time by member id), removes, then adds
 * (ON CONFLICT DO NOTHING). *out_changed counts rows actually written; the ids go to q.
 */
static enum gh_status store_pg_members_apply(struct store_pg_conn *c, const char *group_id,
                                             const struct store_members_change *m,
                                             struct store_evq *q, int *out_changed,
                                             struct gh_err *err)
{
    enum gh_status rc = GH_OK;
    PGresult *res = NULL;

    if (m == NULL)
        return GH_OK;
    q->members_of = group_id;
    for (size_t i = 0; i < m->check_count; i++) {
        rc = store_pg_member_check(c, group_id, m->check[i], err);
        if (rc)
            return rc;
    }
    if (m->replace) {
        cJSON *keep = cJSON_CreateArray();
        char *keep_json;
        for (size_t i = 0; i < m->add_count; i++)
            cJSON_AddItemToArray(keep, cJSON_CreateString(m->add[i]));
        keep_json = cJSON_PrintUnformatted(keep);
        cJSON_Delete(keep);
        {
            const char *p[] = {group_id, keep_json ? keep_json : "[]"};
            rc = store_pg_exec(c, "SELECT gh_members_replace($1, $2::jsonb)", 2, p, &res, err);
        }
        cJSON_free(keep_json);
        if (rc)
            return rc;
        for (int i = 0; i < PQntuples(res); i++) {
            (*out_changed)++;
            store_evq_removed(q, store_evq_strdup(q, PQgetvalue(res, i, 0)));
        }
        if (PQntuples(res) > 0)
            c->wrote = true;
        PQclear(res);
        res = NULL;
    }
    for (size_t i = 0; i < m->remove_count; i++) {
        const char *p[] = {group_id, m->remove[i]};
        rc = store_pg_exec(c, "DELETE FROM members WHERE group_id = $1 AND member_id = $2", 2, p,
                           &res, err);
        if (rc)
            return rc;
        if (store_pg_changed(res) > 0) {
            (*out_changed)++;
            store_evq_removed(q, m->remove[i]);
        }
        PQclear(res);
        res = NULL;
    }
    for (size_t i = 0; i < m->add_count; i++) {
        /* one round trip: look the id up and insert the row when it names something */
        const char *p[] = {group_id, m->add[i]};
        rc = store_pg_exec(c,
                           "WITH t AS (SELECT 0 AS type FROM users WHERE id = $2 UNION ALL "
                           "  SELECT 1 FROM groups WHERE id = $2 AND id <> $1 LIMIT 1), "
                           "ins AS (INSERT INTO members(group_id, member_id, member_type) "
                           "  SELECT $1, $2, type FROM t ON CONFLICT DO NOTHING RETURNING 1) "
                           "SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM ins)",
                           2, p, &res, err);
        if (rc)
            return rc;
        if (store_pg_int(res, 0, 0) == 0) {
            PQclear(res);
            return store_pg_unknown_member(m->add[i], err);
        }
        if (store_pg_int(res, 0, 1) > 0) {
            c->wrote = true;
            (*out_changed)++;
            store_evq_added(q, m->add[i]);
        }
        PQclear(res);
        res = NULL;
    }
    return GH_OK;
}

/* store_name_key(name) in a fresh buffer (caller frees; NULL for NULL). */
static char *store_pg_name_key(const char *name)
{
    size_t cap;
    char *key;
    if (name == NULL)
        return NULL;
    cap = strlen(name) + 1;
    key = gh_xmalloc(cap);
    store_name_key(name, key, cap);
    return key;
}

/*
 * Create a resource with a fresh id, in one transaction with its initial members. Thread-safe.
 * Caller clears *out.
 */
enum gh_status store_pg_create(struct store *base, enum store_kind kind,
                               const struct store_row *row,
                               const struct store_members_change *members, struct store_rec *out,
                               struct gh_err *err)
{
    static const char *const sql[] = {
        "INSERT INTO users(id, user_name, external_id, display_name, active, version, created, "
        "modified, body) VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $7)",
        "INSERT INTO groups(id, display_name, name_key, external_id, version, created, modified, "
        "body) VALUES ($1, $2, $3, $4, 1, $5, $5, $6)",
    };
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = &s->writer;
    struct store_evq q = {0};
    char *key = NULL;
    enum gh_status rc;
    int changed = 0;

    memset(out, 0, sizeof(*out));
    store_new_id(out->id);
    rc = store_pg_begin(s, err);
    if (rc)
        return rc;
    store_now(out->created);
    memcpy(out->modified, out->created, sizeof(out->modified));
    out->version = 1;
    if (kind == STORE_GROUP)
        key = store_pg_name_key(row->cols.name);
    if (kind == STORE_USER) {
        const char *p[] = {out->id,
                           row->cols.name,
                           row->cols.external_id,
                           row->cols.display,
                           row->cols.active ? "true" : "false",
                           out->created,
                           row->body};
        rc = store_pg_exec(c, sql[kind], 7, p, NULL, err);
    } else {
        const char *p[] = {out->id,      row->cols.name, key, row->cols.external_id,
                           out->created, row->body};
        rc = store_pg_exec(c, sql[kind], 6, p, NULL, err);
    }
    if (rc) {
        rc = store_pg_write_fail(c, rc, kind, row->cols.name, err);
        goto out;
    }
    store_evq_push(&q, kind == STORE_USER ? STORE_EV_USER_CREATED : STORE_EV_GROUP_CREATED,
                   out->id);
    if (kind == STORE_GROUP)
        rc = store_pg_members_apply(c, out->id, members, &q, &changed, err);
out:
    free(key);
    rc = store_pg_end(s, rc, err);
    if (rc == GH_OK) {
        out->body = gh_xstrdup(row->body);
        store_evq_emit(&s->base, &q, out->modified);
    } else {
        store_evq_discard(&q);
    }
    store_pg_unlock(s);
    return rc;
}

/*
 * Read-modify-write (PUT, PATCH) in one write transaction; see store.h. Caller clears *out.
 */
enum gh_status store_pg_update(struct store *base, enum store_kind kind, const char *id,
                               store_update_fn fn, void *ctx, struct store_rec *out,
                               struct gh_err *err)
{
    static const char *const sql[] = {
        "UPDATE users SET user_name = $2, external_id = $3, display_name = $4, active = $5, "
        "body = $6, version = version + 1, modified = $7 WHERE id = $1",
        "UPDATE groups SET display_name = $2, name_key = $3, external_id = $4, "
        "body = $5, version = version + 1, modified = $6 WHERE id = $1",
    };
    static const char *const bump[] = {
        "UPDATE users SET version = version + 1, modified = $2 WHERE id = $1",
        "UPDATE groups SET version = version + 1, modified = $2 WHERE id = $1",
    };
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = &s->writer;
    struct store_rec cur = {0};
    struct store_row row = {0};
    struct store_members_change members = {0};
    struct store_evq q = {0};
    char now[STORE_TS_LEN + 1];
    char *key = NULL;
    enum gh_status rc;
    int changed = 0;
    bool body_changed = false, renamed = false;

    memset(out, 0, sizeof(*out));
    rc = store_pg_begin(s, err);
    if (rc)
        return rc;
    store_now(now);
    rc = store_pg_get_on(s, c, false, kind, id, &cur, err);
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
            key = store_pg_name_key(row.cols.name);
        }
        if (kind == STORE_USER) {
            const char *p[] = {id,
                               row.cols.name,
                               row.cols.external_id,
                               row.cols.display,
                               row.cols.active ? "true" : "false",
                               row.body,
                               now};
            rc = store_pg_exec(c, sql[kind], 7, p, NULL, err);
        } else {
            const char *p[] = {id, row.cols.name, key, row.cols.external_id, row.body, now};
            rc = store_pg_exec(c, sql[kind], 6, p, NULL, err);
        }
        if (rc) {
            rc = store_pg_write_fail(c, rc, kind, row.cols.name, err);
            goto out;
        }
    }
    if (kind == STORE_GROUP) {
        rc = store_pg_members_apply(c, id, &members, &q, &changed, err);
        if (rc)
            goto out;
    }
    if (!body_changed && changed > 0) {
        const char *p[] = {id, now};
        rc = store_pg_exec(c, bump[kind], 2, p, NULL, err);
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
    free(key);
    store_rec_clear(&cur);
    rc = store_pg_end(s, rc, err);
    if (rc == GH_OK) {
        store_evq_emit(&s->base, &q, out->modified);
    } else {
        store_rec_clear(out);
        store_evq_discard(&q);
    }
    store_pg_unlock(s);
    return rc;
}

/*
 * Hard delete, with the resource's membership rows: as a member, the rows naming it (one at a
 * time by group, gh_members_delete_of); as a group, its own rows go with it (its BEFORE DELETE
 * trigger, pg_schema.c). Thread-safe.
 */
enum gh_status store_pg_delete(struct store *base, enum store_kind kind, const char *id,
                               int64_t expect_version, struct gh_err *err)
{
    static const char *const sql[] = {
        "DELETE FROM users WHERE id = $1",
        "DELETE FROM groups WHERE id = $1",
    };
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = &s->writer;
    struct store_rec cur = {0};
    struct store_evq q = {0};
    char now[STORE_TS_LEN + 1];
    const char *p[] = {id};
    enum gh_status rc;

    rc = store_pg_begin(s, err);
    if (rc)
        return rc;
    store_now(now);
    rc = store_pg_get_on(s, c, false, kind, id, &cur, err);
    if (rc)
        goto out;
    if (expect_version >= 0 && cur.version != expect_version) {
        rc = GH_ERR(err, GH_E_PRECONDITION, "If-Match does not match the current version");
        goto out;
    }
    rc = store_pg_exec(c, "SELECT gh_members_delete_of($1)", 1, p, NULL, err);
    if (rc)
        goto out;
    rc = store_pg_exec(c, sql[kind], 1, p, NULL, err);
    if (rc)
        goto out;
    store_evq_push(&q, kind == STORE_USER ? STORE_EV_USER_DELETED : STORE_EV_GROUP_DELETED, id);
out:
    store_rec_clear(&cur);
    rc = store_pg_end(s, rc, err);
    if (rc == GH_OK)
        store_evq_emit(&s->base, &q, now);
    store_pg_unlock(s);
    return rc;
}

/*
 * One page of a list and the total of its filter: the statements pg_query.c compiles
 * (store_pg_list_sql), run on one read connection in one REPEATABLE READ READ ONLY
 * transaction so totalResults and the page agree. Caller clears *out.
 */
enum gh_status store_pg_list(struct store *base, enum store_kind kind, const struct store_query *q,
                             struct store_rec_list *out, struct gh_err *err)
{
    struct store_pg *s = store_pg_of(base);
    struct store_pg_list_sql sql = {0};
    struct gh_arena *a = gh_arena_new();
    struct store_pg_conn *c = NULL;
    PGresult *res = NULL;
    enum gh_status rc;

    memset(out, 0, sizeof(*out));
    rc = store_pg_list_sql(kind, q, a, &sql, err);
    if (rc)
        goto out;
    c = store_pg_reader(s);
    rc = store_pg_exec_first(s, c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, NULL,
                             err);
    if (rc)
        goto out;
    rc = store_pg_exec(c, sql.count_sql, sql.nparams, sql.params, &res, err);
    if (rc)
        goto out;
    out->total = store_pg_int(res, 0, 0);
    PQclear(res);
    res = NULL;
    if (q->count <= 0 || out->total < q->start_index)
        goto out; /* a count-only query, or past the end */
    rc = store_pg_exec(c, sql.page_sql, sql.nparams, sql.params, &res, err);
    if (rc)
        goto out;
    if (PQntuples(res) > 0) {
        out->items = gh_xcalloc((size_t)PQntuples(res), sizeof(*out->items));
        for (int i = 0; i < PQntuples(res); i++)
            store_pg_row_rec(res, i, &out->items[out->count++]);
    }
out:
    PQclear(res);
    if (c != NULL) {
        store_pg_exec(c, "COMMIT", 0, NULL, NULL, NULL);
        store_pg_release(c);
    }
    if (rc)
        store_rec_list_clear(out);
    gh_arena_free(a);
    return rc;
}
