/*
 * authfail.h - failed authentications per client address (SCIM and admin bearer secrets).
 *
 * After its burst an address that keeps presenting wrong secrets is answered 429 with
 * Retry-After, while a right secret is checked first and always passes (authfail.c says why).
 * The log summarises: an address's first failure is one line, then at most one line per address
 * and route per interval with the count. The table is fixed-size and thread-safe; nothing here
 * ever sees the presented secret.
 */
#ifndef GH_AUTHFAIL_H
#define GH_AUTHFAIL_H

#include "buf.h"
#include "err.h"

#include <stddef.h>
#include <stdint.h>

struct gh_req;
struct sockaddr;
struct gh_authfail;

/* The routes that count failures (metrics label and log field). Not /v1/ext_authz, which may
 * only answer 200/401/403, nor /v1/authorize, whose tokens are signed and cannot be guessed.
 * AuthZEN's /access/v1 counts wrong PEP secrets (not its signed app tokens). */
enum gh_authfail_route {
    GH_AUTHFAIL_SCIM = 0,
    GH_AUTHFAIL_ADMIN,
    GH_AUTHFAIL_AUTHZEN,
    GH_AUTHFAIL_NROUTES
};

struct gh_authfail_opts {
    unsigned slots;     /* addresses tracked at once (rounded up to a multiple of 8) */
    int burst;          /* failures an address may make at once */
    int per_min;        /* failures per minute it may make after that */
    int log_interval_s; /* seconds between summary lines per address */
};

/* ---- life cycle ---- */
/* A new table; caller frees with gh_authfail_free. */
struct gh_authfail *gh_authfail_new(const struct gh_authfail_opts *o);
/* Start the thread that writes summaries when their interval is over (the daemon does). */
enum gh_status gh_authfail_start(struct gh_authfail *af, struct gh_err *err);
/* Stop the thread, log every pending summary, free. NULL is a no-op. */
void gh_authfail_free(struct gh_authfail *af);

/* ---- in an authentication function, once the credential was found wrong ---- */
/* Count the failure in af (NULL: none is kept, a plain 401) against the request's client
 * address; returns GH_E_UNAUTHORIZED with why's message in err, or GH_E_TOO_MANY (429) with a
 * Retry-After reply header once the address is over its budget. */
enum gh_status gh_authfail_reject(struct gh_authfail *af, struct gh_req *r,
                                  enum gh_authfail_route route, const struct gh_err *why,
                                  struct gh_err *err);

/* ---- the table itself, time given in milliseconds (tests drive it) ---- */
/* Count one failure; 0 when it is within budget, else whole seconds until the next is. */
unsigned gh_authfail_note(struct gh_authfail *af, const struct sockaddr *addr,
                          enum gh_authfail_route route, const char *path, const char *reason,
                          int64_t now_ms);
void gh_authfail_sweep(struct gh_authfail *af, int64_t now_ms); /* log due summaries */
size_t gh_authfail_size(const struct gh_authfail *af);          /* addresses tracked */
int64_t gh_authfail_now_ms(void);                               /* CLOCK_MONOTONIC */

/* ---- metrics (a gh_metrics_collect_fn; ctx is the table) ---- */
void gh_authfail_metrics(void *ctx, struct gh_buf *out);

#endif
