/*
 * test_signin.c - the admin page's sign-in, its pure parts (authz/signin_int.h, core/form.c):
 * PKCE S256 against RFC 7636 Appendix B, base64url, Cookie headers, form values, the return
 * path (no open redirect), cookie flags (HttpOnly, SameSite=Lax, Path, Secure and __Host- only
 * on HTTPS), loopback hosts and the origin, the administrator rule, and the ID token check
 * (audience = the admin app's client id, nonce) on a verifier over test keys.
 */
#include "authz/signin_int.h"
#include "jwks/jwks.h"
#include "sidecar/gatehouse.h"
#include "tests/support/mint.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define TID    "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define ISS_V2 "https://login.microsoftonline.com/" TID "/v2.0"
#define CLIENT "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

/* RFC 7636 Appendix B: the verifier and the S256 challenge it gives. */
START_TEST(pkce_rfc7636_appendix_b)
{
    char out[AUTHZ_SIGNIN_RAND_LEN + 2]; /* b64url writes the padded form first: 45 bytes */
    static const unsigned char octets[] = {116, 24,  223, 180, 151, 153, 224, 37,  79,  250, 96,
                                           125, 216, 173, 187, 186, 22,  212, 37,  77,  105, 214,
                                           191, 240, 91,  88,  5,   88,  83,  132, 141, 121};

    /* the verifier is base64url of the 32 octets of B.1 */
    authz_signin_b64url(octets, sizeof(octets), out);
    ck_assert_str_eq(out, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    authz_pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", out);
    ck_assert_str_eq(out, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    ck_assert_uint_eq(strlen(out), AUTHZ_SIGNIN_RAND_LEN);
}
END_TEST

START_TEST(cookie_header_parsing)
{
    static const struct {
        const char *header, *name, *want; /* want NULL: absent */
    } cases[] = {
        {"gh_admin_session=abc", "gh_admin_session", "abc"},
        {"a=1; gh_admin_session=abc; b=2", "gh_admin_session", "abc"},
        {"a=1;gh_admin_session=abc", "gh_admin_session", "abc"},
        {"  gh_admin_session = abc  ; b=2", "gh_admin_session", "abc"},
        {"x_gh_admin_session=abc", "gh_admin_session", NULL},
        {"gh_admin_session_x=abc", "gh_admin_session", NULL},
        {"gh_admin_sessio=abc", "gh_admin_session", NULL},
        {"GH_ADMIN_SESSION=abc", "gh_admin_session", NULL}, /* names are case-sensitive */
        {"gh_admin_session", "gh_admin_session", NULL},     /* no '=' */
        {"gh_admin_session=", "gh_admin_session", ""},
        {"gh_admin_session=first; gh_admin_session=second", "gh_admin_session", "first"},
        {"a=b=c; gh_admin_session=x=y", "gh_admin_session", "x=y"},
        {";;;", "gh_admin_session", NULL},
        {"", "gh_admin_session", NULL},
        {"__Host-gh_admin_session=s", "__Host-gh_admin_session", "s"},
        {"__Host-gh_admin_session=s", "gh_admin_session", NULL},
    };
    const char *v;
    size_t len;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool found = gh_http_cookie_find(cases[i].header, cases[i].name, &v, &len);
        ck_assert_msg(found == (cases[i].want != NULL), "case %zu: %s", i, cases[i].header);
        if (found) {
            ck_assert_msg(len == strlen(cases[i].want) && memcmp(v, cases[i].want, len) == 0,
                          "case %zu: got %.*s", i, (int)len, v);
            ck_assert(v >= cases[i].header && v + len <= cases[i].header + strlen(cases[i].header));
        }
    }
    ck_assert(!gh_http_cookie_find(NULL, "a", &v, &len));
    ck_assert(!gh_http_cookie_find("a=1", "", &v, &len));
}
END_TEST

START_TEST(form_values)
{
    static const char form[] = "grant_type=authorization_code&code=a%2Bb+c&empty=&bare&"
                               "redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fadmin%2Fcallback&"
                               "bad=%zz&nul=a%00b&short=%4";
    char out[64];
    struct gh_err err = {0};

    ck_assert_int_eq(gh_http_form_get(form, strlen(form), "grant_type", out, sizeof(out), &err),
                     GH_OK);
    ck_assert_str_eq(out, "authorization_code");
    ck_assert_int_eq(gh_http_form_get(form, strlen(form), "code", out, sizeof(out), &err), GH_OK);
    ck_assert_str_eq(out, "a+b c");
    ck_assert_int_eq(gh_http_form_get(form, strlen(form), "redirect_uri", out, sizeof(out), &err),
                     GH_OK);
    ck_assert_str_eq(out, "http://127.0.0.1:8080/admin/callback");
    ck_assert_int_eq(gh_http_form_get(form, strlen(form), "empty", out, sizeof(out), &err), GH_OK);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(gh_http_form_get(form, strlen(form), "bare", out, sizeof(out), &err), GH_OK);
    ck_assert_int_eq(gh_http_form_get(form, strlen(form), "missing", out, sizeof(out), &err),
                     GH_E_NOT_FOUND);
    ck_assert_int_eq(gh_http_form_get(form, strlen(form), "bad", out, sizeof(out), &err),
                     GH_E_INVALID);
    ck_assert_int_eq(gh_http_form_get(form, strlen(form), "nul", out, sizeof(out), &err),
                     GH_E_INVALID);
    ck_assert_int_eq(gh_http_form_get(form, strlen(form), "short", out, sizeof(out), &err),
                     GH_E_INVALID);
    ck_assert_int_eq(gh_http_form_get(form, strlen(form), "redirect_uri", out, 8, &err),
                     GH_E_TOO_LARGE);
    /* the length is honoured: a name past it is not read */
    ck_assert_int_eq(gh_http_form_get(form, 10, "code", out, sizeof(out), &err), GH_E_NOT_FOUND);
}
END_TEST

START_TEST(url_encoding)
{
    struct gh_buf b;
    enum gh_status st = GH_OK;

    gh_buf_init(&b, 256);
    gh_http_url_encode(&b, &st, "http://127.0.0.1:1/admin/callback?a=b c~_.-");
    ck_assert_int_eq(st, GH_OK);
    ck_assert_str_eq(gh_buf_str(&b),
                     "http%3A%2F%2F127.0.0.1%3A1%2Fadmin%2Fcallback%3Fa%3Db%20c~_.-");
    gh_buf_free(&b);
    gh_buf_init(&b, 4);
    gh_http_url_encode(&b, &st, "abc/");
    ck_assert_int_eq(st, GH_E_TOO_LARGE);
    gh_buf_free(&b);
}
END_TEST

/* Only same-origin paths under /admin/: everything an open redirect would need is refused. */
START_TEST(return_path_checks)
{
    static const char *const good[] = {"/admin/", "/admin/#/status", "/admin/?x=1#/identities",
                                       "/admin/index.html"};
    static const char *const bad[] = {"https://evil.example/admin/",
                                      "//evil.example/admin/",
                                      "/admin//evil.example",
                                      "/\\evil.example",
                                      "/admin/\\evil",
                                      "/admin",
                                      "/adminx/",
                                      "/admin/../scim/v2/Users",
                                      "/admin/./x",
                                      "/admin/..",
                                      "/admin/%2e%2e/x",
                                      "/admin/%2F%2Fevil",
                                      "/admin/\r\nSet-Cookie: x=y",
                                      "/admin/ x",
                                      "/admin/\xc3\xa9",
                                      "admin/",
                                      "",
                                      "javascript:alert(1)"};
    char longp[AUTHZ_SIGNIN_RETURN_MAX + 8];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(authz_signin_return_ok(good[i]), "refused %s", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!authz_signin_return_ok(bad[i]), "accepted %s", bad[i]);
    ck_assert(!authz_signin_return_ok(NULL));
    memset(longp, 'a', sizeof(longp) - 1);
    memcpy(longp, "/admin/", 7);
    longp[sizeof(longp) - 1] = '\0';
    ck_assert(!authz_signin_return_ok(longp));
}
END_TEST

/* HttpOnly and SameSite=Lax always; Path=/admin and no Secure on plain HTTP; on HTTPS the
 * __Host- prefix, which browsers accept only with Secure and Path=/. */
START_TEST(cookie_flags)
{
    char name[64], c[256];

    ck_assert_str_eq(
        authz_signin_cookie_name(AUTHZ_SIGNIN_COOKIE_SESSION, false, name, sizeof(name)),
        "gh_admin_session");
    authz_signin_set_cookie(c, sizeof(c), name, "v", 28800, false);
    ck_assert_str_eq(c, "gh_admin_session=v; Path=/admin; Max-Age=28800; HttpOnly; SameSite=Lax");
    ck_assert_ptr_null(strstr(c, "Secure"));

    ck_assert_str_eq(
        authz_signin_cookie_name(AUTHZ_SIGNIN_COOKIE_SESSION, true, name, sizeof(name)),
        "__Host-gh_admin_session");
    authz_signin_set_cookie(c, sizeof(c), name, "v", 60, true);
    ck_assert_str_eq(c, "__Host-gh_admin_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; "
                        "Secure");
    /* which origins are secure */
    ck_assert(!authz_signin_is_secure(false, NULL));
    ck_assert(!authz_signin_is_secure(false, "http://127.0.0.1:8080"));
    ck_assert(authz_signin_is_secure(false, "https://gatehouse.example"));
    ck_assert(authz_signin_is_secure(false, "HTTPS://gatehouse.example"));
    ck_assert(authz_signin_is_secure(true, NULL));
    ck_assert(authz_signin_is_secure(true, "http://127.0.0.1:8080"));
    /* deletion */
    authz_signin_set_cookie(c, sizeof(c), "gh_admin_login", "", 0, false);
    ck_assert_ptr_nonnull(strstr(c, "gh_admin_login=; Path=/admin; Max-Age=0; HttpOnly"));
}
END_TEST

START_TEST(loopback_hosts_and_origin)
{
    static const struct {
        const char *host;
        bool loopback;
    } cases[] = {{"127.0.0.1:8080", true},   {"127.0.0.1", true},
                 {"localhost:9", true},      {"LOCALHOST", true},
                 {"[::1]:8080", true},       {"[::1]", true},
                 {"127.1:80", false},        {"127.0.0.1.evil.example", false},
                 {"evil.example", false},    {"10.0.0.1:8080", false},
                 {"[::2]:80", false},        {"127.0.0.1:80x", false},
                 {"[::1]x", false},          {"", false},
                 {"localhost.evil:1", false}};
    char o[AUTHZ_SIGNIN_URL_MAX];
    struct gh_err err = {0};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(authz_signin_host_loopback(cases[i].host) == cases[i].loopback, "%s",
                      cases[i].host);
    ck_assert(!authz_signin_host_loopback(NULL));
    ck_assert_int_eq(authz_signin_origin(NULL, "127.0.0.1:8080", false, o, sizeof(o), &err), GH_OK);
    ck_assert_str_eq(o, "http://127.0.0.1:8080");
    ck_assert_int_eq(authz_signin_origin(NULL, "[::1]:8443", true, o, sizeof(o), &err), GH_OK);
    ck_assert_str_eq(o, "https://[::1]:8443");
    /* a Host a client chose never builds the redirect URI of a reachable gatehouse */
    ck_assert_int_eq(authz_signin_origin(NULL, "gatehouse.example", true, o, sizeof(o), &err),
                     GH_E_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(err.msg, "GATEHOUSE_PUBLIC_URL"));
    ck_assert_int_eq(
        authz_signin_origin("https://gh.example", "evil.example", false, o, sizeof(o), &err),
        GH_OK);
    ck_assert_str_eq(o, "https://gh.example");
}
END_TEST

START_TEST(admin_rule)
{
    struct authz_raw_m m[2] = {{"payroll analysts", "Payroll Analysts", 0},
                               {"gatehouse admins", "Gatehouse Admins", 100}};
    struct authz_raw raw = {0};
    const char *why = NULL;

    raw.why = "no SCIM user with oid=x";
    ck_assert(!authz_signin_is_admin(&raw, "gatehouse admins", 1000, &why));
    ck_assert_str_eq(why, "no SCIM user with oid=x");
    raw.found = true;
    raw.active = true;
    raw.id = "id1";
    raw.user_name = "alice@demo.example";
    raw.m = m;
    raw.nm = 1;
    ck_assert(!authz_signin_is_admin(&raw, "gatehouse admins", 1000, &why));
    ck_assert_ptr_nonnull(strstr(why, "not a member"));
    raw.nm = 2;
    ck_assert(authz_signin_is_admin(&raw, "gatehouse admins", 1000, &why));
    ck_assert_ptr_null(why);
    /* a membership (re)made after the session began does not carry it */
    ck_assert(!authz_signin_is_admin(&raw, "gatehouse admins", 50, &why));
    raw.active = false;
    ck_assert(!authz_signin_is_admin(&raw, "gatehouse admins", 1000, &why));
    ck_assert_ptr_nonnull(strstr(why, "deactivated"));
    raw.active = true;
    raw.not_before = 2000; /* deactivated and reactivated since */
    ck_assert(!authz_signin_is_admin(&raw, "gatehouse admins", 1000, &why));
}
END_TEST

/* The ID token: the admin app's audience (not the API's), then the nonce. */
START_TEST(id_token_audience_and_nonce)
{
    struct gh_mint_key *k = gh_mint_key_load("rsa1", "r1");
    char *iss_items[] = {(char *)ISS_V2, NULL}, *alg_items[] = {(char *)"RS256", NULL};
    char *api_aud[] = {(char *)"api://gatehouse-test", NULL};
    char *idc[] = {(char *)"oid:externalId", NULL};
    struct jwks_cache_opts jo = {.http_timeout_s = 1,
                                 .refresh_min_s = 300,
                                 .refresh_max_s = 3600,
                                 .max_stale_s = 3600,
                                 .threads = 2};
    struct authz_verifier_opts vo = {.issuers = {iss_items, 1},
                                     .audiences = {api_aud, 1},
                                     .algs = {alg_items, 1},
                                     .identity_claims = {idc, 1},
                                     .leeway_s = 60,
                                     .token_cache_size = 100};
    struct authz_signin_opts so = {.discovery_url = "https://login.example/x",
                                   .client_id = CLIENT,
                                   .admin_group = "Gatehouse Admins",
                                   .session_ttl_s = 60,
                                   .http_timeout_s = 1};
    struct authz_ctx ax = {0};
    struct jwks_cache *cache = NULL;
    struct authz_signin *s = NULL;
    struct authz_claims *c = NULL;
    struct gh_err err = {0};
    struct gh_mint_key *keys[1] = {k};
    char *doc = gh_mint_jwks(keys, 1), *tok;
    cJSON *cl;

    ck_assert_int_eq(jwks_cache_new(&jo, &cache, &err), GH_OK);
    ck_assert_int_eq(jwks_cache_load_doc(cache, doc, strlen(doc), ISS_V2, &err), GH_OK);
    ck_assert_msg(authz_signin_new(&so, &vo, cache, &ax, &s, &err) == GH_OK, "%s", err.msg);

    cl = gh_mint_claims(ISS_V2, CLIENT, TID);
    cJSON_AddStringToObject(cl, "nonce", "n-123");
    tok = gh_mint_jwt(k, "RS256", cl);
    ck_assert_msg(authz_signin_id_token_check(s, tok, strlen(tok), "n-123", &c, &err) == GH_OK,
                  "%s", err.msg);
    ck_assert_str_eq(authz_claims_str(c, "oid"), authz_claims_identity(c, 0));
    authz_claims_release(c);
    /* wrong nonce, and a nonce that is only a prefix */
    ck_assert_int_eq(authz_signin_id_token_check(s, tok, strlen(tok), "n-124", &c, &err),
                     GH_E_UNAUTHORIZED);
    ck_assert_ptr_nonnull(strstr(err.msg, "nonce"));
    ck_assert_ptr_null(c);
    ck_assert_int_eq(authz_signin_id_token_check(s, tok, strlen(tok), "n-12", &c, &err),
                     GH_E_UNAUTHORIZED);
    free(tok);
    cJSON_Delete(cl);

    /* an access token for the API (the verifier of /v1/authorize takes it) is no ID token */
    memset(&err, 0, sizeof(err));
    cl = gh_mint_claims(ISS_V2, "api://gatehouse-test", TID);
    cJSON_AddStringToObject(cl, "nonce", "n-123");
    tok = gh_mint_jwt(k, "RS256", cl);
    ck_assert_int_eq(authz_signin_id_token_check(s, tok, strlen(tok), "n-123", &c, &err),
                     GH_E_UNAUTHORIZED);
    ck_assert_ptr_nonnull(strstr(err.msg, "aud"));
    free(tok);
    cJSON_Delete(cl);

    /* no nonce at all */
    cl = gh_mint_claims(ISS_V2, CLIENT, TID);
    tok = gh_mint_jwt(k, "RS256", cl);
    ck_assert_int_eq(authz_signin_id_token_check(s, tok, strlen(tok), "n-123", &c, &err),
                     GH_E_UNAUTHORIZED);
    free(tok);
    cJSON_Delete(cl);

    authz_signin_free(s);
    jwks_cache_free(cache);
    gh_mint_key_free(k);
    free(doc);
}
END_TEST

/* The discovery document's sign-in endpoints (jwks/discovery.c). */
START_TEST(discovery_endpoints)
{
    static const char good[] = "{\"issuer\":\"https://i\",\"jwks_uri\":\"https://i/k\","
                               "\"authorization_endpoint\":\"https://i/authorize\","
                               "\"token_endpoint\":\"https://i/token\"}";
    static const char *const bad[] = {
        "{\"authorization_endpoint\":\"https://i/authorize\"}",
        "{\"authorization_endpoint\":\"javascript:x\",\"token_endpoint\":\"https://i/t\"}",
        "{\"authorization_endpoint\":\"https://i/a b\",\"token_endpoint\":\"https://i/t\"}",
        "{\"authorization_endpoint\":1,\"token_endpoint\":\"https://i/t\"}",
        "[]",
        ""};
    char *a = NULL, *t = NULL;
    struct gh_err err = {0};

    ck_assert_int_eq(jwks_discovery_endpoints(good, strlen(good), &a, &t, &err), GH_OK);
    ck_assert_str_eq(a, "https://i/authorize");
    ck_assert_str_eq(t, "https://i/token");
    free(a);
    free(t);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(jwks_discovery_endpoints(bad[i], strlen(bad[i]), &a, &t, NULL) != GH_OK,
                      "accepted %s", bad[i]);
        ck_assert_ptr_null(a);
        ck_assert_ptr_null(t);
    }
}
END_TEST

Suite *signin_suite(void)
{
    Suite *s = suite_create("signin");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, pkce_rfc7636_appendix_b);
    tcase_add_test(tc, cookie_header_parsing);
    tcase_add_test(tc, form_values);
    tcase_add_test(tc, url_encoding);
    tcase_add_test(tc, return_path_checks);
    tcase_add_test(tc, cookie_flags);
    tcase_add_test(tc, loopback_hosts_and_origin);
    tcase_add_test(tc, admin_rule);
    tcase_add_test(tc, id_token_audience_and_nonce);
    tcase_add_test(tc, discovery_endpoints);
    suite_add_tcase(s, tc);
    return s;
}
