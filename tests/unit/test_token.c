/*
 * test_token.c - authz/token.c: every rejection rule (compact form, header, key choice,
 * signature, each claim) as a row of an {input, expected} table run on a fresh verifier, the
 * error_description texts an Entra admin sees, scopes/roles (403), and the verified-token cache.
 * Keys come from tests/data/keys and are installed directly with jwks_cache_load_doc (no network);
 * unknown-kid refresh is tested against the loopback IdP.
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

/* The key cache and the verifier from a config, as the daemon builds them; *o is filled here
 * and borrowed by the result, so it lives as long as the cache or verifier. */
static enum gh_status cache_new(const struct gh_config *cfg, struct jwks_cache_opts *o,
                                struct jwks_cache **out_cache, struct gh_err *err)
{
    gh_config_jwks_opts(cfg, o);
    return jwks_cache_new(o, out_cache, err);
}

static enum gh_status verifier_new(const struct gh_config *cfg, struct authz_verifier_opts *o,
                                   struct jwks_cache *cache, struct authz_verifier **out_verifier,
                                   struct gh_err *err)
{
    gh_config_verifier_opts(cfg, o);
    return authz_verifier_new(o, cache, out_verifier, err);
}

struct tfx {
    struct gh_config *cfg;
    struct jwks_cache_opts jo;     /* borrowed by cache */
    struct authz_verifier_opts vo; /* borrowed by v */
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
    ck_assert_int_eq(cache_new(f->cfg, &f->jo, &f->cache, &err), GH_OK);
    ck_assert_int_eq(jwks_cache_load_doc(f->cache, doc, strlen(doc), ISS_V2, &err), GH_OK);
    free(doc);
    ck_assert_msg(verifier_new(f->cfg, &f->vo, f->cache, &f->v, &err) == GH_OK, "%s", err.msg);
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

/* Accepted (want_st GH_OK), or rejected with want_st and an error_description containing
 * `want`, never echoing the token. name says which case failed. */
static void expect_case(struct tfx *f, const char *name, const char *tok, enum gh_status want_st,
                        const char *want)
{
    struct gh_err err = {0};
    enum gh_status st = verify(f, tok, &err);
    const char *last_dot = strrchr(tok, '.');

    if (want_st == GH_OK) {
        ck_assert_msg(st == GH_OK, "%s: rejected: %s", name, err.msg);
        return;
    }
    ck_assert_msg(st == want_st, "%s: status %d, want %d (%s)", name, st, want_st, err.msg);
    ck_assert_msg(strstr(err.msg, want) != NULL, "%s: description \"%s\" lacks \"%s\"", name,
                  err.msg, want);
    if (last_dot != NULL && strlen(last_dot + 1) > 16)
        ck_assert_msg(strstr(err.msg, last_dot + 1) == NULL, "%s: token echoed in the error", name);
}

static void expect_ok(struct tfx *f, const char *tok)
{
    expect_case(f, "token", tok, GH_OK, NULL);
}

static void expect_deny(struct tfx *f, const char *tok, const char *want)
{
    expect_case(f, "token", tok, GH_E_UNAUTHORIZED, want);
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

/* ---- compact form ---------------------------------------------------------------------- */

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
    expect_deny(&f, big, "larger than 24576");
    free(big);
    tfx_stop(&f);
}
END_TEST

/* ---- header ------------------------------------------------------------------------------ */

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

/* ---- key and signature ------------------------------------------------------------------ */

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

/* ---- the cases as tables ----------------------------------------------------------------- */

/* Which fixture key signs a case's token. */
enum tok_key {
    TK_RSA = 0,  /* rsa1, kid r1 (published) */
    TK_RSA2,     /* rsa2, kid r2 (not published) */
    TK_EC,       /* ec256, kid e1 */
    TK_EC384,    /* ec384, kid e3 */
    TK_HMAC_PUB, /* HMAC keyed with rsa1's public PEM: the RS256 -> HS256 confusion */
};

/* One change to the claims: set a member to a JSON value, delete it, or set a time to now+delta. */
enum tok_edit_op { TE_END = 0, TE_SET, TE_DEL, TE_TIME };
struct tok_edit {
    enum tok_edit_op op;
    const char *member;
    const char *json; /* TE_SET: the new value as JSON text */
    long delta;       /* TE_TIME: seconds from now */
};
#define TSET(m, j)                                                                                 \
    {                                                                                              \
        TE_SET, (m), (j), 0                                                                        \
    }
#define TDEL(m)                                                                                    \
    {                                                                                              \
        TE_DEL, (m), NULL, 0                                                                       \
    }
#define TTIME(m, d)                                                                                \
    {                                                                                              \
        TE_TIME, (m), NULL, (d)                                                                    \
    }
#define JSTR(s) "\"" s "\""

#define ISS_TMPL   "https://login.microsoftonline.com/{tenantid}/v2.0"
#define ISS_V1TMPL "https://sts.windows.net/{tenantid}/"
#define ISS_OF(t)  "https://login.microsoftonline.com/" t "/v2.0"
#define ISS1_OF(t) "https://sts.windows.net/" t "/"
#define TID_X      "11111111-2222-3333-4444-555555555555"
#define KEY_DENIED "signing key kid=r1 is not valid for issuer"

/* Input: settings, signing key and alg, header, claims (with edits) or a raw payload, and
 * optionally a replaced key set. Expected: the status (GH_OK: accepted) and, on a rejection, a
 * substring of the error description. */
struct tok_case {
    const char *name;
    const char *extra[3]; /* GATEHOUSE_* settings after tfx_start's, NULL-terminated */
    enum tok_key key;
    const char *alg;          /* NULL: RS256 */
    const char *header;       /* NULL: gh_mint_jwt's {"typ":"JWT","alg":alg,"kid":key's kid} */
    const char *iss, *tid;    /* the claims of gh_mint_claims(iss, AUD, tid); NULL: ISS_V2, TID */
    struct tok_edit edit[4];  /* applied to the claims in order */
    const char *payload_tail; /* replaces the claims' closing brace (a repeated member) */
    const char *payload;      /* the whole payload instead of the claims */
    bool reload;              /* the key set becomes rsa1 alone, ... */
    const char *key_issuer;   /* ... its JWK naming this "issuer" (NULL: none), ... */
    const char *disc_issuer;  /* ... under this discovery issuer */
    enum gh_status want_st;
    const char *want;
};

static const struct tok_case valid_cases[] = {
    {.name = "ES256 when allowed",
     .extra = {"GATEHOUSE_ALGS=RS256,ES256,ES384"},
     .key = TK_EC,
     .alg = "ES256"},
    {.name = "ES384 when allowed",
     .extra = {"GATEHOUSE_ALGS=RS256,ES256,ES384"},
     .key = TK_EC384,
     .alg = "ES384"},
    {.name = "client id audience", .edit = {TSET("aud", JSTR(CLIENTID))}},
    {.name = "audience array", .edit = {TSET("aud", "[\"api://other\"," JSTR(AUD) "]")}},
    {.name = "within leeway", .edit = {TTIME("exp", -30), TTIME("nbf", 30), TTIME("iat", 30)}},
};

/* 200 zeros then "1": a kid longer than the cap */
#define Z10 "0000000000"
#define Z50 Z10 Z10 Z10 Z10 Z10
#define KID_200                                                                                    \
    Z50 Z50 Z50 Z10 Z10 Z10 Z10 "000000000"                                                        \
                                "1"

static const struct tok_case header_cases[] = {
    {.name = "HS256 keyed with the public key",
     .key = TK_HMAC_PUB,
     .header = "{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"r1\"}",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "alg HS256 (HMAC) is never accepted"},
    {.name = "hs512 keyed with the public key",
     .key = TK_HMAC_PUB,
     .header = "{\"alg\":\"hs512\",\"kid\":\"r1\"}",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "(HMAC) is never accepted"},
    /* default: RS256 only */
    {.name = "RS384 not allowed",
     .alg = "RS384",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "alg RS384 is not accepted"},
    {.name = "ES256 not allowed",
     .key = TK_EC,
     .alg = "ES256",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "alg ES256 is not accepted"},
    {.name = "alg is case-sensitive (RFC 7515 §4.1.1)",
     .header = "{\"alg\":\"rs256\",\"kid\":\"r1\"}",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "alg rs256 is not accepted"},
    /* ES256 header naming the RSA key, RS256 header naming the EC key, ES256 on a P-384 key */
    {.name = "ES256 on the RSA kid",
     .extra = {"GATEHOUSE_ALGS=RS256,ES256"},
     .key = TK_EC,
     .alg = "ES256",
     .header = "{\"alg\":\"ES256\",\"kid\":\"r1\"}",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "does not match the type of signing key kid=r1"},
    {.name = "RS256 on the EC kid",
     .extra = {"GATEHOUSE_ALGS=RS256,ES256"},
     .header = "{\"alg\":\"RS256\",\"kid\":\"e1\"}",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "does not match the type of signing key kid=e1"},
    {.name = "ES256 on the P-384 kid",
     .extra = {"GATEHOUSE_ALGS=RS256,ES256"},
     .key = TK_EC,
     .alg = "ES256",
     .header = "{\"alg\":\"ES256\",\"kid\":\"e3\"}",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "does not match the type of signing key kid=e3"},
    {.name = "crit",
     .header = "{\"alg\":\"RS256\",\"kid\":\"r1\",\"b64\":false,\"crit\":[\"b64\"]}",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "crit"},
    {.name = "no kid",
     .header = "{\"alg\":\"RS256\"}",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "no kid"},
    {.name = "kid not a string",
     .header = "{\"alg\":\"RS256\",\"kid\":7}",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "no kid"},
    {.name = "kid too long",
     .header = "{\"alg\":\"RS256\",\"kid\":\"" KID_200 "\"}",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "kid is longer"},
    {.name = "typ JWE",
     .header = "{\"typ\":\"JWE\",\"alg\":\"RS256\",\"kid\":\"r1\"}",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "typ"},
    {.name = "typ at+jwt", .header = "{\"typ\":\"at+jwt\",\"alg\":\"RS256\",\"kid\":\"r1\"}"},
    {.name = "repeated header member",
     .header = "{\"alg\":\"RS256\",\"kid\":\"r1\",\"alg\":\"RS256\"}",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "header is not a JSON object (or repeats a member)"},
    /* a second "aud" appended after the good one */
    {.name = "repeated claim",
     .header = "{\"alg\":\"RS256\",\"kid\":\"r1\"}",
     .payload_tail = ",\"aud\":\"api://evil\"}",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "repeats a claim"},
};

static const struct tok_case signature_cases[] = {
    {.name = "unknown kid without refresh", /* kid r2 is not published */
     .key = TK_RSA2,
     .want_st = GH_E_UNAUTHORIZED,
     .want = "unknown signing key kid=r2"},
    {.name = "signature by another key under kid r1",
     .key = TK_RSA2,
     .header = "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"r1\"}",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "signature verification failed"},
};

static const struct tok_case claim_cases[] = {
    {.name = "no exp",
     .edit = {TDEL("exp")},
     .want_st = GH_E_UNAUTHORIZED,
     .want = "token has no exp claim"},
    {.name = "exp a string",
     .edit = {TSET("exp", JSTR("9999999999"))},
     .want_st = GH_E_UNAUTHORIZED,
     .want = "exp claim is not a number"},
    {.name = "expired minutes ago",
     .edit = {TTIME("exp", -200)},
     .want_st = GH_E_UNAUTHORIZED,
     .want = "expired 3 min ago"},
    {.name = "expired seconds ago",
     .extra = {"GATEHOUSE_LEEWAY=0"},
     .edit = {TTIME("exp", -5)},
     .want_st = GH_E_UNAUTHORIZED,
     .want = "s ago"},
    {.name = "nbf in the future",
     .edit = {TTIME("nbf", 600)},
     .want_st = GH_E_UNAUTHORIZED,
     .want = "not valid yet"},
    {.name = "iat in the future",
     .edit = {TTIME("iat", 600)},
     .want_st = GH_E_UNAUTHORIZED,
     .want = "issued in the future"},
    /* default: the discovery issuer (v2) */
    {.name = "v1 issuer when v2 configured",
     .edit = {TSET("iss", JSTR(ISS_V1))},
     .want_st = GH_E_UNAUTHORIZED,
     .want = "token issued by v1 endpoint sts.windows.net but only v2 issuer configured"},
    {.name = "v2 issuer when v1 configured",
     .extra = {"GATEHOUSE_ISSUER=" ISS_V1},
     .want_st = GH_E_UNAUTHORIZED,
     .want = "token issued by v2 endpoint login.microsoftonline.com but only v1"},
    {.name = "v1 issuer when v1 configured",
     .extra = {"GATEHOUSE_ISSUER=" ISS_V1},
     .edit = {TSET("iss", JSTR(ISS_V1))}},
    {.name = "v1 issuer when both configured",
     .extra = {"GATEHOUSE_ISSUER=" ISS_V1 "," ISS_V2},
     .edit = {TSET("iss", JSTR(ISS_V1))}},
    {.name = "v2 issuer when both configured", .extra = {"GATEHOUSE_ISSUER=" ISS_V1 "," ISS_V2}},
    {.name = "other issuer",
     .edit = {TSET("iss", JSTR("https://evil.example/v2.0"))},
     .want_st = GH_E_UNAUTHORIZED,
     .want = "issuer https://evil.example/v2.0 is not accepted"},
    {.name = "issuer with a suffix",
     .edit = {TSET("iss", JSTR(ISS_V2 "/extra"))},
     .want_st = GH_E_UNAUTHORIZED,
     .want = "is not accepted"},
    {.name = "no iss",
     .edit = {TDEL("iss")},
     .want_st = GH_E_UNAUTHORIZED,
     .want = "token has no iss claim"},
    /* the common endpoint's {tenantid} template with a tenant allow-list */
    {.name = "template: first tenant",
     .extra = {"GATEHOUSE_ISSUER=" ISS_TMPL, "GATEHOUSE_TENANTS=" TID "," TID2}},
    {.name = "template: second tenant",
     .extra = {"GATEHOUSE_ISSUER=" ISS_TMPL, "GATEHOUSE_TENANTS=" TID "," TID2},
     .iss = ISS_OF(TID2),
     .tid = TID2},
    {.name = "template: iss tenant is not tid",
     .extra = {"GATEHOUSE_ISSUER=" ISS_TMPL, "GATEHOUSE_TENANTS=" TID "," TID2},
     .iss = ISS_OF(TID2),
     .want_st = GH_E_UNAUTHORIZED,
     .want = "is not accepted"},
    {.name = "template: tenant not allowed",
     .extra = {"GATEHOUSE_ISSUER=" ISS_TMPL, "GATEHOUSE_TENANTS=" TID "," TID2},
     .iss = ISS_OF(TID_X),
     .tid = TID_X,
     .want_st = GH_E_UNAUTHORIZED,
     .want = "tenant " TID_X " is not allowed"},
    {.name = "template: tid not a GUID",
     .extra = {"GATEHOUSE_ISSUER=" ISS_TMPL, "GATEHOUSE_TENANTS=" TID "," TID2},
     .iss = ISS_OF("x"),
     .tid = "x",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "is not accepted"},
    /* a {tenantid} issuer from discovery (the common document) without a tenant allow-list
     * accepts nothing */
    {.name = "template from discovery without tenants",
     .reload = true,
     .disc_issuer = ISS_TMPL,
     .want_st = GH_E_UNAUTHORIZED,
     .want = "needs GATEHOUSE_TENANTS"},
    /* a JWK's own "issuer" (Entra v2 keys) limits which issuer it may sign for */
    {.name = "key issuer: its own tenant",
     .extra = {"GATEHOUSE_ISSUER=" ISS_TMPL, "GATEHOUSE_TENANTS=" TID "," TID2},
     .reload = true,
     .key_issuer = ISS_V2},
    {.name = "key issuer: another tenant",
     .extra = {"GATEHOUSE_ISSUER=" ISS_TMPL, "GATEHOUSE_TENANTS=" TID "," TID2},
     .reload = true,
     .key_issuer = ISS_V2,
     .iss = ISS_OF(TID2),
     .tid = TID2,
     .want_st = GH_E_UNAUTHORIZED,
     .want = KEY_DENIED},
    /* Entra signs v1 tokens (iss sts.windows.net/<tid>/) with the same keys as v2 ones, and
     * those keys name the v2 issuer: with both issuers configured, both token versions pass
     * (Microsoft.IdentityModel ValidateIssuerSigningKey compares the key's issuer with the v2
     * issuer of the token's tenant) */
    {.name = "v2 key issuer signs v2",
     .extra = {"GATEHOUSE_ISSUER=" ISS_V2 "," ISS_V1},
     .reload = true,
     .key_issuer = ISS_V2,
     .disc_issuer = ISS_V2},
    {.name = "v2 key issuer signs v1 of the same tenant",
     .extra = {"GATEHOUSE_ISSUER=" ISS_V2 "," ISS_V1},
     .reload = true,
     .key_issuer = ISS_V2,
     .disc_issuer = ISS_V2,
     .edit = {TSET("iss", JSTR(ISS_V1))}},
    /* the multi-tenant (/common) key names the {tenantid} template: each tenant's v1 token */
    {.name = "template key signs tenant 1 v1",
     .extra = {"GATEHOUSE_ISSUER=" ISS_TMPL "," ISS_V1TMPL, "GATEHOUSE_TENANTS=" TID "," TID2},
     .reload = true,
     .key_issuer = ISS_TMPL,
     .disc_issuer = ISS_TMPL,
     .iss = ISS_V1},
    {.name = "template key signs tenant 2 v1",
     .extra = {"GATEHOUSE_ISSUER=" ISS_TMPL "," ISS_V1TMPL, "GATEHOUSE_TENANTS=" TID "," TID2},
     .reload = true,
     .key_issuer = ISS_TMPL,
     .disc_issuer = ISS_TMPL,
     .iss = ISS1_OF(TID2),
     .tid = TID2},
    /* a key that names tenant A's issuer never signs for tenant B, v1 or v2 ... */
    {.name = "tenant A key, tenant B v2",
     .extra = {"GATEHOUSE_ISSUER=" ISS_TMPL "," ISS_V1TMPL, "GATEHOUSE_TENANTS=" TID "," TID2},
     .reload = true,
     .key_issuer = ISS_V2,
     .disc_issuer = ISS_TMPL,
     .iss = ISS_OF(TID2),
     .tid = TID2,
     .want_st = GH_E_UNAUTHORIZED,
     .want = KEY_DENIED},
    {.name = "tenant A key, tenant B v1",
     .extra = {"GATEHOUSE_ISSUER=" ISS_TMPL "," ISS_V1TMPL, "GATEHOUSE_TENANTS=" TID "," TID2},
     .reload = true,
     .key_issuer = ISS_V2,
     .disc_issuer = ISS_TMPL,
     .iss = ISS1_OF(TID2),
     .tid = TID2,
     .want_st = GH_E_UNAUTHORIZED,
     .want = KEY_DENIED " " ISS1_OF(TID2)},
    /* ... while the key's own tenant still passes, v1 and v2 */
    {.name = "tenant A key, tenant A v1",
     .extra = {"GATEHOUSE_ISSUER=" ISS_TMPL "," ISS_V1TMPL, "GATEHOUSE_TENANTS=" TID "," TID2},
     .reload = true,
     .key_issuer = ISS_V2,
     .disc_issuer = ISS_TMPL,
     .iss = ISS_V1},
    /* a key naming another tenant's v1 issuer signs only that exact issuer */
    {.name = "tenant B v1 key, tenant A v1",
     .extra = {"GATEHOUSE_ISSUER=" ISS_TMPL "," ISS_V1TMPL, "GATEHOUSE_TENANTS=" TID "," TID2},
     .reload = true,
     .key_issuer = ISS1_OF(TID2),
     .disc_issuer = ISS_TMPL,
     .iss = ISS_V1,
     .edit = {TSET("uti", JSTR("fresh"))},
     .want_st = GH_E_UNAUTHORIZED,
     .want = KEY_DENIED},
    /* nor does a {tenantid} key sign a v1 token whose iss names a tenant other than its tid:
     * tenant A's v1 issuer configured exactly, a token claiming tid B (allowed) with A's iss;
     * the template key resolves to B's v2 issuer, whose v1 twin is not this iss */
    {.name = "template key, tenant A iss with tid B",
     .extra = {"GATEHOUSE_ISSUER=" ISS_V1, "GATEHOUSE_TENANTS=" TID "," TID2},
     .reload = true,
     .key_issuer = ISS_TMPL,
     .disc_issuer = ISS_TMPL,
     .iss = ISS_V1,
     .tid = TID2,
     .want_st = GH_E_UNAUTHORIZED,
     .want = KEY_DENIED},
    {.name = "template key, tenant A iss with tid A",
     .extra = {"GATEHOUSE_ISSUER=" ISS_V1, "GATEHOUSE_TENANTS=" TID "," TID2},
     .reload = true,
     .key_issuer = ISS_TMPL,
     .disc_issuer = ISS_TMPL,
     .iss = ISS_V1},
    /* a tid that is not a GUID can never complete a {tenantid} key issuer */
    {.name = "template key, tid not a GUID",
     .extra = {"GATEHOUSE_ISSUER=" ISS_V1, "GATEHOUSE_TENANTS=" TID "," TID2},
     .reload = true,
     .key_issuer = ISS_TMPL,
     .disc_issuer = ISS_TMPL,
     .iss = ISS_V1,
     .tid = "x",
     .want_st = GH_E_UNAUTHORIZED,
     .want = KEY_DENIED},
    {.name = "Microsoft Graph audience (app id)",
     .edit = {TSET("aud", JSTR("00000003-0000-0000-c000-000000000000"))},
     .want_st = GH_E_UNAUTHORIZED,
     .want = "audience is 00000003-0000-0000-c000-000000000000 (a Microsoft Graph token): "
             "request a token for this API's scope"},
    {.name = "Microsoft Graph audience (URL)",
     .edit = {TSET("aud", JSTR("https://graph.microsoft.com"))},
     .want_st = GH_E_UNAUTHORIZED,
     .want = "a Microsoft Graph token"},
    {.name = "other audience",
     .edit = {TSET("aud", JSTR("api://other-app"))},
     .want_st = GH_E_UNAUTHORIZED,
     .want = "audience api://other-app is not this API (expected " AUD ")"},
    {.name = "no aud",
     .edit = {TDEL("aud")},
     .want_st = GH_E_UNAUTHORIZED,
     .want = "token has no aud claim"},
    {.name = "empty aud array",
     .edit = {TSET("aud", "[]")},
     .want_st = GH_E_UNAUTHORIZED,
     .want = "aud claim is empty"},
    {.name = "aud array with a non-string",
     .edit = {TSET("aud", "[1," JSTR(AUD) "]")},
     .want_st = GH_E_UNAUTHORIZED,
     .want = "non-string"},
    {.name = "tenant not allowed",
     .extra = {"GATEHOUSE_TENANTS=" TID2},
     .want_st = GH_E_UNAUTHORIZED,
     .want = "tenant " TID " is not allowed"},
    {.name = "payload an array",
     .header = "{\"alg\":\"RS256\",\"kid\":\"r1\"}",
     .payload = "[1]",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "payload is not a JSON object"},
    {.name = "payload with trailing text",
     .header = "{\"alg\":\"RS256\",\"kid\":\"r1\"}",
     .payload = "{} trailing",
     .want_st = GH_E_UNAUTHORIZED,
     .want = "payload is not a JSON object"},
};

static const struct tok_case scope_cases[] = {
    {.name = "delegated with the scopes", /* scp "Custom.Read User.Read" */
     .extra = {"GATEHOUSE_REQUIRED_SCOPES=Custom.Read,Custom.Admin"}},
    {.name = "delegated without them",
     .extra = {"GATEHOUSE_REQUIRED_SCOPES=Custom.Read,Custom.Admin"},
     .edit = {TSET("scp", JSTR("User.Read"))},
     .want_st = GH_E_FORBIDDEN,
     .want = "lacks a required scope"},
    {.name = "delegated with a longer scope name",
     .extra = {"GATEHOUSE_REQUIRED_SCOPES=Custom.Read,Custom.Admin"},
     .edit = {TSET("scp", JSTR("Custom.ReadWrite"))},
     .want_st = GH_E_FORBIDDEN,
     .want = "lacks a required scope"},
    {.name = "app-only with the role",
     .extra = {"GATEHOUSE_REQUIRED_SCOPES=Custom.Read", "GATEHOUSE_REQUIRED_ROLES=Gatehouse.Check"},
     .edit = {TDEL("scp"), TSET("roles", "[\"Other\",\"Gatehouse.Check\"]")}},
    {.name = "app-only without roles",
     .extra = {"GATEHOUSE_REQUIRED_SCOPES=Custom.Read", "GATEHOUSE_REQUIRED_ROLES=Gatehouse.Check"},
     .edit = {TDEL("scp")},
     .want_st = GH_E_FORBIDDEN,
     .want = "app-only token lacks a required app role"},
};

/* The key set becomes rsa1 ("r1") alone, its JWK carrying "issuer" key_issuer when not NULL
 * (Entra's v2 keys do), under discovery issuer disc_issuer. */
static void load_key_with_issuer(struct tfx *f, const char *key_issuer, const char *disc_issuer)
{
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "keys");
    cJSON *jwk = gh_mint_key_jwk(f->rsa);
    struct gh_err err = {0};
    char *doc;

    if (key_issuer != NULL)
        cJSON_AddStringToObject(jwk, "issuer", key_issuer);
    cJSON_AddItemToArray(arr, jwk);
    doc = cJSON_PrintUnformatted(root);
    ck_assert_int_eq(jwks_cache_load_doc(f->cache, doc, strlen(doc), disc_issuer, &err), GH_OK);
    free(doc);
    cJSON_Delete(root);
}

/* The claims of case t, edited. Caller deletes. */
static cJSON *tok_case_claims(const struct tok_case *t)
{
    cJSON *c = gh_mint_claims(t->iss != NULL ? t->iss : ISS_V2, AUD, t->tid != NULL ? t->tid : TID);
    for (const struct tok_edit *e = t->edit; e < t->edit + 4 && e->op != TE_END; e++) {
        cJSON *v;
        switch (e->op) {
        case TE_SET:
            v = cJSON_Parse(e->json);
            ck_assert_msg(v != NULL, "%s: bad JSON in the table: %s", t->name, e->json);
            if (cJSON_HasObjectItem(c, e->member))
                cJSON_ReplaceItemInObject(c, e->member, v);
            else
                cJSON_AddItemToObject(c, e->member, v);
            break;
        case TE_DEL:
            cJSON_DeleteItemFromObject(c, e->member);
            break;
        case TE_TIME:
            gh_mint_claims_time(c, e->member, e->delta);
            break;
        case TE_END:
            break;
        }
    }
    return c;
}

/* The token of case t, signed with the fixture key it names. Caller frees. */
static char *tok_case_token(struct tfx *f, const struct tok_case *t)
{
    const struct gh_mint_key *keys[] = {f->rsa, f->rsa2, f->ec, f->ec384, f->rsa};
    const struct gh_mint_key *k = keys[t->key];
    const char *alg = t->alg != NULL ? t->alg : "RS256";
    cJSON *c = tok_case_claims(t);
    char *payload = t->payload != NULL ? strdup(t->payload) : cJSON_PrintUnformatted(c);
    char *tok;

    if (t->payload_tail != NULL) {
        size_t n = strlen(payload) - 1, tail = strlen(t->payload_tail);
        payload = realloc(payload, n + tail + 1);
        memcpy(payload + n, t->payload_tail, tail + 1);
    }
    if (t->key == TK_HMAC_PUB) {
        char *pem = gh_mint_key_public_pem(f->rsa);
        tok = gh_mint_sign_hmac(pem, strlen(pem), t->header, payload);
        free(pem);
    } else if (t->header != NULL) {
        tok = gh_mint_sign(k, alg, t->header, payload);
    } else {
        tok = gh_mint_jwt(k, alg, c);
    }
    free(payload);
    cJSON_Delete(c);
    return tok;
}

/* Run case t on a fresh verifier: accepted, or rejected with its status and description. */
static void tok_case_run(const struct tok_case *t)
{
    struct tfx f;
    char *tok;

    tfx_start(&f, t->extra);
    if (t->reload)
        load_key_with_issuer(&f, t->key_issuer, t->disc_issuer);
    tok = tok_case_token(&f, t);
    expect_case(&f, t->name, tok, t->want_st, t->want);
    free(tok);
    tfx_stop(&f);
}

#define N_CASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

START_TEST(valid_table)
{
    tok_case_run(&valid_cases[_i]);
}
END_TEST

START_TEST(header_table)
{
    tok_case_run(&header_cases[_i]);
}
END_TEST

START_TEST(signature_table)
{
    tok_case_run(&signature_cases[_i]);
}
END_TEST

START_TEST(claims_table)
{
    tok_case_run(&claim_cases[_i]);
}
END_TEST

START_TEST(scope_table)
{
    tok_case_run(&scope_cases[_i]);
}
END_TEST

/* ---- the compact form as a table: a valid token taken apart and put together wrongly ------ */

/* A byte edit of the assembled token. */
enum form_edit {
    FE_NONE = 0,
    FE_SPACE_AT_10,   /* a space inserted after the 10th character */
    FE_PLUS_NEAR_END, /* the std alphabet: '+' 5 characters from the end */
    FE_FLIP_LAST,     /* the last character's unused low bits set (RSA-256 signature: 342 chars) */
};

/* 64 zero bytes in base64url: ECDSA r = s = 0 (CVE-2022-21449) */
#define A10      "AAAAAAAAAA"
#define ZERO_SIG A10 A10 A10 A10 A10 A10 A10 A10 "AAAAAA"

/* Input: a template over a valid token (%T the token, %S its header.payload, %H the base64url
 * of `header`, %P the base64url of the claims), a byte edit, the settings and the signing key.
 * Expected: rejected (401) with a description containing `want`. */
struct form_case {
    const char *name;
    const char *extra[2];
    enum tok_key key;
    const char *alg;    /* NULL: RS256 */
    const char *header; /* for %H */
    const char *tmpl;
    enum form_edit edit;
    const char *want;
};

static const struct form_case form_cases[] = {
    {.name = "one segment", .tmpl = "abc", .want = "compact JWS"},
    {.name = "two segments", .tmpl = "a.b", .want = "compact JWS"},
    {.name = "four segments", .tmpl = "%T.AAAA", .want = "compact JWS"},
    {.name = "five segments (JWE)", .tmpl = "a.b.c.d.e", .want = "compact JWS"},
    {.name = "trailing dot", .tmpl = "%T.", .want = "compact JWS"},
    {.name = "empty token", .tmpl = "", .want = "empty"},
    {.name = "empty signature segment", .tmpl = "%S.", .want = "empty signature segment"},
    {.name = "empty header segment", .tmpl = ".e30.AAAA", .want = "empty header segment"},
    /* lenient base64url (libjwt + libb64) accepts all of these; gatehouse must not */
    {.name = "padding", .tmpl = "%T==", .want = "not strict base64url"},
    {.name = "a '!'", .tmpl = "%T!", .want = "not strict base64url"},
    {.name = "a space", .tmpl = "%T", .edit = FE_SPACE_AT_10, .want = "not strict base64url"},
    {.name = "a newline", .tmpl = "%T\n", .want = "not strict base64url"},
    {.name = "std alphabet",
     .tmpl = "%T",
     .edit = FE_PLUS_NEAR_END,
     .want = "not strict base64url"},
    {.name = "non-zero unused bits",
     .tmpl = "%T",
     .edit = FE_FLIP_LAST,
     .want = "not strict base64url"},
    {.name = "alg none",
     .header = "{\"alg\":\"none\",\"kid\":\"r1\"}",
     .tmpl = "%H.%P.AAAA",
     .want = "alg none"},
    {.name = "alg NONE",
     .header = "{\"alg\":\"NONE\",\"kid\":\"r1\"}",
     .tmpl = "%H.%P.AAAA",
     .want = "alg none"},
    {.name = "alg none, no signature",
     .header = "{\"alg\":\"none\",\"kid\":\"r1\"}",
     .tmpl = "%H.%P.",
     .want = "empty signature"},
    {.name = "header an array",
     .header = "[1,2]",
     .tmpl = "%H.e30.AAAA",
     .want = "header is not a JSON object"},
    {.name = "ECDSA r = s = 0",
     .extra = {"GATEHOUSE_ALGS=ES256"},
     .key = TK_EC,
     .alg = "ES256",
     .tmpl = "%S." ZERO_SIG,
     .want = "signature verification failed"},
    {.name = "ECDSA signature of the wrong length",
     .extra = {"GATEHOUSE_ALGS=ES256"},
     .key = TK_EC,
     .alg = "ES256",
     .tmpl = "%S.AAAA",
     .want = "ECDSA signature has 3 bytes"},
};

START_TEST(form_table)
{
    const struct form_case *t = &form_cases[_i];
    struct tfx f;
    cJSON *c = claims();
    char *claims_text = cJSON_PrintUnformatted(c);
    char *tok, *h, *p, buf[8192];
    size_t n = 0;

    tfx_start(&f, t->extra);
    {
        const struct gh_mint_key *keys[] = {f.rsa, f.rsa2, f.ec, f.ec384, f.rsa};
        tok = gh_mint_jwt(keys[t->key], t->alg != NULL ? t->alg : "RS256", c);
    }
    h = t->header != NULL ? gh_mint_b64url(t->header, strlen(t->header)) : strdup("");
    p = gh_mint_b64url(claims_text, strlen(claims_text));
    for (const char *s = t->tmpl; *s != '\0'; s++) {
        const char *piece = s;
        size_t len = 1;
        if (s[0] == '%' && s[1] == 'T') {
            piece = tok;
            len = strlen(tok);
        } else if (s[0] == '%' && s[1] == 'S') {
            piece = tok;
            len = (size_t)(strrchr(tok, '.') - tok);
        } else if (s[0] == '%' && s[1] == 'H') {
            piece = h;
            len = strlen(h);
        } else if (s[0] == '%' && s[1] == 'P') {
            piece = p;
            len = strlen(p);
        }
        if (piece != s)
            s++;
        ck_assert(n + len + 1 < sizeof(buf));
        memcpy(buf + n, piece, len);
        n += len;
    }
    buf[n] = '\0';
    switch (t->edit) {
    case FE_SPACE_AT_10: {
        /* through a second buffer, not memmove: valgrind takes fortified memmove for an
         * overlapping __memcpy_chk */
        char tail[sizeof(buf)];
        ck_assert(n + 2 < sizeof(buf));
        memcpy(tail, buf + 10, n - 10 + 1);
        buf[10] = ' ';
        memcpy(buf + 11, tail, n - 10 + 1);
        break;
    }
    case FE_PLUS_NEAR_END:
        buf[n - 5] = '+';
        break;
    case FE_FLIP_LAST:
        buf[n - 1] = buf[n - 1] == 'A' ? 'B' : (char)(buf[n - 1] ^ 1);
        break;
    case FE_NONE:
        break;
    }
    expect_case(&f, t->name, buf, GH_E_UNAUTHORIZED, t->want);
    free(tok);
    free(h);
    free(p);
    free(claims_text);
    cJSON_Delete(c);
    tfx_stop(&f);
}
END_TEST

/* A configured {tenantid} issuer without a tenant allow-list is refused at start-up (the
 * same issuer from discovery is the table's "template from discovery without tenants"). */
START_TEST(issuer_template_requires_tenants)
{
    static const char *const bad[] = {"GATEHOUSE_AUDIENCE=" AUD, "GATEHOUSE_ISSUER=" ISS_TMPL,
                                      NULL};
    struct tfx f;
    struct gh_config *cfg = NULL;
    struct authz_verifier *v = NULL;
    struct gh_err err = {0};
    struct authz_verifier_opts vo;

    tfx_start(&f, NULL);
    load_key_with_issuer(&f, NULL, ISS_TMPL);
    ck_assert_int_eq(gh_config_load(NULL, (char *const *)bad, &cfg, &err), GH_OK);
    ck_assert_int_eq(verifier_new(cfg, &vo, f.cache, &v, &err), GH_E_INVALID);
    ck_assert(strstr(err.msg, "GATEHOUSE_TENANTS") != NULL);
    gh_config_free(cfg);
    tfx_stop(&f);
}
END_TEST

START_TEST(scope_hint_names_the_required_scopes)
{
    static const char *const extra[] = {"GATEHOUSE_REQUIRED_SCOPES=Custom.Read,Custom.Admin", NULL};
    struct tfx f;

    tfx_start(&f, extra);
    ck_assert_str_eq(authz_verifier_scope_hint(f.v), "Custom.Read Custom.Admin");
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

/* Eviction keeps what is used (CLOCK, second chance): a token hit between insertions stays
 * cached however many others pass through its shard, where insertion order alone would have
 * evicted it after four. */
START_TEST(cache_keeps_hot_tokens)
{
    static const char *const extra[] = {"GATEHOUSE_TOKEN_CACHE_SIZE=64", NULL};
    struct tfx f;
    char *hot, *t;
    char want[64];

    tfx_start(&f, extra);
    hot = mint(f.rsa, "RS256", claims());
    expect_ok(&f, hot);
    for (int i = 0; i < 200; i++) {
        cJSON *c = claims();
        cJSON_AddNumberToObject(c, "n", i);
        t = mint(f.rsa, "RS256", c);
        expect_ok(&f, t);
        free(t);
        expect_ok(&f, hot);
    }
    ck_assert(metrics_has(&f, "result=\"valid\"} 201"));
    snprintf(want, sizeof(want), "result=\"cached\"} %d", 200);
    ck_assert(metrics_has(&f, want));
    free(hot);
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
    f.vo.leeway_s = 0;                /* now it is expired, cached or not */
    expect_deny(&f, t2, "expired 3"); /* 30 s, or 31 under valgrind when a second turns */
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
    struct jwks_cache_opts jo;
    struct authz_verifier_opts vo;
    static const char *const env[] = {NULL};

    ck_assert_int_eq(gh_config_load(NULL, (char *const *)env, &cfg, &err), GH_OK);
    ck_assert_int_eq(cache_new(cfg, &jo, &cache, &err), GH_OK);
    ck_assert_int_eq(verifier_new(cfg, &vo, cache, &v, &err), GH_E_INVALID);
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
    struct jwks_cache_opts jo;
    struct authz_verifier_opts vo;
    static const char *const env[] = {"GATEHOUSE_AUDIENCE=" AUD, NULL};
    struct gh_mint_key *k = gh_mint_key_load("rsa1", "r1");
    cJSON *cl = claims();
    char *t = gh_mint_jwt(k, "RS256", cl);

    ck_assert_int_eq(gh_config_load(NULL, (char *const *)env, &cfg, &err), GH_OK);
    ck_assert_int_eq(cache_new(cfg, &jo, &cache, &err), GH_OK);
    ck_assert_int_eq(verifier_new(cfg, &vo, cache, &v, &err), GH_OK);
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
    struct jwks_cache_opts jo;
    struct authz_verifier_opts vo;
    char *t_new, *t_never;
    unsigned fetches;

    gh_idp_set_keys(idp, &k1, 1);
    cfg = gh_idp_config(idp, extra);
    ck_assert_int_eq(cache_new(cfg, &jo, &cache, &err), GH_OK);
    ck_assert_int_eq(verifier_new(cfg, &vo, cache, &v, &err), GH_OK);
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
    struct jwks_cache_opts jo;
    struct authz_verifier_opts vo;
    char *t;

    gh_idp_set_keys(idp, &k1, 1);
    cfg = gh_idp_config(idp, extra);
    ck_assert_int_eq(cache_new(cfg, &jo, &cache, &err), GH_OK);
    ck_assert_int_eq(verifier_new(cfg, &vo, cache, &v, &err), GH_OK);
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
    tcase_add_loop_test(tc, valid_table, 0, N_CASES(valid_cases));
    tcase_add_test(tc, valid_large_token_with_200_groups);
    suite_add_tcase(s, tc);

    tc = tcase_create("form");
    tcase_add_loop_test(tc, form_table, 0, N_CASES(form_cases));
    tcase_add_test(tc, reject_oversized_token);
    suite_add_tcase(s, tc);

    tc = tcase_create("header");
    tcase_add_loop_test(tc, header_table, 0, N_CASES(header_cases));
    tcase_add_test(tc, reject_embedded_and_remote_keys);
    suite_add_tcase(s, tc);

    tc = tcase_create("signature");
    tcase_add_loop_test(tc, signature_table, 0, N_CASES(signature_cases));
    tcase_add_test(tc, reject_tampered_payload);
    suite_add_tcase(s, tc);

    tc = tcase_create("claims");
    tcase_add_loop_test(tc, claims_table, 0, N_CASES(claim_cases));
    tcase_add_test(tc, issuer_template_requires_tenants);
    suite_add_tcase(s, tc);

    tc = tcase_create("scope");
    tcase_add_loop_test(tc, scope_table, 0, N_CASES(scope_cases));
    tcase_add_test(tc, scope_hint_names_the_required_scopes);
    suite_add_tcase(s, tc);

    tc = tcase_create("cache");
    tcase_add_test(tc, cache_hit_on_repeat);
    tcase_add_test(tc, cache_disabled);
    tcase_add_test(tc, cache_is_bounded_lru);
    tcase_add_test(tc, cache_keeps_hot_tokens);
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
