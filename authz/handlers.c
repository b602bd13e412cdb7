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

/* The decision as JSON: allowed, decision_id, subject (the provisioned user), results. Written
 * directly (no document tree): this runs for every decision. Caller frees *out_text. */
static enum gh_status authz_outcome_text(const struct authz_outcome *o,
                                         const struct authz_check *checks, size_t n,
                                         char **out_text, size_t *out_len, struct gh_err *err)
{
    struct gh_buf b;
    enum gh_status st = GH_OK;

    /* No cap of its own: every string in it is bounded already (the request body, the token,
     * the store's rows), and a cap smaller than their sum would turn a decision into a 500. */
    gh_buf_init(&b, SIZE_MAX / 2);
    gh_buf_reserve(&b, 256 + n * 384); /* one allocation for the usual reply */
    gh_buf_cat(&b, &st, o->allowed ? "{\"allowed\":true" : "{\"allowed\":false");
    gh_buf_cat(&b, &st, ",\"decision_id\":");
    gh_buf_cat_json(&b, &st, o->decision_id);
    gh_buf_cat(&b, &st, ",\"subject\":{\"id\":");
    gh_buf_cat_json(&b, &st, o->subject_id);
    gh_buf_cat(&b, &st, ",\"userName\":");
    gh_buf_cat_json(&b, &st, o->subject_user_name);
    gh_buf_cat(&b, &st, ",\"externalId\":");
    gh_buf_cat_json(&b, &st, o->subject_external_id);
    gh_buf_cat(&b, &st, ",\"tenant\":");
    gh_buf_cat_json(&b, &st, o->tenant);
    gh_buf_cat(&b, &st, "},\"results\":[");
    for (size_t i = 0; i < n; i++) {
        gh_buf_cat(&b, &st, i ? ",{\"dataset\":" : "{\"dataset\":");
        gh_buf_cat_json(&b, &st, checks[i].dataset);
        gh_buf_cat(&b, &st, ",\"action\":");
        gh_buf_cat_json(&b, &st, policy_action_name(checks[i].action));
        gh_buf_cat(&b, &st, o->results[i].allowed ? ",\"allowed\":true" : ",\"allowed\":false");
        gh_buf_cat(&b, &st, ",\"reason\":");
        gh_buf_cat_json(&b, &st, o->results[i].reason);
        gh_buf_cat(&b, &st, "}");
    }
    gh_buf_cat(&b, &st, "]");
    if (st == GH_OK)
        st = gh_buf_printf(&b, NULL, ",\"revision\":%lld}", (long long)o->revision);
    if (st != GH_OK) {
        gh_buf_free(&b);
        return GH_ERR(err, GH_E_INTERNAL, "decision reply could not be built");
    }
    *out_text = gh_buf_steal(&b, out_len);
    return GH_OK;
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
    size_t n = 0, text_len = 0;
    char *text = NULL;
    struct authz_outcome outcome = {0};
    cJSON *json = NULL;
    int64_t min_rev = 0;
    enum gh_status st;

    if (claims == NULL)
        return GH_E_UNAUTHORIZED;
    st = gh_req_json(r, &json, err);
    if (st)
        goto out;
    st = authz_authorize_body_parse(gh_req_arena(r), json, &checks, &n, err);
    if (st)
        goto out;
    st = authz_min_revision(json, gh_req_header(r, AUTHZ_MIN_REVISION_HEADER), &min_rev, err);
    if (st == GH_OK)
        st = authz_wait_revision(ax, min_rev, err);
    if (st)
        goto out;
    st = authz_request_decide(ax, claims, checks, n, gh_req_arena(r), &outcome, err);
    if (st)
        goto out;
    st = authz_outcome_text(&outcome, checks, n, &text, &text_len, err);
    if (st)
        goto out;
    gh_reply_take(r, 200, "application/json", text, text_len);
out:
    cJSON_Delete(json);
    return st;
}
