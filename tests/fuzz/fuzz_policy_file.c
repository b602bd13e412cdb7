/*
 * fuzz_policy_file.c - the policy document parser, route matching and the name keys.
 * Invariants: a parsed document has unique link keys; skeleton and key never overflow.
 */
#include "policies/policy.h"
#include "sidecar/gatehouse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct policy_doc *doc = NULL;
    struct gh_err err = {0};
    char *s = gh_xstrndup((const char *)data, size);
    char key[POLICY_NAME_MAX + 1], skel[POLICY_NAME_MAX + 1];

    GH_ASSERT(policy_name_key(s, key, sizeof(key)) < sizeof(key));
    GH_ASSERT(policy_name_skeleton(s, skel, sizeof(skel)) < sizeof(skel));
    if (policy_doc_parse((const char *)data, size, &doc, &err) == GH_OK) {
        for (size_t i = 0; i < doc->ngroups; i++)
            for (size_t j = i + 1; j < doc->ngroups; j++)
                GH_ASSERT(strcmp(doc->groups[i].key, doc->groups[j].key) != 0);
        (void)policy_doc_route_match(doc, "GET", "/payroll/x");
        cJSON_Delete(policy_grants_json(doc->defaults, doc->ndefaults));
        policy_doc_free(doc);
    } else {
        GH_ASSERT(err.msg[0] != '\0');
    }
    free(s);
    return 0;
}
