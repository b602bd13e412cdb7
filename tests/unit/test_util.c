/*
 * test_util.c - unit tests of the sidecar's small utilities: errors, arena, capped buffer,
 * logfmt quoting.
 */
#include "sidecar/gatehouse.h"

#include <check.h>
#include <stdint.h>
#include <string.h>

START_TEST(err_first_wins)
{
    struct gh_err err = {0};
    ck_assert_int_eq(GH_ERR(&err, GH_E_INVALID, "first %d", 1), GH_E_INVALID);
    ck_assert_int_eq(GH_ERR(&err, GH_E_STORE, "second"), GH_E_STORE);
    ck_assert_int_eq(err.status, GH_E_INVALID);
    ck_assert_str_eq(err.msg, "first 1");
    ck_assert_int_eq(GH_ERR(NULL, GH_E_STORE, "no sink"), GH_E_STORE);
}
END_TEST

START_TEST(err_http_mapping)
{
    static const struct {
        enum gh_status st;
        unsigned http;
    } cases[] = {
        {GH_OK, 200},
        {GH_E_INVALID, 400},
        {GH_E_UNAUTHORIZED, 401},
        {GH_E_FORBIDDEN, 403},
        {GH_E_NOT_FOUND, 404},
        {GH_E_METHOD, 405},
        {GH_E_CONFLICT, 409},
        {GH_E_PRECONDITION, 412},
        {GH_E_TOO_LARGE, 413},
        {GH_E_STORE, 500},
        {GH_E_INTERNAL, 500},
        {GH_E_UPSTREAM, 503},
        {GH_E_UNAVAILABLE, 503},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_uint_eq(gh_status_http(cases[i].st), cases[i].http);
}
END_TEST

START_TEST(arena_alloc_and_strings)
{
    struct gh_arena *a = gh_arena_new();
    char *s = gh_arena_printf(a, "%s-%d", "x", 42);
    ck_assert_str_eq(s, "x-42");
    ck_assert_str_eq(gh_arena_strndup(a, "abcdef", 3), "abc");
    /* a request larger than a chunk, then small ones again */
    unsigned char *big = gh_arena_alloc(a, 100000);
    ck_assert_int_eq(big[99999], 0);
    for (int i = 0; i < 10000; i++) {
        long *p = gh_arena_alloc(a, sizeof(long));
        ck_assert_int_eq(((uintptr_t)p) % sizeof(long), 0);
        *p = i;
    }
    gh_arena_free(a);
    gh_arena_free(NULL);
}
END_TEST

START_TEST(buf_cap_enforced)
{
    struct gh_buf b;
    struct gh_err err = {0};
    gh_buf_init(&b, 10);
    ck_assert_int_eq(gh_buf_puts(&b, "hello", &err), GH_OK);
    ck_assert_int_eq(gh_buf_puts(&b, "world", &err), GH_OK);
    ck_assert_int_eq(gh_buf_puts(&b, "!", &err), GH_E_TOO_LARGE);
    ck_assert_str_eq(gh_buf_str(&b), "helloworld");
    ck_assert_uint_eq(b.len, 10);
    gh_buf_reset(&b);
    ck_assert_int_eq(gh_buf_printf(&b, NULL, "%05d", 7), GH_OK);
    ck_assert_str_eq(gh_buf_str(&b), "00007");
    gh_buf_free(&b);
}
END_TEST

START_TEST(log_quote_escapes)
{
    char q[64];
    ck_assert_str_eq(gh_log_q(q, sizeof(q), "a\"b\\c\nd"), "\"a\\\"b\\\\c\\x0ad\"");
    ck_assert_str_eq(gh_log_q(q, 12, "0123456789abcdef"), "\"012345...\"");
    ck_assert_str_eq(gh_log_q(q, sizeof(q), NULL), "\"\"");
}
END_TEST

Suite *util_suite(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, err_first_wins);
    tcase_add_test(tc, err_http_mapping);
    tcase_add_test(tc, arena_alloc_and_strings);
    tcase_add_test(tc, buf_cap_enforced);
    tcase_add_test(tc, log_quote_escapes);
    suite_add_tcase(s, tc);
    return s;
}
