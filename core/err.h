/*
 * err.h - the one error type of the whole tree.
 *
 * A fallible function returns enum gh_status and takes `struct gh_err *err` last (it may be NULL).
 * The first error set wins, so the deepest, most precise message survives the unwinding.
 * err->msg feeds logs and protocol error bodies: it never holds token bytes or secrets.
 */
#ifndef GH_ERR_H
#define GH_ERR_H

#include <stdbool.h>
#include <stddef.h>

enum gh_status {
    GH_OK = 0,
    GH_E_INVALID,      /* bad input: 400 */
    GH_E_NOT_FOUND,    /* 404 */
    GH_E_CONFLICT,     /* 409, SCIM scimType "uniqueness" */
    GH_E_UNAUTHORIZED, /* 401 */
    GH_E_FORBIDDEN,    /* 403 */
    GH_E_TOO_LARGE,    /* 413 */
    GH_E_PRECONDITION, /* 412 (If-Match mismatch) */
    GH_E_UPSTREAM,     /* an upstream (IdP, JWKS host) failed: 503 */
    GH_E_STORE,        /* the store failed: 500 */
    GH_E_INTERNAL,     /* a bug or resource exhaustion: 500 */
    GH_E_UNAVAILABLE,  /* not ready, shutting down, or the store cannot write now: 503 */
    GH_E_METHOD,       /* method not allowed on this path: 405 */
    GH_E_TOO_MANY,     /* too many failed authentications from the address: 429 */
};

#define GH_ERR_MSG_MAX 256

struct gh_err {
    enum gh_status status;
    const char *scim_type; /* NULL or an RFC 7644 §3.12 scimType (static string) */
    char msg[GH_ERR_MSG_MAX];
    const char *file;
    int line;
};

/* ---- setting and reading ---- */
enum gh_status gh_err_set(struct gh_err *err, enum gh_status st, const char *file, int line,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define GH_ERR(err, st, ...) gh_err_set((err), (st), __FILE__, __LINE__, __VA_ARGS__)
void gh_err_set_scim_type(struct gh_err *err, const char *scim_type);
void gh_err_clear(struct gh_err *err);
bool gh_err_is_set(const struct gh_err *err);

/* ---- mapping ---- */
unsigned gh_status_http(enum gh_status st);
const char *gh_status_name(enum gh_status st);

/* ---- invariants ---- */
/* GH_ASSERT stays on in release builds (Redis): it is for invariants, never for input. */
#define GH_ASSERT(x)                                                                               \
    do {                                                                                           \
        if (!(x))                                                                                  \
            gh_assert_fail(#x, __FILE__, __LINE__);                                                \
    } while (0)
/* GH_NEVER(x) marks a defensive check that should never be true: it aborts in debug/test
 * builds (GH_TESTING) and evaluates to x in release so the caller can recover (SQLite). */
#ifdef GH_TESTING
#define GH_NEVER(x) ((x) ? (gh_assert_fail("NEVER(" #x ")", __FILE__, __LINE__), 1) : 0)
#else
#define GH_NEVER(x) (x)
#endif
_Noreturn void gh_assert_fail(const char *expr, const char *file, int line);

#endif
