/*
 * health.c - /healthz (the process answers) and /readyz (every registered component is ready
 * and the daemon is not shutting down). Probes are registered before serving and never removed,
 * so readers need no lock.
 *
 * An advisory check is shown in /readyz but does not make it 503: it reports a degraded part
 * (the store cannot write) while the daemon still does work a load balancer should keep sending
 * (decisions, SCIM reads). Taking such a sidecar out of rotation would turn a full disk into an
 * authorization outage.
 */
#include "health.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <string.h>

#define GH_HEALTH_MAX          16
#define GH_HEALTH_WARNINGS_MAX 8

struct gh_health_probe {
    const char *name;
    gh_ready_fn fn;
    void *ctx;
    bool advisory; /* reported, never gates readiness */
};

static struct gh_health_probe gh_health_probes[GH_HEALTH_MAX];
static int gh_health_nprobes;
static atomic_bool gh_health_stopping;
static void (*gh_health_info)(void *ctx, cJSON *obj);
static void *gh_health_info_ctx;
static const char *gh_health_warnings[GH_HEALTH_WARNINGS_MAX];
static int gh_health_nwarnings;

/* See health.h. */
void gh_health_add_warning(const char *msg)
{
    GH_ASSERT(gh_health_nwarnings < GH_HEALTH_WARNINGS_MAX);
    gh_health_warnings[gh_health_nwarnings++] = msg;
}

/* See health.h. */
void gh_health_set_info(void (*fn)(void *ctx, cJSON *obj), void *ctx)
{
    gh_health_info = fn;
    gh_health_info_ctx = ctx;
}

/* Register a readiness probe. Start-up only. */
void gh_health_register(const char *name, gh_ready_fn fn, void *ctx)
{
    GH_ASSERT(gh_health_nprobes < GH_HEALTH_MAX);
    gh_health_probes[gh_health_nprobes++] = (struct gh_health_probe){name, fn, ctx, false};
}

/* Register an advisory check: listed in /readyz, never makes it 503. Start-up only. */
void gh_health_register_advisory(const char *name, gh_ready_fn fn, void *ctx)
{
    GH_ASSERT(gh_health_nprobes < GH_HEALTH_MAX);
    gh_health_probes[gh_health_nprobes++] = (struct gh_health_probe){name, fn, ctx, true};
}

/* Forget all probes (tests). */
void gh_health_reset(void)
{
    gh_health_nprobes = 0;
    gh_health_info = NULL;
    gh_health_nwarnings = 0;
    atomic_store(&gh_health_stopping, false);
}

/* Mark the daemon as shutting down: load balancers stop sending traffic. */
void gh_health_set_stopping(void)
{
    atomic_store(&gh_health_stopping, true);
}

/* True when every probe says ready and the daemon is not stopping. */
bool gh_health_ready(void)
{
    const char *why = NULL;
    if (atomic_load(&gh_health_stopping))
        return false;
    for (int i = 0; i < gh_health_nprobes; i++)
        if (!gh_health_probes[i].advisory && !gh_health_probes[i].fn(gh_health_probes[i].ctx, &why))
            return false;
    return true;
}

/* GET /healthz: the process is alive and serving. */
enum gh_status gh_health_handle_healthz(struct gh_req *r, struct gh_err *err)
{
    (void)err;
    gh_reply(r, 200, "application/json", "{\"status\":\"ok\"}", 15);
    return GH_OK;
}

/* GET /readyz: 200 when ready, else 503 with the components that are not. Advisory checks are
 * listed ("ok" or their reason) without changing the status. */
enum gh_status gh_health_handle_readyz(struct gh_req *r, struct gh_err *err)
{
    cJSON *body = cJSON_CreateObject();
    cJSON *checks = cJSON_AddObjectToObject(body, "checks");
    bool ready = !atomic_load(&gh_health_stopping);
    (void)err;

    if (!ready)
        cJSON_AddStringToObject(checks, "daemon", "shutting down");
    for (int i = 0; i < gh_health_nprobes; i++) {
        const char *why = NULL;
        bool ok = gh_health_probes[i].fn(gh_health_probes[i].ctx, &why);
        cJSON_AddStringToObject(checks, gh_health_probes[i].name,
                                ok ? "ok" : (why != NULL ? why : "not ready"));
        ready = ready && (ok || gh_health_probes[i].advisory);
    }
    cJSON_AddStringToObject(body, "status", ready ? "ready" : "not ready");
    if (gh_health_nwarnings > 0) {
        cJSON *w = cJSON_AddArrayToObject(body, "warnings");
        for (int i = 0; i < gh_health_nwarnings; i++)
            cJSON_AddItemToArray(w, cJSON_CreateString(gh_health_warnings[i]));
    }
    if (gh_health_info != NULL)
        gh_health_info(gh_health_info_ctx, body);
    gh_reply_json(r, ready ? 200 : 503, body);
    return GH_OK;
}
