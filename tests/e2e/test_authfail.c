/*
 * test_authfail.c - secret guessing (issue 9, item 9): a flood of wrong bearer secrets from one
 * address is answered 429 with Retry-After (a SCIM Error on SCIM routes, JSON on the admin API)
 * once its burst is spent, while Entra-shaped writes with the right secret from another address
 * run at normal speed; the right secret passes even from the flooding address; the log holds a
 * summary, not one line per failure; /v1/ext_authz never answers 429.
 *
 * Two clients on one machine: the flood comes from 127.0.0.1, "Entra" from 127.0.0.2 (both are
 * loopback on Linux). Every loop is bounded in requests and in time.
 */
#include "tests/support/scim_client.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define ADMIN_TOKEN   "e2e-admin-secret-0123456789abcdef"
#define WRONG_AUTH    "Authorization: Bearer wrong-guess-000000000000000000"
#define FLOOD_THREADS 2
#define FLOOD_EACH    1000  /* at least 2,000 wrong secrets in all ... */
#define FLOOD_MAX     20000 /* ... and on until "Entra" is done, within bounds */
#define ENTRA_WRITES  50    /* POST /Users + PATCH members each */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct gh_fixture *fx;

/* The daemon alone (no IdP) with both secrets and a failure summary every second. */
static void start(void)
{
    static const char *const extra[] = {"GATEHOUSE_LOG_LEVEL=info",
                                        "GATEHOUSE_AUTH_FAIL_LOG_INTERVAL=1", NULL};
    fx = scim_e2e_fixture_start(&(struct gh_fixture_opts){
        .no_idp = true, .scim_token = SCIM_TOKEN, .admin_token = ADMIN_TOKEN, .extra = extra});
}

static void stop(void)
{
    scim_e2e_fixture_stop(fx);
}

/* How often a string occurs in the log. */
static int log_count(const char *needle)
{
    int n = 0;
    for (const char *p = gh_proc_log(scim_client_proc()); (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* A whole-seconds Retry-After (RFC 9110 §10.2.3 delay-seconds), 1 or more. */
static long retry_after(const struct gh_http_resp *r)
{
    char v[32], *end;
    long n;
    ck_assert_msg(gh_http_resp_header(r, "Retry-After", v, sizeof(v)) != NULL,
                  "429 without Retry-After: %s", r->headers);
    n = strtol(v, &end, 10);
    ck_assert_msg(end != v && *end == '\0' && n >= 1 && n <= 3600, "Retry-After: %s", v);
    return n;
}

static atomic_bool entra_done;

struct flood {
    struct gh_http_client *c;
    const char *path;
    int n401, n429, other;
    long last_status;
    char bad[512]; /* the first malformed 429, if any */
};

/* Wrong secrets on one kept-alive connection; every 429 must be a SCIM Error with Retry-After. */
static void *flood_run(void *arg)
{
    struct flood *f = arg;
    const char *hdrs[] = {WRONG_AUTH, NULL};
    char url[512];
    double deadline = now_s() + 20;

    snprintf(url, sizeof(url), "%s%s", gh_proc_url(scim_client_proc()), f->path);
    for (int i = 0;
         (i < FLOOD_EACH || !atomic_load(&entra_done)) && i < FLOOD_MAX && now_s() < deadline;
         i++) {
        struct gh_http_resp r;
        if (gh_http_client_do(f->c, "GET", url, hdrs, NULL, &r) != 0) {
            f->other++;
            gh_http_resp_free(&r);
            continue;
        }
        f->last_status = r.status;
        if (r.status == 401) {
            f->n401++;
        } else if (r.status == 429) {
            char ra[32];
            cJSON *j = cJSON_Parse(r.body);
            cJSON *st = cJSON_GetObjectItem(j, "status");
            bool ok = gh_http_resp_header(&r, "Retry-After", ra, sizeof(ra)) != NULL &&
                      strtol(ra, NULL, 10) >= 1 && cJSON_IsString(st) &&
                      strcmp(st->valuestring, "429") == 0 &&
                      strstr(r.headers, "application/scim+json") != NULL;
            if (!ok && f->bad[0] == '\0')
                snprintf(f->bad, sizeof(f->bad), "%s%s", r.headers, r.body);
            cJSON_Delete(j);
            f->n429++;
        } else {
            f->other++;
        }
        gh_http_resp_free(&r);
    }
    return NULL;
}

struct entra {
    struct gh_http_client *c;
    const char *gid;
    int ok, throttled, failed;
    double slowest;
    char first_failure[512];
};

static void entra_call(struct entra *e, const char *method, const char *path, const char *body,
                       long want)
{
    const char *hdrs[] = {SCIM_AUTH, SCIM_CT, NULL};
    struct gh_http_resp r;
    char url[512];
    double t0 = now_s(), dt;
    int rc;

    snprintf(url, sizeof(url), "%s%s", gh_proc_url(scim_client_proc()), path);
    rc = gh_http_client_do(e->c, method, url, hdrs, body, &r);
    dt = now_s() - t0;
    if (dt > e->slowest)
        e->slowest = dt;
    if (rc == 0 && r.status == want) {
        e->ok++;
    } else {
        if (r.status == 429)
            e->throttled++;
        e->failed++;
        if (e->first_failure[0] == '\0')
            snprintf(e->first_failure, sizeof(e->first_failure), "%s %s: %ld %s", method, path,
                     r.status, r.body);
    }
    gh_http_resp_free(&r);
}

/* What Entra's provisioning client writes in a cycle (ENTRA.md §1.9, §1.16). No ck_assert in
 * threads: failures are counted and checked on the test's own thread. */
static void *entra_run(void *arg)
{
    struct entra *e = arg;
    char body[1024], path[256];

    for (int i = 0; i < ENTRA_WRITES; i++) {
        struct gh_http_resp r;
        const char *hdrs[] = {SCIM_AUTH, SCIM_CT, NULL};
        char url[512];
        snprintf(body, sizeof(body),
                 "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"" ENT_URN
                 "\"],\"externalId\":\"flood%d\",\"userName\":\"flood%d@contoso.example\","
                 "\"active\":true,\"emails\":[{\"primary\":true,\"type\":\"work\",\"value\":"
                 "\"flood%d@contoso.example\"}],\"meta\":{\"resourceType\":\"User\"},"
                 "\"name\":{\"formatted\":\"F %d\",\"familyName\":\"%d\",\"givenName\":\"F\"},"
                 "\"roles\":[]}",
                 i, i, i, i, i);
        /* POST, then read the new id back from the same response */
        snprintf(url, sizeof(url), "%s/scim/v2/Users", gh_proc_url(scim_client_proc()));
        double t0 = now_s();
        int rc = gh_http_client_do(e->c, "POST", url, hdrs, body, &r);
        double dt = now_s() - t0;
        if (dt > e->slowest)
            e->slowest = dt;
        if (rc != 0 || r.status != 201) {
            if (r.status == 429)
                e->throttled++;
            e->failed++;
            if (e->first_failure[0] == '\0')
                snprintf(e->first_failure, sizeof(e->first_failure), "POST /Users: %ld %s",
                         r.status, r.body);
            gh_http_resp_free(&r);
            continue;
        }
        e->ok++;
        cJSON *j = cJSON_Parse(r.body);
        snprintf(body, sizeof(body),
                 "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
                 "\"Operations\":[{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"$ref\":null,"
                 "\"value\":\"%s\"}]}]}",
                 cJSON_GetObjectItem(j, "id")->valuestring);
        cJSON_Delete(j);
        gh_http_resp_free(&r);
        snprintf(path, sizeof(path), "/scim/v2/Groups/%s", e->gid);
        entra_call(e, "PATCH", path, body, 204);
    }
    atomic_store(&entra_done, true);
    return NULL;
}

/* The flood gets 429 after its burst; Entra from another address is not slowed; the right
 * secret still passes from the flooding address; the log summarises. */
START_TEST(flood_throttled_entra_unharmed)
{
    struct flood fl[FLOOD_THREADS];
    struct entra en = {0};
    pthread_t ft[FLOOD_THREADS], et;
    struct gh_http_resp r = {0};
    char url[512], *gid = scim_create_group("Flood watchers");
    int n401 = 0, n429 = 0, other = 0;
    int extra = 0, extra429 = 0; /* wrong secrets after the flood, and their 429s */
    double t0, secs;

    memset(fl, 0, sizeof(fl));
    atomic_store(&entra_done, false);
    /* clients before threads: libcurl's global init is not thread-safe */
    for (int i = 0; i < FLOOD_THREADS; i++) {
        fl[i].c = gh_http_client_new("127.0.0.1");
        fl[i].path =
            i == 0 ? "/scim/v2/Users" : "/scim/v2/Groups?filter=displayName%20eq%20%22x%22";
    }
    en.c = gh_http_client_new("127.0.0.2");
    en.gid = gid;
    t0 = now_s();
    for (int i = 0; i < FLOOD_THREADS; i++)
        ck_assert_int_eq(pthread_create(&ft[i], NULL, flood_run, &fl[i]), 0);
    ck_assert_int_eq(pthread_create(&et, NULL, entra_run, &en), 0);
    pthread_join(et, NULL);
    for (int i = 0; i < FLOOD_THREADS; i++) {
        pthread_join(ft[i], NULL);
        n401 += fl[i].n401;
        n429 += fl[i].n429;
        other += fl[i].other;
        ck_assert_msg(fl[i].bad[0] == '\0', "malformed 429: %s", fl[i].bad);
        ck_assert_int_eq(fl[i].last_status, 429);
    }
    secs = now_s() - t0;

    /* Entra: every write succeeded, none throttled, none slow */
    ck_assert_msg(en.failed == 0, "%d Entra writes failed (%d throttled); first: %s", en.failed,
                  en.throttled, en.first_failure);
    ck_assert_int_eq(en.ok, 2 * ENTRA_WRITES);
    ck_assert_msg(en.slowest < 1.0, "slowest Entra write took %.3f s", en.slowest);

    /* the flood: the burst (20) plus about one a second answered 401, the rest 429 */
    ck_assert_int_eq(other, 0);
    ck_assert_int_ge(n401 + n429, FLOOD_THREADS * FLOOD_EACH);
    ck_assert_msg(n401 <= 20 + (int)secs + 2, "%d of %d wrong secrets got 401 in %.1f s", n401,
                  n401 + n429, secs);

    /* the right secret passes from the throttled address (made sure of first: a second may
     * have passed since the flood's end and earned one failure back) */
    {
        const char *right[] = {SCIM_AUTH, NULL}, *wrong[] = {WRONG_AUTH, NULL};
        snprintf(url, sizeof(url), "%s/scim/v2/Users?count=1", gh_proc_url(scim_client_proc()));
        for (int i = 0; i < 5 && r.status != 429; i++) {
            if (i > 0)
                gh_http_resp_free(&r);
            ck_assert_int_eq(gh_http_client_do(fl[0].c, "GET", url, wrong, NULL, &r), 0);
            extra++;
            extra429 += r.status == 429;
        }
        ck_assert_int_eq(r.status, 429);
        retry_after(&r);
        ck_assert_ptr_null(gh_http_resp_header(&r, "WWW-Authenticate", url, sizeof(url)));
        gh_http_resp_free(&r);
        ck_assert_int_eq(gh_http_client_do(fl[0].c, "GET", url, right, NULL, &r), 0);
        ck_assert_int_eq(r.status, 200);
        gh_http_resp_free(&r);
        /* /v1/ext_authz may only answer 200/401/403, whatever the address did before */
        snprintf(url, sizeof(url), "%s/v1/ext_authz/payroll", gh_proc_url(scim_client_proc()));
        ck_assert_int_eq(gh_http_client_do(fl[0].c, "GET", url, wrong, NULL, &r), 0);
        ck_assert_msg(r.status == 401 || r.status == 403, "ext_authz answered %ld", r.status);
        gh_http_resp_free(&r);
    }

    /* metrics count every failure and every throttled one */
    {
        char want[128];
        snprintf(url, sizeof(url), "%s/metrics", gh_proc_url(scim_client_proc()));
        ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
        snprintf(want, sizeof(want), "gatehouse_auth_failures_total{route=\"scim\"} %d",
                 n401 + n429 + extra);
        ck_assert_msg(strstr(r.body, want) != NULL, "no '%s' in\n%s", want, r.body);
        snprintf(want, sizeof(want), "gatehouse_auth_throttled_total %d", n429 + extra429);
        ck_assert_msg(strstr(r.body, want) != NULL, "no '%s' in\n%s", want, r.body);
        gh_http_resp_free(&r);
    }

    /* the log: a summary with the count, not a line per failure, and never the secret */
    ck_assert_msg(gh_proc_wait_log(scim_client_proc(), "msg=\"auth failures\"", 5000),
                  "no summary: %s", gh_proc_log(scim_client_proc()));
    ck_assert_msg(gh_proc_wait_log(scim_client_proc(), "addr=127.0.0.1", 100), "no address");
    ck_assert_int_eq(log_count("addr=127.0.0.2"), 0);
    ck_assert_msg(log_count("mod=auth ") <= 20, "%d auth lines for %d failures",
                  log_count("mod=auth "), n401 + n429);
    ck_assert_int_le(log_count("\"unauthorized\""), 20);
    /* the access log too: a line for each 401 of the burst, none for the throttled tries */
    ck_assert_msg(log_count("status=429") == 0, "%d access lines for throttled tries",
                  log_count("status=429"));
    ck_assert_int_le(log_count("status=401"), 20 + extra + 2);
    ck_assert_ptr_null(strstr(gh_proc_log(scim_client_proc()), "wrong-guess"));
    {
        /* the counts in the lines add up to every failure once the last interval is out */
        double deadline = now_s() + 5;
        int total = 0;
        while (now_s() < deadline) {
            const char *p;
            total = log_count("msg=\"unauthorized\" route=scim");
            p = gh_proc_log(scim_client_proc()); /* after log_count, which reads the log anew */
            while ((p = strstr(p, "msg=\"auth failures\" route=scim")) != NULL) {
                const char *c = strstr(p, " count=");
                total += c != NULL ? (int)strtol(c + 7, NULL, 10) : 0;
                p++;
            }
            if (total >= n401 + n429 + extra)
                break;
            struct timespec nap = {0, 100L * 1000 * 1000};
            nanosleep(&nap, NULL);
        }
        ck_assert_int_eq(total, n401 + n429 + extra);
    }

    for (int i = 0; i < FLOOD_THREADS; i++)
        gh_http_client_free(fl[i].c);
    gh_http_client_free(en.c);
    free(gid);
}
END_TEST

/* The admin API: the same budget, a JSON error with Retry-After, the right secret still passes */
START_TEST(admin_throttled_json)
{
    struct gh_http_client *c = gh_http_client_new("127.0.0.1");
    const char *wrong[] = {"Authorization: Bearer wrong-admin-guess-00000000", NULL};
    const char *right[] = {"Authorization: Bearer " ADMIN_TOKEN, NULL};
    struct gh_http_resp r;
    char url[512];
    int n401 = 0, n429 = 0;

    snprintf(url, sizeof(url), "%s/admin/v1/access-groups", gh_proc_url(scim_client_proc()));
    for (int i = 0; i < 60; i++) {
        ck_assert_int_eq(gh_http_client_do(c, "GET", url, wrong, NULL, &r), 0);
        if (r.status == 401) {
            n401++;
        } else {
            cJSON *j = cJSON_Parse(r.body);
            ck_assert_int_eq(r.status, 429);
            retry_after(&r);
            ck_assert_msg(cJSON_IsString(cJSON_GetObjectItem(j, "error")), "%s", r.body);
            ck_assert_str_eq(cJSON_GetObjectItem(j, "error")->valuestring, "too_many_requests");
            cJSON_Delete(j);
            n429++;
        }
        gh_http_resp_free(&r);
    }
    ck_assert_msg(n401 >= 20 && n401 <= 25, "%d got 401", n401);
    ck_assert_int_eq(n401 + n429, 60);
    ck_assert_int_eq(gh_http_client_do(c, "GET", url, right, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    gh_http_resp_free(&r);
    /* the budget is the address's: SCIM from it is throttled too, other addresses are not */
    {
        struct gh_http_client *other = gh_http_client_new("127.0.0.2");
        snprintf(url, sizeof(url), "%s/scim/v2/Users", gh_proc_url(scim_client_proc()));
        ck_assert_int_eq(gh_http_client_do(c, "GET", url, wrong, NULL, &r), 0);
        ck_assert_int_eq(r.status, 429);
        gh_http_resp_free(&r);
        ck_assert_int_eq(gh_http_client_do(other, "GET", url, wrong, NULL, &r), 0);
        ck_assert_int_eq(r.status, 401);
        gh_http_resp_free(&r);
        gh_http_client_free(other);
    }
    gh_http_client_free(c);
}
END_TEST

Suite *authfail_e2e_suite(void)
{
    Suite *s = suite_create("authfail_e2e");
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, start, stop);
    tcase_add_test(tc, flood_throttled_entra_unharmed);
    tcase_add_test(tc, admin_throttled_json);
    suite_add_tcase(s, tc);
    return s;
}
