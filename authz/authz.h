/*
 * authz.h - the authz module's front header: bearer token -> verified Entra claims, and the
 * /v1/authorize route.
 *
 * A struct authz_verifier holds the configuration-derived rules (algorithms, issuers, audiences,
 * tenants, scopes/roles), borrows the JWKS cache and owns the verified-token cache. Verified
 * claims are immutable, reference-counted objects shared with that cache.
 */
#ifndef AUTHZ_H
#define AUTHZ_H

#include "core/core.h"
#include "policies/policies.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gh_arena;
struct gh_req;
struct jwks_cache;
struct authz_verifier;
struct authz_claims;
struct authz_check;  /* decide.h */
struct authz_result; /* decide.h */
struct authz_decision_log;
struct gh_authfail;

/* ---- the decision log (GATEHOUSE_DECISION_LOG; decision_log.h holds the writing side) ---- */
/* target: a file path (created 0600, appended), or "stderr". Caller frees with
 * authz_decision_log_close. */
enum gh_status authz_decision_log_open(const char *target, struct authz_decision_log **out_log,
                                       struct gh_err *err);
void authz_decision_log_close(struct authz_decision_log *log); /* NULL is a no-op */
/* Decisions allowed/denied and lines the log lost since start (/metrics, the admin status);
 * counted whether or not a log is open. Thread-safe. */
void authz_decision_log_counts(unsigned long *out_allowed, unsigned long *out_denied,
                               unsigned long *out_write_errors);
struct policy_engine;
struct store;
struct policy_doc; /* policies/policy.h */

/* ---- what the authz routes' handlers use (gh_req_ctx of /v1/authorize and /v1/ext_authz) ----
 * Built by the daemon; every pointer borrowed for the server's life. */
struct authz_ctx {
    struct authz_verifier *verifier;      /* NULL when no OIDC discovery is configured */
    struct policy_engine *policy;         /* access groups and decisions */
    struct authz_decision_log *decisions; /* NULL when GATEHOUSE_DECISION_LOG is unset */
    struct store *store;                  /* identity store */
    const char *tenant;                 /* the tenant the SCIM data comes from ("" when unknown) */
    const char *const *identity_claims; /* GATEHOUSE_IDENTITY_CLAIMS "claim:attribute" pairs */
    size_t nidentity_claims;
    const char *ext_authz_origin; /* GATEHOUSE_EXT_AUTHZ_ORIGIN */
    int64_t max_staleness_ms;     /* GATEHOUSE_MAX_STALENESS: older directory data denies */
    int revision_wait_ms;         /* GATEHOUSE_REVISION_WAIT: how long min_revision may wait */
};

/* ---- verifier ---- */
/* The rules a verifier applies; the daemon fills them from its GATEHOUSE_* settings (named
 * below). The lists are borrowed from whoever filled them. */
struct authz_verifier_opts {
    struct gh_list issuers;         /* GATEHOUSE_ISSUER; empty: the discovery issuer only */
    struct gh_list audiences;       /* GATEHOUSE_AUDIENCE; at least one is required */
    struct gh_list tenants;         /* GATEHOUSE_TENANTS; empty: any tid */
    struct gh_list algs;            /* GATEHOUSE_ALGS */
    struct gh_list required_scopes; /* GATEHOUSE_REQUIRED_SCOPES (delegated tokens) */
    struct gh_list required_roles;  /* GATEHOUSE_REQUIRED_ROLES (app-only tokens) */
    struct gh_list identity_claims; /* GATEHOUSE_IDENTITY_CLAIMS "claim:attribute" pairs */
    int leeway_s;                   /* GATEHOUSE_LEEWAY: clock skew allowed on exp/nbf/iat */
    int token_cache_size;           /* GATEHOUSE_TOKEN_CACHE_SIZE; 0: no cache */
};
/* Build a verifier from opts (borrowed, with its lists) over jwks (borrowed); both must outlive
 * it. Fails with GH_E_INVALID when the rules cannot validate tokens safely (e.g. no audience).
 * Caller frees with authz_verifier_free. */
enum gh_status authz_verifier_new(const struct authz_verifier_opts *opts, struct jwks_cache *jwks,
                                  struct authz_verifier **out_verifier, struct gh_err *err);
void authz_verifier_free(struct authz_verifier *v); /* NULL is a no-op */
/* Verify a compact JWS access token (see token.c for the order of checks). GH_OK: *out_claims is
 * a reference the caller drops with authz_claims_release. GH_E_UNAUTHORIZED: err->msg is the
 * RFC 6750 error_description; GH_E_FORBIDDEN: valid token without a required scope/role;
 * GH_E_UNAVAILABLE: no usable key set. Thread-safe. The token is never logged or echoed. */
enum gh_status authz_token_verify(struct authz_verifier *v, const char *tok, size_t len,
                                  struct authz_claims **out_claims, struct gh_err *err);
/* As authz_token_verify, but instead of GATEHOUSE_REQUIRED_SCOPES/ROLES the token must be
 * app-only (no scp; idtyp "app" when present) and carry one of roles in its roles claim
 * (GH_E_FORBIDDEN otherwise): a service calling on its own behalf, e.g. an AuthZEN PEP. */
enum gh_status authz_token_verify_app(struct authz_verifier *v, const char *tok, size_t len,
                                      const struct gh_list *roles, struct authz_claims **out_claims,
                                      struct gh_err *err);
/* The space-separated scope="…" value for 403 insufficient_scope (borrowed, may be ""). */
const char *authz_verifier_scope_hint(const struct authz_verifier *v);
/* /metrics collector (gh_metrics_collect_fn); ctx = verifier. */
void authz_verifier_metrics(void *ctx, struct gh_buf *out);

/* ---- claims (immutable; borrowed results live as long as the caller's reference) ---- */
void authz_claims_release(struct authz_claims *c); /* NULL is a no-op */
const cJSON *authz_claims_json(const struct authz_claims *c);
const char *authz_claims_str(const struct authz_claims *c, const char *name); /* or NULL */
int64_t authz_claims_exp(const struct authz_claims *c);
/* Claims every decision reads, looked up once when the token was verified (borrowed, or NULL):
 * tid; uti, else jti; iat (0 when absent); the claim named by the i-th GATEHOUSE_IDENTITY_CLAIMS
 * pair (NULL when absent, not a string, or i is out of range). */
const char *authz_claims_tid(const struct authz_claims *c);
const char *authz_claims_token_id(const struct authz_claims *c);
int64_t authz_claims_iat(const struct authz_claims *c);
const char *authz_claims_identity(const struct authz_claims *c, size_t i);

/* ---- HTTP (route table rows in sidecar/router.c) ---- */
/* The credential of both authz routes (gh_auth_fn), run before the body is read: verifies the
 * bearer token once and keeps the claims on the request. */
enum gh_status authz_auth(struct gh_req *r, struct gh_err *err);
/* Those claims (borrowed until the request completes); NULL (and err set to 401) when the route
 * ran without authz_auth. */
const struct authz_claims *authz_req_claims(const struct gh_req *r, struct gh_err *err);
/* POST /v1/authorize: bearer token -> verified subject -> decision (fail-closed until access
 * groups exist). */
enum gh_status authz_handle_authorize(struct gh_req *r, struct gh_err *err);
/* The body of POST /v1/authorize -> its checks (in a; datasets borrowed from json). */
enum gh_status authz_authorize_body_parse(struct gh_arena *a, const cJSON *json,
                                          struct authz_check **out_checks, size_t *out_n,
                                          struct gh_err *err);
/* Error renderer for authz routes: 401 + WWW-Authenticate (realm "gatehouse"; invalid_token
 * when a Bearer credential failed, no error code without one), 403 + insufficient_scope (RFC
 * 6750 §3), other statuses as {"error","message"} JSON. */
void authz_render_error(struct gh_req *r, const struct gh_err *err);
/* /v1/ext_authz (any method, any path below it) for Envoy ext_authz, nginx auth_request and
 * Traefik forwardAuth: only 200, 401 or 403. */
enum gh_status authz_handle_ext_authz(struct gh_req *r, struct gh_err *err);
void authz_ext_render_error(struct gh_req *r, const struct gh_err *err);
/* What /v1/ext_authz reads of a request (borrowed; NULL when a header is absent). */
struct authz_ext_request {
    const char *method, *path; /* of the request itself (path: decoded, /v1/ext_authz...) */
    const char *x_original_method, *x_original_uri;   /* nginx auth_request */
    const char *x_forwarded_method, *x_forwarded_uri; /* Traefik forwardAuth */
    const char *dataset, *action;                     /* X-Gatehouse-Dataset / -Action */
    const char *repeated; /* name of a single-valued header sent twice, or NULL */
};
/* Is path in the normal form route rules are matched on (starts with '/'; no "//", dot
 * segments, encoded '.', '/' or '\\', no backslash)? A path an application may resolve
 * differently from its text must not match a rule at all. */
bool authz_path_normal(const char *path);
/* Its check: the original request per origin (GATEHOUSE_EXT_AUTHZ_ORIGIN), path normal form,
 * doc's route rule (borrowed), else the X-Gatehouse headers. Dataset in a or borrowed from in. */
enum gh_status authz_ext_check_parse(struct gh_arena *a, const char *origin,
                                     const struct policy_doc *doc,
                                     const struct authz_ext_request *in, struct authz_check *out,
                                     struct gh_err *err);

/* ---- AuthZEN Authorization API 1.0 (authzen.c, docs/authzen.md) ----
 * POST /access/v1/evaluation and /access/v1/evaluations for a PEP authenticated by its own
 * secret or an Entra app-only token, and GET /.well-known/authzen-configuration. */
struct authz_authzen_ctx {
    const struct authz_ctx *authz;     /* the decisions (borrowed) */
    const struct gh_secret_set *token; /* GATEHOUSE_AUTHZEN_TOKEN (count 0: no secret) */
    const struct gh_list *roles;       /* GATEHOUSE_AUTHZEN_ROLES (count 0: no tokens) */
    const char *public_url;            /* GATEHOUSE_PUBLIC_URL, or NULL: from Host */
    bool tls;                          /* the listener speaks HTTPS (URLs built from Host) */
    bool reasons;                      /* GATEHOUSE_AUTHZEN_REASONS: always add context */
    struct gh_authfail *authfail;      /* wrong PEP secrets counted here; NULL: not counted */
};
/* The PEP's credential (gh_auth_fn), before the body is read: the AuthZEN secret, else an
 * app-only token with one of the roles (401 with an RFC 6750 challenge; 403 for a valid token
 * that is delegated or lacks the role). */
enum gh_status authz_authzen_auth(struct gh_req *r, struct gh_err *err);
/* POST /access/v1/evaluation: {"decision":bool} (+ "context" when asked). */
enum gh_status authz_authzen_handle_evaluation(struct gh_req *r, struct gh_err *err);
/* POST /access/v1/evaluations: {"evaluations":[{"decision":bool},...]}, or one decision. */
enum gh_status authz_authzen_handle_evaluations(struct gh_req *r, struct gh_err *err);
/* GET /.well-known/authzen-configuration: the PDP metadata (public). */
enum gh_status authz_authzen_handle_metadata(struct gh_req *r, struct gh_err *err);
/* Errors: {"error","message"} JSON, RFC 6750 challenge on 401/403; X-Request-ID echoed. */
void authz_authzen_render_error(struct gh_req *r, const struct gh_err *err);

/* ---- a whole request: verified claims -> identity -> facts -> one result per check ----
 * The I/O around decide.h's pure decision: the store's in-memory index, the policy snapshot
 * and the decision log. */
struct authz_outcome {
    bool allowed; /* every check allowed */
    char decision_id[40];
    const char *subject_id;        /* NULL when not provisioned (arena) */
    const char *subject_user_name; /* arena or NULL */
    const char *subject_external_id;
    const char *tenant;           /* the token's tid or NULL (borrowed from the claims) */
    struct authz_result *results; /* n entries (arena) */
    int64_t revision;             /* the store revision the decision read */
    char policy_revision[17];     /* policy_snapshot_revision of the snapshot it read */
};

/* Resolve the subject of verified claims to a provisioned user (ctx->identity_claims), gather
 * its facts from ctx's store and policy snapshot, decide every check, write the decision log
 * and count the results. A store failure is an error (the caller answers 5xx; it never allows).
 * Read-your-writes: a SCIM write acknowledged by this process is in the index it reads.
 * Thread-safe.
 */
enum gh_status authz_request_decide(const struct authz_ctx *ctx, const struct authz_claims *claims,
                                    const struct authz_check *checks, size_t n, struct gh_arena *a,
                                    struct authz_outcome *out, struct gh_err *err);
/* The same decision for a subject named by an identifier instead of a token (AuthZEN, explain):
 * ident is matched against the SCIM id, externalId and userName of provisioned users (more than
 * one user matched is refused as ambiguous), decided as a token issued now would be (iat = now
 * for the cut-offs), with the staleness rule, defaults, decision log and counters of
 * authz_request_decide; no tenant check (a token's claim). out->tenant is NULL. Thread-safe. */
enum gh_status authz_subject_decide(const struct authz_ctx *ctx, const char *ident,
                                    const struct authz_check *checks, size_t n, struct gh_arena *a,
                                    struct authz_outcome *out, struct gh_err *err);
/* The tenant the SCIM data comes from: the first of tenants (GATEHOUSE_TENANTS; borrowed from
 * it), else the tenant GUID named in one of issuers (GATEHOUSE_ISSUER) or in discovery_url
 * (GATEHOUSE_OIDC_DISCOVERY, may be NULL), copied into buf; "" when none is known (no tenant
 * check). Computed once at start-up into authz_ctx.tenant. */
/* Wait (up to ctx->revision_wait_ms) for the store's index to reach min_revision (a client's
 * "read after my write" on another replica); GH_E_UNAVAILABLE (503) with the reason when it did
 * not. min_revision <= 0: no wait. */
/* The minimum revision a decision must read: the /v1/authorize body's "min_revision", else the
 * X-Gatehouse-Min-Revision header (the only way through /v1/ext_authz); 0 when neither. */
#define AUTHZ_MIN_REVISION_HEADER "X-Gatehouse-Min-Revision"
enum gh_status authz_min_revision(const cJSON *json, const char *header, int64_t *out,
                                  struct gh_err *err);
enum gh_status authz_wait_revision(const struct authz_ctx *ctx, int64_t min_revision,
                                   struct gh_err *err);
const char *authz_expected_tenant(const struct gh_list *tenants, const struct gh_list *issuers,
                                  const char *discovery_url, char buf[37]);
/* ---- /admin/v1/explain (explain.c; route rows in sidecar/router.c) ---- */
/* Its context: the admin API's (first, so policy_admin_auth, which reads the request's context
 * as a struct policy_admin_ctx, checks GATEHOUSE_ADMIN_TOKEN) and the decision path's. Built by
 * the daemon; borrowed for the server's life. */
struct authz_admin_ctx {
    struct policy_admin_ctx admin; /* must stay first */
    const struct authz_ctx *authz;
};
/* GET ?user=&dataset=&action= (user by userName, externalId or SCIM id) and POST
 * {"token","dataset","action"}: the decision /v1/authorize gives, with every path that led to
 * it (identity -> IdP group -> access group -> grant), default grants, cut-offs, the tenant
 * check, staleness and both revisions. Behind policy_admin_auth. */
enum gh_status authz_handle_explain(struct gh_req *r, struct gh_err *err);

/* GET /admin/v1/decisions?user=&dataset=&result=allowed|denied&limit= (recent.c): the last
 * decisions (an in-memory ring of 1000, whether or not GATEHOUSE_DECISION_LOG is set), newest
 * first, as decision-log lines. Behind policy_admin_auth; no context of its own. */
enum gh_status authz_handle_decisions(struct gh_req *r, struct gh_err *err);

/* /metrics collector: decisions by result, decision-log write failures (ctx unused). */
void authz_decide_metrics(void *ctx, struct gh_buf *out);

/* ---- the admin page's sign-in with Entra ID (signin.c; docs/admin-page.md) ----
 * OpenID Connect authorization code flow with PKCE (S256) against the discovery document's
 * provider; the ID token is checked by a second verifier (same JWKS cache, audience the admin
 * app's client id) and its nonce; the user must resolve (GATEHOUSE_IDENTITY_CLAIMS) to an active
 * provisioned user reaching the access group GATEHOUSE_ADMIN_GROUP through a linked IdP group.
 * Sessions are server-side (only a SHA-256 of the cookie's id is kept), expire absolutely, carry
 * a CSRF token, and re-check the membership on every request. */
struct authz_signin;
struct authz_signin_opts {
    const char *discovery_url; /* GATEHOUSE_OIDC_DISCOVERY */
    const char *client_id;     /* GATEHOUSE_ADMIN_CLIENT_ID */
    const char *client_secret; /* GATEHOUSE_ADMIN_CLIENT_SECRET, or NULL (public client) */
    const char *admin_group;   /* GATEHOUSE_ADMIN_GROUP (an access group's name) */
    const char *public_url;    /* GATEHOUSE_PUBLIC_URL, or NULL: loopback Host only */
    bool tls;                  /* the listener speaks HTTPS */
    int session_ttl_s;         /* GATEHOUSE_ADMIN_SESSION_TTL */
    int http_timeout_s;        /* GATEHOUSE_HTTP_TIMEOUT (discovery, token endpoint) */
    const char *ca_file;       /* GATEHOUSE_CA_FILE, or NULL */
    bool allow_insecure_http;  /* GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER (loopback only) */
};
/* Build the sign-in from opts (borrowed, strings too), the access-token verifier's rules vopts
 * (copied, with the audience replaced by client_id and no scope/role rule), jwks and authz
 * (borrowed: the store and identity claims the decisions use); all must outlive it. Caller frees
 * with authz_signin_free. */
enum gh_status authz_signin_new(const struct authz_signin_opts *opts,
                                const struct authz_verifier_opts *vopts, struct jwks_cache *jwks,
                                const struct authz_ctx *authz, struct authz_signin **out,
                                struct gh_err *err);
void authz_signin_free(struct authz_signin *s); /* NULL is a no-op */
/* The admin routes' session check (policies/admin.h policy_admin_session_fn; ctx = the sign-in):
 * GH_E_NOT_FOUND without a session cookie; GH_OK for a live session of a current admin (the
 * session is kept on the request); else answered here: 401 (unknown or expired session, or no
 * longer an admin: the session is ended) or 403 {"error":"csrf"} (an unsafe method without
 * the session's X-CSRF-Token, or with a foreign Origin). Thread-safe. */
enum gh_status authz_signin_session_check(void *ctx, struct gh_req *r, struct gh_err *err);
/* GET /admin/login[?return=/admin/...]: a pending login and a 302 to the provider (route ctx:
 * the sign-in, NULL when not configured: 404). Public. */
enum gh_status authz_signin_handle_login(struct gh_req *r, struct gh_err *err);
/* GET /admin/callback: state (table + browser cookie, single use), the provider's error, code
 * exchange, ID token and nonce, the admin rule, a session cookie and a 302 to the return path;
 * refusals as a small HTML page. Public. */
enum gh_status authz_signin_handle_callback(struct gh_req *r, struct gh_err *err);
/* POST /admin/logout's credential (gh_auth_fn): a session cookie with its X-CSRF-Token. */
enum gh_status authz_signin_logout_auth(struct gh_req *r, struct gh_err *err);
/* POST /admin/logout: ends the session and clears the cookie (200 {"signed_out":true}). */
enum gh_status authz_signin_handle_logout(struct gh_req *r, struct gh_err *err);
/* JSON errors of the sign-in routes ({"error","message"}, no bearer challenge). */
void authz_signin_render_error(struct gh_req *r, const struct gh_err *err);
/* GET /admin/v1/session (route ctx: the admin API's, behind policy_admin_auth): who is signed in
 * and how ({"user":{…},"via":"session"|"token","csrf_token","expires","admin_group"}). */
enum gh_status authz_signin_handle_session(struct gh_req *r, struct gh_err *err);

#endif
