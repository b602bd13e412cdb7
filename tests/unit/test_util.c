/*
 * test_util.c - unit tests of the sidecar's small utilities: errors, arena, capped buffer,
 * logfmt quoting.
 */
#include "sidecar/gatehouse.h"

#include <check.h>
#include <cjson/cJSON.h>
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
        {GH_OK, 200},          {GH_E_INVALID, 400},     {GH_E_UNAUTHORIZED, 401},
        {GH_E_FORBIDDEN, 403}, {GH_E_NOT_FOUND, 404},   {GH_E_METHOD, 405},
        {GH_E_TOO_MANY, 429},  {GH_E_CONFLICT, 409},    {GH_E_PRECONDITION, 412},
        {GH_E_TOO_LARGE, 413}, {GH_E_STORE, 500},       {GH_E_INTERNAL, 500},
        {GH_E_UPSTREAM, 503},  {GH_E_UNAVAILABLE, 503},
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

START_TEST(arena_reset_reuses_a_chunk)
{
    struct gh_arena *a = gh_arena_new();
    char *first = gh_arena_strdup(a, "first");
    gh_arena_alloc(a, 100000); /* a one-off chunk, freed by the reset */
    for (int i = 0; i < 3000; i++)
        gh_arena_alloc(a, 16); /* several standard chunks: one is kept */
    gh_arena_reset(a);
    char *again = gh_arena_strdup(a, "again");
    ck_assert_str_eq(again, "again");
    unsigned char *z = gh_arena_alloc(a, 64);
    for (int i = 0; i < 64; i++)
        ck_assert_int_eq(z[i], 0);
    (void)first;
    gh_arena_reset(a);
    gh_arena_reset(a); /* an empty arena too */
    gh_arena_free(a);
}
END_TEST

START_TEST(buf_json_str_round_trips)
{
    struct gh_buf b;
    char all[256];
    cJSON *j;
    for (int i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = '\0';
    gh_buf_init(&b, 4096);
    ck_assert_int_eq(gh_buf_json_str(&b, NULL, NULL), GH_OK);
    ck_assert_str_eq(gh_buf_str(&b), "null");
    gh_buf_reset(&b);
    ck_assert_int_eq(gh_buf_json_str(&b, "a\"b\\c\n\x01", NULL), GH_OK);
    ck_assert_str_eq(gh_buf_str(&b), "\"a\\\"b\\\\c\\n\\u0001\"");
    gh_buf_reset(&b);
    ck_assert_int_eq(gh_buf_json_str(&b, all, NULL), GH_OK);
    j = cJSON_Parse(gh_buf_str(&b));
    ck_assert_ptr_nonnull(j);
    ck_assert(cJSON_IsString(j));
    ck_assert_str_eq(j->valuestring, all);
    cJSON_Delete(j);
    /* the cap holds */
    gh_buf_free(&b);
    gh_buf_init(&b, 8);
    ck_assert_int_eq(gh_buf_json_str(&b, "0123456789", NULL), GH_E_TOO_LARGE);
    gh_buf_free(&b);
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
    /* reserve: never past the cap, contents kept */
    gh_buf_init(&b, 10);
    gh_buf_reserve(&b, 1000);
    ck_assert_uint_le(b.alloc, 11);
    ck_assert_str_eq(gh_buf_str(&b), "");
    ck_assert_int_eq(gh_buf_puts(&b, "abc", &err), GH_OK);
    gh_buf_reserve(&b, 4);
    ck_assert_str_eq(gh_buf_str(&b), "abc");
    ck_assert_int_eq(gh_buf_puts(&b, "defghij", &err), GH_OK);
    ck_assert_int_eq(gh_buf_puts(&b, "k", &err), GH_E_TOO_LARGE);
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
    tcase_add_test(tc, arena_reset_reuses_a_chunk);
    tcase_add_test(tc, buf_json_str_round_trips);
    tcase_add_test(tc, log_quote_escapes);
    suite_add_tcase(s, tc);
    return s;
}
