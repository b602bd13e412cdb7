/*
 * pg_query_int.h - inside the PostgreSQL backend: list queries compiled to SQL (pg_query.c).
 *
 * The PostgreSQL twin of sqlite_query.c: the filter tree (store.h, parsed by scim/filter.c) and
 * sortBy become one page statement and one count statement with the same matching as SQLite -
 * case-insensitive compares fold ASCII only (SQLite NOCASE), a value compares with the stored
 * one by SQLite's rules for its type, every predicate is true or false (never NULL) so NOT
 * composes, and the order is SQLite's (NULLs first, numbers before text, then creation order).
 * Request data never enters the SQL text: every value, and every JSON key an attribute name
 * becomes, is a text parameter. It needs no libpq: the backend runs what it returns.
 */
#ifndef STORE_PG_QUERY_INT_H
#define STORE_PG_QUERY_INT_H

#include "store/store_int.h"

struct gh_arena;

/* The two statements of one list request (everything in the arena passed in). Run them in one
 * REPEATABLE READ transaction so the total and the page agree (SQLite runs both in one read
 * transaction); the page can be skipped when count <= 0 or the total is below startIndex. */
struct store_pg_list_sql {
    /* SELECT r.id, r.version, r.created, r.modified, r.body FROM <table> r ... WHERE ...
     * ORDER BY ..., r.seq LIMIT <count> OFFSET <startIndex - 1> (LIMIT 0 when count <= 0) */
    const char *page_sql;
    /* SELECT count(*) FROM <table> r ... WHERE ...: the matches of every page */
    const char *count_sql;
    /* text parameters $1..$n, shared by both statements (each statement references every one,
     * so both run with the same array); never NULL entries today */
    const char *const *params;
    int nparams;
};

/* The most parameters one list may bind (PostgreSQL's own limit is 65535). A filter within
 * GH_CAP_SCIM_FILTER_LEN stays far below it. */
#define STORE_PG_MAX_PARAMS 8192
/* The most bytes of SQL one statement may have. */
#define STORE_PG_MAX_SQL ((size_t)4 * 1024 * 1024)

/*
 * Compile q for the table of kind into *out (tables unqualified: the connection's search_path
 * picks the schema). Everything *out points to is allocated in a. A filter beyond the caps
 * fails with GH_E_INVALID, scimType invalidFilter.
 */
enum gh_status store_pg_list_sql(enum store_kind kind, const struct store_query *q,
                                 struct gh_arena *a, struct store_pg_list_sql *out,
                                 struct gh_err *err);

/* SQLite's text form of a REAL ("%!.15g": 12.0, 1.0e+20, Inf), which SQLite compares when a
 * number meets a text column or instr(); written to out (at least 32 bytes). Exposed for tests. */
void store_pg_real_text(double v, char *out, size_t cap);

#endif
