/*
 * store_target.c - fresh store targets for the store tests, on either backend: a SQLite file in
 * a temp directory, or a schema of its own on the PostgreSQL server $GATEHOUSE_TEST_PG names
 * (`make unit-pg` starts a throwaway one), so every store test runs on both backends from one
 * source, in one run (testdb.c picks one backend for a whole run from the environment). Also a
 * raw query on the target for tests that look under the store.
 */
#include "support.h"

#include <check.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Run sql on the test server's database (not a test schema); abort the test on failure. */
static void gh_test_pg_admin(const char *sql)
{
    PGconn *pg = PQconnectdb(gh_test_pg_url());
    PGresult *res;
    ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "GATEHOUSE_TEST_PG: %s", PQerrorMessage(pg));
    PQclear(PQexec(pg, "SET client_min_messages = warning"));
    res = PQexec(pg, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(pg));
    PQclear(res);
    PQfinish(pg);
}

void gh_test_store_new(enum gh_test_backend b, struct gh_test_store *out)
{
    memset(out, 0, sizeof(*out));
    out->backend = b;
    if (b == GH_TEST_SQLITE) {
        snprintf(out->dir, sizeof(out->dir), "/tmp/gh-store-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(out->dir));
        snprintf(out->target, sizeof(out->target), "%s/s.db", out->dir);
        return;
    }
    {
        const char *url = gh_test_pg_url();
        struct timespec ts;
        char sql[96];
        ck_assert_msg(url != NULL, "GATEHOUSE_TEST_PG is not set");
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(out->schema, sizeof(out->schema), "t_%d_%lx_%lx", (int)getpid(),
                 (unsigned long)ts.tv_sec, (unsigned long)ts.tv_nsec);
        snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", out->schema);
        gh_test_pg_admin(sql);
        snprintf(out->target, sizeof(out->target), "%s%soptions=-csearch_path%%3D%s", url,
                 strchr(url, '?') ? "&" : "?", out->schema);
    }
}

void gh_test_store_drop(struct gh_test_store *t)
{
    char cmd[128];
    if (t->backend == GH_TEST_SQLITE) {
        if (t->dir[0] == '\0')
            return;
        snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
        ck_assert_int_eq(system(cmd), 0);
    } else if (t->schema[0] != '\0') {
        snprintf(cmd, sizeof(cmd), "DROP SCHEMA %s CASCADE", t->schema);
        gh_test_pg_admin(cmd);
    }
    memset(t, 0, sizeof(*t));
}

bool gh_test_store_query(const struct gh_test_store *t, const char *sql, const char *param,
                         char *out, size_t cap)
{
    bool ok = false;
    out[0] = '\0';
    if (t->backend == GH_TEST_SQLITE) {
        sqlite3 *db = NULL;
        sqlite3_stmt *q = NULL;
        int step;
        if (sqlite3_open_v2(t->target, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
            sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) {
            if (param != NULL)
                sqlite3_bind_text(q, 1, param, -1, SQLITE_STATIC);
            step = sqlite3_step(q);
            if (step == SQLITE_ROW && sqlite3_column_text(q, 0) != NULL)
                snprintf(out, cap, "%s", (const char *)sqlite3_column_text(q, 0));
            ok = step == SQLITE_ROW || step == SQLITE_DONE;
        }
        sqlite3_finalize(q);
        sqlite3_close(db);
    } else {
        PGconn *pg = PQconnectdb(t->target);
        const char *p[] = {param};
        PGresult *res = PQexecParams(pg, sql, param != NULL, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(res) == PGRES_TUPLES_OK) {
            ok = true;
            if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
                snprintf(out, cap, "%s", PQgetvalue(res, 0, 0));
        }
        PQclear(res);
        PQfinish(pg);
    }
    return ok;
}
