/*
 * test_decide.c - the decision rules of authz/decide.c, one table row per rule and boundary.
 */
#include "authz/decide.h"

#include <check.h>
#include <string.h>

static struct policy_grant payroll_both[] = {
    {"payroll", POLICY_ACTION_PROTECT | POLICY_ACTION_UNPROTECT}};
static struct policy_grant hr_protect[] = {{"hr", POLICY_ACTION_PROTECT}};
static struct policy_grant defaults[] = {{"directory", POLICY_ACTION_PROTECT}};
static struct policy_group g_payroll = {"Payroll Analysts", "payroll analysts", payroll_both, 1,
                                        POLICY_SOURCE_FILE};
static struct policy_group g_hr = {"HR Writers", "hr writers", hr_protect, 1, POLICY_SOURCE_ADMIN};

enum { T0 = 1800000000 };

static struct authz_facts base(const struct authz_membership *m, size_t n)
{
    struct authz_facts f = {0};
    f.provisioned = true;
    f.active = true;
    f.user_name = "alice@contoso.com";
    f.memberships = m;
    f.nmemberships = n;
    f.defaults = defaults;
    f.ndefaults = 1;
    return f;
}

START_TEST(rules)
{
    struct authz_membership both[] = {{&g_hr, "HR Writers", 0},
                                      {&g_payroll, "payroll analysts", 0}};
    struct authz_membership revoked[] = {{&g_payroll, "Payroll Analysts", T0 + 10}};
    struct authz_facts f;
    struct authz_result r;
    static const struct {
        int facts; /* 0 both, 1 revoked, 2 none */
        const char *mutate;
        int64_t iat;
        const char *dataset;
        enum policy_action action;
        bool allowed;
        const char *reason;
    } cases[] = {
        {0, NULL, T0, "payroll", POLICY_ACTION_UNPROTECT, true,
         "access group \"Payroll Analysts\" (IdP group \"payroll analysts\") grants unprotect "
         "on payroll"},
        {0, NULL, T0, "hr", POLICY_ACTION_PROTECT, true, "access group \"HR Writers\""},
        {0, NULL, T0, "hr", POLICY_ACTION_UNPROTECT, false,
         "no access group of alice@contoso.com (member of 2) grants unprotect on hr"},
        {0, NULL, T0, "directory", POLICY_ACTION_PROTECT, true, "default_grants give"},
        {0, NULL, T0, "directory", POLICY_ACTION_UNPROTECT, false, "no access group"},
        {0, NULL, T0, "Payroll", POLICY_ACTION_PROTECT, false, "no access group"},
        {0, "inactive", T0, "payroll", POLICY_ACTION_PROTECT, false,
         "user alice@contoso.com is deactivated (active=false)"},
        {0, "unprovisioned", T0, "directory", POLICY_ACTION_PROTECT, false,
         "subject is not provisioned (no SCIM user with externalId=x)"},
        {0, "tenant", T0, "payroll", POLICY_ACTION_PROTECT, false,
         "token tenant t2 is not the provisioned tenant t1"},
        {0, "user_nbf", T0, "payroll", POLICY_ACTION_PROTECT, false,
         "was deprovisioned at 2027-01-15T08:00:05Z, after this token was issued "
         "(2027-01-15T08:00:00Z)"},
        {0, "user_nbf", T0 + 5, "payroll", POLICY_ACTION_PROTECT, true, "Payroll Analysts"},
        {1, NULL, T0, "payroll", POLICY_ACTION_PROTECT, false,
         "membership of alice@contoso.com in access group \"Payroll Analysts\" changed at "
         "2027-01-15T08:00:10Z, after this token was issued"},
        {1, NULL, T0, "directory", POLICY_ACTION_PROTECT, true, "default_grants"},
        {1, NULL, T0 + 10, "payroll", POLICY_ACTION_PROTECT, true, "Payroll Analysts"},
        {2, NULL, T0, "payroll", POLICY_ACTION_PROTECT, false, "(member of 0)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *m = cases[i].mutate;
        if (cases[i].facts == 0)
            f = base(both, 2);
        else if (cases[i].facts == 1)
            f = base(revoked, 1);
        else
            f = base(NULL, 0);
        if (m != NULL && strcmp(m, "inactive") == 0)
            f.active = false;
        if (m != NULL && strcmp(m, "unprovisioned") == 0) {
            f.provisioned = false;
            f.unresolved = "no SCIM user with externalId=x";
        }
        if (m != NULL && strcmp(m, "tenant") == 0) {
            f.tenant_mismatch = "t2";
            f.expected_tenant = "t1";
        }
        if (m != NULL && strcmp(m, "user_nbf") == 0)
            f.user_not_before = T0 + 5;
        authz_decide(&f, cases[i].iat, cases[i].dataset, cases[i].action, &r);
        ck_assert_msg(r.allowed == cases[i].allowed, "case %zu: allowed=%d (%s)", i, r.allowed,
                      r.reason);
        ck_assert_msg(strstr(r.reason, cases[i].reason) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
                      r.reason, cases[i].reason);
    }
}
END_TEST

Suite *decide_suite(void)
{
    Suite *s = suite_create("decide");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, rules);
    suite_add_tcase(s, tc);
    return s;
}
