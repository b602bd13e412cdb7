/*
 * fleet_bench.c - helpers for bench/fleet.sh (not a test, not part of the daemon):
 *   --propagate A B SCIM_TOKEN TOKENS USERS WRITES TIMEOUT_MS
 *        WRITES SCIM PATCHes to replica A (base URLs), alternately adding a user who is not in
 *        the linked group G0 (u1000, u1001, ...) and removing one who is (u1, u2, ...; u0 is left
 *        alone: the one-token wrk runs use it), each user touched once (a removal leaves a
 *        cut-off). After A answers, replica B is asked POST /v1/authorize {ds0, protect} with that
 *        user's token (line i of TOKENS) on a keep-alive connection, every FLEET_POLL_US, until
 *        the decision reflects the write or TIMEOUT_MS passed. Before each write B must still
 *        decide the opposite (else the store is not what the bench set up: exit 1). Prints
 *        "p50_ms= p99_ms= max_ms= mean_ms= write_p50_ms= first_poll= timeouts= n=".
 *   --pg-baseline SRC_URL DST_URL PREFIX GROUP_ID
 *        The floor for SCIM ingestion on PostgreSQL: reads the users whose userName starts with
 *        PREFIX and the member rows of GROUP_ID that gatehouse wrote into SRC, then inserts the
 *        same rows (same ids, names, bodies) into the same tables of DST (a fresh store of the same
 *        schema, triggers included) with a plain libpq loop, one INSERT per transaction (the group
 *        row itself untimed). Prints "users_per_s= members_per_s= users= members=".
 * Every loop is bounded by its arguments; everything talks to loopback URLs it is given.
 */
#include "core/core.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FLEET_POLL_US   200 /* pause between two decisions asked of B */
#define FLEET_SINK_CAP  65536
#define FLEET_ID_LEN    64
#define FLEET_TOKEN_CAP 8192
#define FLEET_MEMBERS   1000 /* users 0..999 are G0's members (authz_bench's layout) */

static double fleet_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

struct fleet_sink {
    char buf[FLEET_SINK_CAP];
    size_t len;
};

static size_t fleet_sink_write(char *p, size_t size, size_t n, void *ctx)
{
    struct fleet_sink *s = ctx;
    size_t len = size * n, room = sizeof(s->buf) - 1 - s->len;
    memcpy(s->buf + s->len, p, len < room ? len : room);
    s->len += len < room ? len : room;
    s->buf[s->len] = '\0';
    return len;
}

/* One request on keep-alive handle c (headers h borrowed); the status, the body in sink. */
static long fleet_http(CURL *c, struct curl_slist *h, const char *method, const char *url,
                       const char *body, struct fleet_sink *sink)
{
    long status = 0;
    sink->len = 0;
    sink->buf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 0L);
    if (body != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    else
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fleet_sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* The id of the one resource a SCIM filter "ATTR eq VALUE" on A finds; false if not exactly one. */
static bool fleet_scim_find(CURL *c, struct curl_slist *h, const char *base, const char *type,
                            const char *attr, const char *value, char out[FLEET_ID_LEN])
{
    struct fleet_sink *sink = gh_xcalloc(1, sizeof(*sink));
    char filter[256], url[1024];
    char *esc;
    cJSON *j = NULL, *res;
    bool ok = false;

    snprintf(filter, sizeof(filter), "%s eq \"%s\"", attr, value);
    esc = curl_easy_escape(c, filter, 0);
    snprintf(url, sizeof(url), "%s/scim/v2/%s?attributes=id&filter=%s", base, type, esc);
    curl_free(esc);
    if (fleet_http(c, h, "GET", url, NULL, sink) != 200)
        goto out;
    j = cJSON_Parse(sink->buf);
    res = cJSON_GetObjectItem(j, "Resources");
    if (cJSON_GetArraySize(res) == 1 &&
        cJSON_IsString(cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "id"))) {
        snprintf(out, FLEET_ID_LEN, "%s",
                 cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "id")->valuestring);
        ok = true;
    }
out:
    if (!ok)
        fprintf(stderr, "fleet_bench: %s with %s eq \"%s\" not found once on %s: %.300s\n", type,
                attr, value, base, sink->buf);
    cJSON_Delete(j);
    free(sink);
    return ok;
}

/* B's decision for token: 1 allowed, 0 denied, -status when B did not answer 200. */
static int fleet_decide(CURL *c, const char *url, const char *token, struct fleet_sink *sink)
{
    char auth[FLEET_TOKEN_CAP + 32];
    struct curl_slist *h = NULL;
    cJSON *j;
    long status;
    int out;

    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    status = fleet_http(c, h, "POST", url, "{\"dataset\":\"ds0\",\"action\":\"protect\"}", sink);
    curl_slist_free_all(h);
    if (status != 200)
        return -(int)(status > 0 ? status : 1);
    j = cJSON_Parse(sink->buf);
    out = cJSON_IsTrue(cJSON_GetObjectItem(j, "allowed")) ? 1 : 0;
    cJSON_Delete(j);
    return out;
}

/* Lines 0..n-1 of path (tokens); NULL when the file has fewer. Caller frees each and the array. */
static char **fleet_tokens_read(const char *path, int n)
{
    FILE *f = fopen(path, "r");
    char **t = gh_xcalloc((size_t)n, sizeof(char *));
    char *line = gh_xmalloc(FLEET_TOKEN_CAP);
    int i = 0;

    while (f != NULL && i < n && fgets(line, FLEET_TOKEN_CAP, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        t[i++] = gh_xstrdup(line);
    }
    if (f != NULL)
        fclose(f);
    free(line);
    if (i < n) {
        for (int k = 0; k < i; k++)
            free(t[k]);
        free(t);
        return NULL;
    }
    return t;
}

static int fleet_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile q (0..1] of the sorted v[0..n-1]. */
static double fleet_pct(const double *v, int n, double q)
{
    int k = (int)(q * n + 0.999999);
    return v[k < 1 ? 0 : (k > n ? n - 1 : k - 1)];
}

/* The user write i touches and whether B must then allow: even writes add u(1000 + i/2) to G0,
 * odd writes remove u(1 + i/2) from it. */
static int fleet_write_user(int i, bool *out_allow)
{
    *out_allow = i % 2 == 0;
    return i % 2 == 0 ? FLEET_MEMBERS + i / 2 : 1 + i / 2;
}

static int fleet_propagate(const char *a, const char *b, const char *scim, const char *tokfile,
                           int users, int writes, int timeout_ms)
{
    CURL *ca = curl_easy_init(), *cb = curl_easy_init();
    struct curl_slist *h = NULL;
    struct fleet_sink *sink = gh_xcalloc(1, sizeof(*sink));
    double *lat = gh_xcalloc((size_t)writes + 1, sizeof(double));
    double *wlat = gh_xcalloc((size_t)writes + 1, sizeof(double));
    char auth[256], gid[FLEET_ID_LEN], uid[FLEET_ID_LEN], name[64], url[1024], burl[1024];
    char body[512], **tokens = NULL;
    int rc = 1, timeouts = 0, first_poll = 0, done = 0, need;
    bool allow;
    double sum = 0;

    /* tokens up to the last user added; the removals stay below FLEET_MEMBERS */
    need = FLEET_MEMBERS + (writes - 1) / 2 + 1;
    if (writes < 1 || writes > 2 * (FLEET_MEMBERS - 1) || need > users) {
        fprintf(stderr, "fleet_bench: %d writes need 1 <= writes <= %d with %d users\n", writes,
                2 * (FLEET_MEMBERS - 1), users);
        goto out;
    }
    tokens = fleet_tokens_read(tokfile, need);
    if (tokens == NULL) {
        fprintf(stderr, "fleet_bench: %s holds fewer than %d tokens\n", tokfile, need);
        goto out;
    }
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", scim);
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Content-Type: application/scim+json");
    h = curl_slist_append(h, "Expect:");
    if (!fleet_scim_find(ca, h, a, "Groups", "displayName", "G0", gid))
        goto out;
    snprintf(url, sizeof(url), "%s/scim/v2/Groups/%s", a, gid);
    snprintf(burl, sizeof(burl), "%s/v1/authorize", b);
    for (int i = 0; i < writes; i++) {
        int u = fleet_write_user(i, &allow), polls = 0, d;
        double t0, t1, t2;

        snprintf(name, sizeof(name), "u%d@contoso.example", u);
        if (!fleet_scim_find(ca, h, a, "Users", "userName", name, uid))
            goto out;
        d = fleet_decide(cb, burl, tokens[u], sink);
        if (d != (allow ? 0 : 1)) {
            fprintf(stderr, "fleet_bench: before write %d, B decided %d for %s (want %d): %.300s\n",
                    i, d, name, allow ? 0 : 1, sink->buf);
            goto out;
        }
        if (allow)
            snprintf(body, sizeof(body),
                     "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
                     "\"Operations\":[{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":"
                     "\"%s\"}]}]}",
                     uid);
        else
            snprintf(body, sizeof(body),
                     "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
                     "\"Operations\":[{\"op\":\"Remove\",\"path\":\"members[value eq "
                     "\\\"%s\\\"]\"}]}",
                     uid);
        t0 = fleet_now_ms();
        if (fleet_http(ca, h, "PATCH", url, body, sink) != 204) {
            fprintf(stderr, "fleet_bench: write %d (PATCH G0 %s) failed: %.300s\n", i, name,
                    sink->buf);
            goto out;
        }
        t1 = fleet_now_ms();
        for (;;) {
            struct timespec nap = {0, FLEET_POLL_US * 1000L};
            d = fleet_decide(cb, burl, tokens[u], sink);
            t2 = fleet_now_ms();
            polls++;
            if (d == (allow ? 1 : 0) || t2 - t1 >= timeout_ms)
                break;
            nanosleep(&nap, NULL);
        }
        if (d != (allow ? 1 : 0)) {
            timeouts++;
            t2 = t1 + timeout_ms;
        }
        first_poll += polls == 1 && d == (allow ? 1 : 0);
        lat[done] = t2 - t1;
        wlat[done] = t1 - t0;
        sum += lat[done];
        done++;
    }
    qsort(lat, (size_t)done, sizeof(double), fleet_cmp_double);
    qsort(wlat, (size_t)done, sizeof(double), fleet_cmp_double);
    printf("p50_ms=%.2f p99_ms=%.2f max_ms=%.2f mean_ms=%.2f write_p50_ms=%.2f first_poll=%d "
           "timeouts=%d n=%d\n",
           fleet_pct(lat, done, 0.50), fleet_pct(lat, done, 0.99), lat[done - 1], sum / done,
           fleet_pct(wlat, done, 0.50), first_poll, timeouts, done);
    rc = 0;
out:
    for (int k = 0; tokens != NULL && k < need; k++)
        free(tokens[k]);
    free(tokens);
    free(lat);
    free(wlat);
    free(sink);
    curl_slist_free_all(h);
    curl_easy_cleanup(ca);
    curl_easy_cleanup(cb);
    return rc;
}

/* ---- the libpq floor ---- */

static bool fleet_pg_ok(PGconn *db, PGresult *r, ExecStatusType want, const char *what)
{
    bool ok = PQresultStatus(r) == want;
    if (!ok)
        fprintf(stderr, "fleet_bench: %s: %s", what, PQerrorMessage(db));
    return ok;
}

/* Insert every row of rows (its columns as the statement's parameters) into dst with the
 * prepared statement name, one transaction each (autocommit); rows/s, or -1. */
static double fleet_pg_insert_rows(PGconn *dst, const char *name, const char *sql, PGresult *rows)
{
    int n = PQntuples(rows), cols = PQnfields(rows);
    const char *vals[16];
    double t0;
    PGresult *r = PQprepare(dst, name, sql, cols, NULL);

    if (!fleet_pg_ok(dst, r, PGRES_COMMAND_OK, name)) {
        PQclear(r);
        return -1;
    }
    t0 = fleet_now_ms();
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < cols && c < 16; c++)
            vals[c] = PQgetisnull(rows, i, c) ? NULL : PQgetvalue(rows, i, c);
        r = PQexecPrepared(dst, name, cols, vals, NULL, NULL, 0);
        if (!fleet_pg_ok(dst, r, PGRES_COMMAND_OK, name)) {
            PQclear(r);
            return -1;
        }
        PQclear(r);
    }
    return n / ((fleet_now_ms() - t0) / 1e3);
}

static int fleet_pg_baseline(const char *src_url, const char *dst_url, const char *prefix,
                             const char *gid)
{
    static const char *const user_cols =
        "id, user_name, external_id, display_name, active, version, created, modified, body";
    static const char *const group_cols =
        "id, display_name, name_key, external_id, version, created, modified, body";
    PGconn *src = PQconnectdb(src_url), *dst = PQconnectdb(dst_url);
    PGresult *users = NULL, *group = NULL, *members = NULL;
    char sql[512], like[128];
    const char *p1[1] = {like}, *pg[1] = {gid};
    double users_s, members_s;
    int rc = 1;

    if (PQstatus(src) != CONNECTION_OK || PQstatus(dst) != CONNECTION_OK) {
        fprintf(stderr, "fleet_bench: connect: %s%s", PQerrorMessage(src), PQerrorMessage(dst));
        goto out;
    }
    snprintf(like, sizeof(like), "%s%%", prefix);
    snprintf(sql, sizeof(sql), "SELECT %s FROM users WHERE user_name LIKE $1 ORDER BY seq",
             user_cols);
    users = PQexecParams(src, sql, 1, NULL, p1, NULL, NULL, 0);
    snprintf(sql, sizeof(sql), "SELECT %s FROM groups WHERE id = $1", group_cols);
    group = PQexecParams(src, sql, 1, NULL, pg, NULL, NULL, 0);
    members = PQexecParams(src,
                           "SELECT group_id, member_id, member_type FROM members "
                           "WHERE group_id = $1 ORDER BY member_id",
                           1, NULL, pg, NULL, NULL, 0);
    if (!fleet_pg_ok(src, users, PGRES_TUPLES_OK, "read users") ||
        !fleet_pg_ok(src, group, PGRES_TUPLES_OK, "read the group") ||
        !fleet_pg_ok(src, members, PGRES_TUPLES_OK, "read members"))
        goto out;
    if (PQntuples(users) == 0 || PQntuples(group) != 1 || PQntuples(members) == 0) {
        fprintf(stderr, "fleet_bench: %d users \"%s*\", %d groups %s, %d members in the source\n",
                PQntuples(users), prefix, PQntuples(group), gid, PQntuples(members));
        goto out;
    }
    users_s = fleet_pg_insert_rows(dst, "users",
                                   "INSERT INTO users(id, user_name, external_id, display_name, "
                                   "active, version, created, modified, body) "
                                   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                                   users);
    if (users_s < 0 ||
        fleet_pg_insert_rows(dst, "group",
                             "INSERT INTO groups(id, display_name, name_key, external_id, version, "
                             "created, modified, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                             group) < 0)
        goto out;
    members_s = fleet_pg_insert_rows(
        dst, "members", "INSERT INTO members(group_id, member_id, member_type) VALUES ($1, $2, $3)",
        members);
    if (members_s < 0)
        goto out;
    printf("users_per_s=%.0f members_per_s=%.0f users=%d members=%d\n", users_s, members_s,
           PQntuples(users), PQntuples(members));
    rc = 0;
out:
    PQclear(users);
    PQclear(group);
    PQclear(members);
    PQfinish(src);
    PQfinish(dst);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 2;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (argc == 9 && strcmp(argv[1], "--propagate") == 0)
        rc = fleet_propagate(argv[2], argv[3], argv[4], argv[5], (int)strtol(argv[6], NULL, 10),
                             (int)strtol(argv[7], NULL, 10), (int)strtol(argv[8], NULL, 10));
    else if (argc == 6 && strcmp(argv[1], "--pg-baseline") == 0)
        rc = fleet_pg_baseline(argv[2], argv[3], argv[4], argv[5]);
    else
        fprintf(stderr, "usage: see the comment at the top of bench/fleet_bench.c\n");
    curl_global_cleanup();
    return rc;
}
