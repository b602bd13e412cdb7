/*
 * test_fleet.c - several gatehouse replicas on one store (issue 11): SCIM to one, decisions on
 * the others, each answering from its in-memory index kept current by the change feed.
 *
 * On SQLite the replicas share one database file (the feed is polled); with GATEHOUSE_TEST_PG
 * they share a PostgreSQL schema (NOTIFY wakes them). The faults - the server killed and
 * restarted mid-stream, the index going stale past GATEHOUSE_MAX_STALENESS - need a PostgreSQL
 * server the test may stop (GATEHOUSE_TEST_PG_DIR) and are skipped with a message otherwise.
 */
#include "tests/support/fixture.h"
#include "tests/support/scim_client.h"
#include "tests/support/support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STORE_ID_BUF 40

#define FLEET_N 3
#define POLICY                                                                                     \
    "{\"access_groups\":[{\"name\":\"Payroll\",\"grants\":[{\"dataset\":\"payroll\","              \
    "\"actions\":[\"protect\",\"unprotect\"]}]}]}"

static struct gh_fixture *fx[FLEET_N + 1];
static char db[700], dbdir[600];

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static struct gh_fixture *replica(const char *const *more)
{
    char dbset[720];
    const char *extra[8] = {dbset, "GATEHOUSE_STORE_POLL=100", NULL};
    size_t n = 2;
    snprintf(dbset, sizeof(dbset), "GATEHOUSE_DB=%s", db);
    for (size_t i = 0; more != NULL && more[i] != NULL && n < 7; i++)
        extra[n++] = more[i];
    extra[n] = NULL;
    return gh_fixture_start(&(struct gh_fixture_opts){
        .scim_token = SCIM_TOKEN, .policy = POLICY, .decision_log = true, .extra = extra});
}

static void fleet_start(const char *const *more)
{
    char *d = gh_tmpdir_new();
    snprintf(dbdir, sizeof(dbdir), "%s", d);
    free(d);
    gh_test_db_new(dbdir, db, sizeof(db));
    for (int i = 0; i < FLEET_N; i++)
        fx[i] = replica(more);
}

static void fleet_stop(void)
{
    char cmd[700];
    for (int i = 0; i <= FLEET_N; i++) {
        if (fx[i] != NULL)
            ck_assert_int_eq(gh_fixture_stop(fx[i]), 0);
        fx[i] = NULL;
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dbdir);
    ck_assert_int_eq(system(cmd), 0);
}

static void teardown(void)
{
    fleet_stop();
}

/* One SCIM request to replica i; returns the status and the X-Gatehouse-Revision (or -1). */
static long scim_on(int i, const char *method, const char *path, const char *body, char *id_out,
                    long long *out_rev)
{
    const char *hdrs[] = {SCIM_AUTH, SCIM_CT, NULL};
    struct gh_http_resp r = {0};
    char url[512], rev[32];
    long status;

    snprintf(url, sizeof(url), "%s/scim/v2%s", gh_proc_url(fx[i]->proc), path);
    ck_assert_int_eq(gh_http(method, url, hdrs, body, NULL, &r), 0);
    status = r.status;
    *out_rev =
        gh_http_resp_header(&r, "X-Gatehouse-Revision", rev, sizeof(rev)) != NULL ? atoll(rev) : -1;
    if (status < 300)
        ck_assert_int_ge(*out_rev, 1);
    if (id_out != NULL && r.status == 201) {
        cJSON *j = cJSON_Parse(r.body);
        snprintf(id_out, STORE_ID_BUF, "%s", cJSON_GetObjectItem(j, "id")->valuestring);
        cJSON_Delete(j);
    }
    if (status == 503) /* a SCIM error with Retry-After */
        ck_assert_ptr_nonnull(gh_http_resp_header(&r, "Retry-After", rev, sizeof(rev)));
    gh_http_resp_free(&r);
    return status;
}

/* A decision on replica i for user's token: 1 allowed, 0 denied, -status otherwise; reason and
 * the revision it read are copied out. */
static int decide_on(int i, const char *user, long long min_rev, char *reason, size_t cap,
                     long long *out_rev)
{
    cJSON *claims = gh_fixture_claims(fx[i]);
    char *tok, auth[4096], url[512], body[256];
    const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
    struct gh_http_resp r = {0};
    cJSON *j;
    int out;

    cJSON_ReplaceItemInObject(claims, "preferred_username", cJSON_CreateString(user));
    cJSON_DeleteItemFromObject(claims, "oid");
    tok = gh_fixture_token(fx[i], claims);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    snprintf(url, sizeof(url), "%s/v1/authorize", gh_proc_url(fx[i]->proc));
    if (min_rev > 0)
        snprintf(body, sizeof(body),
                 "{\"dataset\":\"payroll\",\"action\":\"unprotect\",\"min_revision\":%lld}",
                 min_rev);
    else
        snprintf(body, sizeof(body), "{\"dataset\":\"payroll\",\"action\":\"unprotect\"}");
    ck_assert_int_eq(gh_http("POST", url, hdrs, body, NULL, &r), 0);
    free(tok);
    if (r.status != 200) {
        snprintf(reason, cap, "%.400s", r.body);
        out = -(int)r.status;
        gh_http_resp_free(&r);
        return out;
    }
    j = cJSON_Parse(r.body);
    ck_assert_ptr_nonnull(j);
    out = cJSON_IsTrue(cJSON_GetObjectItem(j, "allowed"));
    snprintf(reason, cap, "%s",
             cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0), "reason")
                 ->valuestring);
    *out_rev = (long long)cJSON_GetObjectItem(j, "revision")->valuedouble;
    cJSON_Delete(j);
    gh_http_resp_free(&r);
    return out;
}

/* Poll replica i (bounded) until the decision is want; the number of ms it took. */
static int until_decision(int i, const char *user, int want, int timeout_ms)
{
    char reason[512];
    long long rev;
    for (int t = 0; t < timeout_ms; t += 20) {
        if (decide_on(i, user, 0, reason, sizeof(reason), &rev) == want)
            return t;
        nap_ms(20);
    }
    ck_abort_msg("replica %d never decided %d for %s: %s", i, want, user, reason);
    return -1;
}

#define USER(n)                                                                                    \
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"" n "\"}"

/* Provision alice into Payroll on replica 0; returns the group id's revision. */
static long long provision(char gid[STORE_ID_BUF], char uid[STORE_ID_BUF])
{
    char body[512];
    long long rev;
    ck_assert_int_eq(scim_on(0, "POST", "/Users", USER("alice@contoso.test"), uid, &rev), 201);
    snprintf(body, sizeof(body),
             "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],"
             "\"displayName\":\"Payroll\",\"members\":[{\"value\":\"%s\"}]}",
             uid);
    ck_assert_int_eq(scim_on(0, "POST", "/Groups", body, gid, &rev), 201);
    return rev;
}

START_TEST(fleet_write_on_one_decide_on_others)
{
    char gid[STORE_ID_BUF], uid[STORE_ID_BUF], reason[512], body[512];
    long long rev, used;

    fleet_start(NULL);
    rev = provision(gid, uid);
    /* the replica that took the write reflects it at once */
    ck_assert_int_eq(decide_on(0, "alice@contoso.test", 0, reason, sizeof(reason), &used), 1);
    ck_assert_int_ge(used, rev);
    /* another replica, asked to read at least that revision, waits for it */
    ck_assert_int_eq(decide_on(1, "alice@contoso.test", rev, reason, sizeof(reason), &used), 1);
    ck_assert_int_ge(used, rev);
    /* and the third learns it by itself */
    until_decision(2, "alice@contoso.test", 1, 5000);
    /* deprovisioned on replica 2: replicas 0 and 1 deny */
    snprintf(body, sizeof(body),
             "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":"
             "[{\"op\":\"Remove\",\"path\":\"members[value eq \\\"%s\\\"]\"}]}",
             uid);
    {
        char path[128];
        snprintf(path, sizeof(path), "/Groups/%s", gid);
        ck_assert_int_lt(scim_on(2, "PATCH", path, body, NULL, &rev), 300);
    }
    ck_assert_int_eq(decide_on(0, "alice@contoso.test", rev, reason, sizeof(reason), &used), 0);
    until_decision(1, "alice@contoso.test", 0, 5000);
    /* a revision no replica has reached: 503 after the bounded wait */
    ck_assert_int_eq(
        decide_on(1, "alice@contoso.test", rev + 1000000, reason, sizeof(reason), &used), -503);
    ck_assert_msg(strstr(reason, "min_revision") != NULL, "%s", reason);
}
END_TEST

START_TEST(fleet_late_replica_catches_up)
{
    char gid[STORE_ID_BUF], uid[STORE_ID_BUF], reason[512];
    long long used;
    fleet_start(NULL);
    provision(gid, uid);
    fx[FLEET_N] = replica(NULL);
    ck_assert_int_eq(decide_on(FLEET_N, "alice@contoso.test", 0, reason, sizeof(reason), &used), 1);
}
END_TEST

/* Uniqueness holds when every replica creates the same userName at once. */
START_TEST(fleet_concurrent_creates_stay_unique)
{
    long long rev;
    int created = 0;
    fleet_start(NULL);
    for (int round = 0; round < 5; round++) {
        pid_t kids[FLEET_N];
        char name[64], body[256];
        snprintf(name, sizeof(name), "race%d@contoso.test", round);
        snprintf(body, sizeof(body),
                 "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
                 "\"userName\":\"%s\"}",
                 name);
        for (int i = 0; i < FLEET_N; i++) {
            kids[i] = fork();
            ck_assert_int_ge(kids[i], 0);
            if (kids[i] == 0) {
                long st = scim_on(i, "POST", "/Users", body, NULL, &rev);
                _exit(st == 201 ? 0 : st == 409 ? 1 : 2);
            }
        }
        created = 0;
        for (int i = 0; i < FLEET_N; i++) {
            int status;
            ck_assert_int_eq(waitpid(kids[i], &status, 0), kids[i]);
            ck_assert(WIFEXITED(status) && WEXITSTATUS(status) <= 1);
            created += WEXITSTATUS(status) == 0;
        }
        ck_assert_int_eq(created, 1);
    }
}
END_TEST

/* PostgreSQL killed mid-stream: writes answer 503 (never a lost acknowledgement), decisions go
 * on from the index, everything catches up when it is back. */
START_TEST(fleet_store_killed_and_restarted)
{
    char gid[STORE_ID_BUF], uid[STORE_ID_BUF], reason[512];
    char acked[64][STORE_ID_BUF];
    int nacked = 0, refused = 0;
    long long rev, used;

    if (!gh_test_pg_ctl_ok()) {
        fprintf(stderr,
                "fleet_store_killed_and_restarted: skipped (needs GATEHOUSE_TEST_PG_DIR)\n");
        return;
    }
    fleet_start(NULL);
    provision(gid, uid);
    until_decision(1, "alice@contoso.test", 1, 5000);
    for (int i = 0; i < 60; i++) {
        char body[256], id[STORE_ID_BUF];
        long st;
        if (i == 20)
            gh_test_pg_kill();
        if (i == 40)
            gh_test_pg_start();
        snprintf(body, sizeof(body),
                 "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
                 "\"userName\":\"stream%d@contoso.test\"}",
                 i);
        st = scim_on(0, "POST", "/Users", body, id, &rev);
        ck_assert_msg(st == 201 || st == 503, "write %d answered %ld", i, st);
        if (st == 201)
            memcpy(acked[nacked++], id, STORE_ID_BUF);
        else
            refused++;
        if (i >= 20 && i < 40) {
            /* the store is down: decisions still come from the index */
            ck_assert_int_eq(decide_on(1, "alice@contoso.test", 0, reason, sizeof(reason), &used),
                             1);
        }
        nap_ms(i >= 40 ? 100 : 20);
    }
    ck_assert_int_gt(refused, 0);
    /* every acknowledged write is there, read through another replica */
    for (int i = 0; i < nacked; i++) {
        char path[128];
        snprintf(path, sizeof(path), "/Users/%.40s", acked[i]);
        ck_assert_int_eq(scim_on(2, "GET", path, NULL, NULL, &rev), 200);
    }
    ck_assert_int_eq(decide_on(2, "alice@contoso.test", 0, reason, sizeof(reason), &used), 1);
}
END_TEST

/* Past GATEHOUSE_MAX_STALENESS without the store, every decision denies, saying why. */
START_TEST(fleet_stale_index_denies)
{
    static const char *const more[] = {"GATEHOUSE_MAX_STALENESS=2", NULL};
    char gid[STORE_ID_BUF], uid[STORE_ID_BUF], reason[512];
    long long used;

    if (!gh_test_pg_ctl_ok()) {
        fprintf(stderr, "fleet_stale_index_denies: skipped (needs GATEHOUSE_TEST_PG_DIR)\n");
        return;
    }
    fleet_start(more);
    provision(gid, uid);
    until_decision(1, "alice@contoso.test", 1, 5000);
    gh_test_pg_kill();
    nap_ms(3500);
    ck_assert_int_eq(decide_on(1, "alice@contoso.test", 0, reason, sizeof(reason), &used), 0);
    ck_assert_msg(strstr(reason, "GATEHOUSE_MAX_STALENESS") != NULL, "%s", reason);
    gh_test_pg_start();
    until_decision(1, "alice@contoso.test", 1, 10000);
}
END_TEST

Suite *fleet_suite(void)
{
    Suite *s = suite_create("fleet");
    TCase *tc = tcase_create("replicas");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, fleet_write_on_one_decide_on_others);
    tcase_add_test(tc, fleet_late_replica_catches_up);
    tcase_add_test(tc, fleet_concurrent_creates_stay_unique);
    tcase_add_test(tc, fleet_store_killed_and_restarted);
    tcase_add_test(tc, fleet_stale_index_denies);
    suite_add_tcase(s, tc);
    return s;
}
