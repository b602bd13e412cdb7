/*
 * patch.h - the SCIM PATCH engine (RFC 7644 §3.5.2) with Microsoft Entra's two dialects.
 *
 * Operations are applied in order to a resource body (a cJSON object, modified in place); the
 * caller normalises the result (resource.c) before storing it, which coerces "True"/"False",
 * drops nulls and checks types. Group membership is not in the body: member operations are
 * reduced to their net effect as id lists for the store, so one added member costs one row.
 */
#ifndef SCIM_PATCH_H
#define SCIM_PATCH_H

#include "core/core.h"
#include "scim/resource.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* The net membership change of a PATCH's member operations taken in order (RFC 7644 §3.5.2;
 * ids arena-owned, each listed once, in the order of its first operation). add and remove are
 * disjoint, so the store may apply them in any order. */
struct scim_patch_members {
    bool replace;     /* the members become exactly `add` (a replace or remove-all) */
    const char **add; /* ids that end up members */
    size_t add_count;
    const char **remove; /* ids that end up non-members (empty when replace) */
    size_t remove_count;
    const char **check; /* ids an op added that do not end up added: still validated */
    size_t check_count;
};

/* Cap on operations in one PATCH request: Entra batches at most a few hundred members. */
#define SCIM_PATCH_MAX_OPS 10000

/*
 * Apply the PatchOp message `patch` to `res` (a body as stored, without members), operation by
 * operation. The net effect of a Group's member operations lands in *out_members. Errors are
 * GH_E_INVALID with scimType invalidSyntax (malformed message), invalidPath, noTarget or
 * invalidValue; `res` is then in an unspecified state and must be discarded. Strings in
 * *out_members live in `a`. Thread-safe.
 */
enum gh_status scim_patch_apply(struct gh_arena *a, enum store_kind kind, cJSON *res,
                                const cJSON *patch, struct scim_patch_members *out_members,
                                struct gh_err *err);

#endif
