/*
 * metrics.c - Prometheus text exposition: requests by route and status, a latency histogram per
 * route, build info, process uptime, and the families of registered collectors.
 *
 * Recording is lock-free: fixed arrays of atomics indexed by route and by a small status slot
 * table; the last route slot counts requests that matched no route. Each thread records into one
 * of GH_METRICS_SHARDS copies of the arrays (its own while there are no more threads than
 * shards), so worker threads do not bounce the same cache lines at every request; rendering
 * sums the shards.
 */
#include "metrics.h"
#include "core.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#ifndef GH_GIT_REV
#define GH_GIT_REV "unknown"
#endif

#define GH_METRICS_ROUTES     64
#define GH_METRICS_COLLECTORS 32
/* Copies of the counters; threads take them in turn. A power of two. */
#define GH_METRICS_SHARDS 16

static const unsigned gh_metrics_codes[] = {0,   200, 201, 204, 304, 400, 401, 403, 404,
                                            405, 409, 412, 413, 415, 429, 500, 503};
#define GH_METRICS_NCODES (sizeof(gh_metrics_codes) / sizeof(gh_metrics_codes[0]))
#define GH_METRICS_OTHER  GH_METRICS_NCODES /* slot for any other code */

static const double gh_metrics_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                            0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                            1,      2.5,     5,      10};
#define GH_METRICS_NBUCKETS (sizeof(gh_metrics_buckets) / sizeof(gh_metrics_buckets[0]))

struct gh_metrics_route {
    _Atomic unsigned long count[GH_METRICS_NCODES + 1];
    _Atomic unsigned long bucket[GH_METRICS_NBUCKETS + 1]; /* last: +Inf */
    _Atomic unsigned long long sum_ns;
};

/* A shard starts on its own cache line; a thread touches only the routes it serves. */
struct gh_metrics_shard {
    alignas(64) struct gh_metrics_route routes[GH_METRICS_ROUTES + 1];
};

static struct gh_metrics_shard gh_metrics_shards[GH_METRICS_SHARDS];
static _Atomic unsigned gh_metrics_next_shard;
static _Thread_local struct gh_metrics_shard *gh_metrics_mine;
static struct {
    gh_metrics_collect_fn fn;
    void *ctx;
} gh_metrics_collectors[GH_METRICS_COLLECTORS];
static int gh_metrics_ncollectors;
static time_t gh_metrics_start;
/* The route labels by route index (borrowed from the table given to gh_metrics_init). */
static const struct gh_route *gh_metrics_table;
static size_t gh_metrics_nroutes;

/* Mark the start time reported as uptime and take the route labels. Start-up only. */
void gh_metrics_init(const struct gh_route *routes, size_t nroutes)
{
    gh_metrics_start = time(NULL);
    gh_metrics_table = routes;
    gh_metrics_nroutes = nroutes;
}

/* Record one finished request. route_index -1 means unmatched. Thread-safe, lock-free. */
void gh_metrics_observe_request(int route_index, unsigned status, double seconds)
{
    struct gh_metrics_route *m;
    size_t slot = GH_METRICS_OTHER, b;

    if (route_index < 0 || route_index >= GH_METRICS_ROUTES)
        route_index = GH_METRICS_ROUTES;
    if (gh_metrics_mine == NULL)
        gh_metrics_mine =
            &gh_metrics_shards[atomic_fetch_add(&gh_metrics_next_shard, 1) % GH_METRICS_SHARDS];
    m = &gh_metrics_mine->routes[route_index];
    for (size_t i = 0; i < GH_METRICS_NCODES; i++)
        if (gh_metrics_codes[i] == status)
            slot = i;
    atomic_fetch_add_explicit(&m->count[slot], 1, memory_order_relaxed);
    for (b = 0; b < GH_METRICS_NBUCKETS && seconds > gh_metrics_buckets[b]; b++)
        ;
    atomic_fetch_add_explicit(&m->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_ns, (unsigned long long)(seconds * 1e9),
                              memory_order_relaxed);
}

/* Register a collector. Start-up only. */
void gh_metrics_register(gh_metrics_collect_fn fn, void *ctx)
{
    GH_ASSERT(gh_metrics_ncollectors < GH_METRICS_COLLECTORS);
    gh_metrics_collectors[gh_metrics_ncollectors].fn = fn;
    gh_metrics_collectors[gh_metrics_ncollectors].ctx = ctx;
    gh_metrics_ncollectors++;
}

/* Write "# HELP" and "# TYPE" lines. */
void gh_metrics_family(struct gh_buf *out, const char *name, const char *type, const char *help)
{
    gh_buf_printf(out, NULL, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Write one sample line; labels are pre-escaped ("" for none). */
void gh_metrics_sample(struct gh_buf *out, const char *name, const char *labels, double value)
{
    if (labels != NULL && *labels != '\0')
        gh_buf_printf(out, NULL, "%s{%s} %.17g\n", name, labels, value);
    else
        gh_buf_printf(out, NULL, "%s %.17g\n", name, value);
}

/* Route r's counters summed over the shards. */
struct gh_metrics_totals {
    unsigned long count[GH_METRICS_NCODES + 1];
    unsigned long bucket[GH_METRICS_NBUCKETS + 1];
    unsigned long long sum_ns;
};

static void gh_metrics_total(int r, struct gh_metrics_totals *t)
{
    memset(t, 0, sizeof(*t));
    for (int i = 0; i < GH_METRICS_SHARDS; i++) {
        struct gh_metrics_route *m = &gh_metrics_shards[i].routes[r];
        for (size_t s = 0; s <= GH_METRICS_NCODES; s++)
            t->count[s] += atomic_load_explicit(&m->count[s], memory_order_relaxed);
        for (size_t b = 0; b <= GH_METRICS_NBUCKETS; b++)
            t->bucket[b] += atomic_load_explicit(&m->bucket[b], memory_order_relaxed);
        t->sum_ns += atomic_load_explicit(&m->sum_ns, memory_order_relaxed);
    }
}

static const char *gh_metrics_label(int i)
{
    return (size_t)i < gh_metrics_nroutes ? gh_metrics_table[i].label : "none";
}

/*
 * Render the whole exposition into out. Counters are read one by one and summed over the shards
 * (not a snapshot across counters), which Prometheus tolerates. Thread-safe.
 */
enum gh_status gh_metrics_render(struct gh_buf *out, struct gh_err *err)
{
    size_t nroutes = gh_metrics_nroutes;
    char labels[160];

    gh_metrics_family(out, "gatehouse_build_info", "gauge", "Build information.");
    gh_buf_printf(out, NULL, "gatehouse_build_info{version=\"%s\",revision=\"%s\"} 1\n", GH_VERSION,
                  GH_GIT_REV);
    gh_metrics_family(out, "gatehouse_uptime_seconds", "gauge", "Seconds since start.");
    gh_metrics_sample(out, "gatehouse_uptime_seconds", "", (double)(time(NULL) - gh_metrics_start));

    gh_metrics_family(out, "gatehouse_http_requests_total", "counter",
                      "HTTP requests by route and status.");
    for (int r = 0; r <= GH_METRICS_ROUTES; r++) {
        struct gh_metrics_totals t;
        if (r < GH_METRICS_ROUTES && (size_t)r >= nroutes)
            continue;
        gh_metrics_total(r, &t);
        for (size_t s = 0; s <= GH_METRICS_NCODES; s++) {
            unsigned long v = t.count[s];
            if (v == 0)
                continue;
            if (s == GH_METRICS_OTHER)
                snprintf(labels, sizeof(labels), "route=\"%s\",code=\"other\"",
                         gh_metrics_label(r));
            else
                snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%u\"", gh_metrics_label(r),
                         gh_metrics_codes[s]);
            gh_metrics_sample(out, "gatehouse_http_requests_total", labels, (double)v);
        }
    }
    gh_metrics_family(out, "gatehouse_http_request_duration_seconds", "histogram",
                      "HTTP request latency by route.");
    for (int r = 0; r <= GH_METRICS_ROUTES; r++) {
        unsigned long cum = 0;
        struct gh_metrics_totals t;
        if (r < GH_METRICS_ROUTES && (size_t)r >= nroutes)
            continue;
        gh_metrics_total(r, &t);
        for (size_t b = 0; b <= GH_METRICS_NBUCKETS; b++)
            cum += t.bucket[b];
        if (cum == 0)
            continue;
        cum = 0;
        for (size_t b = 0; b <= GH_METRICS_NBUCKETS; b++) {
            cum += t.bucket[b];
            if (b < GH_METRICS_NBUCKETS)
                snprintf(labels, sizeof(labels), "route=\"%s\",le=\"%g\"", gh_metrics_label(r),
                         gh_metrics_buckets[b]);
            else
                snprintf(labels, sizeof(labels), "route=\"%s\",le=\"+Inf\"", gh_metrics_label(r));
            gh_metrics_sample(out, "gatehouse_http_request_duration_seconds_bucket", labels,
                              (double)cum);
        }
        snprintf(labels, sizeof(labels), "route=\"%s\"", gh_metrics_label(r));
        gh_metrics_sample(out, "gatehouse_http_request_duration_seconds_sum", labels,
                          (double)t.sum_ns / 1e9);
        gh_metrics_sample(out, "gatehouse_http_request_duration_seconds_count", labels,
                          (double)cum);
    }
    for (int i = 0; i < gh_metrics_ncollectors; i++)
        gh_metrics_collectors[i].fn(gh_metrics_collectors[i].ctx, out);
    if (out->len >= out->cap)
        return GH_ERR(err, GH_E_INTERNAL, "metrics exposition larger than %zu bytes", out->cap);
    return GH_OK;
}

/* Zero every counter and forget collectors (tests). */
void gh_metrics_reset(void)
{
    memset(gh_metrics_shards, 0, sizeof(gh_metrics_shards));
    gh_metrics_ncollectors = 0;
}

/* GET /metrics. */
enum gh_status gh_metrics_handle(struct gh_req *r, struct gh_err *err)
{
    struct gh_buf out;
    enum gh_status st;

    gh_buf_init(&out, (size_t)4 * 1024 * 1024);
    st = gh_metrics_render(&out, err);
    if (st == GH_OK)
        gh_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", gh_buf_str(&out), out.len);
    gh_buf_free(&out);
    return st;
}
