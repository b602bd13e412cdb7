/*
 * test_authzen.c - the AuthZEN 1.0 request body (authz_authzen_body_parse): one evaluation,
 * evaluations with top-level defaults and overrides, options, and every malformed shape the
 * handler answers 400, as {body, expected} tables. Bodies go through gh_json_parse first, as
 * gh_req_json reads them.
 */
#include "authz/authzen_int.h"
#include "core/core.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUBJ(id)  "\"subject\":{\"type\":\"user\",\"id\":\"" id "\"}"
#define DS(id)    "\"resource\":{\"type\":\"dataset\",\"id\":\"" id "\"}"
#define ACT(name) "\"action\":{\"name\":\"" name "\"}"

/* Parse body for the endpoint; *out_json is the caller's (cJSON_Delete). */
static enum gh_status parse(struct gh_arena *a, const char *body, bool evaluations,
                            struct authz_authzen_request *out, cJSON **out_json, struct gh_err *err)
{
    enum gh_status st = gh_json_parse(body, strlen(body), 0, "body", out_json, err);
    if (st)
        return st;
    return authz_authzen_body_parse(a, *out_json, evaluations, out, err);
}

/* Accepted bodies: how many evaluations, batch or not, the semantic and context flag, and the
 * evaluations as "subject_type:subject_id resource_type:resource_id action" joined by "|". */
START_TEST(accepted_bodies)
{
    static const struct {
        bool evaluations;
        const char *body;
        bool batch;
        enum authz_authzen_semantic semantic;
        bool want_context;
        const char *evals;
    } cases[] = {
        {false, "{" SUBJ("a") "," DS("d") "," ACT("protect") "}", false, AUTHZ_AUTHZEN_EXECUTE_ALL,
         false, "user:a dataset:d protect"},
        /* unknown members are ignored (§JSON Serialization), evaluations too on /evaluation */
        {false,
         "{" SUBJ("a") "," DS("d") "," ACT("protect") ",\"x\":1,\"evaluations\":7,\"context\":"
                                                      "{\"t\":[]}}",
         false, AUTHZ_AUTHZEN_EXECUTE_ALL, false, "user:a dataset:d protect"},
        {false,
         "{\"subject\":{\"type\":\"identity\",\"id\":\"u\",\"properties\":{\"k\":null}},"
         "\"resource\":{\"type\":\"route\",\"id\":\"/p\",\"properties\":{}},"
         "\"action\":{\"name\":\"GET\",\"properties\":{\"m\":1}},\"options\":"
         "{\"gatehouse_context\":true}}",
         false, AUTHZ_AUTHZEN_EXECUTE_ALL, true, "identity:u route:/p GET"},
        /* /evaluations without (or with an empty) array: one evaluation */
        {true, "{" SUBJ("a") "," DS("d") "," ACT("protect") "}", false, AUTHZ_AUTHZEN_EXECUTE_ALL,
         false, "user:a dataset:d protect"},
        {true, "{" SUBJ("a") "," DS("d") "," ACT("protect") ",\"evaluations\":[]}", false,
         AUTHZ_AUTHZEN_EXECUTE_ALL, false, "user:a dataset:d protect"},
        /* defaults and overrides (§Default values) */
        {true,
         "{" SUBJ("a") "," ACT("read") ",\"evaluations\":[{" DS("1") "},{" DS("2") "," ACT(
             "edit") "},{" SUBJ("b") "," DS("3") "}]}",
         true, AUTHZ_AUTHZEN_EXECUTE_ALL, false,
         "user:a dataset:1 read|user:a dataset:2 edit|user:b dataset:3 read"},
        /* no defaults at all */
        {true,
         "{\"evaluations\":[{" SUBJ("a") "," DS("1") "," ACT("x") "},{" SUBJ("b") "," DS(
             "2") "," ACT("y") "}],\"options\":{\"evaluations_semantic\":\"deny_on_first_deny\"}}",
         true, AUTHZ_AUTHZEN_DENY_ON_FIRST_DENY, false, "user:a dataset:1 x|user:b dataset:2 y"},
        {true,
         "{" SUBJ("a") "," DS("d") ",\"options\":{\"evaluations_semantic\":"
                                   "\"permit_on_first_permit\",\"gatehouse_context\":false,"
                                   "\"other\":1},\"evaluations\":"
                                   "[{" ACT("protect") "}]}",
         true, AUTHZ_AUTHZEN_PERMIT_ON_FIRST_PERMIT, false, "user:a dataset:d protect"},
        {true,
         "{" SUBJ("a") "," DS("d") "," ACT(
             "p") ",\"options\":{\"evaluations_semantic\":\"execute_all\"},\"evaluations\":[{}]}",
         true, AUTHZ_AUTHZEN_EXECUTE_ALL, false, "user:a dataset:d p"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gh_arena *a = gh_arena_new();
        struct authz_authzen_request req;
        struct gh_err err = {0};
        cJSON *json = NULL;
        char got[512] = "";
        size_t used = 0;

        ck_assert_msg(parse(a, cases[i].body, cases[i].evaluations, &req, &json, &err) == GH_OK,
                      "case %zu: %s", i, err.msg);
        ck_assert_msg(req.batch == cases[i].batch, "case %zu: batch", i);
        ck_assert_int_eq(req.semantic, cases[i].semantic);
        ck_assert_msg(req.want_context == cases[i].want_context, "case %zu: context", i);
        for (size_t k = 0; k < req.n; k++) {
            const struct authz_authzen_eval *e = &req.evals[k];
            used += (size_t)snprintf(got + used, sizeof(got) - used, "%s%s:%s %s:%s %s",
                                     k ? "|" : "", e->subject_type, e->subject_id, e->resource_type,
                                     e->resource_id, e->action);
            ck_assert_uint_lt(used, sizeof(got));
        }
        ck_assert_msg(strcmp(got, cases[i].evals) == 0, "case %zu: %s, want %s", i, got,
                      cases[i].evals);
        cJSON_Delete(json);
        gh_arena_free(a);
    }
}
END_TEST

/* Refused bodies: GH_E_INVALID naming what is wrong. */
START_TEST(refused_bodies)
{
    static const struct {
        bool evaluations;
        const char *body, *want;
    } cases[] = {
        {false, "[]", "JSON object"},
        {false, "\"x\"", "JSON object"},
        {false, "{" DS("d") "," ACT("p") "}", "subject is required"},
        {false, "{" SUBJ("a") "," ACT("p") "}", "resource is required"},
        {false, "{" SUBJ("a") "," DS("d") "}", "action is required"},
        {false, "{\"subject\":null," DS("d") "," ACT("p") "}", "subject must be an object"},
        {false, "{\"subject\":{\"type\":\"user\"}," DS("d") "," ACT("p") "}", "subject.id"},
        {false, "{\"subject\":{\"type\":\"user\",\"id\":\"\"}," DS("d") "," ACT("p") "}",
         "subject.id must be a non-empty string"},
        {false, "{\"subject\":{\"type\":1,\"id\":\"a\"}," DS("d") "," ACT("p") "}", "subject.type"},
        {false, "{" SUBJ("a") ",\"resource\":{\"id\":\"d\"}," ACT("p") "}", "resource.type"},
        {false, "{" SUBJ("a") "," DS("d") ",\"action\":{}}", "action.name"},
        {false, "{" SUBJ("a") "," DS("d") ",\"action\":\"p\"}", "action must be an object"},
        {false, "{" SUBJ("a") "," DS("d") ",\"action\":{\"name\":\"p\",\"properties\":[]}}",
         "action.properties must be an object"},
        {false, "{" SUBJ("a") "," DS("d") "," ACT("p") ",\"context\":\"now\"}",
         "context must be an object"},
        {false, "{" SUBJ("a") "," DS("d") "," ACT("p") ",\"options\":true}",
         "options must be an object"},
        {false, "{" SUBJ("a") "," DS("d") "," ACT("p") ",\"options\":{\"gatehouse_context\":1}}",
         "gatehouse_context must be a boolean"},
        {true, "{" SUBJ("a") "," DS("d") "," ACT("p") ",\"evaluations\":{}}",
         "evaluations must be an array"},
        {true, "{" SUBJ("a") "," DS("d") "," ACT("p") ",\"evaluations\":null}",
         "evaluations must be an array"},
        {true, "{" SUBJ("a") "," ACT("p") ",\"evaluations\":[{" DS("1") "},{}]}",
         "evaluations[1] has no resource and there is no top-level resource"},
        {true, "{" SUBJ("a") "," DS("d") "," ACT("p") ",\"evaluations\":[[]]}",
         "evaluations[0] must be an object"},
        {true,
         "{" SUBJ("a") "," DS("d") "," ACT(
             "p") ",\"evaluations\":[{\"resource\":{\"type\":\"x\",\"id\":5}}]}",
         "evaluations[0].resource.id"},
        {true, "{" SUBJ("a") "," DS("d") "," ACT("p") ",\"evaluations\":[{\"context\":1}]}",
         "evaluations[0].context must be an object"},
        /* a top-level default must be well-formed even where every item overrides it */
        {true,
         "{\"subject\":{\"type\":\"user\"}," DS("d") "," ACT("p") ",\"evaluations\":[{" SUBJ(
             "b") "}]}",
         "subject.id"},
        {true,
         "{" SUBJ("a") "," DS("d") "," ACT(
             "p") ",\"options\":{\"evaluations_semantic\":\"all\"},\"evaluations\":[{}]}",
         "evaluations_semantic must be"},
        {true,
         "{" SUBJ("a") "," DS("d") "," ACT(
             "p") ",\"options\":{\"evaluations_semantic\":1},\"evaluations\":[{}]}",
         "evaluations_semantic must be"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gh_arena *a = gh_arena_new();
        struct authz_authzen_request req;
        struct gh_err err = {0};
        cJSON *json = NULL;

        ck_assert_msg(parse(a, cases[i].body, cases[i].evaluations, &req, &json, &err) ==
                          GH_E_INVALID,
                      "case %zu accepted", i);
        ck_assert_msg(strstr(err.msg, cases[i].want) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
                      err.msg, cases[i].want);
        cJSON_Delete(json);
        gh_arena_free(a);
    }
}
END_TEST

/* Caps: 100 evaluations pass, 101 do not; an id of AUTHZ_AUTHZEN_STR_MAX bytes passes, one more
 * does not. */
START_TEST(caps)
{
    size_t cap = 64 * 1024, used;
    char *body = malloc(cap), *id = malloc(AUTHZ_AUTHZEN_STR_MAX + 2);
    struct gh_err err = {0};

    ck_assert_ptr_nonnull(body);
    ck_assert_ptr_nonnull(id);
    for (int total = GH_CAP_AUTHZ_CHECKS; total <= GH_CAP_AUTHZ_CHECKS + 1; total++) {
        struct gh_arena *a = gh_arena_new();
        struct authz_authzen_request req;
        cJSON *json = NULL;
        used = (size_t)snprintf(body, cap, "{" SUBJ("a") "," ACT("p") ",\"evaluations\":[");
        for (int i = 0; i < total; i++)
            used += (size_t)snprintf(body + used, cap - used, "%s{" DS("d") "}", i ? "," : "");
        snprintf(body + used, cap - used, "]}");
        gh_err_clear(&err);
        ck_assert_int_eq(parse(a, body, true, &req, &json, &err),
                         total <= GH_CAP_AUTHZ_CHECKS ? GH_OK : GH_E_INVALID);
        if (total <= GH_CAP_AUTHZ_CHECKS)
            ck_assert_uint_eq(req.n, (size_t)total);
        cJSON_Delete(json);
        gh_arena_free(a);
    }
    for (size_t len = AUTHZ_AUTHZEN_STR_MAX; len <= AUTHZ_AUTHZEN_STR_MAX + 1; len++) {
        struct gh_arena *a = gh_arena_new();
        struct authz_authzen_request req;
        cJSON *json = NULL;
        memset(id, 'x', len);
        id[len] = '\0';
        snprintf(body, cap,
                 "{\"subject\":{\"type\":\"user\",\"id\":\"%s\"}," DS("d") "," ACT("p") "}", id);
        gh_err_clear(&err);
        ck_assert_int_eq(parse(a, body, false, &req, &json, &err),
                         len <= AUTHZ_AUTHZEN_STR_MAX ? GH_OK : GH_E_INVALID);
        cJSON_Delete(json);
        gh_arena_free(a);
    }
    free(id);
    free(body);
}
END_TEST

START_TEST(semantic_names)
{
    ck_assert_str_eq(authz_authzen_semantic_name(AUTHZ_AUTHZEN_EXECUTE_ALL), "execute_all");
    ck_assert_str_eq(authz_authzen_semantic_name(AUTHZ_AUTHZEN_DENY_ON_FIRST_DENY),
                     "deny_on_first_deny");
    ck_assert_str_eq(authz_authzen_semantic_name(AUTHZ_AUTHZEN_PERMIT_ON_FIRST_PERMIT),
                     "permit_on_first_permit");
}
END_TEST

Suite *authzen_body_suite(void)
{
    Suite *s = suite_create("authzen_body");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, accepted_bodies);
    tcase_add_test(tc, refused_bodies);
    tcase_add_test(tc, caps);
    tcase_add_test(tc, semantic_names);
    suite_add_tcase(s, tc);
    return s;
}
