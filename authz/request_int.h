/*
 * request_int.h - the decision path's pieces authorize.c shares with explain.c, so that an
 * explanation reads the same facts, through the same code, as the decision it explains.
 *
 * Everything is allocated in the caller's arena (or borrowed from the snapshot / configuration
 * as noted); nothing here takes a lock a caller must release.
 */
#ifndef AUTHZ_REQUEST_INT_H
#define AUTHZ_REQUEST_INT_H

#include "authz/authz.h"
#include "authz/decide.h"
#include "core/core.h"
#include "policies/policies.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

/* What the store's index says about a subject, independent of the policy snapshot (arena). */
struct authz_raw_m {
    const char *key, *via; /* access group's link key, the linked IdP group's displayName */
    int64_t not_before;    /* the membership's cut-off (epoch seconds) */
};
struct authz_raw {
    bool found;
    const char *why;     /* when !found: which lookups were tried, or the ambiguity */
    const char *matched; /* when found: "claim:attribute" (token) or the attribute that matched */
    const char *id, *user_name, *external_id;
    bool active;
    int64_t not_before;
    int matches;
    struct authz_raw_m *m;
    size_t nm, cap;
};

/* One index lookup (store_subject_lookup) of the user whose attribute key equals value, into
 * raw (reset first). GH_OK: found, or refused because several users share the value (raw->found
 * false, raw->why says so). GH_E_NOT_FOUND: no such user. Other statuses: the store failed.
 * *out_rev: the index revision read. attr names the attribute in reasons. */
enum gh_status authz_raw_lookup(const struct authz_ctx *ax, enum store_user_key key,
                                const char *attr, const char *value, struct gh_arena *a,
                                struct authz_raw *raw, int64_t *out_rev, struct gh_err *err);
/* The subject of verified claims: each GATEHOUSE_IDENTITY_CLAIMS pair in order, the first claim
 * present whose value names a user wins (authorize.c). */
enum gh_status authz_raw_load(const struct authz_ctx *ax, const struct authz_claims *claims,
                              struct gh_arena *a, struct authz_raw *raw, int64_t *out_rev,
                              struct gh_err *err);
/* The facts decide.h checks before the subject: the tenant (when has_token; tid may be NULL)
 * and the directory's staleness, into f. True when neither denies, i.e. the subject must be
 * looked up. */
bool authz_facts_env(const struct authz_ctx *ax, bool has_token, const char *tid,
                     struct gh_arena *a, struct authz_facts *f);
/* The subject's facts from raw and the snapshot (the groups' grants, default grants) into f;
 * memberships in a, groups and grants borrowed from snap. */
void authz_facts_subject(const struct authz_raw *raw, const struct policy_snapshot *snap,
                         struct gh_arena *a, struct authz_facts *f);

#endif
