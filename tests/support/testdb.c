/*
 * testdb.c - the store a test runs on: SQLite by default, PostgreSQL when GATEHOUSE_TEST_PG holds
 * a postgresql:// URL (the test matrix: `make e2e-pg`, `make unit-pg`). Each call makes a fresh
 * schema there, so tests never see each other's rows; the daemon selects it with libpq's
 * options=-csearch_path. GATEHOUSE_TEST_PG_DIR names the cluster's directory for the tests that
 * stop and start the server (tests/pg/cluster.sh).
 */
#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *gh_test_pg_url(void)
{
    const char *u = getenv("GATEHOUSE_TEST_PG");
    return u != NULL && *u ? u : NULL;
}

/* Run psql on the test cluster with one statement (ours: never test input). */
static int gh_test_psql(const char *sql)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "psql -X -q -v ON_ERROR_STOP=1 '%s' -c '%s' >/dev/null 2>&1",
             gh_test_pg_url(), sql);
    return system(cmd);
}

void gh_test_db_new(const char *dir, char *out, size_t cap)
{
    static unsigned counter;
    char schema[64], sql[128];
    const char *url = gh_test_pg_url();

    if (url == NULL) {
        snprintf(out, cap, "%s/gatehouse.db", dir);
        return;
    }
    snprintf(schema, sizeof(schema), "t_%d_%u_%ld", (int)getpid(), counter++, (long)random());
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
    ck_assert_msg(gh_test_psql(sql) == 0, "cannot create schema %s on %s", schema, url);
    snprintf(out, cap, "%s%soptions=-csearch_path%%3D%s", url, strchr(url, '?') ? "&" : "?",
             schema);
}

/* tests/pg/cluster.sh <what> on the test cluster; aborts the test when it fails. */
static void gh_test_pg_ctl(const char *what)
{
    const char *dir = getenv("GATEHOUSE_TEST_PG_DIR"), *src = getenv("GH_SRCDIR");
    const char *url = gh_test_pg_url(), *port;
    char cmd[1024];

    ck_assert_msg(dir != NULL && url != NULL, "GATEHOUSE_TEST_PG_DIR is not set");
    port = strrchr(url, ':');
    snprintf(cmd, sizeof(cmd), "%s/tests/pg/cluster.sh %s '%s' %.*s >/dev/null", src ? src : ".",
             what, dir, port ? (int)strcspn(port + 1, "/") : 0, port ? port + 1 : "");
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

bool gh_test_pg_ctl_ok(void)
{
    return gh_test_pg_url() != NULL && getenv("GATEHOUSE_TEST_PG_DIR") != NULL;
}

void gh_test_pg_kill(void)
{
    gh_test_pg_ctl("kill");
}

void gh_test_pg_start(void)
{
    gh_test_pg_ctl("start");
}
