/*
 * fuzz_scim_filter.c - the SCIM filter parser (RFC 7644 §3.4.2.2), its SQL compilation and the
 * in-memory evaluator. Invariants checked: a parsed filter compiles; the SQL text never holds a
 * double quote or a semicolon (every request value and JSON path is a bound parameter, never
 * spliced); the compiled query runs against a real store without an SQL error; PATCH path
 * parsing and element evaluation never crash; attributes/excludedAttributes parsing either
 * fails as invalid or projects a resource, keeping its id.
 */
#include "scim/filter.h"
#include "scim/patch.h"
#include "scim/resource.h"
#include "scim/scim.h"
#include "sidecar/gatehouse.h"
#include "store/sqlite_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *fuzz_store;
static char fuzz_dir[64];

static void fuzz_cleanup(void)
{
    char path[128];
    store_close(fuzz_store);
    for (size_t i = 0; i < 3; i++) {
        static const char *const sfx[] = {"", "-wal", "-shm"};
        snprintf(path, sizeof(path), "%s/f.db%s", fuzz_dir, sfx[i]);
        unlink(path);
    }
    rmdir(fuzz_dir);
}

static struct store *fuzz_open(void)
{
    char path[128];
    if (fuzz_store != NULL)
        return fuzz_store;
    gh_log_set_level(GH_LOG_ERROR);
    snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/gh-fuzz-XXXXXX");
    GH_ASSERT(mkdtemp(fuzz_dir) != NULL);
    snprintf(path, sizeof(path), "%s/f.db", fuzz_dir);
    GH_ASSERT(store_open(path, &fuzz_store, NULL) == GH_OK);
    atexit(fuzz_cleanup);
    return fuzz_store;
}

static const char fuzz_resource[] =
    "{\"schemas\":[],\"id\":\"1\",\"userName\":\"u\",\"name\":{\"givenName\":\"g\"},"
    "\"emails\":[{\"type\":\"work\",\"value\":\"a@b.c\",\"primary\":true},\"x\",{\"type\":"
    "\"home\"}],\"members\":[{\"value\":\"m\",\"type\":\"User\"}],"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"manager\":{\"value\":"
    "\"b\"},\"tags\":[{\"value\":\"t\"}]},\"meta\":{\"created\":\"2015-10-10T21:38:21.861Z\"}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = gh_xstrndup((const char *)data, size);
    struct gh_arena *a = gh_arena_new();
    cJSON *elem = cJSON_Parse("{\"type\":\"work\",\"value\":\"a@b.c\",\"primary\":true}");

    for (int k = SCIM_USER; k <= SCIM_GROUP; k++) {
        struct store_filter *f = NULL;
        struct gh_err err = {0};
        if (scim_filter_parse(a, (enum store_kind)k, s, &f, &err) == GH_OK) {
            char *sql = NULL;
            int n = 0;
            struct store_query q = {f, NULL, false, 1, 5};
            struct store_rec_list l;
            GH_ASSERT(scim_filter_dump(a, f) != NULL);
            if (store_sqlite_filter_sql((enum store_kind)k, f, &sql, &n, &err) == GH_OK) {
                GH_ASSERT(strchr(sql, '"') == NULL && strchr(sql, ';') == NULL);
                free(sql);
                gh_err_clear(&err);
                enum gh_status st = store_list(fuzz_open(), (enum store_kind)k, &q, &l, &err);
                GH_ASSERT(st == GH_OK || st == GH_E_INVALID);
                store_rec_list_clear(&l);
            }
        } else {
            GH_ASSERT(err.status == GH_E_INVALID && err.scim_type != NULL);
        }
        struct scim_path p;
        if (scim_filter_path_parse(a, (enum store_kind)k, s, &p, NULL) == GH_OK &&
            p.vfilter != NULL)
            (void)scim_filter_match(p.vfilter, elem);
        /* the input as attributes, then as excludedAttributes (value filters inside, issue 9.11) */
        for (int inc = 0; inc < 2; inc++) {
            struct scim_projection proj;
            gh_err_clear(&err);
            if (scim_projection_parse(a, (enum store_kind)k, inc ? s : NULL, inc ? NULL : s, &proj,
                                      &err) != GH_OK) {
                GH_ASSERT(err.status == GH_E_INVALID && err.scim_type != NULL);
                continue;
            }
            cJSON *res = cJSON_Parse(fuzz_resource);
            (void)scim_projection_wants(&proj, NULL, "members");
            scim_projection_apply(&proj, res);
            GH_ASSERT(cJSON_GetObjectItem(res, "id") != NULL);
            cJSON_Delete(res);
        }
    }
    cJSON_Delete(elem);
    gh_arena_free(a);
    free(s);
    return 0;
}
