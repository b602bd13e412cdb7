/*
 * pg_query.c - list queries on PostgreSQL. PLACEHOLDER on branch i11-pg: only the unfiltered,
 * unsorted list (creation order, paged); the filter compiler lands from its own branch.
 */
#include "core/core.h"
#include "store/pg_query_int.h"
#include "store/store_int.h"

#include <inttypes.h>

/* See pg_query_int.h. */
enum gh_status store_pg_list_sql(enum store_kind kind, const struct store_query *q,
                                 struct gh_arena *a, struct store_pg_list_sql *out,
                                 struct gh_err *err)
{
    static const char *const tables[] = {"users", "groups"};
    const char **params;

    if (q->filter != NULL || q->sort_by != NULL) {
        GH_ERR(err, GH_E_INVALID, "filter and sortBy are not supported by this build yet");
        gh_err_set_scim_type(err, STORE_ST_INVALID_FILTER);
        return GH_E_INVALID;
    }
    params = gh_arena_alloc(a, sizeof(*params));
    out->count_sql = gh_arena_printf(a, "SELECT count(*) FROM %s", tables[kind]);
    out->page_sql =
        gh_arena_printf(a,
                        "SELECT id, version, created, modified, body FROM %s "
                        "ORDER BY seq LIMIT %" PRId64 " OFFSET %" PRId64,
                        tables[kind], q->count, q->start_index > 0 ? q->start_index - 1 : 0);
    out->params = params;
    out->nparams = 0;
    return GH_OK;
}
