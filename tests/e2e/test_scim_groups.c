/*
 * test_scim_groups.c - /scim/v2/Groups against the real daemon with Entra ID's request bodies:
 * create with the ADSCIM schema, lookups with excludedAttributes=members, uniqueness, renames in
 * both dialects, member add/remove in both dialects, idempotent retries, operations that take
 * effect in order (RFC 7644 §3.5.2), memberships that survive a soft delete and vanish with a hard
 * delete.
 */
#include "tests/support/scim_client.h"

#include <pthread.h>

#define PATCHOP "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":["

/* §1.11: Entra's Create Group body, then its lookups (§1.10) */
START_TEST(create_and_lookup_group)
{
    struct scim_res r = scim_call(
        "POST", "/scim/v2/Groups",
        "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\",\"http://schemas."
        "microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group\"],\"externalId\":\"8aa1a0c0-"
        "c4c3-4bc0-b4a5-2ef676900159\",\"displayName\":\"displayName\",\"meta\":{\"resourceType\":"
        "\"Group\"}}");
    ck_assert_int_eq(r.status, 201);
    char *gid = strdup(scim_str(r.json, "id"));
    ck_assert_str_eq(scim_str(r.json, "meta.resourceType"), "Group");
    ck_assert_str_eq(r.etag, "W/\"1\"");
    ck_assert_ptr_null(cJSON_GetObjectItem(r.json, "members"));
    scim_res_free(&r);

    char *u = scim_create_user("member@contoso.com");
    char body[512];
    snprintf(body, sizeof(body),
             PATCHOP "{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"$ref\":null,\"value\":"
                     "\"%s\"}]}]}",
             u);
    r = scim_call("PATCH", scim_path("/scim/v2/Groups/%s", gid), body);
    ck_assert_int_eq(r.status, 204);
    scim_res_free(&r);

    r = scim_call("GET", scim_path("/scim/v2/Groups/%s", gid), NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "members")), 1);
    ck_assert_str_eq(r.etag, "W/\"2\"");
    scim_res_free(&r);
    snprintf(body, sizeof(body), "/scim/v2/Groups/%s?excludedAttributes=members", gid);
    r = scim_call("GET", body, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(cJSON_GetObjectItem(r.json, "members"));
    ck_assert_str_eq(scim_str(r.json, "displayName"), "displayName");
    scim_res_free(&r);
    r = scim_call("GET",
                  scim_path("/scim/v2/Groups?excludedAttributes=members&filter=%s",
                            scim_q("displayName eq \"DISPLAYNAME\"")),
                  NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(scim_int(r.json, "totalResults"), 1);
    cJSON *g = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "Resources"), 0);
    ck_assert_str_eq(scim_str(g, "id"), gid);
    ck_assert_ptr_null(cJSON_GetObjectItem(g, "members"));
    scim_res_free(&r);
    ck_assert_int_eq(scim_count("/scim/v2/Groups", "displayName eq \"nonexistent\""), 0);
    free(gid);
    free(u);
}
END_TEST

/* §1.11, §1.13: displayName is unique, case-insensitively: 409 uniqueness, also on rename */
START_TEST(group_uniqueness)
{
    char *a = scim_create_group("Sales");
    struct scim_res r = scim_call("POST", "/scim/v2/Groups", "{\"displayName\":\"SALES\"}");
    ck_assert_int_eq(r.status, 409);
    ck_assert_str_eq(scim_str(r.json, "scimType"), "uniqueness");
    scim_res_free(&r);
    char *b = scim_create_group("Marketing");
    r = scim_call("PATCH", scim_path("/scim/v2/Groups/%s", b),
                  PATCHOP "{\"op\":\"Replace\",\"path\":\"displayName\",\"value\":\"sales\"}]}");
    ck_assert_int_eq(r.status, 409);
    scim_res_free(&r);
    free(a);
    free(b);
}
END_TEST

/* Renames: default dialect (path) and flag dialect (path-less with id) */
START_TEST(group_rename_both_dialects)
{
    char *g = scim_create_group("before");
    struct scim_res r = scim_call(
        "PATCH", scim_path("/scim/v2/Groups/%s", g),
        PATCHOP "{\"op\":\"Replace\",\"path\":\"displayName\",\"value\":\"1879db59-3bdf-4490-ad68-"
                "ab880a269474updatedDisplayName\"}]}");
    ck_assert_int_eq(r.status, 204);
    scim_res_free(&r);
    ck_assert_int_eq(scim_count("/scim/v2/Groups", "displayName eq \"1879db59-3bdf-4490-ad68-"
                                                   "ab880a269474updatedDisplayName\""),
                     1);
    char body[512];
    snprintf(body, sizeof(body),
             PATCHOP "{\"op\":\"replace\",\"value\":{\"id\":\"%s\",\"displayName\":\"after\"}}]}",
             g);
    r = scim_call("PATCH", scim_path("/scim/v2/Groups/%s", g), body);
    ck_assert_int_eq(r.status, 204);
    scim_res_free(&r);
    r = scim_call("GET", scim_path("/scim/v2/Groups/%s", g), NULL);
    ck_assert_str_eq(scim_str(r.json, "displayName"), "after");
    ck_assert_str_eq(scim_str(r.json, "id"), g);
    scim_res_free(&r);
    free(g);
}
END_TEST

/* §1.9, §1.24: several members per op and several ops per request; removal in both dialects;
 * re-adding and removing a non-member are not errors and duplicate nothing */
START_TEST(members_both_dialects_idempotent)
{
    char *g = scim_create_group("Engineering");
    char *u[4];
    char name[64], body[2048], got[1024], want[1024];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof(name), "eng%d@contoso.com", i);
        u[i] = scim_create_user(name);
    }
    snprintf(body, sizeof(body),
             PATCHOP "{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"$ref\":null,\"value\":"
                     "\"%s\"},{\"$ref\":null,\"value\":\"%s\"}]},{\"op\":\"Add\",\"path\":"
                     "\"members\",\"value\":[{\"$ref\":null,\"value\":\"%s\"}]}]}",
             u[0], u[1], u[2]);
    for (int i = 0; i < 3; i++) { /* Entra retries: the same request three times */
        struct scim_res r = scim_call("PATCH", scim_path("/scim/v2/Groups/%s", g), body);
        ck_assert_int_eq(r.status, 204);
        ck_assert_str_eq(r.etag, "W/\"2\"");
        scim_res_free(&r);
    }
    scim_members(g, got, sizeof(got));
    const char *sorted[3] = {u[0], u[1], u[2]};
    for (int i = 1; i < 3; i++)
        for (int j = i; j > 0 && strcmp(sorted[j - 1], sorted[j]) > 0; j--) {
            const char *t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    snprintf(want, sizeof(want), "%s,%s,%s", sorted[0], sorted[1], sorted[2]);
    ck_assert_str_eq(got, want);

    /* default dialect removal, twice, plus a non-member */
    snprintf(body, sizeof(body),
             PATCHOP "{\"op\":\"Remove\",\"path\":\"members\",\"value\":[{\"$ref\":null,"
                     "\"value\":\"%s\"},{\"value\":\"%s\"}]}]}",
             u[0], u[3]);
    for (int i = 0; i < 2; i++) {
        struct scim_res r = scim_call("PATCH", scim_path("/scim/v2/Groups/%s", g), body);
        ck_assert_int_eq(r.status, 204);
        scim_res_free(&r);
    }
    /* flag dialect removal */
    snprintf(body, sizeof(body),
             PATCHOP "{\"op\":\"remove\",\"path\":\"members[value eq \\\"%s\\\"]\"}]}", u[1]);
    for (int i = 0; i < 2; i++) {
        struct scim_res r = scim_call("PATCH", scim_path("/scim/v2/Groups/%s", g), body);
        ck_assert_int_eq(r.status, 204);
        scim_res_free(&r);
    }
    scim_members(g, got, sizeof(got));
    ck_assert_str_eq(got, u[2]);
    /* members are filterable (groups of a user) */
    char filter[256];
    snprintf(filter, sizeof(filter), "members[value eq \"%s\"]", u[2]);
    ck_assert_int_eq(scim_count("/scim/v2/Groups", filter), 1);
    snprintf(filter, sizeof(filter), "members.value eq \"%s\"", u[0]);
    ck_assert_int_eq(scim_count("/scim/v2/Groups", filter), 0);
    /* an id that is neither a user nor a group is refused */
    struct scim_res r = scim_call(
        "PATCH", scim_path("/scim/v2/Groups/%s", g),
        PATCHOP "{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":\"nope\"}]}]}");
    ck_assert_int_eq(r.status, 400);
    scim_res_free(&r);
    for (int i = 0; i < 4; i++)
        free(u[i]);
    free(g);
}
END_TEST

/* One PATCH of a group with the given operations (JSON, comma-separated): answers `want` (204:
 * no body). Returns the ETag. */
static const char *patch_group(const char *g, long want, const char *ops)
{
    static char etag[64];
    char body[4096];
    snprintf(body, sizeof(body), PATCHOP "%s]}", ops);
    struct scim_res r = scim_call("PATCH", scim_path("/scim/v2/Groups/%s", g), body);
    ck_assert_msg(r.status == want, "%s: %ld %s", body, r.status, r.raw);
    if (want == 204)
        ck_assert_ptr_null(r.json);
    else
        ck_assert_str_eq(scim_str(r.json, "scimType"), "invalidValue");
    snprintf(etag, sizeof(etag), "%s", r.etag);
    scim_res_free(&r);
    return etag;
}

/* tmpl with its one "%s" replaced by id (a ring of static buffers). */
static const char *op_for(const char *tmpl, const char *id)
{
    static char out[8][512];
    static int k;
    char *o = out[k++ % 8];
    const char *at = strstr(tmpl, "%s");
    ck_assert_ptr_nonnull(at);
    snprintf(o, sizeof(out[0]), "%.*s%s%s", (int)(at - tmpl), tmpl, id, at + 2);
    return o;
}

/* RFC 7644 §3.5.2: the operations of one PATCH take effect in order, in both dialects (§1.9):
 * add then remove leaves no member, remove then add leaves one, replace then add keeps both, add
 * then replace keeps only the replacement. Retries stay idempotent (§1.24). */
START_TEST(members_ops_in_order)
{
    static const struct {
        const char *add, *remove, *replace;
    } dialects[] = {
        {"{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"$ref\":null,\"value\":\"%s\"}]}",
         "{\"op\":\"Remove\",\"path\":\"members\",\"value\":[{\"$ref\":null,\"value\":\"%s\"}]}",
         "{\"op\":\"Replace\",\"path\":\"members\",\"value\":[{\"value\":\"%s\"}]}"},
        {"{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"value\":\"%s\"}]}",
         "{\"op\":\"remove\",\"path\":\"members[value eq \\\"%s\\\"]\"}",
         "{\"op\":\"replace\",\"path\":\"members\",\"value\":[{\"value\":\"%s\"}]}"},
    };
    const char *bad = "0bad0000-0000-4000-8000-000000000000";
    char ops[2048], got[512], want[512], name[64];
    for (size_t d = 0; d < 2; d++) {
        const char *add = dialects[d].add, *rm = dialects[d].remove, *rp = dialects[d].replace;
        snprintf(name, sizeof(name), "Ordered%zu", d);
        char *g = scim_create_group(name);
        snprintf(name, sizeof(name), "ord-u%zu@contoso.com", d);
        char *u = scim_create_user(name);
        snprintf(name, sizeof(name), "ord-v%zu@contoso.com", d);
        char *v = scim_create_user(name);

        /* add then remove, of a non-member: not a member afterwards, nothing changed */
        snprintf(ops, sizeof(ops), "%s,%s", op_for(add, u), op_for(rm, u));
        for (int i = 0; i < 2; i++)
            ck_assert_str_eq(patch_group(g, 204, ops), "W/\"1\"");
        scim_members(g, got, sizeof(got));
        ck_assert_str_eq(got, "");
        /* remove then add: a member afterwards */
        snprintf(ops, sizeof(ops), "%s,%s", op_for(rm, u), op_for(add, u));
        ck_assert_str_eq(patch_group(g, 204, ops), "W/\"2\"");
        scim_members(g, got, sizeof(got));
        ck_assert_str_eq(got, u);
        /* ... and again, of a member: it stays, and the group is unchanged (same ETag) */
        ck_assert_str_eq(patch_group(g, 204, ops), "W/\"2\"");
        scim_members(g, got, sizeof(got));
        ck_assert_str_eq(got, u);
        /* add then remove, of a member: removed */
        snprintf(ops, sizeof(ops), "%s,%s", op_for(add, u), op_for(rm, u));
        ck_assert_str_eq(patch_group(g, 204, ops), "W/\"3\"");
        scim_members(g, got, sizeof(got));
        ck_assert_str_eq(got, "");
        /* replace then add: both */
        snprintf(ops, sizeof(ops), "%s,%s", op_for(rp, u), op_for(add, v));
        ck_assert_str_eq(patch_group(g, 204, ops), "W/\"4\"");
        scim_members(g, got, sizeof(got));
        snprintf(want, sizeof(want), "%s,%s", strcmp(u, v) < 0 ? u : v, strcmp(u, v) < 0 ? v : u);
        ck_assert_str_eq(got, want);
        /* add then replace: only the replacement */
        snprintf(ops, sizeof(ops), "%s,%s", op_for(add, u), op_for(rp, v));
        ck_assert_str_eq(patch_group(g, 204, ops), "W/\"5\"");
        scim_members(g, got, sizeof(got));
        ck_assert_str_eq(got, v);
        /* replace then remove: none */
        snprintf(ops, sizeof(ops), "%s,%s", op_for(rp, u), op_for(rm, u));
        ck_assert_str_eq(patch_group(g, 204, ops), "W/\"6\"");
        scim_members(g, got, sizeof(got));
        ck_assert_str_eq(got, "");
        /* an unknown id fails the whole PATCH even when a later op removes it again */
        snprintf(ops, sizeof(ops), "%s,%s,%s", op_for(add, v), op_for(add, bad), op_for(rm, bad));
        patch_group(g, 400, ops);
        scim_members(g, got, sizeof(got));
        ck_assert_str_eq(got, "");
        free(g);
        free(u);
        free(v);
    }
}
END_TEST

/* §1.12: a disabled user keeps its memberships; a deleted one loses them */
START_TEST(memberships_survive_soft_delete)
{
    char *g = scim_create_group("Kept");
    char *u = scim_create_user("soft@contoso.com");
    char body[512], got[512];
    snprintf(body, sizeof(body),
             PATCHOP "{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":\"%s\"}]}]}", u);
    struct scim_res r = scim_call("PATCH", scim_path("/scim/v2/Groups/%s", g), body);
    ck_assert_int_eq(r.status, 204);
    scim_res_free(&r);
    r = scim_call("PATCH", scim_path("/scim/v2/Users/%s", u),
                  PATCHOP "{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"False\"}]}");
    ck_assert_int_eq(r.status, 200);
    scim_res_free(&r);
    scim_members(g, got, sizeof(got));
    ck_assert_str_eq(got, u);
    /* the user's readOnly groups attribute shows the membership */
    r = scim_call("GET", scim_path("/scim/v2/Users/%s", u), NULL);
    cJSON *gr = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "groups"), 0);
    ck_assert_str_eq(scim_str(gr, "value"), g);
    ck_assert_str_eq(scim_str(gr, "display"), "Kept");
    scim_res_free(&r);
    r = scim_call("DELETE", scim_path("/scim/v2/Users/%s", u), NULL);
    ck_assert_int_eq(r.status, 204);
    scim_res_free(&r);
    scim_members(g, got, sizeof(got));
    ck_assert_str_eq(got, "");
    r = scim_call("DELETE", scim_path("/scim/v2/Groups/%s", g), NULL);
    ck_assert_int_eq(r.status, 204);
    scim_res_free(&r);
    r = scim_call("GET", scim_path("/scim/v2/Groups/%s", g), NULL);
    ck_assert_int_eq(r.status, 404);
    scim_res_free(&r);
    free(g);
    free(u);
}
END_TEST

/* POST and PUT with members; a group may hold a group (one level, §1.30) */
START_TEST(group_put_and_nested)
{
    char *u = scim_create_user("put@contoso.com");
    char *inner = scim_create_group("Inner");
    char body[1024], got[512], want[512];
    snprintf(body, sizeof(body),
             "{\"displayName\":\"Outer\",\"members\":[{\"value\":\"%s\"},{\"value\":\"%s\","
             "\"type\":\"Group\"}]}",
             u, inner);
    char *outer = scim_create("/scim/v2/Groups", body);
    scim_members(outer, got, sizeof(got));
    snprintf(want, sizeof(want), "%s,%s", strcmp(u, inner) < 0 ? u : inner,
             strcmp(u, inner) < 0 ? inner : u);
    ck_assert_str_eq(got, want);
    snprintf(body, sizeof(body), "{\"displayName\":\"Outer2\",\"members\":[{\"value\":\"%s\"}]}",
             inner);
    struct scim_res r = scim_call("PUT", scim_path("/scim/v2/Groups/%s", outer), body);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(scim_str(r.json, "displayName"), "Outer2");
    cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "members"), 0);
    ck_assert_str_eq(scim_str(m, "type"), "Group");
    ck_assert_str_eq(scim_str(m, "display"), "Inner");
    scim_res_free(&r);
    scim_members(outer, got, sizeof(got));
    ck_assert_str_eq(got, inner);
    /* the same PUT again changes nothing: same ETag */
    r = scim_call("PUT", scim_path("/scim/v2/Groups/%s", outer), body);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.etag, "W/\"2\"");
    scim_res_free(&r);
    free(u);
    free(inner);
    free(outer);
}
END_TEST

/* Concurrent writers: 8 threads adding members to one group and creating users at once; every
 * write lands exactly once (one writer connection, one transaction per request). */
struct conc_arg {
    const char *gid;
    char **uids;
    int from, n;
    long bad;
};

static void *conc_thread(void *p)
{
    struct conc_arg *a = p;
    char url[512], body[256];
    const char *hdrs[] = {SCIM_AUTH, SCIM_CT, NULL};
    for (int i = a->from; i < a->from + a->n; i++) {
        struct gh_http_resp r;
        snprintf(url, sizeof(url), "%s/scim/v2/Groups/%s", gh_proc_url(scim_client_proc()), a->gid);
        snprintf(body, sizeof(body),
                 PATCHOP "{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":"
                         "\"%s\"}]}]}",
                 a->uids[i]);
        if (gh_http("PATCH", url, hdrs, body, NULL, &r) != 0 || r.status != 204)
            a->bad++;
        gh_http_resp_free(&r);
    }
    return NULL;
}

START_TEST(concurrent_member_adds)
{
    enum { THREADS = 8, PER = 10 };
    char *uids[THREADS * PER], name[64];
    pthread_t th[THREADS];
    struct conc_arg args[THREADS];
    char *g = scim_create_group("Concurrent");
    for (int i = 0; i < THREADS * PER; i++) {
        snprintf(name, sizeof(name), "c%02d@contoso.com", i);
        uids[i] = scim_create_user(name);
    }
    for (int t = 0; t < THREADS; t++) {
        args[t] = (struct conc_arg){g, uids, t * PER, PER, 0};
        ck_assert_int_eq(pthread_create(&th[t], NULL, conc_thread, &args[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        ck_assert_int_eq(args[t].bad, 0);
    }
    struct scim_res r = scim_call("GET", scim_path("/scim/v2/Groups/%s", g), NULL);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "members")), THREADS * PER);
    char want[32];
    snprintf(want, sizeof(want), "W/\"%d\"", 1 + THREADS * PER);
    ck_assert_str_eq(r.etag, want);
    scim_res_free(&r);
    for (int i = 0; i < THREADS * PER; i++)
        free(uids[i]);
    free(g);
}
END_TEST

Suite *scim_groups_suite(void)
{
    Suite *s = suite_create("scim_groups");
    TCase *tc = tcase_create("entra");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, scim_e2e_start, scim_e2e_stop);
    tcase_add_test(tc, create_and_lookup_group);
    tcase_add_test(tc, group_uniqueness);
    tcase_add_test(tc, group_rename_both_dialects);
    tcase_add_test(tc, members_both_dialects_idempotent);
    tcase_add_test(tc, members_ops_in_order);
    tcase_add_test(tc, memberships_survive_soft_delete);
    tcase_add_test(tc, group_put_and_nested);
    tcase_add_test(tc, concurrent_member_adds);
    suite_add_tcase(s, tc);
    return s;
}
