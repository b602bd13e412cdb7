/*
 * test_http_limits.c - the real binary under hostile connection patterns (issue 9, items 7 and
 * 8): half-open connections past the global limit must leave room for other clients, a client
 * trickling its headers or body is cut at a fixed deadline, one address is held to its own
 * connection limit; credentials are checked when the headers are complete (401 before any body
 * is read), each route has its own body cap, the bytes of bodies in flight are capped (503), and
 * unauthenticated bodies cost the daemon no memory.
 * Every network operation here is on loopback with a bounded wait.
 */
#define _GNU_SOURCE /* strcasestr */
#include "tests/support/fixture.h"
#include "tests/support/idp.h"
#include "tests/support/mint.h"
#include "tests/support/support.h"

#include <arpa/inet.h>
#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TID         "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define ADMIN_TOKEN "e2e-admin-secret-0123456789abcdef"
#define SCIM_TOKEN  "e2e-scim-secret-0123456789abcdef"
#define SCIM_AUTH   "Authorization: Bearer " SCIM_TOKEN
#define SCIM_CT     "Content-Type: application/scim+json"
#define SCIM_ERROR  "urn:ietf:params:scim:api:messages:2.0:Error"

struct lfx {
    struct gh_fixture *f;
    struct gh_idp *idp; /* these three are borrowed from f */
    struct gh_mint_key *key;
    struct gh_proc *p;
};

/* The daemon with SCIM, admin and token validation configured, plus `extra` settings. */
static void lfx_start(struct lfx *fx, const char *const *extra)
{
    fx->f = gh_fixture_start(&(struct gh_fixture_opts){
        .tid = TID, .scim_token = SCIM_TOKEN, .admin_token = ADMIN_TOKEN, .extra = extra});
    fx->idp = fx->f->idp;
    fx->key = fx->f->key;
    fx->p = fx->f->proc;
}

static void lfx_stop(struct lfx *fx)
{
    int rc = gh_fixture_stop(fx->f);
    ck_assert_msg(rc == 0, "gatehouse exited with %d", rc);
}

/* A valid access token (caller frees). */
static char *lfx_token(struct lfx *fx)
{
    return gh_fixture_token(fx->f, NULL);
}

static const char *lfx_url(struct lfx *fx, const char *path)
{
    static char url[8][256];
    static int k;
    char *u = url[k++ % 8];
    snprintf(u, 256, "%s%s", gh_proc_url(fx->p), path);
    return u;
}

static int lfx_port(struct lfx *fx)
{
    return (int)strtol(strrchr(gh_proc_url(fx->p), ':') + 1, NULL, 10);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A TCP connection to the daemon from local address `from` (e.g. "127.0.0.1"); -1 when the
 * connect fails. */
static int raw_connect(struct lfx *fx, const char *from)
{
    return gh_tcp_connect(from, lfx_port(fx), 0);
}

static void send_all(int fd, const char *s)
{
    ck_assert_int_eq(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Read what arrives within timeout_ms (until the peer closes or the headers and a body of the
 * announced length are in); returns the byte count, -1 on a reset, and NUL-terminates buf. */
static ssize_t read_reply(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t got = 0;
    double end = now_s() + timeout_ms / 1000.0;
    struct pollfd pfd = {fd, POLLIN, 0};

    buf[0] = '\0';
    while (got + 1 < cap) {
        int left = (int)((end - now_s()) * 1000);
        ssize_t n;
        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            break;
        n = recv(fd, buf + got, cap - 1 - got, 0);
        if (n < 0 && got == 0)
            return -1;
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        const char *eoh = strstr(buf, "\r\n\r\n");
        const char *cl = strcasestr(buf, "Content-Length: ");
        if (eoh != NULL && cl != NULL &&
            (size_t)(buf + got - (eoh + 4)) >= strtoul(cl + 16, NULL, 10))
            break;
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

/* True when the server closed fd (EOF or reset) within timeout_ms. */
static bool closed_within(int fd, int timeout_ms)
{
    char buf[4096];
    double end = now_s() + timeout_ms / 1000.0;
    struct pollfd pfd = {fd, POLLIN, 0};

    while (now_s() < end) {
        int left = (int)((end - now_s()) * 1000);
        if (poll(&pfd, 1, left > 0 ? left : 1) <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return true;
    }
    return false;
}

static long rss_kb(int pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f != NULL)
        fclose(f);
    return kb;
}

/* One request from 127.0.0.2 must be answered with `status` within a second. */
static void answered_quickly(const char *method, const char *url, const char *const *hdrs,
                             const char *body, long status)
{
    struct gh_http_resp r;
    double t0 = now_s(), dt;
    ck_assert_int_eq(gh_http_from("127.0.0.2", method, url, hdrs, body, NULL, &r), 0);
    dt = now_s() - t0;
    ck_assert_msg(r.status == status, "%s %s: %ld %s", method, url, r.status, r.body);
    ck_assert_msg(dt < 1.0, "%s %s took %.2f s", method, url, dt);
    gh_http_resp_free(&r);
}

/* Item 7: more half-open connections than the global limit from 127.0.0.1; another address is
 * still served at once, on every route family. */
START_TEST(half_open_flood_leaves_room)
{
    const char *extra[] = {"GATEHOUSE_MAX_CONNECTIONS=64", "GATEHOUSE_THREADS=2", NULL};
    struct lfx fx;
    enum { FLOOD = 100 };
    int fds[FLOOD], opened = 0;
    char auth[8192];
    const char *scim_hdrs[] = {SCIM_AUTH, NULL};
    const char *authz_hdrs[] = {auth, "Content-Type: application/json", NULL};
    char *tok;

    lfx_start(&fx, extra);
    tok = lfx_token(&fx);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    /* the key set is loaded before the flood, so the decision below needs no fetch */
    answered_quickly("POST", lfx_url(&fx, "/v1/authorize"), authz_hdrs,
                     "{\"dataset\":\"d\",\"action\":\"protect\"}", 200);
    for (int i = 0; i < FLOOD; i++) {
        fds[i] = raw_connect(&fx, "127.0.0.1");
        if (fds[i] < 0)
            continue;
        opened++;
        /* a request line and one header, never finished */
        send(fds[i], "GET /healthz HTTP/1.1\r\nHost: x\r\n", 32, MSG_NOSIGNAL);
    }
    ck_assert_int_ge(opened, 64);
    usleep(300 * 1000);
    answered_quickly("GET", lfx_url(&fx, "/healthz"), NULL, NULL, 200);
    answered_quickly("GET", lfx_url(&fx, "/scim/v2/Users"), scim_hdrs, NULL, 200);
    answered_quickly("POST", lfx_url(&fx, "/v1/authorize"), authz_hdrs,
                     "{\"dataset\":\"d\",\"action\":\"protect\"}", 200);
    for (int i = 0; i < FLOOD; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(tok);
    lfx_stop(&fx);
}
END_TEST

/* Item 7: a client trickling header bytes (each resets MHD's idle timer) is cut at the header
 * deadline; one trickling an authenticated body at the body deadline. */
START_TEST(trickle_cut_at_deadlines)
{
    const char *extra[] = {"GATEHOUSE_HEADER_TIMEOUT=2", "GATEHOUSE_BODY_TIMEOUT=2",
                           "GATEHOUSE_CONN_TIMEOUT=30", NULL};
    struct lfx fx;
    const char *head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    const char *post = "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\n" SCIM_AUTH "\r\n" SCIM_CT
                       "\r\nContent-Length: 1000\r\n\r\n{";
    double t0;
    bool cut = false;
    int fd;

    lfx_start(&fx, extra);
    for (int pass = 0; pass < 2; pass++) {
        fd = raw_connect(&fx, "127.0.0.1");
        ck_assert_int_ge(fd, 0);
        send_all(fd, pass == 0 ? head : post);
        t0 = now_s();
        cut = false;
        /* a byte every 200 ms, for at most 6 s */
        while (now_s() - t0 < 6.0) {
            if (send(fd, " ", 1, MSG_NOSIGNAL) != 1 || closed_within(fd, 200)) {
                cut = true;
                break;
            }
        }
        ck_assert_msg(cut, "pass %d: a trickling client was not cut", pass);
        ck_assert_msg(now_s() - t0 < 3.5, "pass %d: cut after %.2f s", pass, now_s() - t0);
        close(fd);
    }
    answered_quickly("GET", lfx_url(&fx, "/healthz"), NULL, NULL, 200);
    lfx_stop(&fx);
}
END_TEST

/* Item 7: one address may hold GATEHOUSE_MAX_CONNECTIONS_PER_IP connections; others are not
 * affected. */
START_TEST(per_address_limit)
{
    const char *extra[] = {"GATEHOUSE_MAX_CONNECTIONS_PER_IP=4", NULL};
    struct lfx fx;
    int fds[4], extra_fd;

    lfx_start(&fx, extra);
    /* the start-up probe's connection (from 127.0.0.1 too) is closed, but let the daemon see it */
    usleep(300 * 1000);
    for (int i = 0; i < 4; i++) {
        fds[i] = raw_connect(&fx, "127.0.0.1");
        ck_assert_int_ge(fds[i], 0);
    }
    usleep(200 * 1000);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(!closed_within(fds[i], 10), "connection %d of 4 was refused", i);
    extra_fd = raw_connect(&fx, "127.0.0.1");
    if (extra_fd >= 0) {
        ck_assert_msg(closed_within(extra_fd, 2000), "a fifth connection was kept");
        close(extra_fd);
    }
    answered_quickly("GET", lfx_url(&fx, "/healthz"), NULL, NULL, 200);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    lfx_stop(&fx);
}
END_TEST

/* Item 8: headers announcing a large body, then nothing: the 401 comes at once, in each route
 * family's own form. */
START_TEST(unauthorized_before_body)
{
    static const struct {
        const char *path, *auth, *expect_body, *expect_header;
    } cases[] = {
        {"/scim/v2/Users", "", SCIM_ERROR, NULL},
        {"/scim/v2/Users", "Authorization: Bearer wrong-wrong-wrong-wrong\r\n", SCIM_ERROR, NULL},
        /* RFC 6750 §3.1: no credentials, no error code */
        {"/v1/authorize", "", "\"unauthorized\"",
         "WWW-Authenticate: Bearer realm=\"gatehouse\"\r\n"},
        {"/v1/authorize", "Authorization: Bearer a.b.c\r\n", "invalid_token",
         "WWW-Authenticate: Bearer"},
        {"/v1/ext_authz/x", "", "\"unauthorized\"",
         "WWW-Authenticate: Bearer realm=\"gatehouse\"\r\n"},
        {"/admin/v1/access-groups", "", "\"error\"", NULL},
    };
    struct lfx fx;
    char req[512], buf[8192];

    lfx_start(&fx, NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int fd = raw_connect(&fx, "127.0.0.1");
        double t0 = now_s();
        ck_assert_int_ge(fd, 0);
        snprintf(req, sizeof(req),
                 "POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\n"
                 "Content-Length: 1048575\r\n\r\n",
                 cases[i].path, cases[i].auth);
        send_all(fd, req);
        ck_assert_int_gt(read_reply(fd, buf, sizeof(buf), 3000), 0);
        ck_assert_msg(now_s() - t0 < 1.0, "case %zu: the answer took %.2f s", i, now_s() - t0);
        ck_assert_msg(strncmp(buf, "HTTP/1.1 401", 12) == 0, "case %zu: %.200s", i, buf);
        ck_assert_msg(strstr(buf, cases[i].expect_body) != NULL, "case %zu: %.400s", i, buf);
        if (cases[i].expect_header != NULL)
            ck_assert_msg(strstr(buf, cases[i].expect_header) != NULL, "case %zu: %.400s", i, buf);
        close(fd);
    }
    lfx_stop(&fx);
}
END_TEST

/* Item 8: answering early is for refusals only; an authorized request (token verified before
 * its body) is answered after its body and keeps the connection alive. */
START_TEST(authorized_requests_keep_alive)
{
    struct lfx fx;
    char *tok, *req, buf[8192];
    const char *body = "{\"dataset\":\"d\",\"action\":\"protect\"}";
    size_t cap = 9000;
    int fd;

    lfx_start(&fx, NULL);
    tok = lfx_token(&fx);
    req = malloc(cap);
    snprintf(req, cap,
             "POST /v1/authorize HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             tok, strlen(body), body);
    fd = raw_connect(&fx, "127.0.0.1");
    ck_assert_int_ge(fd, 0);
    for (int i = 0; i < 3; i++) {
        send_all(fd, req);
        ck_assert_int_gt(read_reply(fd, buf, sizeof(buf), 3000), 0);
        ck_assert_msg(strncmp(buf, "HTTP/1.1 200", 12) == 0, "request %d: %.200s", i, buf);
        ck_assert_msg(strcasestr(buf, "Connection: close") == NULL, "request %d: %.300s", i, buf);
    }
    close(fd);
    free(req);
    free(tok);
    lfx_stop(&fx);
}
END_TEST

/* The credential check is the daemon's work, not the client's: a token whose key rolled over
 * makes authz_auth wait for a JWKS refresh (up to twice GATEHOUSE_HTTP_TIMEOUT), and the header
 * deadline must not cut the connection while it waits (it did: the client got no answer). */
START_TEST(credential_check_not_cut_by_header_deadline)
{
    const char *extra[] = {"GATEHOUSE_HEADER_TIMEOUT=1", "GATEHOUSE_JWKS_COOLDOWN=0", NULL};
    const char *body = "{\"dataset\":\"d\",\"action\":\"protect\"}";
    struct gh_mint_key *k2 = gh_mint_key_load("rsa2", "kid-two");
    struct gh_mint_key *keys[2];
    struct gh_http_resp r;
    char auth[8192], *tok;
    const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
    cJSON *c;
    struct lfx fx;
    double t0;

    lfx_start(&fx, extra);
    keys[0] = fx.key;
    keys[1] = k2;
    /* the new key appears at the IdP, which now answers in 2.5 s */
    gh_idp_set_keys(fx.idp, keys, 2);
    gh_idp_set_delay_ms(fx.idp, 2500);
    c = gh_mint_claims(gh_idp_issuer(fx.idp), GH_IDP_AUDIENCE, TID);
    tok = gh_mint_jwt(k2, "RS256", c);
    cJSON_Delete(c);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    t0 = now_s();
    ck_assert_int_eq(gh_http("POST", lfx_url(&fx, "/v1/authorize"), hdrs, body, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "status %ld after %.1f s: %s", r.status, now_s() - t0,
                  r.body != NULL ? r.body : "");
    gh_http_resp_free(&r);
    gh_idp_set_delay_ms(fx.idp, 0);
    free(tok);
    gh_mint_key_free(k2);
    lfx_stop(&fx);
}
END_TEST

/* Item 8: 200 unauthenticated connections, each announcing 1 MiB - 1 and sending half of it,
 * must not grow the daemon's memory (before: every byte was buffered, ~100 MB here). */
START_TEST(unauthenticated_bodies_cost_no_memory)
{
    static const char *const paths[] = {"/scim/v2/Users", "/v1/authorize", "/v1/ext_authz/x",
                                        "/admin/v1/access-groups"};
    enum { CONNS = 200, PART = 512 * 1024, CHUNK = 64 * 1024 };
    struct lfx fx;
    int fds[CONNS];
    size_t sent[CONNS];
    char *chunk = malloc(CHUNK);
    long before, after;
    double t0;
    bool busy = true;

    lfx_start(&fx, NULL);
    memset(chunk, ' ', CHUNK);
    before = rss_kb(gh_proc_pid(fx.p));
    for (int i = 0; i < CONNS; i++) {
        char req[512];
        fds[i] = raw_connect(&fx, "127.0.0.1");
        ck_assert_int_ge(fds[i], 0);
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
        snprintf(req, sizeof(req),
                 "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Content-Length: 1048575\r\n\r\n",
                 paths[i % 4]);
        sent[i] = 0;
        if (send(fds[i], req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
            sent[i] = PART; /* already refused */
    }
    /* round-robin the bodies, bounded to 20 s */
    t0 = now_s();
    while (busy && now_s() - t0 < 20.0) {
        busy = false;
        for (int i = 0; i < CONNS; i++) {
            ssize_t n;
            if (sent[i] >= PART)
                continue;
            n = send(fds[i], chunk, CHUNK < PART - sent[i] ? CHUNK : PART - sent[i], MSG_NOSIGNAL);
            if (n > 0)
                sent[i] += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                sent[i] = PART; /* the server closed it */
            if (sent[i] < PART)
                busy = true;
        }
        if (busy)
            usleep(2000);
    }
    usleep(500 * 1000);
    after = rss_kb(gh_proc_pid(fx.p));
    ck_assert_int_gt(before, 0);
    ck_assert_msg(after - before < 64 * 1024, "RSS grew from %ld kB to %ld kB", before, after);
    fprintf(stderr, "limits: RSS %ld kB -> %ld kB with %d unauthenticated bodies\n", before, after,
            CONNS);
    for (int i = 0; i < CONNS; i++)
        close(fds[i]);
    free(chunk);
    answered_quickly("GET", lfx_url(&fx, "/healthz"), NULL, NULL, 200);
    lfx_stop(&fx);
}
END_TEST

/* A JSON document of about `size` bytes: `prefix` + spaces + `suffix` (caller frees). */
static char *padded(const char *prefix, size_t size, const char *suffix)
{
    size_t a = strlen(prefix), c = strlen(suffix);
    char *s = malloc(size + a + c + 1);
    memcpy(s, prefix, a);
    memset(s + a, ' ', size);
    memcpy(s + a + size, suffix, c + 1);
    return s;
}

/* Item 8: each route's own body cap, answered in its own form; authorized large SCIM bodies
 * still work. */
START_TEST(per_route_body_caps)
{
    const char *extra[] = {"GATEHOUSE_MAX_BODY=1048576", NULL};
    struct lfx fx;
    struct gh_http_resp r;
    char auth[8192];
    const char *authz_hdrs[] = {auth, "Content-Type: application/json", NULL};
    const char *scim_hdrs[] = {SCIM_AUTH, SCIM_CT, NULL};
    const char *admin_hdrs[] = {"Authorization: Bearer " ADMIN_TOKEN,
                                "Content-Type: application/json", NULL};
    char *tok, *body;

    lfx_start(&fx, extra);
    tok = lfx_token(&fx);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);

    /* /v1/authorize: kilobytes */
    body = padded("{\"dataset\":\"d\",\"action\":\"protect\"", 100 * 1024, "}");
    ck_assert_int_eq(gh_http("POST", lfx_url(&fx, "/v1/authorize"), authz_hdrs, body, NULL, &r), 0);
    ck_assert_msg(r.status == 413, "authorize: %ld %s", r.status, r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "\"error\":\"too_large\""));
    gh_http_resp_free(&r);
    free(body);
    body = padded("{\"dataset\":\"d\",\"action\":\"protect\"", 8 * 1024, "}");
    ck_assert_int_eq(gh_http("POST", lfx_url(&fx, "/v1/authorize"), authz_hdrs, body, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "authorize: %ld %s", r.status, r.body);
    gh_http_resp_free(&r);
    free(body);

    /* admin: modest */
    body = padded("{\"name\":\"x\"", 100 * 1024, "}");
    ck_assert_int_eq(
        gh_http("POST", lfx_url(&fx, "/admin/v1/access-groups"), admin_hdrs, body, NULL, &r), 0);
    ck_assert_msg(r.status == 413, "admin: %ld %s", r.status, r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "\"error\":\"too_large\""));
    gh_http_resp_free(&r);
    free(body);

    /* SCIM: GATEHOUSE_MAX_BODY; a large authorized body works, a larger one is a SCIM 413 */
    body = padded("{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
                  "\"userName\":\"big@contoso.example\",",
                  900 * 1024, "\"active\":true}");
    ck_assert_int_eq(gh_http("POST", lfx_url(&fx, "/scim/v2/Users"), scim_hdrs, body, NULL, &r), 0);
    ck_assert_msg(r.status == 201, "scim: %ld %.300s", r.status, r.body);
    gh_http_resp_free(&r);
    free(body);
    body = padded("{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],", 1100 * 1024,
                  "\"userName\":\"bigger@contoso.example\"}");
    ck_assert_int_eq(gh_http("POST", lfx_url(&fx, "/scim/v2/Users"), scim_hdrs, body, NULL, &r), 0);
    ck_assert_msg(r.status == 413, "scim: %ld %.300s", r.status, r.body);
    ck_assert_ptr_nonnull(strstr(r.body, SCIM_ERROR));
    gh_http_resp_free(&r);
    free(body);
    free(tok);
    lfx_stop(&fx);
}
END_TEST

/* Item 8: past GATEHOUSE_MAX_BODY_INFLIGHT bytes of bodies being received, a new large body is
 * refused at once with 503 and Retry-After, in the route's form. */
START_TEST(bodies_in_flight_capped)
{
    const char *extra[] = {"GATEHOUSE_MAX_BODY=1048576", "GATEHOUSE_MAX_BODY_INFLIGHT=1048576",
                           NULL};
    struct lfx fx;
    char req[512], buf[8192];
    int a, b;

    lfx_start(&fx, extra);
    snprintf(req, sizeof(req),
             "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\n" SCIM_AUTH "\r\n" SCIM_CT
             "\r\nContent-Length: %d\r\n\r\n{",
             700 * 1024);
    a = raw_connect(&fx, "127.0.0.1");
    ck_assert_int_ge(a, 0);
    send_all(a, req);
    usleep(200 * 1000);
    b = raw_connect(&fx, "127.0.0.1");
    ck_assert_int_ge(b, 0);
    send_all(b, req);
    ck_assert_int_gt(read_reply(b, buf, sizeof(buf), 2000), 0);
    ck_assert_msg(strncmp(buf, "HTTP/1.1 503", 12) == 0, "%.200s", buf);
    ck_assert_ptr_nonnull(strcasestr(buf, "Retry-After: "));
    /* one Retry-After (RFC 9110 §10.2.3 defines one value): the SCIM renderer's own 503 value
     * must not be added next to the budget's */
    ck_assert_msg(strcasestr(strcasestr(buf, "Retry-After: ") + 1, "Retry-After: ") == NULL,
                  "%.400s", buf);
    ck_assert_ptr_nonnull(strstr(buf, SCIM_ERROR));
    close(b);
    close(a);
    /* once the first is gone, large bodies are taken again */
    usleep(200 * 1000);
    b = raw_connect(&fx, "127.0.0.1");
    send_all(b, req);
    ck_assert_int_eq(read_reply(b, buf, sizeof(buf), 300), 0);
    close(b);
    lfx_stop(&fx);
}
END_TEST

Suite *limits_suite(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, half_open_flood_leaves_room);
    tcase_add_test(tc, trickle_cut_at_deadlines);
    tcase_add_test(tc, per_address_limit);
    tcase_add_test(tc, unauthorized_before_body);
    tcase_add_test(tc, authorized_requests_keep_alive);
    tcase_add_test(tc, credential_check_not_cut_by_header_deadline);
    tcase_add_test(tc, unauthenticated_bodies_cost_no_memory);
    tcase_add_test(tc, per_route_body_caps);
    tcase_add_test(tc, bodies_in_flight_capped);
    suite_add_tcase(s, tc);
    return s;
}
