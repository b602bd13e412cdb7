/*
 * test_jwks.c - unit tests of jwks/: strict base64url, discovery and JWKS parsing, JWK -> key
 * conversion, and the fetch path against the loopback IdP (tests/support/idp.c): schemes, caps,
 * errors. The refresh thread, rotation and outages are in test_jwks_cache.c.
 */
#include "jwks/jwks.h"
#include "sidecar/gatehouse.h"
#include "tests/support/idp.h"
#include "tests/support/mint.h"

#include "tests/support/support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TID "72f988bf-86f1-41af-91ab-2d7cd011db47"

START_TEST(b64url_table)
{
    static const struct {
        const char *in;
        const char *out; /* NULL: must be rejected */
    } cases[] = {
        {"", ""},
        {"YQ", "a"},
        {"YWI", "ab"},
        {"YWJj", "abc"},
        {"eyJhIjoxfQ", "{\"a\":1}"},
        {"YQ==", NULL},   /* padding */
        {"YW I", NULL},   /* inner space */
        {"YWJj\n", NULL}, /* trailing newline */
        {"Y", NULL},      /* impossible length */
        {"YR", NULL},     /* non-canonical trailing bits ("YQ" is canonical) */
        {"YWJ", NULL},    /* non-canonical: "YWI" is the one spelling of "ab" */
        {"YWK", NULL},    /* non-canonical (bits set in the last char) */
        {"+/8", NULL},    /* standard alphabet */
        {"-_8", "\xfb\xff"},
        {"YW!j", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char out[64];
        size_t n = 0;
        struct gh_err err = {0};
        enum gh_status st = jwks_b64url_decode(cases[i].in, strlen(cases[i].in), out, &n, &err);
        if (cases[i].out == NULL) {
            ck_assert_msg(st == GH_E_INVALID, "case %zu (%s) accepted", i, cases[i].in);
        } else {
            ck_assert_msg(st == GH_OK, "case %zu (%s): %s", i, cases[i].in, err.msg);
            ck_assert_uint_eq(n, strlen(cases[i].out));
            ck_assert(memcmp(out, cases[i].out, n) == 0);
        }
    }
}
END_TEST

START_TEST(discovery_parse_table)
{
    static const struct {
        const char *doc;
        bool ok;
    } cases[] = {
        {"{\"issuer\":\"https://login.microsoftonline.com/" TID "/v2.0\","
         "\"jwks_uri\":\"https://login.microsoftonline.com/" TID "/discovery/v2.0/keys\"}",
         true},
        {"{\"issuer\":\"https://login.microsoftonline.com/{tenantid}/v2.0\","
         "\"jwks_uri\":\"https://login.microsoftonline.com/common/discovery/v2.0/keys\"}",
         true},
        {"{\"issuer\":\"https://sts.windows.net/" TID "/\","
         "\"jwks_uri\":\"https://login.microsoftonline.com/common/discovery/keys\"}",
         true},
        {"{\"jwks_uri\":\"https://x/keys\"}", false},
        {"{\"issuer\":\"https://x\"}", false},
        {"{\"issuer\":\"https://x\",\"jwks_uri\":\"file:///etc/passwd\"}", false},
        {"{\"issuer\":\"https://x\",\"jwks_uri\":\"https://x/k\\u0001y\"}", false},
        {"{\"issuer\":1,\"jwks_uri\":\"https://x/k\"}", false},
        {"[]", false},
        {"not json", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *iss = NULL, *uri = NULL;
        struct gh_err err = {0};
        enum gh_status st =
            jwks_discovery_parse(cases[i].doc, strlen(cases[i].doc), &iss, &uri, &err);
        ck_assert_msg((st == GH_OK) == cases[i].ok, "case %zu: %s", i, err.msg);
        if (st == GH_OK)
            ck_assert(iss != NULL && uri != NULL);
        free(iss);
        free(uri);
    }
}
END_TEST

static struct jwks_set *parse_ok(const char *doc)
{
    struct jwks_set *set = NULL;
    struct gh_err err = {0};
    ck_assert_msg(jwks_set_parse(doc, strlen(doc), "https://iss", &set, &err) == GH_OK, "%s",
                  err.msg);
    return set;
}

START_TEST(jwks_parse_rsa_and_ec)
{
    struct gh_mint_key *keys[3] = {gh_mint_key_load("rsa1", "k1"), gh_mint_key_load("ec256", "e1"),
                                   gh_mint_key_load("ec384", "e2")};
    char *doc = gh_mint_jwks(keys, 3);
    struct jwks_set *set = parse_ok(doc);
    const struct jwks_key *k;

    ck_assert_uint_eq(jwks_set_key_count(set), 3);
    k = jwks_set_key_find(set, "k1", 2);
    ck_assert_ptr_nonnull(k);
    ck_assert_int_eq(jwks_key_kty(k), JWKS_KTY_RSA);
    ck_assert_int_eq(EVP_PKEY_get_bits(jwks_key_pkey(k)), 2048);
    ck_assert_ptr_null(jwks_key_alg(k));
    k = jwks_set_key_find(set, "e1", 2);
    ck_assert_int_eq(jwks_key_kty(k), JWKS_KTY_EC);
    ck_assert_int_eq(jwks_key_curve_nid(k), NID_X9_62_prime256v1);
    ck_assert_ptr_null(jwks_set_key_find(set, "e", 1));
    ck_assert_ptr_null(jwks_set_key_find(set, "k1x", 3));
    ck_assert_str_eq(jwks_set_issuer(set), "https://iss");
    jwks_set_release(set);
    free(doc);
    for (int i = 0; i < 3; i++)
        gh_mint_key_free(keys[i]);
}
END_TEST

/* Keys that must not become usable: encryption keys, HMAC keys, weak RSA, bad points. */
START_TEST(jwks_parse_skips_unusable_keys)
{
    struct gh_mint_key *good = gh_mint_key_load("rsa1", "good");
    struct gh_mint_key *weak = gh_mint_key_load("rsa1024", "weak");
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "keys"), *j;
    struct jwks_set *set;
    char *doc;

    cJSON_AddItemToArray(arr, gh_mint_key_jwk(good));
    cJSON_AddItemToArray(arr, gh_mint_key_jwk(weak));
    j = gh_mint_key_jwk(good);
    cJSON_ReplaceItemInObject(j, "kid", cJSON_CreateString("enc"));
    cJSON_ReplaceItemInObject(j, "use", cJSON_CreateString("enc"));
    cJSON_AddItemToArray(arr, j);
    cJSON_AddItemToArray(arr, cJSON_Parse("{\"kty\":\"oct\",\"kid\":\"hmac\",\"k\":\"c2VjcmV0\"}"));
    cJSON_AddItemToArray(arr,
                         cJSON_Parse("{\"kty\":\"EC\",\"kid\":\"offcurve\",\"crv\":\"P-256\","
                                     "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\","
                                     "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}"));
    j = gh_mint_key_jwk(good);
    cJSON_DeleteItemFromObject(j, "kid");
    cJSON_AddItemToArray(arr, j);
    j = gh_mint_key_jwk(good);
    cJSON_ReplaceItemInObject(j, "kid", cJSON_CreateString("padded"));
    cJSON_ReplaceItemInObject(j, "e", cJSON_CreateString("AQAB=="));
    cJSON_AddItemToArray(arr, j);
    j = gh_mint_key_jwk(weak);
    cJSON_ReplaceItemInObject(j, "kid", cJSON_CreateString("good")); /* duplicate kid: first wins */
    cJSON_AddItemToArray(arr, j);
    doc = cJSON_PrintUnformatted(root);
    set = parse_ok(doc);
    ck_assert_uint_eq(jwks_set_key_count(set), 1);
    ck_assert_int_eq(EVP_PKEY_get_bits(jwks_key_pkey(jwks_set_key_find(set, "good", 4))), 2048);
    jwks_set_release(set);
    free(doc);
    cJSON_Delete(root);
    gh_mint_key_free(good);
    gh_mint_key_free(weak);
}
END_TEST

START_TEST(jwks_parse_rejects_documents)
{
    static const char *const docs[] = {
        "", "{}", "{\"keys\":{}}", "{\"keys\":[]}", "{\"keys\":[1,2]}", "[", "{\"keys\":[{}]}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct jwks_set *set = NULL;
        struct gh_err err = {0};
        ck_assert_msg(jwks_set_parse(docs[i], strlen(docs[i]), NULL, &set, &err) != GH_OK,
                      "doc %zu accepted", i);
        ck_assert_ptr_null(set);
    }
}
END_TEST

START_TEST(url_loopback)
{
    ck_assert(jwks_url_is_loopback("http://127.0.0.1:8080/x"));
    ck_assert(jwks_url_is_loopback("http://127.1.2.3/x"));
    ck_assert(jwks_url_is_loopback("http://[::1]:80/x"));
    ck_assert(jwks_url_is_loopback("http://LOCALHOST/x"));
    ck_assert(!jwks_url_is_loopback("http://127.0.0.1.evil.example/x"));
    ck_assert(!jwks_url_is_loopback("http://127.0.0.1@evil.example/x"));
    ck_assert(!jwks_url_is_loopback("http://10.0.0.1/x"));
    ck_assert(!jwks_url_is_loopback("ftp://127.0.0.1/x"));
}
END_TEST

static const struct jwks_fetch_opts fetch_opts = {
    .timeout_s = 2, .ca_file = NULL, .allow_insecure_loopback = true, .cap = GH_CAP_JWKS};

START_TEST(fetch_ok_and_max_age)
{
    struct gh_idp *idp = gh_idp_start(TID);
    struct gh_mint_key *k = gh_mint_key_load("rsa1", "k1");
    struct gh_buf body;
    struct gh_err err = {0};
    long age = 0;

    gh_idp_set_keys(idp, &k, 1);
    gh_idp_set_max_age(idp, 1234);
    ck_assert_int_eq(jwks_fetch(gh_idp_jwks_url(idp), &fetch_opts, &body, &age, &err), GH_OK);
    ck_assert_int_eq(age, 1234);
    ck_assert(strstr(body.data, "\"k1\"") != NULL);
    gh_buf_free(&body);
    gh_idp_set_max_age(idp, -1);
    ck_assert_int_eq(jwks_fetch(gh_idp_jwks_url(idp), &fetch_opts, &body, &age, &err), GH_OK);
    ck_assert_int_eq(age, -1);
    gh_buf_free(&body);
    ck_assert_uint_eq(gh_idp_jwks_fetches(idp), 2);
    gh_mint_key_free(k);
    gh_idp_stop(idp);
}
END_TEST

START_TEST(fetch_refuses_plain_http_without_opt_in)
{
    struct jwks_fetch_opts o = fetch_opts;
    struct gh_buf body;
    struct gh_err err = {0};
    long age;

    o.allow_insecure_loopback = false;
    ck_assert_int_eq(jwks_fetch("http://127.0.0.1:1/keys", &o, &body, &age, &err), GH_E_UPSTREAM);
    ck_assert(strstr(err.msg, "loopback") != NULL);
    gh_err_clear(&err);
    ck_assert_int_eq(jwks_fetch("http://192.0.2.1/keys", &fetch_opts, &body, &age, &err),
                     GH_E_UPSTREAM);
    gh_err_clear(&err);
    ck_assert_int_eq(jwks_fetch("file:///etc/passwd", &fetch_opts, &body, &age, &err),
                     GH_E_UPSTREAM);
}
END_TEST

START_TEST(fetch_errors_caps_and_timeouts)
{
    struct gh_idp *idp = gh_idp_start(TID);
    struct gh_buf body;
    struct gh_err err = {0};
    long age;
    struct jwks_fetch_opts o = fetch_opts;

    gh_idp_set_mode(idp, GH_IDP_FAIL, GH_IDP_OK);
    ck_assert_int_eq(jwks_fetch(gh_idp_jwks_url(idp), &o, &body, &age, &err), GH_E_UPSTREAM);
    ck_assert(strstr(err.msg, "500") != NULL);
    gh_err_clear(&err);
    /* the 256 KiB cap cuts a 1 MiB answer off while reading */
    gh_idp_set_mode(idp, GH_IDP_HUGE, GH_IDP_OK);
    ck_assert_int_eq(jwks_fetch(gh_idp_jwks_url(idp), &o, &body, &age, &err), GH_E_UPSTREAM);
    ck_assert(strstr(err.msg, "larger") != NULL);
    gh_err_clear(&err);
    gh_idp_set_mode(idp, GH_IDP_CLOSE, GH_IDP_OK);
    ck_assert_int_eq(jwks_fetch(gh_idp_jwks_url(idp), &o, &body, &age, &err), GH_E_UPSTREAM);
    gh_err_clear(&err);
    /* slow: the total timeout (1 s) ends it well before the 3 s answer */
    gh_idp_set_mode(idp, GH_IDP_OK, GH_IDP_OK);
    gh_idp_set_delay_ms(idp, 3000);
    o.timeout_s = 1;
    ck_assert_int_eq(jwks_fetch(gh_idp_jwks_url(idp), &o, &body, &age, &err), GH_E_UPSTREAM);
    gh_idp_stop(idp);
}
END_TEST

/* HTTPS IdP with a self-signed certificate: trusted through ca_file it works, without it the
 * fetch is refused (peer verification on), and plain http is refused for non-opt-in configs. */
START_TEST(fetch_https_verifies_peer)
{
    char *dir = gh_tmpdir_new();
    char cert[600], key[600];
    char *cert_pem, *key_pem;
    struct gh_idp *idp;
    struct gh_mint_key *k = gh_mint_key_load("rsa1", "k1");
    struct jwks_fetch_opts o = fetch_opts;
    struct gh_buf body;
    struct gh_err err = {0};
    long age;

    gh_selfsigned_cert(dir, cert, key);
    cert_pem = gh_read_file(cert);
    key_pem = gh_read_file(key);
    ck_assert(cert_pem[0] != '\0' && key_pem[0] != '\0');
    idp = gh_idp_start_tls(TID, cert_pem, key_pem);
    gh_idp_set_keys(idp, &k, 1);
    ck_assert(strncmp(gh_idp_jwks_url(idp), "https://", 8) == 0);
    o.allow_insecure_loopback = false;
    o.ca_file = cert;
    ck_assert_msg(jwks_fetch(gh_idp_jwks_url(idp), &o, &body, &age, &err) == GH_OK, "%s", err.msg);
    gh_buf_free(&body);
    o.ca_file = NULL; /* system CAs do not know it */
    ck_assert_int_eq(jwks_fetch(gh_idp_jwks_url(idp), &o, &body, &age, &err), GH_E_UPSTREAM);
    gh_idp_stop(idp);
    gh_mint_key_free(k);
    free(cert_pem);
    free(key_pem);
    gh_tmpdir_remove(dir);
}
END_TEST

Suite *jwks_suite(void)
{
    Suite *s = suite_create("jwks");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, b64url_table);
    tcase_add_test(tc, discovery_parse_table);
    tcase_add_test(tc, jwks_parse_rsa_and_ec);
    tcase_add_test(tc, jwks_parse_skips_unusable_keys);
    tcase_add_test(tc, jwks_parse_rejects_documents);
    tcase_add_test(tc, url_loopback);
    suite_add_tcase(s, tc);
    tc = tcase_create("fetch");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, fetch_ok_and_max_age);
    tcase_add_test(tc, fetch_refuses_plain_http_without_opt_in);
    tcase_add_test(tc, fetch_errors_caps_and_timeouts);
    tcase_add_test(tc, fetch_https_verifies_peer);
    suite_add_tcase(s, tc);
    return s;
}
