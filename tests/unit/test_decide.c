/*
 * test_decide.c - the decision rules of authz/decide.c, one table row per rule and boundary.
 */
#include "authz/decide.h"
#include "authz/decision_log.h"
#include "sidecar/gatehouse.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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

/* The string member `name` of o; fails the test (rather than crashing) when it is not one. */
static const char *str_of(const cJSON *o, const char *name)
{
    const cJSON *m = cJSON_GetObjectItem(o, name);
    ck_assert_msg(cJSON_IsString(m), "no string member \"%s\"", name);
    return m->valuestring;
}

/* The line is exactly what cJSON prints for the document it parses to (so the hand-written
 * writer escapes and orders like a JSON library would). Returns the parsed line. */
static cJSON *read_line(FILE *f)
{
    char line[2048], *canon;
    size_t n;
    cJSON *j;

    ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
    j = cJSON_Parse(line);
    ck_assert_ptr_nonnull(j);
    canon = cJSON_PrintUnformatted(j);
    n = strlen(line);
    ck_assert(n > 0 && line[n - 1] == '\n');
    line[n - 1] = '\0';
    ck_assert_str_eq(line, canon);
    free(canon);
    return j;
}

/* The allowing reasons are written by hand: a long name is cut as snprintf would cut it, at
 * AUTHZ_REASON_MAX - 1 bytes, still terminated. */
START_TEST(long_reasons_cut_as_snprintf)
{
    static struct policy_grant g_long_grants[] = {{"payroll", POLICY_ACTION_PROTECT}};
    char name[300], want[1024], ds[300];
    struct policy_group g_long = {name, name, g_long_grants, 1, POLICY_SOURCE_FILE};
    struct authz_membership m[] = {{&g_long, NULL, 0}};
    struct authz_facts f = base(m, 1);
    struct authz_result r;

    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    authz_decide(&f, T0, "payroll", POLICY_ACTION_PROTECT, &r);
    ck_assert(r.allowed);
    snprintf(want, sizeof(want), "access group \"%s\" (IdP group \"%s\") grants protect on payroll",
             name, name);
    want[AUTHZ_REASON_MAX - 1] = '\0';
    ck_assert_str_eq(r.reason, want);
    memset(ds, 'd', sizeof(ds) - 1);
    ds[sizeof(ds) - 1] = '\0';
    defaults[0].dataset = ds;
    f = base(NULL, 0);
    authz_decide(&f, T0, ds, POLICY_ACTION_PROTECT, &r);
    defaults[0].dataset = "directory";
    ck_assert(r.allowed);
    snprintf(want, sizeof(want), "default_grants give every active provisioned user protect on %s",
             ds);
    want[AUTHZ_REASON_MAX - 1] = '\0';
    ck_assert_str_eq(r.reason, want);
    ck_assert_uint_eq(strlen(r.reason), AUTHZ_REASON_MAX - 1);
}
END_TEST

START_TEST(decision_log_lines)
{
    static const char *const names[] = {"oid", "upn", "preferred_username"};
    static const char *const values[] = {"6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b", NULL,
                                         "bob \"the\" \\ builder"};
    char path[] = "/tmp/gh-decisions-XXXXXX";
    int fd = mkstemp(path);
    struct authz_decision_log *log = NULL;
    struct gh_err err = {0};
    char id[40], line[2048];
    unsigned long a0, d0, e0, a1, d1, e1;
    const cJSON *sub, *cl;
    FILE *f;
    cJSON *j;

    ck_assert_int_ge(fd, 0);
    close(fd);
    authz_decision_id_new(id, sizeof(id));
    ck_assert_uint_eq(strlen(id), 36);
    ck_assert_int_eq(id[14], '4');
    authz_decision_log_counts(&a0, &d0, &e0);
    ck_assert_int_eq(authz_decision_log_open(path, &log, &err), GH_OK);
    struct authz_decision_entry e = {.decision_id = id,
                                     .subject_id = "u1",
                                     .subject_user_name = "alice@contoso.com",
                                     .tenant = "t1",
                                     .dataset = "payroll",
                                     .action = "unprotect",
                                     .allowed = false,
                                     .reason = "reason \"quoted\"",
                                     .token_id = "uti-1",
                                     .claim_names = names,
                                     .claim_values = values,
                                     .nclaims = 3};
    authz_decision_log_write(log, &e);
    e.allowed = true;
    e.subject_id = NULL;
    e.subject_user_name = NULL;
    authz_decision_log_write(log, &e);
    authz_decision_log_write(NULL, &e);
    authz_decision_log_close(log);
    authz_decision_log_counts(&a1, &d1, &e1);
    ck_assert_uint_eq(a1 - a0, 2);
    ck_assert_uint_eq(d1 - d0, 1);
    f = fopen(path, "r");
    /* a provisioned subject: no claims (the subject says who it is) */
    j = read_line(f);
    ck_assert_str_eq(str_of(j, "decision_id"), id);
    sub = cJSON_GetObjectItem(j, "subject");
    ck_assert_str_eq(cJSON_GetObjectItem(sub, "userName")->valuestring, "alice@contoso.com");
    ck_assert_ptr_null(cJSON_GetObjectItem(sub, "claims"));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "allowed")));
    ck_assert_str_eq(str_of(j, "result"), "deny");
    ck_assert_str_eq(str_of(j, "reason"), "reason \"quoted\"");
    ck_assert_str_eq(str_of(j, "token_id"), "uti-1");
    cJSON_Delete(j);
    /* an unprovisioned one: the identity claims' values as fields, absent ones null */
    j = read_line(f);
    sub = cJSON_GetObjectItem(j, "subject");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(sub, "id")));
    cl = cJSON_GetObjectItem(sub, "claims");
    ck_assert_int_eq(cJSON_GetArraySize(cl), 3);
    ck_assert_str_eq(str_of(cl, "oid"), values[0]);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(cl, "upn")));
    ck_assert_str_eq(str_of(cl, "preferred_username"), values[2]);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "allowed")));
    ck_assert_str_eq(str_of(j, "result"), "allow");
    cJSON_Delete(j);
    ck_assert_ptr_null(fgets(line, sizeof(line), f));
    fclose(f);
    unlink(path);
    ck_assert_int_eq(authz_decision_log_open("/nonexistent/dir/log", &log, &err), GH_E_INVALID);
}
END_TEST

/* What a walk of the recent decisions saw. */
struct recent_seen {
    int n;
    char datasets[AUTHZ_RECENT_MAX + 10][32];
    bool truncated[AUTHZ_RECENT_MAX + 10];
    uint64_t seq[AUTHZ_RECENT_MAX + 10];
    int stop_after; /* 0: never stop */
};

static bool recent_collect(void *ctx, const struct authz_decision_recent *d)
{
    struct recent_seen *s = ctx;
    ck_assert_int_lt(s->n, AUTHZ_RECENT_MAX + 10);
    snprintf(s->datasets[s->n], sizeof(s->datasets[0]), "%s", d->e.dataset ? d->e.dataset : "");
    s->truncated[s->n] = d->truncated;
    s->seq[s->n] = d->seq;
    s->n++;
    return s->stop_after == 0 || s->n < s->stop_after;
}

/* The ring keeps the last AUTHZ_RECENT_MAX decisions, newest first, with every field of a
 * decision-log line, whether or not a log is open; older ones are gone once it wraps. */
START_TEST(decision_ring_wraps)
{
    static const char *const names[] = {"oid", "upn"};
    static const char *const values[] = {"oid-7", "Carol@Contoso.com"};
    static struct recent_seen seen;
    const int total = AUTHZ_RECENT_MAX + 500;
    char ds[32], id[40];

    for (int i = 0; i < total; i++) {
        snprintf(ds, sizeof(ds), "ring-%d", i);
        authz_decision_id_new(id, sizeof(id));
        struct authz_decision_entry e = {.decision_id = id,
                                         .subject_id = i % 2 ? "u1" : NULL,
                                         .subject_user_name = i % 2 ? "alice@contoso.com" : NULL,
                                         .dataset = ds,
                                         .action = "protect",
                                         .allowed = i % 3 == 0,
                                         .reason = "r",
                                         .claim_names = names,
                                         .claim_values = values,
                                         .nclaims = 2,
                                         .revision = i,
                                         .policy_revision = "0123456789abcdef"};
        authz_decision_log_write(NULL, &e); /* no log open: the ring has it all the same */
    }
    memset(&seen, 0, sizeof(seen));
    authz_decision_recent(recent_collect, &seen);
    ck_assert_int_eq(seen.n, AUTHZ_RECENT_MAX);
    for (int k = 0; k < seen.n; k++) {
        snprintf(ds, sizeof(ds), "ring-%d", total - 1 - k); /* newest first, the oldest gone */
        ck_assert_str_eq(seen.datasets[k], ds);
        ck_assert(!seen.truncated[k]);
        if (k > 0)
            ck_assert_uint_eq(seen.seq[k], seen.seq[k - 1] - 1);
    }
    /* the walk stops when asked */
    memset(&seen, 0, sizeof(seen));
    seen.stop_after = 3;
    authz_decision_recent(recent_collect, &seen);
    ck_assert_int_eq(seen.n, 3);
}
END_TEST

/* One entry as the admin API renders it: the decision-log line's fields; a field too long for
 * the ring's slot is cut at a UTF-8 boundary and marked. */
static bool recent_first_json(void *ctx, const struct authz_decision_recent *d)
{
    cJSON **out = ctx;
    *out = authz_decision_json(&d->e, d->time);
    if (d->truncated)
        cJSON_AddTrueToObject(*out, "truncated");
    return false;
}

START_TEST(decision_ring_entry_fields)
{
    static const char *const names[] = {"oid", "upn"};
    static const char *const values[] = {"oid-7", "Carol@Contoso.com"};
    char id[40], reason[3000];
    const cJSON *sub, *cl;
    cJSON *j = NULL;
    size_t o = 0;

    authz_decision_id_new(id, sizeof(id));
    struct authz_decision_entry e = {.decision_id = id,
                                     .tenant = "t1",
                                     .dataset = "payroll",
                                     .action = "unprotect",
                                     .allowed = false,
                                     .reason = "no access group grants it",
                                     .token_id = "uti-1",
                                     .claim_names = names,
                                     .claim_values = values,
                                     .nclaims = 2,
                                     .revision = 42,
                                     .policy_revision = "0123456789abcdef"};
    authz_decision_log_write(NULL, &e);
    authz_decision_recent(recent_first_json, &j);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(str_of(j, "decision_id"), id);
    ck_assert_ptr_nonnull(str_of(j, "time"));
    ck_assert_uint_eq(strlen(str_of(j, "time")), 24); /* 2026-12-06T19:00:00.000Z */
    sub = cJSON_GetObjectItem(j, "subject");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(sub, "id")));
    cl = cJSON_GetObjectItem(sub, "claims");
    ck_assert_str_eq(str_of(cl, "upn"), "Carol@Contoso.com");
    ck_assert_str_eq(str_of(j, "tenant"), "t1");
    ck_assert_str_eq(str_of(j, "dataset"), "payroll");
    ck_assert_str_eq(str_of(j, "action"), "unprotect");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "allowed")));
    ck_assert_str_eq(str_of(j, "result"), "deny");
    ck_assert_str_eq(str_of(j, "reason"), "no access group grants it");
    ck_assert_str_eq(str_of(j, "token_id"), "uti-1");
    ck_assert_int_eq(cJSON_GetObjectItem(j, "revision")->valueint, 42);
    ck_assert_str_eq(str_of(j, "policy_revision"), "0123456789abcdef");
    ck_assert_ptr_null(cJSON_GetObjectItem(j, "truncated"));
    cJSON_Delete(j);

    /* a reason of 1,000 two-byte characters does not fit: cut between characters */
    for (int i = 0; i < 1000; i++) {
        reason[o++] = (char)0xC3;
        reason[o++] = (char)0xA9; /* é */
    }
    reason[o] = '\0';
    e.reason = reason;
    authz_decision_log_write(NULL, &e);
    j = NULL;
    authz_decision_recent(recent_first_json, &j);
    ck_assert_ptr_nonnull(j);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "truncated")));
    {
        const char *r = str_of(j, "reason");
        size_t n = strlen(r);
        ck_assert_uint_gt(n, 100);
        ck_assert_uint_lt(n, 1024);
        ck_assert_uint_eq(n % 2, 0); /* whole characters only */
        ck_assert(memcmp(r, reason, n) == 0);
    }
    ck_assert_str_eq(str_of(j, "dataset"), "payroll"); /* the fields before it are whole */
    cJSON_Delete(j);
}
END_TEST

Suite *decide_suite(void)
{
    Suite *s = suite_create("decide");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, rules);
    tcase_add_test(tc, long_reasons_cut_as_snprintf);
    tcase_add_test(tc, decision_log_lines);
    tcase_add_test(tc, decision_ring_wraps);
    tcase_add_test(tc, decision_ring_entry_fields);
    suite_add_tcase(s, tc);
    return s;
}
