/*
 * fuzz_scim_query.c - the query parameters of a SCIM list request (scim_list_params_parse:
 * filter, startIndex, count, sortBy, sortOrder, attributes, excludedAttributes) and the
 * projection they select, applied to a rendered resource.
 * The input is a query string, "startIndex=1&count=100&attributes=userName", split at '&' and
 * '=' and %XX-decoded as the HTTP layer decodes it ('+' is a space); the first copy of a name
 * counts. Invariants checked: an accepted query has 1 <= startIndex and 0 <= count <=
 * GH_CAP_SCIM_COUNT, a sortBy naming one attribute without a value filter; the projection keeps
 * id and schemas whatever it names; a rejected query fails with GH_E_INVALID and a scimType.
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

static const char *const fuzz_rendered[] = {
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\","
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],\"id\":\"7d3c\","
    "\"userName\":\"Ada@contoso.com\",\"active\":true,\"displayName\":\"Ada\","
    "\"name\":{\"givenName\":\"Ada\",\"familyName\":\"Lovelace\"},"
    "\"emails\":[{\"type\":\"work\",\"value\":\"ada@contoso.com\",\"primary\":true}],"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"department\":\"R&D\","
    "\"manager\":{\"value\":\"m1\"}},\"groups\":[{\"value\":\"g1\",\"display\":\"Payroll\"}],"
    "\"meta\":{\"resourceType\":\"User\",\"version\":\"W/\\\"1\\\"\"}}",
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"id\":\"g1\","
    "\"displayName\":\"Payroll\",\"externalId\":\"e1\",\"members\":[{\"value\":\"7d3c\","
    "\"display\":\"Ada\",\"type\":\"User\"}],\"meta\":{\"resourceType\":\"Group\"}}",
};

static int fuzz_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode %XX and '+' in place (a bad escape stays as written). */
static void fuzz_unescape(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '%' && fuzz_hex(p[1]) >= 0 && fuzz_hex(p[2]) >= 0) {
            *o++ = (char)(fuzz_hex(p[1]) * 16 + fuzz_hex(p[2]));
            p += 2;
        } else {
            *o++ = *p == '+' ? ' ' : *p;
        }
    }
    *o = '\0';
}

static void fuzz_set(const char **slot, const char *v)
{
    if (*slot == NULL)
        *slot = v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = gh_xstrndup((const char *)data, size);
    struct scim_list_params in = {0};

    for (char *p = s, *next; p != NULL; p = next) {
        char *eq;
        next = strchr(p, '&');
        if (next != NULL)
            *next++ = '\0';
        eq = strchr(p, '=');
        if (eq != NULL)
            *eq++ = '\0';
        fuzz_unescape(p);
        if (eq != NULL)
            fuzz_unescape(eq);
        else
            eq = "";
        /* a decoded value may hold a NUL: the value ends there, as it does for MHD */
        if (strcmp(p, "filter") == 0)
            fuzz_set(&in.filter, eq);
        else if (strcmp(p, "startIndex") == 0)
            fuzz_set(&in.start_index, eq);
        else if (strcmp(p, "count") == 0)
            fuzz_set(&in.count, eq);
        else if (strcmp(p, "sortBy") == 0)
            fuzz_set(&in.sort_by, eq);
        else if (strcmp(p, "sortOrder") == 0)
            fuzz_set(&in.sort_order, eq);
        else if (strcmp(p, "attributes") == 0)
            fuzz_set(&in.attributes, eq);
        else if (strcmp(p, "excludedAttributes") == 0)
            fuzz_set(&in.excluded, eq);
    }

    for (int k = SCIM_USER; k <= SCIM_GROUP; k++) {
        struct gh_arena *a = gh_arena_new();
        struct store_query q;
        struct scim_projection proj;
        struct gh_err err = {0};

        if (scim_list_params_parse(a, (enum store_kind)k, &in, &q, &proj, &err) != GH_OK) {
            GH_ASSERT(err.status == GH_E_INVALID && err.scim_type != NULL);
            gh_arena_free(a);
            continue;
        }
        GH_ASSERT(q.start_index >= 1);
        GH_ASSERT(q.count >= 0 && q.count <= GH_CAP_SCIM_COUNT);
        GH_ASSERT((q.filter != NULL) == (in.filter != NULL && in.filter[0] != '\0'));
        if (q.sort_by != NULL)
            GH_ASSERT(q.sort_by->attr != NULL && q.sort_by->vfilter == NULL);
        for (size_t i = 0; i < proj.count; i++)
            GH_ASSERT(proj.names[i] != NULL);
        {
            cJSON *res = cJSON_Parse(fuzz_rendered[k]);
            scim_projection_apply(&proj, res);
            GH_ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(res, "id")));
            GH_ASSERT(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(res, "schemas")));
            (void)scim_projection_wants(&proj, NULL, "members");
            (void)scim_projection_wants(&proj, SCIM_SCHEMA_ENTERPRISE, "manager");
            cJSON_Delete(res);
        }
        gh_arena_free(a);
    }
    free(s);
    return 0;
}
