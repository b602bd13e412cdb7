/*
 * filter.h - SCIM filter expressions (RFC 7644 §3.4.2.2) parsed into the store's query tree.
 *
 * The tree type is the store's (struct store_filter, store/store.h), so a parsed list filter is
 * handed to the store as is, and each backend translates it to its own query language. The
 * parser resolves every attribute path against the schema tables (resource.h), so the tree
 * carries canonical names and what the schema says of each attribute (STORE_ATTR_*). It is also
 * evaluated in memory on JSON elements by scim_filter_match (PATCH value paths, projections).
 * All nodes live in the caller's arena.
 */
#ifndef SCIM_FILTER_H
#define SCIM_FILTER_H

#include "core/core.h"
#include "scim/resource.h"
#include "scim/scim.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

/* scim_filter_parse (filter text -> the store's query tree) is declared in scim.h: the admin
 * API's directory lists use it too. */

/*
 * Parse a PATCH path (RFC 7644 §3.5.2: attrPath / valuePath ["." subAttr]) into *out, with the
 * value filter (if any) resolved against the attribute's sub-attributes. GH_E_INVALID with
 * scimType invalidPath on malformed paths.
 */
enum gh_status scim_filter_path_parse(struct gh_arena *a, enum store_kind kind, const char *text,
                                      struct scim_path *out, struct gh_err *err);

/* Evaluate a value filter (paths relative to one element) on one JSON element. */
bool scim_filter_match(const struct store_filter *f, const cJSON *elem);

/* A canonical rendering of the tree, for tests and logs: (eq userName "x"), arena-owned. */
const char *scim_filter_dump(struct gh_arena *a, const struct store_filter *f);

#endif
