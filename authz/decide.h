/*
 * decide.h - the protect/unprotect decision itself: pure logic over facts gathered elsewhere
 * (the verified token, the identity store, the policy). No I/O, no locks, no allocation.
 *
 * The rules, in order (the first that applies gives the reason):
 *  0. the directory data must be fresh (GATEHOUSE_MAX_STALENESS);
 *  1. the token's tenant must be the tenant the SCIM data came from;
 *  2. the subject must resolve to a provisioned user, and that user must be active;
 *  3. a token issued before the user was last deactivated/deleted/re-created gets nothing;
 *  4. an access group the user belongs to (through a linked IdP group) grants the
 *     (dataset, action), unless the user's membership in it was removed after the token was
 *     issued (deprovision cut-off: a later restore does not revive older tokens);
 *  5. the policy's default_grants apply to every active provisioned user;
 *  6. otherwise: denied, saying which access groups were considered.
 */
#ifndef AUTHZ_DECIDE_H
#define AUTHZ_DECIDE_H

#include "core/core.h"
#include "policies/policies.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTHZ_REASON_MAX 256

/* One access group the subject is a member of. */
struct authz_membership {
    const struct policy_group *group; /* borrowed */
    const char *via;                  /* the linked IdP group's displayName (borrowed) */
    int64_t not_before;               /* epoch seconds; tokens with iat < this may not use it */
};

/* What is known about the subject (all borrowed). */
struct authz_facts {
    const char *stale; /* non-NULL: the directory data is too old to decide on (the reason) */
    const char *tenant_mismatch; /* NULL, or the token's tid when it is not the SCIM tenant */
    const char *expected_tenant; /* for the reason text */
    bool provisioned;
    const char *unresolved; /* when !provisioned: which claims were tried, for the reason */
    bool active;
    const char *user_name;
    int64_t user_not_before; /* epoch seconds: last deactivation/deletion/re-creation */
    const struct authz_membership *memberships;
    size_t nmemberships;
    const struct policy_grant *defaults;
    size_t ndefaults;
};

struct authz_result {
    bool allowed;
    char reason[AUTHZ_REASON_MAX];
};

/* Decide one (dataset, action) for a token issued at iat (epoch seconds). Thread-safe. */
void authz_decide(const struct authz_facts *f, int64_t iat, const char *dataset,
                  enum policy_action action, struct authz_result *out);

/* One check of a request: may the subject do action on dataset? */
struct authz_check {
    const char *dataset;
    enum policy_action action;
};

#endif
