/*
 * test_explain.c - issue 12 end to end: /admin/v1/explain (by userName, externalId, SCIM id and
 * by token) names the path of allowed and denied decisions and agrees with /v1/authorize on a
 * grid of cases; POST /admin/v1/policy/dry-run predicts exactly the gains and losses the applied
 * policy then shows in /v1/authorize; the policy revision is in replies, the ext_authz header and
 * the decision log, and equal on two daemons running one policy. Real daemon, loopback IdP,
 * users and groups provisioned over SCIM.
 */
#include "tests/support/mint.h"
#include "tests/support/scim_client.h"

#include <time.h>
#include <unistd.h>

#define TID         GH_FIXTURE_TID
#define OTHER_TID   "11111111-2222-4333-8444-555555555555"
#define ADMIN_TOKEN "e2e-admin-secret-0123456789abcdef"
#define ADMIN_AUTH  "Authorization: Bearer " ADMIN_TOKEN
#define PATCHOP     "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"

#define POLICY                                                                                     \
    "{\"access_groups\":[{\"name\":\"Payroll Analysts\",\"grants\":[{\"dataset\":\"payroll\","     \
    "\"actions\":[\"protect\",\"unprotect\"]}]}],"                                                 \
    "\"default_grants\":[{\"dataset\":\"directory\",\"actions\":[\"protect\"]}]}"

static struct gh_fixture *fx;

static void xfx_start(const char *policy, const char *tenants)
{
    char ten[200];
    const char *more[2] = {NULL, NULL};
    if (tenants != NULL) {
        snprintf(ten, sizeof(ten), "GATEHOUSE_TENANTS=%s", tenants);
        more[0] = ten;
    }
    fx = scim_e2e_fixture_start(&(struct gh_fixture_opts){.scim_token = SCIM_TOKEN,
                                                          .admin_token = ADMIN_TOKEN,
                                                          .policy = policy,
                                                          .decision_log = true,
                                                          .extra = more});
}

static void xfx_stop(void)
{
    scim_e2e_fixture_stop(fx);
}

/* A token for oid/upn from tid (NULL: the fixture's), issued iat_delta seconds from now. */
static char *token_tid(const char *oid, const char *upn, long iat_delta, const char *tid)
{
    cJSON *c = gh_fixture_claims(fx);
    cJSON_ReplaceItemInObject(c, "oid", cJSON_CreateString(oid));
    cJSON_ReplaceItemInObject(c, "preferred_username", cJSON_CreateString(upn));
    if (tid != NULL)
        cJSON_ReplaceItemInObject(c, "tid", cJSON_CreateString(tid));
    gh_mint_claims_time(c, "iat", iat_delta);
    return gh_fixture_token(fx, c);
}

static char *token(const char *oid, const char *upn, long iat_delta)
{
    return token_tid(oid, upn, iat_delta, NULL);
}

/* One request to base (NULL: the daemon in use); the status, the parsed body (caller deletes; NULL
 * when empty) and, when hname is set, that header's value in hval (128 bytes). A 401 must carry
 * a Bearer challenge. */
static long call(const char *base, const char *method, const char *path, const char *body,
                 const char *auth, cJSON **out, const char *hname, char *hval)
{
    struct gh_http_resp r;
    char url[2048];
    const char *hdrs[3] = {auth, "Content-Type: application/json", NULL};
    long status;
    snprintf(url, sizeof(url), "%s%s", base != NULL ? base : gh_proc_url(scim_client_proc()), path);
    ck_assert_int_eq(gh_http(method, url, auth != NULL ? hdrs : hdrs + 1, body, NULL, &r), 0);
    status = r.status;
    if (out != NULL)
        *out = r.body_len ? cJSON_Parse(r.body) : NULL;
    if (hname != NULL && gh_http_resp_header(&r, hname, hval, 128) == NULL)
        hval[0] = '\0';
    if (status == 401) {
        char h[256];
        ck_assert_ptr_nonnull(gh_http_resp_header(&r, "WWW-Authenticate", h, sizeof(h)));
        ck_assert_ptr_nonnull(strstr(h, "Bearer"));
    }
    gh_http_resp_free(&r);
    return status;
}

/* GET /admin/v1/explain for user; asserts 200; caller deletes. */
static cJSON *explain_user(const char *user, const char *dataset, const char *action)
{
    char path[1024];
    cJSON *j = NULL;
    long st;
    snprintf(path, sizeof(path), "/admin/v1/explain?user=%s&dataset=%s&action=%s", scim_q(user),
             scim_q(dataset), action);
    st = call(NULL, "GET", path, NULL, ADMIN_AUTH, &j, NULL, NULL);
    ck_assert_msg(st == 200 && j != NULL, "explain %s: %ld", user, st);
    return j;
}

/* POST /admin/v1/explain with a token; asserts 200; caller deletes. */
static cJSON *explain_token(const char *tok, const char *dataset, const char *action)
{
    cJSON *req = cJSON_CreateObject(), *j = NULL;
    char *body;
    long st;
    cJSON_AddStringToObject(req, "token", tok);
    cJSON_AddStringToObject(req, "dataset", dataset);
    cJSON_AddStringToObject(req, "action", action);
    body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    st = call(NULL, "POST", "/admin/v1/explain", body, ADMIN_AUTH, &j, NULL, NULL);
    ck_assert_msg(st == 200 && j != NULL, "explain token: %ld", st);
    free(body);
    return j;
}

/* POST /v1/authorize on base (NULL: the daemon in use); asserts 200; caller deletes. */
static cJSON *authorize_at(const char *base, const char *tok, const char *dataset,
                           const char *action)
{
    char auth[8192], body[512];
    cJSON *j = NULL;
    long st;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    snprintf(body, sizeof(body), "{\"dataset\":\"%s\",\"action\":\"%s\"}", dataset, action);
    st = call(base, "POST", "/v1/authorize", body, auth, &j, NULL, NULL);
    ck_assert_msg(st == 200 && j != NULL, "authorize: %ld", st);
    return j;
}

static cJSON *authorize(const char *tok, const char *dataset, const char *action)
{
    return authorize_at(NULL, tok, dataset, action);
}

static bool allowed_of(const cJSON *j)
{
    return cJSON_IsTrue(cJSON_GetObjectItem(j, "allowed"));
}

static const char *reason_of_authorize(const cJSON *j)
{
    return cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0), "reason")
        ->valuestring;
}

static const cJSON *decision_of(const cJSON *j)
{
    const cJSON *d = cJSON_GetObjectItem(j, "decision");
    ck_assert_ptr_nonnull(d);
    return d;
}

static bool explain_allowed(const cJSON *j)
{
    return cJSON_IsTrue(cJSON_GetObjectItem(decision_of(j), "allowed"));
}

static const char *explain_reason(const cJSON *j)
{
    return cJSON_GetObjectItem(decision_of(j), "reason")->valuestring;
}

static bool is_revision(const char *s)
{
    if (s == NULL || strlen(s) != 16)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

static const char *str_of(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(j, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
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

static void deactivate(const char *uid)
{
    scim_ok("PATCH", scim_path2("/scim/v2/Users/", uid),
            PATCHOP
            "\"Operations\":[{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"False\"}]}",
            200);
}

/* The path of explain j through IdP group `idp` (displayName), or NULL. */
static const cJSON *path_via(const cJSON *j, const char *idp)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(j, "paths"))
    {
        const char *n = str_of(cJSON_GetObjectItem(p, "idp_group"), "displayName");
        if (n != NULL && strcmp(n, idp) == 0)
            return p;
    }
    return NULL;
}

static bool matched_by(const cJSON *j, const char *attr)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(cJSON_GetObjectItem(j, "subject"), "matched_by"))
    {
        if (strcmp(m->valuestring, attr) == 0)
            return true;
    }
    return false;
}

#define ALICE     "alice@contoso.example"
#define ALICE_OID "6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b"
#define BOB       "bob@contoso.example"
#define BOB_OID   "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define CAROL     "carol@contoso.example"
#define CAROL_OID "11aa22bb-33cc-44dd-85ee-66ff77008899"
#define DAVE      "dave@contoso.example"
#define DAVE_OID  "99887766-5544-4332-8211-00ffeeddccbb"

START_TEST(admin_auth_enforced)
{
    static const char *const paths[][2] = {
        {"GET", "/admin/v1/explain?user=x&dataset=d&action=protect"},
        {"POST", "/admin/v1/explain"},
        {"POST", "/admin/v1/policy/dry-run"},
    };
    xfx_start(POLICY, NULL);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        const char *body = strcmp(paths[i][0], "POST") == 0 ? "{}" : NULL;
        ck_assert_int_eq(call(NULL, paths[i][0], paths[i][1], body, NULL, NULL, NULL, NULL), 401);
        ck_assert_int_eq(call(NULL, paths[i][0], paths[i][1], body, "Authorization: Bearer wrong",
                              NULL, NULL, NULL),
                         401);
        ck_assert_int_eq(call(NULL, paths[i][0], paths[i][1], body, SCIM_AUTH, NULL, NULL, NULL),
                         401);
    }
    /* with the secret: the handlers run (400 for the empty bodies, 200 for the GET) */
    ck_assert_int_eq(call(NULL, "GET", paths[0][1], NULL, ADMIN_AUTH, NULL, NULL, NULL), 200);
    ck_assert_int_eq(call(NULL, "POST", paths[1][1], "{}", ADMIN_AUTH, NULL, NULL, NULL), 400);
    ck_assert_int_eq(
        call(NULL, "POST", paths[2][1], "{\"access_groups\":3}", ADMIN_AUTH, NULL, NULL, NULL),
        400);
    ck_assert_int_eq(call(NULL, "DELETE", "/admin/v1/explain", NULL, ADMIN_AUTH, NULL, NULL, NULL),
                     405);
    ck_assert_ptr_null(strstr(gh_proc_log(scim_client_proc()), ADMIN_TOKEN));
    xfx_stop();
}
END_TEST

START_TEST(explain_names_the_path)
{
    cJSON *j;
    const cJSON *p, *ag, *g;
    char id_q[128], path[1024];
    xfx_start(POLICY, NULL);
    char *alice = scim_create("/scim/v2/Users", user_body(ALICE, ALICE_OID));
    char *bob = scim_create("/scim/v2/Users", user_body(BOB, BOB_OID));
    char *payroll = scim_create_group("Payroll Analysts");
    char *team = scim_create_group("Team Without Access");
    scim_member_op("Add", payroll, alice);
    scim_member_op("Add", team, alice);
    scim_member_op("Add", payroll, bob);
    deactivate(bob);

    /* allowed, by userName: identity -> IdP group -> access group -> matching grant */
    j = explain_user(ALICE, "payroll", "unprotect");
    ck_assert(explain_allowed(j));
    ck_assert_ptr_nonnull(strstr(explain_reason(j), "access group \"Payroll Analysts\""));
    ck_assert(matched_by(j, "userName"));
    ck_assert_str_eq(str_of(cJSON_GetObjectItem(j, "subject"), "id"), alice);
    ck_assert_str_eq(str_of(cJSON_GetObjectItem(j, "subject"), "externalId"), ALICE_OID);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "subject"), "active")));
    p = path_via(j, "Payroll Analysts");
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(str_of(cJSON_GetObjectItem(p, "idp_group"), "id"), payroll);
    ag = cJSON_GetObjectItem(p, "access_group");
    ck_assert_str_eq(str_of(ag, "name"), "Payroll Analysts");
    ck_assert_str_eq(str_of(ag, "source"), "file");
    ck_assert_str_eq(str_of(ag, "link"), "linked");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(ag, "cut_off_applies")));
    g = cJSON_GetArrayItem(cJSON_GetObjectItem(ag, "grants"), 0);
    ck_assert_str_eq(str_of(g, "dataset"), "payroll");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(g, "matches")));
    ck_assert_str_eq(str_of(p, "result"), "grants");
    /* the IdP group that links no access group is a path too */
    p = path_via(j, "Team Without Access");
    ck_assert_ptr_nonnull(p);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(p, "access_group")));
    ck_assert_ptr_nonnull(strstr(str_of(p, "link"), "no access group has its name"));
    ck_assert(is_revision(str_of(j, "policy_revision")));
    ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "revision")));
    ck_assert(cJSON_GetObjectItem(j, "revision")->valuedouble > 0);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "staleness"), "stale")));
    cJSON_Delete(j);

    /* by externalId and by SCIM id */
    j = explain_user(ALICE_OID, "payroll", "protect");
    ck_assert(explain_allowed(j));
    ck_assert(matched_by(j, "externalId"));
    ck_assert(!matched_by(j, "userName"));
    cJSON_Delete(j);
    j = explain_user(alice, "payroll", "protect");
    ck_assert(explain_allowed(j));
    ck_assert(matched_by(j, "id"));
    cJSON_Delete(j);

    /* denied: no grant matches; the grant is listed as not matching */
    j = explain_user(ALICE, "hr", "unprotect");
    ck_assert(!explain_allowed(j));
    ck_assert_ptr_nonnull(strstr(explain_reason(j), "no access group of " ALICE));
    p = path_via(j, "Payroll Analysts");
    g = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "access_group"), "grants"),
                           0);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(g, "matches")));
    ck_assert_str_eq(str_of(p, "result"), "no matching grant");
    cJSON_Delete(j);

    /* allowed by the default grants */
    j = explain_user(ALICE, "directory", "protect");
    ck_assert(explain_allowed(j));
    ck_assert_ptr_nonnull(strstr(explain_reason(j), "default_grants"));
    ck_assert(
        cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "default_grants"), "applies")));
    cJSON_Delete(j);

    /* inactive: the path is there, the verdict says why not */
    j = explain_user(BOB, "payroll", "unprotect");
    ck_assert(!explain_allowed(j));
    ck_assert_ptr_nonnull(strstr(explain_reason(j), "deactivated"));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "subject"), "active")));
    ck_assert_ptr_nonnull(path_via(j, "Payroll Analysts"));
    cJSON_Delete(j);

    /* not provisioned */
    j = explain_user("nobody@contoso.example", "directory", "protect");
    ck_assert(!explain_allowed(j));
    ck_assert_ptr_nonnull(strstr(explain_reason(j), "not provisioned"));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "subject")));
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "paths")), 0);
    cJSON_Delete(j);

    /* ambiguous: one user's userName is another's externalId -> 409 naming both */
    free(scim_create("/scim/v2/Users", user_body("shared-name", "ext-1")));
    free(scim_create("/scim/v2/Users", user_body("someone-else", "shared-name")));
    snprintf(path, sizeof(path), "/admin/v1/explain?user=shared-name&dataset=d&action=protect");
    ck_assert_int_eq(call(NULL, "GET", path, NULL, ADMIN_AUTH, &j, NULL, NULL), 409);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "candidates")), 2);
    cJSON_Delete(j);

    /* bad parameters */
    snprintf(id_q, sizeof(id_q), "/admin/v1/explain?user=%s&dataset=payroll&action=fly", ALICE);
    ck_assert_int_eq(call(NULL, "GET", id_q, NULL, ADMIN_AUTH, NULL, NULL, NULL), 400);
    ck_assert_int_eq(call(NULL, "GET", "/admin/v1/explain?dataset=payroll&action=protect", NULL,
                          ADMIN_AUTH, NULL, NULL, NULL),
                     400);
    free(alice);
    free(bob);
    free(payroll);
    free(team);
    xfx_stop();
}
END_TEST

START_TEST(explain_token_cut_off_and_tenant)
{
    cJSON *j;
    const cJSON *p, *t;
    xfx_start(POLICY, NULL);
    char *alice = scim_create("/scim/v2/Users", user_body(ALICE, ALICE_OID));
    char *payroll = scim_create_group("Payroll Analysts");
    char *old, *fresh, *foreign;
    struct timespec nap = {1, 100L * 1000 * 1000};

    old = token(ALICE_OID, ALICE, -60);
    scim_member_op("Add", payroll, alice);
    scim_member_op("Remove", payroll, alice);
    scim_member_op("Add", payroll, alice);
    /* the cut-off is at a whole second: a fresh token is one issued after it */
    nanosleep(&nap, NULL);
    fresh = token(ALICE_OID, ALICE, 0);

    /* a token issued before the membership changed: cut off; explain says where */
    j = explain_token(old, "payroll", "unprotect");
    ck_assert(!explain_allowed(j));
    ck_assert_ptr_nonnull(strstr(explain_reason(j), "changed at"));
    t = cJSON_GetObjectItem(j, "token");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(t, "valid")));
    ck_assert_str_eq(str_of(t, "identity_claim"), "oid:externalId");
    p = path_via(j, "Payroll Analysts");
    ck_assert_ptr_nonnull(p);
    ck_assert(cJSON_IsTrue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(p, "access_group"), "cut_off_applies")));
    ck_assert_ptr_nonnull(strstr(str_of(p, "result"), "cut-off"));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "tenant"), "mismatch")));
    cJSON_Delete(j);

    j = explain_token(fresh, "payroll", "unprotect");
    ck_assert(explain_allowed(j));
    cJSON_Delete(j);

    /* a token /v1/authorize would refuse: explained as its 401, never echoed */
    j = explain_token("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "payroll", "unprotect");
    ck_assert(!explain_allowed(j));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "token"), "valid")));
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "token"), "status")->valueint, 401);
    cJSON_Delete(j);

    /* the same verdict and reason as /v1/authorize for each token */
    {
        const char *toks[] = {old, fresh};
        for (size_t i = 0; i < 2; i++) {
            cJSON *e = explain_token(toks[i], "payroll", "unprotect");
            cJSON *a = authorize(toks[i], "payroll", "unprotect");
            ck_assert_int_eq(explain_allowed(e), allowed_of(a));
            ck_assert_str_eq(explain_reason(e), reason_of_authorize(a));
            cJSON_Delete(e);
            cJSON_Delete(a);
        }
    }
    ck_assert_ptr_null(strstr(gh_proc_log(scim_client_proc()), fresh));
    free(old);
    free(fresh);
    free(alice);
    free(payroll);
    xfx_stop();

    /* GATEHOUSE_TENANTS' first entry is the SCIM tenant: a token from the second is valid, and
     * the tenant check denies it; explain says so */
    xfx_start(POLICY, OTHER_TID "," TID);
    free(scim_create("/scim/v2/Users", user_body(ALICE, ALICE_OID)));
    foreign = token(ALICE_OID, ALICE, 0);
    j = explain_token(foreign, "directory", "protect");
    ck_assert(!explain_allowed(j));
    ck_assert_ptr_nonnull(strstr(explain_reason(j), "is not the provisioned tenant " OTHER_TID));
    t = cJSON_GetObjectItem(j, "tenant");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(t, "checked")));
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(t, "mismatch")));
    ck_assert_str_eq(str_of(t, "token_tid"), TID);
    ck_assert_str_eq(str_of(t, "expected"), OTHER_TID);
    {
        cJSON *a = authorize(foreign, "directory", "protect");
        ck_assert_str_eq(explain_reason(j), reason_of_authorize(a));
        cJSON_Delete(a);
    }
    cJSON_Delete(j);
    free(foreign);
    xfx_stop();
}
END_TEST

/* Explain and /v1/authorize on a grid: users (member, inactive, no groups, not provisioned) x
 * datasets x actions, by token (same verdict and reason) and by userName (the verdict of a fresh
 * token; the reason too when provisioned). */
START_TEST(explain_agrees_with_authorize)
{
    static const char *const datasets[] = {"payroll", "directory", "hr"};
    static const char *const actions[] = {"protect", "unprotect"};
    static const char *const users[][2] = {
        {ALICE, ALICE_OID}, {BOB, BOB_OID}, {CAROL, CAROL_OID}, {DAVE, DAVE_OID}};
    xfx_start(POLICY, NULL);
    char *alice = scim_create("/scim/v2/Users", user_body(ALICE, ALICE_OID));
    char *bob = scim_create("/scim/v2/Users", user_body(BOB, BOB_OID));
    char *carol = scim_create("/scim/v2/Users", user_body(CAROL, CAROL_OID));
    char *payroll = scim_create_group("Payroll Analysts");
    int allowed = 0, denied = 0;
    scim_member_op("Add", payroll, alice);
    scim_member_op("Add", payroll, bob);
    deactivate(bob);

    for (size_t u = 0; u < 4; u++) {
        char *tok = token(users[u][1], users[u][0], 0);
        for (size_t d = 0; d < 3; d++) {
            for (size_t a = 0; a < 2; a++) {
                cJSON *az = authorize(tok, datasets[d], actions[a]);
                cJSON *et = explain_token(tok, datasets[d], actions[a]);
                cJSON *eu = explain_user(users[u][0], datasets[d], actions[a]);
                ck_assert_msg(explain_allowed(et) == allowed_of(az), "%s %s %s", users[u][0],
                              actions[a], datasets[d]);
                ck_assert_str_eq(explain_reason(et), reason_of_authorize(az));
                ck_assert_int_eq(explain_allowed(eu), allowed_of(az));
                if (u < 3)
                    ck_assert_str_eq(explain_reason(eu), reason_of_authorize(az));
                ck_assert_str_eq(str_of(et, "policy_revision"), str_of(az, "policy_revision"));
                if (allowed_of(az))
                    allowed++;
                else
                    denied++;
                cJSON_Delete(az);
                cJSON_Delete(et);
                cJSON_Delete(eu);
            }
        }
        free(tok);
    }
    /* the grid holds both outcomes */
    ck_assert_int_eq(allowed, 4); /* alice: payroll x2, directory protect; carol: directory */
    ck_assert_int_eq(denied, 20);
    free(alice);
    free(bob);
    free(carol);
    free(payroll);
    xfx_stop();
}
END_TEST

/* The decision log's lines for decision id `id` (waits up to 5 s for one). */
static char *log_line(const char *id)
{
    for (int tries = 0; tries < 100; tries++) {
        char *s = gh_read_file(fx->decision_log);
        char *at = strstr(s, id);
        if (at != NULL) {
            char *start = at, *end = strchr(at, '\n');
            while (start > s && start[-1] != '\n')
                start--;
            if (end != NULL)
                *end = '\0';
            memmove(s, start, strlen(start) + 1);
            return s;
        }
        free(s);
        struct timespec nap = {0, 50L * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    ck_abort_msg("decision %s not in the decision log", id);
    return NULL;
}

START_TEST(revisions_everywhere_and_equal_across_daemons)
{
    cJSON *j, *k;
    char rev[128], hdr[128], want[192], auth[8192];
    const char *hdrs[] = {auth, "X-Gatehouse-Dataset: directory", "X-Gatehouse-Action: protect",
                          NULL};
    struct gh_http_resp r;
    char url[512];
    struct gh_fixture *fx2;
    xfx_start(POLICY, NULL);
    free(scim_create("/scim/v2/Users", user_body(ALICE, ALICE_OID)));
    char *tok = token(ALICE_OID, ALICE, 0);

    j = authorize(tok, "directory", "protect");
    ck_assert(is_revision(str_of(j, "policy_revision")));
    snprintf(rev, sizeof(rev), "%s", str_of(j, "policy_revision"));
    ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "revision")));
    {
        char *line = log_line(str_of(j, "decision_id"));
        snprintf(want, sizeof(want), "\"policy_revision\":\"%s\"", rev);
        ck_assert_msg(strstr(line, want) != NULL, "log line: %s", line);
        ck_assert_ptr_nonnull(strstr(line, "\"revision\":"));
        free(line);
    }
    cJSON_Delete(j);

    /* ext_authz: the header */
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    snprintf(url, sizeof(url), "%s/v1/ext_authz/anything", gh_proc_url(scim_client_proc()));
    ck_assert_int_eq(gh_http("GET", url, hdrs, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(gh_http_resp_header(&r, "X-Gatehouse-Policy-Revision", hdr, sizeof(hdr)));
    ck_assert_str_eq(hdr, rev);
    ck_assert_ptr_nonnull(gh_http_resp_header(&r, "X-Gatehouse-Revision", hdr, sizeof(hdr)));
    gh_http_resp_free(&r);

    /* a second daemon (its own IdP and store) on the same policy: the same revision */
    fx2 = gh_fixture_start(&(struct gh_fixture_opts){
        .scim_token = SCIM_TOKEN, .admin_token = ADMIN_TOKEN, .policy = POLICY});
    {
        cJSON *c = gh_fixture_claims(fx2);
        char *tok2 = gh_fixture_token(fx2, c);
        k = authorize_at(gh_proc_url(fx2->proc), tok2, "directory", "protect");
        ck_assert_str_eq(str_of(k, "policy_revision"), rev);
        cJSON_Delete(k);
        free(tok2);
    }
    ck_assert_int_eq(gh_fixture_stop(fx2), 0);

    /* an admin-created access group is policy too: the revision moves */
    ck_assert_int_eq(call(NULL, "POST", "/admin/v1/access-groups",
                          "{\"name\":\"Auditors\",\"grants\":[{\"dataset\":\"audit\","
                          "\"actions\":[\"protect\"]}]}",
                          ADMIN_AUTH, NULL, NULL, NULL),
                     201);
    j = authorize(tok, "directory", "protect");
    ck_assert(is_revision(str_of(j, "policy_revision")));
    ck_assert_str_ne(str_of(j, "policy_revision"), rev);
    cJSON_Delete(j);
    free(tok);
    xfx_stop();
}
END_TEST

/* ---- the dry run ---- */

#define DRY_CURRENT                                                                                \
    "{\"access_groups\":["                                                                         \
    "{\"name\":\"Alpha\",\"grants\":[{\"dataset\":\"ds1\",\"actions\":[\"protect\",\"unprotect\"]" \
    "},"                                                                                           \
    "{\"dataset\":\"ds2\",\"actions\":[\"protect\"]}]},"                                           \
    "{\"name\":\"Old\",\"grants\":[{\"dataset\":\"ds5\",\"actions\":[\"unprotect\"]}]}],"          \
    "\"default_grants\":[{\"dataset\":\"dir\",\"actions\":[\"protect\"]}]}"

/* Alpha loses ds1 unprotect and ds2, gains ds3; Old goes; Beta is new (one IdP group: linked);
 * Dup is new (two IdP groups share its key: unlinked); Admins, admin-created, is now declared
 * with other grants; the default grants add dir unprotect. Grants in another order. */
#define DRY_CANDIDATE                                                                              \
    "{\"access_groups\":["                                                                         \
    "{\"name\":\"Alpha\",\"grants\":[{\"dataset\":\"ds3\",\"actions\":[\"unprotect\"]},"           \
    "{\"dataset\":\"ds1\",\"actions\":[\"protect\"]}]},"                                           \
    "{\"name\":\"Beta\",\"grants\":[{\"dataset\":\"ds2\",\"actions\":[\"unprotect\"]}]},"          \
    "{\"name\":\"Dup\",\"grants\":[{\"dataset\":\"ds4\",\"actions\":[\"protect\"]}]},"             \
    "{\"name\":\"admins\",\"grants\":[{\"dataset\":\"ds6\",\"actions\":[\"unprotect\"]}]}],"       \
    "\"default_grants\":[{\"dataset\":\"dir\",\"actions\":[\"unprotect\",\"protect\"]}]}"

#define NDS 7
static const char *const dry_datasets[NDS] = {"ds1", "ds2", "ds3", "ds4", "ds5", "ds6", "dir"};
#define NUSERS 6
static const char *const dry_users[NUSERS][2] = {
    {"u1@contoso.example", "00000000-0000-4000-8000-000000000001"}, /* Alpha */
    {"u2@contoso.example", "00000000-0000-4000-8000-000000000002"}, /* Beta */
    {"u3@contoso.example", "00000000-0000-4000-8000-000000000003"}, /* Dup + Old */
    {"u4@contoso.example", "00000000-0000-4000-8000-000000000004"}, /* Alpha, inactive */
    {"u5@contoso.example", "00000000-0000-4000-8000-000000000005"}, /* Admins + Alpha */
    {"u6@contoso.example", "00000000-0000-4000-8000-000000000006"}, /* no groups */
};

/* Every user x dataset x action through /v1/authorize with fresh tokens; the policy revision
 * every reply carried (all equal) into rev. */
static void decisions(bool out[NUSERS][NDS][2], char rev[32])
{
    static const char *const acts[2] = {"protect", "unprotect"};
    rev[0] = '\0';
    for (size_t u = 0; u < NUSERS; u++) {
        char *tok = token(dry_users[u][1], dry_users[u][0], 0);
        for (size_t d = 0; d < NDS; d++)
            for (size_t a = 0; a < 2; a++) {
                cJSON *j = authorize(tok, dry_datasets[d], acts[a]);
                out[u][d][a] = allowed_of(j);
                if (rev[0] == '\0')
                    snprintf(rev, 32, "%s", str_of(j, "policy_revision"));
                ck_assert_str_eq(str_of(j, "policy_revision"), rev);
                cJSON_Delete(j);
            }
        free(tok);
    }
}

static int dry_dataset(const char *ds)
{
    for (int d = 0; d < NDS; d++)
        if (strcmp(dry_datasets[d], ds) == 0)
            return d;
    ck_abort_msg("dry run names dataset %s outside the test's grid", ds);
    return -1;
}

START_TEST(dry_run_matches_applied_change)
{
    bool before[NUSERS][NDS][2], after[NUSERS][NDS][2], predicted[NUSERS][NDS][2];
    char rev_before[32], rev_after[32], cand_rev[32];
    char *uids[NUSERS];
    cJSON *dry = NULL, *sum, *u;
    int gains = 0, losses = 0;
    xfx_start(DRY_CURRENT, NULL);

    for (size_t i = 0; i < NUSERS; i++)
        uids[i] = scim_create("/scim/v2/Users", user_body(dry_users[i][0], dry_users[i][1]));
    char *alpha = scim_create_group("Alpha");
    char *beta = scim_create_group("Beta");
    char *dup1 = scim_create_group("Dup");
    char *dup2 = scim_create_group(" dup"); /* same link key: ambiguous */
    char *old = scim_create_group("Old");
    char *admins = scim_create_group("Admins");
    ck_assert_int_eq(call(NULL, "POST", "/admin/v1/access-groups",
                          "{\"name\":\"Admins\",\"grants\":[{\"dataset\":\"ds6\","
                          "\"actions\":[\"protect\"]}]}",
                          ADMIN_AUTH, NULL, NULL, NULL),
                     201);
    scim_member_op("Add", alpha, uids[0]);
    scim_member_op("Add", beta, uids[1]);
    scim_member_op("Add", dup1, uids[2]);
    scim_member_op("Add", old, uids[2]);
    scim_member_op("Add", alpha, uids[3]);
    scim_member_op("Add", admins, uids[4]);
    scim_member_op("Add", alpha, uids[4]);
    deactivate(uids[3]);
    {
        /* fresh tokens: issued after every membership change above */
        struct timespec nap = {1, 100L * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    decisions(before, rev_before);

    /* a bad candidate: 400 naming where */
    {
        cJSON *e = NULL;
        ck_assert_int_eq(call(NULL, "POST", "/admin/v1/policy/dry-run",
                              "{\"access_groups\":[{\"name\":\"X\",\"grants\":[{\"dataset\":"
                              "\"d\",\"actions\":[\"fly\"]}]}]}",
                              ADMIN_AUTH, &e, NULL, NULL),
                         400);
        ck_assert_ptr_nonnull(strstr(str_of(e, "message"), "access_groups[0].grants[0]"));
        cJSON_Delete(e);
    }

    ck_assert_int_eq(
        call(NULL, "POST", "/admin/v1/policy/dry-run", DRY_CANDIDATE, ADMIN_AUTH, &dry, NULL, NULL),
        200);
    ck_assert_ptr_nonnull(dry);
    ck_assert_str_eq(str_of(cJSON_GetObjectItem(dry, "policy_revision"), "current"), rev_before);
    snprintf(cand_rev, sizeof(cand_rev), "%s",
             str_of(cJSON_GetObjectItem(dry, "policy_revision"), "candidate"));
    ck_assert(is_revision(cand_rev));
    ck_assert_str_ne(cand_rev, rev_before);
    /* nothing applied yet */
    decisions(after, rev_after);
    ck_assert_str_eq(rev_after, rev_before);
    ck_assert_int_eq(memcmp(before, after, sizeof(before)), 0);

    /* the prediction: before, with each listed gain and loss applied */
    memcpy(predicted, before, sizeof(before));
    cJSON_ArrayForEach(u, cJSON_GetObjectItem(dry, "users"))
    {
        size_t who = NUSERS;
        const cJSON *c;
        for (size_t i = 0; i < NUSERS; i++)
            if (strcmp(uids[i], str_of(u, "id")) == 0)
                who = i;
        ck_assert_uint_lt(who, NUSERS);
        for (int lost = 0; lost < 2; lost++) {
            cJSON_ArrayForEach(c, cJSON_GetObjectItem(u, lost ? "lost" : "gained"))
            {
                int d = dry_dataset(str_of(c, "dataset"));
                int a = strcmp(str_of(c, "action"), "protect") == 0 ? 0 : 1;
                ck_assert_int_eq(predicted[who][d][a], lost ? true : false);
                predicted[who][d][a] = !lost;
                if (lost)
                    losses++;
                else
                    gains++;
            }
        }
    }
    sum = cJSON_GetObjectItem(dry, "summary");
    ck_assert_int_eq(cJSON_GetObjectItem(sum, "users")->valueint, NUSERS + 0);
    ck_assert_int_eq(cJSON_GetObjectItem(sum, "gained")->valueint, gains);
    ck_assert_int_eq(cJSON_GetObjectItem(sum, "lost")->valueint, losses);
    ck_assert_int_gt(gains, 0);
    ck_assert_int_gt(losses, 0);
    {
        const cJSON *ag = cJSON_GetObjectItem(sum, "access_groups");
        const cJSON *x;
        bool beta_linked = false, dup_unlinked = false;
        cJSON_ArrayForEach(x, cJSON_GetObjectItem(ag, "added"))
        {
            if (strcmp(str_of(x, "name"), "Beta") == 0)
                beta_linked = strcmp(str_of(x, "link"), "linked") == 0;
            if (strcmp(str_of(x, "name"), "Dup") == 0)
                dup_unlinked = strstr(str_of(x, "link"), "ambiguous") != NULL;
        }
        ck_assert(beta_linked);
        ck_assert(dup_unlinked);
        ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(ag, "removed")), 1);
        ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(ag, "changed")), 2);
        ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(sum, "default_grants_changed")));
    }

    /* apply it: the file, then POST /admin/v1/policy/reload; decisions read the new snapshot
     * (SIGHUP and the file watcher would do the same) */
    {
        char tmp[700];
        FILE *f;
        snprintf(tmp, sizeof(tmp), "%s.tmp", fx->policy_path);
        f = fopen(tmp, "w");
        ck_assert_ptr_nonnull(f);
        fputs(DRY_CANDIDATE, f);
        fclose(f);
        ck_assert_int_eq(rename(tmp, fx->policy_path), 0);
        cJSON *rl = NULL;
        ck_assert_int_eq(
            call(NULL, "POST", "/admin/v1/policy/reload", NULL, ADMIN_AUTH, &rl, NULL, NULL), 200);
        /* the reload names the revision now in force: the dry run's candidate */
        ck_assert_str_eq(str_of(rl, "policy_revision"), cand_rev);
        cJSON_Delete(rl);
    }
    for (int tries = 0;; tries++) {
        char *tok = token(dry_users[5][1], dry_users[5][0], 0);
        cJSON *j = authorize(tok, "dir", "protect");
        bool done = strcmp(str_of(j, "policy_revision"), cand_rev) == 0;
        cJSON_Delete(j);
        free(tok);
        if (done)
            break;
        ck_assert_msg(tries < 100, "the candidate policy was not applied within 5 s");
        usleep(50 * 1000);
    }
    decisions(after, rev_after);
    ck_assert_str_eq(rev_after, cand_rev);
    for (size_t i = 0; i < NUSERS; i++)
        for (size_t d = 0; d < NDS; d++)
            for (size_t a = 0; a < 2; a++)
                ck_assert_msg(after[i][d][a] == predicted[i][d][a],
                              "%s %s %s: dry run said %d, applied gives %d", dry_users[i][0],
                              a ? "unprotect" : "protect", dry_datasets[d], predicted[i][d][a],
                              after[i][d][a]);
    /* and the dry run of the running policy changes nothing */
    cJSON_Delete(dry);
    ck_assert_int_eq(
        call(NULL, "POST", "/admin/v1/policy/dry-run", DRY_CANDIDATE, ADMIN_AUTH, &dry, NULL, NULL),
        200);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(dry, "users")), 0);
    ck_assert_str_eq(str_of(cJSON_GetObjectItem(dry, "policy_revision"), "candidate"),
                     str_of(cJSON_GetObjectItem(dry, "policy_revision"), "current"));
    cJSON_Delete(dry);
    for (size_t i = 0; i < NUSERS; i++)
        free(uids[i]);
    free(alpha);
    free(beta);
    free(dup1);
    free(dup2);
    free(old);
    free(admins);
    xfx_stop();
}
END_TEST

Suite *explain_suite(void)
{
    Suite *s = suite_create("explain");
    TCase *tc = tcase_create("explain");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, admin_auth_enforced);
    tcase_add_test(tc, explain_names_the_path);
    tcase_add_test(tc, explain_token_cut_off_and_tenant);
    tcase_add_test(tc, explain_agrees_with_authorize);
    tcase_add_test(tc, revisions_everywhere_and_equal_across_daemons);
    tcase_add_test(tc, dry_run_matches_applied_change);
    suite_add_tcase(s, tc);
    return s;
}
