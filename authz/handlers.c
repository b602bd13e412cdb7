/*
 * handlers.c - POST /v1/authorize and the RFC 6750 error renderer of the authz routes.
 *
 * The bearer token is verified first, by authz_auth when the headers are complete (401/403
 * before any body byte is read), then the body shape is checked (400), then the decision is made
 * from the provisioned identity and its access groups (authorize.c).
 * Every 401 carries `WWW-Authenticate: Bearer realm="gatehouse"`, with error="invalid_token" when a
 * Bearer credential was sent and failed (RFC 6750 §3.1: none without credentials); a 403
 * carries `insufficient_scope` with the scopes needed.
 */
#include "authz/authz.h"
#include "authz/decide.h"
#include "authz/token.h"
#include "core/core.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Longest dataset name accepted in a check. */
#define AUTHZ_DATASET_MAX 256
/* Longest error_description put in the JSON body (the header applies its own cap). */
#define AUTHZ_DESC_MAX 200
/* The protection space of the authz routes (RFC 6750 §3 realm). */
#define AUTHZ_REALM "gatehouse"

/*
 * Error renderer for authz routes (gh_error_render_fn): 401 and 403 insufficient_scope as RFC
 * 6750 challenges (gh_reply_bearer_challenge: realm only for a request without credentials,
 * invalid_token for a failed one) with a small JSON body; everything else through the default
 * JSON error. Never includes the token: err->msg never holds it.
 */
void authz_render_error(struct gh_req *r, const struct gh_err *err)
{
    const struct authz_ctx *ax = gh_req_ctx(r);
    const char *code, *scope = NULL;
    unsigned status;
    cJSON *body;
    char desc[AUTHZ_DESC_MAX + 1];

    if (err->status == GH_E_UNAUTHORIZED) {
        status = 401;
    } else if (err->status == GH_E_FORBIDDEN) {
        status = 403;
        if (ax != NULL && ax->verifier != NULL)
            scope = authz_verifier_scope_hint(ax->verifier);
    } else {
        gh_reply_error(r, err);
        return;
    }
    code = gh_reply_bearer_challenge(r, AUTHZ_REALM, err, scope);
    snprintf(desc, sizeof(desc), "%.*s", AUTHZ_DESC_MAX,
             err->msg[0] ? err->msg : gh_status_name(err->status));
    body = cJSON_CreateObject();
    /* no credentials: no error code in the challenge (§3.1), nor in the body */
    cJSON_AddStringToObject(body, "error", code != NULL ? code : gh_status_name(err->status));
    cJSON_AddStringToObject(body, "error_description", desc);
    gh_reply_json(r, status, body);
}

/*
 * Check a /v1/authorize body: {"dataset","action"} or {"checks":[...]} (1..GH_CAP_AUTHZ_CHECKS).
 * On success *out_checks (allocated in a) and *out_n describe the checks; the dataset strings
 * are borrowed from json. GH_E_INVALID names the first bad member. Thread-safe.
 */
enum gh_status authz_authorize_body_parse(struct gh_arena *a, const cJSON *json,
                                          struct authz_check **out_checks, size_t *out_n,
                                          struct gh_err *err)
{
    const cJSON *checks = cJSON_GetObjectItemCaseSensitive(json, "checks");
    const cJSON *one = NULL, *it;
    struct authz_check *out;
    size_t n = 0, i = 0;

    if (!cJSON_IsObject(json))
        return AUTHZ_ERR(err, GH_E_INVALID, "body must be a JSON object");
    if (checks != NULL) {
        if (cJSON_GetObjectItemCaseSensitive(json, "dataset") != NULL ||
            cJSON_GetObjectItemCaseSensitive(json, "action") != NULL)
            return AUTHZ_ERR(err, GH_E_INVALID, "use either dataset/action or checks[], not both");
        if (!cJSON_IsArray(checks))
            return AUTHZ_ERR(err, GH_E_INVALID, "checks must be an array");
        n = (size_t)cJSON_GetArraySize(checks);
        /* Bounded work per request. */
        if (n == 0 || n > GH_CAP_AUTHZ_CHECKS)
            return AUTHZ_ERR(err, GH_E_INVALID, "checks must hold 1 to %d entries",
                             GH_CAP_AUTHZ_CHECKS);
    } else {
        one = json;
        n = 1;
    }
    out = gh_arena_alloc(a, n * sizeof(*out));
    it = one != NULL ? one : (checks != NULL ? checks->child : NULL);
    for (; it != NULL && i < n; it = one != NULL ? NULL : it->next, i++) {
        const cJSON *ds = cJSON_GetObjectItemCaseSensitive(it, "dataset");
        const cJSON *ac = cJSON_GetObjectItemCaseSensitive(it, "action");
        if (!cJSON_IsObject(it))
            return AUTHZ_ERR(err, GH_E_INVALID, "checks[%zu] must be an object", i);
        if (!cJSON_IsString(ds) || ds->valuestring[0] == '\0' ||
            strlen(ds->valuestring) > AUTHZ_DATASET_MAX) {
            if (one != NULL)
                return AUTHZ_ERR(err, GH_E_INVALID,
                                 "dataset must be a non-empty string of at most %d bytes",
                                 AUTHZ_DATASET_MAX);
            return AUTHZ_ERR(err, GH_E_INVALID,
                             "checks[%zu].dataset must be a non-empty string of at most %d bytes",
                             i, AUTHZ_DATASET_MAX);
        }
        if (!cJSON_IsString(ac) ||
            policy_action_parse(ac->valuestring, &out[i].action, NULL) != GH_OK)
            return AUTHZ_ERR(err, GH_E_INVALID, "action must be \"protect\" or \"unprotect\"");
        out[i].dataset = ds->valuestring;
    }
    *out_checks = out;
    *out_n = n;
    return GH_OK;
}

/*
 * The usual /v1/authorize body, recognised without a JSON parse: exactly
 * {"dataset":"<1 to AUTHZ_DATASET_MAX bytes of printable ASCII but '"' and '\\'>","action":
 * "protect"|"unprotect"}, no whitespace, nothing else. Such a body is strict JSON with one
 * meaning, the one the full parse gives it (no escapes, no repeated or other members, no
 * min_revision), so the answer is the same; any other body, valid or not, takes the full parse
 * and its checks. On true *out_check's dataset is copied into a.
 */
static bool authz_body_fast(struct gh_arena *a, const char *body, size_t len,
                            struct authz_check *out_check)
{
    static const char head[] = "{\"dataset\":\"", mid[] = "\",\"action\":\"";
    const char *ds = body + sizeof(head) - 1, *p = ds, *end = body + len;
    size_t n;

    if (len < sizeof(head) - 1 || memcmp(body, head, sizeof(head) - 1) != 0)
        return false;
    while (p < end && *p >= 0x20 && *p <= 0x7e && *p != '"' && *p != '\\')
        p++;
    n = (size_t)(p - ds);
    if (n == 0 || n > AUTHZ_DATASET_MAX || (size_t)(end - p) < sizeof(mid) - 1 ||
        memcmp(p, mid, sizeof(mid) - 1) != 0)
        return false;
    p += sizeof(mid) - 1;
    if ((size_t)(end - p) == sizeof("protect\"}") - 1 &&
        memcmp(p, "protect\"}", (size_t)(end - p)) == 0)
        out_check->action = POLICY_ACTION_PROTECT;
    else if ((size_t)(end - p) == sizeof("unprotect\"}") - 1 &&
             memcmp(p, "unprotect\"}", (size_t)(end - p)) == 0)
        out_check->action = POLICY_ACTION_UNPROTECT;
    else
        return false;
    out_check->dataset = gh_arena_strndup(a, ds, n);
    return true;
}

/* See authz.h: the body's "min_revision" (a non-negative integer), else the header's. */
enum gh_status authz_min_revision(const cJSON *json, const char *header, int64_t *out,
                                  struct gh_err *err)
{
    const cJSON *m = json != NULL ? cJSON_GetObjectItemCaseSensitive(json, "min_revision") : NULL;
    *out = 0;
    if (m != NULL) {
        if (!cJSON_IsNumber(m) || m->valuedouble < 0 || m->valuedouble > 9e15 ||
            m->valuedouble != (double)(int64_t)m->valuedouble)
            return AUTHZ_ERR(err, GH_E_INVALID, "min_revision must be a non-negative integer");
        *out = (int64_t)m->valuedouble;
        return GH_OK;
    }
    if (header != NULL) {
        char *end = NULL;
        long long v;
        errno = 0;
        v = strtoll(header, &end, 10);
        if (errno != 0 || end == header || *end != '\0' || v < 0)
            return AUTHZ_ERR(err, GH_E_INVALID,
                             AUTHZ_MIN_REVISION_HEADER " must be a non-negative integer");
        *out = v;
    }
    return GH_OK;
}

/* What the /v1/authorize reply is written from. */
struct authz_reply_ctx {
    const struct authz_outcome *o;
    const struct authz_check *checks;
    size_t n;
};

/* The decision as JSON: allowed, decision_id, subject (the provisioned user), results, revision.
 * Written in place (gh_reply_fill: no document tree, no printf): this runs for every decision. */
static void authz_outcome_fill(struct gh_span *w, const void *ctx)
{
    const struct authz_reply_ctx *c = ctx;
    const struct authz_outcome *o = c->o;

    if (o->allowed)
        gh_span_lit(w, "{\"allowed\":true,\"decision_id\":");
    else
        gh_span_lit(w, "{\"allowed\":false,\"decision_id\":");
    gh_span_json(w, o->decision_id);
    gh_span_lit(w, ",\"subject\":{\"id\":");
    gh_span_json(w, o->subject_id);
    gh_span_lit(w, ",\"userName\":");
    gh_span_json(w, o->subject_user_name);
    gh_span_lit(w, ",\"externalId\":");
    gh_span_json(w, o->subject_external_id);
    gh_span_lit(w, ",\"tenant\":");
    gh_span_json(w, o->tenant);
    gh_span_lit(w, "},\"results\":[");
    for (size_t i = 0; i < c->n; i++) {
        if (i > 0)
            gh_span_lit(w, ",");
        gh_span_lit(w, "{\"dataset\":");
        gh_span_json(w, c->checks[i].dataset);
        gh_span_lit(w, ",\"action\":");
        gh_span_json(w, policy_action_name(c->checks[i].action));
        if (o->results[i].allowed)
            gh_span_lit(w, ",\"allowed\":true,\"reason\":");
        else
            gh_span_lit(w, ",\"allowed\":false,\"reason\":");
        gh_span_json(w, o->results[i].reason);
        gh_span_lit(w, "}");
    }
    gh_span_lit(w, "],\"revision\":");
    gh_span_i64(w, (long long)o->revision);
    gh_span_lit(w, ",\"policy_revision\":");
    gh_span_json(w, o->policy_revision);
    gh_span_lit(w, "}");
}

/* The most bytes authz_outcome_fill writes: every string bounded already (the request body, the
 * token, the store's rows), so no cap of its own (a smaller cap would turn a decision into a 500).
 */
static size_t authz_outcome_max(const void *ctx)
{
    const struct authz_reply_ctx *c = ctx;
    const struct authz_outcome *o = c->o;
    size_t n = 256 + gh_span_json_max(o->decision_id) + gh_span_json_max(o->subject_id) +
               gh_span_json_max(o->subject_user_name) + gh_span_json_max(o->subject_external_id) +
               gh_span_json_max(o->tenant) + gh_span_json_max(o->policy_revision);
    for (size_t i = 0; i < c->n; i++)
        n += 96 + gh_span_json_max(c->checks[i].dataset) +
             gh_span_json_max(policy_action_name(c->checks[i].action)) +
             gh_span_json_max(o->results[i].reason);
    return n;
}

static void authz_claims_release_any(void *p)
{
    authz_claims_release(p);
}

/*
 * The authz routes' credential (gh_auth_fn; see authz.h): the Entra access token in
 * Authorization, verified here, once, when the request's headers are complete, so a request
 * without a valid token is answered before its body is read. The verified claims stay on the
 * request (released when it completes) for the handler. GH_E_UNAVAILABLE while token validation
 * is not configured. Thread-safe.
 */
enum gh_status authz_auth(struct gh_req *r, struct gh_err *err)
{
    const struct authz_ctx *ax = gh_req_ctx(r);
    struct authz_claims *claims = NULL;
    const char *tok;
    size_t tok_len;
    enum gh_status st;

    if (ax == NULL || ax->verifier == NULL)
        return AUTHZ_ERR(err, GH_E_UNAVAILABLE,
                         "token validation is not configured (set GATEHOUSE_OIDC_DISCOVERY)");
    st = gh_req_bearer(r, &tok, &tok_len, err);
    if (st)
        return st;
    st = authz_token_verify(ax->verifier, tok, tok_len, &claims, err);
    if (st)
        return st;
    gh_req_auth_set(r, claims, authz_claims_release_any);
    return GH_OK;
}

/* The claims authz_auth verified for this request (borrowed until it completes). Why the check:
 * a route table row without authz_auth must fail closed, not decide for nobody. */
const struct authz_claims *authz_req_claims(const struct gh_req *r, struct gh_err *err)
{
    const struct authz_claims *c = gh_req_auth(r);
    if (GH_NEVER(c == NULL)) {
        GH_ERR(err, GH_E_UNAUTHORIZED, "no verified token");
        return NULL;
    }
    return c;
}

/*
 * POST /v1/authorize (gh_handler_fn), after authz_auth verified the token: 400 for bad bodies,
 * else 200 with the decision.
 */
enum gh_status authz_handle_authorize(struct gh_req *r, struct gh_err *err)
{
    const struct authz_ctx *ax = gh_req_ctx(r);
    const struct authz_claims *claims = authz_req_claims(r, err);
    struct authz_check *checks = NULL;
    size_t n = 0, body_len = 0;
    struct authz_check fast;
    const char *body;
    struct authz_outcome outcome = {0};
    cJSON *json = NULL;
    int64_t min_rev = 0;
    enum gh_status st;

    if (claims == NULL)
        return GH_E_UNAUTHORIZED;
    body = gh_req_body(r, &body_len);
    if (authz_body_fast(gh_req_arena(r), body, body_len, &fast)) {
        checks = &fast;
        n = 1;
    } else {
        st = gh_req_json(r, &json, err);
        if (st)
            goto out;
        st = authz_authorize_body_parse(gh_req_arena(r), json, &checks, &n, err);
        if (st)
            goto out;
    }
    st = authz_min_revision(json, gh_req_header(r, AUTHZ_MIN_REVISION_HEADER), &min_rev, err);
    if (st == GH_OK)
        st = authz_wait_revision(ax, min_rev, err);
    if (st)
        goto out;
    st = authz_request_decide(ax, claims, checks, n, gh_req_arena(r), &outcome, err);
    if (st)
        goto out;
    {
        struct authz_reply_ctx rc = {&outcome, checks, n};
        gh_reply_fill(r, 200, "application/json", authz_outcome_fill, authz_outcome_max, &rc);
    }
out:
    cJSON_Delete(json);
    return st;
}
