/*
 * cache.c - the signing-key cache: one refresh thread, immutable snapshots, forced refreshes.
 *
 * Invariants:
 *  - `cur` is swapped only under `mu`; readers copy the pointer and take a reference under `mu`
 *    and do everything else (key lookup, signature checks) with no lock held.
 *  - Only the refresh thread performs network I/O, so there is never more than one fetch in
 *    flight however many requests ask for a refresh (single flight).
 *  - A failed, garbled or empty fetch never replaces a good set; the good set keeps serving until
 *    it is older than GATEHOUSE_JWKS_MAX_STALE, after which acquire() returns NULL (fail closed).
 *  - Periodic refresh follows Cache-Control max-age clamped to [JWKS_REFRESH_MIN, _MAX]; unknown
 *    kids force one refresh per GATEHOUSE_JWKS_COOLDOWN (Entra "signing key rollover" guidance,
 *    go-oidc #482: uncapped refetching turns every bogus token into a request to the IdP).
 */
#include "core/core.h"
#include "jwks/jwks_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Interval when the JWKS response has no max-age (Microsoft suggests hourly checks). */
#define JWKS_DEFAULT_INTERVAL_S 3600
/* First retry delay after a failure; doubles up to GATEHOUSE_JWKS_REFRESH_MIN. */
#define JWKS_RETRY_FIRST_S 1

struct jwks_cache {
    const struct jwks_cache_opts *opts; /* borrowed */
    pthread_mutex_t mu;
    pthread_cond_t wake; /* the refresh thread sleeps here (CLOCK_MONOTONIC) */
    pthread_cond_t done; /* unknown-kid callers wait here for the fetch in flight */
    struct jwks_set *cur;
    char *issuer;   /* from discovery; refresh thread only */
    char *jwks_uri; /* from discovery; refresh thread only */
    pthread_t thread;
    bool running, stop, force, fetching;
    uint64_t completed;  /* refresh attempts finished */
    int waiters;         /* request threads waiting in refresh_unknown_kid */
    int64_t last_forced; /* wall time a forced refresh was last started, 0 = never */
    int64_t last_ok;     /* wall time of the last successful JWKS load, 0 = never */
    uint64_t generation;
    /* copies of cur's generation and last_ok for jwks_cache_generation, which takes no lock */
    _Atomic uint64_t cur_generation;
    _Atomic int64_t cur_last_ok;
    char last_error[GH_ERR_MSG_MAX + 32];
    /* counters (under mu) */
    uint64_t fetches, failures, forced, forced_skipped, discovery_fetches;
};

static int64_t jwks_now(void)
{
    return (int64_t)time(NULL);
}

static void jwks_deadline(struct timespec *ts, int64_t seconds)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)seconds;
}

/*
 * Create a cache bound to opts (borrowed, with its strings: they must outlive the cache; a test
 * may tighten a bound in place). No thread and no I/O yet. The result is owned by the caller
 * (jwks_cache_free).
 */
enum gh_status jwks_cache_new(const struct jwks_cache_opts *opts, struct jwks_cache **out_cache,
                              struct gh_err *err)
{
    struct jwks_cache *c = gh_xcalloc(1, sizeof(*c));
    pthread_condattr_t ca;

    (void)err;
    jwks_global_init();
    c->opts = opts;
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->wake, &ca);
    pthread_cond_init(&c->done, &ca);
    pthread_condattr_destroy(&ca);
    *out_cache = c;
    return GH_OK;
}

/* Publish a new set (takes ownership of set). */
static void jwks_cache_publish(struct jwks_cache *c, struct jwks_set *set)
{
    struct jwks_set *old;

    pthread_mutex_lock(&c->mu);
    jwks_set_stamp(set, jwks_now(), ++c->generation);
    old = c->cur;
    c->cur = set;
    c->last_ok = set->loaded_at;
    atomic_store(&c->cur_last_ok, c->last_ok);
    atomic_store(&c->cur_generation, c->generation);
    pthread_mutex_unlock(&c->mu);
    jwks_set_release(old);
}

/*
 * Install a key set from a JWKS document (see jwks.h). Same validation as a fetched document;
 * on failure the current set is kept. Thread-safe.
 */
enum gh_status jwks_cache_load_doc(struct jwks_cache *c, const char *doc, size_t len,
                                   const char *issuer, struct gh_err *err)
{
    struct jwks_set *set = NULL;
    enum gh_status st = jwks_set_parse(doc, len, issuer, &set, err);

    if (st != GH_OK)
        return st;
    jwks_cache_publish(c, set);
    return GH_OK;
}

static void jwks_cache_fail(struct jwks_cache *c, const char *what, const struct gh_err *e)
{
    char q[300];

    pthread_mutex_lock(&c->mu);
    c->failures++;
    snprintf(c->last_error, sizeof(c->last_error), "%s: %s", what, e->msg);
    pthread_mutex_unlock(&c->mu);
    gh_log(GH_LOG_WARN, "jwks", "\"refresh failed, keeping the last good key set\" err=%s",
           gh_log_q(q, sizeof(q), c->last_error));
}

/* One refresh: discovery (when due or unknown), then the JWKS. Refresh thread only. Returns
 * true when a new set was published; *out_max_age is the JWKS max-age or -1. */
static bool jwks_cache_refresh_once(struct jwks_cache *c, bool with_discovery, long *out_max_age)
{
    const struct jwks_cache_opts *co = c->opts;
    struct jwks_fetch_opts o = {.timeout_s = co->http_timeout_s,
                                .ca_file = co->ca_file,
                                .allow_insecure_loopback = co->allow_insecure_http,
                                .cap = (size_t)GH_CAP_DISCOVERY};
    struct gh_buf body;
    struct gh_err e = {0};
    struct jwks_set *set = NULL;
    long age = -1;
    char q[300];

    *out_max_age = -1;
    if (with_discovery || c->jwks_uri == NULL) {
        char *iss = NULL, *uri = NULL;
        pthread_mutex_lock(&c->mu);
        c->discovery_fetches++;
        pthread_mutex_unlock(&c->mu);
        if (jwks_fetch(co->discovery_url, &o, &body, &age, &e) == GH_OK) {
            if (jwks_discovery_parse(body.data, body.len, &iss, &uri, &e) == GH_OK) {
                if (c->issuer == NULL || strcmp(c->issuer, iss) != 0)
                    gh_log(GH_LOG_INFO, "jwks", "\"discovery loaded\" issuer=%s",
                           gh_log_q(q, sizeof(q), iss));
                free(c->issuer);
                free(c->jwks_uri);
                c->issuer = iss;
                c->jwks_uri = uri;
            }
            gh_buf_free(&body);
        }
        if (gh_err_is_set(&e)) {
            jwks_cache_fail(c, "discovery", &e);
            /* Without a jwks_uri there is nothing to fetch; with an old one, carry on. */
            if (c->jwks_uri == NULL)
                return false;
            gh_err_clear(&e);
        }
    }
    o.cap = (size_t)GH_CAP_JWKS;
    pthread_mutex_lock(&c->mu);
    c->fetches++;
    pthread_mutex_unlock(&c->mu);
    if (jwks_fetch(c->jwks_uri, &o, &body, &age, &e) != GH_OK) {
        jwks_cache_fail(c, "jwks", &e);
        return false;
    }
    if (jwks_set_parse(body.data, body.len, c->issuer, &set, &e) != GH_OK) {
        gh_buf_free(&body);
        jwks_cache_fail(c, "jwks", &e);
        return false;
    }
    gh_buf_free(&body);
    gh_log(GH_LOG_INFO, "jwks", "\"key set loaded\" keys=%zu max_age=%ld", set->count, age);
    jwks_cache_publish(c, set);
    *out_max_age = age;
    return true;
}

static int64_t jwks_clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void *jwks_cache_thread(void *arg)
{
    struct jwks_cache *c = arg;
    const struct jwks_cache_opts *co = c->opts;
    struct timespec next;
    int64_t retry = JWKS_RETRY_FIRST_S;
    bool due = true;

    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        bool forced, ok;
        long max_age;
        int64_t wait_s;

        if (!due && !c->force) {
            int rc = pthread_cond_timedwait(&c->wake, &c->mu, &next);
            if (rc == ETIMEDOUT)
                due = true;
            continue;
        }
        forced = c->force && !due;
        c->force = false;
        c->fetching = true;
        pthread_mutex_unlock(&c->mu);

        /* Periodic refreshes re-read discovery too; forced ones only need the keys. */
        ok = jwks_cache_refresh_once(c, !forced, &max_age);

        pthread_mutex_lock(&c->mu);
        c->fetching = false;
        c->completed++;
        pthread_cond_broadcast(&c->done);
        if (forced && c->last_ok != 0) {
            /* A forced refresh does not move the periodic schedule. */
            due = false;
            continue;
        }
        if (ok) {
            wait_s = jwks_clamp(max_age < 0 ? JWKS_DEFAULT_INTERVAL_S : max_age, co->refresh_min_s,
                                co->refresh_max_s);
            retry = JWKS_RETRY_FIRST_S;
        } else {
            /* Back off on failures, but never wait longer than a normal interval. */
            wait_s = retry;
            retry = jwks_clamp(retry * 2, JWKS_RETRY_FIRST_S, co->refresh_min_s);
        }
        jwks_deadline(&next, wait_s);
        due = false;
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Start the refresh thread (see jwks.h). Needs GATEHOUSE_OIDC_DISCOVERY. Not thread-safe with
 * stop/free; call at start-up. */
enum gh_status jwks_cache_start(struct jwks_cache *c, struct gh_err *err)
{
    if (c->opts->discovery_url == NULL)
        return JWKS_ERR(err, GH_E_INVALID, "GATEHOUSE_OIDC_DISCOVERY is not set");
    if (c->running)
        return GH_OK;
    c->stop = false;
    if (pthread_create(&c->thread, NULL, jwks_cache_thread, c) != 0)
        return JWKS_ERR(err, GH_E_INTERNAL, "cannot start the JWKS refresh thread");
    c->running = true;
    return GH_OK;
}

/* Stop and join the refresh thread; waits for a fetch in flight (bounded by its timeout). */
void jwks_cache_stop(struct jwks_cache *c)
{
    if (c == NULL || !c->running)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_broadcast(&c->wake);
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    c->running = false;
}

/* Stop, then free everything. NULL is a no-op. Sets still referenced by readers stay alive
 * until their last release. */
void jwks_cache_free(struct jwks_cache *c)
{
    if (c == NULL)
        return;
    jwks_cache_stop(c);
    jwks_set_release(c->cur);
    free(c->issuer);
    free(c->jwks_uri);
    pthread_cond_destroy(&c->wake);
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* True when the current set is too old to trust (max_stale passed since the last good load). */
static bool jwks_cache_is_stale(const struct jwks_cache *c, int64_t now)
{
    return c->last_ok != 0 && now - c->last_ok > c->opts->max_stale_s;
}

/* See jwks.h. Readers may see a generation and a load time of two consecutive sets for an
 * instant; a caller that compares the generation only ever falls back to jwks_cache_acquire. */
uint64_t jwks_cache_generation(struct jwks_cache *c, int64_t now)
{
    uint64_t g = atomic_load_explicit(&c->cur_generation, memory_order_acquire);
    int64_t last_ok = atomic_load_explicit(&c->cur_last_ok, memory_order_relaxed);

    if (g == 0 || (last_ok != 0 && now - last_ok > c->opts->max_stale_s))
        return 0;
    return g;
}

/*
 * The current set with a new reference, or NULL (none yet, or stale). The lock is held only to
 * copy the pointer and bump the count, so readers never wait for a fetch. Thread-safe.
 */
struct jwks_set *jwks_cache_acquire(struct jwks_cache *c)
{
    struct jwks_set *s;

    pthread_mutex_lock(&c->mu);
    s = c->cur;
    if (s != NULL && jwks_cache_is_stale(c, jwks_now()))
        s = NULL;
    if (s != NULL)
        jwks_set_retain(s);
    pthread_mutex_unlock(&c->mu);
    return s;
}

/*
 * Unknown kid: force one refresh unless one ran within the cooldown, and wait (bounded) for
 * the fetch in flight. Callers that arrive while a fetch is running join it instead of starting
 * another, up to half the HTTP workers; beyond that they return at once. Returns true when a
 * refresh finished while waiting, so the caller should look again. Thread-safe.
 */
bool jwks_cache_refresh_unknown_kid(struct jwks_cache *c)
{
    struct timespec deadline;
    uint64_t target;
    int64_t now = jwks_now();
    bool refreshed = false;

    pthread_mutex_lock(&c->mu);
    if (!c->running || c->stop)
        goto out;
    /* Waiting occupies an HTTP worker: at most half of them (at least one) may wait, so a flood
     * of bogus kids during a slow fetch cannot stall requests whose keys are known. */
    if (c->waiters >= (c->opts->threads > 1 ? c->opts->threads / 2 : 1)) {
        c->forced_skipped++;
        goto out;
    }
    if (!c->fetching) {
        /* The cooldown bounds the IdP traffic any flood of bogus kids can cause. */
        if (c->last_forced != 0 && now - c->last_forced < c->opts->cooldown_s) {
            c->forced_skipped++;
            goto out;
        }
        c->last_forced = now;
        c->forced++;
        c->force = true;
        pthread_cond_signal(&c->wake);
    }
    target = c->completed + 1;
    /* Bounded: one discovery + one JWKS fetch, each capped by the timeout. */
    jwks_deadline(&deadline, 2 * (int64_t)c->opts->http_timeout_s + 1);
    c->waiters++;
    while (c->completed < target && !c->stop)
        if (pthread_cond_timedwait(&c->done, &c->mu, &deadline) == ETIMEDOUT)
            break;
    c->waiters--;
    refreshed = c->completed >= target;
out:
    pthread_mutex_unlock(&c->mu);
    return refreshed;
}

/* /readyz probe: ready once a set is loaded and while it is not stale. */
bool jwks_cache_ready(void *ctx, const char **out_reason)
{
    struct jwks_cache *c = ctx;
    bool ready;

    pthread_mutex_lock(&c->mu);
    ready = c->cur != NULL && !jwks_cache_is_stale(c, jwks_now());
    if (!ready && out_reason != NULL)
        *out_reason = c->cur == NULL ? "signing keys not loaded yet" : "signing keys are stale";
    pthread_mutex_unlock(&c->mu);
    return ready;
}

/* Counters for tests. Thread-safe. */
void jwks_cache_stats_get(struct jwks_cache *c, struct jwks_cache_stats *out)
{
    pthread_mutex_lock(&c->mu);
    out->fetches = c->fetches;
    out->failures = c->failures;
    out->forced = c->forced;
    out->forced_skipped = c->forced_skipped;
    out->keys = c->cur ? c->cur->count : 0;
    pthread_mutex_unlock(&c->mu);
}

/* /metrics collector (gh_metrics_collect_fn). */
void jwks_cache_metrics(void *ctx, struct gh_buf *out)
{
    struct jwks_cache *c = ctx;
    struct jwks_cache_stats s;
    uint64_t disc;
    int64_t last_ok, now = jwks_now();
    bool stale;

    jwks_cache_stats_get(c, &s);
    pthread_mutex_lock(&c->mu);
    disc = c->discovery_fetches;
    last_ok = c->last_ok;
    stale = jwks_cache_is_stale(c, now);
    pthread_mutex_unlock(&c->mu);
    gh_metrics_family(out, "gatehouse_jwks_fetches_total", "counter", "JWKS fetch attempts");
    gh_metrics_sample(out, "gatehouse_jwks_fetches_total", "", (double)s.fetches);
    gh_metrics_family(out, "gatehouse_jwks_discovery_fetches_total", "counter",
                      "OIDC discovery fetch attempts");
    gh_metrics_sample(out, "gatehouse_jwks_discovery_fetches_total", "", (double)disc);
    gh_metrics_family(out, "gatehouse_jwks_fetch_failures_total", "counter",
                      "Failed or rejected discovery/JWKS fetches (last good set kept)");
    gh_metrics_sample(out, "gatehouse_jwks_fetch_failures_total", "", (double)s.failures);
    gh_metrics_family(out, "gatehouse_jwks_forced_refreshes_total", "counter",
                      "Refreshes forced by unknown kids");
    gh_metrics_sample(out, "gatehouse_jwks_forced_refreshes_total", "", (double)s.forced);
    gh_metrics_family(out, "gatehouse_jwks_forced_refreshes_skipped_total", "counter",
                      "Unknown-kid refresh requests refused by the cooldown");
    gh_metrics_sample(out, "gatehouse_jwks_forced_refreshes_skipped_total", "",
                      (double)s.forced_skipped);
    gh_metrics_family(out, "gatehouse_jwks_keys", "gauge", "Signing keys in the current set");
    gh_metrics_sample(out, "gatehouse_jwks_keys", "", (double)s.keys);
    gh_metrics_family(out, "gatehouse_jwks_age_seconds", "gauge",
                      "Seconds since the current key set was loaded (-1: none)");
    gh_metrics_sample(out, "gatehouse_jwks_age_seconds", "",
                      last_ok ? (double)(now - last_ok) : -1.0);
    gh_metrics_family(out, "gatehouse_jwks_stale", "gauge",
                      "1 when the key set is older than GATEHOUSE_JWKS_MAX_STALE");
    gh_metrics_sample(out, "gatehouse_jwks_stale", "", stale ? 1.0 : 0.0);
}
