/*
 * activity.c - what the SCIM surface has been asked since start, for the admin page's
 * provisioning status (GET /admin/v1/status): requests and errors (status >= 400) counted, and
 * the last request and the last error kept (time, method, path without its query, status).
 *
 * Every answered SCIM request passes here once: its success replies (handlers.c scim_reply*)
 * and its SCIM Error replies (error.c, which also answers the HTTP layer's 401/404/405/413 on
 * SCIM routes). The counters are relaxed atomics; the last request is a small copy under a
 * mutex, off the decision path (SCIM requests each write the store, which costs far more).
 * Process-wide, like the decision counters: "since start" is the process's start.
 */
#include "core/core.h"
#include "scim/activity_int.h"
#include "scim/scim.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

static _Atomic unsigned long scim_act_requests, scim_act_errors;
static pthread_mutex_t scim_act_lock = PTHREAD_MUTEX_INITIALIZER;
static struct scim_request_note scim_act_last, scim_act_last_error; /* under scim_act_lock */

/* Copy s into a fixed field, cut to its size (a path is the client's; never longer than the
 * field). */
static void scim_act_copy(char *dst, size_t cap, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n > cap - 1)
        n = cap - 1;
    if (n > 0)
        memcpy(dst, s, n);
    dst[n] = '\0';
}

/* See activity_int.h. */
void scim_activity_note(const struct gh_req *r)
{
    struct scim_request_note n;
    bool error;

    memset(&n, 0, sizeof(n));
    n.status = gh_req_reply_status(r);
    n.unix_time = (int64_t)time(NULL);
    gh_log_time(n.time, sizeof(n.time));
    scim_act_copy(n.method, sizeof(n.method), gh_req_method(r));
    scim_act_copy(n.path, sizeof(n.path), gh_req_path(r)); /* decoded, no query string */
    error = n.status >= 400;
    atomic_fetch_add_explicit(&scim_act_requests, 1, memory_order_relaxed);
    if (error)
        atomic_fetch_add_explicit(&scim_act_errors, 1, memory_order_relaxed);
    pthread_mutex_lock(&scim_act_lock);
    scim_act_last = n;
    if (error)
        scim_act_last_error = n;
    pthread_mutex_unlock(&scim_act_lock);
}

/* See scim.h. Thread-safe. */
void scim_activity_get(struct scim_activity *out)
{
    memset(out, 0, sizeof(*out));
    out->requests = atomic_load_explicit(&scim_act_requests, memory_order_relaxed);
    out->errors = atomic_load_explicit(&scim_act_errors, memory_order_relaxed);
    pthread_mutex_lock(&scim_act_lock);
    out->last = scim_act_last;
    out->last_error = scim_act_last_error;
    pthread_mutex_unlock(&scim_act_lock);
}
