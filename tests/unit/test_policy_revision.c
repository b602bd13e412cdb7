/*
 * test_policy_revision.c - the policy revision (engine.h): 16 hex digits of a SHA-256 over a
 * canonical form of the policy, stable across writings of the same policy and across engines
 * on different stores, changed by any grant, default grant, route, name or source change.
 */
#include "policies/policies.h"
#include "sidecar/gatehouse.h"
#include "store/store.h"
#include "tests/support/support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int group_cmp(const void *a, const void *b)
{
    return strcmp(((const struct policy_group *)a)->key, ((const struct policy_group *)b)->key);
}

/* The revision of a policy file's text, its groups in key order as a snapshot holds them;
 * admin: the source every group gets. */
static void rev_of_src(const char *text, enum policy_source source, char out[17])
{
    struct policy_doc *doc = NULL;
    struct gh_err err = {0};
    struct policy_group *g;
    ck_assert_msg(policy_doc_parse(text, strlen(text), &doc, &err) == GH_OK, "%s", err.msg);
    g = calloc(doc->ngroups + 1, sizeof(*g));
    ck_assert_ptr_nonnull(g);
    memcpy(g, doc->groups, doc->ngroups * sizeof(*g));
    for (size_t i = 0; i < doc->ngroups; i++)
        g[i].source = source;
    qsort(g, doc->ngroups, sizeof(*g), group_cmp);
    policy_revision_compute(doc, g, doc->ngroups, out);
    free(g);
    policy_doc_free(doc);
}

static void rev_of(const char *text, char out[17])
{
    rev_of_src(text, POLICY_SOURCE_FILE, out);
}

#define BASE                                                                                       \
    "{\"access_groups\":[{\"name\":\"Payroll Analysts\",\"grants\":[{\"dataset\":\"payroll\","     \
    "\"actions\":[\"protect\",\"unprotect\"]},{\"dataset\":\"hr\",\"actions\":[\"protect\"]}]},"   \
    "{\"name\":\"Auditors\",\"grants\":[{\"dataset\":\"audit\",\"actions\":[\"protect\"]}]}],"     \
    "\"default_grants\":[{\"dataset\":\"directory\",\"actions\":[\"protect\"]}],"                  \
    "\"routes\":[{\"method\":\"GET\",\"path_prefix\":\"/payroll\",\"dataset\":\"payroll\","        \
    "\"action\":\"unprotect\"}]}"

START_TEST(revision_is_stable)
{
    char a[17], b[17];
    rev_of(BASE, a);
    rev_of(BASE, b);
    ck_assert_str_eq(a, b);
    ck_assert_uint_eq(strlen(a), 16);
    for (size_t i = 0; i < 16; i++)
        ck_assert_msg((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'), "%s", a);
    /* the same policy written otherwise: whitespace, group order, grant order, actions order,
     * a grant split in two, a description */
    rev_of("{ \"description\": \"same\",\n"
           "  \"routes\":[{\"method\":\"GET\",\"path_prefix\":\"/payroll\",\"dataset\":\"payroll\","
           "\"action\":\"unprotect\"}],\n"
           "  \"access_groups\":[{\"name\":\"Auditors\",\"grants\":[{\"dataset\":\"audit\","
           "\"actions\":[\"protect\"]}]},\n"
           "  {\"name\":\"Payroll Analysts\",\"grants\":[{\"dataset\":\"hr\",\"actions\":"
           "[\"protect\"]},{\"dataset\":\"payroll\",\"actions\":[\"unprotect\"]},{\"dataset\":"
           "\"payroll\",\"actions\":[\"protect\"]}]}],\n"
           "  \"default_grants\":[{\"dataset\":\"directory\",\"actions\":[\"protect\"]}]}",
           b);
    ck_assert_str_eq(a, b);
}
END_TEST

START_TEST(revision_changes_with_the_policy)
{
    static const char *const others[] = {
        /* a grant loses an action */
        "{\"access_groups\":[{\"name\":\"Payroll Analysts\",\"grants\":[{\"dataset\":\"payroll\","
        "\"actions\":[\"protect\"]},{\"dataset\":\"hr\",\"actions\":[\"protect\"]}]},"
        "{\"name\":\"Auditors\",\"grants\":[{\"dataset\":\"audit\",\"actions\":[\"protect\"]}]}],"
        "\"default_grants\":[{\"dataset\":\"directory\",\"actions\":[\"protect\"]}],"
        "\"routes\":[{\"method\":\"GET\",\"path_prefix\":\"/payroll\",\"dataset\":\"payroll\","
        "\"action\":\"unprotect\"}]}",
        /* a grant names another dataset */
        "{\"access_groups\":[{\"name\":\"Payroll Analysts\",\"grants\":[{\"dataset\":\"payroll\","
        "\"actions\":[\"protect\",\"unprotect\"]},{\"dataset\":\"hr2\",\"actions\":[\"protect\"]}]}"
        ","
        "{\"name\":\"Auditors\",\"grants\":[{\"dataset\":\"audit\",\"actions\":[\"protect\"]}]}],"
        "\"default_grants\":[{\"dataset\":\"directory\",\"actions\":[\"protect\"]}],"
        "\"routes\":[{\"method\":\"GET\",\"path_prefix\":\"/payroll\",\"dataset\":\"payroll\","
        "\"action\":\"unprotect\"}]}",
        /* the default grants */
        "{\"access_groups\":[{\"name\":\"Payroll Analysts\",\"grants\":[{\"dataset\":\"payroll\","
        "\"actions\":[\"protect\",\"unprotect\"]},{\"dataset\":\"hr\",\"actions\":[\"protect\"]}]},"
        "{\"name\":\"Auditors\",\"grants\":[{\"dataset\":\"audit\",\"actions\":[\"protect\"]}]}],"
        "\"default_grants\":[],"
        "\"routes\":[{\"method\":\"GET\",\"path_prefix\":\"/payroll\",\"dataset\":\"payroll\","
        "\"action\":\"unprotect\"}]}",
        /* a route */
        "{\"access_groups\":[{\"name\":\"Payroll Analysts\",\"grants\":[{\"dataset\":\"payroll\","
        "\"actions\":[\"protect\",\"unprotect\"]},{\"dataset\":\"hr\",\"actions\":[\"protect\"]}]},"
        "{\"name\":\"Auditors\",\"grants\":[{\"dataset\":\"audit\",\"actions\":[\"protect\"]}]}],"
        "\"default_grants\":[{\"dataset\":\"directory\",\"actions\":[\"protect\"]}],"
        "\"routes\":[{\"path_prefix\":\"/payroll\",\"dataset\":\"payroll\","
        "\"action\":\"unprotect\"}]}",
        /* a group's name as written (same link key) */
        "{\"access_groups\":[{\"name\":\"payroll analysts\",\"grants\":[{\"dataset\":\"payroll\","
        "\"actions\":[\"protect\",\"unprotect\"]},{\"dataset\":\"hr\",\"actions\":[\"protect\"]}]},"
        "{\"name\":\"Auditors\",\"grants\":[{\"dataset\":\"audit\",\"actions\":[\"protect\"]}]}],"
        "\"default_grants\":[{\"dataset\":\"directory\",\"actions\":[\"protect\"]}],"
        "\"routes\":[{\"method\":\"GET\",\"path_prefix\":\"/payroll\",\"dataset\":\"payroll\","
        "\"action\":\"unprotect\"}]}",
        /* a group less */
        "{\"access_groups\":[{\"name\":\"Payroll Analysts\",\"grants\":[{\"dataset\":\"payroll\","
        "\"actions\":[\"protect\",\"unprotect\"]},{\"dataset\":\"hr\",\"actions\":[\"protect\"]}]}"
        "],\"default_grants\":[{\"dataset\":\"directory\",\"actions\":[\"protect\"]}],"
        "\"routes\":[{\"method\":\"GET\",\"path_prefix\":\"/payroll\",\"dataset\":\"payroll\","
        "\"action\":\"unprotect\"}]}",
    };
    char base[17], other[17], seen[7][17];
    rev_of(BASE, base);
    memcpy(seen[0], base, sizeof(base));
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        rev_of(others[i], other);
        for (size_t k = 0; k <= i; k++)
            ck_assert_msg(strcmp(other, seen[k]) != 0, "case %zu has the revision of %zu", i, k);
        memcpy(seen[i + 1], other, sizeof(other));
    }
    /* the same groups created through the admin API are another policy */
    rev_of_src(BASE, POLICY_SOURCE_ADMIN, other);
    ck_assert_str_ne(other, base);
}
END_TEST

/* Two engines on two stores with one policy file report the same revision, the one computed
 * from the file; an admin-created access group changes it. */
START_TEST(engines_agree)
{
    struct gh_test_store t1, t2;
    struct store *s1 = NULL, *s2 = NULL;
    struct policy_engine *e1 = NULL, *e2 = NULL;
    struct policy_snapshot *p1, *p2;
    struct gh_err err = {0};
    char path[700], want[17], before[17];
    FILE *f;
    cJSON *body;

    gh_log_set_level(GH_LOG_WARN);
    gh_test_store_new(GH_TEST_SQLITE, &t1);
    gh_test_store_new(GH_TEST_SQLITE, &t2);
    snprintf(path, sizeof(path), "%s/policy.json", t1.dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(BASE, f);
    fclose(f);
    ck_assert_msg(store_open(t1.target, &s1, &err) == GH_OK, "%s", err.msg);
    ck_assert_msg(store_open(t2.target, &s2, &err) == GH_OK, "%s", err.msg);
    ck_assert_msg(policy_engine_new(path, s1, &e1, &err) == GH_OK, "%s", err.msg);
    ck_assert_msg(policy_engine_new(path, s2, &e2, &err) == GH_OK, "%s", err.msg);
    p1 = policy_engine_acquire(e1);
    p2 = policy_engine_acquire(e2);
    rev_of(BASE, want);
    ck_assert_str_eq(policy_snapshot_revision(p1), want);
    ck_assert_str_eq(policy_snapshot_revision(p2), want);
    memcpy(before, want, sizeof(want));
    policy_snapshot_release(p1);
    policy_snapshot_release(p2);

    body = cJSON_Parse("{\"name\":\"Extra\",\"grants\":[{\"dataset\":\"x\",\"actions\":"
                       "[\"protect\"]}]}");
    ck_assert_msg(policy_engine_group_create(e1, body, &err) == GH_OK, "%s", err.msg);
    cJSON_Delete(body);
    p1 = policy_engine_acquire(e1);
    ck_assert_str_ne(policy_snapshot_revision(p1), before);
    policy_snapshot_release(p1);
    /* and deleting it brings the revision back */
    ck_assert_msg(policy_engine_group_delete(e1, "Extra", &err) == GH_OK, "%s", err.msg);
    p1 = policy_engine_acquire(e1);
    ck_assert_str_eq(policy_snapshot_revision(p1), before);
    policy_snapshot_release(p1);

    policy_engine_free(e1);
    policy_engine_free(e2);
    store_close(s1);
    store_close(s2);
    gh_test_store_drop(&t1);
    gh_test_store_drop(&t2);
}
END_TEST

Suite *policy_revision_suite(void)
{
    Suite *s = suite_create("policy_revision");
    TCase *tc = tcase_create("revision");
    tcase_add_test(tc, revision_is_stable);
    tcase_add_test(tc, revision_changes_with_the_policy);
    tcase_add_test(tc, engines_agree);
    suite_add_tcase(s, tc);
    return s;
}
