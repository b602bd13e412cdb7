/*
 * err.c - the error type and the single status -> HTTP mapping of the tree.
 *
 * Invariant: once err->status is non-zero it is never overwritten (first error wins), so a
 * caller that adds context cannot mask the precise cause found deeper down.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Record an error unless one is already recorded. Returns `st` so that callers can write
 * `return GH_ERR(err, GH_E_INVALID, "...")`. err may be NULL. Thread-safe (no shared state).
 */
enum gh_status gh_err_set(struct gh_err *err, enum gh_status st, const char *file, int line,
                          const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err->status != GH_OK)
        return st;
    err->status = st;
    err->file = file;
    err->line = line;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return st;
}

/* Attach an RFC 7644 scimType (a static string) to the error already recorded. */
void gh_err_set_scim_type(struct gh_err *err, const char *scim_type)
{
    if (err != NULL && err->scim_type == NULL)
        err->scim_type = scim_type;
}

/* Reset err to "no error". */
void gh_err_clear(struct gh_err *err)
{
    if (err != NULL)
        memset(err, 0, sizeof(*err));
}

/* True when an error has been recorded in err. */
bool gh_err_is_set(const struct gh_err *err)
{
    return err != NULL && err->status != GH_OK;
}

/* The HTTP status for a gh_status; the only such mapping in the tree. */
unsigned gh_status_http(enum gh_status st)
{
    switch (st) {
    case GH_OK:
        return 200;
    case GH_E_INVALID:
        return 400;
    case GH_E_UNAUTHORIZED:
        return 401;
    case GH_E_FORBIDDEN:
        return 403;
    case GH_E_NOT_FOUND:
        return 404;
    case GH_E_CONFLICT:
        return 409;
    case GH_E_PRECONDITION:
        return 412;
    case GH_E_METHOD:
        return 405;
    case GH_E_TOO_LARGE:
        return 413;
    case GH_E_TOO_MANY:
        return 429;
    case GH_E_UPSTREAM:
    case GH_E_UNAVAILABLE:
        return 503;
    case GH_E_STORE:
    case GH_E_INTERNAL:
        return 500;
    }
    return 500;
}

/* A short stable name for logs and metrics. */
const char *gh_status_name(enum gh_status st)
{
    static const char *const names[] = {
        "ok",        "invalid",     "not_found",          "conflict",          "unauthorized",
        "forbidden", "too_large",   "precondition",       "upstream",          "store",
        "internal",  "unavailable", "method_not_allowed", "too_many_requests",
    };
    if ((size_t)st < sizeof(names) / sizeof(names[0]))
        return names[st];
    return "unknown";
}

/* Abort with the failed invariant; never returns. */
void gh_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "level=error mod=assert msg=\"assertion failed\" expr=\"%s\" at=%s:%d\n", expr,
            file, line);
    abort();
}
