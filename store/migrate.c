/*
 * migrate.c - `gatehouse migrate-store`: copy a SQLite store into an empty PostgreSQL one and
 * prove the copy.
 *
 * The source is first opened as a store (which brings its schema to the current version), then
 * read through its own file read-only, table by table in its rows' order, and handed to the
 * target backend's import (one transaction: all or nothing). The proof reads the target back
 * through two paths the copy did not use: a fresh decision index loaded from it must count the
 * same users, groups, user memberships, links, cut-offs and tombstones as the source tables,
 * and every user and group must come back by id with the source's version (its ETag) and body.
 */
#include "core/core.h"
#include "store/index_int.h"
#include "store/sqlite_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct store_migrate_src {
    sqlite3 *db;
    sqlite3_stmt *st;
    int ncols;
};

static int store_migrate_next(void *ctx, const char **vals, struct gh_err *err)
{
    struct store_migrate_src *m = ctx;
    int step = sqlite3_step(m->st);
    if (step == SQLITE_DONE)
        return 0;
    if (step != SQLITE_ROW) {
        store_sqlite_fail(m->db, err, "read source");
        return -1;
    }
    for (int i = 0; i < m->ncols; i++)
        vals[i] = sqlite3_column_type(m->st, i) == SQLITE_NULL
                      ? NULL
                      : (const char *)sqlite3_column_text(m->st, i);
    return 1;
}

/* The tables, their columns (same names on both backends) and the source's order. */
struct store_migrate_def {
    const char *name;
    const char *cols[9];
    size_t ncols;
    const char *order;
};

static const struct store_migrate_def store_migrate_defs[] = {
    {"users",
     {"id", "user_name", "external_id", "display_name", "active", "version", "created", "modified",
      "body"},
     9,
     "rowid"},
    {"groups",
     {"id", "display_name", "name_key", "external_id", "version", "created", "modified", "body"},
     8,
     "rowid"},
    {"members", {"group_id", "member_id", "member_type"}, 3, "group_id, member_id"},
    {"access_groups", {"key", "name", "source", "grants", "created"}, 5, "rowid"},
    {"access_group_links", {"key", "group_id", "linked"}, 3, "rowid"},
    {"cutoffs", {"user_id", "key", "at"}, 3, "user_id, key"},
    {"user_tombstones", {"kind", "value", "at"}, 3, "kind, value"},
};
#define STORE_MIGRATE_N (sizeof(store_migrate_defs) / sizeof(store_migrate_defs[0]))

static int64_t store_migrate_count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Every user and group of the source read back from the target by id: same version, same body. */
static enum gh_status store_migrate_check_rows(sqlite3 *db, struct store *dst,
                                               struct store_migrate_report *rep, struct gh_err *err)
{
    static const char *const sql[] = {"SELECT id, version, body FROM users",
                                      "SELECT id, version, body FROM groups"};
    enum gh_status rc = GH_OK;

    for (int k = 0; k < 2 && rc == GH_OK; k++) {
        sqlite3_stmt *st = NULL;
        int step = SQLITE_DONE;
        rc = store_sqlite_prepare(db, sql[k], &st, err);
        while (rc == GH_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
            struct store_rec rec = {0};
            const char *id = (const char *)sqlite3_column_text(st, 0);
            const char *body = (const char *)sqlite3_column_text(st, 2);
            int64_t version = sqlite3_column_int64(st, 1);
            rc = store_get(dst, k == 0 ? STORE_USER : STORE_GROUP, id, &rec, err);
            if (rc == GH_OK && (rec.version != version || strcmp(rec.body, body) != 0))
                rc = GH_ERR(err, GH_E_STORE,
                            "verify: %s %s differs in the target (version %lld, source %lld)",
                            k == 0 ? "user" : "group", id, (long long)rec.version,
                            (long long)version);
            store_rec_clear(&rec);
            if (rc == GH_OK)
                rep->etags_checked++;
        }
        if (rc == GH_OK && step != SQLITE_DONE)
            rc = store_sqlite_fail(db, err, "read source");
        sqlite3_finalize(st);
    }
    return rc;
}

/* See store.h. */
enum gh_status store_migrate(const char *from, const char *to, struct store_migrate_report *rep,
                             struct gh_err *err)
{
    struct store_import_table tables[STORE_MIGRATE_N];
    struct store_migrate_src src[STORE_MIGRATE_N];
    struct store *s = NULL, *dst = NULL;
    struct store_index_counts got;
    sqlite3 *db = NULL;
    enum gh_status rc;

    memset(rep, 0, sizeof(*rep));
    memset(src, 0, sizeof(src));
    /* opening a path that names no file would create an empty store there and copy that */
    if (access(from, R_OK) != 0)
        return GH_ERR(err, GH_E_INVALID,
                      "--from must be an existing SQLite database file: %.300s: %s", from,
                      strerror(errno));
    /* the source, brought to the current schema by opening it as a store */
    rc = store_open(from, &s, err);
    if (rc)
        return rc;
    if (strcmp(s->ops->name, "sqlite") != 0) {
        store_close(s);
        return GH_ERR(err, GH_E_INVALID, "--from must be a SQLite database file");
    }
    store_close(s);
    if (sqlite3_open_v2(from, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = GH_ERR(err, GH_E_STORE, "cannot read %s: %s", from, db ? sqlite3_errmsg(db) : "");
        goto out;
    }
    rc = store_open(to, &dst, err);
    if (rc)
        goto out;
    if (dst->ops->import == NULL) {
        rc = GH_ERR(err, GH_E_INVALID, "--to must be a postgresql:// URL");
        goto out;
    }
    /* one read transaction: the copy is one snapshot of the source */
    rc = store_sqlite_exec(db, "BEGIN", err);
    for (size_t i = 0; rc == GH_OK && i < STORE_MIGRATE_N; i++) {
        const struct store_migrate_def *d = &store_migrate_defs[i];
        char sql[512];
        size_t o = (size_t)snprintf(sql, sizeof(sql), "SELECT ");
        for (size_t c = 0; c < d->ncols; c++)
            o += (size_t)snprintf(sql + o, sizeof(sql) - o, "%s%s", c ? ", " : "", d->cols[c]);
        snprintf(sql + o, sizeof(sql) - o, " FROM %s ORDER BY %s", d->name, d->order);
        src[i].db = db;
        src[i].ncols = (int)d->ncols;
        rc = store_sqlite_prepare(db, sql, &src[i].st, err);
        tables[i] =
            (struct store_import_table){d->name, d->cols, d->ncols, store_migrate_next, &src[i]};
    }
    for (size_t i = 0; rc == GH_OK && i < STORE_MIGRATE_N; i++) {
        char sql[128];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", store_migrate_defs[i].name);
        rep->rows[i] = store_migrate_count(db, sql);
    }
    if (rc == GH_OK)
        rc = dst->ops->import(dst, tables, STORE_MIGRATE_N, err);
    store_sqlite_exec(db, "COMMIT", NULL);
    store_close(dst);
    dst = NULL;
    if (rc)
        goto out;

    /* the proof: a fresh index loaded from the target, then every resource by id */
    rc = store_open(to, &dst, err);
    if (rc)
        goto out;
    store_index_counts(dst->index, &got);
    rep->index_users = (int64_t)got.users;
    rep->index_memberships = (int64_t)got.memberships;
    {
        int64_t want_users = rep->rows[0], want_groups = rep->rows[1], want_links = rep->rows[4],
                want_cut = rep->rows[5], want_tomb = rep->rows[6];
        int64_t want_m =
            store_migrate_count(db, "SELECT count(*) FROM members WHERE member_type = 0");
        if ((int64_t)got.users != want_users || (int64_t)got.groups != want_groups ||
            (int64_t)got.memberships != want_m || (int64_t)got.links != want_links ||
            (int64_t)got.cutoffs != want_cut || (int64_t)got.tombstones != want_tomb) {
            rc = GH_ERR(err, GH_E_STORE,
                        "verify: the target holds %zu users, %zu groups, %zu memberships, %zu "
                        "links, %zu cut-offs, %zu tombstones; the source %lld, %lld, %lld, %lld, "
                        "%lld, %lld",
                        got.users, got.groups, got.memberships, got.links, got.cutoffs,
                        got.tombstones, (long long)want_users, (long long)want_groups,
                        (long long)want_m, (long long)want_links, (long long)want_cut,
                        (long long)want_tomb);
            goto out;
        }
    }
    rc = store_migrate_check_rows(db, dst, rep, err);
out:
    for (size_t i = 0; i < STORE_MIGRATE_N; i++)
        sqlite3_finalize(src[i].st);
    store_close(dst);
    sqlite3_close(db);
    return rc;
}
