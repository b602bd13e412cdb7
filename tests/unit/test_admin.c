/*
 * test_admin.c - the admin API's pure parts: the link state of an access group against a set of
 * IdP groups (linked, renamed, ambiguous, near_match, unlinked; which groups are candidates)
 * and the startIndex/count paging rules. Table-driven.
 */
#include "policies/admin_int.h"
#include "sidecar/gatehouse.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* IdP groups "id=name" separated by '|' (id is one letter; names without '|') */
static void names_of(const char *spec, struct policy_admin_names *ns)
{
    memset(ns, 0, sizeof(*ns));
    while (*spec != '\0') {
        char id[2] = {spec[0], '\0'}, name[64];
        size_t len = strcspn(spec + 2, "|");
        ck_assert(spec[1] == '=' && len < sizeof(name));
        memcpy(name, spec + 2, len);
        name[len] = '\0';
        policy_admin_names_add(ns, id, name);
        spec += 2 + len;
        if (*spec == '|')
            spec++;
    }
}

static const struct {
    const char *groups;         /* IdP groups */
    const char *name, *link_id; /* the access group, its pinned IdP group (or NULL) */
    enum policy_link_state want;
    const char *amb, *near; /* candidate ids, in order */
} link_cases[] = {
    {"a=Payroll", "Payroll", "a", POLICY_LINK_LINKED, "", ""},
    {"a= payroll ", "Payroll", "a", POLICY_LINK_LINKED, "", ""},
    {"a=Payroll Team", "Payroll", "a", POLICY_LINK_RENAMED, "", ""},
    /* a duplicate beside a pinned link is listed, the pin decides */
    {"a=Payroll|b=PAYROLL", "Payroll", "a", POLICY_LINK_LINKED, "b", ""},
    {"a=Payroll|b=payroll", "Payroll", NULL, POLICY_LINK_AMBIGUOUS, "ab", ""},
    {"a=Payroll-Team|b=Other", "Payroll Team", NULL, POLICY_LINK_NEAR_MATCH, "", "a"},
    {"a=Payroll|b=payroll|c=Pay-roll", "Payroll", NULL, POLICY_LINK_AMBIGUOUS, "ab", "c"},
    {"a=Other", "Payroll", NULL, POLICY_LINK_UNLINKED_AG, "", ""},
    {"", "Payroll", NULL, POLICY_LINK_UNLINKED_AG, "", ""},
    /* one same-key group, pinned elsewhere (renamed into this key): not ambiguous */
    {"a=Payroll", "Payroll", NULL, POLICY_LINK_UNLINKED_AG, "a", ""},
};

START_TEST(link_state_table)
{
    struct policy_admin_names ns;
    size_t amb[8], near[8], namb = 99, nnear = 99;
    char key[POLICY_NAME_MAX + 1], got_amb[8] = "", got_near[8] = "";
    const char *link_name = NULL;
    enum policy_link_state s;

    names_of(link_cases[_i].groups, &ns);
    for (size_t i = 0; link_cases[_i].link_id != NULL && i < ns.n; i++) {
        if (strcmp(ns.v[i].id, link_cases[_i].link_id) == 0)
            link_name = ns.v[i].name;
    }
    policy_name_key(link_cases[_i].name, key, sizeof(key));
    s = policy_admin_link_state(&ns, key, link_cases[_i].name, link_cases[_i].link_id, link_name,
                                amb, &namb, near, &nnear);
    for (size_t i = 0; i < namb; i++)
        got_amb[i] = ns.v[amb[i]].id[0];
    for (size_t i = 0; i < nnear; i++)
        got_near[i] = ns.v[near[i]].id[0];
    ck_assert_msg(s == link_cases[_i].want, "case %d: %s, want %s", _i, policy_link_state_name(s),
                  policy_link_state_name(link_cases[_i].want));
    ck_assert_str_eq(got_amb, link_cases[_i].amb);
    ck_assert_str_eq(got_near, link_cases[_i].near);
    policy_admin_names_free(&ns);
}
END_TEST

START_TEST(link_state_names)
{
    static const char *const want[] = {"linked",
                                       "renamed",
                                       "ambiguous",
                                       "near_match",
                                       "unlinked_access_group",
                                       "unlinked_idp_group"};
    for (int i = POLICY_LINK_LINKED; i <= POLICY_LINK_UNLINKED_IDP; i++)
        ck_assert_str_eq(policy_link_state_name((enum policy_link_state)i), want[i]);
}
END_TEST

static const struct {
    const char *start, *count;
    enum gh_status want;
    int64_t start_out, count_out;
} paging_cases[] = {
    {NULL, NULL, GH_OK, 1, POLICY_ADMIN_DEFAULT_COUNT},
    {"3", "7", GH_OK, 3, 7},
    {"0", "0", GH_OK, 1, 0},
    {"-5", "-1", GH_OK, 1, 0},
    {"1", "100000", GH_OK, 1, GH_CAP_SCIM_COUNT},
    {"", NULL, GH_E_INVALID, 0, 0},
    {"1x", NULL, GH_E_INVALID, 0, 0},
    {NULL, "ten", GH_E_INVALID, 0, 0},
    {NULL, "99999999999999999999999", GH_E_INVALID, 0, 0},
};

START_TEST(paging_table)
{
    struct gh_err err = {0};
    int64_t start = 0, count = 0;
    enum gh_status st = policy_admin_paging_parse(paging_cases[_i].start, paging_cases[_i].count,
                                                  &start, &count, &err);
    ck_assert_int_eq(st, paging_cases[_i].want);
    if (st == GH_OK) {
        ck_assert_int_eq(start, paging_cases[_i].start_out);
        ck_assert_int_eq(count, paging_cases[_i].count_out);
    } else {
        ck_assert(strstr(err.msg, "must be an integer") != NULL);
    }
}
END_TEST

Suite *admin_suite(void)
{
    Suite *s = suite_create("admin");
    TCase *tc = tcase_create("pure");
    tcase_add_loop_test(tc, link_state_table, 0, (int)(sizeof(link_cases) / sizeof(link_cases[0])));
    tcase_add_test(tc, link_state_names);
    tcase_add_loop_test(tc, paging_table, 0, (int)(sizeof(paging_cases) / sizeof(paging_cases[0])));
    suite_add_tcase(s, tc);
    return s;
}
