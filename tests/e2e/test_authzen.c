/*
 * test_authzen.c - issue 12, OpenID AuthZEN Authorization API 1.0 end to end: a real daemon with
 * users and groups provisioned over SCIM, the PEP authenticated by its secret or by an app-only
 * token from the loopback IdP, single and batch evaluations under each semantic, subjects by
 * SCIM id / externalId / userName, dataset and route resources, context only when asked,
 * malformed requests, X-Request-ID on every reply, the PDP metadata. Every request sent and
 * every 200 reply is validated against our JSON Schemas transcribed from the specification
 * (tests/data/authzen/, python3-jsonschema).
 */
#include "core/core.h"
#include "tests/support/idp.h"
#include "tests/support/mint.h"
#include "tests/support/scim_client.h"

#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OID       "6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b"
#define UPN       "alice@contoso.example"
#define PEP       "e2e-authzen-pep-secret-0123456789"
#define PEP_AUTH  "Authorization: Bearer " PEP
#define ROLE      "AuthZEN.Evaluate"
#define REQ_ID    "bfe9eb29-ab87-4ca3-be83-a1d5d8305716"
#define EVAL      "/access/v1/evaluation"
#define EVALS     "/access/v1/evaluations"
#define PATCHOP   "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
#define SUBJ(id)  "\"subject\":{\"type\":\"user\",\"id\":\"" id "\"}"
#define DS(id)    "\"resource\":{\"type\":\"dataset\",\"id\":\"" id "\"}"
#define ACT(name) "\"action\":{\"name\":\"" name "\"}"

#define POLICY                                                                                     \
    "{\"access_groups\":[{\"name\":\"Payroll Analysts\",\"grants\":[{\"dataset\":\"payroll\","     \
    "\"actions\":[\"protect\",\"unprotect\"]}]}],"                                                 \
    "\"default_grants\":[{\"dataset\":\"directory\",\"actions\":[\"protect\"]}],"                  \
    "\"routes\":[{\"method\":\"GET\",\"path_prefix\":\"/payroll\",\"dataset\":\"payroll\","        \
    "\"action\":\"unprotect\"}]}"

static struct gh_fixture *fx;
static FILE *schema_log; /* documents for validate.py, one JSON line each */
static char schema_log_path[700];
static char *uid; /* the provisioned user's SCIM id */

/* Start the IdP and a daemon with the AuthZEN settings plus `extra` (NULL-terminated, may be
 * NULL), and open the schema log in the fixture's directory. */
static void zfx_start_with(const char *const *extra)
{
    const char *more[12] = {"GATEHOUSE_AUTHZEN_TOKEN=" PEP, "GATEHOUSE_AUTHZEN_ROLES=" ROLE};
    size_t n = 2;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 11; i++)
        more[n++] = extra[i];
    more[n] = NULL;
    fx = scim_e2e_fixture_start(&(struct gh_fixture_opts){
        .scim_token = SCIM_TOKEN, .policy = POLICY, .decision_log = true, .extra = more});
    snprintf(schema_log_path, sizeof(schema_log_path), "%s/authzen-docs.jsonl", fx->dir);
    schema_log = fopen(schema_log_path, "w");
    ck_assert_ptr_nonnull(schema_log);
}

/* A user (userName UPN, externalId OID) in "Payroll Analysts". */
static void provision(void)
{
    char body[1024];
    char *gid;
    snprintf(body, sizeof(body),
             "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"externalId\":"
             "\"%s\",\"userName\":\"%s\",\"active\":true}",
             OID, UPN);
    uid = scim_create("/scim/v2/Users", body);
    gid = scim_create_group("Payroll Analysts");
    snprintf(body, sizeof(body),
             PATCHOP "\"Operations\":[{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":"
                     "\"%s\"}]}]}",
             uid);
    struct scim_res r = scim_call("PATCH", scim_path2("/scim/v2/Groups/", gid), body);
    ck_assert_int_eq(r.status, 204);
    scim_res_free(&r);
    free(gid);
}

/* Run validate.py over the schema log: every document must meet its schema (and the known-bad
 * ones must not). */
static void schema_check(void)
{
    const char *src = getenv("GH_SRCDIR");
    char cmd[2048];
    int rc;

    /* documents that must be rejected: proof that the check can fail */
    fputs("{\"schema\":\"decision\",\"valid\":false,\"doc\":{\"decision\":\"true\"}}\n"
          "{\"schema\":\"evaluations-response\",\"valid\":false,\"doc\":{\"evaluations\":"
          "[{\"context\":{}}]}}\n"
          "{\"schema\":\"evaluation-request\",\"valid\":false,\"doc\":{" SUBJ("a") "," ACT(
              "x") "}}\n",
          schema_log);
    fclose(schema_log);
    schema_log = NULL;
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/data/authzen/validate.py %s 2>&1",
             src != NULL ? src : ".", schema_log_path);
    rc = system(cmd);
    ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
                  "AuthZEN documents do not meet the schemas (see above); python3-jsonschema?");
}

static void zfx_stop(void)
{
    schema_check();
    free(uid);
    uid = NULL;
    scim_e2e_fixture_stop(fx);
}

static void schema_note(const char *schema, const char *doc)
{
    fprintf(schema_log, "{\"schema\":\"%s\",\"doc\":%s}\n", schema, doc);
}

struct zres {
    long status;
    cJSON *json;
    char *raw;
    char req_id[256];   /* the X-Request-ID reply header, "" when absent */
    char www_auth[512]; /* WWW-Authenticate, "" when absent */
    char ctype[128];
};

/* One call with `auth` ("" none), X-Request-ID REQ_ID, and the body noted for the schema check
 * when `conforming` (a request the spec allows). */
static struct zres zcall_h(const char *method, const char *path, const char *auth, const char *body,
                           bool conforming, const char *extra)
{
    struct gh_http_resp r;
    struct zres z = {0};
    char url[512];
    const char *hdrs[5] = {"Content-Type: application/json", "X-Request-ID: " REQ_ID};
    size_t n = 2;

    if (auth[0])
        hdrs[n++] = auth;
    if (extra != NULL)
        hdrs[n++] = extra;
    snprintf(url, sizeof(url), "%s%s", gh_proc_url(scim_client_proc()), path);
    ck_assert_int_eq(gh_http(method, url, hdrs, body, NULL, &r), 0);
    z.status = r.status;
    z.raw = gh_xstrdup(r.body != NULL ? r.body : "");
    z.json = cJSON_Parse(z.raw);
    if (!gh_http_resp_header(&r, "X-Request-ID", z.req_id, sizeof(z.req_id)))
        z.req_id[0] = '\0';
    if (!gh_http_resp_header(&r, "WWW-Authenticate", z.www_auth, sizeof(z.www_auth)))
        z.www_auth[0] = '\0';
    if (!gh_http_resp_header(&r, "Content-Type", z.ctype, sizeof(z.ctype)))
        z.ctype[0] = '\0';
    gh_http_resp_free(&r);
    /* every reply: X-Request-ID echoed (AuthZEN §Request Identification), JSON */
    ck_assert_msg(strcmp(z.req_id, REQ_ID) == 0, "%s %s: %ld without X-Request-ID", method, path,
                  z.status);
    ck_assert_msg(z.json != NULL && cJSON_IsObject(z.json), "%s %s: %ld not JSON: %s", method, path,
                  z.status, z.raw);
    ck_assert_str_eq(z.ctype, "application/json");
    if (conforming && body != NULL)
        schema_note(strcmp(path, EVAL) == 0 ? "evaluation-request" : "evaluations-request", body);
    if (z.status == 200 && strcmp(path, EVAL) == 0)
        schema_note("decision", z.raw);
    else if (z.status == 200 && strcmp(path, EVALS) == 0)
        schema_note(cJSON_GetObjectItem(z.json, "evaluations") ? "evaluations-response"
                                                               : "decision",
                    z.raw);
    return z;
}

static struct zres zcall(const char *path, const char *body)
{
    return zcall_h("POST", path, PEP_AUTH, body, true, NULL);
}

static void zres_free(struct zres *z)
{
    cJSON_Delete(z->json);
    free(z->raw);
}

/* POST a single evaluation; expect exactly {"decision":want} (the plain shape). */
static void expect_plain(const char *path, const char *body, bool want)
{
    struct zres z = zcall(path, body);
    ck_assert_msg(z.status == 200, "%s: %ld %s", body, z.status, z.raw);
    ck_assert_msg(strcmp(z.raw, want ? "{\"decision\":true}" : "{\"decision\":false}") == 0,
                  "%s -> %s, want decision %d without context", body, z.raw, want);
    zres_free(&z);
}

/* A single evaluation asking for context; expect the decision and a reason containing `why`.
 * Returns the decision id (owned) or NULL when none was made. */
static char *expect_reason(const char *subject_id, const char *resource, const char *action,
                           bool want, const char *why)
{
    char body[2048];
    struct zres z;
    const cJSON *ctx, *id;
    char *out = NULL;

    snprintf(body, sizeof(body),
             "{\"subject\":{\"type\":\"user\",\"id\":\"%s\"},%s,\"action\":{\"name\":\"%s\"},"
             "\"options\":{\"gatehouse_context\":true}}",
             subject_id, resource, action);
    z = zcall(EVAL, body);
    ck_assert_msg(z.status == 200, "%s: %ld %s", body, z.status, z.raw);
    ck_assert_msg(cJSON_IsTrue(cJSON_GetObjectItem(z.json, "decision")) == want &&
                      cJSON_IsBool(cJSON_GetObjectItem(z.json, "decision")),
                  "%s -> %s", body, z.raw);
    ctx = cJSON_GetObjectItem(z.json, "context");
    ck_assert_msg(cJSON_IsString(cJSON_GetObjectItem(ctx, "reason")) &&
                      strstr(cJSON_GetObjectItem(ctx, "reason")->valuestring, why) != NULL,
                  "%s -> %s lacks reason \"%s\"", body, z.raw, why);
    id = cJSON_GetObjectItem(ctx, "decision_id");
    if (cJSON_IsString(id)) {
        cJSON *pr = cJSON_GetObjectItem(ctx, "policy_revision");
        ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(ctx, "revision")));
        ck_assert(cJSON_IsString(pr) && strlen(pr->valuestring) == 16);
        out = gh_xstrdup(id->valuestring);
    }
    zres_free(&z);
    return out;
}

/* Wait (5 s at most) for the buffered decision log to hold `id`. */
static void decision_log_has(const char *id, const char *also)
{
    for (int tries = 0; tries < 100; tries++) {
        char *s = gh_read_file(fx->decision_log);
        const char *line = s != NULL ? strstr(s, id) : NULL;
        bool ok = line != NULL && (also == NULL || strstr(line, also) != NULL);
        free(s);
        if (ok)
            return;
        struct timespec nap = {0, 50L * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    ck_abort_msg("decision %s not in the decision log", id);
}

/* The decisions of a batch reply, as "tft" (t: true, f: false). */
static void batch_expect(const char *body, const char *want)
{
    struct zres z = zcall(EVALS, body);
    const cJSON *arr = cJSON_GetObjectItem(z.json, "evaluations"), *e;
    char got[128] = "";
    size_t n = 0;

    ck_assert_msg(z.status == 200 && cJSON_IsArray(arr), "%s -> %ld %s", body, z.status, z.raw);
    ck_assert_msg(cJSON_GetObjectItem(z.json, "decision") == NULL, "top-level decision: %s", z.raw);
    cJSON_ArrayForEach(e, arr)
    {
        ck_assert(cJSON_IsBool(cJSON_GetObjectItem(e, "decision")) && n + 1 < sizeof(got));
        got[n++] = cJSON_IsTrue(cJSON_GetObjectItem(e, "decision")) ? 't' : 'f';
        ck_assert_msg(cJSON_GetObjectItem(e, "context") == NULL, "context unasked: %s", z.raw);
    }
    got[n] = '\0';
    ck_assert_msg(strcmp(got, want) == 0, "%s -> %s, want %s", body, got, want);
    zres_free(&z);
}

/* Subjects by SCIM id, externalId and userName; dataset decisions as /v1/authorize makes them;
 * the plain shape unless context is asked for; the decision log. */
START_TEST(single_evaluation_subjects_and_context)
{
    char body[1024], *id;

    zfx_start_with(NULL);
    /* not provisioned yet: false, with the reason when asked */
    id = expect_reason(UPN, DS("directory"), "protect", false, "no SCIM user");
    ck_assert_ptr_nonnull(id);
    decision_log_has(id, "\"subject_id\":\"" UPN "\"");
    free(id);
    provision();
    expect_plain(EVAL, "{" SUBJ(UPN) "," DS("payroll") "," ACT("unprotect") "}", true);
    expect_plain(EVAL, "{" SUBJ(OID) "," DS("payroll") "," ACT("unprotect") "}", true);
    snprintf(body, sizeof(body),
             "{\"subject\":{\"type\":\"identity\",\"id\":\"%s\",\"properties\":{\"x\":[1]}},"
             "\"resource\":{\"type\":\"dataset\",\"id\":\"payroll\",\"properties\":{}},"
             "\"action\":{\"name\":\"protect\",\"properties\":{\"a\":null}},"
             "\"context\":{\"time\":\"1985-10-26T01:22-07:00\"}}",
             uid);
    expect_plain(EVAL, body, true);
    /* userName matches in any case, like the token path */
    expect_plain(EVAL, "{" SUBJ("ALICE@contoso.example") "," DS("payroll") "," ACT("protect") "}",
                 true);
    expect_plain(EVAL, "{" SUBJ(UPN) "," DS("directory") "," ACT("unprotect") "}", false);
    expect_plain(EVAL, "{" SUBJ("bob@contoso.example") "," DS("directory") "," ACT("protect") "}",
                 false);
    /* the same endpoint without an evaluations array answers as the single one */
    expect_plain(EVALS, "{" SUBJ(UPN) "," DS("directory") "," ACT("protect") "}", true);
    expect_plain(EVALS, "{" SUBJ(UPN) "," DS("directory") "," ACT("protect") ",\"evaluations\":[]}",
                 true);
    /* context on request: reason, decision_id, revision; the decision is logged */
    id = expect_reason(uid, DS("payroll"), "unprotect", true, "access group \"Payroll Analysts\"");
    decision_log_has(id, uid);
    free(id);
    free(expect_reason(UPN, DS("directory"), "protect", true, "default_grants"));
    /* gatehouse_context false is the plain shape */
    expect_plain(EVAL,
                 "{" SUBJ(UPN) "," DS("payroll") "," ACT(
                     "protect") ",\"options\":{\"gatehouse_context\":false}}",
                 true);
    /* a deactivated user: false at once */
    snprintf(body, sizeof(body), "/scim/v2/Users/%s", uid);
    struct scim_res r =
        scim_call("PATCH", body,
                  PATCHOP "\"Operations\":[{\"op\":\"Replace\",\"path\":\"active\",\"value\":"
                          "\"False\"}]}");
    ck_assert_int_eq(r.status, 200);
    scim_res_free(&r);
    free(expect_reason(OID, DS("payroll"), "unprotect", false, "is deactivated"));
    zfx_stop();
}
END_TEST

/* §Access Evaluations: defaults and overrides, each semantic, and the order of results. */
START_TEST(batch_semantics)
{
    zfx_start_with(NULL);
    provision();
    /* execute_all (default): every result, in order; action overridden by the third */
    batch_expect(
        "{" SUBJ(UPN) "," ACT("unprotect") ",\"context\":{\"t\":1},\"evaluations\":["
                                           "{" DS("payroll") "},{" DS("directory") "},{" DS(
                                               "directory") "," ACT("protect") "}]}",
        "tft");
    batch_expect("{" SUBJ(UPN) "," ACT("unprotect") ",\"options\":{\"evaluations_semantic\":"
                                                    "\"execute_all\"},\"evaluations\":["
                                                    "{" DS("payroll") "},{" DS(
                                                        "directory") "},{" DS("payroll") "}]}",
                 "tft");
    /* deny_on_first_deny: stops after the first false */
    batch_expect("{" SUBJ(UPN) "," ACT("unprotect") ",\"options\":{\"evaluations_semantic\":"
                                                    "\"deny_on_first_deny\"},\"evaluations\":["
                                                    "{" DS("payroll") "},{" DS(
                                                        "directory") "},{" DS("payroll") "}]}",
                 "tf");
    batch_expect("{" SUBJ(UPN) "," ACT("unprotect") ",\"options\":{\"evaluations_semantic\":"
                                                    "\"deny_on_first_deny\"},\"evaluations\":[{" DS(
                                                        "payroll") "},{" DS("payroll") "}]}",
                 "tt");
    /* permit_on_first_permit: stops after the first true */
    batch_expect("{" SUBJ(UPN) "," ACT("unprotect") ",\"options\":{\"evaluations_semantic\":"
                                                    "\"permit_on_first_permit\"},\"evaluations\":["
                                                    "{" DS("directory") "},{" DS(
                                                        "payroll") "},{" DS("payroll") "}]}",
                 "ft");
    batch_expect("{" ACT("unprotect") ",\"options\":{\"evaluations_semantic\":"
                                      "\"permit_on_first_permit\"},\"evaluations\":["
                                      "{" SUBJ("bob@contoso.example") "," DS("payroll") "},{" SUBJ(
                                          "nobody") "," DS("payroll") "}]}",
                 "ff");
    /* no top-level defaults: each evaluation complete; different subjects per evaluation */
    batch_expect(
        "{\"evaluations\":[{" SUBJ(UPN) "," DS("payroll") "," ACT("protect") "},{" SUBJ(
            "bob@"
            "contoso."
            "example") "," DS("payroll") "," ACT("protect") "},{" SUBJ(OID) ",\"resource\":{"
                                                                            "\"type\":\"route\","
                                                                            "\"id\":\"/payroll/"
                                                                            "q1\"}," ACT("GET") "}]"
                                                                                                "}",
        "tft");
    /* context for each result when asked */
    {
        struct zres z = zcall(
            EVALS,
            "{" SUBJ(UPN) "," ACT("unprotect") ",\"options\":{\"gatehouse_context\":true,"
                                               "\"evaluations_semantic\":\"deny_on_first_deny\"},"
                                               "\"evaluations\":[{" DS("payroll") "},{" DS(
                                                   "directory") "},{" DS("payroll") "}]}");
        const cJSON *arr = cJSON_GetObjectItem(z.json, "evaluations");
        ck_assert_int_eq(cJSON_GetArraySize(arr), 2);
        ck_assert(strstr(cJSON_GetObjectItem(
                             cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 1), "context"), "reason")
                             ->valuestring,
                         "no access group") != NULL);
        zres_free(&z);
    }
    zfx_stop();
}
END_TEST

/* Route resources through the policy's routes; what this PDP does not know is false with a
 * reason, never an error. */
START_TEST(resources_and_unknown_types)
{
    zfx_start_with(NULL);
    provision();
    expect_plain(
        EVAL,
        "{" SUBJ(UPN) ",\"resource\":{\"type\":\"route\",\"id\":\"/payroll/2026?q=1\"}," ACT(
            "GET") "}",
        true);
    free(expect_reason(UPN, "\"resource\":{\"type\":\"route\",\"id\":\"/payroll\"}", "GET", true,
                       "grants unprotect on payroll"));
    free(expect_reason(UPN, "\"resource\":{\"type\":\"route\",\"id\":\"/payroll\"}", "POST", false,
                       "no route rule in the policy for POST /payroll"));
    free(expect_reason(UPN, "\"resource\":{\"type\":\"route\",\"id\":\"/payrollx\"}", "GET", false,
                       "no route rule"));
    free(expect_reason(UPN, "\"resource\":{\"type\":\"route\",\"id\":\"/public/../payroll\"}",
                       "GET", false, "not a path in normal form"));
    free(expect_reason(UPN, "\"resource\":{\"type\":\"route\",\"id\":\"payroll\"}", "GET", false,
                       "not a path in normal form"));
    free(expect_reason(UPN, DS("payroll"), "read", false, "action read is not defined"));
    free(expect_reason(UPN, "\"resource\":{\"type\":\"document\",\"id\":\"1\"}", "protect", false,
                       "resource type document is not supported"));
    {
        struct zres z =
            zcall(EVAL, "{\"subject\":{\"type\":\"group\",\"id\":\"g\"}," DS("payroll") "," ACT(
                            "protect") ",\"options\":{\"gatehouse_context\":"
                                       "true}}");
        ck_assert_int_eq(z.status, 200);
        ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(z.json, "decision")));
        ck_assert(strstr(z.raw, "subject type group is not supported") != NULL);
        zres_free(&z);
    }
    zfx_stop();
}
END_TEST

/* /v1/authorize's decision for a fresh token of the user, or the plain AuthZEN one for the same
 * user named by `subject_id` (both "t"/"f"). */
static char authorize_fresh(const char *dataset, const char *action)
{
    cJSON *c = gh_fixture_claims(fx), *j;
    char url[256], auth[8192], body[256], *tok;
    const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
    struct gh_http_resp r;
    char out;

    gh_mint_claims_time(c, "iat", 0);
    tok = gh_fixture_token(fx, c);
    snprintf(url, sizeof(url), "%s/v1/authorize", gh_proc_url(scim_client_proc()));
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    snprintf(body, sizeof(body), "{\"dataset\":\"%s\",\"action\":\"%s\"}", dataset, action);
    ck_assert_int_eq(gh_http("POST", url, hdrs, body, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    j = cJSON_Parse(r.body);
    out = cJSON_IsTrue(cJSON_GetObjectItem(j, "allowed")) ? 't' : 'f';
    cJSON_Delete(j);
    gh_http_resp_free(&r);
    free(tok);
    return out;
}

static char authzen_plain(const char *subject_id, const char *dataset, const char *action)
{
    char body[1024];
    struct zres z;
    char out;
    snprintf(body, sizeof(body),
             "{\"subject\":{\"type\":\"user\",\"id\":\"%s\"},\"resource\":{\"type\":"
             "\"dataset\",\"id\":\"%s\"},\"action\":{\"name\":\"%s\"}}",
             subject_id, dataset, action);
    z = zcall(EVAL, body);
    ck_assert_int_eq(z.status, 200);
    out = cJSON_IsTrue(cJSON_GetObjectItem(z.json, "decision")) ? 't' : 'f';
    zres_free(&z);
    return out;
}

/* The AuthZEN decision for a user named by id, externalId or userName is the one /v1/authorize
 * gives that user's fresh token (authz_subject_decide shares its path), through membership
 * changes; an identifier naming two different users is refused. */
START_TEST(agrees_with_authorize_and_refuses_ambiguity)
{
    static const char *const checks[][2] = {{"payroll", "unprotect"},
                                            {"payroll", "protect"},
                                            {"directory", "protect"},
                                            {"directory", "unprotect"},
                                            {"other", "protect"}};
    char body[1024];

    zfx_start_with(NULL);
    for (int round = 0; round < 2; round++) {
        if (round == 1)
            provision();
        for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
            char want = authorize_fresh(checks[i][0], checks[i][1]);
            ck_assert_int_eq(authzen_plain(UPN, checks[i][0], checks[i][1]), want);
            ck_assert_int_eq(authzen_plain(OID, checks[i][0], checks[i][1]), want);
            if (uid != NULL)
                ck_assert_int_eq(authzen_plain(uid, checks[i][0], checks[i][1]), want);
        }
    }
    /* another user whose externalId is alice's userName: "alice@..." now names two users */
    snprintf(body, sizeof(body),
             "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"externalId\":"
             "\"%s\",\"userName\":\"mallory@contoso.example\",\"active\":true}",
             UPN);
    free(scim_create("/scim/v2/Users", body));
    free(expect_reason(UPN, DS("directory"), "protect", false, "names more than one SCIM user"));
    /* by her SCIM id or externalId alice is still one user */
    ck_assert_int_eq(authzen_plain(uid, "payroll", "unprotect"), 't');
    ck_assert_int_eq(authzen_plain(OID, "payroll", "unprotect"), 't');
    zfx_stop();
}
END_TEST

/* 400 with a JSON error for what the spec calls a bad request; nothing decided. */
START_TEST(malformed_requests)
{
    static const struct {
        const char *path, *body, *want;
    } cases[] = {
        {EVAL, "not json", "JSON"},
        {EVAL, "[]", "JSON object"},
        {EVAL, "{" DS("payroll") "," ACT("protect") "}", "subject is required"},
        {EVAL, "{" SUBJ(UPN) "," ACT("protect") "}", "resource is required"},
        {EVAL, "{" SUBJ(UPN) "," DS("payroll") "}", "action is required"},
        {EVAL, "{\"subject\":{\"type\":\"user\",\"id\":7}," DS("payroll") "," ACT("protect") "}",
         "subject.id must be a non-empty string"},
        {EVAL, "{\"subject\":{\"id\":\"a\"}," DS("payroll") "," ACT("protect") "}", "subject.type"},
        {EVAL, "{\"subject\":\"alice\"," DS("payroll") "," ACT("protect") "}",
         "subject must be an object"},
        {EVAL, "{" SUBJ(UPN) "," DS("payroll") ",\"action\":{\"name\":\"\"}}", "action.name"},
        {EVAL, "{" SUBJ(UPN) "," DS("payroll") "," ACT("protect") ",\"context\":[]}",
         "context must be an object"},
        {EVAL,
         "{\"subject\":{\"type\":\"user\",\"id\":\"a\",\"properties\":1}," DS("payroll") "," ACT(
             "protect") "}",
         "subject.properties must be an object"},
        {EVAL,
         "{" SUBJ(UPN) "," DS("payroll") "," ACT("protect") ",\"options\":"
                                                            "{\"gatehouse_context\":\"yes\"}}",
         "gatehouse_context must be a boolean"},
        {EVALS, "{" SUBJ(UPN) "," ACT("protect") ",\"evaluations\":{}}",
         "evaluations must be an array"},
        {EVALS, "{" SUBJ(UPN) "," ACT("protect") ",\"evaluations\":[{" DS("a") "},{}]}",
         "evaluations[1] has no resource and there is no top-level resource"},
        {EVALS, "{" SUBJ(UPN) "," ACT("protect") ",\"evaluations\":[{" DS("a") "},3]}",
         "evaluations[1] must be an object"},
        {EVALS,
         "{" SUBJ(UPN) "," ACT("protect") ",\"evaluations\":[{" DS("a") ",\"subject\":"
                                                                        "{\"type\":\"user\"}}]}",
         "evaluations[0].subject.id"},
        {EVALS,
         "{" SUBJ(UPN) "," ACT("protect") ",\"options\":{\"evaluations_semantic\":"
                                          "\"first\"},\"evaluations\":[{" DS("a") "}]}",
         "evaluations_semantic must be"},
        {EVALS, "{" SUBJ(UPN) "," ACT("protect") ",\"options\":[],\"evaluations\":[{" DS("a") "}]}",
         "options must be an object"},
        /* duplicate member names are refused (I-JSON, §JSON Payload Considerations) */
        {EVAL, "{" SUBJ(UPN) "," SUBJ("bob") "," DS("payroll") "," ACT("protect") "}", "twice"},
    };
    zfx_start_with(NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct zres z = zcall_h("POST", cases[i].path, PEP_AUTH, cases[i].body, false, NULL);
        const cJSON *msg = cJSON_GetObjectItem(z.json, "message");
        ck_assert_msg(z.status == 400, "case %zu: %ld %s", i, z.status, z.raw);
        ck_assert_msg(cJSON_IsString(cJSON_GetObjectItem(z.json, "error")) && cJSON_IsString(msg) &&
                          strstr(msg->valuestring, cases[i].want) != NULL,
                      "case %zu: %s lacks \"%s\"", i, z.raw, cases[i].want);
        zres_free(&z);
    }
    /* more than GH_CAP_AUTHZ_CHECKS evaluations */
    {
        size_t cap = 64 * 1024, used = 0;
        char *big = gh_xmalloc(cap);
        used += (size_t)snprintf(big, cap, "{" SUBJ(UPN) "," ACT("protect") ",\"evaluations\":[");
        for (int i = 0; i < 101; i++)
            used += (size_t)snprintf(big + used, cap - used, "%s{" DS("d") "}", i ? "," : "");
        snprintf(big + used, cap - used, "]}");
        struct zres z = zcall_h("POST", EVALS, PEP_AUTH, big, false, NULL);
        ck_assert_msg(z.status == 400 && strstr(z.raw, "at most 100") != NULL, "%s", z.raw);
        zres_free(&z);
        free(big);
    }
    /* GET on an evaluation endpoint: 405 in the same JSON shape */
    {
        struct zres z = zcall_h("GET", EVAL, PEP_AUTH, NULL, false, NULL);
        ck_assert_int_eq(z.status, 405);
        zres_free(&z);
    }
    zfx_stop();
}
END_TEST

/* An app-only token (no scp, idtyp app) with `role` (NULL: no roles claim). */
static char *app_token(const char *role)
{
    cJSON *c = gh_fixture_claims(fx);
    cJSON_DeleteItemFromObject(c, "scp");
    cJSON_DeleteItemFromObject(c, "preferred_username");
    cJSON_DeleteItemFromObject(c, "name");
    cJSON_AddStringToObject(c, "idtyp", "app");
    if (role != NULL) {
        cJSON *roles = cJSON_AddArrayToObject(c, "roles");
        cJSON_AddItemToArray(roles, cJSON_CreateString("Other.Role"));
        cJSON_AddItemToArray(roles, cJSON_CreateString(role));
    }
    return gh_fixture_token(fx, c);
}

/* The PEP's credential, checked before the body: the secret, an app-only token with the role;
 * 401 with an RFC 6750 challenge otherwise, 403 for a valid token without the role or for a
 * user's (delegated) token. */
START_TEST(pep_credentials)
{
    const char *body = "{" SUBJ(UPN) "," DS("directory") "," ACT("protect") "}";
    char auth[8192], *tok;
    struct zres z;

    zfx_start_with(NULL);
    provision();
    /* none */
    z = zcall_h("POST", EVAL, "", body, false, NULL);
    ck_assert_int_eq(z.status, 401);
    ck_assert_msg(strncmp(z.www_auth, "Bearer realm=\"gatehouse\"", 24) == 0 &&
                      strstr(z.www_auth, "error=") == NULL,
                  "%s", z.www_auth);
    zres_free(&z);
    /* a wrong secret */
    z = zcall_h("POST", EVAL, "Authorization: Bearer wrong-secret-0123456789abcdef", body, false,
                NULL);
    ck_assert_int_eq(z.status, 401);
    ck_assert_msg(strstr(z.www_auth, "error=\"invalid_token\"") != NULL, "%s", z.www_auth);
    zres_free(&z);
    /* the SCIM secret is not the PEP's */
    z = zcall_h("POST", EVAL, SCIM_AUTH, body, false, NULL);
    ck_assert_int_eq(z.status, 401);
    zres_free(&z);
    /* an app-only token with the role */
    tok = app_token(ROLE);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    free(tok);
    z = zcall_h("POST", EVAL, auth, body, true, NULL);
    ck_assert_msg(z.status == 200 && strcmp(z.raw, "{\"decision\":true}") == 0, "%ld %s", z.status,
                  z.raw);
    zres_free(&z);
    z = zcall_h("POST", EVALS, auth, body, true, NULL);
    ck_assert_int_eq(z.status, 200);
    zres_free(&z);
    /* ... without it: 403 insufficient_scope */
    tok = app_token("Other.Only");
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    free(tok);
    z = zcall_h("POST", EVAL, auth, body, false, NULL);
    ck_assert_msg(z.status == 403 && strstr(z.www_auth, "insufficient_scope") != NULL, "%ld %s",
                  z.status, z.www_auth);
    zres_free(&z);
    tok = app_token(NULL);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    free(tok);
    z = zcall_h("POST", EVAL, auth, body, false, NULL);
    ck_assert_int_eq(z.status, 403);
    zres_free(&z);
    /* a user's delegated token (scp), even with the role in it: refused */
    {
        cJSON *c = gh_fixture_claims(fx);
        cJSON *roles = cJSON_AddArrayToObject(c, "roles");
        cJSON_AddItemToArray(roles, cJSON_CreateString(ROLE));
        tok = gh_fixture_token(fx, c);
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        free(tok);
        z = zcall_h("POST", EVAL, auth, body, false, NULL);
        ck_assert_msg(z.status == 403 && strstr(z.raw, "delegated") != NULL, "%ld %s", z.status,
                      z.raw);
        zres_free(&z);
    }
    /* an app token with idtyp "user" is not app-only */
    {
        cJSON *c = gh_fixture_claims(fx);
        cJSON_DeleteItemFromObject(c, "scp");
        cJSON_AddStringToObject(c, "idtyp", "user");
        cJSON *roles = cJSON_AddArrayToObject(c, "roles");
        cJSON_AddItemToArray(roles, cJSON_CreateString(ROLE));
        tok = gh_fixture_token(fx, c);
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        free(tok);
        z = zcall_h("POST", EVAL, auth, body, false, NULL);
        ck_assert_int_eq(z.status, 403);
        zres_free(&z);
    }
    /* an expired app token: 401 invalid_token */
    {
        cJSON *c = gh_fixture_claims(fx);
        cJSON_DeleteItemFromObject(c, "scp");
        cJSON *roles = cJSON_AddArrayToObject(c, "roles");
        cJSON_AddItemToArray(roles, cJSON_CreateString(ROLE));
        gh_mint_claims_time(c, "exp", -3600);
        tok = gh_fixture_token(fx, c);
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        free(tok);
        z = zcall_h("POST", EVAL, auth, body, false, NULL);
        ck_assert_msg(z.status == 401 && strstr(z.www_auth, "invalid_token") != NULL, "%ld %s",
                      z.status, z.www_auth);
        zres_free(&z);
    }
    /* the credential is checked before the body is read: an unauthenticated oversized body is
     * refused with 401, not 413 */
    {
        char *big = gh_xmalloc(300 * 1024);
        memset(big, ' ', 300 * 1024 - 1);
        big[300 * 1024 - 1] = '\0';
        z = zcall_h("POST", EVAL, "", big, false, NULL);
        ck_assert_int_eq(z.status, 401);
        zres_free(&z);
        z = zcall_h("POST", EVAL, PEP_AUTH, big, false, NULL);
        ck_assert_int_eq(z.status, 413);
        zres_free(&z);
        free(big);
    }
    zfx_stop();
}
END_TEST

/* §PDP Metadata: public; from the request's Host (checked) without GATEHOUSE_PUBLIC_URL, from
 * the setting with it. A daemon without PEP credentials configured refuses every evaluation;
 * GATEHOUSE_AUTHZEN_REASONS=1 adds context to every decision. */
START_TEST(metadata_and_settings)
{
    char want[256];
    struct zres z;

    zfx_start_with(NULL);
    z = zcall_h("GET", "/.well-known/authzen-configuration", "", NULL, false, NULL);
    ck_assert_int_eq(z.status, 200);
    snprintf(want, sizeof(want), "%s", gh_proc_url(scim_client_proc()));
    ck_assert_str_eq(cJSON_GetObjectItem(z.json, "policy_decision_point")->valuestring, want);
    snprintf(want, sizeof(want), "%s" EVAL, gh_proc_url(scim_client_proc()));
    ck_assert_str_eq(cJSON_GetObjectItem(z.json, "access_evaluation_endpoint")->valuestring, want);
    snprintf(want, sizeof(want), "%s" EVALS, gh_proc_url(scim_client_proc()));
    ck_assert_str_eq(cJSON_GetObjectItem(z.json, "access_evaluations_endpoint")->valuestring, want);
    zres_free(&z);
    /* a Host that is not a plain host[:port] is refused, not reflected */
    z = zcall_h("GET", "/.well-known/authzen-configuration", "", NULL, false,
                "Host: evil.example/x?");
    ck_assert_msg(z.status == 400 && strstr(z.raw, "GATEHOUSE_PUBLIC_URL") != NULL, "%ld %s",
                  z.status, z.raw);
    zres_free(&z);
    z = zcall_h("GET", "/.well-known/authzen-configuration", "", NULL, false,
                "Host: pdp.example.test:8443");
    ck_assert_str_eq(cJSON_GetObjectItem(z.json, "policy_decision_point")->valuestring,
                     "http://pdp.example.test:8443");
    zres_free(&z);
    zfx_stop();

    {
        const char *extra[] = {"GATEHOUSE_PUBLIC_URL=https://pdp.example.test",
                               "GATEHOUSE_AUTHZEN_REASONS=1", NULL};
        zfx_start_with(extra);
    }
    z = zcall_h("GET", "/.well-known/authzen-configuration", "", NULL, false, "Host: evil.example");
    ck_assert_int_eq(z.status, 200);
    ck_assert_str_eq(cJSON_GetObjectItem(z.json, "policy_decision_point")->valuestring,
                     "https://pdp.example.test");
    ck_assert_str_eq(cJSON_GetObjectItem(z.json, "access_evaluations_endpoint")->valuestring,
                     "https://pdp.example.test/access/v1/evaluations");
    schema_note("metadata", z.raw);
    zres_free(&z);
    fputs("{\"schema\":\"metadata\",\"valid\":false,\"doc\":{\"policy_decision_point\":"
          "\"http://x\",\"access_evaluation_endpoint\":\"http://x/access/v1/evaluation\"}}\n",
          schema_log);
    /* reasons always on */
    z = zcall(EVAL, "{" SUBJ(UPN) "," DS("directory") "," ACT("protect") "}");
    ck_assert_msg(z.status == 200 && cJSON_IsString(cJSON_GetObjectItem(
                                         cJSON_GetObjectItem(z.json, "context"), "reason")),
                  "%s", z.raw);
    zres_free(&z);
    zfx_stop();

    /* no PEP credential configured: closed */
    fx = scim_e2e_fixture_start(&(struct gh_fixture_opts){.scim_token = SCIM_TOKEN});
    {
        char url[512];
        struct gh_http_resp r;
        const char *hdrs[] = {PEP_AUTH, "X-Request-ID: " REQ_ID, NULL};
        char id[64];
        snprintf(url, sizeof(url), "%s" EVAL, gh_proc_url(scim_client_proc()));
        ck_assert_int_eq(
            gh_http("POST", url, hdrs, "{" SUBJ(UPN) "," DS("d") "," ACT("protect") "}", NULL, &r),
            0);
        ck_assert_int_eq(r.status, 401);
        ck_assert_ptr_nonnull(strstr(r.body, "no PEP credential is configured"));
        ck_assert_str_eq(gh_http_resp_header(&r, "X-Request-ID", id, sizeof(id)), REQ_ID);
        gh_http_resp_free(&r);
    }
    scim_e2e_fixture_stop(fx);
}
END_TEST

Suite *authzen_suite(void)
{
    Suite *s = suite_create("authzen");
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, single_evaluation_subjects_and_context);
    tcase_add_test(tc, batch_semantics);
    tcase_add_test(tc, resources_and_unknown_types);
    tcase_add_test(tc, malformed_requests);
    tcase_add_test(tc, pep_credentials);
    tcase_add_test(tc, metadata_and_settings);
    tcase_add_test(tc, agrees_with_authorize_and_refuses_ambiguity);
    suite_add_tcase(s, tc);
    return s;
}
