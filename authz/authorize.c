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
#include "core/core.h"
#include "policies/policies.h"
#include "store/store.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What the store says about a subject, independent of the policy snapshot (all in the arena
 * of the request, or malloc'd inside the facts cache). */
struct authz_raw_m {
    const char *key, *via;
    int64_t not_before;
};
struct authz_raw {
    bool found;
    const char *why; /* when !found */
    const char *id, *user_name, *external_id;
    bool active;
    int64_t not_before;
    struct authz_raw_m *m;
    size_t nm, cap;
};

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

/* ---- facts cache ----
 * Subject facts keyed by the identity claims that resolve them, tagged with the store's write
 * generation: any committed SCIM write makes every entry stale (read-your-writes), so between
 * provisioning cycles a decision costs no SQL at all. Bounded: a full shard is emptied. */
#define AUTHZ_FACTS_SHARDS  64
#define AUTHZ_FACTS_BUCKETS 1024

struct authz_fact {
    struct authz_fact *next;
    uint64_t hash;
    char *ident;
    uint64_t generation;
    struct authz_raw raw; /* strings and m malloc'd */
};

struct authz_facts_shard {
    pthread_mutex_t lock;
    struct authz_fact *buckets[AUTHZ_FACTS_BUCKETS];
    size_t count;
};

struct authz_facts_cache {
    size_t per_shard;
    struct authz_facts_shard shards[AUTHZ_FACTS_SHARDS];
};

static void authz_fact_free(struct authz_fact *f)
{
    free(f->ident);
    free((char *)f->raw.why);
    free((char *)f->raw.id);
    free((char *)f->raw.user_name);
    free((char *)f->raw.external_id);
    for (size_t i = 0; i < f->raw.nm; i++) {
        free((char *)f->raw.m[i].key);
        free((char *)f->raw.m[i].via);
    }
    free(f->raw.m);
    free(f);
}

/* See authz.h. */
struct authz_facts_cache *authz_facts_cache_new(size_t max_entries)
{
    struct authz_facts_cache *c = gh_xcalloc(1, sizeof(*c));
    c->per_shard = max_entries / AUTHZ_FACTS_SHARDS;
    for (int i = 0; i < AUTHZ_FACTS_SHARDS; i++)
        pthread_mutex_init(&c->shards[i].lock, NULL);
    return c;
}

static void authz_facts_shard_clear(struct authz_facts_shard *sh)
{
    for (int b = 0; b < AUTHZ_FACTS_BUCKETS; b++) {
        struct authz_fact *f = sh->buckets[b], *next;
        for (; f != NULL; f = next) {
            next = f->next;
            authz_fact_free(f);
        }
        sh->buckets[b] = NULL;
    }
    sh->count = 0;
}

/* See authz.h. */
void authz_facts_cache_free(struct authz_facts_cache *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < AUTHZ_FACTS_SHARDS; i++) {
        authz_facts_shard_clear(&c->shards[i]);
        pthread_mutex_destroy(&c->shards[i].lock);
    }
    free(c);
}

static uint64_t authz_fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static const char *authz_dup_a(struct gh_arena *a, const char *s)
{
    return s != NULL ? gh_arena_strdup(a, s) : NULL;
}

static char *authz_dup_m(const char *s)
{
    return s != NULL ? gh_xstrdup(s) : NULL;
}

/* Copy a current entry into the request's arena; false on a miss or a stale entry. */
static bool authz_facts_get(struct authz_facts_cache *c, const char *ident, uint64_t gen,
                            struct gh_arena *a, struct authz_raw *out)
{
    uint64_t h = authz_fnv1a(ident);
    struct authz_facts_shard *sh = &c->shards[h % AUTHZ_FACTS_SHARDS];
    bool hit = false;

    pthread_mutex_lock(&sh->lock);
    for (struct authz_fact *f = sh->buckets[(h / AUTHZ_FACTS_SHARDS) % AUTHZ_FACTS_BUCKETS];
         f != NULL; f = f->next) {
        if (f->hash != h || f->generation != gen || strcmp(f->ident, ident) != 0)
            continue;
        *out = f->raw;
        out->why = authz_dup_a(a, f->raw.why);
        out->id = authz_dup_a(a, f->raw.id);
        out->user_name = authz_dup_a(a, f->raw.user_name);
        out->external_id = authz_dup_a(a, f->raw.external_id);
        out->m = gh_arena_alloc(a, (f->raw.nm ? f->raw.nm : 1) * sizeof(*out->m));
        for (size_t i = 0; i < f->raw.nm; i++) {
            out->m[i].key = gh_arena_strdup(a, f->raw.m[i].key);
            out->m[i].via = gh_arena_strdup(a, f->raw.m[i].via);
            out->m[i].not_before = f->raw.m[i].not_before;
        }
        out->cap = out->nm;
        hit = true;
        break;
    }
    pthread_mutex_unlock(&sh->lock);
    return hit;
}

/* Remember raw (deep-copied) for ident at generation gen, replacing an older entry. */
static void authz_facts_put(struct authz_facts_cache *c, const char *ident, uint64_t gen,
                            const struct authz_raw *raw)
{
    uint64_t h = authz_fnv1a(ident);
    struct authz_facts_shard *sh = &c->shards[h % AUTHZ_FACTS_SHARDS];
    struct authz_fact **slot, *f = gh_xcalloc(1, sizeof(*f));

    f->hash = h;
    f->ident = gh_xstrdup(ident);
    f->generation = gen;
    f->raw = *raw;
    f->raw.why = authz_dup_m(raw->why);
    f->raw.id = authz_dup_m(raw->id);
    f->raw.user_name = authz_dup_m(raw->user_name);
    f->raw.external_id = authz_dup_m(raw->external_id);
    f->raw.m = gh_xcalloc(raw->nm ? raw->nm : 1, sizeof(*f->raw.m));
    for (size_t i = 0; i < raw->nm; i++) {
        f->raw.m[i].key = gh_xstrdup(raw->m[i].key);
        f->raw.m[i].via = gh_xstrdup(raw->m[i].via);
        f->raw.m[i].not_before = raw->m[i].not_before;
    }
    f->raw.cap = raw->nm;
    pthread_mutex_lock(&sh->lock);
    if (sh->count >= c->per_shard)
        authz_facts_shard_clear(sh);
    slot = &sh->buckets[(h / AUTHZ_FACTS_SHARDS) % AUTHZ_FACTS_BUCKETS];
    for (struct authz_fact **p = slot; *p != NULL; p = &(*p)->next) {
        if ((*p)->hash == h && strcmp((*p)->ident, ident) == 0) {
            struct authz_fact *old = *p;
            *p = old->next;
            authz_fact_free(old);
            sh->count--;
            break;
        }
    }
    f->next = *slot;
    *slot = f;
    sh->count++;
    pthread_mutex_unlock(&sh->lock);
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

/* The cache key: every configured claim's value, in order, each as "<length>:<value>;" ("0:;"
 * for absent ones): length-prefixed, so no value can run into the next one. */
static const char *authz_ident(const struct authz_ctx *ax, const struct authz_claims *claims,
                               struct gh_arena *a)
{
    const char *vals[GH_IDENT_PAIRS_MAX];
    size_t lens[GH_IDENT_PAIRS_MAX], total = 1, npairs = ax->nidentity_claims;
    char *out, *o;

    if (npairs > GH_IDENT_PAIRS_MAX)
        npairs = GH_IDENT_PAIRS_MAX; /* the configuration refuses more */
    for (size_t i = 0; i < npairs; i++) {
        const char *attr;
        vals[i] = authz_pair_value(ax, claims, i, &attr);
        lens[i] = vals[i] != NULL ? strlen(vals[i]) : 0;
        total += lens[i] + 22; /* digits of a size_t, ':' and ';' */
    }
    o = out = gh_arena_alloc(a, total);
    for (size_t i = 0; i < npairs; i++) {
        char digits[21];
        size_t nd = 0, len = lens[i];
        do {
            digits[nd++] = (char)('0' + len % 10);
            len /= 10;
        } while (len > 0);
        while (nd > 0)
            *o++ = digits[--nd];
        *o++ = ':';
        memcpy(o, vals[i] != NULL ? vals[i] : "", lens[i]);
        o += lens[i];
        *o++ = ';';
    }
    *o = '\0';
    return out;
}

/*
 * Find the subject and its access from the store: each claim:attribute pair in order; the first
 * claim present whose value names a user wins. An externalId shared by several users is refused
 * (fail closed).
 */
static enum gh_status authz_raw_load(const struct authz_ctx *ax, const struct authz_claims *claims,
                                     struct gh_arena *a, struct authz_raw *raw, struct gh_err *err)
{
    struct store_subject sub;
    char tried[512];
    size_t used = 0;
    enum gh_status st = GH_OK;

    memset(raw, 0, sizeof(*raw));
    memset(&sub, 0, sizeof(sub));
    tried[0] = '\0';
    for (size_t i = 0; i < ax->nidentity_claims; i++) {
        const char *attr;
        const char *value = authz_pair_value(ax, claims, i, &attr);
        enum store_user_key key;
        struct gh_err lerr = {0};

        if (value == NULL || *value == '\0')
            continue;
        key = strcmp(attr, "externalId") == 0 ? STORE_KEY_EXTERNAL_ID : STORE_KEY_USER_NAME;
        st = store_subject_find(ax->store, key, value, &sub, &lerr);
        if (st == GH_OK && sub.matches > 1) {
            raw->why = gh_arena_printf(a, "%d SCIM users have %s=%.128s; refusing to guess",
                                       sub.matches, attr, value);
            store_subject_clear(&sub);
            return GH_OK;
        }
        if (st == GH_OK) {
            struct authz_raw_gather g = {raw, a};
            raw->found = true;
            raw->id = gh_arena_strdup(a, sub.id);
            raw->user_name = gh_arena_strdup(a, sub.user_name);
            raw->external_id = sub.external_id ? gh_arena_strdup(a, sub.external_id) : NULL;
            raw->active = sub.active;
            raw->not_before = sub.not_before;
            store_subject_clear(&sub);
            return store_subject_access(ax->store, raw->id, authz_gather_access, &g, err);
        }
        store_subject_clear(&sub);
        if (st != GH_E_NOT_FOUND)
            return GH_ERR(err, st, "%s", lerr.msg);
        if (used < sizeof(tried)) {
            int w = snprintf(tried + used, sizeof(tried) - used, "%s%s=%.128s", used ? " or " : "",
                             attr, value);
            if (w > 0)
                used += (size_t)w;
        }
    }
    raw->why = used ? gh_arena_printf(a, "no SCIM user with %s", tried)
                    : "the token carries none of the claims in GATEHOUSE_IDENTITY_CLAIMS";
    return GH_OK;
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

/* See authz.h. */
enum gh_status authz_request_decide(const struct authz_ctx *ax, const struct authz_claims *claims,
                                    const struct authz_check *checks, size_t n, struct gh_arena *a,
                                    struct authz_outcome *out, struct gh_err *err)
{
    struct policy_snapshot *snap = policy_engine_acquire(ax->policy);
    const struct policy_doc *doc = policy_snapshot_doc(snap);
    struct authz_raw raw;
    struct authz_facts f = {0};
    struct authz_membership *m = NULL;
    const char *expected = ax->tenant;
    const char *tid = authz_claims_tid(claims);
    const char *token_id = authz_claims_token_id(claims);
    int64_t iat = authz_claims_iat(claims);
    const char *claim_names[GH_IDENT_PAIRS_MAX], *claim_values[GH_IDENT_PAIRS_MAX];
    size_t nclaims = 0;
    enum gh_status st = GH_OK;

    memset(&raw, 0, sizeof(raw));
    memset(out, 0, sizeof(*out));
    authz_decision_id_new(out->decision_id, sizeof(out->decision_id));
    out->tenant = tid;
    out->results = gh_arena_alloc(a, (n ? n : 1) * sizeof(*out->results));

    if (expected[0] != '\0' && (tid == NULL || strcasecmp(tid, expected) != 0)) {
        f.tenant_mismatch = tid != NULL ? tid : "(none)";
        f.expected_tenant = expected;
    } else {
        /* The generation is read before the store: a write racing with this load leaves the
         * entry tagged older, so it is reloaded next time (never the other way round). */
        uint64_t gen = store_generation(ax->store);
        const char *ident = authz_ident(ax, claims, a);
        if (ax->facts == NULL || !authz_facts_get(ax->facts, ident, gen, a, &raw)) {
            st = authz_raw_load(ax, claims, a, &raw, err);
            if (st)
                goto out;
            if (ax->facts != NULL)
                authz_facts_put(ax->facts, ident, gen, &raw);
        }
    }
    f.provisioned = raw.found;
    f.unresolved = raw.why;
    if (raw.found) {
        f.active = raw.active;
        f.user_name = raw.user_name;
        f.user_not_before = raw.not_before;
        out->subject_id = raw.id;
        out->subject_user_name = raw.user_name;
        out->subject_external_id = raw.external_id;
        m = gh_arena_alloc(a, (raw.nm ? raw.nm : 1) * sizeof(*m));
        for (size_t i = 0; i < raw.nm; i++) {
            /* linked in the store but not in this snapshot (being changed): grants nothing */
            const struct policy_group *pg = policy_snapshot_group(snap, raw.m[i].key);
            if (pg == NULL)
                continue;
            m[f.nmemberships].group = pg;
            m[f.nmemberships].via = raw.m[i].via;
            m[f.nmemberships].not_before = raw.m[i].not_before;
            f.nmemberships++;
        }
        f.memberships = m;
    }
    f.defaults = doc->defaults;
    f.ndefaults = doc->ndefaults;
    if (out->subject_id == NULL)
        nclaims = authz_claims_for_log(ax, claims, a, claim_names, claim_values);
    out->allowed = n > 0;
    for (size_t i = 0; i < n; i++) {
        struct authz_decision_entry e;
        authz_decide(&f, iat, checks[i].dataset, checks[i].action, &out->results[i]);
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
            token_id,
            claim_names,
            claim_values,
            nclaims,
        };
        authz_decision_log_write(ax->decisions, &e);
    }
out:
    policy_snapshot_release(snap);
    return st;
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
