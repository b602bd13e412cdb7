/*
 * test_policy.c - policy documents (shape, located errors), grants, route rules, and the name
 * keys that decide linking (exact key) and near matches (skeleton).
 */
#include "policies/policy.h"
#include "sidecar/gatehouse.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct policy_doc *parse_ok(const char *text)
{
    struct policy_doc *doc = NULL;
    struct gh_err err = {0};
    ck_assert_msg(policy_doc_parse(text, strlen(text), &doc, &err) == GH_OK, "%s", err.msg);
    return doc;
}

START_TEST(example_file_parses)
{
    struct policy_doc *doc = NULL;
    struct gh_err err = {0};
    ck_assert_msg(policy_doc_load("policies/examples/policy.json", &doc, &err) == GH_OK, "%s",
                  err.msg);
    ck_assert_uint_eq(doc->ngroups, 3);
    ck_assert_str_eq(doc->groups[0].name, "Payroll Analysts");
    ck_assert_str_eq(doc->groups[2].name,
                     "Gatehouse Admins"); /* the demo's GATEHOUSE_ADMIN_GROUP */
    ck_assert_uint_eq(doc->groups[2].ngrants, 0);
    ck_assert_str_eq(doc->groups[0].key, "payroll analysts");
    ck_assert_int_eq(doc->groups[0].source, POLICY_SOURCE_FILE);
    ck_assert(policy_grants_allow(doc->groups[0].grants, doc->groups[0].ngrants, "payroll",
                                  POLICY_ACTION_UNPROTECT));
    ck_assert(!policy_grants_allow(doc->groups[1].grants, doc->groups[1].ngrants, "hr-records",
                                   POLICY_ACTION_UNPROTECT));
    ck_assert(
        policy_grants_allow(doc->defaults, doc->ndefaults, "directory", POLICY_ACTION_PROTECT));
    ck_assert(
        !policy_grants_allow(doc->defaults, doc->ndefaults, "Directory", POLICY_ACTION_PROTECT));
    ck_assert_ptr_eq(policy_doc_group_find(doc, "  PAYROLL analysts "), &doc->groups[0]);
    ck_assert_ptr_null(policy_doc_group_find(doc, "Payroll  Analysts"));
    policy_doc_free(doc);
}
END_TEST

START_TEST(errors_are_located)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"", "policy is empty"},
        {"{} x", "not valid JSON"},
        {"[]", "must be a JSON object"},
        /* strict JSON (core/json.h): the second copy would otherwise be silently ignored */
        {"{\"access_groups\":[],\"access_groups\":[{\"name\":\"a\",\"grants\":[]}]}",
         "policy has the member name \"access_groups\" twice"},
        {"{\"default_grants\":[{\"dataset\":\"d\",\"dataset\":\"e\",\"actions\":[\"protect\"]}]}",
         "twice"},
        {"{\"access_groups\":[{\"name\":\"a\\u0000b\",\"grants\":[]}]}", "\\u0000"},
        {"{\"access_groups\":[{\"name\":\"a\xC0\xAF\",\"grants\":[]}]}", "invalid UTF-8"},
        {"{\"acess_groups\":[]}", "policy: unknown member \"acess_groups\""},
        {"{\"access_groups\":{}}", "access_groups must be an array"},
        {"{\"access_groups\":[{\"grants\":[]}]}", "access_groups[0]: name is required"},
        {"{\"access_groups\":[{\"name\":\"   \",\"grants\":[]}]}",
         "access_groups[0]: name is empty"},
        {"{\"access_groups\":[{\"name\":\"a\"}]}", "access_groups[0].grants must be an array"},
        {"{\"access_groups\":[{\"name\":\"a\",\"grants\":[]},{\"name\":\" A\",\"grants\":[]}]}",
         "access_groups[1]: access group \"a\" is declared twice"},
        {"{\"access_groups\":[{\"name\":\"a\",\"grants\":[{\"dataset\":\"d\",\"actions\":"
         "[\"protect\",\"delete\"]}]}]}",
         "access_groups[0].grants[0].actions: action \"delete\" is not protect or unprotect"},
        {"{\"access_groups\":[{\"name\":\"a\",\"grants\":[{\"dataset\":\"d\",\"actions\":[]}]}]}",
         "actions must be a non-empty array"},
        {"{\"access_groups\":[{\"name\":\"a\",\"grants\":[{\"actions\":[\"protect\"]}]}]}",
         "grants[0]: dataset is required"},
        {"{\"access_groups\":[{\"name\":\"a\",\"grant\":[]}]}", "unknown member \"grant\""},
        {"{\"default_grants\":[{\"dataset\":\"d\",\"actions\":[\"Protect\"]}]}",
         "default_grants[0].actions: action \"Protect\""},
        {"{\"routes\":[{\"path_prefix\":\"x\",\"dataset\":\"d\",\"action\":\"protect\"}]}",
         "routes[0]: path_prefix must start with /"},
        {"{\"routes\":[{\"path_prefix\":\"/x\",\"dataset\":\"d\",\"action\":\"read\"}]}",
         "routes[0]: action \"read\""},
        {"{\"access_groups\":[{\"name\":\"a\\u0001\",\"grants\":[]}]}", "control character"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct policy_doc *doc = NULL;
        struct gh_err err = {0};
        ck_assert_int_eq(policy_doc_parse(cases[i].text, strlen(cases[i].text), &doc, &err),
                         GH_E_INVALID);
        ck_assert_ptr_null(doc);
        ck_assert_msg(strstr(err.msg, cases[i].want) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
                      err.msg, cases[i].want);
    }
}
END_TEST

START_TEST(route_rules)
{
    struct policy_doc *doc =
        parse_ok("{\"routes\":[{\"method\":\"GET\",\"path_prefix\":\"/pay\",\"dataset\":\"p\","
                 "\"action\":\"unprotect\"},{\"path_prefix\":\"/\",\"dataset\":\"all\","
                 "\"action\":\"protect\"}]}");
    const struct policy_route *rt;
    rt = policy_doc_route_match(doc, "GET", "/pay/slip/1");
    ck_assert_str_eq(rt->dataset, "p");
    ck_assert_int_eq(rt->action, POLICY_ACTION_UNPROTECT);
    ck_assert_str_eq(policy_doc_route_match(doc, "GET", "/pay")->dataset, "p");
    ck_assert_str_eq(policy_doc_route_match(doc, "GET", "/payroll")->dataset, "all");
    ck_assert_str_eq(policy_doc_route_match(doc, "POST", "/pay/x")->dataset, "all");
    policy_doc_free(doc);
    /* the longest prefix wins whatever the order: a broad rule first cannot hide a narrow one */
    doc = parse_ok("{\"routes\":[{\"path_prefix\":\"/\",\"dataset\":\"public\","
                   "\"action\":\"protect\"},{\"path_prefix\":\"/payroll/\",\"dataset\":"
                   "\"payroll\",\"action\":\"unprotect\"}]}");
    ck_assert_str_eq(policy_doc_route_match(doc, "GET", "/payroll/x")->dataset, "payroll");
    ck_assert_str_eq(policy_doc_route_match(doc, "GET", "/x")->dataset, "public");
    policy_doc_free(doc);
    doc = parse_ok("{\"routes\":[{\"path_prefix\":\"/only\",\"dataset\":\"o\","
                   "\"action\":\"protect\"}]}");
    ck_assert_ptr_null(policy_doc_route_match(doc, "GET", "/other"));
    policy_doc_free(doc);
}
END_TEST

START_TEST(name_keys)
{
    static const struct {
        const char *a, *b;
        bool link, near;
    } cases[] = {
        {"Payroll Analysts", "payroll analysts", true, true},
        {"Payroll Analysts", "  PAYROLL ANALYSTS\t", true, true},
        {"Payroll Analysts", "Payroll  Analysts", false, true},
        {"Payroll Analysts", "Payroll-Analysts", false, true},
        {"Payroll Analysts", "PayrollAnalysts", false, true},
        {"Café Team", "Cafe\xcc\x81 Team", false, true},   /* NFC vs NFD */
        {"Café Team", "CAFÉ team", false, true},           /* non-ASCII case is not folded */
        {"Payroll", "\xef\xbc\xb0\x61yroll", false, true}, /* fullwidth P */
        {"Payroll", "Pay\xc2\xa0roll", false, true},       /* no-break space */
        {"Payroll Analysts", "Payroll Analyst", false, false},
        {"HR", "H R S", false, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char ka[300], kb[300], sa[300], sb[300];
        policy_name_key(cases[i].a, ka, sizeof(ka));
        policy_name_key(cases[i].b, kb, sizeof(kb));
        policy_name_skeleton(cases[i].a, sa, sizeof(sa));
        policy_name_skeleton(cases[i].b, sb, sizeof(sb));
        ck_assert_msg((strcmp(ka, kb) == 0) == cases[i].link, "case %zu link", i);
        ck_assert_msg((strcmp(sa, sb) == 0) == cases[i].near, "case %zu near: %s vs %s", i, sa, sb);
    }
    {
        char small[4];
        ck_assert_uint_eq(policy_name_key("abcdef", small, sizeof(small)), 3);
        ck_assert_str_eq(small, "abc");
        ck_assert_uint_le(policy_name_skeleton("\xe2\x82\xac\xe2\x82\xac", small, sizeof(small)),
                          3);
    }
}
END_TEST

START_TEST(grants_round_trip)
{
    struct policy_doc *doc =
        parse_ok("{\"default_grants\":[{\"dataset\":\"a\",\"actions\":[\"unprotect\",\"protect\"]},"
                 "{\"dataset\":\"b\",\"actions\":[\"protect\",\"protect\"]}]}");
    cJSON *j = policy_grants_json(doc->defaults, doc->ndefaults);
    char *s = cJSON_PrintUnformatted(j);
    ck_assert_str_eq(s, "[{\"dataset\":\"a\",\"actions\":[\"protect\",\"unprotect\"]},"
                        "{\"dataset\":\"b\",\"actions\":[\"protect\"]}]");
    cJSON_free(s);
    cJSON_Delete(j);
    policy_doc_free(doc);
}
END_TEST

START_TEST(file_cap_and_missing)
{
    struct policy_doc *doc = NULL;
    struct gh_err err = {0};
    ck_assert_int_eq(policy_doc_load("/nonexistent/policy.json", &doc, &err), GH_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "No such file"));
    gh_err_clear(&err);
    ck_assert_int_eq(policy_doc_parse("{}", (size_t)GH_CAP_POLICY + 1, &doc, &err), GH_E_TOO_LARGE);
}
END_TEST

Suite *policy_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("doc");
    tcase_add_test(tc, example_file_parses);
    tcase_add_test(tc, errors_are_located);
    tcase_add_test(tc, route_rules);
    tcase_add_test(tc, name_keys);
    tcase_add_test(tc, grants_round_trip);
    tcase_add_test(tc, file_cap_and_missing);
    suite_add_tcase(s, tc);
    return s;
}
