/*
 * scim_bench.c - load generator and baseline for bench/scim.sh (not part of the daemon).
 *
 *   scim_bench users URL TOKEN N CONNS PREFIX [IDFILE]   POST N Entra-shaped users over CONNS
 *                                                         keep-alive connections; prints users/s
 *   scim_bench groups URL TOKEN N                         POST N groups; prints the first id
 *   scim_bench fill URL TOKEN GID IDFILE BATCH            PATCH every id of IDFILE into GID,
 *                                                         BATCH members per request
 *   scim_bench adds URL TOKEN GID IDFILE FROM N           N single-member PATCH adds; adds/s
 *   scim_bench baseline DIR N                             the same work as a plain SQLite loop
 *                                                         (WAL, synchronous=FULL, one row per
 *                                                         transaction): rows/s, member rows/s
 *                                                         into a 100,000-row table, file bytes,
 *                                                         peak RSS
 */
#include <curl/curl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct sink {
    char *p;
    size_t n;
};

static size_t sink_write(char *d, size_t s, size_t n, void *u)
{
    struct sink *k = u;
    size_t len = s * n;
    char *np = realloc(k->p, k->n + len + 1);
    if (np == NULL)
        return 0;
    k->p = np;
    memcpy(k->p + k->n, d, len);
    k->n += len;
    k->p[k->n] = '\0';
    return len;
}

static const char *g_url, *g_token;

/* One request on handle c; returns the HTTP status; body (if out) is malloc'ed. */
static long req(CURL *c, const char *method, const char *path, const char *body, char **out)
{
    char url[1024], auth[512];
    struct sink k = {0};
    struct curl_slist *h = NULL;
    long status = 0;

    snprintf(url, sizeof(url), "%s%s", g_url, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", g_token);
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Content-Type: application/scim+json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    if (out != NULL)
        *out = k.p;
    else
        free(k.p);
    return status;
}

/* The "id" of a created resource (the first "id":" in the body). */
static void id_of(const char *body, char *out, size_t cap)
{
    const char *p = body ? strstr(body, "\"id\":\"") : NULL;
    out[0] = '\0';
    if (p != NULL)
        snprintf(out, cap, "%.36s", p + 6);
}

static void user_body(char *b, size_t cap, const char *prefix, long i)
{
    snprintf(b, cap,
             "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"urn:ietf:params:scim:"
             "schemas:extension:enterprise:2.0:User\"],\"externalId\":\"%s-%ld\",\"userName\":"
             "\"%s-%ld@contoso.example\",\"active\":true,\"displayName\":\"Bench User %ld\","
             "\"emails\":[{\"primary\":true,\"type\":\"work\",\"value\":\"%s-%ld@contoso."
             "example\"}],\"meta\":{\"resourceType\":\"User\"},\"name\":{\"formatted\":\"Bench "
             "User %ld\",\"familyName\":\"User %ld\",\"givenName\":\"Bench\"},\"roles\":[],"
             "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"department\":"
             "\"Dept %ld\",\"employeeNumber\":\"%ld\"}}",
             prefix, i, prefix, i, i, prefix, i, i, i, i % 50, i);
}

struct uargs {
    const char *prefix;
    long from, to;
    char (*ids)[40];
    long fails;
};

static void *users_thread(void *p)
{
    struct uargs *a = p;
    CURL *c = curl_easy_init();
    char body[2048];
    for (long i = a->from; i < a->to; i++) {
        char *out = NULL;
        user_body(body, sizeof(body), a->prefix, i);
        if (req(c, "POST", "/Users", body, &out) != 201)
            a->fails++;
        if (a->ids != NULL)
            id_of(out, a->ids[i], sizeof(a->ids[i]));
        free(out);
    }
    curl_easy_cleanup(c);
    return NULL;
}

static int cmd_users(long n, int conns, const char *prefix, const char *idfile)
{
    pthread_t th[64];
    struct uargs a[64];
    char(*ids)[40] = idfile ? calloc((size_t)n, 40) : NULL;
    long fails = 0;
    double t0 = now_s(), dt;

    if (conns < 1 || conns > 64)
        return 2;
    for (int i = 0; i < conns; i++) {
        a[i] = (struct uargs){prefix, n * i / conns, n * (i + 1) / conns, ids, 0};
        pthread_create(&th[i], NULL, users_thread, &a[i]);
    }
    for (int i = 0; i < conns; i++) {
        pthread_join(th[i], NULL);
        fails += a[i].fails;
    }
    dt = now_s() - t0;
    if (ids != NULL) {
        FILE *f = fopen(idfile, "w");
        for (long i = 0; f && i < n; i++)
            fprintf(f, "%s\n", ids[i]);
        if (f)
            fclose(f);
        free(ids);
    }
    printf("%.0f\n", (double)n / dt);
    if (fails)
        fprintf(stderr, "scim_bench users: %ld failed\n", fails);
    return fails ? 1 : 0;
}

static int cmd_groups(long n)
{
    CURL *c = curl_easy_init();
    char body[256], first[40] = "";
    for (long i = 0; i < n; i++) {
        char *out = NULL;
        snprintf(body, sizeof(body),
                 "{\"displayName\":\"Bench Group %ld\",\"externalId\":\"g%ld\"}", i, i);
        if (req(c, "POST", "/Groups", body, &out) != 201) {
            fprintf(stderr, "scim_bench groups: failed at %ld\n", i);
            return 1;
        }
        if (i == 0)
            id_of(out, first, sizeof(first));
        free(out);
    }
    curl_easy_cleanup(c);
    printf("%s\n", first);
    return 0;
}

static char (*read_ids(const char *path, long *n))[40]
{
    FILE *f = fopen(path, "r");
    char(*ids)[40] = NULL;
    char line[64];
    long cap = 0;
    *n = 0;
    while (f && fgets(line, sizeof(line), f)) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            ids = realloc(ids, (size_t)cap * 40);
        }
        snprintf(ids[*n], 40, "%.36s", line);
        (*n)++;
    }
    if (f)
        fclose(f);
    return ids;
}

static int cmd_fill(const char *gid, const char *idfile, long batch)
{
    long n;
    char(*ids)[40] = read_ids(idfile, &n);
    CURL *c = curl_easy_init();
    size_t cap = (size_t)batch * 64 + 256;
    char *body = malloc(cap), path[128];
    snprintf(path, sizeof(path), "/Groups/%s", gid);
    for (long i = 0; i < n; i += batch) {
        size_t o = (size_t)snprintf(body, cap,
                                    "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
                                    "PatchOp\"],\"Operations\":[{\"op\":\"Add\",\"path\":"
                                    "\"members\",\"value\":[");
        for (long j = i; j < n && j < i + batch; j++)
            o += (size_t)snprintf(body + o, cap - o, "%s{\"value\":\"%s\"}", j > i ? "," : "",
                                  ids[j]);
        snprintf(body + o, cap - o, "]}]}");
        if (req(c, "PATCH", path, body, NULL) != 204) {
            fprintf(stderr, "scim_bench fill: failed at %ld\n", i);
            return 1;
        }
    }
    curl_easy_cleanup(c);
    free(body);
    free(ids);
    return 0;
}

static int cmd_adds(const char *gid, const char *idfile, long from, long count)
{
    long n;
    char(*ids)[40] = read_ids(idfile, &n);
    CURL *c = curl_easy_init();
    char body[512], path[128];
    double t0 = now_s();
    snprintf(path, sizeof(path), "/Groups/%s", gid);
    for (long i = from; i < from + count && i < n; i++) {
        snprintf(body, sizeof(body),
                 "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
                 "\"Operations\":[{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"$ref\":null,"
                 "\"value\":\"%s\"}]}]}",
                 ids[i]);
        if (req(c, "PATCH", path, body, NULL) != 204) {
            fprintf(stderr, "scim_bench adds: failed at %ld\n", i);
            return 1;
        }
    }
    printf("%.0f\n", (double)count / (now_s() - t0));
    curl_easy_cleanup(c);
    free(ids);
    return 0;
}

/* The floor: the same rows through SQLite directly, one transaction per row, same pragmas. */
static int cmd_baseline(const char *dir, long n)
{
    char path[512], body[2048], id[40];
    sqlite3 *db;
    sqlite3_stmt *st;
    struct stat sb;
    struct rusage ru;
    double t0, users_s, members_s;
    long madds = 2000;

    snprintf(path, sizeof(path), "%s/baseline.db", dir);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return 1;
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE u (id TEXT PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
                 " body TEXT NOT NULL) STRICT;"
                 "CREATE TABLE m (g TEXT NOT NULL, u TEXT NOT NULL, PRIMARY KEY (g, u))"
                 " STRICT, WITHOUT ROWID;",
                 NULL, NULL, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO u VALUES (?1, ?2, ?3)", -1, &st, NULL);
    t0 = now_s();
    for (long i = 0; i < n; i++) {
        snprintf(id, sizeof(id), "%08lx-0000-4000-8000-%012lx", i, i);
        user_body(body, sizeof(body), "base", i);
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, body, -1, SQLITE_TRANSIENT);
        sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    users_s = (double)n / (now_s() - t0);
    sqlite3_finalize(st);
    /* a 100,000-member group, then single-row adds into it */
    sqlite3_exec(db, "BEGIN; INSERT INTO m SELECT 'g', id FROM u; COMMIT;", NULL, NULL, NULL);
    sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO m VALUES ('g', ?1)", -1, &st, NULL);
    t0 = now_s();
    for (long i = 0; i < madds; i++) {
        snprintf(id, sizeof(id), "ffffffff-0000-4000-8000-%012lx", i);
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    members_s = (double)madds / (now_s() - t0);
    sqlite3_finalize(st);
    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    sqlite3_close(db);
    stat(path, &sb);
    getrusage(RUSAGE_SELF, &ru);
    printf("%.0f %.0f %lld %ld\n", users_s, members_s, (long long)sb.st_size, ru.ru_maxrss);
    return 0;
}

int main(int argc, char **argv)
{
    int rc = 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (argc >= 4 && strcmp(argv[1], "baseline") != 0) {
        g_url = argv[2];
        g_token = argv[3];
    }
    if (argc >= 7 && strcmp(argv[1], "users") == 0)
        rc = cmd_users(strtol(argv[4], NULL, 10), (int)strtol(argv[5], NULL, 10), argv[6],
                       argc > 7 ? argv[7] : NULL);
    else if (argc == 5 && strcmp(argv[1], "groups") == 0)
        rc = cmd_groups(strtol(argv[4], NULL, 10));
    else if (argc == 7 && strcmp(argv[1], "fill") == 0)
        rc = cmd_fill(argv[4], argv[5], strtol(argv[6], NULL, 10));
    else if (argc == 8 && strcmp(argv[1], "adds") == 0)
        rc = cmd_adds(argv[4], argv[5], strtol(argv[6], NULL, 10), strtol(argv[7], NULL, 10));
    else if (argc == 4 && strcmp(argv[1], "baseline") == 0)
        rc = cmd_baseline(argv[2], strtol(argv[3], NULL, 10));
    else
        fprintf(stderr, "usage: see the comment at the top of bench/scim_bench.c\n");
    curl_global_cleanup();
    return rc;
}
