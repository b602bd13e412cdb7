/*
 * authz_bench.c - helpers for bench/authorize.sh (not a test):
 *   --emit DIR N            DIR/keys.json (JWKS) and DIR/tokens.txt: N valid tokens, one per
 *                           user u<i>@contoso.example with oid = a GUID derived from i
 *   --provision URL TOKEN NUSERS NGROUPS PER_GROUP
 *                           create the users over SCIM (externalId = the oid) and NGROUPS groups
 *                           "G<j>" with PER_GROUP members each, added 1000 per PATCH, the way
 *                           Entra batches them; keep-alive connection, bounded by its data
 */
#include "sidecar/gatehouse.h"
#include "tests/support/mint.h"

#include <check.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_TID "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define BENCH_ISS "https://login.microsoftonline.com/" BENCH_TID "/v2.0"
#define BENCH_AUD "api://gatehouse-bench"

static void bench_oid(int i, char out[37])
{
    snprintf(out, 37, "%08x-0000-4000-8000-%012d", i, i);
}

static void bench_emit(const char *dir, int n)
{
    struct gh_mint_key *k = gh_mint_key_load("rsa1", "bench-kid");
    char *doc = gh_mint_jwks(&k, 1), path[1024], oid[37], upn[64];
    FILE *f;

    snprintf(path, sizeof(path), "%s/keys.json", dir);
    f = fopen(path, "w");
    fputs(doc, f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/tokens.txt", dir);
    f = fopen(path, "w");
    for (int i = 0; i < n; i++) {
        cJSON *c = gh_mint_claims(BENCH_ISS, BENCH_AUD, BENCH_TID);
        char *tok;
        bench_oid(i, oid);
        snprintf(upn, sizeof(upn), "u%d@contoso.example", i);
        cJSON_ReplaceItemInObject(c, "oid", cJSON_CreateString(oid));
        cJSON_ReplaceItemInObject(c, "preferred_username", cJSON_CreateString(upn));
        gh_mint_claims_time(c, "exp", 6 * 3600);
        tok = gh_mint_jwt(k, "RS256", c);
        fprintf(f, "%s\n", tok);
        free(tok);
        cJSON_Delete(c);
    }
    fclose(f);
    free(doc);
    gh_mint_key_free(k);
}

struct bench_sink {
    char buf[4096];
    size_t len;
};

static size_t bench_write(char *p, size_t size, size_t n, void *ctx)
{
    struct bench_sink *s = ctx;
    size_t len = size * n, room = sizeof(s->buf) - 1 - s->len;
    memcpy(s->buf + s->len, p, len < room ? len : room);
    s->len += len < room ? len : room;
    s->buf[s->len] = '\0';
    return len;
}

/* One SCIM request on the shared handle; returns the status, the body in sink. */
static long bench_scim(CURL *c, struct curl_slist *h, const char *method, const char *url,
                       const char *body, struct bench_sink *sink)
{
    long status = 0;
    sink->len = 0;
    sink->buf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, bench_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static char *bench_id(const char *json)
{
    cJSON *j = cJSON_Parse(json);
    char *id = gh_xstrdup(cJSON_GetObjectItem(j, "id")->valuestring);
    cJSON_Delete(j);
    return id;
}

static int bench_provision(const char *base, const char *token, int nusers, int ngroups,
                           int per_group)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    struct bench_sink sink;
    char url[512], auth[256], body[1024], oid[37];
    char **ids = gh_xcalloc((size_t)nusers, sizeof(char *));
    struct gh_buf patch;

    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Content-Type: application/scim+json");
    h = curl_slist_append(h, "Expect:");
    snprintf(url, sizeof(url), "%s/scim/v2/Users", base);
    for (int i = 0; i < nusers; i++) {
        bench_oid(i, oid);
        snprintf(body, sizeof(body),
                 "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":"
                 "\"u%d@contoso.example\",\"externalId\":\"%s\",\"active\":true}",
                 i, oid);
        if (bench_scim(c, h, "POST", url, body, &sink) != 201) {
            fprintf(stderr, "authz_bench: POST user %d: %s\n", i, sink.buf);
            return 1;
        }
        ids[i] = bench_id(sink.buf);
    }
    gh_buf_init(&patch, 16 * 1024 * 1024);
    for (int g = 0; g < ngroups; g++) {
        char *gid;
        snprintf(url, sizeof(url), "%s/scim/v2/Groups", base);
        snprintf(body, sizeof(body),
                 "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],"
                 "\"displayName\":\"G%d\"}",
                 g);
        if (bench_scim(c, h, "POST", url, body, &sink) != 201) {
            fprintf(stderr, "authz_bench: POST group %d: %s\n", g, sink.buf);
            return 1;
        }
        gid = bench_id(sink.buf);
        snprintf(url, sizeof(url), "%s/scim/v2/Groups/%s", base, gid);
        for (int m = 0; m < per_group;) {
            gh_buf_reset(&patch);
            gh_buf_puts(&patch,
                        "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
                        "\"Operations\":[{\"op\":\"Add\",\"path\":\"members\",\"value\":[",
                        NULL);
            for (int k = 0; k < 1000 && m < per_group; k++, m++)
                gh_buf_printf(&patch, NULL, "%s{\"value\":\"%s\"}", k ? "," : "",
                              ids[((long)g * 7919 + m) % nusers]);
            gh_buf_puts(&patch, "]}]}", NULL);
            if (bench_scim(c, h, "PATCH", url, gh_buf_str(&patch), &sink) != 204) {
                fprintf(stderr, "authz_bench: PATCH group %d: %s\n", g, sink.buf);
                return 1;
            }
        }
        free(gid);
    }
    gh_buf_free(&patch);
    for (int i = 0; i < nusers; i++)
        free(ids[i]);
    free(ids);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return 0;
}

static int bench_argc;
static char **bench_argv;
static int bench_rc;

/* mint.c reports with Check's assertions, so the work runs as one (unforked) Check test. */
START_TEST(bench_main)
{
    if (bench_argc == 4 && strcmp(bench_argv[1], "--emit") == 0) {
        bench_emit(bench_argv[2], (int)strtol(bench_argv[3], NULL, 10));
        return;
    }
    if (bench_argc == 8 && strcmp(bench_argv[1], "--provision") == 0) {
        bench_rc = bench_provision(
            bench_argv[2], bench_argv[3], (int)strtol(bench_argv[4], NULL, 10),
            (int)strtol(bench_argv[5], NULL, 10), (int)strtol(bench_argv[6], NULL, 10));
        return;
    }
    fprintf(stderr, "usage: authz_bench --emit DIR N | --provision URL TOKEN NUSERS NGROUPS "
                    "PER_GROUP -\n");
    bench_rc = 2;
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("authz_bench");
    TCase *tc = tcase_create("bench");
    SRunner *sr;
    int failed;

    bench_argc = argc;
    bench_argv = argv;
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, bench_main);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_SILENT);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : bench_rc;
}
