/*
 * test_token.c - bearer tokens against the real binary: POST /v1/authorize with tokens minted at
 * run time, keys served by the loopback IdP (tests/support/idp.c). Covers readiness before the
 * first key set, the fail-closed decision, body validation, every rejection rule as its own test
 * (RFC 6750 challenge and error_description), 403 insufficient_scope, key rotation, JWKS
 * outages, unknown-kid floods (bounded fetch count), metrics, and logs without tokens.
 */
#include "tests/support/fixture.h"
#include "tests/support/idp.h"
#include "tests/support/mint.h"
#include "tests/support/support.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TID  "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define AUD  GH_IDP_AUDIENCE
#define BODY "{\"dataset\":\"sales\",\"action\":\"protect\"}"

struct efx {
    struct gh_fixture *fx;
    struct gh_idp *idp;          /* borrowed from fx */
    struct gh_mint_key *k1, *k2; /* k1 borrowed from fx ("kid-one"), k2 ("kid-two") owned */
    struct gh_proc *p;           /* borrowed from fx */
    char url[256];
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The IdP of fx (its daemon not started yet) with k2 loaded but not published. */
static void efx_take(struct efx *f, struct gh_fixture *fx)
{
    f->fx = fx;
    f->idp = fx->idp;
    f->k1 = fx->key;
    f->k2 = gh_mint_key_load("rsa2", "kid-two");
}

/* Start the daemon of f->fx; f->url is its /v1/authorize. */
static void efx_daemon(struct efx *f)
{
    gh_fixture_daemon_start(f->fx);
    f->p = f->fx->proc;
    snprintf(f->url, sizeof(f->url), "%s/v1/authorize", gh_proc_url(f->p));
}

/* IdP with k1 ("kid-one") answering with Cache-Control max-age (-1: none), or with the JWKS
 * document raw_jwks when not NULL, and with discovery issuer disc_issuer when not NULL; daemon
 * pointed at it with `extra` settings. */
static void efx_start_full(struct efx *f, const char *const *extra, bool wait_ready, long max_age,
                           const char *raw_jwks, const char *disc_issuer)
{
    const char *env[32];
    size_t n = 0;

    env[n++] = "GATEHOUSE_JWKS_REFRESH_MIN=1";
    env[n++] = "GATEHOUSE_HTTP_TIMEOUT=2";
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 31; i++)
        env[n++] = extra[i];
    env[n] = NULL;
    efx_take(f, gh_fixture_start(&(struct gh_fixture_opts){
                    .tid = TID, .no_daemon = true, .no_wait_ready = !wait_ready, .extra = env}));
    if (raw_jwks != NULL)
        gh_idp_set_jwks_raw(f->idp, raw_jwks);
    if (disc_issuer != NULL)
        gh_idp_set_issuer(f->idp, disc_issuer);
    gh_idp_set_max_age(f->idp, max_age);
    efx_daemon(f);
}

static void efx_start_age(struct efx *f, const char *const *extra, bool wait_ready, long max_age)
{
    efx_start_full(f, extra, wait_ready, max_age, NULL, NULL);
}

static void efx_start(struct efx *f, const char *const *extra, bool wait_ready)
{
    efx_start_age(f, extra, wait_ready, 86400);
}

static void efx_stop(struct efx *f)
{
    gh_fixture_stop(f->fx);
    gh_mint_key_free(f->k2);
}

static cJSON *claims(const struct efx *f)
{
    return gh_mint_claims(gh_idp_issuer(f->idp), AUD, TID);
}

/* Sign claims (taken and freed) with k. */
static char *mintk(const struct gh_mint_key *k, const char *alg, cJSON *c)
{
    char *t = gh_mint_jwt(k, alg, c);
    cJSON_Delete(c);
    return t;
}

/* POST /v1/authorize with `tok` (NULL: no Authorization header) and body. */
static void authorize(struct efx *f, const char *tok, const char *body, struct gh_http_resp *r)
{
    size_t n = tok ? strlen(tok) + 32 : 0;
    char *auth = tok ? malloc(n) : NULL;
    const char *hdrs[3] = {"Content-Type: application/json", NULL, NULL};

    if (tok != NULL) {
        snprintf(auth, n, "Authorization: Bearer %s", tok);
        hdrs[1] = auth;
    }
    ck_assert_int_eq(gh_http("POST", f->url, hdrs, body, NULL, r), 0);
    free(auth);
}

/* Expect a 401/403 challenge with error `code` and a description containing `want`. */
static void expect_challenge(struct gh_http_resp *r, long status, const char *code,
                             const char *want)
{
    char h[1024], needle[128];

    ck_assert_msg(r->status == status, "status %ld, want %ld: %s", r->status, status, r->body);
    ck_assert_ptr_nonnull(gh_http_resp_header(r, "WWW-Authenticate", h, sizeof(h)));
    snprintf(needle, sizeof(needle), "Bearer realm=\"gatehouse\", error=\"%s\"", code);
    ck_assert_msg(strncmp(h, needle, strlen(needle)) == 0, "challenge: %s", h);
    ck_assert_msg(strstr(h, "error_description=\"") != NULL, "challenge: %s", h);
    ck_assert_msg(strstr(h, want) != NULL, "challenge \"%s\" lacks \"%s\"", h, want);
}

/* ---- readiness, decision, body ----------------------------------------------------------- */

START_TEST(readyz_false_until_keys_loaded)
{
    struct gh_fixture *fx = gh_fixture_start(
        &(struct gh_fixture_opts){.tid = TID, .no_daemon = true, .no_wait_ready = true});
    struct gh_idp *idp = fx->idp;
    struct gh_http_resp r;
    char url[256];
    bool ready = false;

    gh_idp_set_mode(idp, GH_IDP_FAIL, GH_IDP_OK);
    gh_fixture_daemon_start(fx);
    snprintf(url, sizeof(url), "%s/readyz", gh_proc_url(fx->proc));
    ck_assert_uint_ge(gh_idp_wait_jwks_fetches(idp, 1, 5000), 1);
    ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
    ck_assert_msg(r.status == 503 && strstr(r.body, "jwks") != NULL, "%ld %s", r.status, r.body);
    gh_http_resp_free(&r);
    gh_idp_set_mode(idp, GH_IDP_OK, GH_IDP_OK);
    for (int i = 0; i < 400 && !ready; i++) {
        ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
        ready = r.status == 200;
        gh_http_resp_free(&r);
        if (!ready)
            sleep_ms(25);
    }
    ck_assert_msg(ready, "never became ready after the IdP recovered");
    gh_fixture_stop(fx);
}
END_TEST

START_TEST(valid_token_unprovisioned_subject_denied)
{
    struct efx f;
    struct gh_http_resp r;
    cJSON *j, *sub, *res;
    char *tok, h[256];

    efx_start(&f, NULL, true);
    tok = mintk(f.k1, "RS256", claims(&f));
    authorize(&f, tok, BODY, &r);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_str_eq(gh_http_resp_header(&r, "Content-Type", h, sizeof(h)), "application/json");
    j = cJSON_Parse(r.body);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "allowed")));
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(j, "decision_id")));
    sub = cJSON_GetObjectItem(j, "subject");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(sub, "id")));
    ck_assert_str_eq(cJSON_GetObjectItem(sub, "tenant")->valuestring, TID);
    res = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(res, "allowed")));
    ck_assert_str_eq(cJSON_GetObjectItem(res, "reason")->valuestring,
                     "subject is not provisioned (no SCIM user with "
                     "externalId=6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b or "
                     "userName=alice@contoso.example)");
    ck_assert_str_eq(cJSON_GetObjectItem(res, "dataset")->valuestring, "sales");
    cJSON_Delete(j);
    gh_http_resp_free(&r);
    free(tok);
    efx_stop(&f);
}
END_TEST

START_TEST(checks_array_each_denied)
{
    struct efx f;
    struct gh_http_resp r;
    cJSON *j;
    char *tok;

    efx_start(&f, NULL, true);
    tok = mintk(f.k1, "RS256", claims(&f));
    authorize(&f, tok,
              "{\"checks\":[{\"dataset\":\"a\",\"action\":\"protect\"},"
              "{\"dataset\":\"b\",\"action\":\"unprotect\"}]}",
              &r);
    ck_assert_int_eq(r.status, 200);
    j = cJSON_Parse(r.body);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "results")), 2);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "allowed")));
    cJSON_Delete(j);
    gh_http_resp_free(&r);
    free(tok);
    efx_stop(&f);
}
END_TEST

START_TEST(bad_bodies_are_400)
{
    static const char *const bodies[] = {
        "",
        "not json",
        "[]",
        "{\"dataset\":\"a\"}",
        "{\"dataset\":\"a\",\"action\":\"delete\"}",
        "{\"dataset\":\"\",\"action\":\"protect\"}",
        "{\"dataset\":1,\"action\":\"protect\"}",
        "{\"checks\":[]}",
        "{\"checks\":{}}",
        "{\"checks\":[1]}",
        "{\"checks\":[{\"dataset\":\"a\",\"action\":\"PROTECT\"}]}",
        "{\"dataset\":\"a\",\"action\":\"protect\",\"checks\":[]}",
    };
    struct efx f;
    struct gh_http_resp r;
    char *tok, *many;
    size_t cap = 101 * 48 + 32, used;

    efx_start(&f, NULL, true);
    tok = mintk(f.k1, "RS256", claims(&f));
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        authorize(&f, tok, bodies[i], &r);
        ck_assert_msg(r.status == 400, "body %zu: %ld %s", i, r.status, r.body);
        gh_http_resp_free(&r);
    }
    /* 101 checks: over the cap */
    many = malloc(cap);
    used = (size_t)snprintf(many, cap, "{\"checks\":[");
    for (int i = 0; i < 101; i++)
        used += (size_t)snprintf(many + used, cap - used,
                                 "%s{\"dataset\":\"d%d\",\"action\":\"protect\"}", i ? "," : "", i);
    snprintf(many + used, cap - used, "]}");
    authorize(&f, tok, many, &r);
    ck_assert_int_eq(r.status, 400);
    gh_http_resp_free(&r);
    free(many);
    free(tok);
    efx_stop(&f);
}
END_TEST

/* ---- each rejection rule, one test per row --------------------------------------------- */

/* A token for rule i (owned by the caller). */
typedef char *(*rule_mint_fn)(struct efx *f);

static char *mint_claims(struct efx *f, cJSON *c)
{
    char *t = gh_mint_jwt(f->k1, "RS256", c);
    cJSON_Delete(c);
    return t;
}

static char *rule_expired(struct efx *f)
{
    cJSON *c = claims(f);
    gh_mint_claims_time(c, "exp", -200);
    return mint_claims(f, c);
}

static char *rule_no_exp(struct efx *f)
{
    cJSON *c = claims(f);
    cJSON_DeleteItemFromObject(c, "exp");
    return mint_claims(f, c);
}

static char *rule_nbf_future(struct efx *f)
{
    cJSON *c = claims(f);
    gh_mint_claims_time(c, "nbf", 900);
    return mint_claims(f, c);
}

static char *rule_iat_future(struct efx *f)
{
    cJSON *c = claims(f);
    gh_mint_claims_time(c, "iat", 900);
    return mint_claims(f, c);
}

static char *rule_v1_issuer(struct efx *f)
{
    cJSON *c = claims(f);
    cJSON_ReplaceItemInObject(c, "iss", cJSON_CreateString("https://sts.windows.net/" TID "/"));
    return mint_claims(f, c);
}

static char *rule_other_issuer(struct efx *f)
{
    cJSON *c = claims(f);
    cJSON_ReplaceItemInObject(c, "iss", cJSON_CreateString("https://issuer.example/"));
    return mint_claims(f, c);
}

/* Token text with quotes and backslashes must not break out of the challenge's quoted-string. */
static char *rule_quoted_issuer(struct efx *f)
{
    cJSON *c = claims(f);
    cJSON_ReplaceItemInObject(c, "iss", cJSON_CreateString("https://e\"vil\\, error=\"x"));
    return mint_claims(f, c);
}

static char *rule_graph_aud(struct efx *f)
{
    cJSON *c = claims(f);
    cJSON_ReplaceItemInObject(c, "aud", cJSON_CreateString("00000003-0000-0000-c000-000000000000"));
    return mint_claims(f, c);
}

static char *rule_other_aud(struct efx *f)
{
    cJSON *c = claims(f);
    cJSON_ReplaceItemInObject(c, "aud", cJSON_CreateString("api://someone-else"));
    return mint_claims(f, c);
}

static char *rule_wrong_tenant(struct efx *f)
{
    cJSON *c = claims(f);
    cJSON_ReplaceItemInObject(c, "tid", cJSON_CreateString("0b6c8a1e-2f3d-4c5b-9a8e-7d6f5e4c3b2a"));
    return mint_claims(f, c);
}

static char *rule_alg_none(struct efx *f)
{
    cJSON *c = claims(f);
    char *p = cJSON_PrintUnformatted(c);
    static const char hdr[] = "{\"alg\":\"none\",\"kid\":\"kid-one\"}";
    char *h = gh_mint_b64url(hdr, strlen(hdr)), *pb = gh_mint_b64url(p, strlen(p));
    size_t n = strlen(h) + strlen(pb) + 8;
    char *t = malloc(n);
    snprintf(t, n, "%s.%s.AAAA", h, pb);
    free(h);
    free(pb);
    free(p);
    cJSON_Delete(c);
    return t;
}

static char *rule_hs256(struct efx *f)
{
    cJSON *c = claims(f);
    char *p = cJSON_PrintUnformatted(c), *pem = gh_mint_key_public_pem(f->k1);
    char *t = gh_mint_sign_hmac(pem, strlen(pem), "{\"alg\":\"HS256\",\"kid\":\"kid-one\"}", p);
    free(p);
    free(pem);
    cJSON_Delete(c);
    return t;
}

static char *rule_alg_not_allowed(struct efx *f)
{
    return mintk(f->k1, "RS512", claims(f));
}

static char *rule_crit(struct efx *f)
{
    cJSON *c = claims(f);
    char *p = cJSON_PrintUnformatted(c);
    char *t = gh_mint_sign(
        f->k1, "RS256", "{\"alg\":\"RS256\",\"kid\":\"kid-one\",\"crit\":[\"exp\"],\"exp\":1}", p);
    free(p);
    cJSON_Delete(c);
    return t;
}

static char *rule_no_kid(struct efx *f)
{
    cJSON *c = claims(f);
    char *p = cJSON_PrintUnformatted(c);
    char *t = gh_mint_sign(f->k1, "RS256", "{\"alg\":\"RS256\"}", p);
    free(p);
    cJSON_Delete(c);
    return t;
}

/* A token whose header offers a key of its own (member `name` with JSON `value`), signed with
 * the attacker's key under the attacker's kid. */
static char *mint_key_header(struct efx *f, const char *name, const char *value)
{
    struct gh_mint_key *evil = gh_mint_key_load("rsa3", "evil");
    cJSON *c = claims(f);
    char *p = cJSON_PrintUnformatted(c), hdr[2048];
    char *t;
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"evil\",\"%s\":%s}", name, value);
    t = gh_mint_sign(evil, "RS256", hdr, p);
    free(p);
    cJSON_Delete(c);
    gh_mint_key_free(evil);
    return t;
}

static char *rule_jku(struct efx *f)
{
    char v[400];
    snprintf(v, sizeof(v), "\"%s\"", gh_idp_jwks_url(f->idp));
    return mint_key_header(f, "jku", v);
}

static char *rule_x5u(struct efx *f)
{
    return mint_key_header(f, "x5u", "\"http://127.0.0.1:9/cert.pem\"");
}

static char *rule_jwk(struct efx *f)
{
    struct gh_mint_key *evil = gh_mint_key_load("rsa3", "evil");
    cJSON *jwk = gh_mint_key_jwk(evil);
    char *v = cJSON_PrintUnformatted(jwk);
    char *t = mint_key_header(f, "jwk", v);
    free(v);
    cJSON_Delete(jwk);
    gh_mint_key_free(evil);
    return t;
}

static char *rule_x5c(struct efx *f)
{
    return mint_key_header(f, "x5c", "[\"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\"]");
}

static char *rule_bad_signature(struct efx *f)
{
    struct gh_mint_key *impostor = gh_mint_key_load("rsa2", "kid-one");
    char *t = mintk(impostor, "RS256", claims(f));
    gh_mint_key_free(impostor);
    return t;
}

static char *rule_padding(struct efx *f)
{
    char *t = mintk(f->k1, "RS256", claims(f));
    size_t n = strlen(t);
    t = realloc(t, n + 3);
    memcpy(t + n, "==", 3);
    return t;
}

static char *rule_two_segments(struct efx *f)
{
    char *t = mintk(f->k1, "RS256", claims(f));
    *strrchr(t, '.') = '\0';
    return t;
}

static char *rule_duplicate_claim(struct efx *f)
{
    cJSON *c = claims(f);
    char *p = cJSON_PrintUnformatted(c), payload[4096];
    char *t;
    p[strlen(p) - 1] = '\0';
    snprintf(payload, sizeof(payload), "%s,\"aud\":\"api://evil\"}", p);
    t = gh_mint_sign(f->k1, "RS256", "{\"alg\":\"RS256\",\"kid\":\"kid-one\"}", payload);
    free(p);
    cJSON_Delete(c);
    return t;
}

static char *rule_oversized(struct efx *f)
{
    cJSON *c = claims(f);
    size_t n = 19 * 1024; /* base64url: a ~26 KB token, past GH_CAP_JWT, within the header cap */
    char *pad = malloc(n + 1);
    memset(pad, 'x', n);
    pad[n] = '\0';
    cJSON_AddStringToObject(c, "padding", pad);
    free(pad);
    return mint_claims(f, c);
}

static const struct {
    const char *name;
    rule_mint_fn mint;
    const char *desc;
} rules[] = {
    {"expired", rule_expired, "expired 3 min ago"},
    {"no exp", rule_no_exp, "token has no exp claim"},
    {"nbf", rule_nbf_future, "not valid yet"},
    {"iat", rule_iat_future, "issued in the future"},
    {"v1 issuer", rule_v1_issuer,
     "token issued by v1 endpoint sts.windows.net but only v2 issuer configured"},
    {"issuer", rule_other_issuer, "issuer https://issuer.example/ is not accepted"},
    {"quoted issuer", rule_quoted_issuer, "issuer https://e?vil?, error=?x is not accepted\""},
    {"graph audience", rule_graph_aud,
     "audience is 00000003-0000-0000-c000-000000000000 (a Microsoft Graph token): request a "
     "token for this API's scope"},
    {"audience", rule_other_aud, "audience api://someone-else is not this API"},
    {"tenant", rule_wrong_tenant, "is not allowed"},
    {"alg none", rule_alg_none, "alg none (unsigned token) is never accepted"},
    {"HS256", rule_hs256, "alg HS256 (HMAC) is never accepted"},
    {"alg allow-list", rule_alg_not_allowed, "alg RS512 is not accepted"},
    {"crit", rule_crit, "crit"},
    {"no kid", rule_no_kid, "token header has no kid"},
    {"jku", rule_jku, "token header has jku"},
    {"x5u", rule_x5u, "token header has x5u"},
    {"jwk", rule_jwk, "token header has jwk"},
    {"x5c", rule_x5c, "token header has x5c"},
    {"signature", rule_bad_signature, "signature verification failed"},
    {"padding", rule_padding, "not strict base64url"},
    {"two segments", rule_two_segments, "compact JWS"},
    {"duplicate claim", rule_duplicate_claim, "repeats a claim"},
    {"oversized", rule_oversized, "larger than 24576 bytes"},
};

START_TEST(rejection_rule)
{
    static const char *const extra[] = {"GATEHOUSE_TENANTS=" TID, "GATEHOUSE_JWKS_COOLDOWN=30",
                                        NULL};
    struct efx f;
    struct gh_http_resp r;
    char *tok;
    const char *sig;

    efx_start(&f, extra, true);
    tok = rules[_i].mint(&f);
    authorize(&f, tok, BODY, &r);
    expect_challenge(&r, 401, "invalid_token", rules[_i].desc);
    /* the token itself never comes back, in headers, body or logs */
    sig = strrchr(tok, '.');
    if (sig != NULL && strlen(sig) > 20) {
        ck_assert(strstr(r.body, sig + 1) == NULL);
        ck_assert(strstr(r.headers, sig + 1) == NULL);
        ck_assert(strstr(gh_proc_log(f.p), sig + 1) == NULL);
    }
    gh_http_resp_free(&r);
    free(tok);
    efx_stop(&f);
}
END_TEST

/* RFC 6750 §3.1: a request without credentials (no Authorization, or another scheme) gets a
 * challenge with the realm and no error code; a Bearer credential that fails gets
 * invalid_token. */
START_TEST(missing_bearer_is_401_challenge)
{
    static const char *const schemes[] = {NULL, "Authorization: Basic YTpi",
                                          "Authorization: Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag",
                                          "Authorization: Bearerx abc"};
    struct efx f;
    struct gh_http_resp r;
    char h[512];

    efx_start(&f, NULL, true);
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        const char *hdrs[] = {schemes[i], NULL};
        ck_assert_int_eq(gh_http("POST", f.url, hdrs, BODY, NULL, &r), 0);
        ck_assert_msg(r.status == 401, "%zu: %ld", i, r.status);
        ck_assert_ptr_nonnull(gh_http_resp_header(&r, "WWW-Authenticate", h, sizeof(h)));
        ck_assert_msg(strcmp(h, "Bearer realm=\"gatehouse\"") == 0, "%zu: challenge %s", i, h);
        gh_http_resp_free(&r);
    }
    {
        const char *hdrs[] = {"Authorization: Bearer not-a-jwt", NULL};
        ck_assert_int_eq(gh_http("POST", f.url, hdrs, BODY, NULL, &r), 0);
        expect_challenge(&r, 401, "invalid_token", "compact JWS");
        gh_http_resp_free(&r);
    }
    efx_stop(&f);
}
END_TEST

START_TEST(insufficient_scope_is_403)
{
    static const char *const extra[] = {"GATEHOUSE_REQUIRED_SCOPES=Custom.Read", NULL};
    struct efx f;
    struct gh_http_resp r;
    cJSON *c;
    char *tok, h[512];

    efx_start(&f, extra, true);
    c = claims(&f);
    cJSON_ReplaceItemInObject(c, "scp", cJSON_CreateString("User.Read"));
    tok = mint_claims(&f, c);
    authorize(&f, tok, BODY, &r);
    expect_challenge(&r, 403, "insufficient_scope", "lacks a required scope");
    ck_assert(strstr(gh_http_resp_header(&r, "WWW-Authenticate", h, sizeof(h)),
                     "scope=\"Custom.Read\"") != NULL);
    gh_http_resp_free(&r);
    free(tok);
    tok = mintk(f.k1, "RS256", claims(&f)); /* scp has Custom.Read */
    authorize(&f, tok, BODY, &r);
    ck_assert_int_eq(r.status, 200);
    gh_http_resp_free(&r);
    free(tok);
    efx_stop(&f);
}
END_TEST

/* ---- signing-key issuer (Entra v2 keys name the issuer they sign for) ----------------- */

#define TID2     "0b6c8a1e-2f3d-4c5b-9a8e-7d6f5e4c3b2a"
#define ISS_V1   "https://sts.windows.net/" TID "/"
#define ISS_V2   "https://login.microsoftonline.com/" TID "/v2.0"
#define ISS_TMPL "https://login.microsoftonline.com/{tenantid}/v2.0"

/* The JWKS of k with "issuer": key_issuer on its one key, as Entra publishes it. Owned. */
static char *jwks_with_issuer(const struct gh_mint_key *k, const char *key_issuer)
{
    cJSON *root = cJSON_CreateObject(), *jwk = gh_mint_key_jwk(k);
    char *doc;
    cJSON_AddStringToObject(jwk, "issuer", key_issuer);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "keys"), jwk);
    doc = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return doc;
}

/* POST a token for (iss, tid) signed with k1 and expect `status` (and, for 401, `want`). */
static void expect_iss(struct efx *f, const char *iss, const char *tid, long status,
                       const char *want)
{
    struct gh_http_resp r;
    char *tok = mintk(f->k1, "RS256", gh_mint_claims(iss, AUD, tid));
    authorize(f, tok, BODY, &r);
    if (status == 401)
        expect_challenge(&r, 401, "invalid_token", want);
    else
        ck_assert_msg(r.status == status, "iss %s tid %s: %ld %s", iss, tid, r.status, r.body);
    gh_http_resp_free(&r);
    free(tok);
}

/* Entra signs v1 tokens with the same keys as v2 ones, and the keys name the v2 issuer: with
 * both issuers configured, a genuine v1 token passes. */
START_TEST(v1_and_v2_tokens_with_v2_issuer_key)
{
    static const char *const extra[] = {"GATEHOUSE_ISSUER=" ISS_V2 "," ISS_V1, NULL};
    struct gh_mint_key *k = gh_mint_key_load("rsa1", "kid-one");
    char *doc = jwks_with_issuer(k, ISS_V2);
    struct efx f;

    efx_start_full(&f, extra, true, 86400, doc, NULL);
    expect_iss(&f, ISS_V2, TID, 200, NULL);
    expect_iss(&f, ISS_V1, TID, 200, NULL);
    efx_stop(&f);
    free(doc);
    gh_mint_key_free(k);
}
END_TEST

/* Multi-tenant: a key of tenant TID never signs for TID2 (v1 or v2), and a {tenantid} key from
 * the /common document signs each tenant's own tokens only. */
START_TEST(key_issuer_cross_tenant_refused)
{
    static const char *const extra[] = {"GATEHOUSE_ISSUER=" ISS_TMPL
                                        ",https://sts.windows.net/{tenantid}/",
                                        "GATEHOUSE_TENANTS=" TID "," TID2, NULL};
    static const char *const extra_v1[] = {"GATEHOUSE_ISSUER=" ISS_TMPL "," ISS_V1,
                                           "GATEHOUSE_TENANTS=" TID "," TID2, NULL};
    struct gh_mint_key *k = gh_mint_key_load("rsa1", "kid-one");
    char *doc = jwks_with_issuer(k, ISS_V2);
    struct efx f;

    efx_start_full(&f, extra, true, 86400, doc, ISS_TMPL);
    expect_iss(&f, ISS_V2, TID, 200, NULL);
    expect_iss(&f, ISS_V1, TID, 200, NULL);
    expect_iss(&f, "https://login.microsoftonline.com/" TID2 "/v2.0", TID2, 401,
               "signing key kid=kid-one is not valid for issuer");
    expect_iss(&f, "https://sts.windows.net/" TID2 "/", TID2, 401,
               "signing key kid=kid-one is not valid for issuer");
    efx_stop(&f);
    free(doc);

    /* the {tenantid} key of a /common discovery: each tenant's v1 and v2 tokens pass, but a v1
     * iss of TID under tid TID2 does not (the key resolves to TID2's issuer) */
    doc = jwks_with_issuer(k, ISS_TMPL);
    efx_start_full(&f, extra_v1, true, 86400, doc, ISS_TMPL);
    expect_iss(&f, ISS_V1, TID, 200, NULL);
    expect_iss(&f, "https://login.microsoftonline.com/" TID2 "/v2.0", TID2, 200, NULL);
    expect_iss(&f, ISS_V1, TID2, 401, "signing key kid=kid-one is not valid for issuer");
    efx_stop(&f);
    free(doc);
    gh_mint_key_free(k);
}
END_TEST

/* ---- keys over time ---------------------------------------------------------------------- */

/* New kid accepted (forced refresh), then the old kid removed at the IdP stops working even
 * for a token already in the verified-token cache. */
START_TEST(rotation_new_kid_in_old_kid_out)
{
    static const char *const extra[] = {"GATEHOUSE_JWKS_COOLDOWN=0", NULL};
    struct efx f;
    struct gh_http_resp r;
    struct gh_mint_key *both[2];
    char *t1, *t2;
    bool gone = false;

    efx_start_age(&f, extra, true, 1);
    t1 = mintk(f.k1, "RS256", claims(&f));
    t2 = mintk(f.k2, "RS256", claims(&f));
    authorize(&f, t1, BODY, &r);
    ck_assert_int_eq(r.status, 200);
    gh_http_resp_free(&r);
    both[0] = f.k1;
    both[1] = f.k2;
    gh_idp_set_keys(f.idp, both, 2);
    authorize(&f, t2, BODY, &r);
    ck_assert_msg(r.status == 200, "new kid: %ld %s", r.status, r.body);
    gh_http_resp_free(&r);
    gh_idp_set_keys(f.idp, &f.k2, 1);
    for (int i = 0; i < 100 && !gone; i++) {
        authorize(&f, t1, BODY, &r);
        gone = r.status == 401;
        if (gone)
            expect_challenge(&r, 401, "invalid_token", "unknown signing key kid=kid-one");
        gh_http_resp_free(&r);
        if (!gone)
            sleep_ms(50);
    }
    ck_assert_msg(gone, "removed kid still accepted");
    authorize(&f, t2, BODY, &r);
    ck_assert_int_eq(r.status, 200);
    gh_http_resp_free(&r);
    free(t1);
    free(t2);
    efx_stop(&f);
}
END_TEST

/* The IdP goes down in every way; tokens with known kids keep working. */
START_TEST(outage_known_kids_keep_working)
{
    static const int modes[] = {GH_IDP_FAIL, GH_IDP_GARBLED, GH_IDP_EMPTY, GH_IDP_CLOSE};
    struct efx f;
    struct gh_http_resp r;
    char url[256];

    efx_start_age(&f, NULL, true, 1);
    snprintf(url, sizeof(url), "%s/readyz", gh_proc_url(f.p));
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        unsigned before = gh_idp_jwks_fetches(f.idp);
        cJSON *c = claims(&f);
        char *tok;
        gh_idp_set_mode(f.idp, (enum gh_idp_mode)modes[i], GH_IDP_OK);
        ck_assert_uint_gt(gh_idp_wait_jwks_fetches(f.idp, before + 1, 5000), before);
        cJSON_AddNumberToObject(c, "n", (double)i); /* a fresh token: no cache help */
        tok = mint_claims(&f, c);
        authorize(&f, tok, BODY, &r);
        ck_assert_msg(r.status == 200, "mode %d: %ld %s", modes[i], r.status, r.body);
        gh_http_resp_free(&r);
        ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
        ck_assert_int_eq(r.status, 200);
        gh_http_resp_free(&r);
        free(tok);
    }
    efx_stop(&f);
}
END_TEST

/* 60 tokens with random unknown kids: at most one extra JWKS fetch within the cooldown. */
START_TEST(unknown_kid_flood_bounded)
{
    static const char *const extra[] = {"GATEHOUSE_JWKS_COOLDOWN=60", NULL};
    struct efx f;
    struct gh_http_resp r;
    unsigned before;

    efx_start(&f, extra, true);
    before = gh_idp_jwks_fetches(f.idp);
    for (int i = 0; i < 60; i++) {
        char kid[32];
        struct gh_mint_key *k;
        char *tok;
        snprintf(kid, sizeof(kid), "bogus-%d", i);
        k = gh_mint_key_load("rsa3", kid);
        tok = mintk(k, "RS256", claims(&f));
        authorize(&f, tok, BODY, &r);
        expect_challenge(&r, 401, "invalid_token", "unknown signing key");
        gh_http_resp_free(&r);
        free(tok);
        gh_mint_key_free(k);
    }
    ck_assert_uint_le(gh_idp_jwks_fetches(f.idp), before + 1);
    efx_stop(&f);
}
END_TEST

struct slow_call {
    struct efx *f;
    char *tok;
    long status;
    double ms;
    char challenge[512];
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void *slow_call_thread(void *arg)
{
    struct slow_call *sc = arg;
    struct gh_http_resp r;
    double t0 = now_ms();

    authorize(sc->f, sc->tok, BODY, &r);
    sc->ms = now_ms() - t0;
    sc->status = r.status;
    if (gh_http_resp_header(&r, "WWW-Authenticate", sc->challenge, sizeof(sc->challenge)) == NULL)
        sc->challenge[0] = '\0';
    gh_http_resp_free(&r);
    return NULL;
}

static char *mint_kid(struct efx *f, const char *kid)
{
    struct gh_mint_key *k = gh_mint_key_load("rsa3", kid);
    char *t = mintk(k, "RS256", claims(f));
    gh_mint_key_free(k);
    return t;
}

/* While one bogus-kid request waits for a slow forced refresh, more bogus kids are answered at
 * once and known kids are served without waiting (2 workers: only one may wait). */
START_TEST(slow_refresh_does_not_stall_known_kids)
{
    static const char *const extra[] = {"GATEHOUSE_JWKS_COOLDOWN=30", "GATEHOUSE_THREADS=2", NULL};
    struct efx f;
    struct slow_call sc = {0};
    struct gh_http_resp r;
    pthread_t th;
    char *good;
    unsigned before;
    double t0;

    efx_start(&f, extra, true);
    good = mintk(f.k1, "RS256", claims(&f));
    authorize(&f, good, BODY, &r); /* also initialises libcurl before threads start */
    ck_assert_int_eq(r.status, 200);
    gh_http_resp_free(&r);
    before = gh_idp_jwks_fetches(f.idp);
    gh_idp_set_delay_ms(f.idp, 2000);
    sc.f = &f;
    sc.tok = mint_kid(&f, "bogus-slow");
    ck_assert_int_eq(pthread_create(&th, NULL, slow_call_thread, &sc), 0);
    ck_assert_uint_gt(gh_idp_wait_jwks_fetches(f.idp, before + 1, 5000), before);
    for (int i = 0; i < 4; i++) {
        char kid[32], *t;
        snprintf(kid, sizeof(kid), "bogus-%d", i);
        t = mint_kid(&f, kid);
        t0 = now_ms();
        authorize(&f, t, BODY, &r);
        ck_assert_int_eq(r.status, 401);
        ck_assert_msg(now_ms() - t0 < 1000.0, "bogus kid %d waited %.0f ms", i, now_ms() - t0);
        gh_http_resp_free(&r);
        free(t);
    }
    free(good);
    good = mintk(f.k1, "RS256", claims(&f)); /* a fresh token: no cache help */
    t0 = now_ms();
    authorize(&f, good, BODY, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(now_ms() - t0 < 1000.0, "known kid waited %.0f ms", now_ms() - t0);
    gh_http_resp_free(&r);
    pthread_join(th, NULL);
    ck_assert_int_eq(sc.status, 401);
    ck_assert_msg(sc.ms >= 1500.0, "the first bogus kid did not wait for the fetch (%.0f ms)",
                  sc.ms);
    ck_assert_msg(strstr(sc.challenge, "kid=bogus-slow after refresh") != NULL, "%s", sc.challenge);
    ck_assert_uint_eq(gh_idp_jwks_fetches(f.idp), before + 1);
    free(sc.tok);
    free(good);
    efx_stop(&f);
}
END_TEST

START_TEST(metrics_report_keys_and_validations)
{
    struct efx f;
    struct gh_http_resp r;
    char url[256], *tok;

    efx_start(&f, NULL, true);
    tok = mintk(f.k1, "RS256", claims(&f));
    authorize(&f, tok, BODY, &r);
    gh_http_resp_free(&r);
    authorize(&f, tok, BODY, &r);
    gh_http_resp_free(&r);
    snprintf(url, sizeof(url), "%s/metrics", gh_proc_url(f.p));
    ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
    ck_assert(strstr(r.body, "gatehouse_jwks_keys 1") != NULL);
    ck_assert(strstr(r.body, "gatehouse_jwks_fetches_total") != NULL);
    ck_assert(strstr(r.body, "gatehouse_jwks_age_seconds") != NULL);
    ck_assert(strstr(r.body, "gatehouse_token_validations_total{result=\"valid\"} 1") != NULL);
    ck_assert(strstr(r.body, "gatehouse_token_validations_total{result=\"cached\"} 1") != NULL);
    gh_http_resp_free(&r);
    free(tok);
    efx_stop(&f);
}
END_TEST

/* The production path: HTTPS discovery and JWKS, trusted through GATEHOUSE_CA_FILE, no insecure
 * opt-in. */
START_TEST(https_issuer_with_ca_file)
{
    char *dir = gh_tmpdir_new();
    char cert[600], key[600], ca[640];
    char *cert_pem, *key_pem, *tok;
    const char *extra[] = {ca, NULL};
    struct efx f;
    struct gh_http_resp r;

    gh_selfsigned_cert(dir, cert, key);
    cert_pem = gh_read_file(cert);
    key_pem = gh_read_file(key);
    ck_assert(cert_pem[0] != '\0' && key_pem[0] != '\0');
    snprintf(ca, sizeof(ca), "GATEHOUSE_CA_FILE=%s", cert);
    /* an HTTPS IdP: the fixture sets no insecure opt-in */
    efx_take(&f, gh_fixture_start(&(struct gh_fixture_opts){.tid = TID,
                                                            .idp_cert_pem = cert_pem,
                                                            .idp_key_pem = key_pem,
                                                            .no_daemon = true,
                                                            .extra = extra}));
    efx_daemon(&f);
    tok = mintk(f.k1, "RS256", claims(&f));
    authorize(&f, tok, BODY, &r);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    gh_http_resp_free(&r);
    free(tok);
    efx_stop(&f);
    free(cert_pem);
    free(key_pem);
    gh_tmpdir_remove(dir);
}
END_TEST

START_TEST(startup_refuses_missing_audience)
{
    struct gh_idp *idp = gh_idp_start(TID);
    static char disc[320];
    const char *env[] = {disc, "GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER=1",
                         "GATEHOUSE_LISTEN=127.0.0.1:0", NULL};
    char log[8192];
    int code;

    snprintf(disc, sizeof(disc), "GATEHOUSE_OIDC_DISCOVERY=%s", gh_idp_discovery_url(idp));
    code = gh_proc_run_to_exit(env, NULL, log, sizeof(log));
    ck_assert_int_ne(code, 0);
    ck_assert_msg(strstr(log, "GATEHOUSE_AUDIENCE") != NULL, "%s", log);
    gh_idp_stop(idp);
}
END_TEST

Suite *token_e2e_suite(void)
{
    Suite *s = suite_create("token_e2e");
    TCase *tc = tcase_create("authorize");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, readyz_false_until_keys_loaded);
    tcase_add_test(tc, valid_token_unprovisioned_subject_denied);
    tcase_add_test(tc, checks_array_each_denied);
    tcase_add_test(tc, bad_bodies_are_400);
    tcase_add_loop_test(tc, rejection_rule, 0, (int)(sizeof(rules) / sizeof(rules[0])));
    tcase_add_test(tc, missing_bearer_is_401_challenge);
    tcase_add_test(tc, insufficient_scope_is_403);
    tcase_add_test(tc, v1_and_v2_tokens_with_v2_issuer_key);
    tcase_add_test(tc, key_issuer_cross_tenant_refused);
    tcase_add_test(tc, rotation_new_kid_in_old_kid_out);
    tcase_add_test(tc, outage_known_kids_keep_working);
    tcase_add_test(tc, unknown_kid_flood_bounded);
    tcase_add_test(tc, slow_refresh_does_not_stall_known_kids);
    tcase_add_test(tc, metrics_report_keys_and_validations);
    tcase_add_test(tc, startup_refuses_missing_audience);
    tcase_add_test(tc, https_issuer_with_ca_file);
    suite_add_tcase(s, tc);
    return s;
}
