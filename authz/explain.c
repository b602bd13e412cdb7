/*
 * explain.c - /admin/v1/explain: why a user may or may not do an action on a dataset.
 *
 *   GET  /admin/v1/explain?user=<userName | externalId | SCIM id>&dataset=…&action=…
 *   POST /admin/v1/explain {"token":"<access token>","dataset":…,"action":…}
 *
 * The verdict is authz_decide's over the facts the decision path itself gathers, through the
 * same code (request_int.h: the index lookup, the tenant and staleness checks, the snapshot's
 * grants), so it is the answer /v1/authorize gives: for the token in the body (its tid and iat),
 * or for a fresh token from the provisioned tenant when the user is named. Around it, read from
 * the store for the operator (not on the decision path): every IdP group the user is a direct
 * member of, the access group each links (link state, cut-off of the membership), every grant
 * and whether it matches, the default grants, the tenant check and the directory's age, and
 * both revisions. A token in the body is verified exactly as /v1/authorize verifies it and is
 * never logged or echoed.
 */
#include "authz/authz.h"
#include "authz/decide.h"
#include "authz/request_int.h"
#include "core/core.h"
#include "policies/policies.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Longest user identifier and dataset accepted (the decision path's own dataset cap). */
#define AUTHZ_EXPLAIN_USER_MAX    512
#define AUTHZ_EXPLAIN_DATASET_MAX 256

static void authz_explain_time(cJSON *o, const char *name, int64_t t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    if (t <= 0) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON_AddStringToObject(o, name, buf);
}

static void authz_explain_str(cJSON *o, const char *name, const char *v)
{
    if (v != NULL)
        cJSON_AddStringToObject(o, name, v);
    else
        cJSON_AddNullToObject(o, name);
}

/* grants with, per grant, whether it covers (dataset, action). */
static cJSON *authz_explain_grants(const struct policy_grant *g, size_t n, const char *dataset,
                                   enum policy_action action)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject(), *acts = cJSON_CreateArray();
        cJSON_AddStringToObject(o, "dataset", g[i].dataset);
        if (g[i].actions & POLICY_ACTION_PROTECT)
            cJSON_AddItemToArray(acts, cJSON_CreateString("protect"));
        if (g[i].actions & POLICY_ACTION_UNPROTECT)
            cJSON_AddItemToArray(acts, cJSON_CreateString("unprotect"));
        cJSON_AddItemToObject(o, "actions", acts);
        cJSON_AddBoolToObject(
            o, "matches", (g[i].actions & (unsigned)action) && strcmp(g[i].dataset, dataset) == 0);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* ---- what the store says around the subject (owned copies in the request's arena) ---- */
struct authz_explain_ag {
    const char *key, *name, *source, *group_id, *group_name, *linked;
};
struct authz_explain_idp {
    const char *id, *name;
};
struct authz_explain_dir {
    struct gh_arena *a;
    struct authz_explain_ag *ags;
    size_t nags, cap_ags;
    struct authz_explain_idp *mine; /* the user's IdP groups */
    size_t nmine, cap_mine;
    struct authz_explain_idp *all; /* every IdP group (ambiguity) */
    size_t nall, cap_all;
};

static void *authz_explain_grow(struct gh_arena *a, void *v, size_t n, size_t *cap, size_t size)
{
    void *bigger;
    if (n < *cap)
        return v;
    *cap = *cap ? *cap * 2 : 16;
    bigger = gh_arena_alloc(a, *cap * size);
    if (n)
        memcpy(bigger, v, n * size);
    return bigger;
}

static const char *authz_explain_dup(struct gh_arena *a, const char *s)
{
    return s != NULL ? gh_arena_strdup(a, s) : NULL;
}

static void authz_explain_ag_row(void *ctx, const struct store_access_group *ag)
{
    struct authz_explain_dir *d = ctx;
    d->ags = authz_explain_grow(d->a, d->ags, d->nags, &d->cap_ags, sizeof(*d->ags));
    d->ags[d->nags++] = (struct authz_explain_ag){
        authz_explain_dup(d->a, ag->key),        authz_explain_dup(d->a, ag->name),
        authz_explain_dup(d->a, ag->source),     authz_explain_dup(d->a, ag->group_id),
        authz_explain_dup(d->a, ag->group_name), authz_explain_dup(d->a, ag->linked)};
}

static void authz_explain_member_row(void *ctx, const char *id, enum store_kind type,
                                     const char *display)
{
    struct authz_explain_dir *d = ctx;
    if (type != STORE_GROUP)
        return;
    d->mine = authz_explain_grow(d->a, d->mine, d->nmine, &d->cap_mine, sizeof(*d->mine));
    d->mine[d->nmine++] =
        (struct authz_explain_idp){gh_arena_strdup(d->a, id), authz_explain_dup(d->a, display)};
}

static void authz_explain_name_row(void *ctx, const char *id, const char *display_name)
{
    struct authz_explain_dir *d = ctx;
    d->all = authz_explain_grow(d->a, d->all, d->nall, &d->cap_all, sizeof(*d->all));
    d->all[d->nall++] =
        (struct authz_explain_idp){gh_arena_strdup(d->a, id), gh_arena_strdup(d->a, display_name)};
}

/* Why IdP group g links no access group: the access group with its name key, if any, and what
 * keeps them apart. */
static void authz_explain_unlinked(const struct authz_explain_dir *d,
                                   const struct authz_explain_idp *g, cJSON *path)
{
    char key[POLICY_NAME_MAX * 3 + 1], other[POLICY_NAME_MAX * 3 + 1];
    const struct authz_explain_ag *same = NULL;
    size_t named = 0;

    policy_name_key(g->name != NULL ? g->name : "", key, sizeof(key));
    for (size_t i = 0; i < d->nags && same == NULL; i++)
        if (strcmp(d->ags[i].key, key) == 0)
            same = &d->ags[i];
    cJSON_AddNullToObject(path, "access_group");
    if (same == NULL) {
        cJSON_AddStringToObject(path, "link", "unlinked IdP group: no access group has its name");
        return;
    }
    for (size_t i = 0; i < d->nall; i++) {
        policy_name_key(d->all[i].name, other, sizeof(other));
        if (strcmp(other, key) == 0)
            named++;
    }
    if (same->group_id != NULL) {
        char msg[POLICY_NAME_MAX + 128];
        snprintf(msg, sizeof(msg),
                 "unlinked IdP group: access group \"%.256s\" is linked to another IdP group "
                 "(%.36s)",
                 same->name, same->group_id);
        cJSON_AddStringToObject(path, "link", msg);
    } else if (named > 1) {
        char msg[POLICY_NAME_MAX + 128];
        snprintf(msg, sizeof(msg),
                 "ambiguous: %zu IdP groups have the name of access group \"%.256s\"; none is "
                 "linked",
                 named, same->name);
        cJSON_AddStringToObject(path, "link", msg);
    } else {
        char msg[POLICY_NAME_MAX + 128];
        snprintf(msg, sizeof(msg), "unlinked: access group \"%.256s\" is not linked to it",
                 same->name);
        cJSON_AddStringToObject(path, "link", msg);
    }
}

/* The subject's paths: identity -> IdP group -> access group -> grants. */
static cJSON *authz_explain_paths(const struct authz_explain_dir *d, const struct authz_raw *raw,
                                  const struct policy_snapshot *snap, int64_t iat,
                                  const char *dataset, enum policy_action action)
{
    cJSON *paths = cJSON_CreateArray();
    char key[POLICY_NAME_MAX * 3 + 1];

    for (size_t i = 0; i < d->nmine; i++) {
        const struct authz_explain_idp *g = &d->mine[i];
        const struct authz_explain_ag *ag = NULL;
        const struct policy_group *pg;
        const struct authz_raw_m *m = NULL;
        cJSON *path = cJSON_CreateObject(), *idp = cJSON_CreateObject(), *o;
        const char *result;

        cJSON_AddStringToObject(idp, "id", g->id);
        authz_explain_str(idp, "displayName", g->name);
        cJSON_AddItemToObject(path, "idp_group", idp);
        for (size_t k = 0; k < d->nags && ag == NULL; k++)
            if (d->ags[k].group_id != NULL && strcmp(d->ags[k].group_id, g->id) == 0)
                ag = &d->ags[k];
        if (ag == NULL) {
            authz_explain_unlinked(d, g, path);
            cJSON_AddStringToObject(path, "result", "no access group");
            cJSON_AddItemToArray(paths, path);
            continue;
        }
        policy_name_key(g->name != NULL ? g->name : "", key, sizeof(key));
        o = cJSON_AddObjectToObject(path, "access_group");
        cJSON_AddStringToObject(o, "name", ag->name);
        cJSON_AddStringToObject(o, "key", ag->key);
        cJSON_AddStringToObject(o, "source", ag->source);
        /* renamed: the pinned IdP group has another name now; the link holds */
        cJSON_AddStringToObject(o, "link", strcmp(key, ag->key) == 0 ? "linked" : "renamed");
        authz_explain_str(o, "linked", ag->linked);
        for (size_t k = 0; k < raw->nm && m == NULL; k++)
            if (strcmp(raw->m[k].key, ag->key) == 0)
                m = &raw->m[k];
        authz_explain_time(o, "cut_off", m != NULL ? m->not_before : 0);
        cJSON_AddBoolToObject(o, "cut_off_applies", m != NULL && iat < m->not_before);
        pg = policy_snapshot_group(snap, ag->key);
        if (pg == NULL) {
            cJSON_AddItemToObject(o, "grants", cJSON_CreateArray());
            result = "not in the running policy snapshot (being changed): grants nothing";
        } else {
            bool grants = policy_grants_allow(pg->grants, pg->ngrants, dataset, action);
            cJSON_AddItemToObject(o, "grants",
                                  authz_explain_grants(pg->grants, pg->ngrants, dataset, action));
            if (!grants)
                result = "no matching grant";
            else if (m == NULL)
                result = "grants, but the membership is not in the decision index yet";
            else if (iat < m->not_before)
                result = "would grant, but the membership changed after the token was issued "
                         "(cut-off)";
            else
                result = "grants";
        }
        cJSON_AddStringToObject(path, "result", result);
        cJSON_AddItemToArray(paths, path);
    }
    return paths;
}

/* GET: find the user by userName, externalId or SCIM id, trying each in the store's index (as
 * AuthZEN subjects are found). GH_OK with raw filled (found, or not with raw->why);
 * GH_E_CONFLICT (after replying 409 with the candidates) when the value names several users. */
static enum gh_status authz_explain_find(struct gh_req *r, const struct authz_ctx *ax,
                                         const char *user, struct authz_raw *raw, int64_t *out_rev,
                                         cJSON **out_matched, struct gh_err *err)
{
    struct gh_arena *a = gh_req_arena(r);
    struct authz_raw by[3];
    static const char *const attrs[3] = {"userName", "externalId", "id"};
    static const enum store_user_key keys[3] = {STORE_KEY_USER_NAME, STORE_KEY_EXTERNAL_ID,
                                                STORE_KEY_ID};
    const struct authz_raw *hit = NULL;
    cJSON *matched = cJSON_CreateArray(), *cands = NULL;
    bool ambiguous = false;
    enum gh_status st = GH_OK;

    memset(by, 0, sizeof(by));
    for (int i = 0; i < 3 && st == GH_OK; i++) {
        st = authz_raw_lookup(ax, keys[i], attrs[i], user, a, &by[i], out_rev, err);
        if (st == GH_E_NOT_FOUND) {
            st = GH_OK;
            continue;
        }
        if (st)
            break;
        if (!by[i].found) {
            ambiguous = true; /* an externalId several users share */
            continue;
        }
        cJSON_AddItemToArray(matched, cJSON_CreateString(attrs[i]));
        if (hit != NULL && strcmp(hit->id, by[i].id) != 0)
            ambiguous = true;
        if (hit == NULL)
            hit = &by[i];
    }
    if (st) {
        cJSON_Delete(matched);
        return st;
    }
    if (ambiguous) {
        cJSON *body = cJSON_CreateObject();
        cands = cJSON_AddArrayToObject(body, "candidates");
        for (int i = 0; i < 3; i++) {
            cJSON *c;
            if (!by[i].found && by[i].why == NULL)
                continue;
            c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "by", attrs[i]);
            if (by[i].found) {
                cJSON_AddStringToObject(c, "id", by[i].id);
                cJSON_AddStringToObject(c, "userName", by[i].user_name);
            } else {
                cJSON_AddStringToObject(c, "reason", by[i].why);
            }
            cJSON_AddItemToArray(cands, c);
        }
        cJSON_AddStringToObject(body, "error", "conflict");
        cJSON_AddStringToObject(body, "message",
                                "the user value names more than one SCIM user; ask by SCIM id");
        gh_reply_json(r, 409, body);
        cJSON_Delete(matched);
        return GH_E_CONFLICT;
    }
    if (hit != NULL) {
        *raw = *hit;
        raw->matched = cJSON_GetArrayItem(matched, 0)->valuestring;
        raw->matched = gh_arena_strdup(a, raw->matched);
    } else {
        memset(raw, 0, sizeof(*raw));
        raw->why = gh_arena_printf(a, "no SCIM user with userName, externalId or id %.128s", user);
    }
    *out_matched = matched;
    return GH_OK;
}

/* dataset and action, checked as /v1/authorize checks them. */
static enum gh_status authz_explain_check(const char *dataset, const char *action,
                                          enum policy_action *out_action, struct gh_err *err)
{
    if (dataset == NULL || dataset[0] == '\0' || strlen(dataset) > AUTHZ_EXPLAIN_DATASET_MAX)
        return GH_ERR(err, GH_E_INVALID, "dataset must be a non-empty string of at most %d bytes",
                      AUTHZ_EXPLAIN_DATASET_MAX);
    if (action == NULL || policy_action_parse(action, out_action, NULL) != GH_OK)
        return GH_ERR(err, GH_E_INVALID, "action must be \"protect\" or \"unprotect\"");
    return GH_OK;
}

/* The POST body: exactly token, dataset, action (strings); borrowed from json. */
static enum gh_status authz_explain_body(const cJSON *json, const char **out_token,
                                         const char **out_dataset, const char **out_action,
                                         struct gh_err *err)
{
    static const char *const members[] = {"token", "dataset", "action", NULL};
    const char *v[3] = {NULL, NULL, NULL};
    char q[80];

    if (!cJSON_IsObject(json))
        return GH_ERR(err, GH_E_INVALID, "body must be a JSON object");
    for (const cJSON *m = json->child; m != NULL; m = m->next) {
        int found = -1;
        for (int i = 0; members[i] != NULL; i++)
            if (strcmp(m->string, members[i]) == 0)
                found = i;
        if (found < 0)
            return GH_ERR(err, GH_E_INVALID, "unknown member %s",
                          gh_log_q(q, sizeof(q), m->string));
        if (!cJSON_IsString(m))
            return GH_ERR(err, GH_E_INVALID, "%s must be a string", members[found]);
        v[found] = m->valuestring;
    }
    if (v[0] == NULL || v[0][0] == '\0')
        return GH_ERR(err, GH_E_INVALID, "token is required (an access token, without Bearer)");
    *out_token = v[0];
    *out_dataset = v[1];
    *out_action = v[2];
    return GH_OK;
}

/*
 * GET and POST /admin/v1/explain (see authz.h). The context is a struct authz_admin_ctx;
 * policy_admin_auth has checked the admin token. 200 with the explanation (allowed or denied);
 * 400 for bad parameters; 409 when a user value is ambiguous; 503 when a token is given but
 * token validation is not configured. Thread-safe.
 */
enum gh_status authz_handle_explain(struct gh_req *r, struct gh_err *err)
{
    const struct authz_admin_ctx *xc = gh_req_ctx(r);
    const struct authz_ctx *ax = xc->authz;
    struct gh_arena *a = gh_req_arena(r);
    struct policy_snapshot *snap = NULL;
    struct authz_claims *claims = NULL;
    struct authz_raw raw;
    struct authz_facts f = {0};
    struct authz_result res;
    struct authz_explain_dir dir = {0};
    const char *dataset = NULL, *action_s = NULL, *user = NULL, *token = NULL, *tid = NULL;
    enum policy_action action = POLICY_ACTION_PROTECT;
    cJSON *json = NULL, *body = NULL, *matched = NULL, *o;
    int64_t iat, revision = store_revision(ax->store), age;
    enum gh_status st;

    memset(&raw, 0, sizeof(raw));
    dir.a = a;
    if (strcmp(gh_req_method(r), "POST") == 0) {
        st = gh_req_json(r, &json, err);
        if (st == GH_OK)
            st = authz_explain_body(json, &token, &dataset, &action_s, err);
    } else {
        user = gh_req_query(r, "user");
        dataset = gh_req_query(r, "dataset");
        action_s = gh_req_query(r, "action");
        st = user == NULL || user[0] == '\0' || strlen(user) > AUTHZ_EXPLAIN_USER_MAX
                 ? GH_ERR(err, GH_E_INVALID,
                          "user (a userName, externalId or SCIM id of at most %d bytes) is "
                          "required",
                          AUTHZ_EXPLAIN_USER_MAX)
                 : GH_OK;
    }
    if (st == GH_OK)
        st = authz_explain_check(dataset, action_s, &action, err);
    if (st)
        goto out;

    body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "dataset", dataset);
    cJSON_AddStringToObject(body, "action", policy_action_name(action));
    snap = policy_engine_acquire(ax->policy);
    if (token != NULL) {
        struct gh_err verr = {0};
        if (ax->verifier == NULL) {
            st = GH_ERR(err, GH_E_UNAVAILABLE,
                        "token validation is not configured (set GATEHOUSE_OIDC_DISCOVERY)");
            goto out;
        }
        st = authz_token_verify(ax->verifier, token, strlen(token), &claims, &verr);
        if (st == GH_E_UNAVAILABLE) {
            GH_ERR(err, st, "%s", verr.msg);
            goto out;
        }
        o = cJSON_AddObjectToObject(body, "token");
        if (st) {
            /* what /v1/authorize answers for this token: 401 or 403, before any decision */
            cJSON *d;
            cJSON_AddBoolToObject(o, "valid", false);
            cJSON_AddNumberToObject(o, "status", st == GH_E_FORBIDDEN ? 403 : 401);
            cJSON_AddStringToObject(o, "error", verr.msg);
            d = cJSON_AddObjectToObject(body, "decision");
            cJSON_AddBoolToObject(d, "allowed", false);
            cJSON_AddStringToObject(d, "reason",
                                    gh_arena_printf(a, "token rejected: %s", verr.msg));
            cJSON_AddStringToObject(body, "policy_revision", policy_snapshot_revision(snap));
            cJSON_AddNumberToObject(body, "revision", (double)store_revision(ax->store));
            gh_reply_json(r, 200, body);
            body = NULL;
            st = GH_OK;
            goto out;
        }
        tid = authz_claims_tid(claims);
        iat = authz_claims_iat(claims);
        cJSON_AddBoolToObject(o, "valid", true);
        authz_explain_str(o, "tid", tid);
        authz_explain_time(o, "iat", iat);
        st = authz_raw_load(ax, claims, a, &raw, &revision, err);
        if (st)
            goto out;
        authz_explain_str(o, "identity_claim", raw.found ? raw.matched : NULL);
    } else {
        iat = (int64_t)time(NULL); /* as for a token issued now */
        st = authz_explain_find(r, ax, user, &raw, &revision, &matched, err);
        if (st == GH_E_CONFLICT) {
            st = GH_OK; /* replied */
            goto out;
        }
        if (st)
            goto out;
    }

    /* the verdict: the decision path's facts, through its code */
    (void)authz_facts_env(ax, token != NULL, tid, a, &f);
    authz_facts_subject(&raw, snap, a, &f);
    authz_decide(&f, iat, dataset, action, &res);
    o = cJSON_AddObjectToObject(body, "decision");
    cJSON_AddBoolToObject(o, "allowed", res.allowed);
    cJSON_AddStringToObject(o, "reason", res.reason);
    if (token == NULL)
        cJSON_AddStringToObject(o, "as_of", "a token issued now from the provisioned tenant");

    /* the subject */
    if (raw.found) {
        o = cJSON_AddObjectToObject(body, "subject");
        cJSON_AddStringToObject(o, "id", raw.id);
        cJSON_AddStringToObject(o, "userName", raw.user_name);
        authz_explain_str(o, "externalId", raw.external_id);
        cJSON_AddBoolToObject(o, "active", raw.active);
        authz_explain_time(o, "cut_off", raw.not_before);
        cJSON_AddBoolToObject(o, "cut_off_applies", iat < raw.not_before);
        if (matched != NULL) {
            cJSON_AddItemToObject(o, "matched_by", matched);
            matched = NULL;
        } else {
            authz_explain_str(o, "matched_by", raw.matched);
        }
    } else {
        cJSON_AddNullToObject(body, "subject");
        cJSON_AddStringToObject(body, "unresolved", raw.why != NULL ? raw.why : "not provisioned");
    }

    /* the paths */
    if (raw.found) {
        st = store_user_groups(ax->store, raw.id, authz_explain_member_row, &dir, err);
        if (st == GH_OK)
            st = store_access_groups(ax->store, authz_explain_ag_row, &dir, err);
        if (st == GH_OK)
            st = store_group_names(ax->store, authz_explain_name_row, &dir, err);
        if (st)
            goto out;
        cJSON_AddItemToObject(body, "paths",
                              authz_explain_paths(&dir, &raw, snap, iat, dataset, action));
    } else {
        cJSON_AddItemToObject(body, "paths", cJSON_CreateArray());
    }
    {
        const struct policy_doc *doc = policy_snapshot_doc(snap);
        o = cJSON_AddObjectToObject(body, "default_grants");
        cJSON_AddItemToObject(o, "grants",
                              authz_explain_grants(doc->defaults, doc->ndefaults, dataset, action));
        cJSON_AddBoolToObject(
            o, "applies",
            raw.found && raw.active &&
                policy_grants_allow(doc->defaults, doc->ndefaults, dataset, action));
    }
    o = cJSON_AddObjectToObject(body, "tenant");
    cJSON_AddBoolToObject(o, "checked", token != NULL && ax->tenant[0] != '\0');
    authz_explain_str(o, "expected", ax->tenant[0] != '\0' ? ax->tenant : NULL);
    authz_explain_str(o, "token_tid", tid);
    cJSON_AddBoolToObject(o, "mismatch", f.tenant_mismatch != NULL);
    age = store_index_age(ax->store);
    o = cJSON_AddObjectToObject(body, "staleness");
    if (age == INT64_MAX)
        cJSON_AddNullToObject(o, "age_ms");
    else
        cJSON_AddNumberToObject(o, "age_ms", (double)age);
    cJSON_AddNumberToObject(o, "max_ms", (double)ax->max_staleness_ms);
    cJSON_AddBoolToObject(o, "stale", f.stale != NULL);
    cJSON_AddStringToObject(body, "policy_revision", policy_snapshot_revision(snap));
    cJSON_AddNumberToObject(body, "revision", (double)revision);
    gh_reply_json(r, 200, body);
    body = NULL;
out:
    cJSON_Delete(matched);
    cJSON_Delete(body);
    cJSON_Delete(json);
    authz_claims_release(claims);
    policy_snapshot_release(snap);
    return st;
}
