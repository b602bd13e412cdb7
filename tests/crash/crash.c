/*
 * crash.c - `make crashtest`: kill -9 the real daemon under concurrent Entra-shaped SCIM writes,
 * restart it on the same database, and check that every acknowledged write is there.
 *
 * CRASH_WORKERS threads each own their users and groups (so the order of one resource's changes
 * is known) and send POST /Users, POST /Groups, PATCH (user attributes, group member Add and
 * Remove) and DELETE one after another. A 2xx is an acknowledgement and goes into the worker's
 * model; the request in flight when the daemon dies may or may not have committed. At a random
 * moment the daemon gets SIGKILL; it is restarted on the same file and, per worker, the stored
 * users and groups (attributes, members, absence of the deleted) must equal the model, or the
 * model plus that one in-flight request (a transaction is all or nothing). PRAGMA integrity_check
 * and foreign_key_check must pass. CRASH_CYCLES (default 30), CRASH_SEED; loopback only; every
 * request has a 10 s timeout and the whole run a Check timeout.
 */
#include "tests/support/fixture.h"
#include "tests/support/support.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CR_TOKEN   "crash-scim-secret-0123456789abcdef"
#define CR_AUTH    "Authorization: Bearer " CR_TOKEN
#define CR_CT      "Content-Type: application/scim+json"
#define CR_WORKERS 4
/* user slots per worker: a group's members are a bitmask over them */
#define CR_USERS  48
#define CR_GROUPS 8
/* the daemon is killed between these many milliseconds after it is ready */
#define CR_KILL_MIN_MS 150
#define CR_KILL_MAX_MS 1200
#define CR_PATCHOP     "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"

struct cr_user {
    bool used;
    char id[40]; /* "" for a create whose answer was lost, until the check finds it */
    int serial;  /* userName w<k>-u<serial>@contoso.example */
    int display, title;
    bool active;
};
struct cr_group {
    bool used;
    char id[40];
    int serial; /* displayName w<k>-g<serial> */
    uint64_t members;
};
struct cr_model {
    struct cr_user u[CR_USERS];
    struct cr_group g[CR_GROUPS];
};

enum cr_op_type {
    CR_CREATE_USER,
    CR_CREATE_GROUP,
    CR_PATCH_USER,
    CR_ADD_MEMBER,
    CR_REMOVE_MEMBER,
    CR_DELETE_USER,
    CR_DELETE_GROUP,
};
struct cr_op {
    enum cr_op_type type;
    int slot;  /* user slot, or group slot for group ops */
    int other; /* the member's user slot */
    int serial, display, title;
    bool active;
    char id[40]; /* a created resource's id, from the 201 */
};

struct cr_worker {
    int k;
    unsigned seed;
    const char *url;
    struct cr_model m; /* acknowledged state */
    bool has_pending;  /* a request got no answer: it may have committed */
    struct cr_op pending;
    int next_serial;
    unsigned long acked; /* 2xx answers this cycle */
    char fail[1024];     /* first unexpected answer this cycle */
    pthread_t thread;
};

static atomic_bool cr_stop;
static struct {
    unsigned long acked, checked, in_flight, in_flight_committed;
    int failures;
} cr_sum;

static void cr_apply(struct cr_model *m, const struct cr_op *op)
{
    switch (op->type) {
    case CR_CREATE_USER:
        m->u[op->slot] = (struct cr_user){true, "", op->serial, op->display, op->title, true};
        snprintf(m->u[op->slot].id, sizeof(m->u[op->slot].id), "%s", op->id);
        break;
    case CR_CREATE_GROUP:
        m->g[op->slot] = (struct cr_group){true, "", op->serial, 0};
        snprintf(m->g[op->slot].id, sizeof(m->g[op->slot].id), "%s", op->id);
        break;
    case CR_PATCH_USER:
        m->u[op->slot].display = op->display;
        m->u[op->slot].title = op->title;
        m->u[op->slot].active = op->active;
        break;
    case CR_ADD_MEMBER:
        m->g[op->slot].members |= UINT64_C(1) << op->other;
        break;
    case CR_REMOVE_MEMBER:
        m->g[op->slot].members &= ~(UINT64_C(1) << op->other);
        break;
    case CR_DELETE_USER: /* its memberships go with it */
        m->u[op->slot].used = false;
        for (int g = 0; g < CR_GROUPS; g++)
            m->g[g].members &= ~(UINT64_C(1) << op->slot);
        break;
    case CR_DELETE_GROUP:
        m->g[op->slot].used = false;
        break;
    }
}

static int cr_rand(struct cr_worker *w, int n)
{
    return (int)(rand_r(&w->seed) % (unsigned)n);
}

/* A random used (want_used) or free slot of n, or -1. */
static int cr_slot(struct cr_worker *w, bool is_user, bool want_used)
{
    int n = is_user ? CR_USERS : CR_GROUPS, start = cr_rand(w, n);
    for (int i = 0; i < n; i++) {
        int s = (start + i) % n;
        bool used = is_user ? w->m.u[s].used : w->m.g[s].used;
        if (used == want_used)
            return s;
    }
    return -1;
}

static void cr_pick(struct cr_worker *w, struct cr_op *op)
{
    int r = cr_rand(w, 100), nu = 0, ng = 0, free_u = cr_slot(w, true, false),
        free_g = cr_slot(w, false, false);

    for (int i = 0; i < CR_USERS; i++)
        nu += w->m.u[i].used;
    for (int i = 0; i < CR_GROUPS; i++)
        ng += w->m.g[i].used;
    memset(op, 0, sizeof(*op));
    op->serial = w->next_serial;
    op->display = cr_rand(w, 100000);
    op->title = cr_rand(w, 100000);
    op->active = cr_rand(w, 4) != 0;
    if (free_u >= 0 && (nu < 4 || r < 20)) {
        op->type = CR_CREATE_USER;
        op->slot = free_u;
    } else if (free_g >= 0 && (ng < 2 || r < 28)) {
        op->type = CR_CREATE_GROUP;
        op->slot = free_g;
    } else if (r < 55 || ng == 0) {
        op->type = CR_PATCH_USER;
        op->slot = cr_slot(w, true, true);
    } else if (r < 88) {
        op->type = r < 75 ? CR_ADD_MEMBER : CR_REMOVE_MEMBER;
        op->slot = cr_slot(w, false, true);
        op->other = cr_slot(w, true, true);
    } else if (r < 96) {
        op->type = CR_DELETE_USER;
        op->slot = cr_slot(w, true, true);
    } else {
        op->type = CR_DELETE_GROUP;
        op->slot = cr_slot(w, false, true);
    }
}

/* Send op; returns the HTTP status, 0 on a transport error (the daemon is gone). */
static long cr_send(struct cr_worker *w, struct cr_op *op)
{
    const char *hdrs[] = {CR_AUTH, CR_CT, NULL};
    const char *method = "PATCH";
    char url[512], body[2048];
    struct gh_http_resp r;
    long status;
    bool group_op = op->type == CR_CREATE_GROUP || op->type == CR_ADD_MEMBER ||
                    op->type == CR_REMOVE_MEMBER || op->type == CR_DELETE_GROUP;
    /* the user the op names (a member for member ops), the group for group ops */
    const struct cr_user *u =
        &w->m.u[op->type == CR_ADD_MEMBER || op->type == CR_REMOVE_MEMBER ? op->other : op->slot];
    const struct cr_group *g = group_op ? &w->m.g[op->slot] : NULL;

    body[0] = '\0';
    switch (op->type) {
    case CR_CREATE_USER:
        method = "POST";
        snprintf(url, sizeof(url), "%s/scim/v2/Users", w->url);
        snprintf(body, sizeof(body),
                 "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"urn:ietf:params:"
                 "scim:schemas:extension:enterprise:2.0:User\"],\"externalId\":\"ext-%d-%d\","
                 "\"userName\":\"w%d-u%d@contoso.example\",\"active\":true,\"displayName\":"
                 "\"Display %d\",\"title\":\"title-%d\",\"emails\":[{\"primary\":true,\"type\":"
                 "\"work\",\"value\":\"w%d-u%d@contoso.example\"}],\"meta\":{\"resourceType\":"
                 "\"User\"},\"name\":{\"formatted\":\"Given Family\",\"familyName\":\"Family\","
                 "\"givenName\":\"Given\"},\"roles\":[]}",
                 w->k, op->serial, w->k, op->serial, op->display, op->title, w->k, op->serial);
        break;
    case CR_CREATE_GROUP:
        method = "POST";
        snprintf(url, sizeof(url), "%s/scim/v2/Groups", w->url);
        snprintf(body, sizeof(body),
                 "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\",\"http://schemas."
                 "microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group\"],\"externalId\":"
                 "\"gext-%d-%d\",\"displayName\":\"w%d-g%d\",\"meta\":{\"resourceType\":"
                 "\"Group\"}}",
                 w->k, op->serial, w->k, op->serial);
        break;
    case CR_PATCH_USER:
        snprintf(url, sizeof(url), "%s/scim/v2/Users/%s", w->url, u->id);
        snprintf(body, sizeof(body),
                 CR_PATCHOP "\"Operations\":[{\"op\":\"Replace\",\"path\":\"displayName\","
                            "\"value\":\"Display %d\"},{\"op\":\"Replace\",\"path\":\"title\","
                            "\"value\":\"title-%d\"},{\"op\":\"Replace\",\"path\":\"active\","
                            "\"value\":%s}]}",
                 op->display, op->title, op->active ? "true" : "false");
        break;
    case CR_ADD_MEMBER:
    case CR_REMOVE_MEMBER:
        snprintf(url, sizeof(url), "%s/scim/v2/Groups/%s", w->url, g->id);
        snprintf(body, sizeof(body),
                 CR_PATCHOP "\"Operations\":[{\"op\":\"%s\",\"path\":\"members\",\"value\":"
                            "[{\"value\":\"%s\"}]}]}",
                 op->type == CR_ADD_MEMBER ? "Add" : "Remove", u->id);
        break;
    case CR_DELETE_USER:
    case CR_DELETE_GROUP:
        method = "DELETE";
        snprintf(url, sizeof(url), "%s/scim/v2/%s/%s", w->url,
                 op->type == CR_DELETE_USER ? "Users" : "Groups",
                 op->type == CR_DELETE_USER ? u->id : g->id);
        hdrs[1] = NULL;
        break;
    }
    if (gh_http(method, url, hdrs, body[0] ? body : NULL, NULL, &r) != 0) {
        gh_http_resp_free(&r);
        return 0;
    }
    status = r.status;
    if (status == 201) {
        cJSON *j = cJSON_Parse(r.body);
        const cJSON *id = cJSON_GetObjectItem(j, "id");
        if (cJSON_IsString(id))
            snprintf(op->id, sizeof(op->id), "%s", id->valuestring);
        else
            status = -1; /* a 201 without an id is a failure of its own */
        cJSON_Delete(j);
    }
    if ((status < 200 || status > 299) && w->fail[0] == '\0')
        snprintf(w->fail, sizeof(w->fail), "worker %d: %s %s: %ld %.300s", w->k, method, url,
                 r.status, r.body);
    gh_http_resp_free(&r);
    return status;
}

/* One worker: requests one after another until the daemon dies or the cycle ends. */
static void *cr_worker_run(void *arg)
{
    struct cr_worker *w = arg;

    while (!atomic_load(&cr_stop)) {
        long status;
        cr_pick(w, &w->pending);
        w->has_pending = true;
        if (w->pending.type == CR_CREATE_USER || w->pending.type == CR_CREATE_GROUP)
            w->next_serial++;
        status = cr_send(w, &w->pending);
        if (status == 0)
            break; /* no answer: pending stays, it may have committed */
        if (status < 200 || status > 299)
            break; /* reported; pending stays too, so the check is not thrown off */
        cr_apply(&w->m, &w->pending);
        w->has_pending = false;
        w->acked++;
    }
    return NULL;
}

/* GET a list page (all of one worker's resources fit in one page); caller deletes. */
static cJSON *cr_list(const char *url, const char *what, const char *filter, char *why, size_t cap)
{
    const char *hdrs[] = {CR_AUTH, NULL};
    char full[1024], enc[256];
    struct gh_http_resp r;
    cJSON *j = NULL;
    size_t o = 0;

    for (const char *p = filter; *p && o + 4 < sizeof(enc); p++)
        o += (size_t)snprintf(
            enc + o, sizeof(enc) - o,
            (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ? "%c" : "%%%02X",
            (unsigned char)*p);
    snprintf(full, sizeof(full), "%s/scim/v2/%s?count=1000&filter=%s", url, what, enc);
    if (gh_http("GET", full, hdrs, NULL, NULL, &r) == 0 && r.status == 200)
        j = cJSON_Parse(r.body);
    else
        snprintf(why, cap, "GET %.400s: %ld %.200s", full, r.status, r.body);
    gh_http_resp_free(&r);
    return j;
}

static int cr_serial(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s != NULL && strncmp(s, prefix, n) == 0 ? (int)strtol(s + n, NULL, 10) : -1;
}

static const char *cr_str(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(j, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/*
 * Does the stored state (users, groups: ids, attributes, members) equal model m? A user whose id
 * m does not know yet (a create in flight at the kill) takes the stored one. Writes why not.
 */
static bool cr_match(struct cr_worker *w, struct cr_model *m, const cJSON *users,
                     const cJSON *groups, char *why, size_t cap)
{
    char upre[32], gpre[32], want[64];
    const cJSON *e;
    int nu = 0, ng = 0, seen_u = 0, seen_g = 0;
    bool seen[CR_USERS] = {false}, gseen[CR_GROUPS] = {false};

    snprintf(upre, sizeof(upre), "w%d-u", w->k);
    snprintf(gpre, sizeof(gpre), "w%d-g", w->k);
    for (int i = 0; i < CR_USERS; i++)
        nu += m->u[i].used;
    for (int i = 0; i < CR_GROUPS; i++)
        ng += m->g[i].used;
    cJSON_ArrayForEach(e, users)
    {
        int serial = cr_serial(cr_str(e, "userName"), upre), s;
        const cJSON *active = cJSON_GetObjectItem(e, "active");
        for (s = 0; s < CR_USERS && !(m->u[s].used && m->u[s].serial == serial); s++)
            ;
        if (s == CR_USERS) {
            snprintf(why, cap, "user %s is stored but was deleted or never acknowledged",
                     cr_str(e, "userName"));
            return false;
        }
        if (m->u[s].id[0] == '\0')
            snprintf(m->u[s].id, sizeof(m->u[s].id), "%s", cr_str(e, "id"));
        snprintf(want, sizeof(want), "Display %d", m->u[s].display);
        if (strcmp(m->u[s].id, cr_str(e, "id")) != 0 ||
            strcmp(cr_str(e, "displayName"), want) != 0 ||
            cr_serial(cr_str(e, "title"), "title-") != m->u[s].title ||
            cJSON_IsTrue(active) != m->u[s].active) {
            snprintf(why, cap,
                     "user %s: stored id=%s displayName=%s title=%s active=%d, acknowledged "
                     "id=%s displayName=%s title=title-%d active=%d",
                     cr_str(e, "userName"), cr_str(e, "id"), cr_str(e, "displayName"),
                     cr_str(e, "title"), cJSON_IsTrue(active), m->u[s].id, want, m->u[s].title,
                     m->u[s].active);
            return false;
        }
        seen[s] = true;
        seen_u++;
    }
    if (seen_u != nu) {
        int s = 0;
        while (s < CR_USERS && !(m->u[s].used && !seen[s]))
            s++;
        snprintf(
            why, cap, "%d users stored, %d acknowledged: w%d-u%d@contoso.example (id %s) is lost",
            seen_u, nu, w->k, s < CR_USERS ? m->u[s].serial : -1, s < CR_USERS ? m->u[s].id : "");
        return false;
    }
    cJSON_ArrayForEach(e, groups)
    {
        int serial = cr_serial(cr_str(e, "displayName"), gpre), s;
        uint64_t members = 0;
        const cJSON *mm;
        for (s = 0; s < CR_GROUPS && !(m->g[s].used && m->g[s].serial == serial); s++)
            ;
        if (s == CR_GROUPS) {
            snprintf(why, cap, "group %s is stored but was deleted or never acknowledged",
                     cr_str(e, "displayName"));
            return false;
        }
        if (m->g[s].id[0] == '\0')
            snprintf(m->g[s].id, sizeof(m->g[s].id), "%s", cr_str(e, "id"));
        cJSON_ArrayForEach(mm, cJSON_GetObjectItem(e, "members"))
        {
            int u;
            for (u = 0;
                 u < CR_USERS && !(m->u[u].used && strcmp(m->u[u].id, cr_str(mm, "value")) == 0);
                 u++)
                ;
            if (u == CR_USERS) {
                snprintf(why, cap, "group %s has member %s, not a live user of the model",
                         cr_str(e, "displayName"), cr_str(mm, "value"));
                return false;
            }
            members |= UINT64_C(1) << u;
        }
        if (strcmp(m->g[s].id, cr_str(e, "id")) != 0 || members != m->g[s].members) {
            snprintf(why, cap,
                     "group %s: stored id=%s members=%#llx, acknowledged id=%s members=%#llx",
                     cr_str(e, "displayName"), cr_str(e, "id"), (unsigned long long)members,
                     m->g[s].id, (unsigned long long)m->g[s].members);
            return false;
        }
        gseen[s] = true;
        seen_g++;
    }
    if (seen_g != ng) {
        int s = 0;
        while (s < CR_GROUPS && !(m->g[s].used && !gseen[s]))
            s++;
        snprintf(why, cap, "%d groups stored, %d acknowledged: w%d-g%d (id %s) is lost", seen_g, ng,
                 w->k, s < CR_GROUPS ? m->g[s].serial : -1, s < CR_GROUPS ? m->g[s].id : "");
        return false;
    }
    cr_sum.checked += (unsigned long)(nu + ng);
    return true;
}

/* After a restart: the stored state of worker w is its model, or its model plus the request
 * that was in flight. The model becomes whichever it is. */
static void cr_verify(struct cr_worker *w, const char *url, int cycle)
{
    char why0[1024] = "", why1[1024] = "", filter[64];
    cJSON *users, *groups;
    bool ok = false;

    snprintf(filter, sizeof(filter), "userName sw \"w%d-u\"", w->k);
    users = cr_list(url, "Users", filter, why0, sizeof(why0));
    snprintf(filter, sizeof(filter), "displayName sw \"w%d-g\"", w->k);
    groups = cr_list(url, "Groups", filter, why0, sizeof(why0));
    if (users != NULL && groups != NULL) {
        const cJSON *ur = cJSON_GetObjectItem(users, "Resources");
        const cJSON *gr = cJSON_GetObjectItem(groups, "Resources");
        struct cr_model m1 = w->m;
        if (w->has_pending)
            cr_sum.in_flight++;
        ok = cr_match(w, &w->m, ur, gr, why0, sizeof(why0));
        if (!ok && w->has_pending) {
            cr_apply(&m1, &w->pending);
            ok = cr_match(w, &m1, ur, gr, why1, sizeof(why1));
            if (ok) {
                w->m = m1;
                cr_sum.in_flight_committed++;
            }
        }
    }
    if (!ok) {
        cr_sum.failures++;
        fprintf(stderr, "crashtest: cycle %d, worker %d: %s%s%s\n", cycle, w->k, why0,
                why1[0] ? "; with the request in flight applied: " : "", why1);
    }
    w->has_pending = false;
    cJSON_Delete(users);
    cJSON_Delete(groups);
}

/* PRAGMA integrity_check and foreign_key_check, through a read-only connection beside the
 * running daemon (WAL lets both read). */
static void cr_integrity(const char *db, int cycle)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    const char *sql[] = {"PRAGMA integrity_check", "PRAGMA foreign_key_check"};

    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        cr_sum.failures++;
        fprintf(stderr, "crashtest: cycle %d: cannot open %s: %s\n", cycle, db, sqlite3_errmsg(h));
        sqlite3_close(h);
        return;
    }
    sqlite3_busy_timeout(h, 5000);
    for (int i = 0; i < 2; i++) {
        int rc = sqlite3_prepare_v2(h, sql[i], -1, &st, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        /* integrity_check answers one row "ok"; foreign_key_check answers no row */
        bool ok =
            i == 0 ? rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0
                   : rc == SQLITE_DONE;
        if (!ok) {
            cr_sum.failures++;
            fprintf(stderr, "crashtest: cycle %d: %s: %s\n", cycle, sql[i],
                    rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0)
                                     : sqlite3_errmsg(h));
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    sqlite3_close(h);
}

static int cr_env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    char *end;
    long n;
    if (v == NULL || *v == '\0')
        return dflt;
    n = strtol(v, &end, 10);
    return *end == '\0' && n > 0 && n < 100000 ? (int)n : dflt;
}

static void cr_nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

START_TEST(kill9_loses_no_acknowledged_write)
{
    int cycles = cr_env_int("CRASH_CYCLES", 30);
    unsigned seed0 = (unsigned)cr_env_int("CRASH_SEED", (int)(time(NULL) % 100000)), seed = seed0;
    /* the daemon alone, its db in the fixture's directory so that each restart finds it */
    struct gh_fixture *fx = gh_fixture_start(&(struct gh_fixture_opts){
        .no_idp = true, .scim_token = CR_TOKEN, .db_in_dir = true, .no_daemon = true});
    const char *db = fx->db_path;
    static struct cr_worker w[CR_WORKERS];
    struct gh_proc *p;
    int rc;

    printf("crashtest: %d cycles, %d workers, seed %u (CRASH_SEED=%u repeats the random choices)\n",
           cycles, CR_WORKERS, seed0, seed0);
    for (int k = 0; k < CR_WORKERS; k++)
        w[k] = (struct cr_worker){.k = k, .seed = seed * 31u + (unsigned)k};
    for (int c = 0; c <= cycles; c++) {
        gh_fixture_daemon_start(fx);
        p = fx->proc;
        for (int k = 0; k < CR_WORKERS; k++) {
            w[k].url = gh_proc_url(p);
            if (c > 0)
                cr_verify(&w[k], gh_proc_url(p), c);
            cr_sum.acked += w[k].acked;
            w[k].acked = 0;
            if (w[k].fail[0] != '\0') {
                cr_sum.failures++;
                fprintf(stderr, "crashtest: cycle %d: unexpected answer: %s\n", c, w[k].fail);
                w[k].fail[0] = '\0';
            }
        }
        if (c > 0)
            cr_integrity(db, c);
        if (c == cycles) {
            rc = gh_fixture_daemon_stop(fx);
            ck_assert_msg(rc == 0, "the last daemon exited with %d", rc);
            break;
        }
        atomic_store(&cr_stop, false);
        for (int k = 0; k < CR_WORKERS; k++)
            ck_assert_int_eq(pthread_create(&w[k].thread, NULL, cr_worker_run, &w[k]), 0);
        cr_nap_ms(CR_KILL_MIN_MS + (int)(rand_r(&seed) % (CR_KILL_MAX_MS - CR_KILL_MIN_MS)));
        kill(gh_proc_pid(p), SIGKILL);
        atomic_store(&cr_stop, true);
        for (int k = 0; k < CR_WORKERS; k++)
            pthread_join(w[k].thread, NULL);
        gh_fixture_daemon_stop(fx); /* reaps it (128 + SIGKILL) and removes its log directory */
    }
    printf("crashtest: cycles=%d acked_writes=%lu resources_checked=%lu in_flight_at_kill=%lu "
           "(committed %lu) failures=%d\n",
           cycles, cr_sum.acked, cr_sum.checked, cr_sum.in_flight, cr_sum.in_flight_committed,
           cr_sum.failures);
    fflush(stdout);
    gh_fixture_stop(fx);
    ck_assert_msg(cr_sum.failures == 0, "%d failures (see above; CRASH_SEED=%u)", cr_sum.failures,
                  seed0);
    ck_assert_msg(cr_sum.acked > 0, "no write was acknowledged");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("kill9");
    SRunner *sr;
    int failed;

    curl_global_init(CURL_GLOBAL_DEFAULT); /* before the worker threads: not thread-safe */
    tcase_set_timeout(tc, 60 + 15 * cr_env_int("CRASH_CYCLES", 30));
    tcase_add_test(tc, kill9_loses_no_acknowledged_write);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
