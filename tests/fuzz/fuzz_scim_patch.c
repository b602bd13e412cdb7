/*
 * fuzz_scim_patch.c - the PATCH engine and body normalisation on untrusted PatchOp messages and
 * resource bodies. Invariants checked: a patch either fails with GH_E_INVALID and a scimType, or
 * leaves a body that normalises into one with `schemas` first and a non-empty userName /
 * displayName; member ids collected are non-empty strings, and the ids added and removed are
 * disjoint (the net change); nothing leaks or crashes.
 */
#include "scim/filter.h"
#include "scim/patch.h"
#include "scim/resource.h"
#include "scim/scim.h"
#include "sidecar/gatehouse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_bodies[] = {
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"u\","
    "\"emails\":[{\"type\":\"work\",\"value\":\"w@x\"}],\"name\":{\"givenName\":\"g\"},"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"manager\":{\"value\":"
    "\"m\"}}}",
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"g\"}",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = gh_xstrndup((const char *)data, size);
    cJSON *patch = cJSON_Parse(s);

    for (int k = SCIM_USER; k <= SCIM_GROUP; k++) {
        struct gh_arena *a = gh_arena_new();
        struct scim_patch_members m;
        struct store_cols cols;
        struct gh_err err = {0};
        cJSON *res = cJSON_Parse(fuzz_bodies[k]);
        enum gh_status st = scim_patch_apply(a, (enum store_kind)k, res, patch, &m, &err);
        if (st == GH_OK)
            st = scim_resource_normalize((enum store_kind)k, res, NULL, &cols, &err);
        if (st == GH_OK) {
            GH_ASSERT(strcmp(res->child->string, "schemas") == 0);
            GH_ASSERT(cols.name != NULL && cols.name[0] != '\0');
            for (size_t i = 0; i < m.add_count; i++)
                GH_ASSERT(m.add[i][0] != '\0');
            for (size_t i = 0; i < m.check_count; i++)
                GH_ASSERT(m.check[i][0] != '\0');
            /* the net change: no id both added and removed; after a clear, no removes */
            GH_ASSERT(!m.replace || m.remove_count == 0);
            for (size_t i = 0; i < m.remove_count; i++)
                for (size_t j = 0; j < m.add_count; j++)
                    GH_ASSERT(strcmp(m.remove[i], m.add[j]) != 0);
            char *txt = cJSON_PrintUnformatted(res);
            GH_ASSERT(txt != NULL);
            free(txt);
        } else {
            GH_ASSERT(st == GH_E_INVALID && err.scim_type != NULL);
        }
        cJSON_Delete(res);
        gh_arena_free(a);
    }
    /* the same input as a POST body */
    if (patch != NULL) {
        for (int k = SCIM_USER; k <= SCIM_GROUP; k++) {
            struct store_cols cols;
            cJSON *members = NULL;
            cJSON *body = scim_json_dup(patch);
            if (scim_resource_normalize((enum store_kind)k, body, &members, &cols, NULL) == GH_OK)
                GH_ASSERT(cols.name != NULL);
            cJSON_Delete(members);
            cJSON_Delete(body);
        }
    }
    cJSON_Delete(patch);
    free(s);
    return 0;
}
