/*
 * token_bench.c - validations per second of authz_token_verify on one core, in process:
 *   (a) the same token repeated (verified-token cache hits),
 *   (b) a stream of distinct valid RS256 tokens (full check: split, header, key lookup,
 *       signature with the cached EVP_PKEY, claims, cache insert).
 * Prints "same <per-s> distinct <per-s>" for bench/token.sh, which sets them against
 * `openssl speed rsa2048` verify/s measured in the same run. Runs as one Check test without
 * fork because the minting helpers report through Check.
 */
#include "authz/authz.h"
#include "jwks/jwks.h"
#include "sidecar/gatehouse.h"
#include "tests/support/mint.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_DISTINCT 4000
#define BENCH_TID      "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define BENCH_ISS      "https://login.microsoftonline.com/" BENCH_TID "/v2.0"

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_verify(struct authz_verifier *v, const char *tok)
{
    struct authz_claims *c = NULL;
    struct gh_err err = {0};

    if (authz_token_verify(v, tok, strlen(tok), &c, &err) != GH_OK) {
        fprintf(stderr, "token_bench: token rejected: %s\n", err.msg);
        exit(1);
    }
    authz_claims_release(c);
}

/* A fresh verifier (so an empty token cache) over opts (borrowed: outlives the verifier). */
static struct authz_verifier *bench_verifier(const struct authz_verifier_opts *opts,
                                             struct jwks_cache *jc)
{
    struct authz_verifier *v = NULL;
    struct gh_err err = {0};

    if (authz_verifier_new(opts, jc, &v, &err) != GH_OK) {
        fprintf(stderr, "token_bench: %s\n", err.msg);
        exit(1);
    }
    return v;
}

static double bench_seconds = 3.0;
static const char *bench_emit_dir;

/* Write DIR/keys.json (the JWKS) and DIR/token (one valid token for the issuer in DIR/iss and
 * audience api://gatehouse-bench) for the HTTP benchmark. */
static void bench_emit(const char *dir)
{
    struct gh_mint_key *k = gh_mint_key_load("rsa1", "nOo3ZDrODXEK1jKWhXslHR_KXEg");
    char *doc = gh_mint_jwks(&k, 1), *tok, path[1024];
    cJSON *c = gh_mint_claims(BENCH_ISS, "api://gatehouse-bench", BENCH_TID);
    FILE *f;

    gh_mint_claims_time(c, "exp", 6 * 3600);
    tok = gh_mint_jwt(k, "RS256", c);
    snprintf(path, sizeof(path), "%s/keys.json", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(doc, f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/token", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(tok, f);
    fclose(f);
    cJSON_Delete(c);
    free(tok);
    free(doc);
    gh_mint_key_free(k);
}

static void bench_measure(void)
{
    static const char *const env[] = {"GATEHOUSE_AUDIENCE=api://gatehouse-bench",
                                      "GATEHOUSE_TOKEN_CACHE_SIZE=100000", NULL};
    double seconds = bench_seconds;
    struct gh_config *cfg = NULL;
    struct jwks_cache *jc = NULL;
    struct jwks_cache_opts jo;
    struct authz_verifier_opts vo;
    struct authz_verifier *v;
    struct gh_err err = {0};
    struct gh_mint_key *k = gh_mint_key_load("rsa1", "nOo3ZDrODXEK1jKWhXslHR_KXEg");
    char *doc = gh_mint_jwks(&k, 1), **toks;
    double t0, t1;
    long n = 0, distinct = 0;

    gh_log_set_level(GH_LOG_ERROR);
    if (gh_config_load(NULL, (char *const *)env, &cfg, &err) != GH_OK)
        ck_abort_msg("token_bench: %s", err.msg);
    gh_config_jwks_opts(cfg, &jo);
    gh_config_verifier_opts(cfg, &vo);
    if (jwks_cache_new(&jo, &jc, &err) != GH_OK ||
        jwks_cache_load_doc(jc, doc, strlen(doc), BENCH_ISS, &err) != GH_OK) {
        ck_abort_msg("token_bench: %s", err.msg);
    }
    /* Entra-sized tokens (~1.3 KB): the usual v2 claims plus a few groups. */
    toks = calloc(BENCH_DISTINCT, sizeof(*toks));
    for (int i = 0; i < BENCH_DISTINCT; i++) {
        cJSON *c = gh_mint_claims(BENCH_ISS, "api://gatehouse-bench", BENCH_TID);
        cJSON *g = cJSON_AddArrayToObject(c, "groups");
        char gid[40];
        for (int j = 0; j < 8; j++) {
            snprintf(gid, sizeof(gid), "%08x-1111-4222-8333-%012d", i, j);
            cJSON_AddItemToArray(g, cJSON_CreateString(gid));
        }
        cJSON_AddStringToObject(c, "uti", gid);
        toks[i] = gh_mint_jwt(k, "RS256", c);
        cJSON_Delete(c);
    }

    /* (a) the same token */
    v = bench_verifier(&vo, jc);
    bench_verify(v, toks[0]);
    t0 = bench_now();
    do {
        if (getenv("BENCH_DISTINCT_ONLY") != NULL)
            break;
        for (int i = 0; i < 1000; i++)
            bench_verify(v, toks[0]);
        n += 1000;
        t1 = bench_now();
    } while (t1 - t0 < seconds);
    printf("same %.0f\n", (double)n / (t1 - t0));
    authz_verifier_free(v);

    /* (b) distinct tokens, each seen once by a fresh verifier (every one a full check) */
    t0 = bench_now();
    t1 = t0;
    while (t1 - t0 < seconds) {
        double s;
        v = bench_verifier(&vo, jc);
        s = bench_now();
        for (int i = 0; i < BENCH_DISTINCT; i++)
            bench_verify(v, toks[i]);
        t1 += bench_now() - s;
        distinct += BENCH_DISTINCT;
        authz_verifier_free(v);
    }
    printf("distinct %.0f\n", (double)distinct / (t1 - t0));

    for (int i = 0; i < BENCH_DISTINCT; i++)
        free(toks[i]);
    free(toks);
    free(doc);
    gh_mint_key_free(k);
    jwks_cache_free(jc);
    gh_config_free(cfg);
}

START_TEST(bench_token)
{
    if (bench_emit_dir != NULL)
        bench_emit(bench_emit_dir);
    else
        bench_measure();
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("token_bench");
    TCase *tc = tcase_create("bench");
    SRunner *sr;
    int failed;

    if (argc > 2 && strcmp(argv[1], "--emit") == 0)
        bench_emit_dir = argv[2];
    else if (argc > 1)
        bench_seconds = strtod(argv[1], NULL);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, bench_token);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_SILENT);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
