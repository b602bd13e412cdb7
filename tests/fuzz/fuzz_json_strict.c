/*
 * fuzz_json_strict.c - the strict JSON check (core/json.c) against cJSON, which reads the
 * same bytes after it. Invariants: the case-insensitive check never accepts what the exact one
 * refuses; an accepted text parses; no object in the tree holds a name twice (ignoring ASCII case
 * when the case-insensitive check accepted); cJSON's rendering of it is accepted again (so no
 * string lost bytes to a NUL and none is invalid UTF-8); a refusal always says why.
 */
#include "sidecar/gatehouse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Depth is bounded by GH_CAP_JSON_DEPTH (the check accepted the text). */
static void fuzz_json_unique(const cJSON *j, bool nocase)
{
    for (const cJSON *a = j->child; a != NULL; a = a->next) {
        if (cJSON_IsObject(j))
            for (const cJSON *b = a->next; b != NULL; b = b->next)
                GH_ASSERT(nocase ? strcasecmp(a->string, b->string) != 0
                                 : strcmp(a->string, b->string) != 0);
        fuzz_json_unique(a, nocase);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct gh_err err = {0};
    enum gh_status exact = gh_json_check(s, size, 0, "fuzz", &err);
    enum gh_status nocase = gh_json_check(s, size, GH_JSON_NAMES_NOCASE, "fuzz", NULL);
    cJSON *j = NULL;
    char *out;

    GH_ASSERT(exact == GH_OK || nocase != GH_OK);
    if (exact != GH_OK) {
        GH_ASSERT(err.msg[0] != '\0');
        return 0;
    }
    GH_ASSERT(gh_json_parse(s, size, 0, "fuzz", &j, NULL) == GH_OK);
    fuzz_json_unique(j, nocase == GH_OK);
    out = cJSON_PrintUnformatted(j);
    GH_ASSERT(out != NULL);
    GH_ASSERT(gh_json_check(out, strlen(out), nocase == GH_OK ? GH_JSON_NAMES_NOCASE : 0, "fuzz",
                            NULL) == GH_OK);
    free(out);
    cJSON_Delete(j);
    return 0;
}
