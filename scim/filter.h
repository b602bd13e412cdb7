/*
 * filter.h - SCIM filter expressions (RFC 7644 §3.4.2.2) as a typed tree.
 *
 * The parser resolves every attribute path against the schema tables (resource.h), so the tree
 * carries canonical names, types and case-exactness. The tree is turned into a parameterised
 * SQL WHERE clause by the store (store.c: the only file with SQL) and evaluated in memory on
 * JSON elements by scim_filter_match (PATCH value paths). All nodes live in the caller's arena.
 */
#ifndef SCIM_FILTER_H
#define SCIM_FILTER_H

#include "core/core.h"
#include "scim/resource.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

enum scim_fop {
    SCIM_F_EQ,
    SCIM_F_NE,
    SCIM_F_CO,
    SCIM_F_SW,
    SCIM_F_EW,
    SCIM_F_GT,
    SCIM_F_GE,
    SCIM_F_LT,
    SCIM_F_LE,
    SCIM_F_PR,
    SCIM_F_AND,
    SCIM_F_OR,
    SCIM_F_NOT,
    SCIM_F_HAS, /* attr[filter]: some element of a multi-valued attribute matches */
};

enum scim_fval { SCIM_V_STRING, SCIM_V_NUMBER, SCIM_V_TRUE, SCIM_V_FALSE, SCIM_V_NULL };

struct scim_filter {
    enum scim_fop op;
    struct scim_filter *left, *right; /* AND/OR: both; NOT: left */
    struct scim_path path;            /* comparisons, PR, HAS (path.vfilter is the inner filter) */
    enum scim_fval vtype;
    const char *str; /* SCIM_V_STRING: the decoded string (NUL-terminated) */
    double num;      /* SCIM_V_NUMBER */
};

/*
 * Parse filter text for a resource kind. *out is arena-owned. Errors are GH_E_INVALID with
 * scimType invalidFilter and a message pointing at the offending byte. Length and nesting are
 * capped (GH_CAP_SCIM_FILTER_LEN, GH_CAP_SCIM_FILTER_DEPTH). Thread-safe. Beyond the ABNF, a
 * value may be a bare word (filter.c scim_fp_value), and a date-time compared with a dateTime
 * attribute is normalised to the store's UTC millisecond form (ge/lt may become gt/le).
 */
enum gh_status scim_filter_parse(struct gh_arena *a, enum scim_kind kind, const char *text,
                                 struct scim_filter **out, struct gh_err *err);

/*
 * Parse a PATCH path (RFC 7644 §3.5.2: attrPath / valuePath ["." subAttr]) into *out, with the
 * value filter (if any) resolved against the attribute's sub-attributes. GH_E_INVALID with
 * scimType invalidPath on malformed paths.
 */
enum gh_status scim_filter_path_parse(struct gh_arena *a, enum scim_kind kind, const char *text,
                                      struct scim_path *out, struct gh_err *err);

/* Evaluate a value filter (paths relative to one element) on one JSON element. */
bool scim_filter_match(const struct scim_filter *f, const cJSON *elem);

/* A canonical rendering of the tree, for tests and logs: (eq userName "x"), arena-owned. */
const char *scim_filter_dump(struct gh_arena *a, const struct scim_filter *f);

#endif
