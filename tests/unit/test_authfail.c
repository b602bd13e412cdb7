/*
 * test_authfail.c - the failed-authentication table (core/authfail.c) with the clock given
 * by the test: burst then rate, whole-second Retry-After, what counts as one address (IPv4,
 * IPv6 /64, IPv4-mapped), the table's bound under address spraying with throttled addresses
 * kept, and the log (first failure, then one summary per interval; a global line budget).
 */
#include "sidecar/gatehouse.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static char sink_buf[1 << 16];
static size_t sink_len;
static int sink_lines;

static void sink(void *ctx, enum gh_log_level level, const char *line, size_t len)
{
    (void)ctx;
    (void)level;
    sink_lines++;
    if (sink_len + len + 1 < sizeof(sink_buf)) {
        memcpy(sink_buf + sink_len, line, len);
        sink_len += len;
        sink_buf[sink_len++] = '\n';
        sink_buf[sink_len] = '\0';
    }
}

static void sink_on(void)
{
    sink_len = 0;
    sink_lines = 0;
    sink_buf[0] = '\0';
    gh_log_set_level(GH_LOG_INFO);
    gh_log_set_sink(sink, NULL);
}

static void sink_off(void)
{
    gh_log_set_sink(NULL, NULL);
}

static int sink_count(const char *needle)
{
    int n = 0;
    for (const char *p = sink_buf; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* A sockaddr for a numeric address (IPv4 or IPv6), in storage the caller keeps. */
static const struct sockaddr *sa(struct sockaddr_storage *ss, const char *ip)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(ip, ':') != NULL) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        ck_assert_int_eq(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        ck_assert_int_eq(inet_pton(AF_INET, ip, &in->sin_addr), 1);
    }
    return (const struct sockaddr *)ss;
}

static struct gh_authfail *table(unsigned slots, int burst, int per_min, int interval_s)
{
    struct gh_authfail_opts o = {slots, burst, per_min, interval_s};
    return gh_authfail_new(&o);
}

static unsigned note(struct gh_authfail *af, const char *ip, int64_t now_ms)
{
    struct sockaddr_storage ss;
    return gh_authfail_note(af, sa(&ss, ip), GH_AUTHFAIL_SCIM, "/scim/v2/Users", "bad token",
                            now_ms);
}

/* 20 at once, then one a second; the wait is whole seconds, rounded up, at least 1 */
START_TEST(burst_then_rate)
{
    struct gh_authfail *af = table(64, 20, 60, 60);
    int64_t t = 1000000;

    for (int i = 0; i < 20; i++)
        ck_assert_uint_eq(note(af, "192.0.2.1", t), 0);
    ck_assert_uint_eq(note(af, "192.0.2.1", t), 1);
    ck_assert_uint_eq(note(af, "192.0.2.1", t + 999), 1); /* 1 ms left: still 1 s */
    ck_assert_uint_eq(note(af, "192.0.2.1", t + 1000), 0);
    ck_assert_uint_eq(note(af, "192.0.2.1", t + 1000), 1);
    /* a quiet minute (20 steps) restores the whole burst, not more */
    t += 61000;
    for (int i = 0; i < 20; i++)
        ck_assert_uint_eq(note(af, "192.0.2.1", t), 0);
    ck_assert_uint_eq(note(af, "192.0.2.1", t), 1);
    gh_authfail_free(af);

    /* 12 a minute: one every 5 s; the wait is counted from the next allowed moment */
    af = table(64, 2, 12, 60);
    ck_assert_uint_eq(note(af, "192.0.2.1", t), 0);
    ck_assert_uint_eq(note(af, "192.0.2.1", t), 0);
    ck_assert_uint_eq(note(af, "192.0.2.1", t), 5);
    ck_assert_uint_eq(note(af, "192.0.2.1", t + 2500), 3);
    ck_assert_uint_eq(note(af, "192.0.2.1", t + 4999), 1);
    ck_assert_uint_eq(note(af, "192.0.2.1", t + 5000), 0);
    gh_authfail_free(af);
}
END_TEST

/* an address is an IPv4 address or an IPv6 /64; IPv4-mapped IPv6 is the IPv4 address */
START_TEST(what_an_address_is)
{
    struct gh_authfail *af = table(64, 1, 60, 60);
    int64_t t = 5000;
    struct sockaddr_storage ss;

    ck_assert_uint_eq(note(af, "192.0.2.1", t), 0);
    ck_assert_uint_eq(note(af, "::ffff:192.0.2.1", t), 1);
    ck_assert_uint_eq(note(af, "192.0.2.2", t), 0);
    ck_assert_uint_eq(note(af, "2001:db8:1:2::1", t), 0);
    ck_assert_uint_eq(note(af, "2001:db8:1:2:ffff:ffff:ffff:ffff", t), 1);
    ck_assert_uint_eq(note(af, "2001:db8:1:3::1", t), 0);
    /* an address the server could not read: one shared budget, never a bypass */
    ck_assert_uint_eq(gh_authfail_note(af, NULL, GH_AUTHFAIL_ADMIN, "/", "x", t), 0);
    ck_assert_uint_eq(gh_authfail_note(af, NULL, GH_AUTHFAIL_ADMIN, "/", "x", t), 1);
    {
        struct sockaddr_storage unix_like;
        memset(&unix_like, 0, sizeof(unix_like));
        unix_like.ss_family = AF_UNIX;
        ck_assert_uint_eq(gh_authfail_note(af, (const struct sockaddr *)&unix_like,
                                           GH_AUTHFAIL_ADMIN, "/", "x", t),
                          1);
    }
    (void)ss;
    ck_assert_uint_eq(gh_authfail_size(af), 5);
    gh_authfail_free(af);
}
END_TEST

/* spraying addresses never grows the table, and a throttled address is not evicted by them */
START_TEST(bounded_and_throttled_kept)
{
    struct gh_authfail *af = table(16, 5, 60, 60);
    int64_t t = 100000;
    char ip[32];

    sink_on();
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(note(af, "198.51.100.7", t), 0);
    ck_assert_uint_eq(note(af, "198.51.100.7", t), 1);
    for (int i = 0; i < 20000; i++) {
        snprintf(ip, sizeof(ip), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        ck_assert_uint_eq(note(af, ip, t + i / 20), 0); /* 20,000 in one second */
        ck_assert_uint_le(gh_authfail_size(af), 16);
    }
    ck_assert_uint_eq(gh_authfail_size(af), 16);
    /* 198.51.100.7's entry survived: a second later it has earned back one failure, not the
     * whole burst a new entry would have */
    ck_assert_uint_eq(note(af, "198.51.100.7", t + 1000), 0);
    ck_assert_uint_eq(note(af, "198.51.100.7", t + 1000), 1);
    /* the log stayed bounded: 100 first-failure lines, 10 a second more, then one summary of
     * the rest ("other") per interval */
    ck_assert_int_le(sink_count("msg=\"unauthorized\""), 1 + 100 + 10 + 1);
    gh_authfail_sweep(af, t + 60000);
    ck_assert_int_eq(sink_count("addr=other"), 1);
    ck_assert_ptr_nonnull(strstr(sink_buf, "msg=\"auth failures\" route=scim addr=other count="));
    sink_off();
    gh_authfail_free(af);
}
END_TEST

/* the first failure logs at once; the rest become one summary per interval; every failure is
 * in exactly one line; no line before its interval is over */
START_TEST(log_summarises)
{
    struct gh_authfail *af = table(64, 20, 60, 10);
    struct sockaddr_storage ss;
    int64_t t = 1000000;
    long sum = 0;

    sink_on();
    for (int i = 0; i < 1000; i++)
        note(af, "203.0.113.9", t + i);
    gh_authfail_note(af, sa(&ss, "203.0.113.9"), GH_AUTHFAIL_ADMIN, "/admin/v1/access-groups",
                     "wrong admin token", t + 1000);
    ck_assert_int_eq(sink_lines, 1);
    ck_assert_ptr_nonnull(strstr(sink_buf, "msg=\"unauthorized\" route=scim addr=203.0.113.9 "
                                           "path=\"/scim/v2/Users\" reason=\"bad token\""));
    gh_authfail_sweep(af, t + 9999);
    ck_assert_int_eq(sink_lines, 1);
    gh_authfail_sweep(af, t + 10000);
    ck_assert_int_eq(sink_lines, 3);
    ck_assert_ptr_nonnull(strstr(sink_buf, "msg=\"auth failures\" route=scim addr=203.0.113.9 "
                                           "count=999 throttled=980 interval_s=10"));
    ck_assert_ptr_nonnull(
        strstr(sink_buf, "msg=\"auth failures\" route=admin addr=203.0.113.9 count=1 throttled=0"));
    /* a failure within the next interval waits for it; an empty sweep writes nothing */
    note(af, "203.0.113.9", t + 15000);
    gh_authfail_sweep(af, t + 19999);
    ck_assert_int_eq(sink_lines, 3);
    /* at shutdown what is pending is written whatever its interval */
    gh_authfail_free(af);
    ck_assert_int_eq(sink_lines, 4);
    for (const char *p = sink_buf; (p = strstr(p, " count=")) != NULL; p++)
        sum += strtol(p + 7, NULL, 10);
    ck_assert_int_eq(sum + sink_count("msg=\"unauthorized\""), 1002);
    sink_off();
}
END_TEST

/* an IPv6 address is logged as its /64 */
START_TEST(log_ipv6_prefix)
{
    struct gh_authfail *af = table(64, 20, 60, 10);
    sink_on();
    note(af, "2001:db8:aa:bb:1:2:3:4", 1000);
    ck_assert_ptr_nonnull(strstr(sink_buf, "addr=2001:db8:aa:bb::/64 "));
    sink_off();
    gh_authfail_free(af);
}
END_TEST

/* counters for /metrics */
START_TEST(metrics_counted)
{
    struct gh_authfail *af = table(64, 1, 60, 10);
    struct gh_buf out;
    gh_buf_init(&out, 4096);
    note(af, "192.0.2.1", 1000);
    note(af, "192.0.2.1", 1000);
    note(af, "192.0.2.1", 1000);
    gh_authfail_metrics(af, &out);
    ck_assert_ptr_nonnull(
        strstr(gh_buf_str(&out), "gatehouse_auth_failures_total{route=\"scim\"} 3\n"));
    ck_assert_ptr_nonnull(
        strstr(gh_buf_str(&out), "gatehouse_auth_failures_total{route=\"admin\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(gh_buf_str(&out), "gatehouse_auth_throttled_total 2\n"));
    gh_buf_free(&out);
    gh_authfail_free(af);
}
END_TEST

Suite *authfail_suite(void)
{
    Suite *s = suite_create("authfail");
    TCase *tc = tcase_create("table");
    tcase_add_checked_fixture(tc, sink_on, sink_off);
    tcase_add_test(tc, burst_then_rate);
    tcase_add_test(tc, what_an_address_is);
    tcase_add_test(tc, bounded_and_throttled_kept);
    tcase_add_test(tc, log_summarises);
    tcase_add_test(tc, log_ipv6_prefix);
    tcase_add_test(tc, metrics_counted);
    suite_add_tcase(s, tc);
    return s;
}
