/*
 * test_token.c - authz/token.c: one test per rejection rule (compact form, header, key choice,
 * signature, each claim), the error_description texts an Entra admin sees, scopes/roles (403),
 * and the verified-token cache. Keys come from tests/data/keys and are installed directly with
 * jwks_cache_load_doc (no network); unknown-kid refresh is tested against the loopback IdP.
 */
#include "authz/token.h"
#include "jwks/jwks.h"
#include "sidecar/gatehouse.h"
#include "tests/support/idp.h"
#include "tests/support/mint.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define TID      "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define TID2     "0b6c8a1e-2f3d-4c5b-9a8e-7d6f5e4c3b2a"
#define ISS_V2   "https://login.microsoftonline.com/" TID "/v2.0"
#define ISS_V1   "https://sts.windows.net/" TID "/"
#define AUD      "api://gatehouse-test"
#define CLIENTID "3f6e8d1a-5b2c-4e7f-9a0b-1c2d3e4f5a6b"

struct tfx {
    struct gh_config *cfg;
    struct jwks_cache *cache;
    struct authz_verifier *v;
    struct gh_mint_key *rsa, *rsa2, *ec, *ec384;
};

/* Verifier over rsa1 (kid "r1"), ec256 ("e1") and ec384 ("e3"); discovery issuer ISS_V2. */
static void tfx_start(struct tfx *f, const char *const *extra)
{
    const char *env[32];
    size_t n = 0;
    struct gh_err err = {0};
    struct gh_mint_key *keys[3];
    char *doc;

    env[n++] = "GATEHOUSE_AUDIENCE=" AUD "," CLIENTID;
    env[n++] = "GATEHOUSE_LEEWAY=60";
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
        env[n++] = extra[i];
    env[n] = NULL;
    ck_assert_msg(gh_config_load(NULL, (char *const *)env, &f->cfg, &err) == GH_OK, "%s", err.msg);
    f->rsa = gh_mint_key_load("rsa1", "r1");
    f->rsa2 = gh_mint_key_load("rsa2", "r2");
    f->ec = gh_mint_key_load("ec256", "e1");
    f->ec384 = gh_mint_key_load("ec384", "e3");
    keys[0] = f->rsa;
    keys[1] = f->ec;
    keys[2] = f->ec384;
    doc = gh_mint_jwks(keys, 3);
    ck_assert_int_eq(jwks_cache_new(f->cfg, &f->cache, &err), GH_OK);
    ck_assert_int_eq(jwks_cache_load_doc(f->cache, doc, strlen(doc), ISS_V2, &err), GH_OK);
    free(doc);
    ck_assert_msg(authz_verifier_new(f->cfg, f->cache, &f->v, &err) == GH_OK, "%s", err.msg);
}

static void tfx_stop(struct tfx *f)
{
    authz_verifier_free(f->v);
    jwks_cache_free(f->cache);
    gh_config_free(f->cfg);
    gh_mint_key_free(f->rsa);
    gh_mint_key_free(f->rsa2);
    gh_mint_key_free(f->ec);
    gh_mint_key_free(f->ec384);
}

static enum gh_status verify(struct tfx *f, const char *tok, struct gh_err *err)
{
    struct authz_claims *c = NULL;
    enum gh_status st = authz_token_verify(f->v, tok, strlen(tok), &c, err);
    ck_assert((st == GH_OK) == (c != NULL));
    authz_claims_release(c);
    return st;
}

static void expect_ok(struct tfx *f, const char *tok)
{
    struct gh_err err = {0};
    ck_assert_msg(verify(f, tok, &err) == GH_OK, "rejected: %s", err.msg);
}

/* Rejected with `st` and an error_description containing `want`, never echoing the token. */
static void expect_status(struct tfx *f, const char *tok, enum gh_status want_st, const char *want)
{
    struct gh_err err = {0};
    enum gh_status st = verify(f, tok, &err);
    const char *last_dot = strrchr(tok, '.');

    ck_assert_msg(st == want_st, "status %d, want %d (%s)", st, want_st, err.msg);
    ck_assert_msg(strstr(err.msg, want) != NULL, "description \"%s\" lacks \"%s\"", err.msg, want);
    if (last_dot != NULL && strlen(last_dot + 1) > 16)
        ck_assert_msg(strstr(err.msg, last_dot + 1) == NULL, "token echoed in the error");
}

static void expect_deny(struct tfx *f, const char *tok, const char *want)
{
    expect_status(f, tok, GH_E_UNAUTHORIZED, want);
}

/* A token from claims (owned here) signed with k/alg. */
static char *mint(const struct gh_mint_key *k, const char *alg, cJSON *claims)
{
    char *t = gh_mint_jwt(k, alg, claims);
    cJSON_Delete(claims);
    return t;
}

static cJSON *claims(void)
{
    return gh_mint_claims(ISS_V2, AUD, TID);
}

/* A token with a hand-written header (claims owned here). */
static char *mint_hdr(const struct gh_mint_key *k, const char *alg, const char *header, cJSON *c)
{
    char *p = cJSON_PrintUnformatted(c);
    char *t = gh_mint_sign(k, alg, header, p);
    free(p);
    cJSON_Delete(c);
    return t;
}

/* ---- valid tokens ---------------------------------------------------------------------- */

START_TEST(valid_rs256)
{
    struct tfx f;
    struct authz_claims *c = NULL;
    struct gh_err err = {0};
    char *tok;

    tfx_start(&f, NULL);
    tok = mint(f.rsa, "RS256", claims());
    ck_assert_int_eq(authz_token_verify(f.v, tok, strlen(tok), &c, &err), GH_OK);
    ck_assert_str_eq(authz_claims_str(c, "oid"), "6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b");
    ck_assert_str_eq(authz_claims_str(c, "tid"), TID);
    ck_assert_ptr_null(authz_claims_str(c, "exp")); /* a number, not a string */
    ck_assert_int_gt(authz_claims_exp(c), 0);
    authz_claims_release(c);
    free(tok);
    tfx_stop(&f);
}
END_TEST

START_TEST(valid_es256_es384_when_allowed)
{
    static const char *const extra[] = {"GATEHOUSE_ALGS=RS256,ES256,ES384", NULL};
    struct tfx f;
    char *t1, *t2;

    tfx_start(&f, extra);
    t1 = mint(f.ec, "ES256", claims());
    t2 = mint(f.ec384, "ES384", claims());
    expect_ok(&f, t1);
    expect_ok(&f, t2);
    free(t1);
    free(t2);
    tfx_stop(&f);
}
END_TEST

START_TEST(valid_client_id_audience_and_array)
{
    struct tfx f;
    cJSON *c1 = claims(), *c2 = claims(), *arr = cJSON_CreateArray();
    char *t1, *t2;

    tfx_start(&f, NULL);
    cJSON_ReplaceItemInObject(c1, "aud", cJSON_CreateString(CLIENTID));
    cJSON_AddItemToArray(arr, cJSON_CreateString("api://other"));
    cJSON_AddItemToArray(arr, cJSON_CreateString(AUD));
    cJSON_ReplaceItemInObject(c2, "aud", arr);
    t1 = mint(f.rsa, "RS256", c1);
    t2 = mint(f.rsa, "RS256", c2);
    expect_ok(&f, t1);
    expect_ok(&f, t2);
    free(t1);
    free(t2);
    tfx_stop(&f);
}
END_TEST

/* 200 group ids make an ~11 KiB token: it must pass the size cap. */
START_TEST(valid_large_token_with_200_groups)
{
    struct tfx f;
    cJSON *c = claims(), *groups = cJSON_AddArrayToObject(c, "groups");
    char *tok, gid[40];

    tfx_start(&f, NULL);
    for (int i = 0; i < 200; i++) {
        snprintf(gid, sizeof(gid), "%08x-1111-4222-8333-%012d", i, i);
        cJSON_AddItemToArray(groups, cJSON_CreateString(gid));
    }
    tok = mint(f.rsa, "RS256", c);
    ck_assert_uint_gt(strlen(tok), 10 * 1024);
    expect_ok(&f, tok);
    free(tok);
    tfx_stop(&f);
}
END_TEST

START_TEST(valid_within_leeway)
{
    struct tfx f;
    cJSON *c = claims();
    char *tok;

    tfx_start(&f, NULL);
    gh_mint_claims_time(c, "exp", -30);
    gh_mint_claims_time(c, "nbf", 30);
    gh_mint_claims_time(c, "iat", 30);
    tok = mint(f.rsa, "RS256", c);
    expect_ok(&f, tok);
    free(tok);
    tfx_stop(&f);
}
END_TEST

/* ---- compact form ---------------------------------------------------------------------- */

START_TEST(reject_segment_count)
{
    struct tfx f;
    char *tok, buf[8192];

    tfx_start(&f, NULL);
    tok = mint(f.rsa, "RS256", claims());
    expect_deny(&f, "abc", "compact JWS");
    expect_deny(&f, "a.b", "compact JWS");
    snprintf(buf, sizeof(buf), "%s.AAAA", tok);
    expect_deny(&f, buf, "compact JWS");
    expect_deny(&f, "a.b.c.d.e", "compact JWS"); /* JWE */
    snprintf(buf, sizeof(buf), "%s.", tok);
    expect_deny(&f, buf, "compact JWS");
    expect_deny(&f, "", "empty");
    free(tok);
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_empty_segments)
{
    struct tfx f;
    char *tok, buf[8192];

    tfx_start(&f, NULL);
    tok = mint(f.rsa, "RS256", claims());
    *strrchr(tok, '.') = '\0';
    snprintf(buf, sizeof(buf), "%s.", tok);
    expect_deny(&f, buf, "empty signature segment");
    expect_deny(&f, ".e30.AAAA", "empty header segment");
    free(tok);
    tfx_stop(&f);
}
END_TEST

/* Lenient base64url (libjwt + libb64) accepts all of these; gatehouse must not. */
START_TEST(reject_non_canonical_base64url)
{
    struct tfx f;
    char *tok, buf[8192];
    size_t n;

    tfx_start(&f, NULL);
    tok = mint(f.rsa, "RS256", claims());
    n = strlen(tok);
    snprintf(buf, sizeof(buf), "%s==", tok);
    expect_deny(&f, buf, "not strict base64url");
    snprintf(buf, sizeof(buf), "%s!", tok);
    expect_deny(&f, buf, "not strict base64url");
    snprintf(buf, sizeof(buf), "%.*s %s", 10, tok, tok + 10);
    expect_deny(&f, buf, "not strict base64url");
    snprintf(buf, sizeof(buf), "%s\n", tok);
    expect_deny(&f, buf, "not strict base64url");
    /* std alphabet: replace the first '-' or '_' in the signature, if any, else inject '+' */
    snprintf(buf, sizeof(buf), "%s", tok);
    buf[n - 5] = '+';
    expect_deny(&f, buf, "not strict base64url");
    /* a 256-byte RSA signature is 342 chars: the last one carries 4 unused bits */
    snprintf(buf, sizeof(buf), "%s", tok);
    buf[n - 1] = buf[n - 1] == 'A' ? 'B' : (char)(buf[n - 1] ^ 1);
    expect_deny(&f, buf, "not strict base64url");
    free(tok);
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_oversized_token)
{
    struct tfx f;
    size_t n = GH_CAP_JWT + 1;
    char *big = malloc(n + 1);

    tfx_start(&f, NULL);
    memset(big, 'A', n);
    big[100] = '.';
    big[200] = '.';
    big[n] = '\0';
    expect_deny(&f, big, "larger than 65536");
    free(big);
    tfx_stop(&f);
}
END_TEST

/* ---- header ------------------------------------------------------------------------------ */

START_TEST(reject_alg_none)
{
    struct tfx f;
    cJSON *c = claims();
    char *p = cJSON_PrintUnformatted(c);
    static const char hn[] = "{\"alg\":\"none\",\"kid\":\"r1\"}";
    static const char hN[] = "{\"alg\":\"NONE\",\"kid\":\"r1\"}";
    char *h = gh_mint_b64url(hn, strlen(hn));
    char *h2 = gh_mint_b64url(hN, strlen(hN));
    char *pb = gh_mint_b64url(p, strlen(p));
    char buf[8192];

    tfx_start(&f, NULL);
    snprintf(buf, sizeof(buf), "%s.%s.AAAA", h, pb);
    expect_deny(&f, buf, "alg none");
    snprintf(buf, sizeof(buf), "%s.%s.AAAA", h2, pb);
    expect_deny(&f, buf, "alg none");
    snprintf(buf, sizeof(buf), "%s.%s.", h, pb);
    expect_deny(&f, buf, "empty signature");
    free(h);
    free(h2);
    free(pb);
    free(p);
    cJSON_Delete(c);
    tfx_stop(&f);
}
END_TEST

/* RS256 -> HS256 confusion: an HMAC made with the public key as the secret. */
START_TEST(reject_hs256_keyed_with_public_key)
{
    struct tfx f;
    cJSON *c;
    char *pem, *p, *tok;

    tfx_start(&f, NULL);
    c = claims();
    pem = gh_mint_key_public_pem(f.rsa);
    p = cJSON_PrintUnformatted(c);
    tok = gh_mint_sign_hmac(pem, strlen(pem), "{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"r1\"}",
                            p);
    expect_deny(&f, tok, "alg HS256 (HMAC) is never accepted");
    free(tok);
    tok = gh_mint_sign_hmac(pem, strlen(pem), "{\"alg\":\"hs512\",\"kid\":\"r1\"}", p);
    expect_deny(&f, tok, "(HMAC) is never accepted");
    free(tok);
    free(p);
    free(pem);
    cJSON_Delete(c);
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_alg_not_in_allow_list)
{
    struct tfx f;
    char *t1, *t2, *t3;

    tfx_start(&f, NULL); /* default: RS256 only */
    t1 = mint(f.rsa, "RS384", claims());
    t2 = mint(f.ec, "ES256", claims());
    t3 = mint_hdr(f.rsa, "RS256", "{\"alg\":\"rs256\",\"kid\":\"r1\"}", claims());
    expect_deny(&f, t1, "alg RS384 is not accepted");
    expect_deny(&f, t2, "alg ES256 is not accepted");
    expect_deny(&f, t3, "alg rs256 is not accepted"); /* case-sensitive (RFC 7515 §4.1.1) */
    free(t1);
    free(t2);
    free(t3);
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_alg_kty_mismatch)
{
    static const char *const extra[] = {"GATEHOUSE_ALGS=RS256,ES256", NULL};
    struct tfx f;
    char *t1, *t2, *t3;

    tfx_start(&f, extra);
    /* ES256 header naming the RSA key, RS256 header naming the EC key, ES256 on a P-384 key */
    t1 = mint_hdr(f.ec, "ES256", "{\"alg\":\"ES256\",\"kid\":\"r1\"}", claims());
    t2 = mint_hdr(f.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"e1\"}", claims());
    t3 = mint_hdr(f.ec, "ES256", "{\"alg\":\"ES256\",\"kid\":\"e3\"}", claims());
    expect_deny(&f, t1, "does not match the type of signing key kid=r1");
    expect_deny(&f, t2, "does not match the type of signing key kid=e1");
    expect_deny(&f, t3, "does not match the type of signing key kid=e3");
    free(t1);
    free(t2);
    free(t3);
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_crit)
{
    struct tfx f;
    char *tok;

    tfx_start(&f, NULL);
    tok = mint_hdr(f.rsa, "RS256",
                   "{\"alg\":\"RS256\",\"kid\":\"r1\",\"b64\":false,\"crit\":[\"b64\"]}", claims());
    expect_deny(&f, tok, "crit");
    free(tok);
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_missing_or_long_kid)
{
    struct tfx f;
    char *t1, *t2, *t3, hdr[512];

    tfx_start(&f, NULL);
    t1 = mint_hdr(f.rsa, "RS256", "{\"alg\":\"RS256\"}", claims());
    t2 = mint_hdr(f.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":7}", claims());
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"%0200d\"}", 1);
    t3 = mint_hdr(f.rsa, "RS256", hdr, claims());
    expect_deny(&f, t1, "no kid");
    expect_deny(&f, t2, "no kid");
    expect_deny(&f, t3, "kid is longer");
    free(t1);
    free(t2);
    free(t3);
    tfx_stop(&f);
}
END_TEST

/* jku, x5u, jwk and x5c are refused outright (README): a header that offers its own key or a
 * place to fetch one is an attack or a misconfigured issuer, never an Entra token. Each member
 * is refused on its own, whatever the kid names (the attacker's kid or a known one). */
START_TEST(reject_embedded_and_remote_keys)
{
    static const char *const members[] = {"jku", "x5u", "jwk", "x5c"};
    struct tfx f;
    struct gh_mint_key *evil = gh_mint_key_load("rsa3", "attacker");
    cJSON *jwk = gh_mint_key_jwk(evil);
    char *jwks = cJSON_PrintUnformatted(jwk), hdr[2048], want[128];

    tfx_start(&f, NULL);
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        const char *value = strcmp(members[i], "jwk") == 0   ? jwks
                            : strcmp(members[i], "x5c") == 0 ? "[\"MIIBIjANBgkqhkiG9w0BAQEFAAOC\"]"
                                                             : "\"http://127.0.0.1:9/keys\"";
        char *t;
        snprintf(want, sizeof(want), "token header has %s", members[i]);
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"attacker\",\"%s\":%s}", members[i],
                 value);
        t = mint_hdr(evil, "RS256", hdr, claims());
        expect_deny(&f, t, want);
        free(t);
        /* with a known kid and the right key too: the header alone is enough to refuse */
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"r1\",\"%s\":%s}", members[i],
                 value);
        t = mint_hdr(f.rsa, "RS256", hdr, claims());
        expect_deny(&f, t, want);
        free(t);
    }
    /* x5t (a thumbprint, sent by Entra in v1 tokens) names no key material: still accepted */
    {
        char *t =
            mint_hdr(f.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"x5t\":\"r1\"}", claims());
        expect_ok(&f, t);
        free(t);
    }
    free(jwks);
    cJSON_Delete(jwk);
    gh_mint_key_free(evil);
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_bad_typ)
{
    struct tfx f;
    char *t1, *t2;

    tfx_start(&f, NULL);
    t1 = mint_hdr(f.rsa, "RS256", "{\"typ\":\"JWE\",\"alg\":\"RS256\",\"kid\":\"r1\"}", claims());
    t2 =
        mint_hdr(f.rsa, "RS256", "{\"typ\":\"at+jwt\",\"alg\":\"RS256\",\"kid\":\"r1\"}", claims());
    expect_deny(&f, t1, "typ");
    expect_ok(&f, t2);
    free(t1);
    free(t2);
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_duplicate_members)
{
    struct tfx f;
    char *t1, *t2, *p;
    cJSON *c;

    tfx_start(&f, NULL);
    t1 = mint_hdr(f.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"alg\":\"RS256\"}", claims());
    expect_deny(&f, t1, "header is not a JSON object (or repeats a member)");
    /* a second "aud" appended after the good one */
    c = claims();
    p = cJSON_PrintUnformatted(c);
    p[strlen(p) - 1] = '\0';
    {
        char payload[4096];
        snprintf(payload, sizeof(payload), "%s,\"aud\":\"api://evil\"}", p);
        t2 = gh_mint_sign(f.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", payload);
    }
    expect_deny(&f, t2, "repeats a claim");
    free(p);
    cJSON_Delete(c);
    free(t1);
    free(t2);
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_header_not_json)
{
    struct tfx f;
    char *h = gh_mint_b64url("[1,2]", 5), buf[256];

    tfx_start(&f, NULL);
    snprintf(buf, sizeof(buf), "%s.e30.AAAA", h);
    expect_deny(&f, buf, "header is not a JSON object");
    free(h);
    tfx_stop(&f);
}
END_TEST

/* ---- key and signature ------------------------------------------------------------------ */

START_TEST(reject_unknown_kid_without_refresh)
{
    struct tfx f;
    char *tok;

    tfx_start(&f, NULL);
    tok = mint(f.rsa2, "RS256", claims()); /* kid r2 is not published */
    expect_deny(&f, tok, "unknown signing key kid=r2");
    free(tok);
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_tampered_payload)
{
    struct tfx f;
    char *good, *evil, buf[8192];
    const char *g1, *g2, *e1, *e2;
    cJSON *c = claims();

    tfx_start(&f, NULL);
    good = mint(f.rsa, "RS256", claims());
    cJSON_ReplaceItemInObject(c, "oid", cJSON_CreateString("00000000-0000-0000-0000-000000000000"));
    evil = mint(f.rsa2, "RS256", c);
    /* header and signature of the good token around the evil payload */
    g1 = strchr(good, '.');
    g2 = strrchr(good, '.');
    e1 = strchr(evil, '.');
    e2 = strrchr(evil, '.');
    snprintf(buf, sizeof(buf), "%.*s%.*s%s", (int)(g1 - good), good, (int)(e2 - e1), e1, g2);
    expect_deny(&f, buf, "signature verification failed");
    free(good);
    free(evil);
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_signature_by_other_key)
{
    struct tfx f;
    char *tok;
    struct gh_mint_key *impostor = gh_mint_key_load("rsa2", "r1");

    tfx_start(&f, NULL);
    tok = mint(impostor, "RS256", claims());
    expect_deny(&f, tok, "signature verification failed");
    free(tok);
    gh_mint_key_free(impostor);
    tfx_stop(&f);
}
END_TEST

/* CVE-2022-21449: r = s = 0 must never verify. */
START_TEST(reject_ecdsa_zero_signature)
{
    static const char *const extra[] = {"GATEHOUSE_ALGS=ES256", NULL};
    struct tfx f;
    unsigned char zero[64] = {0};
    char *tok, *z, buf[8192];

    tfx_start(&f, extra);
    tok = mint(f.ec, "ES256", claims());
    *strrchr(tok, '.') = '\0';
    z = gh_mint_b64url(zero, sizeof(zero));
    snprintf(buf, sizeof(buf), "%s.%s", tok, z);
    expect_deny(&f, buf, "signature verification failed");
    snprintf(buf, sizeof(buf), "%s.AAAA", tok); /* wrong length */
    expect_deny(&f, buf, "ECDSA signature has 3 bytes");
    free(z);
    free(tok);
    tfx_stop(&f);
}
END_TEST

/* ---- claims ------------------------------------------------------------------------------ */

static void deny_with(struct tfx *f, cJSON *c, const char *want)
{
    char *tok = mint(f->rsa, "RS256", c);
    expect_deny(f, tok, want);
    free(tok);
}

START_TEST(reject_missing_exp)
{
    struct tfx f;
    cJSON *c = claims();

    tfx_start(&f, NULL);
    cJSON_DeleteItemFromObject(c, "exp");
    deny_with(&f, c, "token has no exp claim");
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_exp_wrong_type)
{
    struct tfx f;
    cJSON *c = claims();

    tfx_start(&f, NULL);
    cJSON_ReplaceItemInObject(c, "exp", cJSON_CreateString("9999999999"));
    deny_with(&f, c, "exp claim is not a number");
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_expired_minutes)
{
    struct tfx f;
    cJSON *c = claims();

    tfx_start(&f, NULL);
    gh_mint_claims_time(c, "exp", -200);
    deny_with(&f, c, "expired 3 min ago");
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_expired_seconds)
{
    static const char *const extra[] = {"GATEHOUSE_LEEWAY=0", NULL};
    struct tfx f;
    cJSON *c = claims();

    tfx_start(&f, extra);
    gh_mint_claims_time(c, "exp", -5);
    deny_with(&f, c, "s ago");
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_nbf_in_future)
{
    struct tfx f;
    cJSON *c = claims();

    tfx_start(&f, NULL);
    gh_mint_claims_time(c, "nbf", 600);
    deny_with(&f, c, "not valid yet");
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_iat_in_future)
{
    struct tfx f;
    cJSON *c = claims();

    tfx_start(&f, NULL);
    gh_mint_claims_time(c, "iat", 600);
    deny_with(&f, c, "issued in the future");
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_v1_issuer_when_v2_configured)
{
    struct tfx f;
    cJSON *c = claims();

    tfx_start(&f, NULL); /* default: discovery issuer (v2) */
    cJSON_ReplaceItemInObject(c, "iss", cJSON_CreateString(ISS_V1));
    deny_with(&f, c, "token issued by v1 endpoint sts.windows.net but only v2 issuer configured");
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_v2_issuer_when_v1_configured)
{
    static const char *const extra[] = {"GATEHOUSE_ISSUER=" ISS_V1, NULL};
    struct tfx f;
    cJSON *c = claims();
    cJSON *c1 = claims();
    char *t;

    tfx_start(&f, extra);
    deny_with(&f, c, "token issued by v2 endpoint login.microsoftonline.com but only v1");
    cJSON_ReplaceItemInObject(c1, "iss", cJSON_CreateString(ISS_V1));
    t = mint(f.rsa, "RS256", c1);
    expect_ok(&f, t);
    free(t);
    tfx_stop(&f);
}
END_TEST

START_TEST(accept_both_issuers_when_both_configured)
{
    static const char *const extra[] = {"GATEHOUSE_ISSUER=" ISS_V1 "," ISS_V2, NULL};
    struct tfx f;
    cJSON *c1 = claims();
    char *t1, *t2;

    tfx_start(&f, extra);
    cJSON_ReplaceItemInObject(c1, "iss", cJSON_CreateString(ISS_V1));
    t1 = mint(f.rsa, "RS256", c1);
    t2 = mint(f.rsa, "RS256", claims());
    expect_ok(&f, t1);
    expect_ok(&f, t2);
    free(t1);
    free(t2);
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_other_issuer_and_prefix_tricks)
{
    struct tfx f;
    cJSON *c1 = claims(), *c2 = claims(), *c3 = claims();

    tfx_start(&f, NULL);
    cJSON_ReplaceItemInObject(c1, "iss", cJSON_CreateString("https://evil.example/v2.0"));
    deny_with(&f, c1, "issuer https://evil.example/v2.0 is not accepted");
    cJSON_ReplaceItemInObject(c2, "iss", cJSON_CreateString(ISS_V2 "/extra"));
    deny_with(&f, c2, "is not accepted");
    cJSON_DeleteItemFromObject(c3, "iss");
    deny_with(&f, c3, "token has no iss claim");
    tfx_stop(&f);
}
END_TEST

/* The common endpoint's {tenantid} template with a tenant allow-list. */
START_TEST(issuer_template_with_tenant_allow_list)
{
    static const char *const extra[] = {
        "GATEHOUSE_ISSUER=https://login.microsoftonline.com/{tenantid}/v2.0",
        "GATEHOUSE_TENANTS=" TID "," TID2, NULL};
    struct tfx f;
    cJSON *c2 = gh_mint_claims("https://login.microsoftonline.com/" TID2 "/v2.0", AUD, TID2);
    cJSON *c3 = gh_mint_claims("https://login.microsoftonline.com/" TID2 "/v2.0", AUD, TID);
    cJSON *c4 = gh_mint_claims("https://login.microsoftonline.com/11111111-2222-3333-4444-"
                               "555555555555/v2.0",
                               AUD, "11111111-2222-3333-4444-555555555555");
    cJSON *c5 = gh_mint_claims("https://login.microsoftonline.com/x/v2.0", AUD, "x");
    char *t;

    tfx_start(&f, extra);
    t = mint(f.rsa, "RS256", claims());
    expect_ok(&f, t);
    free(t);
    t = mint(f.rsa, "RS256", c2);
    expect_ok(&f, t);
    free(t);
    deny_with(&f, c3, "is not accepted"); /* iss tenant != tid */
    deny_with(&f, c4, "tenant 11111111-2222-3333-4444-555555555555 is not allowed");
    deny_with(&f, c5, "is not accepted"); /* tid not a GUID */
    tfx_stop(&f);
}
END_TEST

/* A {tenantid} issuer from discovery (the common document) without a tenant allow-list accepts
 * nothing; a configured one is refused at start-up. */
START_TEST(issuer_template_requires_tenants)
{
    static const char *const bad[] = {"GATEHOUSE_AUDIENCE=" AUD,
                                      "GATEHOUSE_ISSUER=https://login.microsoftonline.com/"
                                      "{tenantid}/v2.0",
                                      NULL};
    struct tfx f;
    struct gh_config *cfg = NULL;
    struct authz_verifier *v = NULL;
    struct gh_err err = {0};
    struct gh_mint_key *keys[1];
    char *doc;

    tfx_start(&f, NULL);
    keys[0] = f.rsa;
    doc = gh_mint_jwks(keys, 1);
    ck_assert_int_eq(jwks_cache_load_doc(f.cache, doc, strlen(doc),
                                         "https://login.microsoftonline.com/{tenantid}/v2.0", &err),
                     GH_OK);
    deny_with(&f, claims(), "needs GATEHOUSE_TENANTS");
    ck_assert_int_eq(gh_config_load(NULL, (char *const *)bad, &cfg, &err), GH_OK);
    ck_assert_int_eq(authz_verifier_new(cfg, f.cache, &v, &err), GH_E_INVALID);
    ck_assert(strstr(err.msg, "GATEHOUSE_TENANTS") != NULL);
    gh_config_free(cfg);
    free(doc);
    tfx_stop(&f);
}
END_TEST

/* A JWK's own "issuer" (Entra v2 keys) limits which issuer it may sign for. */
START_TEST(reject_key_issuer_mismatch)
{
    static const char *const extra[] = {
        "GATEHOUSE_ISSUER=https://login.microsoftonline.com/{tenantid}/v2.0",
        "GATEHOUSE_TENANTS=" TID "," TID2, NULL};
    struct tfx f;
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "keys"), *jwk;
    char *doc, *t;
    struct gh_err err = {0};

    tfx_start(&f, extra);
    jwk = gh_mint_key_jwk(f.rsa);
    cJSON_AddStringToObject(jwk, "issuer", ISS_V2);
    cJSON_AddItemToArray(arr, jwk);
    doc = cJSON_PrintUnformatted(root);
    ck_assert_int_eq(jwks_cache_load_doc(f.cache, doc, strlen(doc), NULL, &err), GH_OK);
    t = mint(f.rsa, "RS256", claims());
    expect_ok(&f, t);
    free(t);
    deny_with(&f, gh_mint_claims("https://login.microsoftonline.com/" TID2 "/v2.0", AUD, TID2),
              "signing key kid=r1 is not valid for issuer");
    free(doc);
    cJSON_Delete(root);
    tfx_stop(&f);
}
END_TEST

/* Install rsa1 ("r1") alone, its JWK carrying "issuer" key_issuer (Entra's v2 keys do). */
static void load_key_with_issuer(struct tfx *f, const char *key_issuer, const char *disc_issuer)
{
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "keys");
    cJSON *jwk = gh_mint_key_jwk(f->rsa);
    struct gh_err err = {0};
    char *doc;

    cJSON_AddStringToObject(jwk, "issuer", key_issuer);
    cJSON_AddItemToArray(arr, jwk);
    doc = cJSON_PrintUnformatted(root);
    ck_assert_int_eq(jwks_cache_load_doc(f->cache, doc, strlen(doc), disc_issuer, &err), GH_OK);
    free(doc);
    cJSON_Delete(root);
}

/* Entra signs v1 tokens (iss sts.windows.net/<tid>/) with the same keys as v2 ones, and those
 * keys name the v2 issuer: with both issuers configured, both token versions pass
 * (Microsoft.IdentityModel ValidateIssuerSigningKey compares the key's issuer with the v2
 * issuer of the token's tenant). */
START_TEST(key_issuer_v2_signs_v1_of_same_tenant)
{
    static const char *const extra[] = {"GATEHOUSE_ISSUER=" ISS_V2 "," ISS_V1, NULL};
    static const char *const tmpl_extra[] = {
        "GATEHOUSE_ISSUER=https://login.microsoftonline.com/{tenantid}/v2.0,"
        "https://sts.windows.net/{tenantid}/",
        "GATEHOUSE_TENANTS=" TID "," TID2, NULL};
    struct tfx f;
    cJSON *c;
    char *t;

    tfx_start(&f, extra);
    load_key_with_issuer(&f, ISS_V2, ISS_V2);
    t = mint(f.rsa, "RS256", claims());
    expect_ok(&f, t);
    free(t);
    c = claims();
    cJSON_ReplaceItemInObject(c, "iss", cJSON_CreateString(ISS_V1));
    t = mint(f.rsa, "RS256", c);
    expect_ok(&f, t);
    free(t);
    tfx_stop(&f);

    /* the multi-tenant (/common) key names the {tenantid} template: each tenant's v1 token */
    tfx_start(&f, tmpl_extra);
    load_key_with_issuer(&f, "https://login.microsoftonline.com/{tenantid}/v2.0",
                         "https://login.microsoftonline.com/{tenantid}/v2.0");
    t = mint(f.rsa, "RS256", gh_mint_claims(ISS_V1, AUD, TID));
    expect_ok(&f, t);
    free(t);
    t = mint(f.rsa, "RS256", gh_mint_claims("https://sts.windows.net/" TID2 "/", AUD, TID2));
    expect_ok(&f, t);
    free(t);
    tfx_stop(&f);
}
END_TEST

/* A key that names tenant A's issuer never signs for tenant B, v1 or v2; nor does a {tenantid}
 * key sign a v1 token whose iss names a tenant other than its tid. */
START_TEST(key_issuer_never_crosses_tenants)
{
    static const char *const tmpl_extra[] = {
        "GATEHOUSE_ISSUER=https://login.microsoftonline.com/{tenantid}/v2.0,"
        "https://sts.windows.net/{tenantid}/",
        "GATEHOUSE_TENANTS=" TID "," TID2, NULL};
    static const char *const v1_extra[] = {"GATEHOUSE_ISSUER=" ISS_V1,
                                           "GATEHOUSE_TENANTS=" TID "," TID2, NULL};
    struct tfx f;

    tfx_start(&f, tmpl_extra);
    load_key_with_issuer(&f, ISS_V2, "https://login.microsoftonline.com/{tenantid}/v2.0");
    deny_with(&f, gh_mint_claims("https://login.microsoftonline.com/" TID2 "/v2.0", AUD, TID2),
              "signing key kid=r1 is not valid for issuer");
    deny_with(&f, gh_mint_claims("https://sts.windows.net/" TID2 "/", AUD, TID2),
              "signing key kid=r1 is not valid for issuer https://sts.windows.net/" TID2 "/");
    /* the key's own tenant still passes, v1 and v2 */
    {
        char *t = mint(f.rsa, "RS256", gh_mint_claims(ISS_V1, AUD, TID));
        expect_ok(&f, t);
        free(t);
    }
    /* a key naming another tenant's v1 issuer signs only that exact issuer (a fresh token: the
     * one above is in the verified-token cache) */
    load_key_with_issuer(&f, "https://sts.windows.net/" TID2 "/",
                         "https://login.microsoftonline.com/{tenantid}/v2.0");
    {
        cJSON *c = gh_mint_claims(ISS_V1, AUD, TID);
        cJSON_AddStringToObject(c, "uti", "fresh");
        deny_with(&f, c, "signing key kid=r1 is not valid for issuer");
    }
    tfx_stop(&f);

    /* tenant A's v1 issuer configured exactly, a token claiming tid B (allowed) with A's iss:
     * the template key resolves to B's v2 issuer, whose v1 twin is not this iss */
    tfx_start(&f, v1_extra);
    load_key_with_issuer(&f, "https://login.microsoftonline.com/{tenantid}/v2.0",
                         "https://login.microsoftonline.com/{tenantid}/v2.0");
    deny_with(&f, gh_mint_claims(ISS_V1, AUD, TID2), "signing key kid=r1 is not valid for issuer");
    {
        char *t = mint(f.rsa, "RS256", gh_mint_claims(ISS_V1, AUD, TID));
        expect_ok(&f, t);
        free(t);
    }
    /* a tid that is not a GUID can never complete a {tenantid} key issuer */
    deny_with(&f, gh_mint_claims(ISS_V1, AUD, "x"), "signing key kid=r1 is not valid for issuer");
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_graph_audience)
{
    struct tfx f;
    cJSON *c = claims(), *c2 = claims();

    tfx_start(&f, NULL);
    cJSON_ReplaceItemInObject(c, "aud", cJSON_CreateString("00000003-0000-0000-c000-000000000000"));
    deny_with(&f, c,
              "audience is 00000003-0000-0000-c000-000000000000 (a Microsoft Graph token): "
              "request a token for this API's scope");
    cJSON_ReplaceItemInObject(c2, "aud", cJSON_CreateString("https://graph.microsoft.com"));
    deny_with(&f, c2, "a Microsoft Graph token");
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_other_audience)
{
    struct tfx f;
    cJSON *c = claims(), *c2 = claims(), *c3 = claims(), *arr = cJSON_CreateArray();

    tfx_start(&f, NULL);
    cJSON_ReplaceItemInObject(c, "aud", cJSON_CreateString("api://other-app"));
    deny_with(&f, c, "audience api://other-app is not this API (expected " AUD ")");
    cJSON_DeleteItemFromObject(c2, "aud");
    deny_with(&f, c2, "token has no aud claim");
    cJSON_AddItemToArray(arr, cJSON_CreateString(AUD));
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(1));
    cJSON_AddItemToArray(arr, cJSON_CreateString(AUD));
    cJSON_ReplaceItemInObject(c3, "aud", cJSON_CreateArray());
    deny_with(&f, c3, "aud claim is empty");
    cJSON_Delete(arr);
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_aud_array_with_non_string)
{
    struct tfx f;
    cJSON *c = claims(), *arr = cJSON_CreateArray();

    tfx_start(&f, NULL);
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(1));
    cJSON_AddItemToArray(arr, cJSON_CreateString(AUD));
    cJSON_ReplaceItemInObject(c, "aud", arr);
    deny_with(&f, c, "non-string");
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_tenant_not_allowed)
{
    static const char *const extra[] = {"GATEHOUSE_TENANTS=" TID2, NULL};
    struct tfx f;
    cJSON *c = claims();

    tfx_start(&f, extra);
    deny_with(&f, c, "tenant " TID " is not allowed");
    tfx_stop(&f);
}
END_TEST

START_TEST(reject_payload_not_object)
{
    struct tfx f;
    char *t;

    tfx_start(&f, NULL);
    t = gh_mint_sign(f.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", "[1]");
    expect_deny(&f, t, "payload is not a JSON object");
    free(t);
    t = gh_mint_sign(f.rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", "{} trailing");
    expect_deny(&f, t, "payload is not a JSON object");
    free(t);
    tfx_stop(&f);
}
END_TEST

/* ---- scopes and roles (403) -------------------------------------------------------------- */

START_TEST(scope_required_delegated)
{
    static const char *const extra[] = {"GATEHOUSE_REQUIRED_SCOPES=Custom.Read,Custom.Admin", NULL};
    struct tfx f;
    cJSON *bad = claims(), *sub = claims();
    char *t;

    tfx_start(&f, extra);
    t = mint(f.rsa, "RS256", claims()); /* scp "Custom.Read User.Read" */
    expect_ok(&f, t);
    free(t);
    cJSON_ReplaceItemInObject(bad, "scp", cJSON_CreateString("User.Read"));
    t = mint(f.rsa, "RS256", bad);
    expect_status(&f, t, GH_E_FORBIDDEN, "lacks a required scope");
    free(t);
    cJSON_ReplaceItemInObject(sub, "scp", cJSON_CreateString("Custom.ReadWrite"));
    t = mint(f.rsa, "RS256", sub);
    expect_status(&f, t, GH_E_FORBIDDEN, "lacks a required scope");
    free(t);
    ck_assert_str_eq(authz_verifier_scope_hint(f.v), "Custom.Read Custom.Admin");
    tfx_stop(&f);
}
END_TEST

START_TEST(role_required_app_only)
{
    static const char *const extra[] = {"GATEHOUSE_REQUIRED_SCOPES=Custom.Read",
                                        "GATEHOUSE_REQUIRED_ROLES=Gatehouse.Check", NULL};
    struct tfx f;
    cJSON *app = claims(), *noroles = claims(), *roles = cJSON_CreateArray();
    char *t;

    tfx_start(&f, extra);
    cJSON_DeleteItemFromObject(app, "scp");
    cJSON_AddItemToArray(roles, cJSON_CreateString("Other"));
    cJSON_AddItemToArray(roles, cJSON_CreateString("Gatehouse.Check"));
    cJSON_AddItemToObject(app, "roles", roles);
    t = mint(f.rsa, "RS256", app);
    expect_ok(&f, t);
    free(t);
    cJSON_DeleteItemFromObject(noroles, "scp");
    t = mint(f.rsa, "RS256", noroles);
    expect_status(&f, t, GH_E_FORBIDDEN, "app-only token lacks a required app role");
    free(t);
    tfx_stop(&f);
}
END_TEST

/* ---- verified-token cache ---------------------------------------------------------------- */

static bool metrics_has(struct tfx *f, const char *needle)
{
    struct gh_buf out;
    bool found;
    gh_buf_init(&out, 1 << 16);
    authz_verifier_metrics(f->v, &out);
    found = strstr(gh_buf_str(&out), needle) != NULL;
    gh_buf_free(&out);
    return found;
}

START_TEST(cache_hit_on_repeat)
{
    struct tfx f;
    char *t;

    tfx_start(&f, NULL);
    t = mint(f.rsa, "RS256", claims());
    expect_ok(&f, t);
    expect_ok(&f, t);
    expect_ok(&f, t);
    ck_assert(metrics_has(&f, "result=\"valid\"} 1"));
    ck_assert(metrics_has(&f, "result=\"cached\"} 2"));
    free(t);
    tfx_stop(&f);
}
END_TEST

START_TEST(cache_disabled)
{
    static const char *const extra[] = {"GATEHOUSE_TOKEN_CACHE_SIZE=0", NULL};
    struct tfx f;
    char *t;

    tfx_start(&f, extra);
    t = mint(f.rsa, "RS256", claims());
    expect_ok(&f, t);
    expect_ok(&f, t);
    ck_assert(metrics_has(&f, "result=\"valid\"} 2"));
    free(t);
    tfx_stop(&f);
}
END_TEST

/* Bounded: 300 distinct tokens through a 16-entry cache; older ones are re-verified. */
START_TEST(cache_is_bounded_lru)
{
    static const char *const extra[] = {"GATEHOUSE_TOKEN_CACHE_SIZE=16", NULL};
    struct tfx f;
    char *toks[300];

    tfx_start(&f, extra);
    for (int i = 0; i < 300; i++) {
        cJSON *c = claims();
        cJSON_AddNumberToObject(c, "n", i);
        toks[i] = mint(f.rsa, "RS256", c);
        expect_ok(&f, toks[i]);
    }
    expect_ok(&f, toks[0]); /* evicted long ago: verified again */
    ck_assert(metrics_has(&f, "result=\"valid\"} 301"));
    expect_ok(&f, toks[0]); /* now cached */
    ck_assert(metrics_has(&f, "result=\"cached\"} 1"));
    for (int i = 0; i < 300; i++)
        free(toks[i]);
    tfx_stop(&f);
}
END_TEST

/* A cached token stops working when its key leaves the set, and when it expires. */
START_TEST(cache_respects_key_removal_and_exp)
{
    struct tfx f;
    struct gh_mint_key *only;
    char *t, *t2, *doc;
    cJSON *c = claims();
    struct gh_err err = {0};

    tfx_start(&f, NULL);
    t = mint(f.rsa, "RS256", claims());
    expect_ok(&f, t);
    gh_mint_claims_time(c, "exp", -30); /* inside the 60 s leeway */
    t2 = mint(f.rsa, "RS256", c);
    expect_ok(&f, t2);
    f.cfg->leeway = 0; /* now it is expired, cached or not */
    expect_deny(&f, t2, "expired 30 s ago");
    only = f.rsa2;
    doc = gh_mint_jwks(&only, 1);
    ck_assert_int_eq(jwks_cache_load_doc(f.cache, doc, strlen(doc), ISS_V2, &err), GH_OK);
    expect_deny(&f, t, "unknown signing key kid=r1");
    free(doc);
    free(t);
    free(t2);
    tfx_stop(&f);
}
END_TEST

START_TEST(verifier_requires_audience)
{
    struct gh_config *cfg = NULL;
    struct jwks_cache *cache = NULL;
    struct authz_verifier *v = NULL;
    struct gh_err err = {0};
    static const char *const env[] = {NULL};

    ck_assert_int_eq(gh_config_load(NULL, (char *const *)env, &cfg, &err), GH_OK);
    ck_assert_int_eq(jwks_cache_new(cfg, &cache, &err), GH_OK);
    ck_assert_int_eq(authz_verifier_new(cfg, cache, &v, &err), GH_E_INVALID);
    ck_assert(strstr(err.msg, "GATEHOUSE_AUDIENCE") != NULL);
    jwks_cache_free(cache);
    gh_config_free(cfg);
}
END_TEST

START_TEST(unavailable_without_keys)
{
    struct gh_config *cfg = NULL;
    struct jwks_cache *cache = NULL;
    struct authz_verifier *v = NULL;
    struct authz_claims *c = NULL;
    struct gh_err err = {0};
    static const char *const env[] = {"GATEHOUSE_AUDIENCE=" AUD, NULL};
    struct gh_mint_key *k = gh_mint_key_load("rsa1", "r1");
    cJSON *cl = claims();
    char *t = gh_mint_jwt(k, "RS256", cl);

    ck_assert_int_eq(gh_config_load(NULL, (char *const *)env, &cfg, &err), GH_OK);
    ck_assert_int_eq(jwks_cache_new(cfg, &cache, &err), GH_OK);
    ck_assert_int_eq(authz_verifier_new(cfg, cache, &v, &err), GH_OK);
    ck_assert_int_eq(authz_token_verify(v, t, strlen(t), &c, &err), GH_E_UNAVAILABLE);
    authz_verifier_free(v);
    jwks_cache_free(cache);
    gh_config_free(cfg);
    gh_mint_key_free(k);
    cJSON_Delete(cl);
    free(t);
}
END_TEST

/* ---- with the loopback IdP: rotation through an unknown-kid refresh ---------------------- */

START_TEST(unknown_kid_refresh_picks_up_rotated_key)
{
    static const char *const extra[] = {"GATEHOUSE_JWKS_COOLDOWN=30", NULL};
    struct gh_idp *idp = gh_idp_start(TID);
    struct gh_mint_key *k1 = gh_mint_key_load("rsa1", "old"), *k2 = gh_mint_key_load("rsa2", "new");
    struct gh_mint_key *k3 = gh_mint_key_load("rsa3", "never");
    struct gh_config *cfg;
    struct jwks_cache *cache;
    struct authz_verifier *v;
    struct authz_claims *c = NULL;
    struct gh_err err = {0};
    char *t_new, *t_never;
    unsigned fetches;

    gh_idp_set_keys(idp, &k1, 1);
    cfg = gh_idp_config(idp, extra);
    ck_assert_int_eq(jwks_cache_new(cfg, &cache, &err), GH_OK);
    ck_assert_int_eq(authz_verifier_new(cfg, cache, &v, &err), GH_OK);
    ck_assert_int_eq(jwks_cache_start(cache, &err), GH_OK);
    ck_assert_uint_ge(gh_idp_wait_jwks_fetches(idp, 1, 5000), 1);
    for (int i = 0; i < 250 && !jwks_cache_ready(cache, NULL); i++)
        gh_idp_wait_jwks_fetches(idp, 100, 20);
    gh_idp_set_keys(idp, &k2, 1);
    t_new = mint(k2, "RS256", gh_mint_claims(gh_idp_issuer(idp), GH_IDP_AUDIENCE, TID));
    ck_assert_msg(authz_token_verify(v, t_new, strlen(t_new), &c, &err) == GH_OK, "%s", err.msg);
    authz_claims_release(c);
    fetches = gh_idp_jwks_fetches(idp);
    ck_assert_uint_eq(fetches, 2);
    /* a kid that never appears: first after a refresh... */
    t_never = mint(k3, "RS256", gh_mint_claims(gh_idp_issuer(idp), GH_IDP_AUDIENCE, TID));
    gh_err_clear(&err);
    ck_assert_int_eq(authz_token_verify(v, t_never, strlen(t_never), &c, &err), GH_E_UNAUTHORIZED);
    ck_assert_msg(strstr(err.msg, "kid=never") != NULL, "%s", err.msg);
    /* ...and the flood that follows costs no further fetches within the cooldown */
    for (int i = 0; i < 100; i++) {
        gh_err_clear(&err);
        ck_assert_int_eq(authz_token_verify(v, t_never, strlen(t_never), &c, &err),
                         GH_E_UNAUTHORIZED);
    }
    ck_assert_uint_le(gh_idp_jwks_fetches(idp), fetches + 1);
    free(t_new);
    free(t_never);
    authz_verifier_free(v);
    jwks_cache_free(cache);
    gh_config_free(cfg);
    gh_mint_key_free(k1);
    gh_mint_key_free(k2);
    gh_mint_key_free(k3);
    gh_idp_stop(idp);
}
END_TEST

START_TEST(unknown_kid_message_after_refresh)
{
    static const char *const extra[] = {"GATEHOUSE_JWKS_COOLDOWN=0", NULL};
    struct gh_idp *idp = gh_idp_start(TID);
    struct gh_mint_key *k1 = gh_mint_key_load("rsa1", "old"),
                       *k3 = gh_mint_key_load("rsa3", "gone");
    struct gh_config *cfg;
    struct jwks_cache *cache;
    struct authz_verifier *v;
    struct authz_claims *c = NULL;
    struct gh_err err = {0};
    char *t;

    gh_idp_set_keys(idp, &k1, 1);
    cfg = gh_idp_config(idp, extra);
    ck_assert_int_eq(jwks_cache_new(cfg, &cache, &err), GH_OK);
    ck_assert_int_eq(authz_verifier_new(cfg, cache, &v, &err), GH_OK);
    ck_assert_int_eq(jwks_cache_start(cache, &err), GH_OK);
    for (int i = 0; i < 250 && !jwks_cache_ready(cache, NULL); i++)
        gh_idp_wait_jwks_fetches(idp, 100, 20);
    t = mint(k3, "RS256", gh_mint_claims(gh_idp_issuer(idp), GH_IDP_AUDIENCE, TID));
    ck_assert_int_eq(authz_token_verify(v, t, strlen(t), &c, &err), GH_E_UNAUTHORIZED);
    ck_assert_str_eq(err.msg, "unknown signing key kid=gone after refresh");
    free(t);
    authz_verifier_free(v);
    jwks_cache_free(cache);
    gh_config_free(cfg);
    gh_mint_key_free(k1);
    gh_mint_key_free(k3);
    gh_idp_stop(idp);
}
END_TEST

Suite *token_suite(void)
{
    Suite *s = suite_create("token");
    TCase *tc = tcase_create("valid");
    tcase_add_test(tc, valid_rs256);
    tcase_add_test(tc, valid_es256_es384_when_allowed);
    tcase_add_test(tc, valid_client_id_audience_and_array);
    tcase_add_test(tc, valid_large_token_with_200_groups);
    tcase_add_test(tc, valid_within_leeway);
    suite_add_tcase(s, tc);

    tc = tcase_create("form");
    tcase_add_test(tc, reject_segment_count);
    tcase_add_test(tc, reject_empty_segments);
    tcase_add_test(tc, reject_non_canonical_base64url);
    tcase_add_test(tc, reject_oversized_token);
    suite_add_tcase(s, tc);

    tc = tcase_create("header");
    tcase_add_test(tc, reject_alg_none);
    tcase_add_test(tc, reject_hs256_keyed_with_public_key);
    tcase_add_test(tc, reject_alg_not_in_allow_list);
    tcase_add_test(tc, reject_alg_kty_mismatch);
    tcase_add_test(tc, reject_crit);
    tcase_add_test(tc, reject_missing_or_long_kid);
    tcase_add_test(tc, reject_embedded_and_remote_keys);
    tcase_add_test(tc, reject_bad_typ);
    tcase_add_test(tc, reject_duplicate_members);
    tcase_add_test(tc, reject_header_not_json);
    suite_add_tcase(s, tc);

    tc = tcase_create("signature");
    tcase_add_test(tc, reject_unknown_kid_without_refresh);
    tcase_add_test(tc, reject_tampered_payload);
    tcase_add_test(tc, reject_signature_by_other_key);
    tcase_add_test(tc, reject_ecdsa_zero_signature);
    suite_add_tcase(s, tc);

    tc = tcase_create("claims");
    tcase_add_test(tc, reject_missing_exp);
    tcase_add_test(tc, reject_exp_wrong_type);
    tcase_add_test(tc, reject_expired_minutes);
    tcase_add_test(tc, reject_expired_seconds);
    tcase_add_test(tc, reject_nbf_in_future);
    tcase_add_test(tc, reject_iat_in_future);
    tcase_add_test(tc, reject_v1_issuer_when_v2_configured);
    tcase_add_test(tc, reject_v2_issuer_when_v1_configured);
    tcase_add_test(tc, accept_both_issuers_when_both_configured);
    tcase_add_test(tc, reject_other_issuer_and_prefix_tricks);
    tcase_add_test(tc, issuer_template_with_tenant_allow_list);
    tcase_add_test(tc, issuer_template_requires_tenants);
    tcase_add_test(tc, reject_key_issuer_mismatch);
    tcase_add_test(tc, key_issuer_v2_signs_v1_of_same_tenant);
    tcase_add_test(tc, key_issuer_never_crosses_tenants);
    tcase_add_test(tc, reject_graph_audience);
    tcase_add_test(tc, reject_other_audience);
    tcase_add_test(tc, reject_aud_array_with_non_string);
    tcase_add_test(tc, reject_tenant_not_allowed);
    tcase_add_test(tc, reject_payload_not_object);
    suite_add_tcase(s, tc);

    tc = tcase_create("scope");
    tcase_add_test(tc, scope_required_delegated);
    tcase_add_test(tc, role_required_app_only);
    suite_add_tcase(s, tc);

    tc = tcase_create("cache");
    tcase_add_test(tc, cache_hit_on_repeat);
    tcase_add_test(tc, cache_disabled);
    tcase_add_test(tc, cache_is_bounded_lru);
    tcase_add_test(tc, cache_respects_key_removal_and_exp);
    tcase_add_test(tc, verifier_requires_audience);
    tcase_add_test(tc, unavailable_without_keys);
    suite_add_tcase(s, tc);

    tc = tcase_create("idp");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, unknown_kid_refresh_picks_up_rotated_key);
    tcase_add_test(tc, unknown_kid_message_after_refresh);
    suite_add_tcase(s, tc);
    return s;
}
