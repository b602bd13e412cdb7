/*
 * authzen.c - OpenID AuthZEN Authorization API 1.0 over gatehouse's decisions:
 * POST /access/v1/evaluation, POST /access/v1/evaluations (§Access Evaluations API, with
 * options.evaluations_semantic) and GET /.well-known/authzen-configuration (§PDP Metadata).
 *
 * The PEP authenticates with GATEHOUSE_AUTHZEN_TOKEN or an Entra app-only token carrying one of
 * GATEHOUSE_AUTHZEN_ROLES, checked before the body is read. A subject {"type":"user"|"identity",
 * "id"} is decided by authz_subject_decide (SCIM id, externalId or userName; the same cut-offs,
 * defaults, staleness rule and decision log as /v1/authorize). Resources: {"type":"dataset"}
 * with action protect/unprotect, {"type":"route","id":"/path"} with the HTTP method as action,
 * mapped by the policy's routes. Anything else this PDP does not know is a false decision with a
 * reason (§Errors: decisions default to closed); a malformed body is a 400. Replies are the
 * plain {"decision":bool} unless the request (options.gatehouse_context) or
 * GATEHOUSE_AUTHZEN_REASONS asks for context. X-Request-ID is echoed on every reply (§Request
 * Identification).
 */
#include "authz/authz.h"
#include "authz/authzen_int.h"
#include "authz/decide.h"
#include "authz/token.h"
#include "core/core.h"
#include "policies/policies.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define AUTHZ_AUTHZEN_REALM      "gatehouse"
#define AUTHZ_AUTHZEN_REQ_ID     "X-Request-ID"
#define AUTHZ_AUTHZEN_EVAL_PATH  "/access/v1/evaluation"
#define AUTHZ_AUTHZEN_EVALS_PATH "/access/v1/evaluations"
/* Longest Host header used to build metadata URLs (a DNS name plus a port). */
#define AUTHZ_AUTHZEN_HOST_MAX 262

/* ---- the body ---- */

/* See authzen_int.h. */
const char *authz_authzen_semantic_name(enum authz_authzen_semantic s)
{
    switch (s) {
    case AUTHZ_AUTHZEN_DENY_ON_FIRST_DENY:
        return "deny_on_first_deny";
    case AUTHZ_AUTHZEN_PERMIT_ON_FIRST_PERMIT:
        return "permit_on_first_permit";
    case AUTHZ_AUTHZEN_EXECUTE_ALL:
        break;
    }
    return "execute_all";
}

/* A required string member of an entity: non-empty, at most AUTHZ_AUTHZEN_STR_MAX bytes. */
static enum gh_status authz_authzen_str(const cJSON *obj, const char *name, const char *where,
                                        const char **out, struct gh_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
        strlen(v->valuestring) > AUTHZ_AUTHZEN_STR_MAX)
        return AUTHZ_ERR(err, GH_E_INVALID, "%s.%s must be a non-empty string of at most %d bytes",
                         where, name, AUTHZ_AUTHZEN_STR_MAX);
    *out = v->valuestring;
    return GH_OK;
}

/* An optional member that must be an object when present (properties, context, options). */
static enum gh_status authz_authzen_opt_object(const cJSON *obj, const char *name,
                                               const char *where, struct gh_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (v != NULL && !cJSON_IsObject(v))
        return AUTHZ_ERR(err, GH_E_INVALID, "%s%s%s must be an object", where, *where ? "." : "",
                         name);
    return GH_OK;
}

/* Subject or resource: {"type","id","properties"?}. */
static enum gh_status authz_authzen_entity(const cJSON *e, const char *where, const char **out_type,
                                           const char **out_id, struct gh_err *err)
{
    enum gh_status st;
    if (!cJSON_IsObject(e))
        return AUTHZ_ERR(err, GH_E_INVALID, "%s must be an object", where);
    st = authz_authzen_str(e, "type", where, out_type, err);
    if (st == GH_OK)
        st = authz_authzen_str(e, "id", where, out_id, err);
    if (st == GH_OK)
        st = authz_authzen_opt_object(e, "properties", where, err);
    return st;
}

/* Action: {"name","properties"?}. */
static enum gh_status authz_authzen_action(const cJSON *e, const char *where, const char **out_name,
                                           struct gh_err *err)
{
    enum gh_status st;
    if (!cJSON_IsObject(e))
        return AUTHZ_ERR(err, GH_E_INVALID, "%s must be an object", where);
    st = authz_authzen_str(e, "name", where, out_name, err);
    if (st == GH_OK)
        st = authz_authzen_opt_object(e, "properties", where, err);
    return st;
}

/* One evaluation from item (NULL: the top level alone) with top's members as defaults. */
static enum gh_status authz_authzen_eval_read(const cJSON *top, const cJSON *item, size_t i,
                                              struct authz_authzen_eval *out, struct gh_err *err)
{
    static const char *const names[] = {"subject", "resource", "action"};
    const cJSON *parts[3];
    char where[3][48];
    enum gh_status st;

    if (item != NULL && !cJSON_IsObject(item))
        return AUTHZ_ERR(err, GH_E_INVALID, "evaluations[%zu] must be an object", i);
    for (int k = 0; k < 3; k++) {
        const cJSON *own = item != NULL ? cJSON_GetObjectItemCaseSensitive(item, names[k]) : NULL;
        parts[k] = own != NULL ? own : cJSON_GetObjectItemCaseSensitive(top, names[k]);
        if (own != NULL)
            snprintf(where[k], sizeof(where[k]), "evaluations[%zu].%s", i, names[k]);
        else
            snprintf(where[k], sizeof(where[k]), "%s", names[k]);
        if (parts[k] == NULL && item != NULL)
            return AUTHZ_ERR(err, GH_E_INVALID,
                             "evaluations[%zu] has no %s and there is no top-level %s", i, names[k],
                             names[k]);
        if (parts[k] == NULL)
            return AUTHZ_ERR(err, GH_E_INVALID, "%s is required", names[k]);
    }
    if (item != NULL) {
        char w[48];
        snprintf(w, sizeof(w), "evaluations[%zu]", i);
        st = authz_authzen_opt_object(item, "context", w, err);
        if (st)
            return st;
    }
    st = authz_authzen_entity(parts[0], where[0], &out->subject_type, &out->subject_id, err);
    if (st == GH_OK)
        st = authz_authzen_entity(parts[1], where[1], &out->resource_type, &out->resource_id, err);
    if (st == GH_OK)
        st = authz_authzen_action(parts[2], where[2], &out->action, err);
    return st;
}

/* options: evaluations_semantic (one of three) and gatehouse_context (a boolean). */
static enum gh_status authz_authzen_options(const cJSON *json, struct authz_authzen_request *out,
                                            struct gh_err *err)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(json, "options");
    const cJSON *sem, *ctx;

    if (o == NULL)
        return GH_OK;
    if (!cJSON_IsObject(o))
        return AUTHZ_ERR(err, GH_E_INVALID, "options must be an object");
    sem = cJSON_GetObjectItemCaseSensitive(o, "evaluations_semantic");
    if (sem != NULL) {
        enum authz_authzen_semantic s;
        bool ok = false;
        for (s = AUTHZ_AUTHZEN_EXECUTE_ALL; s <= AUTHZ_AUTHZEN_PERMIT_ON_FIRST_PERMIT && !ok; s++) {
            ok = cJSON_IsString(sem) &&
                 strcmp(sem->valuestring, authz_authzen_semantic_name(s)) == 0;
            if (ok)
                out->semantic = s;
        }
        if (!ok)
            return AUTHZ_ERR(err, GH_E_INVALID,
                             "options.evaluations_semantic must be \"execute_all\", "
                             "\"deny_on_first_deny\" or \"permit_on_first_permit\"");
    }
    ctx = cJSON_GetObjectItemCaseSensitive(o, AUTHZ_AUTHZEN_OPT_CONTEXT);
    if (ctx != NULL && !cJSON_IsBool(ctx))
        return AUTHZ_ERR(err, GH_E_INVALID,
                         "options." AUTHZ_AUTHZEN_OPT_CONTEXT " must be a boolean");
    out->want_context = cJSON_IsTrue(ctx);
    return GH_OK;
}

/* See authzen_int.h. */
enum gh_status authz_authzen_body_parse(struct gh_arena *a, const cJSON *json, bool evaluations,
                                        struct authz_authzen_request *out, struct gh_err *err)
{
    const cJSON *evals = evaluations ? cJSON_GetObjectItemCaseSensitive(json, "evaluations") : NULL;
    const cJSON *it;
    size_t n = 1, i = 0;
    enum gh_status st;

    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(json))
        return AUTHZ_ERR(err, GH_E_INVALID, "the body must be a JSON object");
    st = authz_authzen_options(json, out, err);
    if (st == GH_OK)
        st = authz_authzen_opt_object(json, "context", "", err);
    if (st)
        return st;
    if (evals != NULL && !cJSON_IsArray(evals))
        return AUTHZ_ERR(err, GH_E_INVALID, "evaluations must be an array");
    if (evals != NULL && evals->child != NULL) {
        n = (size_t)cJSON_GetArraySize(evals);
        /* Bounded work per request (AuthZEN 1.0 §Availability & Denial of Service). */
        if (n > GH_CAP_AUTHZ_CHECKS)
            return AUTHZ_ERR(err, GH_E_INVALID, "evaluations may hold at most %d entries",
                             GH_CAP_AUTHZ_CHECKS);
        out->batch = true;
    }
    out->evals = gh_arena_alloc(a, n * sizeof(*out->evals));
    if (!out->batch) {
        st = authz_authzen_eval_read(json, NULL, 0, &out->evals[0], err);
    } else {
        /* a top-level default that is present must be well-formed even where overridden */
        static const char *const names[] = {"subject", "resource", "action"};
        for (int k = 0; k < 3 && st == GH_OK; k++) {
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(json, names[k]);
            const char *t, *id;
            if (d != NULL)
                st = k < 2 ? authz_authzen_entity(d, names[k], &t, &id, err)
                           : authz_authzen_action(d, names[k], &t, err);
        }
        for (it = evals->child; it != NULL && st == GH_OK; it = it->next, i++)
            st = authz_authzen_eval_read(json, it, i, &out->evals[i], err);
    }
    if (st)
        return st;
    out->n = n;
    return GH_OK;
}

/* ---- one evaluation ---- */

/* What one evaluation answered. */
struct authz_authzen_result {
    bool decision;
    const char *reason;          /* always set */
    const char *decision_id;     /* NULL when nothing was decided (unknown type or action) */
    int64_t revision;            /* with decision_id */
    const char *policy_revision; /* with decision_id */
};

/* The check a dataset or route resource asks for; false (out->reason set) when this PDP does not
 * know the resource type, the action, or a route rule for the path. */
static bool authz_authzen_check(struct gh_arena *a, const struct policy_doc *doc,
                                const struct authz_authzen_eval *e, struct authz_check *check,
                                struct authz_authzen_result *out)
{
    if (strcmp(e->resource_type, "dataset") == 0) {
        if (policy_action_parse(e->action, &check->action, NULL) != GH_OK) {
            out->reason = gh_arena_printf(a,
                                          "action %.64s is not defined for datasets (protect, "
                                          "unprotect)",
                                          e->action);
            return false;
        }
        check->dataset = e->resource_id;
        return true;
    }
    if (strcmp(e->resource_type, "route") == 0) {
        const struct policy_route *rt;
        char *path = gh_arena_strndup(a, e->resource_id, strcspn(e->resource_id, "?#"));
        if (!authz_path_normal(path)) {
            out->reason = gh_arena_printf(a, "route %.200s is not a path in normal form", path);
            return false;
        }
        rt = policy_doc_route_match(doc, e->action, path);
        if (rt == NULL) {
            out->reason =
                gh_arena_printf(a, "no route rule in the policy for %.16s %.200s", e->action, path);
            return false;
        }
        check->dataset = gh_arena_strdup(a, rt->dataset);
        check->action = rt->action;
        return true;
    }
    out->reason = gh_arena_printf(a, "resource type %.64s is not supported (dataset, route)",
                                  e->resource_type);
    return false;
}

/* Decide one evaluation. Only a store failure is an error (the whole request fails: 5xx). */
static enum gh_status authz_authzen_decide(const struct authz_ctx *ax, struct gh_arena *a,
                                           const struct authz_authzen_eval *e,
                                           struct authz_authzen_result *out, struct gh_err *err)
{
    struct policy_snapshot *snap;
    struct authz_check check;
    struct authz_outcome o;
    bool known;
    enum gh_status st;

    memset(out, 0, sizeof(*out));
    if (strcmp(e->subject_type, "user") != 0 && strcmp(e->subject_type, "identity") != 0) {
        out->reason = gh_arena_printf(a, "subject type %.64s is not supported (user, identity)",
                                      e->subject_type);
        return GH_OK;
    }
    snap = policy_engine_acquire(ax->policy);
    known = authz_authzen_check(a, policy_snapshot_doc(snap), e, &check, out);
    policy_snapshot_release(snap);
    if (!known)
        return GH_OK;
    st = authz_subject_decide(ax, e->subject_id, &check, 1, a, &o, err);
    if (st)
        return st;
    out->decision = o.allowed;
    out->reason = gh_arena_strdup(a, o.results[0].reason);
    out->decision_id = gh_arena_strdup(a, o.decision_id);
    out->revision = o.revision;
    out->policy_revision = gh_arena_strdup(a, o.policy_revision);
    return GH_OK;
}

/* ---- HTTP ---- */

/* Echo the PEP's X-Request-ID (AuthZEN 1.0 §Request Identification: the same identifier in the
 * response). A value with control characters cannot be a header value and is not echoed. */
static void authz_authzen_echo_id(struct gh_req *r)
{
    const char *id = gh_req_header(r, AUTHZ_AUTHZEN_REQ_ID);
    if (id == NULL || gh_reply_has_header(r, AUTHZ_AUTHZEN_REQ_ID))
        return;
    for (const char *p = id; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t')
            return;
    gh_reply_header(r, AUTHZ_AUTHZEN_REQ_ID, id);
}

/* See authz.h. */
void authz_authzen_render_error(struct gh_req *r, const struct gh_err *err)
{
    authz_authzen_echo_id(r);
    /* RFC 6750 §3: realm only without credentials, invalid_token for a failed one,
     * insufficient_scope for a valid token without the role */
    if (err->status == GH_E_UNAUTHORIZED || err->status == GH_E_FORBIDDEN)
        gh_reply_bearer_challenge(r, AUTHZ_AUTHZEN_REALM, err, NULL);
    gh_reply_error(r, err);
}

static void authz_authzen_claims_release(void *p)
{
    authz_claims_release(p);
}

/* A compact JWS has exactly two dots; a PEP secret (>= 16 characters, no dots needed) is
 * compared as a secret first, so only a token that looks like a JWT goes to the verifier. */
static bool authz_authzen_is_jws(const char *tok, size_t len)
{
    size_t dots = 0;
    for (size_t i = 0; i < len; i++)
        dots += tok[i] == '.';
    return dots == 2;
}

/*
 * See authz.h. The secret first (constant time over every digest), then an app-only token when
 * roles are configured. A wrong secret counts against the client address (gh_authfail: 429 past
 * its budget); a bad token does not (it is signed, it cannot be guessed). Thread-safe.
 */
enum gh_status authz_authzen_auth(struct gh_req *r, struct gh_err *err)
{
    const struct authz_authzen_ctx *zx = gh_req_ctx(r);
    const struct authz_verifier *v = zx->authz != NULL ? zx->authz->verifier : NULL;
    struct gh_err why = {0};
    const char *tok;
    size_t len;
    enum gh_status st = gh_req_bearer(r, &tok, &len, &why);

    if (st == GH_OK && zx->token->count > 0 && gh_secret_set_matches(zx->token, tok, len))
        return GH_OK;
    if (st == GH_OK && zx->roles->count > 0 && v != NULL && authz_authzen_is_jws(tok, len)) {
        struct authz_claims *claims = NULL;
        st = authz_token_verify_app(zx->authz->verifier, tok, len, zx->roles, &claims, err);
        if (st == GH_OK)
            gh_req_auth_set(r, claims, authz_authzen_claims_release);
        return st;
    }
    if (st == GH_OK && zx->token->count == 0 && (zx->roles->count == 0 || v == NULL))
        GH_ERR(&why, GH_E_UNAUTHORIZED,
               "no PEP credential is configured (GATEHOUSE_AUTHZEN_TOKEN, or "
               "GATEHOUSE_AUTHZEN_ROLES with token validation)");
    else if (st == GH_OK)
        GH_ERR(&why, GH_E_UNAUTHORIZED, "wrong AuthZEN PEP credential");
    return gh_authfail_reject(zx->authfail, r, GH_AUTHFAIL_AUTHZEN, &why, err);
}

/* The context of one decision: reason, and decision_id and both revisions when one was made. */
static cJSON *authz_authzen_context(const struct authz_authzen_result *res)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "reason", res->reason);
    if (res->decision_id != NULL) {
        cJSON_AddStringToObject(c, "decision_id", res->decision_id);
        cJSON_AddNumberToObject(c, "revision", (double)res->revision);
        cJSON_AddStringToObject(c, "policy_revision", res->policy_revision);
    }
    return c;
}

static cJSON *authz_authzen_decision(const struct authz_authzen_result *res, bool with_context)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddBoolToObject(d, "decision", res->decision);
    if (with_context)
        cJSON_AddItemToObject(d, "context", authz_authzen_context(res));
    return d;
}

/* Both evaluation endpoints: parse, decide in order (stopping early per the semantic), reply. */
static enum gh_status authz_authzen_handle(struct gh_req *r, bool evaluations, struct gh_err *err)
{
    const struct authz_authzen_ctx *zx = gh_req_ctx(r);
    struct gh_arena *a = gh_req_arena(r);
    struct authz_authzen_request req;
    struct authz_authzen_result *res;
    cJSON *json = NULL, *body;
    int64_t min_rev = 0;
    size_t done = 0;
    bool ctx_on;
    enum gh_status st;

    authz_authzen_echo_id(r);
    st = gh_req_json(r, &json, err);
    if (st == GH_OK)
        st = authz_authzen_body_parse(a, json, evaluations, &req, err);
    /* read-your-writes across replicas, as /v1/ext_authz offers it */
    if (st == GH_OK)
        st = authz_min_revision(NULL, gh_req_header(r, AUTHZ_MIN_REVISION_HEADER), &min_rev, err);
    if (st == GH_OK)
        st = authz_wait_revision(zx->authz, min_rev, err);
    if (st)
        goto out;
    ctx_on = zx->reasons || req.want_context;
    res = gh_arena_alloc(a, req.n * sizeof(*res));
    while (done < req.n) {
        st = authz_authzen_decide(zx->authz, a, &req.evals[done], &res[done], err);
        if (st)
            goto out;
        done++;
        /* §Evaluations semantics: the short-circuiting ones return up to the deciding one */
        if ((req.semantic == AUTHZ_AUTHZEN_DENY_ON_FIRST_DENY && !res[done - 1].decision) ||
            (req.semantic == AUTHZ_AUTHZEN_PERMIT_ON_FIRST_PERMIT && res[done - 1].decision))
            break;
    }
    if (!req.batch) {
        body = authz_authzen_decision(&res[0], ctx_on);
    } else {
        cJSON *arr;
        body = cJSON_CreateObject();
        arr = cJSON_AddArrayToObject(body, "evaluations");
        for (size_t i = 0; i < done; i++)
            cJSON_AddItemToArray(arr, authz_authzen_decision(&res[i], ctx_on));
    }
    gh_reply_json(r, 200, body);
out:
    cJSON_Delete(json);
    return st;
}

/* See authz.h. */
enum gh_status authz_authzen_handle_evaluation(struct gh_req *r, struct gh_err *err)
{
    return authz_authzen_handle(r, false, err);
}

/* See authz.h. */
enum gh_status authz_authzen_handle_evaluations(struct gh_req *r, struct gh_err *err)
{
    return authz_authzen_handle(r, true, err);
}

/* Why: the metadata names URLs a PEP will send its credential to, so a Host header is used only
 * when it is a plain host[:port] (letters, digits, '-', '.', ':' and a bracketed IPv6 address);
 * anything else is refused rather than reflected. */
static bool authz_authzen_host_ok(const char *h)
{
    size_t n = h != NULL ? strlen(h) : 0;
    if (n == 0 || n > AUTHZ_AUTHZEN_HOST_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == ':' || c == '[' || c == ']';
        if (!ok)
            return false;
    }
    return h[0] != ':' && h[0] != '.';
}

/*
 * See authz.h. The base is GATEHOUSE_PUBLIC_URL; without it, the scheme this listener speaks and
 * the request's Host (validated above). A PEP compares policy_decision_point with the URL it
 * asked (§PDP Metadata Validation), so behind a TLS-terminating proxy the setting is needed.
 */
enum gh_status authz_authzen_handle_metadata(struct gh_req *r, struct gh_err *err)
{
    const struct authz_authzen_ctx *zx = gh_req_ctx(r);
    struct gh_arena *a = gh_req_arena(r);
    const char *base = zx->public_url;
    cJSON *body;

    authz_authzen_echo_id(r);
    if (base == NULL) {
        const char *host = gh_req_header(r, "Host");
        if (!authz_authzen_host_ok(host))
            return AUTHZ_ERR(err, GH_E_INVALID,
                             "the Host header is not a plain host[:port]; set "
                             "GATEHOUSE_PUBLIC_URL");
        base = gh_arena_printf(a, "%s://%s", zx->tls ? "https" : "http", host);
    }
    body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "policy_decision_point", base);
    cJSON_AddStringToObject(body, "access_evaluation_endpoint",
                            gh_arena_printf(a, "%s%s", base, AUTHZ_AUTHZEN_EVAL_PATH));
    cJSON_AddStringToObject(body, "access_evaluations_endpoint",
                            gh_arena_printf(a, "%s%s", base, AUTHZ_AUTHZEN_EVALS_PATH));
    gh_reply_json(r, 200, body);
    return GH_OK;
}
