/*
 * test_authorize.c - issue 5 end to end: users and groups provisioned over SCIM (Entra's request
 * shapes), access groups from the policy file and the admin API, real RS256 tokens from the
 * loopback IdP, and the decisions /v1/authorize and /v1/ext_authz give, with their reasons:
 * every provisioning change is visible in the very next decision (read-your-writes), and
 * removals cut off tokens issued before them.
 */
#include "tests/support/idp.h"
#include "tests/support/mint.h"
#include "tests/support/scim_client.h"

#include <time.h>
#include <unistd.h>

#define TID         "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define OTHER_TID   "11111111-2222-4333-8444-555555555555"
#define OID         "6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b"
#define UPN         "alice@contoso.example"
#define ADMIN_TOKEN "e2e-admin-secret-0123456789abcdef"
#define PATCHOP     "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"

#define POLICY                                                                                     \
    "{\"access_groups\":[{\"name\":\"Payroll Analysts\",\"grants\":[{\"dataset\":\"payroll\","     \
    "\"actions\":[\"protect\",\"unprotect\"]}]}],"                                                 \
    "\"default_grants\":[{\"dataset\":\"directory\",\"actions\":[\"protect\"]}],"                  \
    "\"routes\":[{\"method\":\"GET\",\"path_prefix\":\"/payroll\",\"dataset\":\"payroll\","        \
    "\"action\":\"unprotect\"}]}"

static struct gh_fixture *fx;

/* The IdP and the daemon with POLICY, a decision log, both secrets, the tenant allow-list
 * `tenants` (NULL: none) and one `extra` setting (NULL: none). */
static void afx_start_mode(const char *tenants, const char *extra)
{
    char ten[200];
    const char *more[3] = {NULL, NULL, NULL};
    size_t n = 0;

    if (tenants != NULL) {
        snprintf(ten, sizeof(ten), "GATEHOUSE_TENANTS=%s", tenants);
        more[n++] = ten;
    }
    if (extra != NULL)
        more[n++] = extra;
    fx = scim_e2e_fixture_start(&(struct gh_fixture_opts){.scim_token = SCIM_TOKEN,
                                                          .admin_token = ADMIN_TOKEN,
                                                          .policy = POLICY,
                                                          .decision_log = true,
                                                          .extra = more});
}

static void afx_start(const char *tenants)
{
    afx_start_mode(tenants, NULL);
}

static void afx_stop(void)
{
    scim_e2e_fixture_stop(fx);
}

/* A token for oid/upn issued `iat_delta` seconds from now (negative: in the past). */
static char *token(const char *oid, const char *upn, long iat_delta)
{
    cJSON *c = gh_fixture_claims(fx);
    cJSON_ReplaceItemInObject(c, "oid", cJSON_CreateString(oid));
    cJSON_ReplaceItemInObject(c, "preferred_username", cJSON_CreateString(upn));
    gh_mint_claims_time(c, "iat", iat_delta);
    cJSON_AddStringToObject(c, "uti", "uti-e2e-1");
    return gh_fixture_token(fx, c);
}

/* POST /v1/authorize; returns the parsed body (caller deletes) and checks the status. */
/* The decision log is buffered per thread and written within 500 ms: wait (up to 5 s) until it
 * holds at least `times` lines with decision id `id`. */
static void decision_log_wait(const char *id, int times)
{
    int seen = 0;
    for (int tries = 0; tries < 100; tries++) {
        char *s = gh_read_file(fx->decision_log);
        seen = 0;
        for (const char *p = s; p != NULL && (p = strstr(p, id)) != NULL; p++)
            seen++;
        free(s);
        if (seen >= times)
            return;
        struct timespec nap = {0, 50L * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    ck_abort_msg("decision %s is in the decision log %d times after 5 s, not %d", id, seen, times);
}

static cJSON *authorize(const char *tok, const char *dataset, const char *action)
{
    struct gh_http_resp r;
    char url[256], auth[8192], body[512];
    const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
    cJSON *j;
    snprintf(url, sizeof(url), "%s/v1/authorize", gh_proc_url(scim_client_proc()));
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    snprintf(body, sizeof(body), "{\"dataset\":\"%s\",\"action\":\"%s\"}", dataset, action);
    ck_assert_int_eq(gh_http("POST", url, hdrs, body, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "authorize: %ld %s", r.status, r.body);
    j = cJSON_Parse(r.body);
    ck_assert_ptr_nonnull(j);
    {
        /* the hand-written reply is exactly what cJSON prints for the same document */
        char *canon = cJSON_PrintUnformatted(j);
        ck_assert_str_eq(r.body, canon);
        free(canon);
    }
    gh_http_resp_free(&r);
    return j;
}

static const char *reason_of(const cJSON *j)
{
    return cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0), "reason")
        ->valuestring;
}

/* Expect allowed (or not) with a reason containing `want`. */
static void expect(const char *tok, const char *dataset, const char *action, bool allowed,
                   const char *want)
{
    cJSON *j = authorize(tok, dataset, action);
    const char *reason = reason_of(j);
    ck_assert_msg(cJSON_IsBool(cJSON_GetObjectItem(j, "allowed")) &&
                      cJSON_IsTrue(cJSON_GetObjectItem(j, "allowed")) == allowed,
                  "%s %s: want allowed=%d, got: %s", action, dataset, allowed, reason);
    ck_assert_msg(strstr(reason, want) != NULL, "reason \"%s\" lacks \"%s\"", reason, want);
    cJSON_Delete(j);
}

static char *user_body(const char *upn, const char *ext)
{
    static char b[1024];
    snprintf(b, sizeof(b),
             "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\","
             "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],\"externalId\":"
             "\"%s\",\"userName\":\"%s\",\"active\":true,\"emails\":[{\"primary\":true,\"type\":"
             "\"work\",\"value\":\"%s\"}],\"meta\":{\"resourceType\":\"User\"},\"roles\":[]}",
             ext, upn, upn);
    return b;
}

START_TEST(provisioning_drives_decisions)
{
    afx_start(NULL);
    char *old = token(OID, UPN, -60);

    /* not provisioned yet */
    expect(old, "directory", "protect", false, "subject is not provisioned");
    /* user created (externalId = objectId mapping) -> identity exists; default grants apply */
    char *uid = scim_create("/scim/v2/Users", user_body(UPN, OID));
    expect(old, "directory", "protect", true, "default_grants");
    expect(old, "directory", "unprotect", false, "no access group of " UPN " (member of 0)");
    expect(old, "payroll", "unprotect", false, "no access group");
    /* group created -> linked to the access group of the same name; members added -> allowed */
    char *gid = scim_create_group("Payroll Analysts");
    scim_member_op("Add", gid, uid);
    expect(old, "payroll", "unprotect", true,
           "access group \"Payroll Analysts\" (IdP group \"Payroll Analysts\") grants unprotect "
           "on payroll");
    /* re-adding is idempotent */
    scim_member_op("Add", gid, uid);
    expect(old, "payroll", "protect", true, "Payroll Analysts");

    /* member removed (flag dialect: members[value eq ...]) -> denied at once */
    char body[512];
    snprintf(body, sizeof(body),
             PATCHOP
             "\"Operations\":[{\"op\":\"remove\",\"path\":\"members[value eq \\\"%s\\\"]\"}]}",
             uid);
    scim_ok("PATCH", scim_path2("/scim/v2/Groups/", gid), body, 204);
    expect(old, "payroll", "unprotect", false, "no access group");
    /* restored: a token issued before the removal stays cut off, a newer one works */
    scim_member_op("Add", gid, uid);
    expect(old, "payroll", "unprotect", false, "changed at");
    char *fresh = token(OID, UPN, 5);
    expect(fresh, "payroll", "unprotect", true, "Payroll Analysts");
    expect(old, "directory", "protect", true, "default_grants");

    /* group deleted -> its members lose that access group */
    scim_ok("DELETE", scim_path2("/scim/v2/Groups/", gid), NULL, 204);
    expect(fresh, "payroll", "unprotect", false, "no access group");
    free(old);
    free(fresh);
    free(uid);
    free(gid);
    afx_stop();
}
END_TEST

/* RFC 7644 §3.5.2: a PATCH's operations take effect in order, and decisions (memberships and
 * their cut-offs) follow the net effect: add then remove leaves no access, remove then add of a
 * member keeps it without cutting off the tokens already issued. */
START_TEST(ordered_patch_ops_drive_decisions)
{
    afx_start(NULL);
    char *old = token(OID, UPN, -60);
    char *uid = scim_create("/scim/v2/Users", user_body(UPN, OID));
    char *gid = scim_create_group("Payroll Analysts");
    char body[1024];

    /* default dialect: added then removed in one PATCH: no access */
    snprintf(body, sizeof(body),
             PATCHOP "\"Operations\":[{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":"
                     "\"%s\"}]},{\"op\":\"Remove\",\"path\":\"members\",\"value\":[{\"value\":"
                     "\"%s\"}]}]}",
             uid, uid);
    scim_ok("PATCH", scim_path2("/scim/v2/Groups/", gid), body, 204);
    expect(old, "payroll", "unprotect", false, "no access group");
    /* flag dialect: removed then added: access, and nothing was cut off */
    snprintf(body, sizeof(body),
             PATCHOP
             "\"Operations\":[{\"op\":\"remove\",\"path\":\"members[value eq \\\"%s\\\"]\"},"
             "{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"value\":\"%s\"}]}]}",
             uid, uid);
    scim_ok("PATCH", scim_path2("/scim/v2/Groups/", gid), body, 204);
    expect(old, "payroll", "unprotect", true, "Payroll Analysts");
    /* the same again, now of a member: the membership never lapsed, older tokens keep it */
    scim_ok("PATCH", scim_path2("/scim/v2/Groups/", gid), body, 204);
    expect(old, "payroll", "unprotect", true, "Payroll Analysts");
    /* disabled then enabled in one PATCH: the user never was inactive */
    scim_ok("PATCH", scim_path2("/scim/v2/Users/", uid),
            PATCHOP "\"Operations\":[{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"False\"},"
                    "{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"True\"}]}",
            200);
    expect(old, "payroll", "unprotect", true, "Payroll Analysts");
    /* added (a retry) then removed, of a member: removed, and cut off */
    snprintf(body, sizeof(body),
             PATCHOP "\"Operations\":[{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":"
                     "\"%s\"}]},{\"op\":\"Remove\",\"path\":\"members\",\"value\":[{\"value\":"
                     "\"%s\"}]}]}",
             uid, uid);
    scim_ok("PATCH", scim_path2("/scim/v2/Groups/", gid), body, 204);
    expect(old, "payroll", "unprotect", false, "no access group");
    scim_member_op("Add", gid, uid);
    expect(old, "payroll", "unprotect", false, "changed at");
    free(old);
    free(uid);
    free(gid);
    afx_stop();
}
END_TEST

START_TEST(deactivation_and_deletion_cut_off)
{
    afx_start(NULL);
    char *old = token(OID, UPN, -60);
    char *uid = scim_create("/scim/v2/Users", user_body(UPN, OID));
    char *gid = scim_create_group("Payroll Analysts");
    scim_member_op("Add", gid, uid);
    expect(old, "payroll", "unprotect", true, "Payroll Analysts");

    /* soft delete, Entra's default dialect ("False" as a string) -> every decision denies */
    scim_ok("PATCH", scim_path2("/scim/v2/Users/", uid),
            PATCHOP
            "\"Operations\":[{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"False\"}]}",
            200);
    expect(old, "payroll", "unprotect", false, "is deactivated (active=false)");
    expect(old, "directory", "protect", false, "deactivated");
    /* memberships are kept while inactive */
    char members[512];
    scim_members(gid, members, sizeof(members));
    ck_assert_str_eq(members, uid);
    /* re-enabled: older tokens stay cut off, a new one works again */
    scim_ok("PATCH", scim_path2("/scim/v2/Users/", uid),
            PATCHOP "\"Operations\":[{\"op\":\"replace\",\"path\":\"active\",\"value\":true}]}",
            200);
    expect(old, "payroll", "unprotect", false, "was deprovisioned at");
    char *fresh = token(OID, UPN, 5);
    expect(fresh, "payroll", "unprotect", true, "Payroll Analysts");

    /* user changed: a new userName resolves through upn when externalId does not match */
    scim_ok("PATCH", scim_path2("/scim/v2/Users/", uid),
            PATCHOP "\"Operations\":[{\"op\":\"Replace\",\"path\":\"userName\",\"value\":"
                    "\"alice.new@contoso.example\"},{\"op\":\"Replace\",\"path\":\"externalId\","
                    "\"value\":\"alice\"}]}",
            200);
    char *renamed = token("00000000-0000-4000-8000-000000000000", "ALICE.NEW@contoso.example", 5);
    cJSON *j = authorize(renamed, "payroll", "protect");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "allowed")));
    ck_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "subject"), "userName")->valuestring,
        "alice.new@contoso.example");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "subject"), "id")->valuestring,
                     uid);
    cJSON_Delete(j);

    /* hard delete -> identity gone and out of every access group */
    char *bob = scim_create("/scim/v2/Users", user_body("bob@contoso.example", "bob-oid"));
    scim_member_op("Add", gid, bob);
    char *bob_old = token("bob-oid", "bob@contoso.example", -60);
    expect(bob_old, "payroll", "protect", true, "Payroll Analysts");
    scim_ok("DELETE", scim_path2("/scim/v2/Users/", bob), NULL, 204);
    expect(bob_old, "payroll", "protect", false, "subject is not provisioned");
    scim_members(gid, members, sizeof(members));
    ck_assert_str_eq(members, uid);
    /* re-created under the same name: tokens from before the deletion stay dead */
    char *bob2 = scim_create("/scim/v2/Users", user_body("bob@contoso.example", "bob-oid"));
    scim_member_op("Add", gid, bob2);
    expect(bob_old, "payroll", "protect", false, "was deprovisioned at");
    char *bob_new = token("bob-oid", "bob@contoso.example", 5);
    expect(bob_new, "payroll", "protect", true, "Payroll Analysts");
    free(bob);
    free(bob2);
    free(bob_old);
    free(bob_new);
    free(old);
    free(fresh);
    free(renamed);
    free(uid);
    free(gid);
    afx_stop();
}
END_TEST

START_TEST(access_group_created_links_at_once)
{
    struct gh_http_resp r;
    char url[256];
    const char *hdrs[] = {"Authorization: Bearer " ADMIN_TOKEN, "Content-Type: application/json",
                          NULL};
    afx_start(NULL);
    char *tok = token(OID, UPN, -60);
    char *uid = scim_create("/scim/v2/Users", user_body(UPN, OID));
    char *gid = scim_create_group("Auditors");
    scim_member_op("Add", gid, uid);
    expect(tok, "audit", "unprotect", false, "no access group");
    snprintf(url, sizeof(url), "%s/admin/v1/access-groups", gh_proc_url(scim_client_proc()));
    ck_assert_int_eq(gh_http("POST", url, hdrs,
                             "{\"name\":\"auditors\",\"grants\":[{\"dataset\":\"audit\","
                             "\"actions\":[\"unprotect\"]}]}",
                             NULL, &r),
                     0);
    ck_assert_int_eq(r.status, 201);
    gh_http_resp_free(&r);
    expect(tok, "audit", "unprotect", true,
           "access group \"auditors\" (IdP group \"Auditors\") grants unprotect on audit");
    free(tok);
    free(uid);
    free(gid);
    afx_stop();
}
END_TEST

/* POST /v1/authorize with a raw body (NULL: none); returns the status, *out_body parsed or NULL. */
static long authorize_raw(const char *tok, const char *body, cJSON **out_body)
{
    struct gh_http_resp r;
    char url[256], auth[8192];
    const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
    long status;
    snprintf(url, sizeof(url), "%s/v1/authorize", gh_proc_url(scim_client_proc()));
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    ck_assert_int_eq(gh_http("POST", url, hdrs, body, NULL, &r), 0);
    status = r.status;
    *out_body = cJSON_Parse(r.body);
    gh_http_resp_free(&r);
    return status;
}

/* The decision reply is written by hand (no JSON library on the hot path): names with quotes,
 * backslashes and non-ASCII letters must come back as the same strings. One worker thread, so
 * consecutive requests reuse the same per-thread request state: a request must never see the
 * previous one's body. */
START_TEST(reply_escapes_and_requests_share_nothing)
{
    struct gh_http_resp r;
    char url[256];
    const char *hdrs[] = {"Authorization: Bearer " ADMIN_TOKEN, "Content-Type: application/json",
                          NULL};
    const char *upn = "zo\xc3\xab.o'neil@contoso.example";
    const char *name = "Q\"uote\\Back \xc3\xa9quipe";
    char want[256];
    cJSON *j = NULL;

    afx_start_mode(NULL, "GATEHOUSE_THREADS=1");
    char *tok = token(OID, upn, -60);
    char *uid = scim_create("/scim/v2/Users", user_body(upn, OID));
    char *gid = scim_create_group("Q\\\"uote\\\\Back \xc3\xa9quipe");
    scim_member_op("Add", gid, uid);
    snprintf(url, sizeof(url), "%s/admin/v1/access-groups", gh_proc_url(scim_client_proc()));
    ck_assert_int_eq(
        gh_http("POST", url, hdrs,
                "{\"name\":\"Q\\\"uote\\\\Back \xc3\xa9quipe\",\"grants\":[{\"dataset\":"
                "\"sp\\\"ecial\\\\set\",\"actions\":[\"protect\"]}]}",
                NULL, &r),
        0);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    gh_http_resp_free(&r);

    /* a long body first ... */
    ck_assert_int_eq(authorize_raw(tok,
                                   "{\"dataset\":\"sp\\\"ecial\\\\set\",\"action\":\"protect\","
                                   "\"padding\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
                                   &j),
                     200);
    ck_assert_ptr_nonnull(j);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "allowed")));
    ck_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "subject"), "userName")->valuestring, upn);
    ck_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0), "dataset")
            ->valuestring,
        "sp\"ecial\\set");
    snprintf(want, sizeof(want), "access group \"%s\" (IdP group \"%s\") grants protect on %s",
             name, name, "sp\"ecial\\set");
    ck_assert_str_eq(reason_of(j), want);
    cJSON_Delete(j);

    /* ... then no body at all, then a shorter one: neither sees the bytes before */
    ck_assert_int_eq(authorize_raw(tok, NULL, &j), 400);
    ck_assert_ptr_nonnull(j);
    ck_assert_ptr_nonnull(strstr(cJSON_GetObjectItem(j, "message")->valuestring, "empty"));
    cJSON_Delete(j);
    ck_assert_int_eq(authorize_raw(tok, "{\"dataset\":\"d\",\"action\":\"protect\"}", &j), 200);
    ck_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0), "dataset")
            ->valuestring,
        "d");
    ck_assert_ptr_nonnull(strstr(reason_of(j), "no access group"));
    cJSON_Delete(j);
    free(tok);
    free(uid);
    free(gid);
    afx_stop();
}
END_TEST

/* The usual body {"dataset":…,"action":…} is recognised without a JSON parse: it must answer
 * exactly as the full parse does, and every near miss (what the strict parse refuses, escapes,
 * other members, other spellings) must still take the full parse and get its answer. */
START_TEST(authorize_body_fast_path_agrees)
{
    static const struct {
        const char *body;
        long status;
        const char *dataset; /* the result's dataset on 200 */
    } cases[] = {
        {"{\"dataset\":\"d\",\"action\":\"protect\"}", 200, "d"},
        {"{\"dataset\":\"a b/c:d.e-f\",\"action\":\"unprotect\"}", 200, "a b/c:d.e-f"},
        {"{\"dataset\":\"d\\u0041\",\"action\":\"protect\"}", 200, "dA"},
        {"{\"dataset\": \"d\",\"action\":\"protect\"}", 200, "d"},
        {"{\"action\":\"protect\",\"dataset\":\"d\"}", 200, "d"},
        {"{\"dataset\":\"\xc3\xa9\",\"action\":\"protect\"}", 200, "\xc3\xa9"},
        {"{\"dataset\":\"\",\"action\":\"protect\"}", 400, NULL},
        {"{\"dataset\":\"d\",\"action\":\"protect\"}x", 400, NULL},
        {"{\"dataset\":\"d\",\"action\":\"protect\"} ", 200, "d"},
        {"{\"dataset\":\"d\",\"action\":\"protect\",\"dataset\":\"e\"}", 400, NULL},
        {"{\"dataset\":\"d\",\"action\":\"Protect\"}", 400, NULL},
        {"{\"dataset\":\"d\",\"action\":\"protect\"", 400, NULL},
        {"{\"dataset\":\"a\\u0000b\",\"action\":\"protect\"}", 400, NULL},
        {"{\"dataset\":\"\xff\",\"action\":\"protect\"}", 400, NULL},
        {"{\"dataset\":\"d\",\"action\":\"protect\",\"checks\":[]}", 400, NULL},
    };
    char body[600], ds[300];
    cJSON *j = NULL;

    afx_start(NULL);
    char *tok = token(OID, UPN, -60);
    free(scim_create("/scim/v2/Users", user_body(UPN, OID)));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long st = authorize_raw(tok, cases[i].body, &j);
        ck_assert_msg(st == cases[i].status, "%s: %ld", cases[i].body, st);
        ck_assert_ptr_nonnull(j);
        if (cases[i].dataset != NULL)
            ck_assert_str_eq(
                cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0),
                                    "dataset")
                    ->valuestring,
                cases[i].dataset);
        cJSON_Delete(j);
    }
    /* the length bound: 256 bytes pass, 257 do not */
    for (int n = 256; n <= 257; n++) {
        memset(ds, 'x', (size_t)n);
        ds[n] = '\0';
        snprintf(body, sizeof(body), "{\"dataset\":\"%s\",\"action\":\"protect\"}", ds);
        ck_assert_int_eq(authorize_raw(tok, body, &j), n == 256 ? 200 : 400);
        cJSON_Delete(j);
    }
    free(tok);
    afx_stop();
}
END_TEST

START_TEST(checks_and_tenant_and_log)
{
    struct gh_http_resp r;
    char url[256], auth[8192];
    const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
    afx_start(OTHER_TID "," TID);
    char *tok = token(OID, UPN, -60);
    free(scim_create("/scim/v2/Users", user_body(UPN, OID)));
    /* GATEHOUSE_TENANTS' first entry is the SCIM tenant: a token from the second is valid but
     * its subject cannot be one of ours */
    expect(tok, "directory", "protect", false,
           "token tenant " TID " is not the provisioned tenant " OTHER_TID);
    free(tok);
    afx_stop();

    afx_start(NULL);
    tok = token(OID, UPN, -60);
    free(scim_create("/scim/v2/Users", user_body(UPN, OID)));
    snprintf(url, sizeof(url), "%s/v1/authorize", gh_proc_url(scim_client_proc()));
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    ck_assert_int_eq(gh_http("POST", url, hdrs,
                             "{\"checks\":[{\"dataset\":\"directory\",\"action\":\"protect\"},"
                             "{\"dataset\":\"payroll\",\"action\":\"unprotect\"}]}",
                             NULL, &r),
                     0);
    cJSON *j = cJSON_Parse(r.body);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "allowed")));
    ck_assert(cJSON_IsTrue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0), "allowed")));
    ck_assert(cJSON_IsFalse(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 1), "allowed")));
    char id[64];
    snprintf(id, sizeof(id), "%s", cJSON_GetObjectItem(j, "decision_id")->valuestring);
    cJSON_Delete(j);
    gh_http_resp_free(&r);
    /* actions other than protect/unprotect are 400 */
    ck_assert_int_eq(
        gh_http("POST", url, hdrs, "{\"dataset\":\"payroll\",\"action\":\"delete\"}", NULL, &r), 0);
    ck_assert_int_eq(r.status, 400);
    gh_http_resp_free(&r);
    /* the decision log: one JSON line per check, with the token id, never the token */
    decision_log_wait(id, 2);
    FILE *f = fopen(fx->decision_log, "r");
    char line[4096];
    int lines = 0, ours = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        lines++;
        ours += strstr(line, id) != NULL;
        ck_assert_ptr_null(strstr(line, tok));
        ck_assert_ptr_nonnull(strstr(line, "\"token_id\":\"uti-e2e-1\""));
    }
    fclose(f);
    ck_assert_int_eq(ours, 2);
    ck_assert_int_ge(lines, 2);
    /* metrics count decisions by result */
    snprintf(url, sizeof(url), "%s/metrics", gh_proc_url(scim_client_proc()));
    ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
    ck_assert_ptr_nonnull(strstr(r.body, "gatehouse_decisions_total{result=\"allow\"} 1"));
    ck_assert_ptr_nonnull(strstr(r.body, "gatehouse_decisions_total{result=\"deny\"} 1"));
    gh_http_resp_free(&r);
    ck_assert_ptr_null(strstr(gh_proc_log(scim_client_proc()), tok));
    free(tok);
    afx_stop();
}
END_TEST

/* The string member `name` of o; fails the test (rather than crashing) when it is not one. */
static const char *str_of(const cJSON *o, const char *name)
{
    const cJSON *m = cJSON_GetObjectItem(o, name);
    ck_assert_msg(cJSON_IsString(m), "no string member \"%s\"", name);
    return m->valuestring;
}

/* The decision log of an unprovisioned subject: "result" next to "allowed", and the values of
 * the identity claims (GATEHOUSE_IDENTITY_CLAIMS, default oid, upn, preferred_username) as
 * fields of the subject, absent ones null; every line exactly what cJSON prints for it. */
START_TEST(decision_log_unprovisioned_claims)
{
    afx_start(NULL);
    char *tok = token(OID, UPN, -60);
    cJSON *j = authorize(tok, "payroll", "unprotect");
    char id[64], id2[64], line[4096];
    int ours = 0;
    FILE *f;

    snprintf(id, sizeof(id), "%s", str_of(j, "decision_id"));
    cJSON_Delete(j);
    free(scim_create("/scim/v2/Users", user_body(UPN, OID)));
    j = authorize(tok, "directory", "protect"); /* provisioned now: default grant */
    snprintf(id2, sizeof(id2), "%s", str_of(j, "decision_id"));
    cJSON_Delete(j);
    decision_log_wait(id, 1);
    decision_log_wait(id2, 1);
    f = fopen(fx->decision_log, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        cJSON *l = cJSON_Parse(line);
        const cJSON *sub, *cl;
        char *canon;
        size_t n = strlen(line);
        ck_assert_ptr_nonnull(l);
        ck_assert(n > 0 && line[n - 1] == '\n');
        line[n - 1] = '\0';
        canon = cJSON_PrintUnformatted(l);
        ck_assert_str_eq(line, canon);
        free(canon);
        sub = cJSON_GetObjectItem(l, "subject");
        cl = cJSON_GetObjectItem(sub, "claims");
        if (strstr(line, id) != NULL) {
            ours++;
            ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(l, "allowed")));
            ck_assert_str_eq(str_of(l, "result"), "deny");
            ck_assert(cJSON_IsNull(cJSON_GetObjectItem(sub, "id")));
            ck_assert_msg(cJSON_IsObject(cl), "no subject.claims: %s", line);
            ck_assert_str_eq(str_of(cl, "oid"), OID);
            ck_assert(cJSON_IsNull(cJSON_GetObjectItem(cl, "upn")));
            ck_assert_str_eq(str_of(cl, "preferred_username"), UPN);
        } else {
            ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(l, "allowed")));
            ck_assert_str_eq(str_of(l, "result"), "allow");
            ck_assert(cJSON_IsString(cJSON_GetObjectItem(sub, "id")));
            ck_assert_ptr_null(cl);
        }
        cJSON_Delete(l);
    }
    fclose(f);
    ck_assert_int_eq(ours, 1);
    free(tok);
    afx_stop();
}
END_TEST

/* One request, returning the status and the WWW-Authenticate value (into h; "" when absent). */
static long challenge_of(const char *method, const char *path, const char *auth, const char *body,
                         char *h, size_t cap)
{
    struct gh_http_resp r;
    char url[512];
    const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
    long status;
    snprintf(url, sizeof(url), "%s%s", gh_proc_url(scim_client_proc()), path);
    ck_assert_int_eq(gh_http(method, url, auth != NULL ? hdrs : hdrs + 1, body, NULL, &r), 0);
    status = r.status;
    if (gh_http_resp_header(&r, "WWW-Authenticate", h, cap) == NULL)
        h[0] = '\0';
    gh_http_resp_free(&r);
    return status;
}

/* RFC 6750 §3.1 on every route family: no credentials (no Authorization, or another scheme) is
 * a 401 whose challenge names the realm and carries no error code; a Bearer credential that
 * fails is error="invalid_token", with the realm too. */
START_TEST(challenges_per_route_family)
{
    static const struct {
        const char *method, *path, *realm;
    } routes[] = {
        {"POST", "/v1/authorize", "gatehouse"},
        {"GET", "/v1/ext_authz/payroll/x", "gatehouse"},
        {"GET", "/scim/v2/Users", "gatehouse-scim"},
        {"POST", "/scim/v2/Groups", "gatehouse-scim"},
        {"GET", "/admin/v1/access-groups", "gatehouse-admin"},
    };
    static const char *const none[] = {NULL, "Authorization: Basic dXNlcjpwYXNz",
                                       "Authorization: Digest username=\"x\""};
    static const char *const bad[] = {"Authorization: Bearer wrong-secret-0123456789",
                                      "Authorization: bearer a.b.c"};
    afx_start(NULL);
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        char h[1024], want[128];
        const char *body = strcmp(routes[i].method, "POST") == 0 ? "{}" : NULL;
        for (size_t k = 0; k < sizeof(none) / sizeof(none[0]); k++) {
            long st = challenge_of(routes[i].method, routes[i].path, none[k], body, h, sizeof(h));
            snprintf(want, sizeof(want), "Bearer realm=\"%s\"", routes[i].realm);
            ck_assert_msg(st == 401, "%s %s (%zu): %ld", routes[i].method, routes[i].path, k, st);
            ck_assert_msg(strcmp(h, want) == 0, "%s %s (%zu): challenge \"%s\", want \"%s\"",
                          routes[i].method, routes[i].path, k, h, want);
        }
        for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
            long st = challenge_of(routes[i].method, routes[i].path, bad[k], body, h, sizeof(h));
            snprintf(want, sizeof(want), "Bearer realm=\"%s\", error=\"invalid_token\"",
                     routes[i].realm);
            ck_assert_msg(st == 401, "%s %s (bad %zu): %ld", routes[i].method, routes[i].path, k,
                          st);
            ck_assert_msg(strncmp(h, want, strlen(want)) == 0,
                          "%s %s (bad %zu): challenge \"%s\", want \"%s...\"", routes[i].method,
                          routes[i].path, k, h, want);
        }
    }
    afx_stop();
}
END_TEST

/* /v1/ext_authz: headers or route rules; only 200, 401, 403. */
static long ext(const char *method, const char *path, const char *tok, const char *h1,
                const char *h2, struct gh_http_resp *r)
{
    char url[512], auth[8192];
    const char *hdrs[4] = {NULL, NULL, NULL, NULL};
    int n = 0;
    snprintf(url, sizeof(url), "%s%s", gh_proc_url(scim_client_proc()), path);
    if (tok != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        hdrs[n++] = auth;
    }
    if (h1 != NULL)
        hdrs[n++] = h1;
    if (h2 != NULL)
        hdrs[n++] = h2;
    ck_assert_int_eq(gh_http(method, url, hdrs, NULL, NULL, r), 0);
    return r->status;
}

START_TEST(ext_authz_for_proxies)
{
    struct gh_http_resp r;
    char h[256];
    afx_start(NULL);
    char *tok = token(OID, UPN, -60);
    char *uid = scim_create("/scim/v2/Users", user_body(UPN, OID));
    char *gid = scim_create_group("Payroll Analysts");
    scim_member_op("Add", gid, uid);

    /* explicit headers (any method) */
    ck_assert_int_eq(ext("POST", "/v1/ext_authz", tok, "X-Gatehouse-Dataset: payroll",
                         "X-Gatehouse-Action: protect", &r),
                     200);
    ck_assert_str_eq(gh_http_resp_header(&r, "X-Gatehouse-Subject", h, sizeof(h)), uid);
    ck_assert_str_eq(gh_http_resp_header(&r, "X-Gatehouse-User", h, sizeof(h)), UPN);
    ck_assert_ptr_nonnull(gh_http_resp_header(&r, "X-Gatehouse-Decision-Id", h, sizeof(h)));
    {
        /* the reply's shape, byte for byte what cJSON prints for the same document */
        cJSON *want = cJSON_CreateObject(), *got = cJSON_Parse(r.body);
        char *text;
        cJSON_AddBoolToObject(want, "allowed", 1);
        cJSON_AddStringToObject(want, "decision_id", h);
        cJSON_AddStringToObject(want, "dataset", "payroll");
        cJSON_AddStringToObject(want, "action", "protect");
        cJSON_AddStringToObject(want, "reason", cJSON_GetObjectItem(got, "reason")->valuestring);
        text = cJSON_PrintUnformatted(want);
        ck_assert_str_eq(r.body, text);
        free(text);
        cJSON_Delete(want);
        cJSON_Delete(got);
    }
    gh_http_resp_free(&r);
    ck_assert_int_eq(ext("GET", "/v1/ext_authz", tok, "X-Gatehouse-Dataset: hr",
                         "X-Gatehouse-Action: protect", &r),
                     403);
    ck_assert_ptr_null(gh_http_resp_header(&r, "X-Gatehouse-Subject", h, sizeof(h)));
    ck_assert_ptr_nonnull(strstr(r.body, "no access group"));
    gh_http_resp_free(&r);
    /* Envoy: original method and path appended to the prefix; the policy's route rule maps it */
    ck_assert_int_eq(ext("GET", "/v1/ext_authz/payroll/slips/7?year=2026", tok, NULL, NULL, &r),
                     200);
    gh_http_resp_free(&r);
    ck_assert_int_eq(ext("DELETE", "/v1/ext_authz/payroll/slips/7", tok, NULL, NULL, &r), 403);
    ck_assert_ptr_nonnull(strstr(r.body, "no dataset for DELETE /payroll/slips/7"));
    gh_http_resp_free(&r);
    /* in Envoy mode (the default) headers naming another original request are ignored */
    ck_assert_int_eq(ext("GET", "/v1/ext_authz", tok, "X-Original-URI: /payroll/x",
                         "X-Original-Method: GET", &r),
                     403);
    gh_http_resp_free(&r);
    /* bad input is a 403, never a 400/5xx (nginx would turn those into 500) */
    ck_assert_int_eq(ext("GET", "/v1/ext_authz", tok, "X-Gatehouse-Dataset: payroll",
                         "X-Gatehouse-Action: delete", &r),
                     403);
    gh_http_resp_free(&r);
    ck_assert_int_eq(ext("GET", "/v1/ext_authz", tok, "X-Gatehouse-Dataset: payroll", NULL, &r),
                     403);
    gh_http_resp_free(&r);
    /* tokens: missing or invalid -> 401 with the RFC 6750 challenge */
    ck_assert_int_eq(ext("GET", "/v1/ext_authz/payroll", NULL, NULL, NULL, &r), 401);
    ck_assert_ptr_nonnull(gh_http_resp_header(&r, "WWW-Authenticate", h, sizeof(h)));
    ck_assert_str_eq(h, "Bearer realm=\"gatehouse\"");
    gh_http_resp_free(&r);
    ck_assert_int_eq(ext("GET", "/v1/ext_authz/payroll", "a.b.c", NULL, NULL, &r), 401);
    ck_assert_ptr_nonnull(gh_http_resp_header(&r, "WWW-Authenticate", h, sizeof(h)));
    ck_assert_ptr_nonnull(strstr(h, "Bearer realm=\"gatehouse\", error=\"invalid_token\""));
    gh_http_resp_free(&r);
    /* deactivated: 403 */
    scim_ok("PATCH", scim_path2("/scim/v2/Users/", uid),
            PATCHOP
            "\"Operations\":[{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"False\"}]}",
            200);
    ck_assert_int_eq(ext("GET", "/v1/ext_authz/payroll", tok, NULL, NULL, &r), 403);
    ck_assert_ptr_nonnull(gh_http_resp_header(&r, "X-Gatehouse-Reason", h, sizeof(h)));
    ck_assert_ptr_nonnull(strstr(h, "deactivated"));
    gh_http_resp_free(&r);
    free(tok);
    free(uid);
    free(gid);
    afx_stop();
}
END_TEST

/* Like ext() with any number of extra headers (NULL-terminated). */
static long ext_h(const char *path, const char *tok, const char *const *extra,
                  struct gh_http_resp *r)
{
    char url[512], auth[8192];
    const char *hdrs[16];
    int n = 0;
    snprintf(url, sizeof(url), "%s%s", gh_proc_url(scim_client_proc()), path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    hdrs[n++] = auth;
    for (size_t i = 0; extra[i] != NULL && n < 15; i++)
        hdrs[n++] = extra[i];
    hdrs[n] = NULL;
    ck_assert_int_eq(gh_http("GET", url, hdrs, NULL, NULL, r), 0);
    return r->status;
}

/* nginx auth_request mode (GATEHOUSE_EXT_AUTHZ_ORIGIN=x-original): a client's own X-Gatehouse-*
 * or duplicated headers cannot steer the decision away from the route rule; paths not in normal
 * form are refused. */
START_TEST(ext_authz_nginx_mode_resists_spoofing)
{
    struct gh_http_resp r;
    afx_start_mode(NULL, "GATEHOUSE_EXT_AUTHZ_ORIGIN=x-original");
    char *tok = token(OID, UPN, -60);
    char *uid = scim_create("/scim/v2/Users", user_body(UPN, OID));
    const char *payroll[] = {"X-Original-URI: /payroll/x", "X-Original-Method: GET", NULL};
    const char *spoof[] = {"X-Original-URI: /payroll/x", "X-Original-Method: GET",
                           "X-Gatehouse-Dataset: directory", "X-Gatehouse-Action: protect", NULL};
    const char *dup[] = {"X-Original-URI: /other", "X-Original-URI: /payroll/x",
                         "X-Original-Method: GET", NULL};
    const char *dots[] = {"X-Original-URI: /public/../payroll/x", "X-Original-Method: GET", NULL};
    const char *other[] = {"X-Original-URI: /other",      "X-Original-Method: GET",
                           "X-Forwarded-Uri: /payroll/x", "X-Gatehouse-Dataset: directory",
                           "X-Gatehouse-Action: protect", NULL};
    const char *missing[] = {"X-Gatehouse-Dataset: directory", "X-Gatehouse-Action: protect", NULL};

    ck_assert_int_eq(ext_h("/v1/ext_authz", tok, payroll, &r), 403);
    gh_http_resp_free(&r);
    /* the route rule decides: the client's dataset header does not turn payroll into directory */
    ck_assert_int_eq(ext_h("/v1/ext_authz", tok, spoof, &r), 403);
    ck_assert_ptr_nonnull(strstr(r.body, "unprotect on payroll"));
    gh_http_resp_free(&r);
    ck_assert_int_eq(ext_h("/v1/ext_authz", tok, dup, &r), 403);
    ck_assert_ptr_nonnull(strstr(r.body, "X-Original-URI sent more than once"));
    gh_http_resp_free(&r);
    ck_assert_int_eq(ext_h("/v1/ext_authz", tok, dots, &r), 403);
    ck_assert_ptr_nonnull(strstr(r.body, "not in normal form"));
    gh_http_resp_free(&r);
    /* no rule for /other: the proxy's X-Gatehouse-* headers name the dataset; X-Forwarded-Uri is
     * not this mode's source and is ignored */
    ck_assert_int_eq(ext_h("/v1/ext_authz", tok, other, &r), 200);
    gh_http_resp_free(&r);
    /* the proxy must describe the original request in this mode */
    ck_assert_int_eq(ext_h("/v1/ext_authz", tok, missing, &r), 403);
    ck_assert_ptr_nonnull(strstr(r.body, "did not describe the original request"));
    gh_http_resp_free(&r);
    /* with the membership the route rule allows */
    char *gid = scim_create_group("Payroll Analysts");
    scim_member_op("Add", gid, uid);
    ck_assert_int_eq(ext_h("/v1/ext_authz", tok, payroll, &r), 200);
    gh_http_resp_free(&r);
    free(tok);
    free(uid);
    free(gid);
    afx_stop();
}
END_TEST

Suite *authorize_suite(void)
{
    Suite *s = suite_create("authorize");
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, provisioning_drives_decisions);
    tcase_add_test(tc, ordered_patch_ops_drive_decisions);
    tcase_add_test(tc, deactivation_and_deletion_cut_off);
    tcase_add_test(tc, access_group_created_links_at_once);
    tcase_add_test(tc, reply_escapes_and_requests_share_nothing);
    tcase_add_test(tc, checks_and_tenant_and_log);
    tcase_add_test(tc, authorize_body_fast_path_agrees);
    tcase_add_test(tc, decision_log_unprovisioned_claims);
    tcase_add_test(tc, challenges_per_route_family);
    tcase_add_test(tc, ext_authz_for_proxies);
    tcase_add_test(tc, ext_authz_nginx_mode_resists_spoofing);
    suite_add_tcase(s, tc);
    return s;
}
