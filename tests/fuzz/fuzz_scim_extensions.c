/*
 * fuzz_scim_extensions.c - the GATEHOUSE_SCIM_EXTENSIONS declaration parser (scim/extension.c)
 * and what an accepted declaration feeds: the /Schemas documents, attribute-path resolution,
 * filters and body normalisation. The input is the setting's value.
 * Invariants: a refusal is GH_E_INVALID with a message; an accepted set stays within the caps;
 * every declared attribute, written "<urn>:<name>" in any case, resolves to its own schema entry
 * (canonical URN and name, so no two schemas claim one path); a filter on it parses; a body
 * carrying a string under every declared attribute is either stored with only declared names
 * or refused as invalidValue, and what is stored normalises to itself.
 */
#include "scim/filter.h"
#include "scim/resource.h"
#include "scim/scim.h"
#include "sidecar/gatehouse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_kind(enum store_kind kind)
{
    const struct scim_schema *ext[SCIM_EXTS_MAX];
    size_t n = scim_ext_schemas(kind, ext, SCIM_EXTS_MAX);
    struct gh_arena *a = gh_arena_new();
    cJSON *body = cJSON_CreateObject();

    cJSON_AddStringToObject(body, kind == SCIM_USER ? "userName" : "displayName", "x");
    for (size_t i = 0; i < n; i++) {
        cJSON *doc = scim_schema_to_json(ext[i]);
        cJSON *obj = cJSON_AddObjectToObject(body, ext[i]->urn);
        GH_ASSERT(strncasecmp(ext[i]->urn, "urn:", 4) == 0);
        GH_ASSERT(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "attributes")) > 0);
        cJSON_Delete(doc);
        for (const struct scim_attr *at = ext[i]->attrs; at->name != NULL; at++) {
            char *path = gh_arena_printf(a, "%s:%s", ext[i]->urn, at->name);
            struct scim_path p;
            struct store_filter *f = NULL;
            for (char *c = path; *c; c++) /* paths and URNs match in any case */
                if (*c >= 'a' && *c <= 'z')
                    *c = (char)(*c - 'a' + 'A');
            GH_ASSERT(scim_path_resolve(a, kind, path, strlen(path), &p, NULL) == GH_OK);
            GH_ASSERT(p.a == at && p.urn == ext[i]->urn && p.sub == NULL);
            GH_ASSERT(scim_filter_parse(a, kind, gh_arena_printf(a, "%s pr", path), &f, NULL) ==
                      GH_OK);
            cJSON_AddStringToObject(obj, at->name, "1");
        }
    }
    {
        struct store_cols cols;
        struct gh_err err = {0};
        if (scim_resource_normalize(kind, body, NULL, &cols, &err) == GH_OK) {
            char *text = cJSON_PrintUnformatted(body);
            cJSON *again = cJSON_Parse(text);
            char *text2;
            GH_ASSERT(scim_resource_normalize(kind, again, NULL, &cols, NULL) == GH_OK);
            text2 = cJSON_PrintUnformatted(again);
            GH_ASSERT(strcmp(text, text2) == 0);
            cJSON_free(text);
            cJSON_free(text2);
            cJSON_Delete(again);
        } else {
            GH_ASSERT(err.scim_type != NULL && strcmp(err.scim_type, SCIM_ST_INVALID_VALUE) == 0);
        }
    }
    cJSON_Delete(body);
    gh_arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = gh_xstrndup((const char *)data, size);
    struct scim_ext_set *set = NULL;
    struct gh_err err = {0};

    if (scim_ext_set_parse(text, &set, &err) != GH_OK) {
        GH_ASSERT(err.status == GH_E_INVALID && err.msg[0] != '\0' && set == NULL);
    } else {
        GH_ASSERT(scim_ext_set_schemas(set) <= GH_CAP_SCIM_EXT_SCHEMAS);
        GH_ASSERT(scim_ext_set_attrs(set) <= GH_CAP_SCIM_EXT_ATTRS);
        scim_ext_install(set);
        fuzz_kind(SCIM_USER);
        fuzz_kind(SCIM_GROUP);
        scim_ext_install(NULL);
        scim_ext_set_free(set);
    }
    free(text);
    return 0;
}
