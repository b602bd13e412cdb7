/*
 * authfail.c - a budget of failed authentications per client address, and a log that
 * summarises them.
 *
 * Each address has a GCRA token bucket (one "theoretical arrival time" per address): `burst`
 * failures at once, then `per_min` a minute; a failure over budget is answered 429 with the
 * whole seconds until the next would be allowed (RFC 6585 §4; RFC 7644 §3.12 lists "429" as a
 * SCIM Error status). Addresses are IPv4 addresses and IPv6 /64 prefixes (one host owns a whole
 * /64, so counting its single addresses would give it 2^64 budgets); IPv4-mapped IPv6 counts as
 * IPv4. The address is the TCP peer's: behind a TLS front every client shares the front's
 * address, which is safe because of the rule below.
 *
 * The right secret is checked before the budget and always passes, even from an address that is
 * over it. The budget does not protect the secrets: they are long random strings (>= 16
 * characters enforced, 32 random bytes recommended; 2^128 guesses and more), which no rate of
 * guessing dents, so answering a right guess from a throttled address tells an attacker
 * nothing useful. What the budget does is bound what a flood costs (log lines, work), make it
 * visible (429s, gatehouse_auth_throttled_total) and tell a misconfigured client to back off.
 * Letting the right secret through means no one can lock Entra out by sharing its address
 * (Entra provisions from shared Azure ranges; a proxy in front makes every client one address),
 * and Entra, which sends the right secret, is never slowed (ENTRA.md §1.26).
 *
 * The table is fixed-size (no growth under an address-spraying attacker): a hashed,
 * 8-way set-associative array, one mutex per set. When a set is full the entry closest to
 * forgiven (smallest arrival time) makes room, so a throttled address is only forgotten when
 * eight others in its set are throttled harder. The hash is keyed with a random seed so that
 * which addresses share a set cannot be chosen from outside.
 *
 * Logging: an address's first failure (or first after a quiet interval) is one line at once;
 * later ones are counted and written as one "auth failures" line per address and route per
 * interval, by a thread that sweeps the table each second, and at shutdown. First-failure
 * lines have a global budget, and an evicted address's count is not a line of its own: both go
 * into one "addr=other" summary per interval, so spraying addresses buys no log volume.
 * Lines carry the address, route, path and reason, never the presented credential.
 */
#include "authfail.h"
#include "http.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define GH_AUTHFAIL_WAYS 8
/* Summaries due are looked for this often. */
#define GH_AUTHFAIL_SWEEP_MS 1000
/* First-failure lines, over all addresses: 100 at once, then 10 a second. An attacker with many
 * addresses (a botnet, an IPv6 /48) would otherwise buy one line per address; past this budget
 * they are counted in one "addr=other" summary per interval instead. */
#define GH_AUTHFAIL_LINES_BURST   100
#define GH_AUTHFAIL_LINES_STEP_MS 100

static const char *const gh_authfail_route_names[GH_AUTHFAIL_NROUTES] = {"scim", "admin",
                                                                         "authzen"};

/* fam: 0 an empty slot, 1 an address we could not read, 4 IPv4, 6 an IPv6 /64 */
struct gh_authfail_key {
    unsigned char fam;
    unsigned char b[8];
};

struct gh_authfail_entry {
    struct gh_authfail_key key;
    int64_t tat_us;    /* GCRA: when the budget would be whole again; <= now: forgiven */
    int64_t seen_ms;   /* last failure */
    int64_t logged_ms; /* last line about this address */
    uint32_t pending[GH_AUTHFAIL_NROUTES];   /* failures not yet in a line */
    uint32_t throttled[GH_AUTHFAIL_NROUTES]; /* ... of which answered 429 */
};

struct gh_authfail_set {
    pthread_mutex_t mu;
    struct gh_authfail_entry e[GH_AUTHFAIL_WAYS];
};

struct gh_authfail {
    struct gh_authfail_set *sets;
    size_t nsets;
    uint64_t seed;
    int64_t step_us;  /* one failure's share of the budget: 60 s / per_min */
    int64_t burst_us; /* burst * step_us */
    int64_t interval_ms;
    _Atomic size_t used;
    _Atomic unsigned long failures[GH_AUTHFAIL_NROUTES];
    _Atomic unsigned long throttled;
    /* failures whose address got no line of its own (line budget spent, or entry evicted) */
    _Atomic unsigned long other_pending[GH_AUTHFAIL_NROUTES];
    _Atomic unsigned long other_throttled[GH_AUTHFAIL_NROUTES];
    pthread_mutex_t lines_mu; /* guards the two below */
    int64_t lines_tat_ms;     /* GCRA over first-failure lines */
    int64_t other_logged_ms;
    /* the summary thread */
    pthread_t thread;
    bool running, stop;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
};

/* A line to write once the set's lock is released. */
struct gh_authfail_line {
    struct gh_authfail_key key;
    int route;
    unsigned long count, throttled;
};

/* ---- addresses ---- */

static struct gh_authfail_key gh_authfail_key_of(const struct sockaddr *sa)
{
    struct gh_authfail_key k = {1, {0}};

    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        k.fam = 4;
        memcpy(k.b, &in->sin_addr, 4);
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            k.fam = 4;
            memcpy(k.b, in6->sin6_addr.s6_addr + 12, 4);
        } else {
            k.fam = 6;
            memcpy(k.b, in6->sin6_addr.s6_addr, 8); /* the /64 */
        }
    }
    return k;
}

static const char *gh_authfail_key_str(const struct gh_authfail_key *k, char *buf, size_t cap)
{
    unsigned char a6[16] = {0};
    char tmp[INET6_ADDRSTRLEN];

    if (k->fam == 4 && inet_ntop(AF_INET, k->b, tmp, sizeof(tmp)) != NULL) {
        snprintf(buf, cap, "%s", tmp);
    } else if (k->fam == 6) {
        memcpy(a6, k->b, 8);
        snprintf(buf, cap, "%s/64", inet_ntop(AF_INET6, a6, tmp, sizeof(tmp)) ? tmp : "?");
    } else {
        snprintf(buf, cap, "unknown");
    }
    return buf;
}

static bool gh_authfail_key_eq(const struct gh_authfail_key *a, const struct gh_authfail_key *b)
{
    return a->fam == b->fam && memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

/* splitmix64's finaliser over the key, keyed with the table's random seed. */
static size_t gh_authfail_set_of(const struct gh_authfail *af, const struct gh_authfail_key *k)
{
    uint64_t w, h = af->seed ^ k->fam;

    memcpy(&w, k->b, sizeof(w));
    h ^= w;
    h += 0x9e3779b97f4a7c15ULL;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return (size_t)(h % af->nsets);
}

/* ---- life cycle ---- */

/*
 * A new table per o (slots rounded up to whole sets, at least one). Caller owns the result
 * (gh_authfail_free). Not thread-safe itself; the table it returns is.
 */
struct gh_authfail *gh_authfail_new(const struct gh_authfail_opts *o)
{
    struct gh_authfail *af = gh_xcalloc(1, sizeof(*af));

    af->nsets = (o->slots + GH_AUTHFAIL_WAYS - 1) / GH_AUTHFAIL_WAYS;
    if (af->nsets == 0)
        af->nsets = 1;
    af->sets = gh_xcalloc(af->nsets, sizeof(*af->sets));
    for (size_t i = 0; i < af->nsets; i++)
        pthread_mutex_init(&af->sets[i].mu, NULL);
    /* the config's bounds keep each at 1 or more; a zero would divide by it */
    af->step_us = (int64_t)60 * 1000 * 1000 / (o->per_min > 0 ? o->per_min : 1);
    af->burst_us = af->step_us * (o->burst > 0 ? o->burst : 1);
    af->interval_ms = (int64_t)(o->log_interval_s > 0 ? o->log_interval_s : 1) * 1000;
    /* Without randomness the seed is fixed: sets become predictable, nothing worse. */
    if (RAND_bytes((unsigned char *)&af->seed, sizeof(af->seed)) != 1)
        af->seed = 0x5bd1e9955bd1e995ULL;
    pthread_mutex_init(&af->stop_mu, NULL);
    pthread_mutex_init(&af->lines_mu, NULL);
    af->lines_tat_ms = INT64_MIN / 4;
    af->other_logged_ms = INT64_MIN / 4;
    {
        /* the sweep's wait must not stretch when the wall clock is set back */
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&af->stop_cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    return af;
}

/* Monotonic milliseconds (the table's clock). Thread-safe. */
int64_t gh_authfail_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *gh_authfail_thread(void *arg)
{
    struct gh_authfail *af = arg;

    pthread_mutex_lock(&af->stop_mu);
    while (!af->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += GH_AUTHFAIL_SWEEP_MS / 1000;
        pthread_cond_timedwait(&af->stop_cv, &af->stop_mu, &until);
        if (af->stop)
            break;
        pthread_mutex_unlock(&af->stop_mu);
        gh_authfail_sweep(af, gh_authfail_now_ms());
        pthread_mutex_lock(&af->stop_mu);
    }
    pthread_mutex_unlock(&af->stop_mu);
    return NULL;
}

/* Start the summary thread; see authfail.h. Start-up only. */
enum gh_status gh_authfail_start(struct gh_authfail *af, struct gh_err *err)
{
    if (pthread_create(&af->thread, NULL, gh_authfail_thread, af) != 0)
        return GH_ERR(err, GH_E_INTERNAL, "cannot start the auth-failure summary thread");
    af->running = true;
    return GH_OK;
}

/* Stop the thread, write what is pending (whatever its interval), free. NULL is a no-op.
 * Call after the HTTP server has stopped. */
void gh_authfail_free(struct gh_authfail *af)
{
    if (af == NULL)
        return;
    if (af->running) {
        pthread_mutex_lock(&af->stop_mu);
        af->stop = true;
        pthread_cond_signal(&af->stop_cv);
        pthread_mutex_unlock(&af->stop_mu);
        pthread_join(af->thread, NULL);
    }
    gh_authfail_sweep(af, INT64_MAX / 4);
    for (size_t i = 0; i < af->nsets; i++)
        pthread_mutex_destroy(&af->sets[i].mu);
    pthread_mutex_destroy(&af->stop_mu);
    pthread_mutex_destroy(&af->lines_mu);
    pthread_cond_destroy(&af->stop_cv);
    free(af->sets);
    free(af);
}

/* ---- counting and logging ---- */

/* One summary line; a key of family 0 stands for every address without lines of its own. */
static void gh_authfail_log_summary(const struct gh_authfail *af, const struct gh_authfail_line *l)
{
    char addr[64];
    gh_log(GH_LOG_WARN, "auth",
           "\"auth failures\" route=%s addr=%s count=%lu throttled=%lu interval_s=%lld",
           gh_authfail_route_names[l->route],
           l->key.fam == 0 ? "other" : gh_authfail_key_str(&l->key, addr, sizeof(addr)), l->count,
           l->throttled, (long long)(af->interval_ms / 1000));
}

/* True when a first-failure line may be written now (the global line budget). */
static bool gh_authfail_line_allowed(struct gh_authfail *af, int64_t now_ms)
{
    bool ok;
    pthread_mutex_lock(&af->lines_mu);
    int64_t tat = af->lines_tat_ms > now_ms ? af->lines_tat_ms : now_ms;
    ok = tat + GH_AUTHFAIL_LINES_STEP_MS - now_ms <=
         (int64_t)GH_AUTHFAIL_LINES_BURST * GH_AUTHFAIL_LINES_STEP_MS;
    if (ok)
        af->lines_tat_ms = tat + GH_AUTHFAIL_LINES_STEP_MS;
    pthread_mutex_unlock(&af->lines_mu);
    return ok;
}

/* Move e's pending counts into lines (at most GH_AUTHFAIL_NROUTES); returns how many. */
static size_t gh_authfail_take(struct gh_authfail_entry *e, struct gh_authfail_line *out)
{
    size_t n = 0;
    for (int r = 0; r < GH_AUTHFAIL_NROUTES; r++) {
        if (e->pending[r] == 0)
            continue;
        out[n].key = e->key;
        out[n].route = r;
        out[n].count = e->pending[r];
        out[n].throttled = e->throttled[r];
        e->pending[r] = e->throttled[r] = 0;
        n++;
    }
    return n;
}

/* The entry for k in set s (locked): found, an empty slot, or the one closest to forgiven,
 * whose pending counts move to the "other" summary (a line per evicted address would let an
 * address-spraying attacker buy log lines). */
static struct gh_authfail_entry *gh_authfail_slot(struct gh_authfail *af, struct gh_authfail_set *s,
                                                  const struct gh_authfail_key *k)
{
    struct gh_authfail_entry *victim = NULL;

    for (int i = 0; i < GH_AUTHFAIL_WAYS; i++) {
        struct gh_authfail_entry *e = &s->e[i];
        if (e->key.fam != 0 && gh_authfail_key_eq(&e->key, k))
            return e;
    }
    for (int i = 0; i < GH_AUTHFAIL_WAYS; i++) {
        struct gh_authfail_entry *e = &s->e[i];
        if (e->key.fam == 0) {
            victim = e;
            atomic_fetch_add(&af->used, 1);
            break;
        }
        if (victim == NULL || e->tat_us < victim->tat_us ||
            (e->tat_us == victim->tat_us && e->seen_ms < victim->seen_ms))
            victim = e;
    }
    for (int r = 0; r < GH_AUTHFAIL_NROUTES; r++) {
        atomic_fetch_add(&af->other_pending[r], victim->pending[r]);
        atomic_fetch_add(&af->other_throttled[r], victim->throttled[r]);
    }
    memset(victim, 0, sizeof(*victim));
    victim->key = *k;
    victim->tat_us = INT64_MIN / 4; /* a whole budget */
    victim->logged_ms = INT64_MIN / 4;
    return victim;
}

/*
 * Count one failed authentication from addr (NULL: unknown, all such share one budget) on
 * route at now_ms. Returns 0 when the failure is within the address's budget (answer 401),
 * else the whole seconds, at least 1, until one would be (answer 429 with Retry-After). Writes
 * the address's first-failure line at once (within the global line budget). Thread-safe: one
 * set's lock, released before logging.
 */
unsigned gh_authfail_note(struct gh_authfail *af, const struct sockaddr *addr,
                          enum gh_authfail_route route, const char *path, const char *reason,
                          int64_t now_ms)
{
    struct gh_authfail_key k = gh_authfail_key_of(addr);
    struct gh_authfail_set *s = &af->sets[gh_authfail_set_of(af, &k)];
    struct gh_authfail_entry *e;
    int64_t now_us = now_ms * 1000, tat, wait_us = 0;
    bool quiet = true;

    GH_ASSERT((unsigned)route < GH_AUTHFAIL_NROUTES);
    atomic_fetch_add_explicit(&af->failures[route], 1, memory_order_relaxed);
    pthread_mutex_lock(&s->mu);
    e = gh_authfail_slot(af, s, &k);
    /* GCRA: each failure moves the arrival time one step on; more than a burst ahead of now is
     * over budget, and such a failure does not move it (the wait stays honest). */
    tat = e->tat_us > now_us ? e->tat_us : now_us;
    if (tat + af->step_us - now_us > af->burst_us)
        wait_us = tat + af->step_us - af->burst_us - now_us;
    else
        e->tat_us = tat + af->step_us;
    e->seen_ms = now_ms;
    for (int r = 0; r < GH_AUTHFAIL_NROUTES; r++)
        quiet = quiet && e->pending[r] == 0;
    quiet = quiet && now_ms - e->logged_ms >= af->interval_ms;
    if (quiet) {
        e->logged_ms = now_ms;
    } else {
        e->pending[route]++;
        e->throttled[route] += wait_us > 0;
    }
    pthread_mutex_unlock(&s->mu);

    if (quiet && gh_authfail_line_allowed(af, now_ms)) {
        char addr_s[64], qp[160], qr[GH_ERR_MSG_MAX + 8];
        gh_log(GH_LOG_WARN, "auth", "\"unauthorized\" route=%s addr=%s path=%s reason=%s%s",
               gh_authfail_route_names[route], gh_authfail_key_str(&k, addr_s, sizeof(addr_s)),
               gh_log_q(qp, sizeof(qp), path != NULL ? path : ""),
               gh_log_q(qr, sizeof(qr), reason != NULL ? reason : ""),
               wait_us > 0 ? " throttled=1" : "");
    } else if (quiet) {
        atomic_fetch_add(&af->other_pending[route], 1);
        atomic_fetch_add(&af->other_throttled[route], wait_us > 0);
    }
    if (wait_us == 0)
        return 0;
    atomic_fetch_add_explicit(&af->throttled, 1, memory_order_relaxed);
    return (unsigned)((wait_us + 999999) / 1000000);
}

/* Write the summaries whose interval is over at now_ms (INT64_MAX / 4: all of them), then the
 * one for failures without lines of their own. One set locked at a time, never while logging.
 * Thread-safe. */
void gh_authfail_sweep(struct gh_authfail *af, int64_t now_ms)
{
    struct gh_authfail_line lines[GH_AUTHFAIL_WAYS * GH_AUTHFAIL_NROUTES];
    bool other_due;

    for (size_t i = 0; i < af->nsets; i++) {
        struct gh_authfail_set *s = &af->sets[i];
        size_t n = 0;
        pthread_mutex_lock(&s->mu);
        for (int w = 0; w < GH_AUTHFAIL_WAYS; w++) {
            struct gh_authfail_entry *e = &s->e[w];
            size_t got;
            if (e->key.fam == 0 || now_ms - e->logged_ms < af->interval_ms)
                continue;
            got = gh_authfail_take(e, lines + n);
            if (got > 0)
                e->logged_ms = now_ms;
            n += got;
        }
        pthread_mutex_unlock(&s->mu);
        for (size_t k = 0; k < n; k++)
            gh_authfail_log_summary(af, &lines[k]);
    }
    pthread_mutex_lock(&af->lines_mu);
    other_due = now_ms - af->other_logged_ms >= af->interval_ms;
    if (other_due)
        af->other_logged_ms = now_ms;
    pthread_mutex_unlock(&af->lines_mu);
    for (int r = 0; other_due && r < GH_AUTHFAIL_NROUTES; r++) {
        struct gh_authfail_line l = {{0, {0}}, r, 0, 0};
        l.count = atomic_exchange(&af->other_pending[r], 0);
        l.throttled = atomic_exchange(&af->other_throttled[r], 0);
        if (l.count > 0)
            gh_authfail_log_summary(af, &l);
    }
}

/* Addresses in the table (never more than its slots). Thread-safe. */
size_t gh_authfail_size(const struct gh_authfail *af)
{
    return atomic_load(&((struct gh_authfail *)af)->used);
}

/* See authfail.h. The reply header is set here so that every caller answers the same way. */
enum gh_status gh_authfail_reject(struct gh_authfail *af, struct gh_req *r,
                                  enum gh_authfail_route route, const struct gh_err *why,
                                  struct gh_err *err)
{
    const char *msg = why != NULL && why->msg[0] ? why->msg : "unauthorized";
    char v[16];
    unsigned wait;

    if (af == NULL) /* a family context built without one: a plain 401 */
        return GH_ERR(err, GH_E_UNAUTHORIZED, "%s", msg);
    wait = gh_authfail_note(af, gh_req_client_addr(r), route, gh_req_path(r), msg,
                            gh_authfail_now_ms());
    if (wait == 0)
        return GH_ERR(err, GH_E_UNAUTHORIZED, "%s", msg);
    snprintf(v, sizeof(v), "%u", wait);
    gh_reply_header(r, "Retry-After", v);
    return GH_ERR(err, GH_E_TOO_MANY,
                  "too many failed authentications from this address; retry after %u s", wait);
}

/* /metrics collector: failures by route, and how many were answered 429. */
void gh_authfail_metrics(void *ctx, struct gh_buf *out)
{
    struct gh_authfail *af = ctx;
    char labels[32];

    gh_metrics_family(out, "gatehouse_auth_failures_total", "counter",
                      "Failed bearer-secret authentications by route");
    for (int i = 0; i < GH_AUTHFAIL_NROUTES; i++) {
        snprintf(labels, sizeof(labels), "route=\"%s\"", gh_authfail_route_names[i]);
        gh_metrics_sample(out, "gatehouse_auth_failures_total", labels,
                          (double)atomic_load(&af->failures[i]));
    }
    gh_metrics_family(out, "gatehouse_auth_throttled_total", "counter",
                      "Failed authentications answered 429 (address over its budget)");
    gh_metrics_sample(out, "gatehouse_auth_throttled_total", "",
                      (double)atomic_load(&af->throttled));
}
