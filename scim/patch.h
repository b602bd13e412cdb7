/*
 * patch.h - the SCIM PATCH engine (RFC 7644 §3.5.2) with Microsoft Entra's two dialects.
 *
 * Operations are applied in order to a resource body (a cJSON object, modified in place); the
 * caller normalises the result (resource.c) before storing it, which coerces "True"/"False",
 * drops nulls and checks types. Group membership is not in the body: member operations are
 * collected as id lists for the store, so one added member costs one row.
 */
#ifndef SCIM_PATCH_H
#define SCIM_PATCH_H

#include "scim/resource.h"
#include "sidecar/arena.h"
#include "sidecar/err.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Membership changes requested by a PATCH (ids arena-owned). Adds and removes are applied by the
 * store in the order: replace (clear), removes, adds. */
struct scim_patch_members {
    bool replace;
    const char **add;
    size_t add_count, add_cap;
    const char **remove;
    size_t remove_count, remove_cap;
};

/* Cap on operations in one PATCH request: Entra batches at most a few hundred members. */
#define SCIM_PATCH_MAX_OPS 10000

/*
 * Apply the PatchOp message `patch` to `res` (a body as stored, without members). Member
 * operations of a Group land in *out_members. Errors are GH_E_INVALID with scimType
 * invalidSyntax (malformed message), invalidPath, noTarget or invalidValue; `res` is then in an
 * unspecified state and must be discarded. Strings in *out_members live in `a`. Thread-safe.
 */
enum gh_status scim_patch_apply(struct gh_arena *a, enum scim_kind kind, cJSON *res,
                                const cJSON *patch, struct scim_patch_members *out_members,
                                struct gh_err *err);

#endif
