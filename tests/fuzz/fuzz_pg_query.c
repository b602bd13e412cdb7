/*
 * fuzz_pg_query.c - the PostgreSQL list query compiler (store/pg_query.c) on parsed SCIM
 * filters. The input is filter text; a first line starting with "sortBy=" names a sort
 * attribute too. Invariants checked: every filter the parser accepts compiles (or fails as
 * invalidFilter), for users and groups, ascending and descending; the SQL text never holds a
 * double quote other than in COLLATE "C" nor a semicolon (request data is only ever a
 * parameter); both statements reference every parameter $1..$n and no other.
 */
#include "scim/filter.h"
#include "scim/scim.h"
#include "sidecar/gatehouse.h"
#include "store/pg_query_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The SQL with every COLLATE "C" taken out holds no '"' and no ';'. */
static void fuzz_check_text(const char *sql)
{
    static const char c[] = "COLLATE \"C\"";
    GH_ASSERT(strchr(sql, ';') == NULL);
    for (const char *p = sql; (p = strchr(p, '"')) != NULL; p += 3)
        GH_ASSERT(p - sql >= 8 && strncmp(p - 8, c, sizeof(c) - 1) == 0);
}

/* $1..$n each appear in sql, $n+1 does not. */
static void fuzz_check_params(const char *sql, int n)
{
    char ref[24];
    for (int i = 1; i <= n + 1; i++) {
        snprintf(ref, sizeof(ref), "$%d::", i);
        GH_ASSERT((strstr(sql, ref) != NULL) == (i <= n));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = gh_xstrndup((const char *)data, size);
    char *filter = s, *sort_by = NULL;
    struct gh_arena *a = gh_arena_new();

    if (strncmp(s, "sortBy=", 7) == 0) {
        char *nl = strchr(s, '\n');
        sort_by = s + 7;
        filter = nl != NULL ? nl + 1 : NULL;
        if (nl != NULL)
            *nl = '\0';
    }
    for (int k = SCIM_USER; k <= SCIM_GROUP; k++) {
        for (int desc = 0; desc < 2; desc++) {
            struct scim_list_params in = {
                .filter = filter, .sort_by = sort_by, .sort_order = desc ? "descending" : NULL};
            struct store_query q;
            struct scim_projection proj;
            struct store_pg_list_sql out;
            struct gh_err err = {0};
            if (scim_list_params_parse(a, (enum store_kind)k, &in, &q, &proj, &err) != GH_OK) {
                GH_ASSERT(err.status == GH_E_INVALID && err.scim_type != NULL);
                continue;
            }
            if (store_pg_list_sql((enum store_kind)k, &q, a, &out, &err) != GH_OK) {
                GH_ASSERT(err.status == GH_E_INVALID && err.scim_type != NULL &&
                          strcmp(err.scim_type, "invalidFilter") == 0);
                continue;
            }
            GH_ASSERT(out.nparams >= 0 && out.nparams <= STORE_PG_MAX_PARAMS);
            fuzz_check_text(out.page_sql);
            fuzz_check_text(out.count_sql);
            fuzz_check_params(out.page_sql, out.nparams);
            fuzz_check_params(out.count_sql, out.nparams);
            for (int i = 0; i < out.nparams; i++)
                GH_ASSERT(out.params[i] != NULL);
        }
    }
    gh_arena_free(a);
    free(s);
    return 0;
}
