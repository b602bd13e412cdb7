/*
 * ext_authz.c - /v1/ext_authz: the same decision for proxies in front of an application:
 * Envoy's ext_authz HTTP service (original method, path appended to the path_prefix), nginx
 * auth_request (X-Original-Method / X-Original-URI) and Traefik forwardAuth
 * (X-Forwarded-Method / X-Forwarded-Uri) - one of them, chosen by GATEHOUSE_EXT_AUTHZ_ORIGIN.
 * A matching route rule decides the dataset; X-Gatehouse-* headers only fill in when none does.
 *
 * It answers only 200, 401 or 403, because nginx turns any other status of an auth subrequest
 * into a 500 for the client: every failure that is not about the token - no dataset, a bad
 * action, no key set yet, a store error - is a 403 (fail closed), never a 5xx. On 200 the
 * upstream gets X-Gatehouse-Subject, X-Gatehouse-User and X-Gatehouse-Decision-Id.
 */
#define _GNU_SOURCE /* strcasestr */
#include "authz/authz.h"
#include "authz/decide.h"
#include "core/core.h"
#include "policies/policies.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define AUTHZ_EXT_PREFIX "/v1/ext_authz"

/* The headers ext_authz reads, picked in one pass (gh_req_headers_pick). The first
 * AUTHZ_EXT_NSINGLE are those whose second copy would let a client add to what its proxy sets:
 * refused. */
enum {
    AUTHZ_EXT_H_DATASET,
    AUTHZ_EXT_H_ACTION,
    AUTHZ_EXT_H_ORIG_URI,
    AUTHZ_EXT_H_ORIG_METHOD,
    AUTHZ_EXT_H_FWD_URI,
    AUTHZ_EXT_H_FWD_METHOD,
    AUTHZ_EXT_H_AUTHORIZATION,
    AUTHZ_EXT_NSINGLE,
    AUTHZ_EXT_H_MIN_REVISION = AUTHZ_EXT_NSINGLE,
    AUTHZ_EXT_NHEADERS
};
static const char *const authz_ext_headers[AUTHZ_EXT_NHEADERS + 1] = {
    [AUTHZ_EXT_H_DATASET] = "X-Gatehouse-Dataset",
    [AUTHZ_EXT_H_ACTION] = "X-Gatehouse-Action",
    [AUTHZ_EXT_H_ORIG_URI] = "X-Original-URI",
    [AUTHZ_EXT_H_ORIG_METHOD] = "X-Original-Method",
    [AUTHZ_EXT_H_FWD_URI] = "X-Forwarded-Uri",
    [AUTHZ_EXT_H_FWD_METHOD] = "X-Forwarded-Method",
    [AUTHZ_EXT_H_AUTHORIZATION] = "Authorization",
    [AUTHZ_EXT_H_MIN_REVISION] = AUTHZ_MIN_REVISION_HEADER,
    [AUTHZ_EXT_NHEADERS] = NULL,
};

/*
 * The original request, from the one source GATEHOUSE_EXT_AUTHZ_ORIGIN names (method and path
 * always from the same source, so a client cannot mix its own header with its proxy's):
 * "path" - Envoy appends the original path to the path_prefix and keeps the method;
 * "x-original" - nginx auth_request with X-Original-URI / X-Original-Method;
 * "x-forwarded" - Traefik forwardAuth with X-Forwarded-Uri / X-Forwarded-Method.
 */
static enum gh_status authz_ext_original(struct gh_arena *a, const char *origin,
                                         const struct authz_ext_request *in,
                                         const char **out_method, const char **out_path,
                                         struct gh_err *err)
{
    const char *m, *p;

    if (strcmp(origin, "x-original") == 0) {
        m = in->x_original_method;
        p = in->x_original_uri;
    } else if (strcmp(origin, "x-forwarded") == 0) {
        m = in->x_forwarded_method;
        p = in->x_forwarded_uri;
    } else {
        m = in->method;
        p = in->path + strlen(AUTHZ_EXT_PREFIX);
        if (*p == '\0')
            p = "/";
    }
    if (m == NULL || p == NULL)
        return GH_ERR(err, GH_E_INVALID, "the proxy did not describe the original request (%s)",
                      origin);
    *out_method = m;
    *out_path = gh_arena_strndup(a, p, strcspn(p, "?#"));
    return GH_OK;
}

/* See authz.h. Why: route rules match path prefixes; a path the application may resolve
 * differently ("/public/../payroll", "//payroll", encoded slashes or dots) must not be matched
 * at all. Thread-safe. */
bool authz_path_normal(const char *p)
{
    size_t n = strlen(p);
    if (p[0] != '/' || strstr(p, "//") != NULL || strstr(p, "/./") != NULL ||
        strstr(p, "/../") != NULL || strcasestr(p, "%2e") != NULL || strcasestr(p, "%2f") != NULL ||
        strcasestr(p, "%5c") != NULL || strchr(p, '\\') != NULL)
        return false;
    if ((n >= 2 && strcmp(p + n - 2, "/.") == 0) || (n >= 3 && strcmp(p + n - 3, "/..") == 0))
        return false;
    return true;
}

/*
 * Dataset and action of an ext_authz request (see authz.h): the policy's route rule for the
 * original request when one matches (a header cannot override it); else X-Gatehouse-Dataset/
 * -Action, which the proxy must set itself (README: clear the client's copies). The dataset is
 * copied into a or borrowed from in. GH_E_INVALID says what is missing or malformed.
 */
enum gh_status authz_ext_check_parse(struct gh_arena *a, const char *origin,
                                     const struct policy_doc *doc,
                                     const struct authz_ext_request *in, struct authz_check *out,
                                     struct gh_err *err)
{
    const char *ds = in->dataset;
    const char *ac = in->action;
    const char *method = NULL, *path = NULL;
    const struct policy_route *rt = NULL;
    enum gh_status st;

    if (in->repeated != NULL)
        return GH_ERR(err, GH_E_INVALID, "%s sent more than once", in->repeated);
    st = authz_ext_original(a, origin, in, &method, &path, err);
    if (st)
        return st;
    if (!authz_path_normal(path))
        return GH_ERR(err, GH_E_INVALID, "original path is not in normal form: %.200s", path);
    rt = policy_doc_route_match(doc, method, path);
    if (rt != NULL) {
        out->dataset = gh_arena_strdup(a, rt->dataset);
        out->action = rt->action;
        return GH_OK;
    }
    if (ds == NULL && ac == NULL) {
        return GH_ERR(err, GH_E_INVALID,
                      "no dataset for %.16s %.200s: send X-Gatehouse-Dataset and "
                      "X-Gatehouse-Action, or add a route rule to the policy",
                      method, path);
    }
    if (ds == NULL || *ds == '\0' || ac == NULL)
        return GH_ERR(err, GH_E_INVALID, "X-Gatehouse-Dataset and X-Gatehouse-Action go together");
    if (strlen(ds) > POLICY_NAME_MAX)
        return GH_ERR(err, GH_E_INVALID, "X-Gatehouse-Dataset longer than %d bytes",
                      POLICY_NAME_MAX);
    if (policy_action_parse(ac, &out->action, NULL) != GH_OK)
        return GH_ERR(err, GH_E_INVALID, "X-Gatehouse-Action must be protect or unprotect");
    out->dataset = ds;
    return GH_OK;
}

/* The request's headers (hv: authz_ext_headers' first values, hn: their counts) as
 * authz_ext_check_parse reads them, against the current policy. */
static enum gh_status authz_ext_check(struct gh_req *r, const char *const *hv, const unsigned *hn,
                                      struct authz_check *out, struct gh_err *err)
{
    struct authz_ext_request in = {
        .method = gh_req_method(r),
        .path = gh_req_path(r),
        .x_original_method = hv[AUTHZ_EXT_H_ORIG_METHOD],
        .x_original_uri = hv[AUTHZ_EXT_H_ORIG_URI],
        .x_forwarded_method = hv[AUTHZ_EXT_H_FWD_METHOD],
        .x_forwarded_uri = hv[AUTHZ_EXT_H_FWD_URI],
        .dataset = hv[AUTHZ_EXT_H_DATASET],
        .action = hv[AUTHZ_EXT_H_ACTION],
    };
    struct policy_snapshot *snap;
    enum gh_status st;

    for (int i = 0; i < AUTHZ_EXT_NSINGLE && in.repeated == NULL; i++)
        if (hn[i] > 1)
            in.repeated = authz_ext_headers[i];
    snap = policy_engine_acquire(((const struct authz_ctx *)gh_req_ctx(r))->policy);
    st = authz_ext_check_parse(gh_req_arena(r),
                               ((const struct authz_ctx *)gh_req_ctx(r))->ext_authz_origin,
                               policy_snapshot_doc(snap), &in, out, err);
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

/* What an ext_authz reply is written from (members that are NULL are left out: a refusal before
 * a decision has neither id nor check). */
struct authz_ext_body {
    bool allowed;
    const char *decision_id, *dataset, *action, *reason;
};

/* {"allowed","decision_id","dataset","action","reason"}, in place (gh_reply_fill), with the
 * same escaping as the /v1/authorize reply. */
static void authz_ext_fill(struct gh_span *w, const void *ctx)
{
    const struct authz_ext_body *b = ctx;

    if (b->allowed)
        gh_span_lit(w, "{\"allowed\":true");
    else
        gh_span_lit(w, "{\"allowed\":false");
    if (b->decision_id != NULL) {
        gh_span_lit(w, ",\"decision_id\":");
        gh_span_json(w, b->decision_id);
    }
    if (b->dataset != NULL) {
        gh_span_lit(w, ",\"dataset\":");
        gh_span_json(w, b->dataset);
        gh_span_lit(w, ",\"action\":");
        gh_span_json(w, b->action);
    }
    gh_span_lit(w, ",\"reason\":");
    gh_span_json(w, b->reason);
    gh_span_lit(w, "}");
}

static size_t authz_ext_max(const void *ctx)
{
    const struct authz_ext_body *b = ctx;
    return 96 + gh_span_json_max(b->decision_id) + gh_span_json_max(b->dataset) +
           gh_span_json_max(b->action) + gh_span_json_max(b->reason);
}

/* The ext_authz reply. Every string in it is bounded already, so it can always be built. */
static void authz_ext_reply(struct gh_req *r, unsigned status, bool allowed,
                            const char *decision_id, const char *dataset, const char *action,
                            const char *reason)
{
    struct authz_ext_body b = {allowed, decision_id, dataset, action, reason};
    gh_reply_fill(r, status, "application/json", authz_ext_fill, authz_ext_max, &b);
}

/* See authz.h. */
enum gh_status authz_handle_ext_authz(struct gh_req *r, struct gh_err *err)
{
    const struct authz_ctx *ax = gh_req_ctx(r);
    const struct authz_claims *claims = authz_req_claims(r, err);
    struct authz_check check = {0};
    struct authz_outcome o = {0};
    int64_t min_rev = 0;
    const char *hv[AUTHZ_EXT_NHEADERS];
    unsigned hn[AUTHZ_EXT_NHEADERS];
    char rev[24];
    struct gh_span rw;
    enum gh_status st;

    if (claims == NULL)
        return GH_E_UNAUTHORIZED;
    gh_req_headers_pick(r, authz_ext_headers, hv, hn);
    st = authz_ext_check(r, hv, hn, &check, err);
    if (st == GH_OK)
        st = authz_min_revision(NULL, hv[AUTHZ_EXT_H_MIN_REVISION], &min_rev, err);
    if (st == GH_OK)
        st = authz_wait_revision(ax, min_rev, err);
    if (st == GH_OK)
        st = authz_request_decide(ax, claims, &check, 1, gh_req_arena(r), &o, err);
    if (st)
        return st;
    gh_span_init(&rw, rev, sizeof(rev) - 1);
    gh_span_i64(&rw, (long long)o.revision);
    *rw.p = '\0';
    gh_reply_header(r, "X-Gatehouse-Decision-Id", o.decision_id);
    gh_reply_header(r, "X-Gatehouse-Revision", rev);
    gh_reply_header(r, "X-Gatehouse-Policy-Revision", o.policy_revision);
    if (o.allowed) {
        gh_reply_header(r, "X-Gatehouse-Subject", o.subject_id);
        gh_reply_header(r, "X-Gatehouse-User", authz_ext_header_value(r, o.subject_user_name));
    } else {
        gh_reply_header(r, "X-Gatehouse-Reason", authz_ext_header_value(r, o.results[0].reason));
    }
    authz_ext_reply(r, o.allowed ? 200 : 403, o.allowed, o.decision_id, check.dataset,
                    policy_action_name(check.action), o.results[0].reason);
    return GH_OK;
}

/* See authz.h: 401 and 403 insufficient_scope as RFC 6750 challenges (authz_render_error);
 * anything else - a bad request, no key set yet, a store failure - becomes a plain 403. */
void authz_ext_render_error(struct gh_req *r, const struct gh_err *err)
{
    if (err->status == GH_E_UNAUTHORIZED || err->status == GH_E_FORBIDDEN) {
        authz_render_error(r, err);
        return;
    }
    if (gh_status_http(err->status) >= 500)
        gh_log(GH_LOG_ERROR, "authz", "\"ext_authz failed closed\" status=%s",
               gh_status_name(err->status));
    gh_reply_header(r, "X-Gatehouse-Reason", authz_ext_header_value(r, err->msg));
    authz_ext_reply(r, 403, false, NULL, NULL, NULL,
                    err->msg[0] ? err->msg : gh_status_name(err->status));
}
