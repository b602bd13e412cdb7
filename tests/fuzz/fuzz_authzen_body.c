/*
 * fuzz_authzen_body.c - the AuthZEN 1.0 request body (authz_authzen_body_parse) as both
 * /access/v1/evaluation and /access/v1/evaluations read it, parsed first as gh_req_json parses
 * it; each accepted evaluation then goes where the handler sends it: a dataset through
 * policy_action_parse and authz_decide with fixed facts, a route through authz_path_normal and
 * a fixed policy's route rules.
 * Invariants checked: an accepted body has 1..GH_CAP_AUTHZ_CHECKS evaluations whose strings are
 * non-empty and at most AUTHZ_AUTHZEN_STR_MAX bytes; only /evaluations answers a batch; the
 * single endpoint accepts whatever the batch endpoint accepts without an evaluations array; a
 * decision always has a reason; a rejected body fails with GH_E_INVALID and a message.
 */
#include "authz/authz.h"
#include "authz/authzen_int.h"
#include "authz/decide.h"
#include "sidecar/gatehouse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_policy[] =
    "{\"access_groups\":[],\"routes\":[{\"method\":\"GET\",\"path_prefix\":\"/payroll\","
    "\"dataset\":\"payroll\",\"action\":\"unprotect\"},{\"path_prefix\":\"/\",\"dataset\":"
    "\"directory\",\"action\":\"protect\"}]}";

static void fuzz_eval(const struct authz_authzen_eval *e, const struct policy_doc *doc)
{
    static const struct policy_grant grants[] = {{"payroll", POLICY_ACTION_UNPROTECT}};
    const struct authz_facts facts = {.provisioned = true,
                                      .active = true,
                                      .user_name = "ada@contoso.com",
                                      .defaults = grants,
                                      .ndefaults = 1};
    const char *strs[] = {e->subject_type, e->subject_id, e->resource_type, e->resource_id,
                          e->action};
    enum policy_action act;
    struct authz_result r;

    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        GH_ASSERT(strs[i] != NULL && strs[i][0] != '\0' &&
                  strlen(strs[i]) <= AUTHZ_AUTHZEN_STR_MAX);
    if (strcmp(e->resource_type, "dataset") == 0 &&
        policy_action_parse(e->action, &act, NULL) == GH_OK) {
        authz_decide(&facts, 1700000000, e->resource_id, act, &r);
        GH_ASSERT(r.reason[0] != '\0' && strlen(r.reason) < sizeof(r.reason));
    } else if (strcmp(e->resource_type, "route") == 0 && authz_path_normal(e->resource_id)) {
        const struct policy_route *rt = policy_doc_route_match(doc, e->action, e->resource_id);
        GH_ASSERT(rt == NULL || rt->dataset != NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct policy_doc *doc;
    /* all size bytes, NUL bytes included (gh_xstrndup would stop at the first; a request body
     * can hold them), then a terminator as gh_req_body gives one */
    char *s = gh_xmalloc(size + 1);
    cJSON *json = NULL;

    memcpy(s, data, size);
    s[size] = '\0';

    if (doc == NULL)
        GH_ASSERT(policy_doc_parse(fuzz_policy, sizeof(fuzz_policy) - 1, &doc, NULL) == GH_OK);
    /* the same strict parse the routes use (gh_req_json) */
    if (gh_json_parse(s, size, 0, "body", &json, NULL) == GH_OK) {
        struct authz_authzen_request req[2];
        enum gh_status st[2];
        for (int evaluations = 0; evaluations < 2; evaluations++) {
            struct gh_arena *a = gh_arena_new();
            struct gh_err err = {0};
            st[evaluations] =
                authz_authzen_body_parse(a, json, evaluations != 0, &req[evaluations], &err);
            if (st[evaluations] == GH_OK) {
                const struct authz_authzen_request *q = &req[evaluations];
                GH_ASSERT(q->n >= 1 && q->n <= GH_CAP_AUTHZ_CHECKS);
                GH_ASSERT(evaluations || !q->batch);
                GH_ASSERT(q->batch || q->n == 1);
                GH_ASSERT(q->semantic <= AUTHZ_AUTHZEN_PERMIT_ON_FIRST_PERMIT);
                for (size_t i = 0; i < q->n; i++)
                    fuzz_eval(&q->evals[i], doc);
            } else {
                GH_ASSERT(st[evaluations] == GH_E_INVALID && err.msg[0] != '\0');
            }
            gh_arena_free(a);
        }
        /* a body /evaluations reads as one evaluation is one /evaluation reads the same way */
        if (st[1] == GH_OK && !req[1].batch)
            GH_ASSERT(st[0] == GH_OK);
        cJSON_Delete(json);
    }
    free(s);
    return 0;
}
