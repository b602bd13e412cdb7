/*
 * test_daemon.c - the real binary: ops endpoints, routing errors, limits (body, headers,
 * connections, idle timeout), TLS, command line, bad configuration, graceful shutdown, and logs
 * that never carry secrets.
 */
#include "tests/support/support.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char *url_of(struct gh_proc *p, const char *path)
{
    static char url[256];
    snprintf(url, sizeof(url), "%s%s", gh_proc_url(p), path);
    return url;
}

static int port_of(struct gh_proc *p)
{
    const char *u = strrchr(gh_proc_url(p), ':');
    return (int)strtol(u + 1, NULL, 10);
}

static int connect_raw(int port)
{
    int fd = gh_tcp_connect("127.0.0.1", port, 0);
    ck_assert_int_ge(fd, 0);
    return fd;
}

/* Read until the peer closes or timeout_ms passes; returns bytes read (>= 0) into buf. */
static ssize_t read_all(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t got = 0;
    struct pollfd pfd = {fd, POLLIN, 0};
    while (got + 1 < cap && poll(&pfd, 1, timeout_ms) > 0) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (strstr(buf, "\r\n\r\n") != NULL && strstr(buf, "Content-Length: 0") == NULL) {
            buf[got] = '\0';
            const char *cl = strstr(buf, "Content-Length: ");
            const char *body = strstr(buf, "\r\n\r\n") + 4;
            if (cl != NULL && (size_t)(buf + got - body) >= strtoul(cl + 16, NULL, 10))
                break;
        }
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

START_TEST(ops_endpoints)
{
    const char *env[] = {NULL};
    struct gh_proc *p = gh_proc_start(env, true);
    struct gh_http_resp r;
    char h[256];

    ck_assert_int_eq(gh_http("GET", url_of(p, "/healthz"), NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "{\"status\":\"ok\"}");
    ck_assert_str_eq(gh_http_resp_header(&r, "Content-Type", h, sizeof(h)), "application/json");
    gh_http_resp_free(&r);

    ck_assert_int_eq(gh_http("HEAD", url_of(p, "/healthz"), NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    gh_http_resp_free(&r);

    ck_assert_int_eq(gh_http("GET", url_of(p, "/readyz"), NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"store\":\"ok\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"status\":\"ready\""));
    gh_http_resp_free(&r);

    /* a request is counted when the server has finished it, which may be just after the
     * client has its reply: poll (bounded) for the two /healthz requests */
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(gh_http("GET", url_of(p, "/metrics"), NULL, NULL, NULL, &r), 0);
        if (strstr(r.body, "gatehouse_http_requests_total{route=\"healthz\",code=\"200\"} 2") !=
            NULL)
            break;
        gh_http_resp_free(&r);
        usleep(10000);
    }
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(gh_http_resp_header(&r, "Content-Type", h, sizeof(h)),
                     "text/plain; version=0.0.4; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(r.body, "gatehouse_build_info{version=\""));
    ck_assert_ptr_nonnull(
        strstr(r.body, "gatehouse_http_requests_total{route=\"healthz\",code=\"200\"} 2"));
    ck_assert_ptr_nonnull(
        strstr(r.body, "gatehouse_http_request_duration_seconds_bucket{route=\"readyz\""));
    gh_http_resp_free(&r);
    ck_assert_int_eq(gh_proc_stop(p), 0);
}
END_TEST

START_TEST(routing_errors)
{
    const char *env[] = {NULL};
    struct gh_proc *p = gh_proc_start(env, true);
    struct gh_http_resp r;
    char h[256];

    ck_assert_int_eq(gh_http("GET", url_of(p, "/nowhere"), NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 404);
    ck_assert_ptr_nonnull(strstr(r.body, "\"error\":\"not_found\""));
    gh_http_resp_free(&r);

    ck_assert_int_eq(gh_http("POST", url_of(p, "/healthz"), NULL, "{}", NULL, &r), 0);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(gh_http_resp_header(&r, "Allow", h, sizeof(h)), "GET, HEAD");
    gh_http_resp_free(&r);
    ck_assert_int_eq(gh_proc_stop(p), 0);
}
END_TEST

START_TEST(body_cap)
{
    const char *env[] = {"GATEHOUSE_MAX_BODY=2048", NULL};
    struct gh_proc *p = gh_proc_start(env, true);
    struct gh_http_resp r;
    char *big = malloc(4097);
    char buf[4096];
    int fd;

    memset(big, 'x', 4096);
    big[4096] = '\0';
    ck_assert_int_eq(gh_http("GET", url_of(p, "/healthz"), NULL, big, NULL, &r), 0);
    ck_assert_int_eq(r.status, 413);
    ck_assert_ptr_nonnull(strstr(r.body, "too_large"));
    gh_http_resp_free(&r);
    big[2048] = '\0';
    ck_assert_int_eq(gh_http("GET", url_of(p, "/healthz"), NULL, big, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    gh_http_resp_free(&r);

    /* chunked: no Content-Length, the cap applies while reading */
    fd = connect_raw(port_of(p));
    const char *head = "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    ck_assert_int_eq(write(fd, head, strlen(head)), (ssize_t)strlen(head));
    for (int i = 0; i < 5; i++) {
        char chunk[1100];
        snprintf(chunk, sizeof(chunk), "3e8\r\n%01000d\r\n", 0);
        if (write(fd, chunk, strlen(chunk)) < 0)
            break;
    }
    ck_assert_int_eq(write(fd, "0\r\n\r\n", 5), 5);
    read_all(fd, buf, sizeof(buf), 3000);
    ck_assert_msg(strncmp(buf, "HTTP/1.1 413", 12) == 0, "got: %.80s", buf);
    close(fd);
    free(big);
    /* the daemon is still fine */
    ck_assert_int_eq(gh_http("GET", url_of(p, "/healthz"), NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    gh_http_resp_free(&r);
    ck_assert_int_eq(gh_proc_stop(p), 0);
}
END_TEST

START_TEST(header_cap)
{
    const char *env[] = {NULL};
    struct gh_proc *p = gh_proc_start(env, true);
    size_t n = 300 * 1024;
    char *hdr = malloc(n + 16);
    const char *hdrs[] = {hdr, NULL};
    struct gh_http_resp r;

    memcpy(hdr, "X-Big: ", 7);
    memset(hdr + 7, 'a', n);
    hdr[7 + n] = '\0';
    /* MHD refuses a header block larger than its per-connection memory */
    if (gh_http("GET", url_of(p, "/healthz"), hdrs, NULL, NULL, &r) == 0)
        ck_assert_msg(r.status >= 400 && r.status < 500, "status %ld", r.status);
    gh_http_resp_free(&r);
    free(hdr);
    ck_assert_int_eq(gh_http("GET", url_of(p, "/healthz"), NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    gh_http_resp_free(&r);
    ck_assert_int_eq(gh_proc_stop(p), 0);
}
END_TEST

START_TEST(connection_limit_and_idle_timeout)
{
    const char *env[] = {"GATEHOUSE_MAX_CONNECTIONS=2", "GATEHOUSE_CONN_TIMEOUT=1",
                         "GATEHOUSE_THREADS=1", NULL};
    struct gh_proc *p = gh_proc_start(env, true);
    struct gh_http_resp r;
    char buf[1024];
    int a = connect_raw(port_of(p)), b = connect_raw(port_of(p)), c;
    const char *get = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

    /* two idle connections hold the limit: a third is not served while they are open */
    usleep(200 * 1000);
    c = connect_raw(port_of(p));
    ck_assert_int_eq(write(c, get, strlen(get)), (ssize_t)strlen(get));
    ck_assert_int_le(read_all(c, buf, sizeof(buf), 500), 0);
    /* the idle ones are closed by the server after the 1 s timeout (bounded wait) ... */
    ck_assert_int_eq(read_all(a, buf, sizeof(buf), 4000), 0);
    ck_assert_int_eq(read_all(b, buf, sizeof(buf), 4000), 0);
    /* ... and then the waiting one is served */
    ck_assert_int_gt(read_all(c, buf, sizeof(buf), 4000), 0);
    ck_assert_msg(strncmp(buf, "HTTP/1.1 200", 12) == 0, "got: %.80s", buf);
    close(a);
    close(b);
    close(c);
    ck_assert_int_eq(gh_http("GET", url_of(p, "/healthz"), NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    gh_http_resp_free(&r);
    ck_assert_int_eq(gh_proc_stop(p), 0);
}
END_TEST

START_TEST(tls_self_signed)
{
    char *dir = gh_tmpdir_new();
    char cert[600], key[600], envc[640], envk[640], url[256];
    struct gh_proc *p;
    struct gh_http_resp r;

    gh_selfsigned_cert(dir, cert, key);
    snprintf(envc, sizeof(envc), "GATEHOUSE_TLS_CERT=%s", cert);
    snprintf(envk, sizeof(envk), "GATEHOUSE_TLS_KEY=%s", key);
    const char *env[] = {envc, envk, NULL};
    p = gh_proc_start(env, false);
    ck_assert_ptr_nonnull(strstr(gh_proc_url(p), "https://"));
    snprintf(url, sizeof(url), "%s/readyz", gh_proc_url(p));
    int status = 0;
    for (int i = 0; i < 100 && status != 200; i++) {
        if (gh_http("GET", url, NULL, NULL, cert, &r) == 0)
            status = (int)r.status;
        gh_http_resp_free(&r);
        if (status != 200)
            usleep(50 * 1000);
    }
    ck_assert_int_eq(status, 200);
    /* without trusting the certificate, the client refuses */
    ck_assert_int_ne(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
    gh_http_resp_free(&r);
    /* plain HTTP to the TLS port gets no HTTP answer */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", port_of(p));
    ck_assert(gh_http("GET", url, NULL, NULL, NULL, &r) != 0 || r.status != 200);
    gh_http_resp_free(&r);
    ck_assert_int_eq(gh_proc_stop(p), 0);
    gh_tmpdir_remove(dir);
}
END_TEST

START_TEST(bad_config_exits_2)
{
    char log[4096];
    const char *env1[] = {"GATEHOUSE_LISTEN=nonsense", NULL};
    ck_assert_int_eq(gh_proc_run_to_exit(env1, NULL, log, sizeof(log)), 2);
    ck_assert_ptr_nonnull(strstr(log, "environment: GATEHOUSE_LISTEN"));

    const char *env2[] = {"GATEHOUSE_TLS_CERT=/nonexistent.pem", "GATEHOUSE_TLS_KEY=/x.pem", NULL};
    ck_assert_int_eq(gh_proc_run_to_exit(env2, NULL, log, sizeof(log)), 1);
    ck_assert_ptr_nonnull(strstr(log, "cannot read /nonexistent.pem"));

    char *dir = gh_tmpdir_new();
    char conf[600];
    snprintf(conf, sizeof(conf), "%s/gatehouse.conf", dir);
    FILE *f = fopen(conf, "w");
    fputs("GATEHOUSE_LOG_LEVEL=debug\nGATEHOUSE_LEEWAY=forever\n", f);
    fclose(f);
    const char *argv[] = {"--config", conf, NULL};
    const char *none[] = {NULL};
    ck_assert_int_eq(gh_proc_run_to_exit(none, argv, log, sizeof(log)), 2);
    char want[700];
    snprintf(want, sizeof(want), "%s:2: GATEHOUSE_LEEWAY", conf);
    ck_assert_msg(strstr(log, want) != NULL, "log: %s", log);
    const char *bad_opt[] = {"--frobnicate", NULL};
    ck_assert_int_eq(gh_proc_run_to_exit(none, bad_opt, log, sizeof(log)), 2);
    gh_tmpdir_remove(dir);
}
END_TEST

START_TEST(command_line)
{
    char log[16384];
    const char *none[] = {NULL};
    const char *v[] = {"--version", NULL};
    ck_assert_int_eq(gh_proc_run_to_exit(none, v, log, sizeof(log)), 0);
    ck_assert_ptr_nonnull(strstr(log, "gatehouse "));
    const char *help[] = {"--help", NULL};
    ck_assert_int_eq(gh_proc_run_to_exit(none, help, log, sizeof(log)), 0);
    ck_assert_ptr_nonnull(strstr(log, "GATEHOUSE_SCIM_TOKEN"));
    const char *pc[] = {"--print-config", NULL};
    const char *env[] = {"GATEHOUSE_SCIM_TOKEN=very-secret-value-0001", "GATEHOUSE_THREADS=3",
                         NULL};
    ck_assert_int_eq(gh_proc_run_to_exit(env, pc, log, sizeof(log)), 0);
    ck_assert_ptr_nonnull(strstr(log, "GATEHOUSE_SCIM_TOKEN=***\n"));
    ck_assert_ptr_nonnull(strstr(log, "GATEHOUSE_THREADS=3\n"));
    ck_assert_ptr_null(strstr(log, "very-secret-value"));
}
END_TEST

START_TEST(graceful_shutdown_finishes_inflight)
{
    const char *env[] = {NULL};
    struct gh_proc *p = gh_proc_start(env, true);
    char buf[1024];
    int fd = connect_raw(port_of(p));
    const char *head = "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234";
    int status = -1;

    /* a kept-alive connection that has finished its request */
    int idle = connect_raw(port_of(p));
    const char *get = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    ck_assert_int_eq(write(idle, get, strlen(get)), (ssize_t)strlen(get));
    read_all(idle, buf, sizeof(buf), 2000);
    ck_assert_msg(strncmp(buf, "HTTP/1.1 200", 12) == 0, "idle connection got: %.80s", buf);

    ck_assert_int_eq(write(fd, head, strlen(head)), (ssize_t)strlen(head));
    usleep(100 * 1000);
    kill(gh_proc_pid(p), SIGTERM);
    ck_assert(gh_proc_wait_log(p, "msg=\"stopping\"", 5000));
    ck_assert_ptr_nonnull(strstr(gh_proc_log(p), "inflight=1"));
    /* draining: the idle connection is closed, and a new one gets no request in */
    memset(buf, 0, sizeof(buf));
    ck_assert_int_eq(read_all(idle, buf, sizeof(buf), 2000), 0);
    close(idle);
    {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port_of(p))};
        int late = socket(AF_INET, SOCK_STREAM, 0);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(late, (struct sockaddr *)&a, sizeof(a)) == 0) {
            (void)!write(late, get, strlen(get));
            memset(buf, 0, sizeof(buf));
            read_all(late, buf, sizeof(buf), 2000);
            ck_assert_msg(strncmp(buf, "HTTP/1.1", 8) != 0, "a new request was served: %.80s", buf);
        }
        close(late);
    }
    ck_assert_int_eq(write(fd, "56789", 5), 5);
    read_all(fd, buf, sizeof(buf), 5000);
    ck_assert_msg(strncmp(buf, "HTTP/1.1 200", 12) == 0, "in-flight request got: %.80s", buf);
    close(fd);
    ck_assert(gh_proc_wait_log(p, "msg=\"stopped\"", 5000));
    waitpid(gh_proc_pid(p), &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    gh_proc_stop(p);
}
END_TEST

START_TEST(logs_carry_no_secrets)
{
    const char *env[] = {"GATEHOUSE_SCIM_TOKEN=scim-secret-aaaaaaaaaaaa",
                         "GATEHOUSE_ADMIN_TOKEN=admin-secret-bbbbbbbbbbbb",
                         "GATEHOUSE_LOG_LEVEL=debug", NULL};
    struct gh_proc *p = gh_proc_start(env, true);
    struct gh_http_resp r;
    const char *hdrs[] = {"Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload-bytes.sig", NULL};

    ck_assert_int_eq(
        gh_http("GET", url_of(p, "/healthz?access_token=qs-secret-cccc"), hdrs, NULL, NULL, &r), 0);
    gh_http_resp_free(&r);
    ck_assert(gh_proc_wait_log(p, "path=\"/healthz\"", 3000));
    const char *log = gh_proc_log(p);
    ck_assert_ptr_nonnull(strstr(log, "level=info mod=http msg=\"request\" method=GET"));
    ck_assert_ptr_nonnull(strstr(log, "status=200 dur_ms="));
    ck_assert_ptr_null(strstr(log, "scim-secret"));
    ck_assert_ptr_null(strstr(log, "admin-secret"));
    ck_assert_ptr_null(strstr(log, "payload-bytes"));
    ck_assert_ptr_null(strstr(log, "qs-secret"));
    ck_assert_int_eq(gh_proc_stop(p), 0);
}
END_TEST

START_TEST(store_survives_restart)
{
    char *dir = gh_tmpdir_new();
    char db[600];
    snprintf(db, sizeof(db), "GATEHOUSE_DB=%s/keep.db", dir);
    const char *env[] = {db, NULL};
    struct gh_proc *p = gh_proc_start(env, true);
    ck_assert_ptr_nonnull(strstr(gh_proc_log(p), "schema migrated"));
    ck_assert_int_eq(gh_proc_stop(p), 0);
    p = gh_proc_start(env, true);
    ck_assert_ptr_null(strstr(gh_proc_log(p), "schema migrated"));
    ck_assert_int_eq(gh_proc_stop(p), 0);
    gh_tmpdir_remove(dir);
}
END_TEST

Suite *daemon_suite(void)
{
    Suite *s = suite_create("daemon");
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, ops_endpoints);
    tcase_add_test(tc, routing_errors);
    tcase_add_test(tc, body_cap);
    tcase_add_test(tc, header_cap);
    tcase_add_test(tc, connection_limit_and_idle_timeout);
    tcase_add_test(tc, tls_self_signed);
    tcase_add_test(tc, bad_config_exits_2);
    tcase_add_test(tc, command_line);
    tcase_add_test(tc, graceful_shutdown_finishes_inflight);
    tcase_add_test(tc, logs_carry_no_secrets);
    tcase_add_test(tc, store_survives_restart);
    suite_add_tcase(s, tc);
    return s;
}
