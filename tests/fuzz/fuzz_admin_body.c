/*
 * fuzz_admin_body.c - the admin API's access-group body, POST /admin/v1/access-groups
 * (policy_group_body_parse: {"name","grants","description"} only, the name rules, the grants
 * array) and the link key and near-match skeleton computed from an accepted name.
 * The input is the request body, parsed as gh_req_json parses it.
 * Invariants checked: an accepted body has a name that policy_name_check accepts, a key within
 * POLICY_NAME_MAX that is the name's own link key, grants with non-empty datasets and known
 * actions; the grants as stored (policy_grants_json) parse back to the same grants; a rejected
 * body fails with GH_E_INVALID and a message.
 */
#include "policies/engine.h"
#include "policies/policy.h"
#include "sidecar/gatehouse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_grants_roundtrip(const struct policy_grant *g, size_t n)
{
    cJSON *j = policy_grants_json(g, n);
    char *text = cJSON_PrintUnformatted(j);
    cJSON *back = cJSON_Parse(text);
    struct policy_grant *g2 = NULL;
    size_t n2 = 0;

    GH_ASSERT(back != NULL);
    GH_ASSERT(policy_grants_parse(back, "stored", &g2, &n2, NULL) == GH_OK);
    GH_ASSERT(n2 == n);
    for (size_t i = 0; i < n; i++) {
        GH_ASSERT(strcmp(g[i].dataset, g2[i].dataset) == 0);
        GH_ASSERT(g[i].actions == g2[i].actions);
    }
    policy_grants_free(g2, n2);
    cJSON_Delete(back);
    cJSON_free(text);
    cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = memcpy(gh_xcalloc(1, size + 1), data, size); /* every byte, NULs too */
    struct policy_grant *grants = NULL;
    size_t n = 0;
    const char *name = NULL;
    char key[POLICY_NAME_MAX + 1], key2[POLICY_NAME_MAX + 1], skel[POLICY_NAME_MAX * 3 + 1];
    struct gh_err err = {0};
    cJSON *body;

    /* the same strict parse the route uses (gh_req_json) */
    if (gh_json_parse(s, size, 0, "body", &body, NULL) != GH_OK) {
        free(s);
        return 0;
    }
    if (policy_group_body_parse(body, &name, key, &grants, &n, &err) == GH_OK) {
        GH_ASSERT(name != NULL && policy_name_check(name, "name", NULL) == GH_OK);
        GH_ASSERT(strlen(key) <= POLICY_NAME_MAX && key[0] != '\0');
        GH_ASSERT(policy_name_key(name, key2, sizeof(key2)) == strlen(key2));
        GH_ASSERT(strcmp(key, key2) == 0);
        /* the key is its own key: linking is stable when a name is re-read */
        GH_ASSERT(policy_name_key(key, key2, sizeof(key2)) == strlen(key) &&
                  strcmp(key, key2) == 0);
        GH_ASSERT(policy_name_skeleton(name, skel, sizeof(skel)) < sizeof(skel));
        for (size_t i = 0; i < n; i++) {
            GH_ASSERT(grants[i].dataset[0] != '\0' && strlen(grants[i].dataset) <= POLICY_NAME_MAX);
            GH_ASSERT(grants[i].actions != 0 &&
                      (grants[i].actions &
                       ~(unsigned)(POLICY_ACTION_PROTECT | POLICY_ACTION_UNPROTECT)) == 0);
        }
        fuzz_grants_roundtrip(grants, n);
        policy_grants_free(grants, n);
    } else {
        GH_ASSERT(err.status == GH_E_INVALID && err.msg[0] != '\0');
    }
    cJSON_Delete(body);
    free(s);
    return 0;
}
