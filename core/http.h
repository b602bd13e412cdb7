/*
 * http.h - the HTTP server: starting it with a route table, the request as handlers see it, and
 * the ways to answer it.
 *
 * A struct gh_req lives from the first MHD callback of a request to NOTIFY_COMPLETED; it owns
 * an arena for everything a handler allocates while answering. Handlers run on MHD's worker
 * threads, one request per thread at a time; they must not keep pointers into the request.
 */
#ifndef GH_HTTP_H
#define GH_HTTP_H

#include "arena.h"
#include "buf.h"
#include "err.h"
#include "route.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct gh_req;
struct gh_server;
struct sockaddr;

/* ---- the server ---- */
/* What the server is told at start (the daemon fills it from its config). Strings are borrowed
 * until gh_server_stop. */
struct gh_server_opts {
    const char *listen_host; /* numeric address or a name resolved once */
    int listen_port;         /* 0: any free port */
    const char *tls_cert;    /* PEM file, or NULL for plain HTTP */
    const char *tls_key;     /* PEM file (with tls_cert) */
    int threads;
    int max_connections;
    int max_connections_per_ip; /* 0: no limit */
    int conn_timeout;           /* seconds idle */
    int header_timeout;         /* seconds from accept to complete headers */
    int body_timeout;           /* seconds from complete headers to complete body */
    long max_body;              /* bytes; a route's body_cap is never above it */
    int max_body_inflight;      /* bytes of bodies being received, all connections */
};

/* Start listening (TLS when tls_cert is set) and serve routes[0..nroutes), which are borrowed
 * until gh_server_stop (route.h). On success *out_srv is the caller's (gh_server_stop). */
enum gh_status gh_server_start(const struct gh_server_opts *opts, const struct gh_route *routes,
                               size_t nroutes, struct gh_server **out_srv, struct gh_err *err);
int gh_server_port(const struct gh_server *srv);
/* Drain: requests in progress finish; connections without one, and new ones, are closed. */
void gh_server_quiesce(struct gh_server *srv);
/* Requests currently being handled. */
long gh_server_inflight(const struct gh_server *srv);
/* Stop all threads and close every connection; frees srv. NULL is a no-op. */
void gh_server_stop(struct gh_server *srv);

/* ---- reading the request (all results borrowed, valid until the request completes) ---- */
const char *gh_req_method(const struct gh_req *r);
const char *gh_req_path(const struct gh_req *r); /* decoded path, no query string */
const char *gh_req_header(const struct gh_req *r, const char *name);    /* case-insensitive */
const char *gh_req_query(const struct gh_req *r, const char *name);     /* decoded, or NULL */
bool gh_req_has_query(const struct gh_req *r, const char *name);        /* even without a value */
unsigned gh_req_header_count(const struct gh_req *r, const char *name); /* repeated headers */
/* Several headers in one pass over the request's (names: NULL-terminated, at most 16,
 * case-insensitive): values[i] is the first value of names[i] as gh_req_header gives it (NULL
 * when absent) and counts[i] how many times it was sent. Borrowed until the request completes. */
void gh_req_headers_pick(const struct gh_req *r, const char *const *names, const char **values,
                         unsigned *counts);
const char *gh_req_body(const struct gh_req *r, size_t *out_len); /* NUL-terminated */
struct gh_arena *gh_req_arena(struct gh_req *r);
/* The matched route family's context (struct gh_route ctx): each family's handlers know its
 * type (e.g. scim.h struct scim_ctx). NULL when the family has none. Borrowed. */
void *gh_req_ctx(const struct gh_req *r);
/* The methods the server's route table serves on this request's path, as an Allow value ("GET,
 * HEAD, POST"; any-method catch-all rows left out), or "" when none (route.h gh_route_allow). */
void gh_req_allow(const struct gh_req *r, char *allow, size_t allow_cap);
const char *gh_req_route(const struct gh_req *r); /* the matched route's label, for metrics */
/* The peer's socket address (AF_INET or AF_INET6), or NULL when the library cannot say. The
 * TCP peer, never a header such as X-Forwarded-For, which any client can write. */
const struct sockaddr *gh_req_client_addr(const struct gh_req *r);
/* Extract an RFC 6750 bearer token from Authorization. GH_E_UNAUTHORIZED when absent or not a
 * Bearer credential (the message says which). The token is borrowed from the request. */
enum gh_status gh_req_bearer(const struct gh_req *r, const char **out_tok, size_t *out_len,
                             struct gh_err *err);
/* The parsing behind gh_req_bearer, for any Authorization header value (fuzzed). */
enum gh_status gh_http_parse_bearer(const char *authorization, const char **out_tok,
                                    size_t *out_len, struct gh_err *err);
/* ---- the route's credential (route.h gh_auth_fn) ---- */
typedef void (*gh_release_fn)(void *p);
/* Keep what the credential check verified (e.g. token claims) for the handler; takes `verified`,
 * which `release` frees when the request completes. */
void gh_req_auth_set(struct gh_req *r, void *verified, gh_release_fn release);
/* What gh_req_auth_set kept (borrowed until the request completes), or NULL. */
void *gh_req_auth(const struct gh_req *r);
/* Parse the body as JSON. GH_E_INVALID with a message when it is empty or not JSON.
 * Caller owns the result (cJSON_Delete). */
enum gh_status gh_req_json(const struct gh_req *r, cJSON **out_json, struct gh_err *err);

/* ---- answering (exactly one reply per request; later calls are ignored) ---- */
void gh_reply_header(struct gh_req *r, const char *name, const char *value); /* copied */
/* True when a reply header of this name (case-insensitive) was already added: a renderer that
 * has a default for a single-valued header (Retry-After) keeps the value set nearer the cause. */
bool gh_reply_has_header(const struct gh_req *r, const char *name);
void gh_reply(struct gh_req *r, unsigned status, const char *content_type, const char *body,
              size_t len);                                          /* body copied */
void gh_reply_json(struct gh_req *r, unsigned status, cJSON *body); /* takes body */
/* Reply with a malloc'd body of len bytes; takes body (freed here when a reply was already set)
 * and hands it to the HTTP library without a copy. content_type must outlive the request. */
void gh_reply_take(struct gh_req *r, unsigned status, const char *content_type, char *body,
                   size_t len);
/* Reply with text that fill(w, ctx) writes (a span, buf.h): into a stack buffer first, the
 * reply then allocated at its exact size; when it does not fit, fill runs again over max(ctx)
 * bytes, its worst case. No printf, no growing buffer: the replies of every decision. */
typedef void (*gh_reply_fill_fn)(struct gh_span *w, const void *ctx);
typedef size_t (*gh_reply_max_fn)(const void *ctx);
void gh_reply_fill(struct gh_req *r, unsigned status, const char *content_type,
                   gh_reply_fill_fn fill, gh_reply_max_fn max, const void *ctx);
/* The default error reply: {"error":"<status name>","message":"<err->msg>"} as JSON. */
void gh_reply_error(struct gh_req *r, const struct gh_err *err);
/* RFC 6750 §3 WWW-Authenticate for a 401/403 of a bearer route (challenge.c): realm only when
 * the request carried no Bearer credential, else error="invalid_token" (401) or
 * "insufficient_scope" with scope (403) and error_description. Returns that code, or NULL. */
const char *gh_reply_bearer_challenge(struct gh_req *r, const char *realm, const struct gh_err *err,
                                      const char *scope);
bool gh_req_replied(const struct gh_req *r);
unsigned gh_req_reply_status(const struct gh_req *r);

/* ---- cookies, forms and URL values (form.c; pure parsers, fuzzed) ---- */
/* The value of the first cookie named exactly `name` in a Cookie header value (RFC 6265 §5.4
 * "a=b; c=d"; header may be NULL), borrowed from header, surrounding blanks trimmed; false when
 * there is none. */
bool gh_http_cookie_find(const char *header, const char *name, const char **out_val,
                         size_t *out_len);
/* The request's cookie `name` (a copy in the request's arena), or NULL. */
const char *gh_req_cookie(struct gh_req *r, const char *name);
/* The first value named `name` in an application/x-www-form-urlencoded text of len bytes (need
 * not be NUL-terminated), decoded ('+' is a space, %XX a byte) into out (cap > 0 bytes with the
 * NUL; "" for a name without '='). GH_E_NOT_FOUND when absent, GH_E_INVALID for a bad escape or
 * a NUL byte, GH_E_TOO_LARGE when the value does not fit. */
enum gh_status gh_http_form_get(const char *form, size_t len, const char *name, char *out,
                                size_t cap, struct gh_err *err);
/* Append src percent-encoded (RFC 3986 §2.3: all but unreserved characters) to b; *st turns
 * GH_E_TOO_LARGE when b's cap is reached (nothing is appended once *st is set). */
void gh_http_url_encode(struct gh_buf *b, enum gh_status *st, const char *src);

#endif
