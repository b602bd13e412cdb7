/*
 * fuzz_scim_resource.c - SCIM resource bodies as POST and PUT send them (scim/resource.c:
 * scim_resource_normalize, scim_members_check), for Users and for Groups. The input is the
 * request body, parsed as gh_req_json parses it.
 * Invariants checked on an accepted body: `schemas` comes first and lists the core URN; no JSON
 * null is left anywhere; id, meta and the readOnly groups are gone; the indexed columns point
 * into the body (userName / displayName non-empty); a group's members each carry a non-empty
 * string value; and normalising is idempotent: the stored text normalises to itself, so a
 * resource read back and PUT again is stored unchanged. A rejected body fails with GH_E_INVALID
 * and a scimType.
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

static bool fuzz_has_null(const cJSON *v)
{
    for (const cJSON *c = v->child; c != NULL; c = c->next)
        if (cJSON_IsNull(c) || fuzz_has_null(c))
            return true;
    return false;
}

static bool fuzz_col_in(const cJSON *body, const char *name, const char *col)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    return col == NULL ? !cJSON_IsString(v) : (cJSON_IsString(v) && v->valuestring == col);
}

static void fuzz_one(enum store_kind kind, const cJSON *parsed)
{
    const char *core = kind == SCIM_USER ? SCIM_SCHEMA_USER : SCIM_SCHEMA_GROUP;
    cJSON *body = scim_json_dup(parsed), *members = NULL, *again = NULL, *members2 = NULL;
    struct store_cols cols, cols2;
    struct gh_err err = {0};
    char *text = NULL, *text2 = NULL;
    const cJSON *schemas, *e;
    bool core_listed = false;

    if (scim_resource_normalize(kind, body, &members, &cols, &err) != GH_OK) {
        GH_ASSERT(err.status == GH_E_INVALID && err.scim_type != NULL && err.msg[0] != '\0');
        GH_ASSERT(members == NULL);
        goto out;
    }
    schemas = body->child;
    GH_ASSERT(schemas != NULL && strcmp(schemas->string, "schemas") == 0);
    GH_ASSERT(cJSON_IsArray(schemas));
    cJSON_ArrayForEach(e, schemas)
    {
        GH_ASSERT(cJSON_IsString(e));
        core_listed = core_listed || strcmp(e->valuestring, core) == 0;
    }
    GH_ASSERT(core_listed);
    GH_ASSERT(!fuzz_has_null(body));
    GH_ASSERT(cJSON_GetObjectItem(body, "id") == NULL && cJSON_GetObjectItem(body, "meta") == NULL);
    GH_ASSERT(cJSON_GetObjectItem(body, "groups") == NULL);
    GH_ASSERT(cols.name != NULL && cols.name[0] != '\0');
    GH_ASSERT(fuzz_col_in(body, kind == SCIM_USER ? "userName" : "displayName", cols.name));
    GH_ASSERT(fuzz_col_in(body, "externalId", cols.external_id));
    if (kind == SCIM_USER)
        GH_ASSERT(fuzz_col_in(body, "displayName", cols.display));
    if (members != NULL) {
        GH_ASSERT(kind == SCIM_GROUP && scim_members_check(members, NULL) == GH_OK);
        cJSON_ArrayForEach(e, members)
        {
            const cJSON *v = cJSON_GetObjectItem(e, "value");
            GH_ASSERT(cJSON_IsString(v) && v->valuestring[0] != '\0');
        }
    }

    /* What the store keeps, normalised again (a GET followed by a PUT of the same resource). */
    text = cJSON_PrintUnformatted(body);
    GH_ASSERT(text != NULL);
    again = cJSON_Parse(text);
    GH_ASSERT(again != NULL);
    GH_ASSERT(scim_resource_normalize(kind, again, &members2, &cols2, &err) == GH_OK);
    text2 = cJSON_PrintUnformatted(again);
    GH_ASSERT(text2 != NULL && strcmp(text, text2) == 0);
    GH_ASSERT(strcmp(cols.name, cols2.name) == 0 && cols.active == cols2.active);
out:
    cJSON_free(text);
    cJSON_free(text2);
    cJSON_Delete(members);
    cJSON_Delete(members2);
    cJSON_Delete(again);
    cJSON_Delete(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = memcpy(gh_xcalloc(1, size + 1), data, size); /* every byte, NULs too */
    cJSON *parsed;

    /* the same strict parse the route uses (SCIM's strict JSON (scim/handlers.c)) */
    if (gh_json_parse(s, size, GH_JSON_NAMES_NOCASE, "body", &parsed, NULL) != GH_OK) {
        free(s);
        return 0;
    }
    fuzz_one(SCIM_USER, parsed);
    fuzz_one(SCIM_GROUP, parsed);
    cJSON_Delete(parsed);
    free(s);
    return 0;
}
