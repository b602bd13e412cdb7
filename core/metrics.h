/*
 * metrics.h - Prometheus text exposition (format 0.0.4) for /metrics.
 *
 * The HTTP layer records every request (route label, status, latency). Modules add their own
 * families by registering a collector at start-up, which appends exposition text when
 * /metrics is scraped. Recording is lock-free (atomics); registration is start-up only.
 */
#ifndef GH_METRICS_H
#define GH_METRICS_H

#include "buf.h"
#include "err.h"
#include "http.h"
#include "route.h"

#include <stddef.h>
#include <stdint.h>

typedef void (*gh_metrics_collect_fn)(void *ctx, struct gh_buf *out);

/* ---- recording ---- */
/* Start-up: marks the process start time and takes the route table whose rows' labels name
 * the request families (borrowed for the life of the process; the server's own table). */
void gh_metrics_init(const struct gh_route *routes, size_t nroutes);
/* route_index: the row of that table, -1 when no route matched ("none"). */
void gh_metrics_observe_request(int route_index, unsigned status, double seconds);

/* ---- collectors (register before serving; at most 32) ---- */
void gh_metrics_register(gh_metrics_collect_fn fn, void *ctx);

/* ---- exposition helpers for collectors ---- */
void gh_metrics_family(struct gh_buf *out, const char *name, const char *type, const char *help);
/* labels: "" or e.g. "result=\"allow\"" (already escaped). */
void gh_metrics_sample(struct gh_buf *out, const char *name, const char *labels, double value);

/* ---- rendering ---- */
enum gh_status gh_metrics_render(struct gh_buf *out, struct gh_err *err);
void gh_metrics_reset(void);                                            /* tests only */
enum gh_status gh_metrics_handle(struct gh_req *r, struct gh_err *err); /* GET /metrics */

#endif
