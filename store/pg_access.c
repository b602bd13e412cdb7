/*
 * pg_access.c - access groups, their links to IdP groups, and the facts a decision reads
 * (subjects, cut-offs, tombstones) on PostgreSQL; the same contract as sqlite_access.c.
 *
 * Links, cut-offs and tombstones are kept by the plpgsql triggers of pg_schema.c, in the
 * transaction of the write that causes them (SCIM, the policy file, the admin API). Since the
 * writers of every replica are serialised by the advisory lock, a trigger's "the only group
 * with this key" count cannot race another replica's write.
 */
#include "core/core.h"
#include "store/pg_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum gh_status store_pg_ag_upsert(struct store_pg_conn *c,
                                         const struct store_access_group_def *d, const char *source,
                                         const char *now, struct gh_err *err)
{
    const char *p[] = {d->key, d->name, source, d->grants, now};
    return store_pg_exec(c,
                         "INSERT INTO access_groups(key, name, source, grants, created) "
                         "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO UPDATE SET "
                         "name = EXCLUDED.name, source = EXCLUDED.source, "
                         "grants = EXCLUDED.grants",
                         5, p, NULL, err);
}

/* See store.h. Upsert keeps rows (and so links) of keys that stay declared; the file rows no
 * longer declared go one at a time in SQLite's order (its table scan: creation order). */
enum gh_status store_pg_access_groups_sync(struct store *base,
                                           const struct store_access_group_def *defs, size_t n,
                                           struct gh_err *err)
{
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = &s->writer;
    cJSON *keys = cJSON_CreateArray();
    char now[STORE_TS_LEN + 1];
    char *keys_json = NULL;
    PGresult *res = NULL;
    enum gh_status rc;

    rc = store_pg_begin(s, err);
    if (rc) {
        cJSON_Delete(keys);
        return rc;
    }
    store_now(now);
    for (size_t i = 0; rc == GH_OK && i < n; i++) {
        rc = store_pg_ag_upsert(c, &defs[i], "file", now, err);
        cJSON_AddItemToArray(keys, cJSON_CreateString(defs[i].key));
    }
    if (rc)
        goto out;
    keys_json = cJSON_PrintUnformatted(keys);
    {
        const char *p[] = {keys_json};
        rc = store_pg_exec(c,
                           "SELECT key FROM access_groups WHERE source = 'file' AND key NOT IN "
                           "(SELECT jsonb_array_elements_text($1::jsonb)) ORDER BY seq",
                           1, p, &res, err);
    }
    for (int i = 0; rc == GH_OK && i < PQntuples(res); i++) {
        const char *p[] = {PQgetvalue(res, i, 0)};
        rc = store_pg_exec(c, "DELETE FROM access_groups WHERE key = $1", 1, p, NULL, err);
    }
out:
    PQclear(res);
    cJSON_free(keys_json);
    cJSON_Delete(keys);
    rc = store_pg_end(s, rc, err);
    store_pg_unlock(s);
    return rc;
}

/* See store.h. */
enum gh_status store_pg_access_group_create(struct store *base,
                                            const struct store_access_group_def *def,
                                            struct gh_err *err)
{
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = &s->writer;
    char now[STORE_TS_LEN + 1];
    const char *p[] = {def->key};
    PGresult *res = NULL;
    enum gh_status rc;

    rc = store_pg_begin(s, err);
    if (rc)
        return rc;
    store_now(now);
    rc = store_pg_exec(c, "SELECT name FROM access_groups WHERE key = $1", 1, p, &res, err);
    if (rc)
        goto out;
    if (PQntuples(res) > 0) {
        rc = GH_ERR(err, GH_E_CONFLICT, "access group \"%.200s\" already exists",
                    PQgetvalue(res, 0, 0));
        goto out;
    }
    rc = store_pg_ag_upsert(c, def, "admin", now, err);
out:
    PQclear(res);
    rc = store_pg_end(s, rc, err);
    store_pg_unlock(s);
    return rc;
}

/* Inside a write transaction: the access group key exists (GH_E_NOT_FOUND) and was created
 * through the admin API (GH_E_CONFLICT for a file-declared one, telling the operator to `verb` it
 * in the policy file). The one check before an admin delete or update. */
static enum gh_status store_pg_access_admin_owned(struct store_pg_conn *c, const char *key,
                                                  const char *verb, struct gh_err *err)
{
    const char *p[] = {key};
    PGresult *res = NULL;
    enum gh_status rc;

    rc = store_pg_exec(c, "SELECT source FROM access_groups WHERE key = $1", 1, p, &res, err);
    if (rc == GH_OK && PQntuples(res) == 0)
        rc = GH_ERR(err, GH_E_NOT_FOUND, "no such access group");
    else if (rc == GH_OK && strcmp(PQgetvalue(res, 0, 0), "admin") != 0)
        rc = GH_ERR(err, GH_E_CONFLICT, "access group is declared in the policy file: %s it there",
                    verb);
    PQclear(res);
    return rc;
}

/* See store.h. */
enum gh_status store_pg_access_group_delete(struct store *base, const char *key, struct gh_err *err)
{
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = &s->writer;
    const char *p[] = {key};
    enum gh_status rc;

    rc = store_pg_begin(s, err);
    if (rc)
        return rc;
    rc = store_pg_access_admin_owned(c, p[0], "remove", err);
    if (rc)
        goto out;
    rc = store_pg_exec(c, "DELETE FROM access_groups WHERE key = $1", 1, p, NULL, err);
out:
    rc = store_pg_end(s, rc, err);
    store_pg_unlock(s);
    return rc;
}

/* See store.h. The key stays, so the link row (keyed by it) is untouched. */
enum gh_status store_pg_access_group_update(struct store *base,
                                            const struct store_access_group_def *def,
                                            struct gh_err *err)
{
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = &s->writer;
    const char *p[] = {def->key, def->name, def->grants};
    enum gh_status rc;

    rc = store_pg_begin(s, err);
    if (rc)
        return rc;
    rc = store_pg_access_admin_owned(c, p[0], "change", err);
    if (rc)
        goto out;
    rc = store_pg_exec(c, "UPDATE access_groups SET name = $2, grants = $3 WHERE key = $1", 3, p,
                       NULL, err);
out:
    rc = store_pg_end(s, rc, err);
    store_pg_unlock(s);
    return rc;
}

/* See store.h. */
enum gh_status store_pg_access_groups(struct store *base, store_access_group_fn fn, void *ctx,
                                      struct gh_err *err)
{
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = store_pg_reader(s);
    PGresult *res = NULL;
    enum gh_status rc;

    rc = store_pg_exec_first(s, c,
                             "SELECT a.key, a.name, a.source, a.grants, a.created, l.group_id, "
                             "g.display_name, l.linked FROM access_groups a "
                             "LEFT JOIN access_group_links l ON l.key = a.key "
                             "LEFT JOIN groups g ON g.id = l.group_id ORDER BY a.key",
                             0, NULL, &res, err);
    for (int i = 0; rc == GH_OK && i < PQntuples(res); i++) {
        struct store_access_group ag = {
            store_pg_val(res, i, 0), store_pg_val(res, i, 1), store_pg_val(res, i, 2),
            store_pg_val(res, i, 3), store_pg_val(res, i, 4), store_pg_val(res, i, 5),
            store_pg_val(res, i, 6), store_pg_val(res, i, 7),
        };
        fn(ctx, &ag);
    }
    PQclear(res);
    store_pg_release(c);
    return rc;
}

/* See store.h. In creation order. */
enum gh_status store_pg_group_names(struct store *base, store_group_name_fn fn, void *ctx,
                                    struct gh_err *err)
{
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = store_pg_reader(s);
    PGresult *res = NULL;
    enum gh_status rc;

    rc = store_pg_exec_first(s, c, "SELECT id, display_name FROM groups ORDER BY seq", 0, NULL,
                             &res, err);
    for (int i = 0; rc == GH_OK && i < PQntuples(res); i++)
        fn(ctx, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
    PQclear(res);
    store_pg_release(c);
    return rc;
}

/* See store.h. userName and tombstones compare ASCII case-insensitively (SQLite's NOCASE). */
enum gh_status store_pg_subject_find(struct store *base, enum store_user_key key, const char *value,
                                     struct store_subject *out, struct gh_err *err)
{
    static const char *const sql[] = {
        "SELECT u.id, u.user_name, u.external_id, u.active, COALESCE(c.at, 0), "
        "  (SELECT COALESCE(max(t.at), 0) FROM user_tombstones t WHERE t.kind = 0 "
        "   AND lower(t.value COLLATE \"C\") = lower($1::text COLLATE \"C\")), 1 "
        "FROM (SELECT 1) one LEFT JOIN users u "
        "  ON lower(u.user_name COLLATE \"C\") = lower($1::text COLLATE \"C\") "
        "LEFT JOIN cutoffs c ON c.user_id = u.id AND c.key = ''",
        "SELECT u.id, u.user_name, u.external_id, u.active, COALESCE(c.at, 0), "
        "  (SELECT COALESCE(max(t.at), 0) FROM user_tombstones t WHERE t.kind = 1 "
        "   AND lower(t.value COLLATE \"C\") = lower($1::text COLLATE \"C\")), "
        "  (SELECT count(*) FROM users u2 WHERE u2.external_id = $1) "
        "FROM (SELECT 1) one LEFT JOIN (SELECT * FROM users WHERE external_id = $1 "
        "  ORDER BY seq LIMIT 1) u ON true "
        "LEFT JOIN cutoffs c ON c.user_id = u.id AND c.key = ''",
    };
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = store_pg_reader(s);
    const char *p[] = {value};
    PGresult *res = NULL;
    enum gh_status rc;
    int64_t cut, tomb;

    memset(out, 0, sizeof(*out));
    rc = store_pg_exec_first(s, c, sql[key == STORE_KEY_EXTERNAL_ID], 1, p, &res, err);
    if (rc)
        goto out;
    if (PQntuples(res) != 1) {
        rc = GH_ERR(err, GH_E_STORE, "postgresql: read subject: no row");
        goto out;
    }
    cut = store_pg_int(res, 0, 4);
    tomb = store_pg_int(res, 0, 5);
    out->not_before = cut > tomb ? cut : tomb;
    if (PQgetisnull(res, 0, 0)) {
        rc = GH_ERR(err, GH_E_NOT_FOUND, "no such user");
        goto out;
    }
    snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(res, 0, 0));
    out->user_name = gh_xstrdup(PQgetvalue(res, 0, 1));
    if (!PQgetisnull(res, 0, 2))
        out->external_id = gh_xstrdup(PQgetvalue(res, 0, 2));
    out->active = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    out->matches = (int)store_pg_int(res, 0, 6);
out:
    PQclear(res);
    store_pg_release(c);
    return rc;
}

/* See store.h. Nested groups do not grant (Entra provisions one level only). */
enum gh_status store_pg_subject_access(struct store *base, const char *user_id, store_access_fn fn,
                                       void *ctx, struct gh_err *err)
{
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = store_pg_reader(s);
    const char *p[] = {user_id};
    PGresult *res = NULL;
    enum gh_status rc;

    rc = store_pg_exec_first(s, c,
                             "SELECT l.key, g.display_name, COALESCE(ct.at, 0) FROM members m "
                             "JOIN access_group_links l ON l.group_id = m.group_id "
                             "JOIN groups g ON g.id = m.group_id "
                             "LEFT JOIN cutoffs ct ON ct.user_id = m.member_id AND ct.key = l.key "
                             "WHERE m.member_id = $1 AND m.member_type = 0 ORDER BY m.group_id",
                             1, p, &res, err);
    for (int i = 0; rc == GH_OK && i < PQntuples(res); i++)
        fn(ctx, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), store_pg_int(res, i, 2));
    PQclear(res);
    store_pg_release(c);
    return rc;
}
