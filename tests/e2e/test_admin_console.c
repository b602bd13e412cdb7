/*
 * test_admin_console.c - issue 13's read endpoints and the page's files, through the real
 * binary: /admin/v1/status (a SCIM create and a SCIM error counted, the last request and error
 * named without their query, the store revision and its age, the policy revision),
 * /admin/v1/decisions (the tail of /v1/authorize decisions, newest first, with every filter and
 * the limit, without GATEHOUSE_DECISION_LOG), /admin/v1/settings (the Tenant URL with
 * ?aadOptscim062020, the secrets' forms and never a secret nor its digest), each behind the admin
 * secret; and /admin/, /admin/assets/<name> serving exactly the bytes of sidecar/www/ with the
 * page's security headers. The ring's wrap at 1000 is unit-tested (test_decide.c).
 */
#include "tests/support/idp.h"
#include "tests/support/mint.h"
#include "tests/support/scim_client.h"

#include <openssl/sha.h>
#include <unistd.h>

#define ADMIN_TOKEN   "e2e-admin-secret-0123456789abcdef"
#define ADMIN_AUTH    "Authorization: Bearer " ADMIN_TOKEN
#define PATCHOP       "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
#define ALICE         "alice@contoso.example"
#define ALICE_OID     "6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b"
#define BOB           "bob@contoso.example"
#define BOB_OID       "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define CLIENT_SECRET "e2e-admin-page-client-secret-42"
#define PAGE_CSP      "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

#define POLICY                                                                                     \
    "{\"access_groups\":[{\"name\":\"Payroll Analysts\",\"grants\":[{\"dataset\":\"payroll\","     \
    "\"actions\":[\"protect\",\"unprotect\"]}]}],"                                                 \
    "\"default_grants\":[{\"dataset\":\"directory\",\"actions\":[\"protect\"]}]}"

static struct gh_fixture *fx;

/* no GATEHOUSE_DECISION_LOG: the decision tail must not need it */
static void start_with(const char *const *extra)
{
    fx = scim_e2e_fixture_start(&(struct gh_fixture_opts){
        .scim_token = SCIM_TOKEN, .admin_token = ADMIN_TOKEN, .policy = POLICY, .extra = extra});
}

static void stop(void)
{
    scim_e2e_fixture_stop(fx);
}

/* One request to the daemon; the response (caller frees with gh_http_resp_free). */
static struct gh_http_resp req(const char *method, const char *path, const char *auth,
                               const char *extra, const char *body)
{
    struct gh_http_resp r;
    char url[2048];
    const char *hdrs[4] = {NULL, NULL, NULL, NULL};
    int n = 0;
    if (auth != NULL)
        hdrs[n++] = auth;
    if (extra != NULL)
        hdrs[n++] = extra;
    if (body != NULL)
        hdrs[n++] = "Content-Type: application/json";
    snprintf(url, sizeof(url), "%s%s", gh_proc_url(scim_client_proc()), path);
    ck_assert_int_eq(gh_http(method, url, hdrs, body, NULL, &r), 0);
    return r;
}

/* GET an admin path with the secret; asserts want; the body (caller deletes) and, when raw is
 * set, its text (caller frees). */
static cJSON *admin_get(const char *path, long want, char **raw)
{
    struct gh_http_resp r = req("GET", path, ADMIN_AUTH, NULL, NULL);
    cJSON *j = r.body_len ? cJSON_Parse(r.body) : NULL;
    ck_assert_msg(r.status == want, "GET %s: %ld %s", path, r.status, r.body);
    ck_assert_ptr_nonnull(j);
    if (raw != NULL)
        *raw = strdup(r.body);
    gh_http_resp_free(&r);
    return j;
}

static const char *str_of(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(j, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_of(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(j, name);
    ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", name);
    return v->valuedouble;
}

static char *user_body(const char *upn, const char *ext)
{
    static char b[1024];
    snprintf(b, sizeof(b),
             "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"externalId\":"
             "\"%s\",\"userName\":\"%s\",\"active\":true}",
             ext, upn);
    return b;
}

/* ---- the admin secret on each new route ---- */

START_TEST(auth_enforced)
{
    static const char *const paths[] = {"/admin/v1/status", "/admin/v1/settings",
                                        "/admin/v1/decisions", "/admin/v1/decisions?limit=5"};
    start_with(NULL);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        const char *auths[] = {NULL, "Authorization: Bearer wrong-wrong-wrong-wrong", SCIM_AUTH};
        for (size_t k = 0; k < 3; k++) {
            struct gh_http_resp r = req("GET", paths[i], auths[k], NULL, NULL);
            char h[256];
            ck_assert_msg(r.status == 401, "%s: %ld", paths[i], r.status);
            ck_assert_ptr_nonnull(gh_http_resp_header(&r, "WWW-Authenticate", h, sizeof(h)));
            ck_assert_ptr_nonnull(strstr(h, "Bearer"));
            gh_http_resp_free(&r);
        }
        cJSON_Delete(admin_get(paths[i], 200, NULL));
        /* read-only: other methods are 405 with an Allow list */
        {
            struct gh_http_resp r = req("POST", paths[i], ADMIN_AUTH, NULL, "{}");
            char allow[64];
            ck_assert_int_eq(r.status, 405);
            ck_assert_str_eq(gh_http_resp_header(&r, "Allow", allow, sizeof(allow)), "GET, HEAD");
            gh_http_resp_free(&r);
        }
    }
    stop();
}
END_TEST

/* ---- provisioning status ---- */

static const cJSON *obj(const cJSON *j, const char *name)
{
    const cJSON *o = cJSON_GetObjectItem(j, name);
    ck_assert_msg(cJSON_IsObject(o), "%s is not an object", name);
    return o;
}

START_TEST(status_reflects_scim)
{
    cJSON *s0, *s1, *s2;
    const cJSON *p, *d, *last;
    struct scim_res r;
    double rev0;
    char *alice;

    start_with(NULL);
    s0 = admin_get("/admin/v1/status", 200, NULL);
    p = obj(s0, "provisioning");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(p, "secret_configured")));
    ck_assert_double_eq(num_of(p, "requests"), 0);
    ck_assert_double_eq(num_of(p, "errors"), 0);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(p, "last_request")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(p, "last_error")));
    d = obj(s0, "directory");
    rev0 = num_of(d, "revision");
    ck_assert_double_eq(num_of(d, "users"), 0);
    ck_assert_uint_eq(strlen(str_of(obj(s0, "policy"), "revision")), 16);
    ck_assert_double_eq(num_of(obj(s0, "policy"), "access_groups"), 1);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(obj(s0, "token_validation"), "configured")));
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(obj(s0, "token_validation"), "ready")));
    ck_assert_str_eq(str_of(s0, "version"), "0.1.0");

    /* a create: counted, the last request, the store's new revision (age from now) */
    sleep(1);
    alice = scim_create("/scim/v2/Users", user_body(ALICE, ALICE_OID));
    s1 = admin_get("/admin/v1/status", 200, NULL);
    p = obj(s1, "provisioning");
    ck_assert_double_eq(num_of(p, "requests"), 1);
    ck_assert_double_eq(num_of(p, "errors"), 0);
    last = obj(p, "last_request");
    ck_assert_str_eq(str_of(last, "method"), "POST");
    ck_assert_str_eq(str_of(last, "path"), "/scim/v2/Users");
    ck_assert_double_eq(num_of(last, "status"), 201);
    ck_assert_uint_eq(strlen(str_of(last, "time")), 24);
    ck_assert_double_le(num_of(last, "age_s"), 5);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(p, "last_error")));
    d = obj(s1, "directory");
    ck_assert_double_gt(num_of(d, "revision"), rev0);
    ck_assert_double_eq(num_of(d, "users"), 1);
    ck_assert_double_lt(num_of(d, "revision_age_ms"), 1000); /* it moved since the sleep */
    ck_assert_ptr_nonnull(str_of(d, "revision_changed"));
    ck_assert_double_ge(num_of(d, "index_age_ms"), 0);

    /* errors: a missing user (404, its query left out of the path) and a wrong secret (401) */
    r = scim_call("GET", "/scim/v2/Users/no-such-user?attributes=userName", NULL);
    ck_assert_int_eq(r.status, 404);
    scim_res_free(&r);
    s2 = admin_get("/admin/v1/status", 200, NULL);
    p = obj(s2, "provisioning");
    ck_assert_double_eq(num_of(p, "requests"), 2);
    ck_assert_double_eq(num_of(p, "errors"), 1);
    last = obj(p, "last_error");
    ck_assert_str_eq(str_of(last, "method"), "GET");
    ck_assert_str_eq(str_of(last, "path"), "/scim/v2/Users/no-such-user");
    ck_assert_double_eq(num_of(last, "status"), 404);
    ck_assert_double_eq(num_of(obj(p, "last_request"), "status"), 404);
    cJSON_Delete(s2);
    r = scim_call_h("GET", "/scim/v2/Users?filter=userName%20eq%20%22x%22", NULL,
                    "Authorization: Bearer not-the-scim-secret-at-all", NULL);
    ck_assert_int_eq(r.status, 401);
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/Users?filter=userName%20eq%20%22x%22", NULL);
    ck_assert_int_eq(r.status, 200);
    scim_res_free(&r);
    s2 = admin_get("/admin/v1/status", 200, NULL);
    p = obj(s2, "provisioning");
    ck_assert_double_eq(num_of(p, "requests"), 4);
    ck_assert_double_eq(num_of(p, "errors"), 2);
    ck_assert_double_eq(num_of(obj(p, "last_error"), "status"), 401);
    last = obj(p, "last_request");
    ck_assert_double_eq(num_of(last, "status"), 200);
    ck_assert_str_eq(str_of(last, "path"), "/scim/v2/Users"); /* no filter in it */
    /* the admin requests themselves are not SCIM requests */
    ck_assert_double_eq(num_of(obj(s2, "directory"), "users"), 1);
    cJSON_Delete(s0);
    cJSON_Delete(s1);
    cJSON_Delete(s2);
    free(alice);
    stop();
}
END_TEST

/* ---- the decision tail ---- */

static char *token_for(const char *oid, const char *upn)
{
    cJSON *c = gh_fixture_claims(fx);
    cJSON_ReplaceItemInObject(c, "oid", cJSON_CreateString(oid));
    cJSON_ReplaceItemInObject(c, "preferred_username", cJSON_CreateString(upn));
    gh_mint_claims_time(c, "iat", -60);
    return gh_fixture_token(fx, c);
}

/* POST /v1/authorize; the decision_id it answered, into id (64 bytes). */
static bool authorize(const char *tok, const char *dataset, const char *action, char *id)
{
    char auth[8192], body[256];
    struct gh_http_resp r;
    cJSON *j;
    bool allowed;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    snprintf(body, sizeof(body), "{\"dataset\":\"%s\",\"action\":\"%s\"}", dataset, action);
    r = req("POST", "/v1/authorize", auth, NULL, body);
    ck_assert_msg(r.status == 200, "authorize: %ld %s", r.status, r.body);
    j = cJSON_Parse(r.body);
    snprintf(id, 64, "%s", str_of(j, "decision_id"));
    allowed = cJSON_IsTrue(cJSON_GetObjectItem(j, "allowed"));
    cJSON_Delete(j);
    gh_http_resp_free(&r);
    return allowed;
}

/* The decision ids of GET /admin/v1/decisions?<query>, newest first, as "id,id,…" in out. */
static int tail_ids(const char *query, char *out, size_t cap)
{
    char path[512];
    const cJSON *d;
    int n = 0;
    size_t o = 0;
    cJSON *j;
    snprintf(path, sizeof(path), "/admin/v1/decisions%s%s", query[0] ? "?" : "", query);
    j = admin_get(path, 200, NULL);
    out[0] = '\0';
    cJSON_ArrayForEach(d, cJSON_GetObjectItem(j, "decisions"))
    {
        int w = snprintf(out + o, cap - o, "%s%s", n ? "," : "", str_of(d, "decision_id"));
        ck_assert(w > 0 && (size_t)w < cap - o);
        o += (size_t)w;
        n++;
    }
    ck_assert_int_eq((int)num_of(j, "count"), n);
    cJSON_Delete(j);
    return n;
}

/* "a,b,c" of ids[idx[0]], ids[idx[1]]… (idx ends at -1). */
static const char *ids_of(char ids[][64], const int *idx)
{
    static char buf[2048];
    size_t o = 0;
    buf[0] = '\0';
    for (int k = 0; idx[k] >= 0; k++)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", k ? "," : "", ids[idx[k]]);
    return buf;
}

START_TEST(decisions_tail_and_filters)
{
    char ids[6][64], got[4096], q[256];
    cJSON *j;
    const cJSON *e, *sub;
    char *alice, *bob, *payroll, *ta, *tb;

    start_with(NULL);
    alice = scim_create("/scim/v2/Users", user_body(ALICE, ALICE_OID));
    bob = scim_create("/scim/v2/Users", user_body(BOB, BOB_OID));
    payroll = scim_create_group("Payroll Analysts");
    {
        char body[512];
        struct scim_res r;
        snprintf(body, sizeof(body),
                 PATCHOP "\"Operations\":[{\"op\":\"Add\",\"path\":\"members\",\"value\":[{"
                         "\"value\":\"%s\"}]}]}",
                 alice);
        r = scim_call("PATCH", scim_path2("/scim/v2/Groups/", payroll), body);
        ck_assert_int_eq(r.status, 204);
        scim_res_free(&r);
    }
    ta = token_for(ALICE_OID, ALICE);
    tb = token_for(BOB_OID, BOB);
    /* nothing decided yet */
    ck_assert_int_eq(tail_ids("", got, sizeof(got)), 0);
    ck_assert(authorize(ta, "payroll", "unprotect", ids[0]));  /* 0 alice payroll allow */
    ck_assert(!authorize(tb, "payroll", "unprotect", ids[1])); /* 1 bob payroll deny */
    ck_assert(authorize(ta, "directory", "protect", ids[2]));  /* 2 alice directory allow */
    ck_assert(!authorize(tb, "hr", "protect", ids[3]));        /* 3 bob hr deny */
    ck_assert(authorize(tb, "directory", "protect", ids[4]));  /* 4 bob directory allow */
    ck_assert(!authorize(ta, "hr", "protect", ids[5]));        /* 5 alice hr deny */

    /* newest first, all of them */
    ck_assert_int_eq(tail_ids("", got, sizeof(got)), 6);
    ck_assert_str_eq(got, ids_of(ids, (int[]){5, 4, 3, 2, 1, 0, -1}));
    /* user: userName in any case, or the SCIM id */
    ck_assert_int_eq(tail_ids("user=ALICE%40CONTOSO.EXAMPLE", got, sizeof(got)), 3);
    ck_assert_str_eq(got, ids_of(ids, (int[]){5, 2, 0, -1}));
    snprintf(q, sizeof(q), "user=%s", bob);
    ck_assert_int_eq(tail_ids(q, got, sizeof(got)), 3);
    ck_assert_str_eq(got, ids_of(ids, (int[]){4, 3, 1, -1}));
    ck_assert_int_eq(tail_ids("user=carol%40contoso.example", got, sizeof(got)), 0);
    /* dataset, result, and all together */
    ck_assert_int_eq(tail_ids("dataset=directory", got, sizeof(got)), 2);
    ck_assert_str_eq(got, ids_of(ids, (int[]){4, 2, -1}));
    ck_assert_int_eq(tail_ids("result=denied", got, sizeof(got)), 3);
    ck_assert_str_eq(got, ids_of(ids, (int[]){5, 3, 1, -1}));
    ck_assert_int_eq(tail_ids("result=allowed&dataset=payroll", got, sizeof(got)), 1);
    ck_assert_str_eq(got, ids[0]);
    snprintf(q, sizeof(q), "user=%s&dataset=payroll&result=denied", BOB);
    ck_assert_int_eq(tail_ids(q, got, sizeof(got)), 1);
    ck_assert_str_eq(got, ids[1]);
    ck_assert_int_eq(tail_ids("user=&dataset=", got, sizeof(got)), 6); /* blank: no filter */
    /* limit: the newest n */
    ck_assert_int_eq(tail_ids("limit=2", got, sizeof(got)), 2);
    ck_assert_str_eq(got, ids_of(ids, (int[]){5, 4, -1}));
    ck_assert_int_eq(tail_ids("limit=1&result=allowed", got, sizeof(got)), 1);
    ck_assert_str_eq(got, ids[4]);
    ck_assert_int_eq(tail_ids("limit=1000", got, sizeof(got)), 6);
    {
        static const char *const bad[] = {"limit=0",  "limit=1001", "limit=x",
                                          "limit=5x", "limit=-1",   "result=maybe"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            snprintf(q, sizeof(q), "/admin/v1/decisions?%s", bad[i]);
            j = admin_get(q, 400, NULL);
            ck_assert_ptr_nonnull(str_of(j, "message"));
            cJSON_Delete(j);
        }
    }

    /* an entry has the decision-log line's fields */
    j = admin_get("/admin/v1/decisions?limit=1&dataset=payroll&result=denied", 200, NULL);
    ck_assert_int_eq((int)num_of(j, "limit"), 1);
    ck_assert_int_eq((int)num_of(j, "kept"), 1000);
    e = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "decisions"), 0);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(strlen(str_of(e, "time")), 24);
    sub = obj(e, "subject");
    ck_assert_str_eq(str_of(e, "decision_id"), ids[1]);
    ck_assert_str_eq(str_of(sub, "userName"), BOB);
    ck_assert_str_eq(str_of(sub, "id"), bob);
    ck_assert_str_eq(str_of(e, "action"), "unprotect");
    ck_assert_str_eq(str_of(e, "tenant"), GH_FIXTURE_TID);
    ck_assert_str_eq(str_of(e, "dataset"), "payroll");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(e, "allowed")));
    ck_assert_str_eq(str_of(e, "result"), "deny");
    ck_assert_ptr_nonnull(str_of(e, "reason"));
    ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(e, "revision")));
    ck_assert_uint_eq(strlen(str_of(e, "policy_revision")), 16);
    cJSON_Delete(j);
    free(alice);
    free(bob);
    free(payroll);
    free(ta);
    free(tb);
    stop();
}
END_TEST

/* ---- settings ---- */

static void hex_sha256(const char *s, char out[65])
{
    unsigned char d[32];
    SHA256((const unsigned char *)s, strlen(s), d);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* No secret, and no digest of one, anywhere in the reply. */
static void no_secrets_in(const char *raw)
{
    static const char *const secrets[] = {SCIM_TOKEN, SCIM_TOKEN_2, ADMIN_TOKEN};
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        char hex[65];
        hex_sha256(secrets[i], hex);
        ck_assert_msg(strstr(raw, secrets[i]) == NULL, "a secret in %s", raw);
        ck_assert_msg(strstr(raw, hex) == NULL, "a secret's digest in %s", raw);
    }
}

static bool has_item(const cJSON *arr, const char *s)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, arr)
    {
        if (cJSON_IsString(v) && strcmp(v->valuestring, s) == 0)
            return true;
    }
    return false;
}

START_TEST(settings_from_the_listener)
{
    char *raw = NULL, want[512];
    cJSON *j;
    const cJSON *s, *sec, *tok, *adm;

    start_with(NULL);
    j = admin_get("/admin/v1/settings", 200, &raw);
    no_secrets_in(raw);
    s = obj(j, "scim");
    snprintf(want, sizeof(want), "%s/scim/v2?aadOptscim062020", gh_proc_url(scim_client_proc()));
    ck_assert_str_eq(str_of(s, "tenant_url"), want);
    ck_assert_str_eq(str_of(s, "tenant_url_from"), "GATEHOUSE_LISTEN");
    sec = obj(s, "secret");
    ck_assert_str_eq(str_of(sec, "setting"), "GATEHOUSE_SCIM_TOKEN");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(sec, "configured")));
    ck_assert_int_eq((int)num_of(sec, "count"), 1);
    ck_assert(has_item(cJSON_GetObjectItem(sec, "forms"), "clear"));
    ck_assert_int_ge(cJSON_GetArraySize(cJSON_GetObjectItem(s, "rotation")), 3);
    /* http and a clear-text secret: both said */
    ck_assert_int_ge(cJSON_GetArraySize(cJSON_GetObjectItem(s, "notes")), 2);
    tok = obj(j, "tokens");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(tok, "configured")));
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(tok, "issuers")), 1);
    ck_assert_str_eq(str_of(tok, "issuers_from"), "discovery");
    ck_assert(has_item(cJSON_GetObjectItem(tok, "audiences"), GH_IDP_AUDIENCE));
    adm = obj(j, "admin");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(obj(adm, "token"), "configured")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(obj(adm, "sign_in"), "configured")));
    snprintf(want, sizeof(want), "%s/admin/callback", gh_proc_url(scim_client_proc()));
    ck_assert_str_eq(str_of(obj(adm, "sign_in"), "redirect_uri"), want);
    cJSON_Delete(j);
    free(raw);
    stop();
}
END_TEST

/* The public URL names the Tenant URL; two SCIM secrets (one as its sha256: digest) are both
 * accepted, and the settings say their forms and nothing more. */
START_TEST(settings_public_url_and_rotation)
{
    char hex[65], scim_env[200], *raw = NULL;
    const char *extra[] = {scim_env,
                           "GATEHOUSE_PUBLIC_URL=https://gatehouse.example.com",
                           "GATEHOUSE_ADMIN_CLIENT_ID=0f1e2d3c-admin-page",
                           "GATEHOUSE_ADMIN_GROUP=Gatehouse Admins",
                           "GATEHOUSE_ADMIN_CLIENT_SECRET=" CLIENT_SECRET,
                           NULL};
    const cJSON *si;
    const cJSON *sec;
    struct scim_res r;
    cJSON *j;

    hex_sha256(SCIM_TOKEN_2, hex);
    snprintf(scim_env, sizeof(scim_env), "GATEHOUSE_SCIM_TOKEN=%s,sha256:%s", SCIM_TOKEN, hex);
    start_with(extra);
    j = admin_get("/admin/v1/settings", 200, &raw);
    no_secrets_in(raw);
    ck_assert_str_eq(str_of(obj(j, "scim"), "tenant_url"),
                     "https://gatehouse.example.com/scim/v2?aadOptscim062020");
    ck_assert_str_eq(str_of(obj(j, "scim"), "tenant_url_from"), "GATEHOUSE_PUBLIC_URL");
    ck_assert_str_eq(str_of(obj(obj(j, "admin"), "sign_in"), "redirect_uri"),
                     "https://gatehouse.example.com/admin/callback");
    /* sign-in configured: named, its client secret only said to be set */
    ck_assert_ptr_null(strstr(raw, CLIENT_SECRET));
    si = obj(obj(j, "admin"), "sign_in");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(si, "configured")));
    ck_assert_str_eq(str_of(si, "client_id"), "0f1e2d3c-admin-page");
    ck_assert_str_eq(str_of(si, "admin_group"), "Gatehouse Admins");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(si, "client_secret_set")));
    sec = obj(obj(j, "scim"), "secret");
    ck_assert_int_eq((int)num_of(sec, "count"), 2);
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(sec, "forms"), 0)->valuestring,
                     "clear");
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(sec, "forms"), 1)->valuestring,
                     "sha256");
    cJSON_Delete(j);
    free(raw);
    /* both secrets work during the rotation */
    r = scim_call_h("GET", "/scim/v2/ServiceProviderConfig", NULL,
                    "Authorization: Bearer " SCIM_TOKEN_2, NULL);
    ck_assert_int_eq(r.status, 200);
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/ServiceProviderConfig", NULL);
    ck_assert_int_eq(r.status, 200);
    scim_res_free(&r);
    ck_assert_ptr_null(strstr(gh_proc_log(scim_client_proc()), SCIM_TOKEN));
    ck_assert_ptr_null(strstr(gh_proc_log(scim_client_proc()), CLIENT_SECRET));
    stop();
}
END_TEST

/* ---- the page's files ---- */

static char *www_file(const char *name, size_t *out_len)
{
    char path[1024];
    FILE *f;
    char *buf;
    long n;
    snprintf(path, sizeof(path), "%s/sidecar/www/%s",
             getenv("GH_SRCDIR") ? getenv("GH_SRCDIR") : ".", name);
    f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *out_len = (size_t)n;
    return buf;
}

static void page_headers(const struct gh_http_resp *r, const char *type_prefix)
{
    char h[512];
    ck_assert_ptr_nonnull(gh_http_resp_header(r, "Content-Security-Policy", h, sizeof(h)));
    ck_assert_str_eq(h, PAGE_CSP);
    ck_assert_ptr_nonnull(gh_http_resp_header(r, "X-Content-Type-Options", h, sizeof(h)));
    ck_assert_str_eq(h, "nosniff");
    ck_assert_ptr_nonnull(gh_http_resp_header(r, "Referrer-Policy", h, sizeof(h)));
    ck_assert_str_eq(h, "no-referrer");
    ck_assert_ptr_nonnull(gh_http_resp_header(r, "Cache-Control", h, sizeof(h)));
    ck_assert_str_eq(h, "no-cache");
    if (type_prefix != NULL) {
        ck_assert_ptr_nonnull(gh_http_resp_header(r, "Content-Type", h, sizeof(h)));
        ck_assert_msg(strncmp(h, type_prefix, strlen(type_prefix)) == 0, "Content-Type %s", h);
    }
}

START_TEST(page_served_from_the_binary)
{
    static const struct {
        const char *path, *file, *type;
    } files[] = {
        {"/admin/", "index.html", "text/html"},
        {"/admin/assets/app.js", "app.js", "text/javascript"},
        {"/admin/assets/app.css", "app.css", "text/css"},
    };
    start_with(NULL);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t len;
        char *want = www_file(files[i].file, &len), etag[128], inm[200];
        struct gh_http_resp r = req("GET", files[i].path, NULL, NULL, NULL); /* no credential */
        ck_assert_msg(r.status == 200, "%s: %ld", files[i].path, r.status);
        page_headers(&r, files[i].type);
        ck_assert_uint_eq(r.body_len, len);
        ck_assert_msg(memcmp(r.body, want, len) == 0, "%s differs from sidecar/www/%s",
                      files[i].path, files[i].file);
        ck_assert_ptr_nonnull(gh_http_resp_header(&r, "ETag", etag, sizeof(etag)));
        ck_assert_uint_eq(strlen(etag), 34);
        gh_http_resp_free(&r);
        /* the browser's copy is still good: 304, same headers, no body */
        snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
        r = req("GET", files[i].path, NULL, inm, NULL);
        ck_assert_int_eq(r.status, 304);
        page_headers(&r, NULL);
        ck_assert_uint_eq(r.body_len, 0);
        gh_http_resp_free(&r);
        r = req("GET", files[i].path, NULL, "If-None-Match: \"0123\"", NULL);
        ck_assert_int_eq(r.status, 200);
        gh_http_resp_free(&r);
        /* HEAD: the headers alone */
        r = req("HEAD", files[i].path, NULL, NULL, NULL);
        ck_assert_int_eq(r.status, 200);
        page_headers(&r, files[i].type);
        ck_assert_uint_eq(r.body_len, 0);
        gh_http_resp_free(&r);
        free(want);
    }
    {
        char loc[128];
        struct gh_http_resp r = req("GET", "/admin", NULL, NULL, NULL);
        ck_assert_int_eq(r.status, 301);
        ck_assert_str_eq(gh_http_resp_header(&r, "Location", loc, sizeof(loc)), "/admin/");
        gh_http_resp_free(&r);
    }
    {
        static const char *const missing[] = {"/admin/assets/nope.js",  "/admin/assets/index.html",
                                              "/admin/assets",          "/admin/assets/",
                                              "/admin/assets/app.js/x", "/admin/index.html"};
        for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
            struct gh_http_resp r = req("GET", missing[i], NULL, NULL, NULL);
            ck_assert_msg(r.status == 404, "%s: %ld", missing[i], r.status);
            gh_http_resp_free(&r);
        }
    }
    {
        struct gh_http_resp r = req("POST", "/admin/", NULL, NULL, "{}");
        ck_assert_int_eq(r.status, 405);
        gh_http_resp_free(&r);
    }
    /* the API next to the page still wants its secret */
    {
        struct gh_http_resp r = req("GET", "/admin/v1/access-groups", NULL, NULL, NULL);
        ck_assert_int_eq(r.status, 401);
        gh_http_resp_free(&r);
    }
    stop();
}
END_TEST

Suite *admin_console_suite(void)
{
    Suite *s = suite_create("admin_console");
    TCase *tc = tcase_create("console");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, auth_enforced);
    tcase_add_test(tc, status_reflects_scim);
    tcase_add_test(tc, decisions_tail_and_filters);
    tcase_add_test(tc, settings_from_the_listener);
    tcase_add_test(tc, settings_public_url_and_rotation);
    tcase_add_test(tc, page_served_from_the_binary);
    suite_add_tcase(s, tc);
    return s;
}
