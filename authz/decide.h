/*
 * decide.h - the protect/unprotect decision itself: pure logic over facts gathered elsewhere
 * (the verified token, the identity store, the policy). No I/O, no locks, no allocation.
 *
 * The rules, in order (the first that applies gives the reason):
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

#include "policies/policy.h"
#include "sidecar/buf.h"
#include "sidecar/err.h"

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

/* ---- a whole request: verified claims -> identity -> facts -> one result per check ---- */
struct gh_app;
struct gh_arena;
struct gh_config;
struct authz_claims;

struct authz_check {
    const char *dataset;
    enum policy_action action;
};

struct authz_outcome {
    bool allowed; /* every check allowed */
    char decision_id[40];
    const char *subject_id;        /* NULL when not provisioned (arena) */
    const char *subject_user_name; /* arena or NULL */
    const char *subject_external_id;
    const char *tenant;           /* the token's tid or NULL (borrowed from the claims) */
    struct authz_result *results; /* n entries (arena) */
};

/* Resolve the subject of verified claims to a provisioned user (GATEHOUSE_IDENTITY_CLAIMS), gather
 * its facts from the store and the policy snapshot, decide every check, write the decision log
 * and count the results. A store failure is an error (the caller answers 5xx; it never allows).
 * Read-your-writes: facts are read after every acknowledged SCIM write. Thread-safe. */
enum gh_status authz_request_decide(struct gh_app *app, const struct authz_claims *claims,
                                    const struct authz_check *checks, size_t n, struct gh_arena *a,
                                    struct authz_outcome *out, struct gh_err *err);
/* The tenant the SCIM data comes from: GATEHOUSE_TENANTS' first entry (borrowed from cfg), else
 * the tenant GUID named in the configured issuer or discovery URL (copied into buf); "" when none
 * is known (no tenant check). Computed once at start-up into gh_app.tenant. */
const char *authz_expected_tenant(const struct gh_config *cfg, char buf[37]);
/* The subject-facts cache (see authorize.c); at most max_entries subjects. Thread-safe. */
struct authz_facts_cache;
struct authz_facts_cache *authz_facts_cache_new(size_t max_entries); /* caller frees */
void authz_facts_cache_free(struct authz_facts_cache *c);            /* NULL is a no-op */
/* /metrics collector: decisions by result, decision-log write failures (ctx unused). */
void authz_decide_metrics(void *ctx, struct gh_buf *out);

#endif
