/*
 * authorize.c - one authorization request end to end, after the token is verified:
 *
 *   claims --(GATEHOUSE_IDENTITY_CLAIMS, in order)--> SCIM user (the store's in-memory index)
 *          --> its linked access groups and cut-offs (same lookup) + grants (policy snapshot)
 *          --> authz_decide() per check --> decision log + counters.
 *
 * Nothing here allows on error: a store failure fails the request (5xx), an unresolvable or
 * ambiguous subject is a denial with its reason, and an index older than GATEHOUSE_MAX_STALENESS
 * (the store unreachable that long) denies everything. The cost does not grow with the number of
 * users, groups or grants: hash lookups in the store's in-memory index (no SQL) and a snapshot
 * binary search per access group of the subject.
 */
#include "authz/authz.h"
#include "authz/decide.h"
#include "authz/decision_log.h"
#include "authz/request_int.h"
#include "core/core.h"
#include "policies/policies.h"
#include "store/store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct authz_raw_gather {
    struct authz_raw *raw;
    struct gh_arena *a;
};

static void authz_gather_access(void *ctx, const char *key, const char *group_name,
                                int64_t not_before)
{
    struct authz_raw_gather *g = ctx;
    struct authz_raw *r = g->raw;

    if (r->nm == r->cap) {
        struct authz_raw_m *bigger;
        r->cap = r->cap ? r->cap * 2 : 8;
        bigger = gh_arena_alloc(g->a, r->cap * sizeof(*bigger));
        if (r->nm)
            memcpy(bigger, r->m, r->nm * sizeof(*bigger));
        r->m = bigger;
    }
    r->m[r->nm].key = gh_arena_strdup(g->a, key);
    r->m[r->nm].via = gh_arena_strdup(g->a, group_name);
    r->m[r->nm].not_before = not_before;
    r->nm++;
}

/* The i-th GATEHOUSE_IDENTITY_CLAIMS pair "claim:attribute": the claim's value in the token (NULL
 * when absent); *out_attr points at the attribute. Borrowed from claims and the configuration. */
static const char *authz_pair_value(const struct authz_ctx *ax, const struct authz_claims *claims,
                                    size_t i, const char **out_attr)
{
    const char *colon = strchr(ax->identity_claims[i], ':');
    *out_attr = colon != NULL ? colon + 1 : "";
    return authz_claims_identity(claims, i);
}

/* The lookup's context: g first, so authz_gather_access can take it as its own. */
struct authz_lookup {
    struct authz_raw_gather g;
    struct authz_raw *raw;
};

static void authz_lookup_subject(void *ctx, const struct store_subject_view *v)
{
    struct authz_lookup *l = ctx;
    struct gh_arena *a = l->g.a;
    l->raw->id = gh_arena_strdup(a, v->id);
    l->raw->user_name = gh_arena_strdup(a, v->user_name);
    l->raw->external_id = v->external_id != NULL ? gh_arena_strdup(a, v->external_id) : NULL;
    l->raw->active = v->active;
    l->raw->not_before = v->not_before;
    l->raw->matches = v->matches;
}

/* See request_int.h. */
enum gh_status authz_raw_lookup(const struct authz_ctx *ax, enum store_user_key key,
                                const char *attr, const char *value, struct gh_arena *a,
                                struct authz_raw *raw, int64_t *out_rev, struct gh_err *err)
{
    struct gh_err lerr = {0};
    struct authz_lookup l = {{raw, a}, raw};
    int64_t nb = 0;
    enum gh_status st;

    memset(raw, 0, sizeof(*raw));
    st = store_subject_lookup(ax->store, key, value, authz_lookup_subject, authz_gather_access, &l,
                              &nb, out_rev, &lerr);
    if (st == GH_OK && raw->matches > 1) {
        /* an externalId shared by several users: fail closed */
        raw->why = gh_arena_printf(a, "%d SCIM users have %s=%.128s; refusing to guess",
                                   raw->matches, attr, value);
        raw->id = raw->user_name = raw->external_id = NULL;
        raw->nm = 0;
        return GH_OK;
    }
    if (st == GH_OK) {
        raw->found = true;
        raw->matched = attr;
        return GH_OK;
    }
    if (st != GH_E_NOT_FOUND)
        return GH_ERR(err, st, "%s", lerr.msg);
    return GH_E_NOT_FOUND;
}

/*
 * Find the subject and its access in the store's in-memory index (no SQL): each claim:attribute
 * pair in order; the first claim present whose value names a user wins. An externalId shared by
 * several users is refused (fail closed). *out_rev: the index revision the answer came from.
 */
enum gh_status authz_raw_load(const struct authz_ctx *ax, const struct authz_claims *claims,
                              struct gh_arena *a, struct authz_raw *raw, int64_t *out_rev,
                              struct gh_err *err)
{
    char tried[512];
    size_t used = 0;

    memset(raw, 0, sizeof(*raw));
    tried[0] = '\0';
    *out_rev = store_revision(ax->store);
    for (size_t i = 0; i < ax->nidentity_claims; i++) {
        const char *attr;
        const char *value = authz_pair_value(ax, claims, i, &attr);
        enum store_user_key key;
        enum gh_status st;

        if (value == NULL || *value == '\0')
            continue;
        key = strcmp(attr, "externalId") == 0 ? STORE_KEY_EXTERNAL_ID : STORE_KEY_USER_NAME;
        st = authz_raw_lookup(ax, key, attr, value, a, raw, out_rev, err);
        if (st == GH_OK) {
            if (raw->found)
                raw->matched = ax->identity_claims[i];
            return GH_OK;
        }
        if (st != GH_E_NOT_FOUND)
            return st;
        if (used < sizeof(tried)) {
            int w = snprintf(tried + used, sizeof(tried) - used, "%s%s=%.128s", used ? " or " : "",
                             attr, value);
            if (w > 0)
                used += (size_t)w;
        }
    }
    memset(raw, 0, sizeof(*raw));
    raw->why = used ? gh_arena_printf(a, "no SCIM user with %s", tried)
                    : "the token carries none of the claims in GATEHOUSE_IDENTITY_CLAIMS";
    return GH_OK;
}

/*
 * The user an AuthZEN subject identifier names (authz_subject_decide): its SCIM id, externalId or
 * userName. All three are looked up; when they name different users, or an externalId is shared,
 * the subject is refused as ambiguous (fail closed) rather than resolved by an order of
 * preference a PEP could not see. *out_rev: the revision of the last look-up.
 */
static enum gh_status authz_raw_load_ident(const struct authz_ctx *ax, const char *ident,
                                           struct gh_arena *a, struct authz_raw *raw,
                                           int64_t *out_rev, struct gh_err *err)
{
    static const struct {
        enum store_user_key key;
        const char *attr;
    } keys[] = {{STORE_KEY_ID, "id"},
                {STORE_KEY_EXTERNAL_ID, "externalId"},
                {STORE_KEY_USER_NAME, "userName"}};

    memset(raw, 0, sizeof(*raw));
    *out_rev = store_revision(ax->store);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        struct authz_raw one;
        enum gh_status st =
            authz_raw_lookup(ax, keys[i].key, keys[i].attr, ident, a, &one, out_rev, err);

        if (st == GH_E_NOT_FOUND)
            continue;
        if (st != GH_OK)
            return st;
        /* found implies an id; a NULL one is treated as a different user (fail closed) */
        if (!one.found ||
            (raw->found && (raw->id == NULL || one.id == NULL || strcmp(raw->id, one.id) != 0))) {
            memset(raw, 0, sizeof(*raw));
            raw->why = gh_arena_printf(a,
                                       "the subject id %.128s names more than one SCIM user (by "
                                       "id, externalId or userName); refusing to guess",
                                       ident);
            return GH_OK;
        }
        if (!raw->found)
            *raw = one;
    }
    if (!raw->found)
        raw->why = gh_arena_printf(a, "no SCIM user with id, externalId or userName %.128s", ident);
    return GH_OK;
}

/* See request_int.h. The tenant first, then the directory's age, as decide.h orders them. */
bool authz_facts_env(const struct authz_ctx *ax, bool has_token, const char *tid,
                     struct gh_arena *a, struct authz_facts *f)
{
    const char *expected = ax->tenant;
    int64_t age;

    if (has_token && expected[0] != '\0' && (tid == NULL || strcasecmp(tid, expected) != 0)) {
        f->tenant_mismatch = tid != NULL ? tid : "(none)";
        f->expected_tenant = expected;
        return false;
    }
    age = store_index_age(ax->store);
    if (age == INT64_MAX) {
        f->stale = "a directory write this replica acknowledged could not be read back from the "
                   "store (unreachable since): a deprovisioned user must not keep access";
        return false;
    }
    if (age > ax->max_staleness_ms) {
        f->stale = gh_arena_printf(
            a,
            "the directory data is %llds old (the store has been unreachable; "
            "GATEHOUSE_MAX_STALENESS is %llds): a deprovisioned user must not keep access",
            (long long)(age / 1000), (long long)(ax->max_staleness_ms / 1000));
        return false;
    }
    return true;
}

/* See request_int.h. */
void authz_facts_subject(const struct authz_raw *raw, const struct policy_snapshot *snap,
                         struct gh_arena *a, struct authz_facts *f)
{
    const struct policy_doc *doc = policy_snapshot_doc(snap);

    f->provisioned = raw->found;
    f->unresolved = raw->why;
    if (raw->found) {
        struct authz_membership *m = gh_arena_alloc(a, (raw->nm ? raw->nm : 1) * sizeof(*m));
        f->active = raw->active;
        f->user_name = raw->user_name;
        f->user_not_before = raw->not_before;
        for (size_t i = 0; i < raw->nm; i++) {
            /* linked in the store but not in this snapshot (being changed): grants nothing */
            const struct policy_group *pg = policy_snapshot_group(snap, raw->m[i].key);
            if (pg == NULL)
                continue;
            m[f->nmemberships].group = pg;
            m[f->nmemberships].via = raw->m[i].via;
            m[f->nmemberships].not_before = raw->m[i].not_before;
            f->nmemberships++;
        }
        f->memberships = m;
    }
    f->defaults = doc->defaults;
    f->ndefaults = doc->ndefaults;
}

/* The identity claims for the decision log of an unprovisioned subject: each distinct claim
 * name of GATEHOUSE_IDENTITY_CLAIMS (arena) with the token's value (borrowed from claims, NULL
 * when absent), in configuration order. Returns how many were written (<= GH_IDENT_PAIRS_MAX).
 * Distinct names keep the logged object free of duplicate members. */
static size_t authz_claims_for_log(const struct authz_ctx *ax, const struct authz_claims *claims,
                                   struct gh_arena *a, const char **names, const char **values)
{
    const char *const *pairs = ax->identity_claims;
    size_t n = 0;

    for (size_t i = 0; i < ax->nidentity_claims && i < GH_IDENT_PAIRS_MAX; i++) {
        const char *pair = pairs[i], *attr;
        size_t len = strcspn(pair, ":");
        bool seen = len == 0;
        for (size_t k = 0; k < n && !seen; k++)
            seen = strlen(names[k]) == len && memcmp(names[k], pair, len) == 0;
        if (seen)
            continue;
        names[n] = gh_arena_strndup(a, pair, len);
        values[n] = authz_pair_value(ax, claims, i, &attr);
        n++;
    }
    return n;
}

/* Who a decision is for: a verified token's subject, or a subject named by an identifier. */
struct authz_who {
    const struct authz_claims *claims; /* NULL: ident names the subject */
    const char *ident;
    const char *tid;      /* the token's tid; NULL for an identifier */
    const char *token_id; /* uti or jti; NULL for an identifier */
    int64_t iat;          /* the token's iat; now for an identifier (a fresh token) */
};

/*
 * The one decision path of authz_request_decide and authz_subject_decide: freshness and tenant
 * (tokens only: a PEP naming a subject is trusted for it, AuthZEN 1.0 "Trust") first, then the
 * subject's facts from the index, then authz_decide per check, the decision log and the counters.
 */
static enum gh_status authz_decide_for(const struct authz_ctx *ax, const struct authz_who *who,
                                       const struct authz_check *checks, size_t n,
                                       struct gh_arena *a, struct authz_outcome *out,
                                       struct gh_err *err)
{
    struct policy_snapshot *snap = policy_engine_acquire(ax->policy);
    struct authz_raw raw;
    struct authz_facts f = {0};
    const char *tid = who->tid;
    const char *claim_names[GH_IDENT_PAIRS_MAX], *claim_values[GH_IDENT_PAIRS_MAX];
    size_t nclaims = 0;
    enum gh_status st = GH_OK;

    memset(&raw, 0, sizeof(raw));
    memset(out, 0, sizeof(*out));
    authz_decision_id_new(out->decision_id, sizeof(out->decision_id));
    /* 16 hex digits and a NUL, computed when the snapshot was built */
    memcpy(out->policy_revision, policy_snapshot_revision(snap), sizeof(out->policy_revision));
    out->tenant = tid;
    out->results = gh_arena_alloc(a, (n ? n : 1) * sizeof(*out->results));

    if (authz_facts_env(ax, who->claims != NULL, tid, a, &f)) {
        st = who->claims != NULL
                 ? authz_raw_load(ax, who->claims, a, &raw, &out->revision, err)
                 : authz_raw_load_ident(ax, who->ident, a, &raw, &out->revision, err);
        if (st)
            goto out;
    } else if (f.stale != NULL) {
        out->revision = store_revision(ax->store);
    }
    authz_facts_subject(&raw, snap, a, &f);
    if (raw.found) {
        out->subject_id = raw.id;
        out->subject_user_name = raw.user_name;
        out->subject_external_id = raw.external_id;
    }
    if (out->subject_id == NULL && who->claims != NULL) {
        nclaims = authz_claims_for_log(ax, who->claims, a, claim_names, claim_values);
    } else if (out->subject_id == NULL) {
        claim_names[0] = "subject_id"; /* what the PEP sent, for the log of a refusal */
        claim_values[0] = who->ident;
        nclaims = 1;
    }
    out->allowed = n > 0;
    for (size_t i = 0; i < n; i++) {
        struct authz_decision_entry e;
        authz_decide(&f, who->iat, checks[i].dataset, checks[i].action, &out->results[i]);
        out->allowed = out->allowed && out->results[i].allowed;
        e = (struct authz_decision_entry){
            out->decision_id,
            out->subject_id,
            out->subject_user_name,
            tid,
            checks[i].dataset,
            policy_action_name(checks[i].action),
            out->results[i].allowed,
            out->results[i].reason,
            who->token_id,
            claim_names,
            claim_values,
            nclaims,
            out->revision,
            out->policy_revision,
        };
        authz_decision_log_write(ax->decisions, &e);
    }
out:
    policy_snapshot_release(snap);
    return st;
}

/* See authz.h. */
enum gh_status authz_request_decide(const struct authz_ctx *ax, const struct authz_claims *claims,
                                    const struct authz_check *checks, size_t n, struct gh_arena *a,
                                    struct authz_outcome *out, struct gh_err *err)
{
    struct authz_who who = {claims, NULL, authz_claims_tid(claims), authz_claims_token_id(claims),
                            authz_claims_iat(claims)};
    return authz_decide_for(ax, &who, checks, n, a, out, err);
}

/* See authz.h: as a fresh token (iat = now) would be decided, for the user ident names. */
enum gh_status authz_subject_decide(const struct authz_ctx *ax, const char *ident,
                                    const struct authz_check *checks, size_t n, struct gh_arena *a,
                                    struct authz_outcome *out, struct gh_err *err)
{
    struct authz_who who = {NULL, ident, NULL, NULL, (int64_t)time(NULL)};
    return authz_decide_for(ax, &who, checks, n, a, out, err);
}

/* See authz.h. */
enum gh_status authz_wait_revision(const struct authz_ctx *ax, int64_t min_revision,
                                   struct gh_err *err)
{
    if (min_revision <= 0 || store_revision_wait(ax->store, min_revision, ax->revision_wait_ms))
        return GH_OK;
    return GH_ERR(err, GH_E_UNAVAILABLE,
                  "this replica is at revision %lld and did not reach min_revision %lld within "
                  "%d ms; retry",
                  (long long)store_revision(ax->store), (long long)min_revision,
                  ax->revision_wait_ms);
}

/* See authz.h. */
void authz_decide_metrics(void *ctx, struct gh_buf *out)
{
    unsigned long allowed, denied, errors;
    (void)ctx;
    authz_decision_log_counts(&allowed, &denied, &errors);
    gh_metrics_family(out, "gatehouse_decisions_total", "counter",
                      "Authorization decisions (one per check) by result.");
    gh_metrics_sample(out, "gatehouse_decisions_total", "result=\"allow\"", (double)allowed);
    gh_metrics_sample(out, "gatehouse_decisions_total", "result=\"deny\"", (double)denied);
    gh_metrics_family(out, "gatehouse_decision_log_write_failures_total", "counter",
                      "Decision-log lines that could not be written.");
    gh_metrics_sample(out, "gatehouse_decision_log_write_failures_total", "", (double)errors);
}
