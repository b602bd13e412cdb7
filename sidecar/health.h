/*
 * health.h - liveness (/healthz) and readiness (/readyz).
 *
 * Components register a readiness probe at start-up (the store; later the JWKS cache). /readyz
 * answers 200 only when every probe says ready, else 503 naming those that are not. Advisory
 * checks are listed too but leave the status alone.
 */
#ifndef GH_HEALTH_H
#define GH_HEALTH_H

#include "core/core.h"

#include <stdbool.h>

/* A probe returns true when ready; otherwise it may set *out_reason (static or owned by ctx). */
typedef bool (*gh_ready_fn)(void *ctx, const char **out_reason);

void gh_health_register(const char *name, gh_ready_fn fn, void *ctx); /* start-up only, <= 16 */
/* Listed in /readyz checks but never makes it 503 (a degraded part, e.g. store_writable). */
void gh_health_register_advisory(const char *name, gh_ready_fn fn, void *ctx);
/* Add facts to /readyz's body (fn adds members to obj; start-up only; one). */
struct cJSON;
void gh_health_set_info(void (*fn)(void *ctx, struct cJSON *obj), void *ctx);
/* A configuration warning shown in /readyz's "warnings" array (it never makes /readyz 503):
 * something an operator must know, e.g. that decisions answer 503 because token validation is
 * not configured. msg is borrowed for the process's life (a string literal). Start-up only, <= 8.
 */
void gh_health_add_warning(const char *msg);
void gh_health_reset(void); /* tests only */
bool gh_health_ready(void);
void gh_health_set_stopping(void); /* /readyz answers 503 from now on (shutdown) */

/* ---- handlers (route table) ---- */
enum gh_status gh_health_handle_healthz(struct gh_req *r, struct gh_err *err);
enum gh_status gh_health_handle_readyz(struct gh_req *r, struct gh_err *err);

#endif
