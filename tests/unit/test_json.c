/*
 * test_json.c - the strict JSON check (core/json.c): a table of {input, flags, expected
 * status, expected message part}, then what a table cannot show compactly: inputs of a few MiB
 * (one object with 200k members, 200k sibling objects, 100k open brackets) checked in linear
 * time, duplicates found after the name table was rebuilt, and gh_json_parse's result.
 */
#include "sidecar/gatehouse.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NC GH_JSON_NAMES_NOCASE

/* len 0: strlen(in). want NULL: accepted. */
static const struct {
    const char *in;
    size_t len;
    unsigned flags;
    const char *want; /* part of the message, or NULL for GH_OK */
} cases[] = {
    /* valid RFC 8259 */
    {"{}", 0, 0, NULL},
    {"[]", 0, 0, NULL},
    {" \t\r\n{ \"a\" : [ 1 , -0.5e+3 , 0 , 1E2 , true , false , null , \"\" ] } \n", 0, 0, NULL},
    {"\"scalar\"", 0, 0, NULL},
    {"0", 0, 0, NULL},
    {"-12.25e-7", 0, 0, NULL},
    {"\xEF\xBB\xBF{\"bom\":1}", 0, 0, NULL},
    {"{\"a\":{\"b\":{\"c\":[{\"d\":{}}]}}}", 0, 0, NULL},
    {"{\"esc\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0001 \\u00e9 \\uFFFF \\ud83d\\ude00\"}", 0, 0,
     NULL},
    /* valid UTF-8 at the edges of Table 3-7 */
    {"[\"\xC2\x80\xDF\xBF\xE0\xA0\x80\xEC\xBF\xBF\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF\"]", 0, 0,
     NULL},
    {"[\"\xF0\x90\x80\x80\xF3\xBF\xBF\xBF\xF4\x8F\xBF\xBF\"]", 0, 0, NULL},
    /* duplicates are per object */
    {"[{\"a\":1},{\"a\":2}]", 0, 0, NULL},
    {"{\"a\":{\"a\":{\"a\":1}}}", 0, 0, NULL},
    {"{\"a\":{\"b\":1},\"b\":2}", 0, 0, NULL},
    {"{\"a\":1,\"A\":2}", 0, 0, NULL},
    {"{\"\\u00e9\":1,\"\\u00c9\":2}", 0, NC, NULL}, /* only ASCII folds */
    {"{\"ab\":1,\"a\":2,\"abc\":3,\"\":4}", 0, NC, NULL},
    /* duplicates */
    {"{\"a\":1,\"a\":2}", 0, 0, "member name \"a\" twice in one object (byte 7)"},
    {"{\"a\":1,\"b\":2,\"a\":3}", 0, 0, "twice"},
    {"{\"\":1,\"\":2}", 0, 0, "twice"},
    {"{\"a\":1,\"\\u0061\":2}", 0, 0, "member name \"\\u0061\" twice"},
    {"{\"\\u0061\":1,\"a\":2}", 0, 0, "twice"},
    {"{\"\\/\":1,\"/\":2}", 0, 0, "twice"},
    {"{\"\\u00e9\":1,\"\xC3\xA9\":2}", 0, 0, "twice"},
    {"{\"\\ud83d\\ude00\":1,\"\xF0\x9F\x98\x80\":2}", 0, 0, "twice"},
    {"{\"a\\nb\":1,\"a\\u000ab\":2}", 0, 0, "twice"},
    {"{\"x\":{\"a\":1,\"a\":2}}", 0, 0, "twice"},
    {"[{\"a\":1},{\"b\":1,\"b\":2}]", 0, 0, "twice"},
    {"{\"a\":{\"b\":1},\"a\":2}", 0, 0, "twice"},
    {"{\"userName\":\"x\",\"username\":\"y\"}", 0, NC, "(names are case-insensitive)"},
    {"{\"active\":true,\"\\u0041CTIVE\":false}", 0, NC, "twice"},
    {"{\"userName\":\"x\",\"username\":\"y\"}", 0, 0, NULL},
    /* NUL and control characters */
    {"{\"a\":\"x\\u0000y\"}", 0, 0, "\\u0000 in a string (byte 7)"},
    {"{\"a\\u0000\":1}", 0, 0, "\\u0000 in a string"},
    {"{\"a\":\"x\0y\"}", 11, 0, "a NUL byte (byte 7)"},
    {"{\"a\":1}\0", 8, 0, "not valid JSON"},
    {"\0{}", 3, 0, "not valid JSON"},
    {"{\"a\":\"\x01\"}", 0, 0, "raw control character"},
    {"{\"a\":\"\x1f\"}", 0, 0, "raw control character"},
    {"[\"\t\"]", 0, 0, "raw control character"},
    /* invalid UTF-8 */
    {"[\"\xC0\xAF\"]", 0, 0, "invalid UTF-8 (byte 2)"},
    {"[\"\xC1\xBF\"]", 0, 0, "invalid UTF-8"},
    {"[\"\xE0\x80\xAF\"]", 0, 0, "invalid UTF-8"},
    {"[\"\xE0\x9F\xBF\"]", 0, 0, "invalid UTF-8"},
    {"[\"\xF0\x80\x80\xAF\"]", 0, 0, "invalid UTF-8"},
    {"[\"\xF0\x8F\xBF\xBF\"]", 0, 0, "invalid UTF-8"},
    {"[\"\xED\xA0\x80\"]", 0, 0, "invalid UTF-8"},
    {"[\"\xED\xBF\xBF\"]", 0, 0, "invalid UTF-8"},
    {"[\"\xED\xA0\xBD\xED\xB8\x80\"]", 0, 0, "invalid UTF-8"}, /* CESU-8 pair */
    {"[\"\xF4\x90\x80\x80\"]", 0, 0, "invalid UTF-8"},
    {"[\"\xF5\x80\x80\x80\"]", 0, 0, "invalid UTF-8"},
    {"[\"\xF8\x88\x80\x80\x80\"]", 0, 0, "invalid UTF-8"},
    {"[\"\xFC\x84\x80\x80\x80\x80\"]", 0, 0, "invalid UTF-8"},
    {"[\"\xFE\"]", 0, 0, "invalid UTF-8"},
    {"[\"\xFF\"]", 0, 0, "invalid UTF-8"},
    {"[\"\x80\"]", 0, 0, "invalid UTF-8"},
    {"[\"\xBF\"]", 0, 0, "invalid UTF-8"},
    {"[\"\xC3\"]", 0, 0, "invalid UTF-8"},
    {"[\"\xE2\x82\"]", 0, 0, "invalid UTF-8"},
    {"[\"\xF0\x9F\x98\"]", 0, 0, "invalid UTF-8"},
    {"[\"\xE2\x82", 0, 0, "invalid UTF-8"}, /* truncated at the end of the input */
    {"[\"\xC3\xA9\xC3\"]", 0, 0, "invalid UTF-8 (byte 4)"},
    {"{\"\xC0\xAF\":1}", 0, 0, "invalid UTF-8"},
    {"[\xC3\xA9]", 0, 0, "not valid JSON"},
    /* surrogate escapes */
    {"[\"\\uD800\"]", 0, 0, "unpaired UTF-16 surrogate"},
    {"[\"\\udbff\"]", 0, 0, "unpaired UTF-16 surrogate"},
    {"[\"\\uDC00\"]", 0, 0, "unpaired UTF-16 surrogate"},
    {"[\"\\uDFFF\\uD800\"]", 0, 0, "unpaired UTF-16 surrogate"},
    {"[\"\\uD800\\u0041\"]", 0, 0, "unpaired UTF-16 surrogate"},
    {"[\"\\uD800\\uD800\"]", 0, 0, "unpaired UTF-16 surrogate"},
    {"[\"\\uD800\\uE000\"]", 0, 0, "unpaired UTF-16 surrogate"},
    {"[\"\\uD800x\"]", 0, 0, "unpaired UTF-16 surrogate"},
    {"[\"\\uD800\\n\"]", 0, 0, "unpaired UTF-16 surrogate"},
    {"[\"\\uD800\\uDC0", 0, 0, "unpaired UTF-16 surrogate"},
    {"{\"\\uDC00\":1}", 0, 0, "unpaired UTF-16 surrogate"},
    /* bad escapes */
    {"[\"\\x41\"]", 0, 0, "a bad escape"},
    {"[\"\\u12\"]", 0, 0, "a bad escape"},
    {"[\"\\u12G4\"]", 0, 0, "a bad escape"},
    {"[\"\\U0041\"]", 0, 0, "a bad escape"},
    {"[\"\\'\"]", 0, 0, "a bad escape"},
    {"[\"\\", 0, 0, "a bad escape"},
    /* grammar (cJSON accepts some of these) */
    {"", 0, 0, "not valid JSON"},
    {"   ", 0, 0, "not valid JSON"},
    {"{", 0, 0, "not valid JSON"},
    {"{\"a\"}", 0, 0, "not valid JSON"},
    {"{\"a\":}", 0, 0, "not valid JSON"},
    {"{\"a\":1,}", 0, 0, "not valid JSON"},
    {"[1,]", 0, 0, "not valid JSON"},
    {"[,1]", 0, 0, "not valid JSON"},
    {"{a:1}", 0, 0, "not valid JSON"},
    {"{'a':1}", 0, 0, "not valid JSON"},
    {"[01]", 0, 0, "not valid JSON"},
    {"[1.]", 0, 0, "not valid JSON"},
    {"[.5]", 0, 0, "not valid JSON"},
    {"[+1]", 0, 0, "not valid JSON"},
    {"[-]", 0, 0, "not valid JSON"},
    {"[1e]", 0, 0, "not valid JSON"},
    {"[1e+]", 0, 0, "not valid JSON"},
    {"[tru]", 0, 0, "not valid JSON"},
    {"[nul", 0, 0, "not valid JSON"},
    {"[True]", 0, 0, "not valid JSON"},
    {"[NaN]", 0, 0, "not valid JSON"},
    {"{} {}", 0, 0, "not valid JSON (near byte 3)"},
    {"{}x", 0, 0, "not valid JSON"},
    {"[1}", 0, 0, "not valid JSON"},
    {"{\"a\":1]", 0, 0, "not valid JSON"},
    {"\x01{}", 0, 0, "not valid JSON"},
    {"{}\x0b", 0, 0, "not valid JSON"},
    {"\xEF\xBB{}", 0, 0, "not valid JSON"},
    {"{\"a\":\"unterminated}", 0, 0, "not valid JSON"},
    /* depth */
    {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", 0, 0, NULL},
    {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", 0, 0,
     "nests deeper than 32 levels (byte 32)"},
};

START_TEST(check_table)
{
    struct gh_err err = {0};
    size_t len = cases[_i].len ? cases[_i].len : strlen(cases[_i].in);
    enum gh_status st = gh_json_check(cases[_i].in, len, cases[_i].flags, "body", &err);

    if (cases[_i].want == NULL) {
        ck_assert_msg(st == GH_OK, "case %d: %s", _i, err.msg);
    } else {
        ck_assert_msg(st == GH_E_INVALID, "case %d accepted", _i);
        ck_assert_msg(strstr(err.msg, cases[_i].want) != NULL, "case %d: \"%s\" lacks \"%s\"", _i,
                      err.msg, cases[_i].want);
    }
}
END_TEST

/* Whatever the check accepts, cJSON parses to the same strings (no \u0000 cut, same bytes). */
START_TEST(parse_after_check)
{
    struct gh_err err = {0};
    cJSON *j = NULL;
    const char *in = "{\"n\":\"Zo\\u00eb \xE6\x97\xA5 \\ud83d\\ude00\",\"a\":[1,2]}";

    ck_assert_int_eq(gh_json_parse(in, strlen(in), 0, "body", &j, &err), GH_OK);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "n")->valuestring,
                     "Zo\xC3\xAB \xE6\x97\xA5 \xF0\x9F\x98\x80");
    cJSON_Delete(j);
    /* not NUL-terminated at len: only len bytes are read */
    ck_assert_int_eq(gh_json_parse("{\"a\":1}garbage", 7, 0, "body", &j, &err), GH_OK);
    cJSON_Delete(j);
    /* a BOM before a scalar (cJSON alone refuses "\xEF\xBB\xBF5") */
    ck_assert_int_eq(gh_json_parse("\xEF\xBB\xBF"
                                   "5",
                                   4, 0, "body", &j, &err),
                     GH_OK);
    ck_assert(cJSON_IsNumber(j) && j->valueint == 5);
    cJSON_Delete(j);
    ck_assert_int_eq(gh_json_parse("", 0, 0, "request body", &j, &err), GH_E_INVALID);
    ck_assert_ptr_null(j);
    ck_assert_str_eq(err.msg, "request body is empty; JSON expected");
    gh_err_clear(&err);
    ck_assert_int_eq(gh_json_parse("{\"a\":1,\"a\":2}", 13, 0, "policy", &j, &err), GH_E_INVALID);
    ck_assert_ptr_null(j);
    ck_assert(strncmp(err.msg, "policy has the member name", 26) == 0);
    gh_err_clear(&err);
}
END_TEST

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* n members named k0..k{n-1} in one object, then optionally `extra` before the brace. */
static char *many_members(size_t n, const char *extra, size_t *out_len)
{
    size_t cap = n * 16 + 64 + strlen(extra), o = 0;
    char *s = malloc(cap);
    s[o++] = '{';
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(s + o, cap - o, "%s\"k%zu\":%zu", i ? "," : "", i, i);
    o += (size_t)snprintf(s + o, cap - o, "%s}", extra);
    *out_len = o;
    return s;
}

/* Large inputs stay fast (linear: seconds would mean quadratic), and the name table keeps
 * finding duplicates after it has been rebuilt and moved off the stack. */
START_TEST(large_inputs_linear)
{
    struct gh_err err = {0};
    size_t len;
    char *s;
    double t0 = now_s();

    s = many_members(200000, "", &len);
    ck_assert_int_eq(gh_json_check(s, len, NC, "body", &err), GH_OK);
    free(s);
    /* the repeat of the very first name, after 200k others */
    s = many_members(200000, ",\"K0\":1", &len);
    gh_err_clear(&err);
    ck_assert_int_eq(gh_json_check(s, len, NC, "body", &err), GH_E_INVALID);
    ck_assert(strstr(err.msg, "\"K0\" twice") != NULL);
    ck_assert_int_eq(gh_json_check(s, len, 0, "body", NULL), GH_OK);
    free(s);
    /* 200k sibling objects with the same names: closed objects' names are dropped */
    {
        size_t n = 200000, cap = n * 24 + 16, o = 0;
        s = malloc(cap);
        s[o++] = '[';
        for (size_t i = 0; i < n; i++)
            o += (size_t)snprintf(s + o, cap - o, "%s{\"a\":1,\"b\":{\"a\":2}}", i ? "," : "");
        s[o++] = ']';
        ck_assert_int_eq(gh_json_check(s, o, 0, "body", &err), GH_OK);
        /* a duplicate in the last object, in a table that has been rebuilt many times */
        memcpy(s + o - 3, "},\"b\":1}]", 9);
        ck_assert_int_eq(gh_json_check(s, o + 6, 0, "body", &err), GH_E_INVALID);
        free(s);
    }
    /* 1 MiB of open brackets: refused at the cap, without recursion */
    {
        size_t n = 1 << 20;
        s = malloc(n);
        memset(s, '[', n);
        gh_err_clear(&err);
        ck_assert_int_eq(gh_json_check(s, n, 0, "body", &err), GH_E_INVALID);
        ck_assert(strstr(err.msg, "nests deeper than 32") != NULL);
        memset(s, '{', n);
        ck_assert_int_eq(gh_json_check(s, n, 0, "body", NULL), GH_E_INVALID);
        free(s);
    }
    /* many names open at once in nested objects (each level holds 100 names) */
    {
        size_t cap = 32 * 100 * 16 + 256, o = 0;
        s = malloc(cap);
        for (int d = 0; d < 31; d++) {
            s[o++] = '{';
            for (int i = 0; i < 100; i++)
                o += (size_t)snprintf(s + o, cap - o, "\"n%d\":%d,", i, d);
            o += (size_t)snprintf(s + o, cap - o, "\"x\":");
        }
        o += (size_t)snprintf(s + o, cap - o, "{\"n5\":0,\"n5\":1}");
        for (int d = 0; d < 31; d++)
            s[o++] = '}';
        s[o] = '\0';
        gh_err_clear(&err);
        ck_assert_int_eq(gh_json_check(s, o, 0, "body", &err), GH_E_INVALID);
        ck_assert(strstr(err.msg, "\"n5\" twice") != NULL);
        memcpy(strstr(s, "\"n5\":1}"), "\"n6\"", 4);
        ck_assert_int_eq(gh_json_check(s, o, 0, "body", &err), GH_OK);
        free(s);
    }
    ck_assert_msg(now_s() - t0 < 10.0, "took %.1f s", now_s() - t0);
}
END_TEST

Suite *json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("strict");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, check_table, 0, sizeof(cases) / sizeof(cases[0]));
    tcase_add_test(tc, parse_after_check);
    tcase_add_test(tc, large_inputs_linear);
    suite_add_tcase(s, tc);
    return s;
}
