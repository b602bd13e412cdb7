/*
 * ext_authz.c - /v1/ext_authz: the same decision for proxies in front of an application:
 * Envoy's ext_authz HTTP service (original method, path appended to the path_prefix), nginx
 * auth_request (X-Original-Method / X-Original-URI) and Traefik forwardAuth
 * (X-Forwarded-Method / X-Forwarded-Uri).
 *
 * It answers only 200, 401 or 403, because nginx turns any other status of an auth subrequest
 * into a 500 for the client: every failure that is not about the token - no dataset, a bad
 * action, no key set yet, a store error - is a 403 (fail closed), never a 5xx. On 200 the
 * upstream gets X-Gatehouse-Subject, X-Gatehouse-User and X-Gatehouse-Decision-Id.
 */
#include "authz/authz.h"
#include "authz/decide.h"
#include "policies/engine.h"
#include "sidecar/gatehouse.h"

#include <string.h>

#define AUTHZ_EXT_PREFIX "/v1/ext_authz"

/* The original request as the proxy describes it. */
static void authz_ext_original(struct gh_req *r, const char **out_method, const char **out_path)
{
    const char *m = gh_req_header(r, "X-Forwarded-Method");
    const char *p = gh_req_header(r, "X-Forwarded-Uri");

    if (m == NULL)
        m = gh_req_header(r, "X-Original-Method");
    if (p == NULL)
        p = gh_req_header(r, "X-Original-URI");
    if (m == NULL)
        m = gh_req_method(r);
    if (p == NULL) {
        p = gh_req_path(r) + strlen(AUTHZ_EXT_PREFIX);
        if (*p == '\0')
            p = "/";
    }
    *out_method = m;
    /* route rules match the path only */
    *out_path = gh_arena_strndup(gh_req_arena(r), p, strcspn(p, "?#"));
}

/* Dataset and action from X-Gatehouse-Dataset/-Action, else from the policy's route rules. */
static enum gh_status authz_ext_check(struct gh_req *r, struct authz_check *out, struct gh_err *err)
{
    const char *ds = gh_req_header(r, "X-Gatehouse-Dataset");
    const char *ac = gh_req_header(r, "X-Gatehouse-Action");
    const char *method, *path;
    struct policy_snapshot *snap;
    const struct policy_route *rt;
    enum gh_status st = GH_OK;

    if (ds != NULL || ac != NULL) {
        if (ds == NULL || *ds == '\0' || ac == NULL)
            return GH_ERR(err, GH_E_INVALID,
                          "X-Gatehouse-Dataset and X-Gatehouse-Action go together");
        if (strlen(ds) > POLICY_NAME_MAX)
            return GH_ERR(err, GH_E_INVALID, "X-Gatehouse-Dataset longer than %d bytes",
                          POLICY_NAME_MAX);
        if (policy_action_parse(ac, &out->action, err) != GH_OK)
            return GH_ERR(err, GH_E_INVALID, "X-Gatehouse-Action must be protect or unprotect");
        out->dataset = ds;
        return GH_OK;
    }
    authz_ext_original(r, &method, &path);
    snap = policy_engine_acquire(gh_req_app(r)->policy);
    rt = policy_doc_route_match(policy_snapshot_doc(snap), method, path);
    if (rt == NULL) {
        st = GH_ERR(err, GH_E_INVALID,
                    "no dataset for %.16s %.200s: send X-Gatehouse-Dataset and "
                    "X-Gatehouse-Action, or add a route rule to the policy",
                    method, path);
    } else {
        out->dataset = gh_arena_strdup(gh_req_arena(r), rt->dataset);
        out->action = rt->action;
    }
    policy_snapshot_release(snap);
    return st;
}

/* Strip what may not appear in a header value (CR, LF and other controls). */
static const char *authz_ext_header_value(struct gh_req *r, const char *s)
{
    char *v = gh_arena_strdup(gh_req_arena(r), s);
    for (char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return v;
}

/* See authz.h. */
enum gh_status authz_handle_ext_authz(struct gh_req *r, struct gh_err *err)
{
    struct gh_app *app = gh_req_app(r);
    struct authz_claims *claims = NULL;
    struct authz_check check = {0};
    struct authz_outcome o = {0};
    const char *tok;
    size_t len;
    enum gh_status st;
    cJSON *body;

    if (app->verifier == NULL)
        return GH_ERR(err, GH_E_UNAVAILABLE,
                      "token validation is not configured (set GATEHOUSE_OIDC_DISCOVERY)");
    st = gh_req_bearer(r, &tok, &len, err);
    if (st == GH_OK)
        st = authz_token_verify(app->verifier, tok, len, &claims, err);
    if (st == GH_OK)
        st = authz_ext_check(r, &check, err);
    if (st == GH_OK)
        st = authz_request_decide(app, claims, &check, 1, gh_req_arena(r), &o, err);
    authz_claims_release(claims);
    if (st)
        return st;
    gh_reply_header(r, "X-Gatehouse-Decision-Id", o.decision_id);
    body = cJSON_CreateObject();
    cJSON_AddBoolToObject(body, "allowed", o.allowed);
    cJSON_AddStringToObject(body, "decision_id", o.decision_id);
    cJSON_AddStringToObject(body, "dataset", check.dataset);
    cJSON_AddStringToObject(body, "action", policy_action_name(check.action));
    cJSON_AddStringToObject(body, "reason", o.results[0].reason);
    if (o.allowed) {
        gh_reply_header(r, "X-Gatehouse-Subject", o.subject_id);
        gh_reply_header(r, "X-Gatehouse-User", authz_ext_header_value(r, o.subject_user_name));
    } else {
        gh_reply_header(r, "X-Gatehouse-Reason", authz_ext_header_value(r, o.results[0].reason));
    }
    gh_reply_json(r, o.allowed ? 200 : 403, body);
    return GH_OK;
}

/* See authz.h: 401 and 403 insufficient_scope as RFC 6750 challenges (authz_render_error);
 * anything else - a bad request, no key set yet, a store failure - becomes a plain 403. */
void authz_ext_render_error(struct gh_req *r, const struct gh_err *err)
{
    cJSON *body;

    if (err->status == GH_E_UNAUTHORIZED || err->status == GH_E_FORBIDDEN) {
        authz_render_error(r, err);
        return;
    }
    if (gh_status_http(err->status) >= 500)
        gh_log(GH_LOG_ERROR, "authz", "\"ext_authz failed closed\" status=%s",
               gh_status_name(err->status));
    gh_reply_header(r, "X-Gatehouse-Reason", authz_ext_header_value(r, err->msg));
    body = cJSON_CreateObject();
    cJSON_AddBoolToObject(body, "allowed", 0);
    cJSON_AddStringToObject(body, "reason", err->msg[0] ? err->msg : gh_status_name(err->status));
    gh_reply_json(r, 403, body);
}
