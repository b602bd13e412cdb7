/*
 * fuzz_authorize_body.c - the POST /v1/authorize body (authz_authorize_body_parse): one
 * {"dataset","action"} check or {"checks":[...]}, then each check through authz_decide with
 * fixed facts and the reply's JSON writer (gh_buf_cat_json) as the handler uses them.
 * The input is the request body, parsed as gh_req_json parses it.
 * Invariants checked: an accepted body has 1..GH_CAP_AUTHZ_CHECKS checks, each with a non-empty
 * dataset of at most 256 bytes and a known action; the written reply parses back to the same
 * datasets; a decision always has a reason; a rejected body fails with GH_E_INVALID.
 */
#include "authz/authz.h"
#include "authz/decide.h"
#include "sidecar/gatehouse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_reply_roundtrip(const struct authz_check *c)
{
    struct gh_buf b;
    enum gh_status st = GH_OK;
    cJSON *back;

    gh_buf_init(&b, SIZE_MAX / 2);
    gh_buf_cat(&b, &st, "{\"dataset\":");
    gh_buf_cat_json(&b, &st, c->dataset);
    gh_buf_cat(&b, &st, ",\"action\":");
    gh_buf_cat_json(&b, &st, policy_action_name(c->action));
    gh_buf_cat(&b, &st, "}");
    GH_ASSERT(st == GH_OK);
    back = cJSON_Parse(gh_buf_str(&b));
    GH_ASSERT(back != NULL);
    GH_ASSERT(strcmp(cJSON_GetObjectItem(back, "dataset")->valuestring, c->dataset) == 0);
    cJSON_Delete(back);
    gh_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct policy_grant grants[] = {{"payroll", POLICY_ACTION_UNPROTECT},
                                                 {"directory", POLICY_ACTION_PROTECT}};
    const struct policy_group group = {"Payroll Analysts", "payroll analysts",
                                       (struct policy_grant *)grants, 1, POLICY_SOURCE_FILE};
    const struct authz_membership mem = {&group, "Payroll Analysts", 1600000000};
    const struct authz_facts facts = {
        .provisioned = true,
        .active = true,
        .user_name = "ada@contoso.com",
        .memberships = &mem,
        .nmemberships = 1,
        .defaults = &grants[1],
        .ndefaults = 1,
    };
    /* a copy of every byte (NULs included: the body is size bytes, as gh_req_json sees it) */
    char *s = gh_xmalloc(size + 1);
    struct gh_arena *a = gh_arena_new();
    struct authz_check *checks = NULL;
    struct gh_err err = {0};
    size_t n = 0;
    cJSON *json;

    memcpy(s, data, size);
    s[size] = '\0';
    /* the same strict parse the route uses (gh_req_json) */
    if (gh_json_parse(s, size, 0, "body", &json, NULL) != GH_OK)
        goto out;
    if (authz_authorize_body_parse(a, json, &checks, &n, &err) == GH_OK) {
        GH_ASSERT(n >= 1 && n <= GH_CAP_AUTHZ_CHECKS);
        for (size_t i = 0; i < n; i++) {
            struct authz_result r;
            GH_ASSERT(checks[i].dataset != NULL && checks[i].dataset[0] != '\0');
            GH_ASSERT(strlen(checks[i].dataset) <= 256);
            GH_ASSERT(checks[i].action == POLICY_ACTION_PROTECT ||
                      checks[i].action == POLICY_ACTION_UNPROTECT);
            authz_decide(&facts, 1700000000, checks[i].dataset, checks[i].action, &r);
            GH_ASSERT(r.reason[0] != '\0' && strlen(r.reason) < sizeof(r.reason));
            fuzz_reply_roundtrip(&checks[i]);
        }
    } else {
        GH_ASSERT(err.status == GH_E_INVALID && err.msg[0] != '\0');
    }
    cJSON_Delete(json);
out:
    gh_arena_free(a);
    free(s);
    return 0;
}
