/*
 * test_json_strict.c - issue 9 item 4 end to end: JSON that means two things is refused on every
 * route that reads JSON. Duplicate member names (per object, after unescaping; case-insensitive
 * on SCIM routes), \u0000 and raw NUL in strings, and invalid UTF-8 (overlong forms, encoded
 * surrogates, bytes >= 0xF5, truncated sequences, unpaired surrogate escapes) give 400 on SCIM
 * (SCIM Error, scimType invalidSyntax), /v1/authorize and /admin/v1/access-groups, and 401
 * invalid_token inside a JWT. Valid non-ASCII text still round-trips.
 */
#include "tests/support/idp.h"
#include "tests/support/mint.h"
#include "tests/support/scim_client.h"

#include <curl/curl.h>

#define TID         "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define OID         "6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b"
#define ADMIN_TOKEN "e2e-admin-secret-0123456789abcdef"
#define ADMIN_AUTH  "Authorization: Bearer " ADMIN_TOKEN
#define USER_URN    "urn:ietf:params:scim:schemas:core:2.0:User"
#define GROUP_URN   "urn:ietf:params:scim:schemas:core:2.0:Group"
#define PATCH_URN   "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define POLICY                                                                                     \
    "{\"access_groups\":[{\"name\":\"Payroll Analysts\",\"grants\":[{\"dataset\":\"payroll\","     \
    "\"actions\":[\"protect\"]}]}],"                                                               \
    "\"default_grants\":[{\"dataset\":\"directory\",\"actions\":[\"protect\"]}]}"

static struct gh_fixture *fx;

static void jfx_start(void)
{
    fx = scim_e2e_fixture_start(&(struct gh_fixture_opts){
        .tid = TID, .scim_token = SCIM_TOKEN, .admin_token = ADMIN_TOKEN, .policy = POLICY});
}

static void jfx_stop(void)
{
    scim_e2e_fixture_stop(fx);
}

/* A valid token for OID (caller frees). */
static char *token(void)
{
    cJSON *c = gh_fixture_claims(fx);
    cJSON_ReplaceItemInObject(c, "oid", cJSON_CreateString(OID));
    return gh_fixture_token(fx, c);
}

struct raw_resp {
    long status;
    char body[8192];
    size_t len;
};

static size_t raw_write(char *p, size_t sz, size_t n, void *ud)
{
    struct raw_resp *r = ud;
    size_t k = sz * n, room = sizeof(r->body) - 1 - r->len;
    memcpy(r->body + r->len, p, k < room ? k : room);
    r->len += k < room ? k : room;
    r->body[r->len] = '\0';
    return k;
}

/* One request whose body is exactly len bytes (gh_http takes a C string, so no NUL inside). */
static long send_raw(const char *method, const char *path, const char *auth, const char *ctype,
                     const char *body, size_t len, struct raw_resp *out)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[1024];

    memset(out, 0, sizeof(*out));
    snprintf(url, sizeof(url), "%s%s", gh_proc_url(scim_client_proc()), path);
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, ctype);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, raw_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return out->status;
}

/* prefix + len bytes of mid + suffix, in buf (returns the length). */
static size_t splice(char *buf, size_t cap, const char *prefix, const char *mid, size_t mid_len,
                     const char *suffix)
{
    size_t a = strlen(prefix), c = strlen(suffix);
    ck_assert(a + mid_len + c < cap);
    memcpy(buf, prefix, a);
    memcpy(buf + a, mid, mid_len);
    memcpy(buf + a + mid_len, suffix, c + 1);
    return a + mid_len + c;
}

/* Bytes that make a string mean something else (or nothing): each goes inside a string value. */
static const struct {
    const char *name, *bytes;
    size_t len;
} bad_strings[] = {
    {"\\u0000 escape", "x\\u0000evil", 11},
    {"raw NUL", "x\0evil", 6},
    {"raw control character", "x\x01y", 3},
    {"overlong '/' (C0 AF)", "x\xC0\xAFy", 4},
    {"overlong 3-byte (E0 80 AF)", "x\xE0\x80\xAFy", 5},
    {"UTF-8-encoded surrogate (ED A0 80)", "x\xED\xA0\x80y", 5},
    {"UTF-8-encoded low surrogate (ED BF BF)", "x\xED\xBF\xBFy", 5},
    {"0xF8 lead byte", "x\xF8\x88\x80\x80\x80y", 7},
    {"0xF5 lead byte", "x\xF5\x80\x80\x80y", 6},
    {"0xFF byte", "x\xFFy", 3},
    {"stray continuation byte", "x\x80y", 3},
    {"truncated sequence (E2 82)", "x\xE2\x82y", 4},
    {"above U+10FFFF (F4 90 80 80)", "x\xF4\x90\x80\x80y", 6},
    {"lone \\uD800", "x\\uD800y", 8},
    {"\\uD800 then \\u0041", "x\\uD800\\u0041", 13},
    {"lone \\uDC00", "x\\uDC00y", 8},
};
#define N_BAD (sizeof(bad_strings) / sizeof(bad_strings[0]))

/* A SCIM 400 with scimType invalidSyntax. */
static void expect_scim_syntax(const struct raw_resp *r, const char *what)
{
    cJSON *j = cJSON_Parse(r->body);
    const cJSON *t = cJSON_GetObjectItem(j, "scimType");
    ck_assert_msg(r->status == 400, "%s: status %ld, want 400: %s", what, r->status, r->body);
    ck_assert_msg(cJSON_IsString(t) && strcmp(t->valuestring, "invalidSyntax") == 0,
                  "%s: want scimType invalidSyntax: %s", what, r->body);
    cJSON_Delete(j);
}

/* ---- SCIM ------------------------------------------------------------------------------- */

static const struct {
    const char *method, *path, *body;
    long want; /* 400: refused as invalidSyntax */
} scim_dups[] = {
    {"POST", "/scim/v2/Users",
     "{\"schemas\":[\"" USER_URN "\"],\"userName\":\"d1@x.example\",\"active\":true,"
     "\"active\":false}",
     400},
    {"POST", "/scim/v2/Users",
     "{\"schemas\":[\"" USER_URN
     "\"],\"userName\":\"d2@x.example\",\"userName\":\"d2b@x.example\"}",
     400},
    /* RFC 7643 §2.1: attribute names are case-insensitive, so these are the same attribute */
    {"POST", "/scim/v2/Users",
     "{\"schemas\":[\"" USER_URN
     "\"],\"userName\":\"d3@x.example\",\"username\":\"d3b@x.example\"}",
     400},
    {"POST", "/scim/v2/Users",
     "{\"schemas\":[\"" USER_URN "\"],\"userName\":\"d4@x.example\",\"active\":true,"
     "\"\\u0061ctive\":false}",
     400},
    {"POST", "/scim/v2/Users",
     "{\"schemas\":[\"" USER_URN "\"],\"userName\":\"d5@x.example\",\"Active\":true,"
     "\"\\u0041CTIVE\":false}",
     400},
    {"POST", "/scim/v2/Users",
     "{\"schemas\":[\"" USER_URN "\"],\"userName\":\"d6@x.example\",\"name\":{\"givenName\":\"A\","
     "\"givenName\":\"B\"}}",
     400},
    {"POST", "/scim/v2/Users",
     "{\"schemas\":[\"" USER_URN "\"],\"userName\":\"d7@x.example\",\"name\":{\"givenName\":\"A\","
     "\"GIVENNAME\":\"B\"}}",
     400},
    {"POST", "/scim/v2/Users",
     "{\"schemas\":[\"" USER_URN "\"],\"userName\":\"d8@x.example\",\"" ENT_URN
     "\":{\"department\":\"A\",\"department\":\"B\"}}",
     400},
    {"POST", "/scim/v2/Groups",
     "{\"schemas\":[\"" GROUP_URN "\"],\"displayName\":\"G1\",\"displayName\":\"G2\"}", 400},
    /* the same name in sibling objects is not a duplicate */
    {"POST", "/scim/v2/Users",
     "{\"schemas\":[\"" USER_URN "\"],\"userName\":\"ok1@x.example\",\"emails\":[{\"value\":"
     "\"a@x.example\",\"type\":\"work\"},{\"value\":\"b@x.example\",\"type\":\"home\"}]}",
     201},
};

START_TEST(scim_refuses_ambiguous_json)
{
    char buf[1024];
    struct raw_resp r;
    struct scim_res u;
    char upath[256];

    jfx_start();
    for (size_t i = 0; i < sizeof(scim_dups) / sizeof(scim_dups[0]); i++) {
        send_raw(scim_dups[i].method, scim_dups[i].path, SCIM_AUTH, SCIM_CT, scim_dups[i].body,
                 strlen(scim_dups[i].body), &r);
        if (scim_dups[i].want == 400)
            expect_scim_syntax(&r, scim_dups[i].body);
        else
            ck_assert_msg(r.status == scim_dups[i].want, "%s: %ld %s", scim_dups[i].body, r.status,
                          r.body);
    }
    /* every bad string, as an attribute value and as an attribute name */
    for (size_t i = 0; i < N_BAD; i++) {
        size_t n =
            splice(buf, sizeof(buf), "{\"schemas\":[\"" USER_URN "\"],\"userName\":\"bad",
                   bad_strings[i].bytes, bad_strings[i].len, "@x.example\",\"active\":true}");
        send_raw("POST", "/scim/v2/Users", SCIM_AUTH, SCIM_CT, buf, n, &r);
        expect_scim_syntax(&r, bad_strings[i].name);
        n = splice(buf, sizeof(buf),
                   "{\"schemas\":[\"" USER_URN "\"],\"userName\":\"n@x.example\",\"",
                   bad_strings[i].bytes, bad_strings[i].len, "\":true}");
        send_raw("POST", "/scim/v2/Users", SCIM_AUTH, SCIM_CT, buf, n, &r);
        expect_scim_syntax(&r, bad_strings[i].name);
    }
    /* PUT and PATCH read bodies the same way */
    u = scim_call("POST", "/scim/v2/Users",
                  "{\"schemas\":[\"" USER_URN
                  "\"],\"userName\":\"put@x.example\",\"active\":true}");
    ck_assert_int_eq(u.status, 201);
    snprintf(upath, sizeof(upath), "/scim/v2/Users/%s", scim_str(u.json, "id"));
    scim_res_free(&u);
    {
        const char *put = "{\"schemas\":[\"" USER_URN "\"],\"userName\":\"put@x.example\","
                          "\"active\":false,\"active\":true}";
        const char *patch1 = "{\"schemas\":[\"" PATCH_URN "\"],\"Operations\":[{\"op\":\"replace\","
                             "\"value\":{\"active\":false,\"active\":true}}]}";
        const char *patch2 = "{\"schemas\":[\"" PATCH_URN "\"],\"Operations\":[{\"op\":\"replace\","
                             "\"path\":\"active\",\"value\":false}],\"operations\":[]}";
        const char *patch3 = "{\"schemas\":[\"" PATCH_URN "\"],\"Operations\":[{\"op\":\"replace\","
                             "\"op\":\"add\",\"path\":\"active\",\"value\":false}]}";
        send_raw("PUT", upath, SCIM_AUTH, SCIM_CT, put, strlen(put), &r);
        expect_scim_syntax(&r, "PUT duplicate active");
        send_raw("PATCH", upath, SCIM_AUTH, SCIM_CT, patch1, strlen(patch1), &r);
        expect_scim_syntax(&r, "PATCH duplicate active in value");
        send_raw("PATCH", upath, SCIM_AUTH, SCIM_CT, patch2, strlen(patch2), &r);
        expect_scim_syntax(&r, "PATCH Operations/operations");
        send_raw("PATCH", upath, SCIM_AUTH, SCIM_CT, patch3, strlen(patch3), &r);
        expect_scim_syntax(&r, "PATCH duplicate op");
        for (size_t i = 0; i < N_BAD; i++) {
            size_t n =
                splice(buf, sizeof(buf),
                       "{\"schemas\":[\"" PATCH_URN "\"],\"Operations\":[{\"op\":\"replace\","
                       "\"path\":\"displayName\",\"value\":\"",
                       bad_strings[i].bytes, bad_strings[i].len, "\"}]}");
            send_raw("PATCH", upath, SCIM_AUTH, SCIM_CT, buf, n, &r);
            expect_scim_syntax(&r, bad_strings[i].name);
        }
    }
    /* nothing refused was stored, and the one user is still active */
    u = scim_call("GET", upath, NULL);
    ck_assert_int_eq(u.status, 200);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(u.json, "active")));
    scim_res_free(&u);
    u = scim_call("GET", "/scim/v2/Users", NULL);
    ck_assert_int_eq(u.status, 200);
    ck_assert_int_eq(cJSON_GetObjectItem(u.json, "totalResults")->valueint, 2);
    scim_res_free(&u);
    jfx_stop();
}
END_TEST

/* Valid UTF-8 (raw, and as escapes with a surrogate pair) is stored and read back unchanged. */
START_TEST(scim_non_ascii_round_trips)
{
    const char *want = "Zo\xC3\xAB \xC3\x85ngstr\xC3\xB6m \xE6\x97\xA5\xE6\x9C\xAC "
                       "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xEF\xBF\xBD";
    struct scim_res u;
    char path[256];

    jfx_start();
    u = scim_call("POST", "/scim/v2/Users",
                  "{\"schemas\":[\"" USER_URN "\"],\"userName\":\"zo\xC3\xAB@x.example\","
                  "\"displayName\":\"Zo\\u00eb \xC3\x85ngstr\xC3\xB6m \\u65e5\xE6\x9C\xAC "
                  "\\ud83d\\ude00\xF0\x9F\x98\x80\\ufffd\"}");
    ck_assert_msg(u.status == 201, "%ld %s", u.status, u.raw);
    ck_assert_str_eq(scim_str(u.json, "displayName"), want);
    snprintf(path, sizeof(path), "/scim/v2/Users/%s", scim_str(u.json, "id"));
    scim_res_free(&u);
    u = scim_call("GET", path, NULL);
    ck_assert_str_eq(scim_str(u.json, "displayName"), want);
    ck_assert_str_eq(scim_str(u.json, "userName"), "zo\xC3\xAB@x.example");
    scim_res_free(&u);
    u = scim_call("GET", "/scim/v2/Users", NULL);
    ck_assert_str_eq(
        scim_str(cJSON_GetArrayItem(cJSON_GetObjectItem(u.json, "Resources"), 0), "displayName"),
        want);
    scim_res_free(&u);
    jfx_stop();
}
END_TEST

/* ---- /v1/authorize ------------------------------------------------------------------------ */

static const struct {
    const char *body;
    long want;
} authz_dups[] = {
    {"{\"dataset\":\"directory\",\"dataset\":\"payroll\",\"action\":\"protect\"}", 400},
    {"{\"dataset\":\"payroll\",\"d\\u0061taset\":\"directory\",\"action\":\"protect\"}", 400},
    {"{\"dataset\":\"directory\",\"action\":\"protect\",\"action\":\"unprotect\"}", 400},
    {"{\"checks\":[{\"dataset\":\"directory\",\"action\":\"protect\",\"action\":\"unprotect\"}]}",
     400},
    {"{\"checks\":[],\"checks\":[{\"dataset\":\"directory\",\"action\":\"protect\"}]}", 400},
    /* outside SCIM, member names are case-sensitive: "Dataset" is another (ignored) member */
    {"{\"dataset\":\"directory\",\"Dataset\":\"payroll\",\"action\":\"protect\"}", 200},
    /* one name per object: the same names in sibling checks are fine */
    {"{\"checks\":[{\"dataset\":\"directory\",\"action\":\"protect\"},{\"dataset\":\"payroll\","
     "\"action\":\"protect\"}]}",
     200},
    /* non-ASCII datasets are decided (and echoed) as they are */
    {"{\"dataset\":\"donn\xC3\xA9\x65s \\ud83d\\ude00\",\"action\":\"protect\"}", 200},
};

START_TEST(authorize_refuses_ambiguous_json)
{
    char auth[8192], buf[1024];
    char *tok;
    struct raw_resp r;
    struct scim_res u;

    jfx_start();
    /* provisioned, so "directory" (a default grant) would be allowed */
    u = scim_call("POST", "/scim/v2/Users",
                  "{\"schemas\":[\"" USER_URN "\"],\"userName\":\"alice@contoso.example\","
                  "\"externalId\":\"" OID "\",\"active\":true}");
    ck_assert_int_eq(u.status, 201);
    scim_res_free(&u);
    tok = token();
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    for (size_t i = 0; i < sizeof(authz_dups) / sizeof(authz_dups[0]); i++) {
        send_raw("POST", "/v1/authorize", auth, "Content-Type: application/json",
                 authz_dups[i].body, strlen(authz_dups[i].body), &r);
        ck_assert_msg(r.status == authz_dups[i].want, "%s: %ld, want %ld: %s", authz_dups[i].body,
                      r.status, authz_dups[i].want, r.body);
        if (r.status == 200) {
            cJSON *j = cJSON_Parse(r.body);
            ck_assert_ptr_nonnull(j);
            cJSON_Delete(j);
        }
    }
    {
        cJSON *j;
        const char *b = "{\"dataset\":\"donn\xC3\xA9\x65s \\ud83d\\ude00\",\"action\":\"protect\"}";
        send_raw("POST", "/v1/authorize", auth, "Content-Type: application/json", b, strlen(b), &r);
        j = cJSON_Parse(r.body);
        ck_assert_str_eq(
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0), "dataset")
                ->valuestring,
            "donn\xC3\xA9\x65s \xF0\x9F\x98\x80");
        cJSON_Delete(j);
    }
    for (size_t i = 0; i < N_BAD; i++) {
        /* "directory" is granted by default: the suffix must not be cut off to reach it */
        size_t n = splice(buf, sizeof(buf), "{\"dataset\":\"directory", bad_strings[i].bytes,
                          bad_strings[i].len, "\",\"action\":\"protect\"}");
        send_raw("POST", "/v1/authorize", auth, "Content-Type: application/json", buf, n, &r);
        ck_assert_msg(r.status == 400, "%s: %ld %s", bad_strings[i].name, r.status, r.body);
    }
    free(tok);
    jfx_stop();
}
END_TEST

/* ---- JWT header and payload ---------------------------------------------------------------- */

static const struct {
    const char *name, *header, *payload_extra;
    const char *desc;
} jwt_cases[] = {
    {"nested duplicate claim", NULL, ",\"xms_st\":{\"sub\":\"a\",\"sub\":\"b\"}",
     "token payload is not a JSON object (or repeats a claim)"},
    {"escaped duplicate claim", NULL, ",\"\\u0061ud\":\"api://evil\"",
     "token payload is not a JSON object (or repeats a claim)"},
    {"\\u0000 in a claim", NULL, ",\"name\":\"x\\u0000y\"",
     "token payload is not a JSON object (or repeats a claim)"},
    {"overlong UTF-8 in a claim", NULL, ",\"name\":\"x\xC0\xAFy\"",
     "token payload is not a JSON object (or repeats a claim)"},
    {"encoded surrogate in a claim", NULL, ",\"name\":\"x\xED\xA0\x80y\"",
     "token payload is not a JSON object (or repeats a claim)"},
    {"header nested duplicate", "{\"alg\":\"RS256\",\"kid\":\"kid-one\",\"x\":{\"a\":1,\"a\":2}}",
     "", "token header is not a JSON object (or repeats a member)"},
    {"header escaped duplicate",
     "{\"alg\":\"RS256\",\"kid\":\"kid-one\",\"\\u006bid\":\"kid-one\"}", "",
     "token header is not a JSON object (or repeats a member)"},
    {"header \\u0000", "{\"alg\":\"RS256\",\"kid\":\"kid-one\\u0000x\"}", "",
     "token header is not a JSON object (or repeats a member)"},
};

START_TEST(jwt_refuses_ambiguous_json)
{
    cJSON *c;
    char *p, payload[4096], url[256], auth[8192];
    const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
    struct gh_http_resp r;
    char h[1024], *tok;

    jfx_start();
    c = gh_fixture_claims(fx);
    p = cJSON_PrintUnformatted(c);
    p[strlen(p) - 1] = '\0';
    snprintf(url, sizeof(url), "%s/v1/authorize", gh_proc_url(scim_client_proc()));
    for (size_t i = 0; i < sizeof(jwt_cases) / sizeof(jwt_cases[0]); i++) {
        snprintf(payload, sizeof(payload), "%s%s}", p, jwt_cases[i].payload_extra);
        tok = gh_mint_sign(fx->key, "RS256",
                           jwt_cases[i].header ? jwt_cases[i].header
                                               : "{\"alg\":\"RS256\",\"kid\":\"kid-one\"}",
                           payload);
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        ck_assert_int_eq(gh_http("POST", url, hdrs,
                                 "{\"dataset\":\"directory\",\"action\":\"protect\"}", NULL, &r),
                         0);
        ck_assert_msg(r.status == 401, "%s: %ld %s", jwt_cases[i].name, r.status, r.body);
        ck_assert_ptr_nonnull(gh_http_resp_header(&r, "WWW-Authenticate", h, sizeof(h)));
        ck_assert_msg(strstr(h, "error=\"invalid_token\"") != NULL && strstr(h, jwt_cases[i].desc),
                      "%s: challenge %s", jwt_cases[i].name, h);
        gh_http_resp_free(&r);
        free(tok);
    }
    /* the same payload without the extra member is accepted (the cases fail for their reason) */
    snprintf(payload, sizeof(payload), "%s}", p);
    tok = gh_mint_sign(fx->key, "RS256", "{\"alg\":\"RS256\",\"kid\":\"kid-one\"}", payload);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    ck_assert_int_eq(
        gh_http("POST", url, hdrs, "{\"dataset\":\"directory\",\"action\":\"protect\"}", NULL, &r),
        0);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    gh_http_resp_free(&r);
    free(tok);
    free(p);
    cJSON_Delete(c);
    jfx_stop();
}
END_TEST

/* ---- /admin/v1/access-groups --------------------------------------------------------------- */

START_TEST(admin_refuses_ambiguous_json)
{
    static const struct {
        const char *body;
        long want;
    } cases[] = {
        {"{\"name\":\"Dup One\",\"name\":\"Dup Two\",\"grants\":[]}", 400},
        {"{\"name\":\"Dup Three\",\"grants\":[],\"gr\\u0061nts\":[{\"dataset\":\"payroll\","
         "\"actions\":[\"protect\"]}]}",
         400},
        {"{\"name\":\"Dup Four\",\"grants\":[{\"dataset\":\"directory\",\"dataset\":\"payroll\","
         "\"actions\":[\"protect\"]}]}",
         400},
        {"{\"name\":\"Zo\xC3\xAB Analysts \\u65e5\",\"grants\":[{\"dataset\":\"donn\xC3\xA9\x65s\","
         "\"actions\":[\"protect\"]}]}",
         201},
    };
    char buf[1024];
    struct raw_resp r;
    cJSON *j;
    const char *ct = "Content-Type: application/json";

    jfx_start();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        send_raw("POST", "/admin/v1/access-groups", ADMIN_AUTH, ct, cases[i].body,
                 strlen(cases[i].body), &r);
        ck_assert_msg(r.status == cases[i].want, "%s: %ld %s", cases[i].body, r.status, r.body);
    }
    for (size_t i = 0; i < N_BAD; i++) {
        size_t n = splice(buf, sizeof(buf), "{\"name\":\"Bad ", bad_strings[i].bytes,
                          bad_strings[i].len, "\",\"grants\":[]}");
        send_raw("POST", "/admin/v1/access-groups", ADMIN_AUTH, ct, buf, n, &r);
        ck_assert_msg(r.status == 400, "%s: %ld %s", bad_strings[i].name, r.status, r.body);
    }
    /* only the valid group was created, and its name reads back as sent */
    {
        struct gh_http_resp g;
        char url[512];
        const char *hdrs[] = {ADMIN_AUTH, NULL};
        snprintf(url, sizeof(url), "%s/admin/v1/access-groups", gh_proc_url(scim_client_proc()));
        ck_assert_int_eq(gh_http("GET", url, hdrs, NULL, NULL, &g), 0);
        ck_assert_int_eq(g.status, 200);
        j = cJSON_Parse(g.body);
        ck_assert_ptr_nonnull(j);
        ck_assert_msg(strstr(g.body, "\"Zo\xC3\xAB Analysts \xE6\x97\xA5\"") != NULL, "%s", g.body);
        ck_assert_msg(strstr(g.body, "Dup ") == NULL && strstr(g.body, "Bad ") == NULL, "%s",
                      g.body);
        cJSON_Delete(j);
        gh_http_resp_free(&g);
    }
    jfx_stop();
}
END_TEST

Suite *json_strict_suite(void)
{
    Suite *s = suite_create("json_strict");
    TCase *tc = tcase_create("routes");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, scim_refuses_ambiguous_json);
    tcase_add_test(tc, scim_non_ascii_round_trips);
    tcase_add_test(tc, authorize_refuses_ambiguous_json);
    tcase_add_test(tc, jwt_refuses_ambiguous_json);
    tcase_add_test(tc, admin_refuses_ambiguous_json);
    suite_add_tcase(s, tc);
    return s;
}
