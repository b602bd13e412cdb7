/*
 * test_store_full.c - issue 9 item 10: a store that cannot write. The real daemon runs with
 * RLIMIT_FSIZE set low (its files stop growing there, as on a full disk, without a mount), SCIM
 * writes fill the database until one fails, and then: the failed write is answered 503 with
 * Retry-After and a SCIM Error (never 2xx, never a bare 500), reads and /v1/authorize decisions
 * still answer, /readyz stays ready but reports store_writable, /metrics shows the gauge and the
 * failure counter. Raising the limit again (an operator freeing space) lets the retried write
 * through and clears the condition; after a restart every acknowledged write is there.
 */
#define _GNU_SOURCE /* prlimit(2) */
#include "tests/support/fixture.h"
#include "tests/support/idp.h"
#include "tests/support/mint.h"
#include "tests/support/scim_client.h"

#include <errno.h>
#include <sys/resource.h>
#include <unistd.h>

#define SF_TID "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define SF_OID "6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b"
#define SF_UPN "alice@contoso.example"
#define SF_POLICY                                                                                  \
    "{\"access_groups\":[],\"default_grants\":[{\"dataset\":\"directory\",\"actions\":"            \
    "[\"protect\"]}]}"
/* Small enough to fill in a few dozen requests, large enough for the schema and a few users. */
#define SF_FSIZE (2LL * 1024 * 1024)
/* Each filler user carries this many bytes of nickName, so the WAL grows quickly. */
#define SF_FILL_BYTES (96 * 1024)
#define SF_FILL_MAX   200

static struct gh_fixture *sf;

/* The daemon under an RLIMIT_FSIZE of fsize bytes (0: none); the first call also starts the IdP
 * and keeps the db in the fixture's directory, since the db outlives one daemon: the last step
 * restarts on it. */
static void sf_start(long long fsize)
{
    if (sf == NULL) {
        sf = gh_fixture_start(&(struct gh_fixture_opts){.tid = SF_TID,
                                                        .scim_token = SCIM_TOKEN,
                                                        .policy = SF_POLICY,
                                                        .db_in_dir = true,
                                                        .no_daemon = true});
    }
    sf->fsize_limit = fsize;
    gh_fixture_daemon_start(sf);
    scim_client_use(sf->proc);
}

/* The daemon stops: it must exit 0 on SIGTERM. */
static void sf_stop(void)
{
    int rc = gh_fixture_daemon_stop(sf);
    scim_client_use(NULL);
    ck_assert_msg(rc == 0, "gatehouse exited with %d", rc);
}

static void sf_free(void)
{
    gh_fixture_stop(sf);
    sf = NULL;
}

static char *sf_token(void)
{
    cJSON *c = gh_fixture_claims(sf);
    cJSON_ReplaceItemInObject(c, "oid", cJSON_CreateString(SF_OID));
    cJSON_ReplaceItemInObject(c, "preferred_username", cJSON_CreateString(SF_UPN));
    gh_mint_claims_time(c, "iat", -60);
    return gh_fixture_token(sf, c);
}

/* /v1/authorize answers, and grants the default grant to the provisioned user. */
static void sf_expect_allowed(const char *tok)
{
    struct gh_http_resp r;
    char url[256], auth[8192];
    const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
    cJSON *j;

    snprintf(url, sizeof(url), "%s/v1/authorize", gh_proc_url(scim_client_proc()));
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    ck_assert_int_eq(
        gh_http("POST", url, hdrs, "{\"dataset\":\"directory\",\"action\":\"protect\"}", NULL, &r),
        0);
    ck_assert_msg(r.status == 200, "authorize: %ld %s", r.status, r.body);
    j = cJSON_Parse(r.body);
    ck_assert_msg(cJSON_IsTrue(cJSON_GetObjectItem(j, "allowed")), "authorize: %s", r.body);
    cJSON_Delete(j);
    gh_http_resp_free(&r);
}

/* GET a plain endpoint (/readyz, /metrics); caller frees. */
static struct gh_http_resp sf_get(const char *path)
{
    struct gh_http_resp r;
    char url[256];
    snprintf(url, sizeof(url), "%s%s", gh_proc_url(scim_client_proc()), path);
    ck_assert_msg(gh_http("GET", url, NULL, NULL, NULL, &r) == 0, "GET %s: no answer (log: %s)",
                  path, gh_proc_log(scim_client_proc()));
    return r;
}

/* /readyz: still 200 (decisions work), with the store_writable check as given. */
static void sf_expect_readyz(bool writable)
{
    struct gh_http_resp r = sf_get("/readyz");
    cJSON *j = cJSON_Parse(r.body);
    const char *w = scim_str(j, "checks.store_writable");

    ck_assert_msg(r.status == 200, "/readyz: %ld %s", r.status, r.body);
    ck_assert_str_eq(scim_str(j, "status"), "ready");
    ck_assert_str_eq(scim_str(j, "checks.store"), "ok");
    ck_assert_msg(w != NULL, "/readyz has no store_writable check: %s", r.body);
    if (writable)
        ck_assert_str_eq(w, "ok");
    else
        ck_assert_msg(strstr(w, "cannot write") != NULL, "/readyz: %s", r.body);
    cJSON_Delete(j);
    gh_http_resp_free(&r);
}

/* /metrics: the writable gauge and the failure counter. */
static void sf_expect_metrics(int writable, int failures)
{
    struct gh_http_resp r = sf_get("/metrics");
    char want[128];

    ck_assert_int_eq(r.status, 200);
    snprintf(want, sizeof(want), "\ngatehouse_store_writable %d\n", writable);
    ck_assert_msg(strstr(r.body, want) != NULL, "/metrics lacks \"%s\"", want + 1);
    snprintf(want, sizeof(want), "\ngatehouse_store_write_failures_total %d\n", failures);
    ck_assert_msg(strstr(r.body, want) != NULL, "/metrics lacks \"%s\"", want + 1);
    gh_http_resp_free(&r);
}

static char *sf_fill_body(int i)
{
    char *b = malloc(SF_FILL_BYTES + 512);
    int n = snprintf(b, 512,
                     "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":"
                     "\"fill-%d@contoso.example\",\"active\":true,\"nickName\":\"",
                     i);
    memset(b + n, 'a' + i % 26, SF_FILL_BYTES);
    snprintf(b + n + SF_FILL_BYTES, 16, "\"}");
    return b;
}

/* POST a filler user: its status, and its id in out_id when 201. A failure is checked here. */
static long sf_post(int i, char out_id[64])
{
    struct gh_http_resp r;
    char url[256], ct[128], ra[32];
    const char *hdrs[] = {SCIM_AUTH, SCIM_CT, NULL};
    char *body = sf_fill_body(i);
    long status;
    cJSON *j;

    snprintf(url, sizeof(url), "%s/scim/v2/Users", gh_proc_url(scim_client_proc()));
    ck_assert_msg(gh_http("POST", url, hdrs, body, NULL, &r) == 0,
                  "POST %d: no answer (the daemon died?) log: %s", i,
                  gh_proc_log(scim_client_proc()));
    free(body);
    status = r.status;
    j = cJSON_Parse(r.body);
    ck_assert_msg(j != NULL, "POST %d: %ld %s", i, r.status, r.body);
    ck_assert(gh_http_resp_header(&r, "Content-Type", ct, sizeof(ct)) != NULL &&
              strncmp(ct, "application/scim+json", 21) == 0);
    if (status == 201) {
        snprintf(out_id, 64, "%s", scim_str(j, "id"));
    } else {
        /* the store cannot write: a SCIM Error 503 the client retries, never a 500 */
        ck_assert_msg(status == 503, "POST %d: want 503, got %ld %s", i, status, r.body);
        ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "schemas"), 0)->valuestring,
                         "urn:ietf:params:scim:api:messages:2.0:Error");
        ck_assert_str_eq(scim_str(j, "status"), "503");
        ck_assert_ptr_null(cJSON_GetObjectItem(j, "scimType"));
        ck_assert_msg(gh_http_resp_header(&r, "Retry-After", ra, sizeof(ra)) != NULL &&
                          strtol(ra, NULL, 10) > 0,
                      "503 without Retry-After: %s", r.headers);
    }
    cJSON_Delete(j);
    gh_http_resp_free(&r);
    return status;
}

START_TEST(full_store_refuses_writes_with_503_and_keeps_serving)
{
    char ids[SF_FILL_MAX][64], id[64], failed_name[64], *tok, *alice;
    int acked = 0, failed = -1;
    struct rlimit unlimited;

    if (gh_test_pg_url() != NULL) {
        /* a full disk is the local SQLite file's failure; PostgreSQL's own outages are the
         * fleet suite's */
        fprintf(stderr, "store_full: skipped on PostgreSQL (SQLite file-size limit)\n");
        return;
    }
    sf_start(SF_FSIZE);
    tok = sf_token();
    alice =
        scim_create("/scim/v2/Users",
                    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
                    "\"userName\":\"" SF_UPN "\",\"externalId\":\"" SF_OID "\",\"active\":true}");
    sf_expect_allowed(tok);
    sf_expect_readyz(true);
    sf_expect_metrics(1, 0);

    /* fill until a write fails; every 201 is remembered */
    for (int i = 0; i < SF_FILL_MAX && failed < 0; i++) {
        if (sf_post(i, ids[acked]) == 201)
            acked++;
        else
            failed = i;
    }
    ck_assert_msg(failed >= 0, "%d writes of %d KiB under a %lld-byte limit all succeeded",
                  SF_FILL_MAX, SF_FILL_BYTES / 1024, SF_FSIZE);
    ck_assert_msg(acked > 0, "the first write already failed: the limit is too small");
    snprintf(failed_name, sizeof(failed_name), "userName eq \"fill-%d@contoso.example\"", failed);

    /* reads, lists and decisions still answer; the refused user is not there */
    for (int i = 0; i < acked; i++) {
        struct scim_res r = scim_call("GET", scim_path("/scim/v2/Users/%s", ids[i]), NULL);
        ck_assert_msg(r.status == 200, "GET acked %d: %ld", i, r.status);
        scim_res_free(&r);
    }
    ck_assert_int_eq(scim_count("/scim/v2/Users", failed_name), 0);
    sf_expect_allowed(tok);
    sf_expect_readyz(false);
    sf_expect_metrics(0, 1);
    ck_assert(gh_proc_wait_log(scim_client_proc(), "store cannot write", 2000));

    /* Entra retries: still refused while nothing changed */
    ck_assert_int_eq(sf_post(failed, id), 503);
    sf_expect_metrics(0, 2);

    /* space comes back (the soft limit goes up): the retry goes through, the condition clears */
    ck_assert(getrlimit(RLIMIT_FSIZE, &unlimited) == 0);
    unlimited.rlim_cur = unlimited.rlim_max;
    ck_assert_msg(prlimit(gh_proc_pid(scim_client_proc()), RLIMIT_FSIZE, &unlimited, NULL) == 0,
                  "prlimit: %s", strerror(errno));
    ck_assert_int_eq(sf_post(failed, ids[acked]), 201);
    acked++;
    sf_expect_readyz(true);
    sf_expect_metrics(1, 2);
    ck_assert(gh_proc_wait_log(scim_client_proc(), "store writable again", 2000));
    sf_stop();

    /* nothing acknowledged was lost */
    sf_start(0);
    for (int i = 0; i < acked; i++) {
        struct scim_res r = scim_call("GET", scim_path("/scim/v2/Users/%s", ids[i]), NULL);
        ck_assert_msg(r.status == 200, "after restart, acked %d: %ld", i, r.status);
        scim_res_free(&r);
    }
    ck_assert_int_eq(scim_count("/scim/v2/Users", failed_name), 1);
    ck_assert_int_eq(scim_count("/scim/v2/Users", "userName sw \"fill-\""), acked);
    sf_expect_allowed(tok);
    sf_stop();
    free(tok);
    free(alice);
    sf_free();
}
END_TEST

Suite *store_full_suite(void)
{
    Suite *s = suite_create("store_full");
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, full_store_refuses_writes_with_503_and_keeps_serving);
    suite_add_tcase(s, tc);
    return s;
}
