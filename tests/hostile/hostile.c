/*
 * hostile.c - `make hostile`: every hostile client of issue 9 against the real binary, one row
 * of a table per case: what was sent, what came back, whether gatehouse still serves a
 * well-behaved client (GET /healthz from another loopback address within 1 s) and its RSS.
 *
 * One daemon (with a loopback OIDC issuer) serves every case in turn; each case is a Check test,
 * so a case that fails is named and the run goes on. Attackers connect from their own loopback
 * address (127.0.0.10 + case) so that one case's throttling or connection count never colours
 * the next; the well-behaved client is 127.0.0.2. Every socket has a receive/send timeout and
 * every loop a count, so the run ends by itself (HOSTILE_SCALE=0.2 shrinks the floods).
 */
#include "core/core.h"
#include "tests/support/fixture.h"
#include "tests/support/idp.h"
#include "tests/support/mint.h"
#include "tests/support/support.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TID         "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define SCIM_SECRET "hostile-scim-secret-0123456789abcdef"
#define GOOD_SRC    "127.0.0.2"
#define SCIM_JSON   "Content-Type: application/scim+json\r\n"

static struct {
    struct gh_fixture *fx;
    struct gh_idp *idp; /* these three are borrowed from fx */
    struct gh_mint_key *key;
    struct gh_proc *proc;
    int port;
    char *token; /* a valid access token */
    double scale;
} hs;

/* ---- raw HTTP on loopback ---- */

static double hs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void hs_nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A connection to the daemon from source address src, with I/O timeouts; -1 on failure. */
static int hs_connect(const char *src, int timeout_ms)
{
    return gh_tcp_connect(src, hs.port, timeout_ms);
}

/* Send all of buf; false when the peer closed or the send timed out. */
static bool hs_send(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool hs_sends(int fd, const char *s)
{
    return hs_send(fd, s, strlen(s));
}

/* True when the daemon has answered or closed fd (without blocking). */
static bool hs_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

/* Read a response head (status line + headers) into head; the status, 0 when the connection
 * closed without an answer, -1 on timeout. */
static int hs_read_status(int fd, char *head, size_t cap)
{
    size_t len = 0;
    head[0] = '\0';
    while (len + 1 < cap) {
        ssize_t n = recv(fd, head + len, cap - 1 - len, 0);
        if (n == 0)
            break;
        if (n < 0)
            return len > 12 ? (int)strtol(head + 9, NULL, 10) : (errno == EAGAIN ? -1 : 0);
        len += (size_t)n;
        head[len] = '\0';
        if (strstr(head, "\r\n\r\n") != NULL)
            break;
    }
    if (len < 12 || strncmp(head, "HTTP/1.", 7) != 0)
        return 0;
    return (int)strtol(head + 9, NULL, 10);
}

/* One request on a fresh connection from src: its status (0 closed, -1 timeout). */
static int hs_request(const char *src, const char *req, size_t len, char *head, size_t cap)
{
    int st, fd = hs_connect(src, 5000);
    if (fd < 0)
        return 0;
    if (!hs_send(fd, req, len) && !hs_readable(fd)) {
        close(fd);
        return 0;
    }
    st = hs_read_status(fd, head, cap);
    close(fd);
    return st;
}

static int hs_requests(const char *src, const char *req, char *head, size_t cap)
{
    return hs_request(src, req, strlen(req), head, cap);
}

/* Case-insensitive search of a response head for "Name: value-prefix"; non-NULL when found. */
static const char *hs_has_header(const char *head, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = head; *p != '\0'; p++)
        if (strncasecmp(p, needle, n) == 0)
            return p;
    return NULL;
}

/* A request text; owned by the caller (free). */
static char *hs_fmt(const char *method, const char *path, const char *headers, const char *body)
{
    size_t blen = body != NULL ? strlen(body) : 0;
    size_t cap = strlen(path) + strlen(headers) + blen + 256;
    char *s = malloc(cap);
    int n = snprintf(s, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s", method, path, headers);
    if (body != NULL)
        n += snprintf(s + n, cap - (size_t)n, "Content-Length: %zu\r\n\r\n%s", blen, body);
    else
        snprintf(s + n, cap - (size_t)n, "\r\n");
    return s;
}

/* Milliseconds a well-behaved client waits for GET /healthz from 127.0.0.2 (-1: no 200). */
static double hs_healthz_ms(void)
{
    char head[2048];
    double t0 = hs_now_ms();
    int st = hs_requests(GOOD_SRC, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                         head, sizeof(head));
    return st == 200 ? hs_now_ms() - t0 : -1.0;
}

static long hs_rss_kb(void)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%d/status", gh_proc_pid(hs.proc));
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static int hs_n(int n)
{
    int v = (int)(n * hs.scale);
    return v < 1 ? 1 : v;
}

/* One row of the table; fails the case unless ok and gatehouse still serves within 1 s. */
static void hs_row(const char *name, const char *sent, bool ok, const char *answer)
{
    double ms = hs_healthz_ms();
    bool serving = ms >= 0 && ms < 1000.0;
    long rss = hs_rss_kb();
    char srv[32];
    if (serving)
        snprintf(srv, sizeof(srv), "yes (%.0f ms)", ms);
    else
        snprintf(srv, sizeof(srv), "NO");
    printf("| %-20s | %-48s | %-52s | %-4s | %-13s | %6.1f |\n", name, sent, answer,
           ok ? "ok" : "FAIL", srv, (double)rss / 1024.0);
    fflush(stdout);
    ck_assert_msg(ok, "%s: unexpected answer: %s", name, answer);
    ck_assert_msg(serving, "%s: gatehouse no longer serves /healthz within 1 s", name);
}

static const char *hs_src(int i)
{
    static char buf[32];
    snprintf(buf, sizeof(buf), "127.0.0.%d", 10 + i);
    return buf;
}

/* ---- the daemon ---- */

static void hs_setup(void)
{
    struct rlimit rl;
    const char *scale = getenv("HOSTILE_SCALE");

    hs.scale = scale != NULL ? strtod(scale, NULL) : 1.0;
    if (hs.scale <= 0 || hs.scale > 10)
        hs.scale = 1.0;
    /* the floods hold more sockets than the default 1024 descriptors (both ends are ours) */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    hs.fx = gh_fixture_start(&(struct gh_fixture_opts){.tid = TID, .scim_token = SCIM_SECRET});
    hs.idp = hs.fx->idp;
    hs.key = hs.fx->key;
    hs.proc = hs.fx->proc;
    hs.port = (int)strtol(strrchr(gh_proc_url(hs.proc), ':') + 1, NULL, 10);
    hs.token = gh_fixture_token(hs.fx, NULL);
    printf("\n| %-20s | %-48s | %-52s | %-4s | %-13s | %6s |\n", "case", "sent", "answer", "ok",
           "still serving", "RSS MB");
    printf("|%s|%s|%s|%s|%s|%s|\n", "----------------------",
           "--------------------------------------------------",
           "------------------------------------------------------", "------", "---------------",
           "--------");
    fflush(stdout);
}

static void hs_teardown(void)
{
    int rc = gh_fixture_stop(hs.fx);
    hs.fx = NULL;
    hs.proc = NULL;
    free(hs.token);
    ck_assert_int_eq(rc, 0);
}

/* ---- the cases ---- */

/* Issue 9.7: one address holds more half-sent requests than the global connection limit. */
START_TEST(slowloris)
{
    int n = hs_n(1100), opened = 0, good = 0;
    int *fds = calloc((size_t)n, sizeof(int));
    char head[4096], *scim, *authz, answer[128], sent[64];
    char auth[4200];
    double worst = 0;

    for (int i = 0; i < n; i++) {
        fds[i] = hs_connect(hs_src(1), 2000);
        if (fds[i] >= 0 && hs_sends(fds[i], "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "))
            opened++;
    }
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\nContent-Type: application/json\r\n",
             hs.token);
    scim =
        hs_fmt("GET", "/scim/v2/Users?count=1", "Authorization: Bearer " SCIM_SECRET "\r\n", NULL);
    authz =
        hs_fmt("POST", "/v1/authorize", auth, "{\"dataset\":\"payroll\",\"action\":\"protect\"}");
    for (int k = 0; k < 3; k++) {
        const char *req = k == 0   ? "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                          : k == 1 ? scim
                                   : authz;
        double t0 = hs_now_ms();
        int st = hs_requests(GOOD_SRC, req, head, sizeof(head));
        double ms = hs_now_ms() - t0;
        if (st == 200 && ms < 1000.0)
            good++;
        if (ms > worst)
            worst = ms;
    }
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    free(scim);
    free(authz);
    snprintf(sent, sizeof(sent), "%d half-sent requests from one address", opened);
    snprintf(answer, sizeof(answer), "%d/3 healthz+SCIM+authorize, max %.0f ms", good, worst);
    hs_row("slowloris", sent, good == 3, answer);
}
END_TEST

/* Issue 9.7: a client trickling header bytes is cut at the header deadline. */
START_TEST(trickled_headers)
{
    int fd = hs_connect(hs_src(2), 1000);
    double t0 = hs_now_ms(), cut = -1;
    char answer[128];

    ck_assert_int_ge(fd, 0);
    hs_sends(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 60 && cut < 0; i++) { /* one byte every 500 ms, 30 s at most */
        if (!hs_sends(fd, "X") || hs_readable(fd)) {
            cut = hs_now_ms() - t0;
            break;
        }
        hs_nap_ms(500);
    }
    close(fd);
    snprintf(answer, sizeof(answer), cut < 0 ? "still open after 30 s" : "cut after %.1f s",
             cut / 1000.0);
    hs_row("trickled headers", "1 header byte every 500 ms", cut >= 0 && cut < 20000.0, answer);
}
END_TEST

/* Issue 9.8: bodies are not buffered before the credentials are checked. */
START_TEST(bodies_before_auth)
{
    int n = hs_n(400), early = 0, throttled = 0, closed = 0;
    int *fds = calloc((size_t)n, sizeof(int));
    static char chunk[64 * 1024];
    long rss0 = hs_rss_kb(), peak = rss0;
    char head[2048], answer[128], sent[96];

    memset(chunk, 'a', sizeof(chunk));
    for (int i = 0; i < n; i++) {
        const char *path = i % 2 ? "/scim/v2/Users" : "/v1/authorize";
        char req[256];
        snprintf(req, sizeof(req),
                 "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Content-Length: %d\r\n\r\n",
                 path, 1024 * 1024 - 1);
        fds[i] = hs_connect(hs_src(3), 2000);
        if (fds[i] < 0)
            continue;
        hs_sends(fds[i], req);
        for (int k = 0; k < 15 && !hs_readable(fds[i]); k++) /* up to ~960 KiB */
            if (!hs_send(fds[i], chunk, sizeof(chunk)))
                break;
    }
    for (int i = 0; i < n; i++) {
        long rss = hs_rss_kb();
        if (rss > peak)
            peak = rss;
        int st = fds[i] >= 0 ? hs_read_status(fds[i], head, sizeof(head)) : 0;
        /* 401 at once (429 once the address has failed too often), or a connection refused
         * by a per-address limit: no body is kept */
        early += st == 401;
        throttled += st == 429;
        closed += st == 0;
    }
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    snprintf(sent, sizeof(sent), "%d x 1 MiB-1 bodies, no credentials", n);
    snprintf(answer, sizeof(answer), "%d x 401, %d x 429, %d closed, RSS +%.0f MB", early,
             throttled, closed, (double)(peak - rss0) / 1024.0);
    hs_row("bodies before auth", sent,
           early > 0 && early + throttled + closed == n && peak - rss0 < 64 * 1024, answer);
}
END_TEST

/* Issue 9.9: wrong SCIM secrets from one address are throttled; the right one never is. */
START_TEST(secret_guessing)
{
    int n = hs_n(2000), throttled = 0, unauth = 0, good = 0;
    char head[4096], answer[128], sent[64];
    char *bad =
        hs_fmt("GET", "/scim/v2/Users", "Authorization: Bearer wrong-secret-guess\r\n", NULL);
    char *right =
        hs_fmt("GET", "/scim/v2/Users?count=1", "Authorization: Bearer " SCIM_SECRET "\r\n", NULL);
    int fd = -1;
    double worst = 0;

    for (int i = 0; i < n; i++) {
        int st;
        if (fd < 0)
            fd = hs_connect(hs_src(4), 2000);
        if (fd < 0 || !hs_sends(fd, bad)) {
            if (fd >= 0)
                close(fd);
            fd = -1;
            continue;
        }
        st = hs_read_status(fd, head, sizeof(head));
        throttled += st == 429 && hs_has_header(head, "Retry-After:") != NULL;
        unauth += st == 401;
        if (st <= 0 || hs_has_header(head, "Connection: close") != NULL) {
            close(fd);
            fd = -1;
        }
        if (i % 100 == 0) { /* Entra's right secret from elsewhere, and from the same address */
            double t0 = hs_now_ms();
            good += hs_requests(i % 200 ? hs_src(4) : GOOD_SRC, right, head, sizeof(head)) == 200;
            if (hs_now_ms() - t0 > worst)
                worst = hs_now_ms() - t0;
        }
    }
    if (fd >= 0)
        close(fd);
    free(bad);
    free(right);
    snprintf(sent, sizeof(sent), "%d wrong SCIM secrets, keep-alive", n);
    snprintf(answer, sizeof(answer), "%d x 401, %d x 429; right %d/%d, max %.0f ms", unauth,
             throttled, good, (n + 99) / 100, worst);
    hs_row("secret guessing", sent, throttled > 0 && good == (n + 99) / 100 && worst < 1000,
           answer);
}
END_TEST

/* A huge declared body, with the right credentials: refused before it is read. */
START_TEST(body_100mb)
{
    static char chunk[256 * 1024];
    char head[2048], answer[128];
    size_t sent_bytes = 0;
    int st, fd = hs_connect(hs_src(5), 5000);
    long rss0 = hs_rss_kb();

    memset(chunk, ' ', sizeof(chunk));
    ck_assert_int_ge(fd, 0);
    hs_sends(fd, "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\n" SCIM_JSON
                 "Authorization: Bearer " SCIM_SECRET "\r\nContent-Length: 104857600\r\n\r\n");
    while (sent_bytes < (size_t)100 * 1024 * 1024 && !hs_readable(fd)) {
        if (!hs_send(fd, chunk, sizeof(chunk)))
            break;
        sent_bytes += sizeof(chunk);
    }
    st = hs_read_status(fd, head, sizeof(head));
    close(fd);
    snprintf(answer, sizeof(answer), "%d after %.1f MB sent, RSS +%.0f MB", st,
             (double)sent_bytes / 1048576.0, (double)(hs_rss_kb() - rss0) / 1024.0);
    hs_row("100 MB body", "SCIM POST, Content-Length 100 MB", st == 413, answer);
}
END_TEST

/* The same as a chunked upload: no length to refuse up front, cut off past the cap. */
START_TEST(chunked_100mb)
{
    static char chunk[256 * 1024 + 32];
    char head[2048], answer[128];
    size_t sent_bytes = 0, clen;
    int st, fd = hs_connect(hs_src(6), 5000);
    long rss0 = hs_rss_kb();

    clen = (size_t)snprintf(chunk, sizeof(chunk), "40000\r\n");
    memset(chunk + clen, ' ', 256 * 1024);
    memcpy(chunk + clen + 256 * 1024, "\r\n", 2);
    clen += 256 * 1024 + 2;
    ck_assert_int_ge(fd, 0);
    hs_sends(fd, "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\n" SCIM_JSON
                 "Authorization: Bearer " SCIM_SECRET "\r\nTransfer-Encoding: chunked\r\n\r\n");
    while (sent_bytes < (size_t)100 * 1024 * 1024 && !hs_readable(fd)) {
        if (!hs_send(fd, chunk, clen))
            break;
        sent_bytes += 256 * 1024;
    }
    st = hs_read_status(fd, head, sizeof(head));
    close(fd);
    snprintf(answer, sizeof(answer), "%s after %.1f MB sent, RSS +%.0f MB",
             st == 413 ? "413"
             : st == 0 ? "closed"
                       : "other",
             (double)sent_bytes / 1048576.0, (double)(hs_rss_kb() - rss0) / 1024.0);
    hs_row("100 MB chunked body", "SCIM POST, chunked, 100 MB",
           (st == 413 || st == 0) && sent_bytes < (size_t)100 * 1024 * 1024, answer);
}
END_TEST

/* Header floods: one huge header, then thousands of small ones. */
START_TEST(header_flood)
{
    size_t cap = 400 * 1024;
    char *req = malloc(cap), head[2048], answer[128];
    size_t n;
    int st1, st2;

    n = (size_t)snprintf(req, cap, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + n, 'a', 200 * 1024);
    n += 200 * 1024;
    n += (size_t)snprintf(req + n, cap - n, "\r\n\r\n");
    st1 = hs_request(hs_src(7), req, n, head, sizeof(head));
    n = (size_t)snprintf(req, cap, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 10000 && n + 64 < cap; i++)
        n += (size_t)snprintf(req + n, cap - n, "X-H%d: v\r\n", i);
    n += (size_t)snprintf(req + n, cap - n, "\r\n");
    st2 = hs_request(hs_src(7), req, n, head, sizeof(head));
    free(req);
    snprintf(answer, sizeof(answer), "%d / %d", st1, st2);
    hs_row("header flood", "200 KiB header; 10,000 headers",
           st1 >= 400 && st1 < 500 && st2 >= 400 && st2 < 500, answer);
}
END_TEST

/* Deeply nested JSON on SCIM and on /v1/authorize. */
START_TEST(nested_json)
{
    size_t depth = 200000;
    char *body = malloc(depth + 1), head[2048], answer[128], auth[4200];
    char *a, *b;
    int st1, st2;

    memset(body, '[', depth);
    body[depth] = '\0';
    a = hs_fmt("POST", "/scim/v2/Users", SCIM_JSON "Authorization: Bearer " SCIM_SECRET "\r\n",
               body);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\nContent-Type: application/json\r\n",
             hs.token);
    b = hs_fmt("POST", "/v1/authorize", auth, body);
    st1 = hs_requests(hs_src(8), a, head, sizeof(head));
    st2 = hs_requests(hs_src(8), b, head, sizeof(head));
    free(a);
    free(b);
    free(body);
    snprintf(answer, sizeof(answer), "SCIM %d, authorize %d", st1, st2);
    hs_row("nested JSON", "200,000 x '[' as a body", st1 == 400 && (st2 == 400 || st2 == 413),
           answer);
}
END_TEST

/* SQL meta-characters as data: stored and matched as text, nothing else. */
START_TEST(sql_metacharacters)
{
    char head[4096], answer[128];
    const char *auth = SCIM_JSON "Authorization: Bearer " SCIM_SECRET "\r\n";
    char *create =
        hs_fmt("POST", "/scim/v2/Users", auth,
               "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
               "\"userName\":\"o'brien\\\"; DROP TABLE scim_users;--\",\"active\":true}");
    char *find = hs_fmt("GET",
                        "/scim/v2/Users?filter=userName%20eq%20%22o'brien%5C%22;%20DROP%20TABLE%"
                        "20scim_users;--%22",
                        auth, NULL);
    char *inject = hs_fmt(
        "GET", "/scim/v2/Users?filter=userName%20eq%20%22x%22%20or%20%271%27=%271", auth, NULL);
    int st1 = hs_requests(hs_src(9), create, head, sizeof(head));
    int st2 = hs_requests(hs_src(9), find, head, sizeof(head));
    int st3 = hs_requests(hs_src(9), inject, head, sizeof(head));
    struct gh_http_resp r;
    char url[256];
    bool found;

    snprintf(url, sizeof(url), "%s/scim/v2/Users?filter=userName%%20sw%%20%%22o'brien%%22",
             gh_proc_url(hs.proc));
    ck_assert_int_eq(gh_http("GET", url,
                             (const char *const[]){"Authorization: Bearer " SCIM_SECRET, NULL},
                             NULL, NULL, &r),
                     0);
    found = r.status == 200 && strstr(r.body, "\"totalResults\":1") != NULL;
    gh_http_resp_free(&r);
    free(create);
    free(find);
    free(inject);
    snprintf(answer, sizeof(answer), "create %d, exact filter %d, injection %d; %s", st1, st2, st3,
             found ? "stored as text" : "NOT FOUND");
    hs_row("SQL meta-characters", "userName o'brien\"; DROP TABLE...;--",
           st1 == 201 && st2 == 200 && st3 == 400 && found, answer);
}
END_TEST

/* Path traversal and encoded dots never reach another route or a file. */
START_TEST(path_traversal)
{
    static const char *const paths[] = {
        "/scim/v2/Users/../../../etc/passwd", "/scim/v2/Users/%2e%2e/%2e%2e/admin/v1/access-groups",
        "/scim/v2/..%2f..%2fadmin%2fv1%2faccess-groups", "/v1/ext_authz/../../etc/passwd",
        "/admin/v1/access-groups/..%2f..%2fscim%2fv2%2fUsers"};
    char head[4096], answer[128] = "";
    bool ok = true;
    size_t used = 0;

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char *req = hs_fmt("GET", paths[i], "", NULL);
        int st = hs_requests(hs_src(10), req, head, sizeof(head));
        free(req);
        /* no credentials were sent: anything but an error would be a leak */
        ok = ok && st >= 400 && st < 500;
        used += (size_t)snprintf(answer + used, sizeof(answer) - used, "%s%d", i ? " " : "", st);
    }
    hs_row("path traversal", "../, %2e%2e, %2f under each route", ok, answer);
}
END_TEST

/* Tokens that must never pass: alg none, HS256 keyed with the public key, keys in headers,
 * kid as a path, and one byte past the token cap (GH_CAP_JWT). */
START_TEST(hostile_tokens)
{
    cJSON *claims = gh_mint_claims(gh_idp_issuer(hs.idp), GH_IDP_AUDIENCE, TID);
    char *payload = cJSON_PrintUnformatted(claims);
    char *pem = gh_mint_key_public_pem(hs.key);
    cJSON *jwk_tree = gh_mint_key_jwk(hs.key);
    char *jwk = cJSON_PrintUnformatted(jwk_tree);
    char *unsigned_tok, *h64, *p64;
    char hdr[2048], answer[128] = "";
    char *toks[8];
    size_t nt = 0, used = 0;
    bool ok = true;

    h64 = gh_mint_b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}", 26);
    p64 = gh_mint_b64url(payload, strlen(payload));
    unsigned_tok = malloc(strlen(h64) + strlen(p64) + 3);
    snprintf(unsigned_tok, strlen(h64) + strlen(p64) + 3, "%s.%s.", h64, p64);
    free(h64);
    free(p64);
    toks[nt++] = unsigned_tok;
    toks[nt++] = gh_mint_sign_hmac(
        pem, strlen(pem), "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"kid-one\"}", payload);
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"kid-one\",\"jwk\":%s}", jwk);
    toks[nt++] = gh_mint_sign(hs.key, "RS256", hdr, payload);
    toks[nt++] = gh_mint_sign(
        hs.key, "RS256", "{\"alg\":\"RS256\",\"kid\":\"kid-one\",\"jku\":\"http://127.0.0.1:1/k\"}",
        payload);
    toks[nt++] = gh_mint_sign(
        hs.key, "RS256", "{\"alg\":\"RS256\",\"kid\":\"kid-one\",\"x5u\":\"http://127.0.0.1:1/c\"}",
        payload);
    toks[nt++] = gh_mint_sign(
        hs.key, "RS256", "{\"alg\":\"RS256\",\"kid\":\"kid-one\",\"x5c\":[\"MIIB\"]}", payload);
    toks[nt++] =
        gh_mint_sign(hs.key, "RS256", "{\"alg\":\"RS256\",\"kid\":\"../../../dev/null\"}", payload);
    toks[nt] = malloc(GH_CAP_JWT + 2);
    memset(toks[nt], 'a', GH_CAP_JWT + 1);
    toks[nt][GH_CAP_JWT + 1] = '\0';
    nt++;
    for (size_t i = 0; i < nt; i++) {
        size_t cap = strlen(toks[i]) + 512;
        char *auth = malloc(cap), *req, head[4096];
        int st;
        snprintf(auth, cap, "Authorization: Bearer %s\r\nContent-Type: application/json\r\n",
                 toks[i]);
        req = hs_fmt("POST", "/v1/authorize", auth,
                     "{\"dataset\":\"payroll\",\"action\":\"protect\"}");
        st = hs_requests(hs_src(11), req, head, sizeof(head));
        ok = ok && st == 401 && hs_has_header(head, "WWW-Authenticate: Bearer") != NULL;
        used += (size_t)snprintf(answer + used, sizeof(answer) - used, "%s%d", i ? " " : "", st);
        free(req);
        free(auth);
        free(toks[i]);
    }
    cJSON_Delete(claims);
    cJSON_Delete(jwk_tree);
    free(payload);
    free(pem);
    free(jwk);
    hs_row("hostile tokens", "none, HS256(pub), jwk, jku, x5u, x5c, kid, cap+1", ok, answer);
}
END_TEST

/* JSON that means two things, NULs and invalid UTF-8 are refused. */
START_TEST(ambiguous_json)
{
    static const char *const bodies[] = {
        "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"dup1\","
        "\"active\":true,\"active\":false}",
        "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":"
        "\"nul\\u0000x\"}",
        "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"\xc0\xafx\"}",
        "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":"
        "\"\xed\xa0\x80\"}",
        "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"\xf8\x88\"}",
    };
    char head[4096], answer[128] = "", auth[4200];
    bool ok = true;
    size_t used = 0;
    char *req;
    int st;

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        req = hs_fmt("POST", "/scim/v2/Users",
                     SCIM_JSON "Authorization: Bearer " SCIM_SECRET "\r\n", bodies[i]);
        st = hs_requests(hs_src(12), req, head, sizeof(head));
        ok = ok && st == 400;
        used += (size_t)snprintf(answer + used, sizeof(answer) - used, "%s%d", i ? " " : "", st);
        free(req);
    }
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\nContent-Type: application/json\r\n",
             hs.token);
    req = hs_fmt("POST", "/v1/authorize", auth,
                 "{\"dataset\":\"directory\\u0000evil\",\"action\":\"protect\"}");
    st = hs_requests(hs_src(12), req, head, sizeof(head));
    free(req);
    ok = ok && st == 400;
    snprintf(answer + used, sizeof(answer) - used, "; authorize %d", st);
    hs_row("ambiguous JSON", "dup keys, \\u0000, overlong, surrogate, F8", ok, answer);
}
END_TEST

static Suite *hostile_suite(void)
{
    Suite *s = suite_create("hostile");
    TCase *tc = tcase_create("cases");
    tcase_add_unchecked_fixture(tc, hs_setup, hs_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, slowloris);
    tcase_add_test(tc, trickled_headers);
    tcase_add_test(tc, bodies_before_auth);
    tcase_add_test(tc, secret_guessing);
    tcase_add_test(tc, body_100mb);
    tcase_add_test(tc, chunked_100mb);
    tcase_add_test(tc, header_flood);
    tcase_add_test(tc, nested_json);
    tcase_add_test(tc, sql_metacharacters);
    tcase_add_test(tc, path_traversal);
    tcase_add_test(tc, hostile_tokens);
    tcase_add_test(tc, ambiguous_json);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(hostile_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
