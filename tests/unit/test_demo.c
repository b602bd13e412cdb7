/*
 * test_demo.c - `gatehouse demo` / `mint-token` argument parsing and the development issuer:
 * loopback-only addresses, the key (RFC 7638 kid, the same on every load), minted
 * tokens (RS256 signature checked with OpenSSL, the claims), bad mint input, and the HTTP
 * endpoint's two documents with their not-for-production note.
 */
#include "jwks/jwks.h"
#include "sidecar/demo.h"
#include "sidecar/devissuer.h"
#include "tests/support/support.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

START_TEST(demo_args)
{
    struct gh_demo_opts o;
    struct gh_err err = {0};
    char *none[] = {"build/gatehouse", "demo"};
    char *all[] = {"gatehouse",       "demo",        "--dir=/tmp/x", "--listen", "[::1]:0",
                   "--issuer-listen", "127.0.0.2:9", "--policy",     "p.json"};
    static const struct {
        const char *arg, *val; /* val NULL: the option alone */
        const char *why;       /* expected in the message */
    } bad[] = {
        {"--listen", "0.0.0.0:8080", "loopback"},
        {"--listen", "localhost:8080", "loopback"},
        {"--listen", "127.0.0.1", "HOST:PORT"},
        {"--listen", "127.0.0.1:70000", "bad port"},
        {"--listen", "127.0.0.1:8x", "bad port"},
        {"--listen", "[::1]8080", "[V6]:PORT"},
        {"--issuer-listen", "10.0.0.1:0", "loopback"},
        {"--issuer-listen", "[::]:0", "loopback"},
        {"--dir", "", "empty value"},
        {"--dir", NULL, "needs a value"},
        {"--direct", "x", "unknown option"},
        {"-v", NULL, "unknown option"},
    };

    ck_assert_int_eq(gh_demo_args_parse(ARGC(none), none, &o, &err), GH_OK);
    ck_assert_str_eq(o.dir, GH_DEMO_DIR);
    ck_assert_str_eq(o.listen, GH_DEMO_LISTEN);
    ck_assert_str_eq(o.issuer_listen, GH_DEMO_ISSUER);
    ck_assert_str_eq(o.policy, GH_DEMO_POLICY);
    ck_assert_str_eq(o.self, "build/gatehouse");
    ck_assert_int_eq(gh_demo_args_parse(ARGC(all), all, &o, &err), GH_OK);
    ck_assert_str_eq(o.dir, "/tmp/x");
    ck_assert_str_eq(o.listen, "[::1]:0");
    ck_assert_str_eq(o.issuer_listen, "127.0.0.2:9");
    ck_assert_str_eq(o.policy, "p.json");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[] = {"gatehouse", "demo", (char *)bad[i].arg, (char *)bad[i].val};
        struct gh_err e = {0};
        ck_assert_int_eq(gh_demo_args_parse(bad[i].val ? 4 : 3, argv, &o, &e), GH_E_INVALID);
        ck_assert_msg(strstr(e.msg, bad[i].why) != NULL, "%s %s: \"%s\" lacks \"%s\"", bad[i].arg,
                      bad[i].val ? bad[i].val : "", e.msg, bad[i].why);
    }
}
END_TEST

START_TEST(demo_addr)
{
    char host[64];
    int port = -1;
    struct gh_err err = {0};

    ck_assert_int_eq(gh_demo_addr_parse("127.0.0.1:8080", host, sizeof(host), &port, &err), GH_OK);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_int_eq(port, 8080);
    ck_assert_int_eq(gh_demo_addr_parse("[::1]:0", host, sizeof(host), &port, &err), GH_OK);
    ck_assert_str_eq(host, "::1");
    ck_assert_int_eq(port, 0);
    ck_assert_int_eq(gh_demo_addr_parse(":80", host, sizeof(host), &port, &err), GH_E_INVALID);
    ck_assert_int_eq(gh_demo_addr_parse("127.0.0.1:", host, sizeof(host), &port, &err),
                     GH_E_INVALID);
    ck_assert_int_eq(gh_demo_addr_parse("127.0.0.1:-1", host, sizeof(host), &port, &err),
                     GH_E_INVALID);
    ck_assert_int_eq(gh_demo_addr_parse("127.0.0.1:1", host, 4, &port, &err), GH_E_INVALID);
}
END_TEST

START_TEST(mint_args)
{
    struct gh_demo_mint_opts o;
    struct gh_err err = {0};
    char *ok[] = {"gatehouse", "mint-token", "--sub", "s", "--upn=u@x",
                  "--oid",     "o",          "--ttl", "60"};
    char *min[] = {"gatehouse", "mint-token", "--upn", "u", "--sub", "s"};
    static const char *const bad[][4] = {
        {"--sub", "s", NULL, NULL},     {"--upn", "u", NULL, NULL},
        {"--sub", "s", "--upn", NULL},  {"--sub", "s", "--upn", ""},
        {"--ttl", "0", "--sub", "s"},   {"--ttl", "86401", "--sub", "s"},
        {"--ttl", "1h", "--sub", "s"},  {"--ttl", "", "--sub", "s"},
        {"--scope", "x", "--sub", "s"}, {NULL, NULL, NULL, NULL},
    };

    ck_assert_int_eq(gh_demo_mint_args_parse(ARGC(ok), ok, &o, &err), GH_OK);
    ck_assert_str_eq(o.dir, GH_DEMO_DIR);
    ck_assert_str_eq(o.sub, "s");
    ck_assert_str_eq(o.upn, "u@x");
    ck_assert_str_eq(o.oid, "o");
    ck_assert_int_eq(o.ttl_s, 60);
    ck_assert_int_eq(gh_demo_mint_args_parse(ARGC(min), min, &o, &err), GH_OK);
    ck_assert_ptr_null(o.oid);
    ck_assert_int_eq(o.ttl_s, GH_DEMO_TTL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[6] = {"gatehouse", "mint-token"};
        int argc = 2;
        struct gh_err e = {0};
        for (int k = 0; k < 4 && bad[i][k] != NULL; k++)
            argv[argc++] = (char *)bad[i][k];
        ck_assert_msg(gh_demo_mint_args_parse(argc, argv, &o, &e) == GH_E_INVALID, "case %zu", i);
        ck_assert_str_ne(e.msg, "");
    }
}
END_TEST

START_TEST(loopback_only)
{
    static const struct {
        const char *host;
        bool loopback;
    } cases[] = {{"127.0.0.1", true},  {"127.255.0.9", true},
                 {"::1", true},        {"0.0.0.0", false},
                 {"::", false},        {"10.0.0.1", false},
                 {"localhost", false}, {"::ffff:127.0.0.1", false},
                 {"", false},          {"128.0.0.1", false}};
    struct gh_devissuer *d = NULL;
    struct gh_err err = {0};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(gh_devissuer_is_loopback(cases[i].host) == cases[i].loopback, "%s",
                      cases[i].host);
    /* refused before a key is even looked at */
    ck_assert_int_eq(gh_devissuer_start("0.0.0.0", 0, "t", NULL, NULL, &d, &err), GH_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "not for production"));
    ck_assert_ptr_null(d);
}
END_TEST

/* Split a compact JWS and return its decoded payload (parsed); checks the RS256 signature with
 * the PEM key at key_path. */
static cJSON *verify_rs256(const char *tok, const char *key_path, cJSON **out_header)
{
    const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    unsigned char buf[4096], sig[1024];
    size_t n = 0, sig_len = 0;
    FILE *f = fopen(key_path, "r");
    EVP_PKEY *pk;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    cJSON *payload;

    ck_assert_ptr_nonnull(d2);
    ck_assert_ptr_nonnull(f);
    pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(pk);
    ck_assert_int_eq(jwks_b64url_decode(d2 + 1, strlen(d2 + 1), sig, &sig_len, NULL), GH_OK);
    ck_assert_int_eq(EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, pk, NULL), 1);
    ck_assert_int_eq(
        EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)tok, (size_t)(d2 - tok)), 1);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    ck_assert_int_eq(jwks_b64url_decode(tok, (size_t)(d1 - tok), buf, &n, NULL), GH_OK);
    *out_header = cJSON_ParseWithLength((const char *)buf, n);
    ck_assert_int_eq(jwks_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), buf, &n, NULL), GH_OK);
    payload = cJSON_ParseWithLength((const char *)buf, n);
    ck_assert_ptr_nonnull(payload);
    return payload;
}

/* tests/data/keys/rsa1.pem: generating a key costs seconds under valgrind; the demo's e2e test
 * covers gh_devissuer_key_create (and the file's mode). */
static void rsa1_path(char *out, size_t cap)
{
    const char *src = getenv("GH_SRCDIR");
    snprintf(out, cap, "%s/tests/data/keys/rsa1.pem", src != NULL && *src ? src : ".");
}

START_TEST(key_and_mint)
{
    char *dir = gh_tmpdir_new(), path[600];
    struct gh_devissuer_key *k = NULL, *k2 = NULL;
    struct gh_err err = {0};
    char *tok = NULL;
    cJSON *h, *p;
    struct gh_devissuer_claims c = {
        "http://127.0.0.1:1/t/v2.0", "api://a", "t", "sub1", "u@x.example", "oid-1", 300};

    rsa1_path(path, sizeof(path));
    ck_assert_int_eq(gh_devissuer_key_load(path, &k, &err), GH_OK);
    /* RFC 7638 §3 thumbprint of rsa1, computed independently (Python hashlib over the
     * canonical {"e","kty","n"} JSON) */
    ck_assert_str_eq(gh_devissuer_key_kid(k), "m1cIHoNtxYDDLWSId5n_7hrVI2G_PQNUlic8jiVat4U");
    ck_assert_int_eq(gh_devissuer_key_load(path, &k2, &err), GH_OK);
    ck_assert_str_eq(gh_devissuer_key_kid(k), gh_devissuer_key_kid(k2));

    ck_assert_int_eq(gh_devissuer_mint(k2, &c, &tok, &err), GH_OK);
    p = verify_rs256(tok, path, &h);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(h, "alg")), "RS256");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(h, "kid")), gh_devissuer_key_kid(k));
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "iss")), c.iss);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "aud")), "api://a");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "tid")), "t");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "sub")), "sub1");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "upn")), "u@x.example");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "oid")), "oid-1");
    ck_assert_int_eq((long)(cJSON_GetObjectItem(p, "exp")->valuedouble -
                            cJSON_GetObjectItem(p, "iat")->valuedouble),
                     300);
    cJSON_Delete(h);
    cJSON_Delete(p);
    free(tok);

    /* bad input is refused, not signed */
    tok = NULL;
    c.ttl_s = 0;
    ck_assert_int_eq(gh_devissuer_mint(k, &c, &tok, &err), GH_E_INVALID);
    c.ttl_s = GH_DEVISSUER_TTL_MAX + 1;
    ck_assert_int_eq(gh_devissuer_mint(k, &c, &tok, &err), GH_E_INVALID);
    c.ttl_s = 60;
    c.sub = "";
    ck_assert_int_eq(gh_devissuer_mint(k, &c, &tok, &err), GH_E_INVALID);
    c.sub = "s";
    c.upn = NULL;
    ck_assert_int_eq(gh_devissuer_mint(k, &c, &tok, &err), GH_E_INVALID);
    ck_assert_ptr_null(tok);

    /* a file that is not a key */
    snprintf(path, sizeof(path), "%s/bad.pem", dir);
    fclose(fopen(path, "w"));
    ck_assert_int_eq(gh_devissuer_key_load(path, &k2 /* unchanged on failure */, &err) != GH_OK, 1);
    gh_devissuer_key_free(k);
    gh_devissuer_key_free(k2);
    gh_tmpdir_remove(dir);
}
END_TEST

START_TEST(endpoint_documents)
{
    char path[600], url[400];
    struct gh_devissuer_key *k = NULL;
    struct gh_devissuer *d = NULL;
    struct gh_err err = {0};
    struct gh_http_resp r;
    cJSON *j;
    const cJSON *key;

    rsa1_path(path, sizeof(path));
    ck_assert_int_eq(gh_devissuer_key_load(path, &k, &err), GH_OK);
    ck_assert_int_eq(gh_devissuer_start("127.0.0.1", 0, GH_DEMO_TENANT, k, NULL, &d, &err), GH_OK);
    ck_assert_ptr_nonnull(strstr(gh_devissuer_issuer(d), "/" GH_DEMO_TENANT "/v2.0"));

    ck_assert_int_eq(gh_http("GET", gh_devissuer_discovery_url(d), NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    j = cJSON_Parse(r.body);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "issuer")),
                     gh_devissuer_issuer(d));
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "note")), GH_DEVISSUER_NOTE);
    snprintf(url, sizeof(url), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "jwks_uri")));
    cJSON_Delete(j);
    gh_http_resp_free(&r);

    ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    j = cJSON_Parse(r.body);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "note")), GH_DEVISSUER_NOTE);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "keys")), 1);
    key = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "keys"), 0);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(key, "kty")), "RSA");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(key, "kid")),
                     gh_devissuer_key_kid(k));
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(key, "e")), "AQAB");
    ck_assert_ptr_null(strstr(r.body, "\"d\"")); /* never the private exponent */
    cJSON_Delete(j);
    gh_http_resp_free(&r);

    ck_assert_int_eq(gh_http("POST", url, NULL, "x", NULL, &r), 0);
    ck_assert_int_eq(r.status, 405);
    gh_http_resp_free(&r);
    snprintf(url, sizeof(url), "%s/../../etc/passwd", gh_devissuer_issuer(d));
    ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 404);
    gh_http_resp_free(&r);

    gh_devissuer_stop(d);
    gh_devissuer_key_free(k);
}
END_TEST

Suite *demo_suite(void)
{
    Suite *s = suite_create("demo");
    TCase *tc = tcase_create("demo");
    tcase_add_test(tc, demo_args);
    tcase_add_test(tc, demo_addr);
    tcase_add_test(tc, mint_args);
    tcase_add_test(tc, loopback_only);
    tcase_add_test(tc, key_and_mint);
    tcase_add_test(tc, endpoint_documents);
    suite_add_tcase(s, tc);
    return s;
}
