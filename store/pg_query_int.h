/*
 * pg_query_int.h - list queries on PostgreSQL: the filter tree (store.h) compiled to the two
 * statements of a list page (private to store/pg*.c and the store's tests).
 */
#ifndef STORE_PG_QUERY_INT_H
#define STORE_PG_QUERY_INT_H

#include "store/store.h"

struct gh_arena;

struct store_pg_list_sql {
    const char *page_sql;      /* SELECT id, version, created, modified, body FROM <table> WHERE ...
                                * ORDER BY ... LIMIT .. OFFSET .. */
    const char *count_sql;     /* SELECT count(*) FROM <table> WHERE ... */
    const char *const *params; /* text parameters $1..$n (NULL entries are SQL NULL) */
    int nparams;
};

/* The statements of list query q over kind's table, everything allocated in a. */
enum gh_status store_pg_list_sql(enum store_kind kind, const struct store_query *q,
                                 struct gh_arena *a, struct store_pg_list_sql *out,
                                 struct gh_err *err);

#endif
