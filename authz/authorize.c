/*
 * authorize.c - one authorization request end to end, after the token is verified:
 *
 *   claims --(GATEHOUSE_IDENTITY_CLAIMS, in order)--> SCIM user (store, indexed lookups)
 *          --> its linked access groups and cut-offs (store) + grants (policy snapshot)
 *          --> authz_decide() per check --> decision log + counters.
 *
 * Nothing here allows on error: a store failure fails the request (5xx), an unresolvable or
 * ambiguous subject is a denial with its reason. The cost does not grow with the number of
 * users, groups or grants: two indexed lookups and a snapshot binary search per access group
 * of the subject.
 */
#include "authz/authz.h"
#include "authz/decide.h"
#include "authz/decision_log.h"
#include "policies/engine.h"
#include "scim/scim.h"
#include "sidecar/gatehouse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Copy the first GUID (8-4-4-4-12 hex) found in s into out; false when there is none. */
static bool authz_guid_in(const char *s, char out[37])
{
    static const int dash[] = {8, 13, 18, 23};
    for (; s != NULL && strlen(s) >= 36; s++) {
        bool ok = true;
        for (int i = 0; i < 36 && ok; i++) {
            bool is_dash = i == dash[0] || i == dash[1] || i == dash[2] || i == dash[3];
            ok = is_dash ? s[i] == '-' : isxdigit((unsigned char)s[i]) != 0;
        }
        if (ok) {
            memcpy(out, s, 36);
            out[36] = '\0';
            return true;
        }
    }
    return false;
}

/* The tenant the SCIM data comes from: GATEHOUSE_TENANTS' first entry, else the tenant named in
 * the configured issuer or discovery URL; "" when none is known (no tenant check). */
static void authz_expected_tenant(const struct gh_config *cfg, char out[37])
{
    out[0] = '\0';
    if (cfg->tenants.count > 0) {
        snprintf(out, 37, "%s", cfg->tenants.items[0]);
        return;
    }
    for (size_t i = 0; i < cfg->issuers.count; i++)
        if (authz_guid_in(cfg->issuers.items[i], out))
            return;
    if (cfg->oidc_discovery != NULL)
        authz_guid_in(cfg->oidc_discovery, out);
}

struct authz_gather {
    const struct policy_snapshot *snap;
    struct gh_arena *a;
    struct authz_membership *m;
    size_t n, cap;
};

static void authz_gather_access(void *ctx, const char *key, const char *group_name,
                                int64_t not_before)
{
    struct authz_gather *g = ctx;
    const struct policy_group *pg = policy_snapshot_group(g->snap, key);

    if (pg == NULL) /* linked in the store but not (yet) in this snapshot: grants nothing */
        return;
    if (g->n == g->cap) {
        struct authz_membership *bigger;
        g->cap = g->cap ? g->cap * 2 : 8;
        bigger = gh_arena_alloc(g->a, g->cap * sizeof(*bigger));
        if (g->n)
            memcpy(bigger, g->m, g->n * sizeof(*bigger));
        g->m = bigger;
    }
    g->m[g->n].group = pg;
    g->m[g->n].via = gh_arena_strdup(g->a, group_name);
    g->m[g->n].not_before = not_before;
    g->n++;
}

static int64_t authz_claims_int(const struct authz_claims *c, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(authz_claims_json(c), name);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

/*
 * Find the subject: each claim:attribute pair in order; the first claim present whose value
 * names a user wins. An externalId shared by several users is refused (fail closed).
 */
static enum gh_status authz_resolve(struct gh_app *app, const struct authz_claims *claims,
                                    struct gh_arena *a, struct scim_subject *sub, bool *found,
                                    const char **why, struct gh_err *err)
{
    const struct gh_list *pairs = &app->cfg->identity_claims;
    char tried[512];
    size_t used = 0;

    *found = false;
    tried[0] = '\0';
    for (size_t i = 0; i < pairs->count; i++) {
        const char *pair = pairs->items[i];
        const char *colon = strchr(pair, ':');
        char claim[64];
        const char *value;
        enum scim_user_key key;
        struct gh_err lerr = {0};
        enum gh_status st;

        if (colon == NULL || (size_t)(colon - pair) >= sizeof(claim))
            continue;
        memcpy(claim, pair, (size_t)(colon - pair));
        claim[colon - pair] = '\0';
        value = authz_claims_str(claims, claim);
        if (value == NULL || *value == '\0')
            continue;
        key = strcmp(colon + 1, "externalId") == 0 ? SCIM_KEY_EXTERNAL_ID : SCIM_KEY_USER_NAME;
        st = scim_store_subject_find(app->store, key, value, sub, &lerr);
        if (st == GH_OK && sub->matches > 1) {
            *why = gh_arena_printf(a, "%d SCIM users have %s=%.128s; refusing to guess",
                                   sub->matches, colon + 1, value);
            scim_subject_clear(sub);
            return GH_OK;
        }
        if (st == GH_OK) {
            *found = true;
            return GH_OK;
        }
        scim_subject_clear(sub);
        if (st != GH_E_NOT_FOUND)
            return GH_ERR(err, st, "%s", lerr.msg);
        if (used < sizeof(tried)) {
            int w = snprintf(tried + used, sizeof(tried) - used, "%s%s=%.128s",
                             used ? " or " : "", colon + 1, value);
            if (w > 0)
                used += (size_t)w;
        }
    }
    *why = used ? gh_arena_printf(a, "no SCIM user with %s", tried)
                : "the token carries none of the claims in GATEHOUSE_IDENTITY_CLAIMS";
    return GH_OK;
}

/* See decide.h. */
enum gh_status authz_request_decide(struct gh_app *app, const struct authz_claims *claims,
                                    const struct authz_check *checks, size_t n,
                                    struct gh_arena *a, struct authz_outcome *out,
                                    struct gh_err *err)
{
    struct policy_snapshot *snap = policy_engine_acquire(app->policy);
    const struct policy_doc *doc = policy_snapshot_doc(snap);
    struct scim_subject sub;
    struct authz_facts f = {0};
    struct authz_gather g = {snap, a, NULL, 0, 0};
    char expected[37];
    const char *tid = authz_claims_str(claims, "tid");
    const char *why = NULL;
    const char *token_id = authz_claims_str(claims, "uti");
    int64_t iat = authz_claims_int(claims, "iat");
    bool found = false;
    enum gh_status st;

    memset(&sub, 0, sizeof(sub));
    memset(out, 0, sizeof(*out));
    authz_decision_id_new(out->decision_id, sizeof(out->decision_id));
    out->tenant = tid;
    out->results = gh_arena_alloc(a, (n ? n : 1) * sizeof(*out->results));
    if (token_id == NULL)
        token_id = authz_claims_str(claims, "jti");

    authz_expected_tenant(app->cfg, expected);
    if (expected[0] != '\0' && (tid == NULL || strcasecmp(tid, expected) != 0)) {
        f.tenant_mismatch = tid != NULL ? tid : "(none)";
        f.expected_tenant = expected;
    } else {
        st = authz_resolve(app, claims, a, &sub, &found, &why, err);
        if (st)
            goto out;
    }
    f.provisioned = found;
    f.unresolved = why;
    if (found) {
        f.active = sub.active;
        f.user_name = gh_arena_strdup(a, sub.user_name);
        f.user_not_before = sub.not_before;
        out->subject_id = gh_arena_strdup(a, sub.id);
        out->subject_user_name = f.user_name;
        out->subject_external_id = sub.external_id ? gh_arena_strdup(a, sub.external_id) : NULL;
        st = scim_store_subject_access(app->store, sub.id, authz_gather_access, &g, err);
        if (st)
            goto out;
        f.memberships = g.m;
        f.nmemberships = g.n;
    }
    f.defaults = doc->defaults;
    f.ndefaults = doc->ndefaults;
    out->allowed = n > 0;
    for (size_t i = 0; i < n; i++) {
        struct authz_decision_entry e;
        authz_decide(&f, iat, checks[i].dataset, checks[i].action, &out->results[i]);
        out->allowed = out->allowed && out->results[i].allowed;
        e = (struct authz_decision_entry){
            out->decision_id, out->subject_id,
            out->subject_user_name, tid,
            checks[i].dataset,  policy_action_name(checks[i].action),
            out->results[i].allowed, out->results[i].reason,
            token_id,
        };
        authz_decision_log_write(app->decisions, &e);
    }
    st = GH_OK;
out:
    scim_subject_clear(&sub);
    policy_snapshot_release(snap);
    return st;
}

/* See decide.h. */
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
