/*
 * http.h - the request as handlers see it, and the ways to answer it.
 *
 * A struct gh_req lives from the first MHD callback of a request to NOTIFY_COMPLETED; it owns
 * an arena for everything a handler allocates while answering. Handlers run on MHD's worker
 * threads, one request per thread at a time; they must not keep pointers into the request.
 */
#ifndef GH_HTTP_H
#define GH_HTTP_H

#include "arena.h"
#include "err.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct gh_req;
struct gh_app;
struct sockaddr;

/* ---- reading the request (all results borrowed, valid until the request completes) ---- */
const char *gh_req_method(const struct gh_req *r);
const char *gh_req_path(const struct gh_req *r); /* decoded path, no query string */
const char *gh_req_header(const struct gh_req *r, const char *name);    /* case-insensitive */
const char *gh_req_query(const struct gh_req *r, const char *name);     /* decoded, or NULL */
bool gh_req_has_query(const struct gh_req *r, const char *name);        /* even without a value */
unsigned gh_req_header_count(const struct gh_req *r, const char *name); /* repeated headers */
const char *gh_req_body(const struct gh_req *r, size_t *out_len);       /* NUL-terminated */
struct gh_arena *gh_req_arena(struct gh_req *r);
struct gh_app *gh_req_app(const struct gh_req *r);
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
/* ---- the route's credential (router.h gh_auth_fn) ---- */
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
/* The default error reply: {"error":"<status name>","message":"<err->msg>"} as JSON. */
void gh_reply_error(struct gh_req *r, const struct gh_err *err);
/* RFC 6750 §3 WWW-Authenticate for a 401/403 of a bearer route (challenge.c): realm only when
 * the request carried no Bearer credential, else error="invalid_token" (401) or
 * "insufficient_scope" with scope (403) and error_description. Returns that code, or NULL. */
const char *gh_reply_bearer_challenge(struct gh_req *r, const char *realm, const struct gh_err *err,
                                      const char *scope);
bool gh_req_replied(const struct gh_req *r);
unsigned gh_req_reply_status(const struct gh_req *r);

#endif
