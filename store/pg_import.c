/*
 * pg_import.c - migrate-store's target side on PostgreSQL (store_int.h, ops->import): every
 * table copied in one write transaction with COPY FROM STDIN (text format), rows exactly as the
 * source holds them. The tables' own triggers (links, cut-offs, tombstones, the change feed) are
 * disabled for the copy: the rows they would write are copied too. Foreign keys stay checked.
 */
#include "core/core.h"
#include "store/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const store_pg_import_tables[] = {
    "users",   "groups",          "members", "access_groups", "access_group_links",
    "cutoffs", "user_tombstones",
};
#define STORE_PG_IMPORT_N (sizeof(store_pg_import_tables) / sizeof(store_pg_import_tables[0]))

/* Append v to b as one COPY text field (\N for NULL; backslash, tab, newline, CR escaped). */
static enum gh_status store_pg_copy_field(struct gh_buf *b, const char *v, struct gh_err *err)
{
    enum gh_status st = GH_OK;
    if (v == NULL)
        return gh_buf_puts(b, "\\N", err);
    for (const char *p = v; *p != '\0' && st == GH_OK; p++) {
        switch (*p) {
        case '\\':
            st = gh_buf_puts(b, "\\\\", err);
            break;
        case '\t':
            st = gh_buf_puts(b, "\\t", err);
            break;
        case '\n':
            st = gh_buf_puts(b, "\\n", err);
            break;
        case '\r':
            st = gh_buf_puts(b, "\\r", err);
            break;
        default:
            st = gh_buf_append(b, p, 1, err);
        }
    }
    return st;
}

/* Copy one table (writer locked, inside the transaction). */
static enum gh_status store_pg_copy_table(struct store_pg_conn *c,
                                          const struct store_import_table *t, struct gh_err *err)
{
    struct gh_buf sql, row;
    const char *vals[16];
    PGresult *res;
    enum gh_status st = GH_OK;
    int more;

    if (t->ncols == 0 || t->ncols > 16)
        return GH_ERR(err, GH_E_INTERNAL, "import: %s has %zu columns", t->name, t->ncols);
    gh_buf_init(&sql, 4096);
    gh_buf_init(&row, SIZE_MAX / 2);
    st = gh_buf_printf(&sql, err, "COPY %s (", t->name);
    for (size_t i = 0; st == GH_OK && i < t->ncols; i++)
        st = gh_buf_printf(&sql, err, "%s%s", i ? ", " : "", t->cols[i]);
    if (st == GH_OK)
        st = gh_buf_puts(&sql, ") FROM STDIN", err);
    if (st)
        goto out;
    res = PQexec(c->pg, sql.data);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        st = GH_ERR(err, GH_E_STORE, "postgresql: COPY %s: %s", t->name, PQerrorMessage(c->pg));
        PQclear(res);
        goto out;
    }
    PQclear(res);
    while ((more = t->next(t->ctx, vals, err)) == 1) {
        row.len = 0;
        for (size_t i = 0; st == GH_OK && i < t->ncols; i++) {
            if (i)
                st = gh_buf_puts(&row, "\t", err);
            if (st == GH_OK)
                st = store_pg_copy_field(&row, vals[i], err);
        }
        if (st == GH_OK)
            st = gh_buf_puts(&row, "\n", err);
        if (st)
            break;
        if (PQputCopyData(c->pg, row.data, (int)row.len) != 1) {
            st = GH_ERR(err, GH_E_UNAVAILABLE, "postgresql: COPY %s: %s", t->name,
                        PQerrorMessage(c->pg));
            break;
        }
    }
    if (more < 0 && st == GH_OK)
        st = GH_E_STORE; /* err set by next */
    if (PQputCopyEnd(c->pg, st == GH_OK ? NULL : "source read failed") != 1 && st == GH_OK)
        st = GH_ERR(err, GH_E_UNAVAILABLE, "postgresql: COPY %s: %s", t->name,
                    PQerrorMessage(c->pg));
    while ((res = PQgetResult(c->pg)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && st == GH_OK)
            st = GH_ERR(err, GH_E_STORE, "postgresql: COPY %s: %s", t->name,
                        PQresultErrorMessage(res));
        PQclear(res);
    }
    c->wrote = true;
out:
    gh_buf_free(&sql);
    gh_buf_free(&row);
    return st;
}

/* See store_int.h. */
enum gh_status store_pg_import(struct store *base, const struct store_import_table *t, size_t nt,
                               struct gh_err *err)
{
    struct store_pg *s = store_pg_of(base);
    struct store_pg_conn *c = &s->writer;
    PGresult *res = NULL;
    enum gh_status rc;
    char sql[256];

    rc = store_pg_begin(s, err);
    if (rc)
        return rc;
    rc = store_pg_exec(c,
                       "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM groups) + "
                       "(SELECT count(*) FROM access_groups)",
                       0, NULL, &res, err);
    if (rc == GH_OK && store_pg_int(res, 0, 0) != 0)
        rc = GH_ERR(err, GH_E_CONFLICT,
                    "the target store already holds users, groups or access groups: migrate "
                    "into an empty database (or schema)");
    PQclear(res);
    /* a million rows take longer than the session's statement timeout */
    if (rc == GH_OK)
        rc = store_pg_exec(c, "SET LOCAL statement_timeout = 0", 0, NULL, NULL, err);
    for (size_t i = 0; rc == GH_OK && i < STORE_PG_IMPORT_N; i++) {
        snprintf(sql, sizeof(sql), "ALTER TABLE %s DISABLE TRIGGER USER",
                 store_pg_import_tables[i]);
        rc = store_pg_exec(c, sql, 0, NULL, NULL, err);
    }
    for (size_t i = 0; rc == GH_OK && i < nt; i++) {
        bool known = false;
        for (size_t k = 0; k < STORE_PG_IMPORT_N; k++)
            known = known || strcmp(t[i].name, store_pg_import_tables[k]) == 0;
        rc = known ? store_pg_copy_table(c, &t[i], err)
                   : GH_ERR(err, GH_E_INTERNAL, "import: unknown table %s", t[i].name);
    }
    for (size_t i = 0; rc == GH_OK && i < STORE_PG_IMPORT_N; i++) {
        snprintf(sql, sizeof(sql), "ALTER TABLE %s ENABLE TRIGGER USER", store_pg_import_tables[i]);
        rc = store_pg_exec(c, sql, 0, NULL, NULL, err);
    }
    rc = store_pg_end(s, rc, err);
    store_pg_unlock(s);
    return rc;
}
